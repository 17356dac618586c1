//! Reports over a real server (issue 21): the API for managers only, bad input naming its
//! field, filters naming nothing, exports with the JSON's figures, the reports page with
//! its chart and links, subscriptions, the dashboard lists' exports and the 1C act.

use crate::common;
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use std::sync::Arc;

okno_store::on_both_backends!(reports_over_http);

use common::{PASSWORD, login};

async fn reports_over_http(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk: Arc<Desk> = Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
        .await
        .unwrap();
    let alfa = desk
        .store
        .create_client("ALFA", "ООО «Альфа»", None)
        .await
        .unwrap();
    let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
    let (contact, _) =
        common::user_with_token(&desk, "anna@alfa.test", Role::Client, Some(alfa), &[], None).await;
    let (line1, specialist_token) =
        common::user_with_token(&desk, "lena@desk.test", Role::Specialist, None, &[1], None).await;
    let (_, token) = common::user_with_token(
        &desk,
        "maria@desk.test",
        Role::Manager,
        None,
        &[],
        Some(hash),
    )
    .await;
    // A question answered and closed today.
    let ticket = desk
        .open_ticket(
            &contact,
            okno_desk::tickets::TicketInput {
                service: "question".into(),
                subject: "Отчёт <не> сходится".into(),
                description: "Помогите".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for (kind, outcome) in [("classify", "question"), ("answer", "closed")] {
        let task = desk
            .store
            .tasks(ticket.id)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.kind == kind && t.state == TaskState::Open)
            .unwrap();
        desk.complete_task(&line1, task.id, outcome, None)
            .await
            .unwrap();
    }
    let base = common::serve(desk.clone()).await;
    let mut headers = HeaderMap::new();
    headers.insert(header::ORIGIN, base.parse().unwrap());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    let api = |path: &str, token: &str| {
        http.get(format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .send()
    };
    let today = desk
        .now()
        .to_zoned_datetime(desk.reports().desk_zone())
        .date();
    let month = format!("from={}&to={today}", today.first_of_month());

    // Managers only.
    let denied = api(&format!("/reports/flow?{month}"), &specialist_token)
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    // Bad input names its field.
    for (query, field) in [
        ("from=2026-02-30", "from"),
        ("from=2026-12-01&to=2026-11-01", "to"),
        ("line=9", "line"),
        ("group=year", "group"),
        ("format=pdf", "format"),
    ] {
        let response = api(&format!("/reports/flow?{query}"), &token)
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let unknown = api("/reports/nope", &token).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Every report answers; the closed ticket is in the SLA report.
    for name in ["sla", "flow", "ratings", "money"] {
        let response = api(&format!("/reports/{name}?{month}"), &token)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["rows"].is_array(), "{name}: {body}");
    }
    let sla: serde_json::Value = api(&format!("/reports/sla?{month}"), &token)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = ticket.number().to_string();
    let rows = sla["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "classify and answer: {sla}");
    assert!(rows.iter().all(|r| r["ticket"] == number.as_str()));
    assert_eq!(sla["by_client"][0]["key"], "ALFA");
    assert_eq!(sla["by_client"][0]["tickets"], 1);
    // A filter naming nothing: empty rows, not an error.
    let nobody: serde_json::Value = api(&format!("/reports/sla?{month}&client=NOPE"), &token)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(nobody["rows"].as_array().unwrap().len(), 0);
    // Ten years answer.
    let decade = api("/reports/flow?from=2017-01-01&to=2026-12-31", &token)
        .await
        .unwrap();
    assert_eq!(decade.status(), StatusCode::OK);

    // CSV and XLSX carry the JSON's figures.
    let csv = api(&format!("/reports/sla?{month}&format=csv"), &token)
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    for row in rows {
        let line = format!(
            "{},{},{},{},{},",
            row["ticket"].as_str().unwrap(),
            row["client"].as_str().unwrap(),
            row["service"].as_str().unwrap(),
            row["classification"].as_str().unwrap(),
            row["line"]
        );
        assert!(csv.contains(&line), "{line} in {csv}");
        let stage = format!(
            ",{},{},{},",
            row["stage"].as_str().unwrap(),
            row["spent_minutes"],
            row["norm_minutes"]
        );
        assert!(csv.contains(&stage), "{stage} in {csv}");
    }
    let xlsx = api(&format!("/reports/money?{month}&format=xlsx"), &token)
        .await
        .unwrap();
    assert_eq!(xlsx.status(), StatusCode::OK);
    assert!(
        xlsx.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert_eq!(&xlsx.bytes().await.unwrap()[..2], b"PK");

    // The page: filters, chart, tables, export links; in both languages.
    let (cookie, csrf) = login(&http, &base, "maria@desk.test").await;
    let page = |path: String| {
        http.get(format!("{base}{path}"))
            .header(header::COOKIE, format!("okno_session={cookie}"))
            .send()
    };
    let html = page(format!("/manager/reports?report=sla&{month}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<svg class=\"chart\""), "{html}");
    assert!(html.contains(&number), "{html}");
    assert!(html.contains("Соблюдение сроков"), "{html}");
    assert!(html.contains("/api/v1/reports/sla?format=csv"), "{html}");
    assert!(!html.contains('⟦'), "every text is translated: {html}");
    let english = page(format!("/manager/reports?report=flow&{month}&lang=en"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("New and closed tickets"), "{english}");
    assert!(!english.contains('⟦'), "{english}");
    let bad = page("/manager/reports?report=flow&from=garbage".into())
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("role=\"alert\""));
    // A session's CSV link works as the page shows it.
    let from_page = page(format!("/api/v1/reports/sla?format=csv&{month}"))
        .await
        .unwrap();
    assert_eq!(from_page.status(), StatusCode::OK);
    assert_eq!(from_page.text().await.unwrap(), csv);

    // Subscribing from the page; the API lists it; unsubscribing.
    let subscribed = http
        .post(format!("{base}/manager/reports/subscriptions"))
        .header(header::COOKIE, format!("okno_session={cookie}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("report", "sla"),
            ("cadence", "monthly"),
            ("client", "ALFA"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), StatusCode::SEE_OTHER);
    let list: serde_json::Value = api("/reports/subscriptions", &token)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["report"], "sla");
    assert_eq!(list[0]["cadence"], "monthly");
    assert_eq!(list[0]["filters"]["client"], "ALFA");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let forged = http
        .post(format!("{base}/manager/reports/subscriptions/{id}/delete"))
        .header(header::COOKIE, format!("okno_session={cookie}"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_ne!(forged.status(), StatusCode::SEE_OTHER);
    let deleted = http
        .delete(format!("{base}/api/v1/reports/subscriptions/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let bad_cadence = http
        .post(format!("{base}/api/v1/reports/subscriptions"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"report": "flow", "cadence": "hourly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_cadence.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A dashboard list behind a figure exports as CSV.
    let created = page(format!(
        "/manager/tickets?list=created&day={}&format=csv",
        today
            .since(jiff::civil::date(1970, 1, 1))
            .unwrap()
            .get_days()
    ))
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let created = created.text().await.unwrap();
    assert!(created.contains(&number), "{created}");
    assert!(created.contains("Отчёт <не> сходится"), "{created}");

    // The act for 1C answers for a client with no contract: no document, valid XML.
    let act = api(
        &format!(
            "/clients/ALFA/acts/{:04}-{:02}",
            today.year(),
            today.month()
        ),
        &token,
    )
    .await
    .unwrap();
    assert_eq!(act.status(), StatusCode::OK);
    let act = act.text().await.unwrap();
    assert!(act.contains("EnterpriseData/1.8"), "{act}");
    assert!(!act.contains("Документ.РеализацияТоваровУслуг"), "{act}");
}
