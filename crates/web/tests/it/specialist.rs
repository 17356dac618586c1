//! The specialist's day over HTTP (issue 5), on SQLite and (with `OKNO_TEST_DATABASE_URL`)
//! PostgreSQL: the queue's explanations, the URGENT mark on a new ticket, taking the top
//! task, timers (409 when none runs), manual entries (422 naming the field), planning,
//! the iCalendar feed, figures and distribution.

use jiff::{SignedDuration, Timestamp};
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::common;

okno_store::on_both_backends!(specialist_day_over_http);

struct App {
    base: String,
    http: reqwest::Client,
    desk: Arc<Desk>,
    _files: tempfile::TempDir,
}

impl App {
    async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

async fn specialist_day_over_http(db: TestDb) {
    use reqwest::Method;
    let files = tempfile::tempdir().unwrap();
    let desk = Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
        .await
        .unwrap();
    let alfa = desk
        .store
        .create_client("ALFA", "Альфа", Some("alfa.test"))
        .await
        .unwrap();
    let (_, client) = common::user_with_token(
        &desk,
        "client@alfa.test",
        Role::Client,
        Some(alfa),
        &[],
        None,
    )
    .await;
    let (line1_user, line1) =
        common::user_with_token(&desk, "line1@desk.test", Role::Specialist, None, &[1], None).await;
    let (dev_user, dev) =
        common::user_with_token(&desk, "dev@desk.test", Role::Specialist, None, &[3], None).await;
    let (_, manager) =
        common::user_with_token(&desk, "manager@desk.test", Role::Manager, None, &[], None).await;
    let app = App {
        base: common::serve(desk.clone()).await,
        http: reqwest::Client::new(),
        desk,
        _files: files,
    };

    // Two tickets; the second marked URGENT by the client.
    let new_ticket = |urgent: bool| json!({"service": "question", "subject": "Отчёт", "description": "ошибка", "urgent": urgent});
    let (status, plain) = app
        .call(
            Method::POST,
            &client,
            "/api/v1/tickets",
            Some(new_ticket(false)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{plain}");
    let (_, urgent) = app
        .call(
            Method::POST,
            &client,
            "/api/v1/tickets",
            Some(new_ticket(true)),
        )
        .await;

    // Line 1 classifies both as bugs; the dev's queue puts the urgent one first, saying why.
    let (_, queue) = app
        .call(Method::GET, &line1, "/api/v1/tasks/queue", None)
        .await;
    assert_eq!(queue.as_array().unwrap().len(), 2);
    assert_eq!(queue[0]["ticket_id"], plain["id"], "line 1 goes by arrival");
    assert!(
        queue[0]["why"][0]
            .as_str()
            .unwrap()
            .starts_with("поступило")
    );
    assert!(queue[0]["idle"].is_boolean());
    for task in queue.as_array().unwrap() {
        let path = format!("/api/v1/tasks/{}/complete", task["id"].as_str().unwrap());
        let (status, body) = app
            .call(Method::POST, &line1, &path, Some(json!({"outcome": "bug"})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, queue) = app
        .call(Method::GET, &dev, "/api/v1/tasks/queue", None)
        .await;
    assert_eq!(queue[0]["ticket_id"], urgent["id"]);
    assert_eq!(queue[0]["why"][0], "критическая ошибка (срочно)");
    for field in [
        "id",
        "ticket_id",
        "kind",
        "line",
        "due_at",
        "priority",
        "outcomes",
    ] {
        assert!(queue[0].get(field).is_some(), "the queue entry has {field}");
    }

    // Take the top task in one call.
    let (status, top) = app
        .call(Method::POST, &dev, "/api/v1/tasks/next", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{top}");
    assert_eq!(top["ticket_id"], urgent["id"]);
    assert_eq!(top["assignee"], dev_user.id.to_string());
    let task = top["id"].as_str().unwrap().to_owned();

    // Timers: start, stop, stop again is a conflict.
    let (status, timer) = app
        .call(
            Method::POST,
            &dev,
            &format!("/api/v1/tasks/{task}/timer"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{timer}");
    assert!(timer["stopped"].is_null());
    let (_, running) = app.call(Method::GET, &dev, "/api/v1/timer", None).await;
    assert_eq!(running["id"], timer["started"]["id"]);
    let (status, _) = app.call(Method::DELETE, &dev, "/api/v1/timer", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.call(Method::DELETE, &dev, "/api/v1/timer", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Manual entries: fine, overlapping, in the future, negative, not an instant.
    let now = Timestamp::now();
    let ago = |m: i64| (now - SignedDuration::from_mins(m)).to_string();
    let entry = |from: String, until: String| json!({"task": task, "started_at": from, "stopped_at": until, "note": "созвон"});
    let (status, added) = app
        .call(
            Method::POST,
            &dev,
            "/api/v1/time-entries",
            Some(entry(ago(120), ago(60))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["seconds"], 3600);
    for (body, field) in [
        (entry(ago(90), ago(70)), "started_at"),
        (
            entry(ago(20), (now + SignedDuration::from_hours(1)).to_string()),
            "stopped_at",
        ),
        (entry(ago(300), ago(400)), "stopped_at"),
        (entry("вчера".into(), ago(400)), "started_at"),
    ] {
        let (status, error) = app
            .call(Method::POST, &dev, "/api/v1/time-entries", Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["field"], field, "{error}");
    }
    let (_, totals) = app
        .call(
            Method::GET,
            &dev,
            &format!("/api/v1/time/totals?by=task&task={task}"),
            None,
        )
        .await;
    assert_eq!(totals[0]["key"], task);
    assert!(totals[0]["seconds"].as_i64().unwrap() >= 3600);
    let (status, _) = app
        .call(Method::GET, &dev, "/api/v1/time/totals?by=mood", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The day of the manual entry's middle, on the desk's clock: near midnight "today"
    // would miss it.
    let entry_day = (now - SignedDuration::from_mins(90))
        .to_zoned_datetime(app.desk.desk_zone())
        .date();
    let (_, day) = app
        .call(
            Method::GET,
            &dev,
            &format!("/api/v1/time/workday?day={entry_day}"),
            None,
        )
        .await;
    assert!(day["seconds"].as_i64().unwrap() >= 1800, "{day}");

    // Planning beyond the day's working hours names the field.
    let (status, error) = app
        .call(
            Method::PUT,
            &dev,
            &format!("/api/v1/tasks/{task}/plan"),
            Some(json!({"planned_at": "2027-03-01T07:00:00Z", "minutes": 600})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["field"], "minutes");
    for minutes in [
        json!(9223372036854775807i64),
        json!(-1),
        json!(0),
        json!(1441),
        json!(1e300),
    ] {
        let (status, error) = app
            .call(
                Method::PUT,
                &dev,
                &format!("/api/v1/tasks/{task}/plan"),
                Some(json!({"planned_at": "2027-03-01T07:00:00Z", "minutes": minutes})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{minutes}: {error}"
        );
        assert_eq!(error["field"], "minutes", "{minutes}: {error}");
    }
    let soon = (now + SignedDuration::from_hours(48)).to_string();
    let (status, _) = app
        .call(
            Method::PUT,
            &dev,
            &format!("/api/v1/tasks/{task}/plan"),
            Some(json!({"planned_at": soon, "minutes": 60})),
        )
        .await;
    // A weekend or holiday two days from now has no working hours; either answer is exact.
    assert!(
        status == StatusCode::NO_CONTENT || status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status}"
    );
    let (status, feed) = app
        .call(Method::POST, &dev, "/api/v1/planning/feed", None)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = feed["path"].as_str().unwrap();
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR"));
    if status == StatusCode::NO_CONTENT {
        assert!(text.contains(&format!("UID:task-{task}@")), "{text}");
    }
    let response = app
        .http
        .get(format!("{}/api/v1/calendar/nope.ics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // A length stored before plans were bounded (an old SQLite row, or written around
    // the API) neither breaks the figures nor the feed: each counts at most a day.
    let stored_task = TaskId(task.parse().unwrap());
    // PostgreSQL's column holds 32 bits; SQLite took any 64-bit number.
    let huge = i64::from(i32::MAX);
    app.desk
        .store
        .plan_task(stored_task, Some((now, huge)))
        .await
        .unwrap();
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("DTEND:"));
    let (status, figures) = app
        .call(Method::GET, &dev, "/api/v1/me/figures", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    assert!(
        figures["today"]["planned_minutes"].as_i64().unwrap() <= 1440,
        "{figures}"
    );
    app.desk.store.plan_task(stored_task, None).await.unwrap();
    let (status, figures) = app
        .call(Method::GET, &dev, "/api/v1/me/figures", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The manual hour counts in today's and this week's figures as far as it falls in
    // them on the desk's clock (near midnight, or early on a Monday, part of it does not).
    let zone = app.desk.desk_zone();
    let today = now.to_zoned_datetime(zone.clone()).start_of_day().unwrap();
    let monday = today
        .checked_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_zero_offset())))
        .unwrap();
    let within = |start: &jiff::ZonedDateTime| {
        let from = (now - SignedDuration::from_mins(120)).max(start.timestamp());
        let until = now - SignedDuration::from_mins(60);
        (until.as_second() - from.as_second()).max(0)
    };
    for (period, start) in [("today", &today), ("week", &monday)] {
        let logged = figures[period]["logged_seconds"].as_i64().unwrap();
        assert!(logged >= within(start), "{period}: {figures}");
    }
    assert!(
        figures["week"]["logged_seconds"].as_i64().unwrap()
            >= figures["today"]["logged_seconds"].as_i64().unwrap(),
        "{figures}"
    );

    // Distribution: candidates and a bulk assignment by the manager only.
    let (status, candidates) = app
        .call(
            Method::GET,
            &manager,
            &format!(
                "/api/v1/tickets/{}/candidates",
                plain["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{candidates}");
    assert_eq!(
        candidates[0]["user"],
        dev_user.id.to_string(),
        "the line 3 dev first"
    );
    let assign = json!({"tickets": [plain["id"]], "specialists": ["dev@desk.test", line1_user.id.to_string()]});
    let (status, _) = app
        .call(
            Method::POST,
            &dev,
            "/api/v1/distribution/assign",
            Some(assign.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A line lead assigns in their line, to their line's specialists only.
    let lead = format!("/api/v1/users/{}/line-lead", dev_user.id);
    let (status, _) = app
        .call(Method::PUT, &client, &lead, Some(json!({"value": true})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(Method::PUT, &manager, &lead, Some(json!({"value": true})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, refused) = app
        .call(
            Method::POST,
            &dev,
            "/api/v1/distribution/assign",
            Some(assign.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(
        refused["field"], "specialists",
        "line 1 is not the dev's line"
    );
    let (status, assigned) = app
        .call(
            Method::POST,
            &manager,
            "/api/v1/distribution/assign",
            Some(assign),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["tasks"].as_array().unwrap().len(), 1);
    let (status, _) = app
        .call(
            Method::PUT,
            &manager,
            "/api/v1/clients/ALFA/vip",
            Some(json!({"value": true})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(
            Method::PUT,
            &client,
            "/api/v1/clients/ALFA/vip",
            Some(json!({"value": true})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
