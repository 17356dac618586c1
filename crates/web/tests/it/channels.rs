//! The channels (issue 20) over a real server on 127.0.0.1:0, on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: the caller lookup in every phone format, call
//! events (our JSON and Mango Office's signed notifications), the missed call that becomes
//! exactly one ticket in the caller's name, the call logged on its ticket, and bad input.

use okno_desk::channels::setting;
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common;

okno_store::on_both_backends!(
    telephony_end_to_end,
    mango_notifications,
    webhooks_end_to_end,
    web_form,
    caller_card_and_admin_pages
);

struct Firm {
    desk: std::sync::Arc<Desk>,
    base: String,
    manager: String,
    line1: String,
    client: String,
    _files: tempfile::TempDir,
}

async fn firm(db: &TestDb) -> Firm {
    let files = tempfile::tempdir().unwrap();
    let desk = Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
        .await
        .unwrap();
    let (_, manager) =
        common::user_with_token(&desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let (_, line1) =
        common::user_with_token(&desk, "line1@desk.test", Role::Specialist, None, &[1], None).await;
    let base = common::serve(desk.clone()).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/clients"))
        .bearer_auth(&manager)
        .json(&json!({"code": "ALFA", "name": "Альфа"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for (email, phone) in [
        ("anna@alfa.test", "+7 495 111-22-33"),
        ("boris@alfa.test", "8 (916) 000-00-01"),
    ] {
        let r = http
            .post(format!("{base}/api/v1/clients/ALFA/contacts"))
            .bearer_auth(&manager)
            .json(&json!({"email": email, "name": email, "phone": phone}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
    }
    let client = desk.store.client_by_code("ALFA").await.unwrap().unwrap();
    let anna = desk
        .store
        .user_by_email(&Email::parse("anna@alfa.test").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    let client_token = desk.create_token(&anna).await.unwrap();
    assert_eq!(anna.client_id, Some(client.id));
    Firm {
        desk,
        base,
        manager,
        line1,
        client: client_token,
        _files: files,
    }
}

async fn get(base: &str, path: &str, token: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(base: &str, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn alfa_tickets(f: &Firm) -> Vec<Value> {
    let (status, page) = get(&f.base, "/tickets?client=ALFA&limit=200", &f.manager).await;
    assert_eq!(status, StatusCode::OK);
    page["items"].as_array().unwrap().clone()
}

async fn telephony_end_to_end(db: TestDb) {
    let f = firm(&db).await;
    let base = &f.base;

    // The lookup finds the contact however the number is written.
    for phone in [
        "8 (495) 111-22-33",
        "+74951112233",
        "74951112233",
        "84951112233",
        "+7 495 111 22 33",
        "(495) 111-22-33",
    ] {
        let path = format!("/contacts/lookup?phone={}", urlencode(phone));
        let (status, body) = get(base, &path, &f.line1).await;
        assert_eq!(status, StatusCode::OK, "{phone}: {body}");
        assert_eq!(body["contact"]["email"], "anna@alfa.test", "{phone}");
        assert_eq!(body["client"]["code"], "ALFA");
        assert_eq!(body["phone"], "74951112233");
    }
    // Garbage is 422 naming the field; a number nobody has is 404; a client may not look.
    for garbage in ["abc", "12", "+7 495 111-22-33 доб. 5", ""] {
        let path = format!("/contacts/lookup?phone={}", urlencode(garbage));
        let (status, body) = get(base, &path, &f.line1).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{garbage:?}");
        assert_eq!(body["field"], "phone");
    }
    let (status, _) = get(base, "/contacts/lookup?phone=84990000000", &f.line1).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(base, "/contacts/lookup?phone=84951112233", &f.client).await;
    assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND);

    // A missed call from a contact: one "call back" ticket in the contact's own name, even
    // when the PBX sends the event three times.
    let ring = json!({"event": "ringing", "call_id": "c-1", "from": "8 495 111 22 33", "to": "74950000000"});
    let (status, body) = post(base, "/telephony/events", &f.line1, ring).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["call"]["state"], "ringing");
    assert!(body["opened_ticket"].is_null());
    let missed = json!({"event": "missed", "call_id": "c-1", "from": "8 495 111 22 33", "to": "74950000000"});
    let (status, body) = post(base, "/telephony/events", &f.line1, missed.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["call"]["state"], "missed");
    let opened = body["opened_ticket"].clone();
    assert_eq!(opened["client"], "ALFA");
    assert_eq!(opened["requester"], "anna@alfa.test");
    assert!(
        opened["subject"]
            .as_str()
            .unwrap()
            .contains("+7 495 111-22-33")
    );
    assert_eq!(body["call"]["ticket"], opened["number"]);
    for _ in 0..2 {
        let (status, body) = post(base, "/telephony/events", &f.line1, missed.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["opened_ticket"].is_null());
    }
    assert_eq!(alfa_tickets(&f).await.len(), 1);
    // The ticket's first task waits on line 1.
    let number = opened["number"].as_str().unwrap().to_owned();
    let (status, tasks) = get(base, &format!("/tickets/{number}/tasks"), &f.line1).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        tasks.as_array().unwrap().iter().any(|t| t["line"] == 1),
        "{tasks}"
    );

    // A missed call from a stranger is recorded without a ticket.
    let stranger =
        json!({"event": "missed", "call_id": "c-2", "from": "+7 499 000-00-00", "to": "1"});
    let (status, body) = post(base, "/telephony/events", &f.line1, stranger).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["opened_ticket"].is_null());
    assert!(body["call"]["contact"].is_null());
    assert_eq!(alfa_tickets(&f).await.len(), 1);

    // An answered call: logged on the ticket the specialist opens from it, with its
    // duration and recording; a late "ringing" changes nothing.
    for event in [
        json!({"event": "ringing", "call_id": "c-3", "from": "89160000001", "to": "1"}),
        json!({"event": "answered", "call_id": "c-3", "from": "89160000001", "to": "1", "agent": "line1@desk.test"}),
        json!({"event": "ended", "call_id": "c-3", "from": "89160000001", "to": "1", "duration_s": 125,
               "recording_url": "https://pbx.example/rec/c-3.mp3"}),
        json!({"event": "ringing", "call_id": "c-3", "from": "89160000001", "to": "1"}),
    ] {
        let (status, body) = post(base, "/telephony/events", &f.line1, event).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let call = f
        .desk
        .store
        .call_by_provider_id("generic", "c-3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.state.as_str(), "ended");
    assert_eq!(call.duration_s, Some(125));
    assert_eq!(call.agent.as_deref(), Some("line1@desk.test"));
    let (status, ticket) = post(
        base,
        "/tickets",
        &f.line1,
        json!({"subject": "Звонок: не печатает принтер", "client": "ALFA", "requester": "boris@alfa.test"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(ticket["requester"], "boris@alfa.test");
    let line1 = f
        .desk
        .store
        .user_by_email(&Email::parse("line1@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    let ticket_id = TicketId(ticket["id"].as_str().unwrap().parse().unwrap());
    assert!(
        f.desk
            .channels()
            .log_call(&line1, call.id, ticket_id)
            .await
            .unwrap()
    );
    let path = format!("/tickets/{}/calls", ticket["number"].as_str().unwrap());
    let (status, calls) = get(base, &path, &f.line1).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls[0]["duration_s"], 125);
    assert_eq!(calls[0]["recording_url"], "https://pbx.example/rec/c-3.mp3");
    // Clients never see call records.
    let (status, _) = get(base, &path, &f.client).await;
    assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND);

    // Bad events: each refused naming its field, nothing recorded.
    for (event, field) in [
        (
            json!({"event": "hangup", "call_id": "x", "from": "1"}),
            "event",
        ),
        (
            json!({"event": "ringing", "call_id": "", "from": "1"}),
            "call_id",
        ),
        (
            json!({"event": "ended", "call_id": "x", "from": "1", "recording_url": "javascript:alert(1)"}),
            "recording_url",
        ),
        (
            json!({"event": "ended", "call_id": "x", "from": "1", "duration_s": -4}),
            "duration_s",
        ),
        (
            json!({"event": "ringing", "call_id": "x", "from": "1", "at": "yesterday"}),
            "at",
        ),
        (
            json!({"event": "ringing", "call_id": "x", "from": "1".repeat(100)}),
            "from",
        ),
    ] {
        let (status, body) = post(base, "/telephony/events", &f.line1, event).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["field"], field, "{body}");
    }
    assert!(
        f.desk
            .store
            .call_by_provider_id("generic", "x")
            .await
            .unwrap()
            .is_none()
    );
    // A client cannot feed call events.
    let ring = json!({"event": "missed", "call_id": "c-9", "from": "84951112233"});
    let (status, _) = post(base, "/telephony/events", &f.client, ring).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn mango_notifications(db: TestDb) {
    let f = firm(&db).await;
    let http = reqwest::Client::new();
    let url = |kind: &str| format!("{}/api/v1/telephony/mango/events/{kind}", f.base);
    let signed = |key: &str, salt: &str, json: &str| {
        let sign = hex::encode(Sha256::digest(format!("{key}{json}{salt}")));
        vec![
            ("vpbx_api_key".to_owned(), key.to_owned()),
            ("sign".to_owned(), sign),
            ("json".to_owned(), json.to_owned()),
        ]
    };
    let appeared = r#"{"entry_id":"MToxMDE=","call_id":"MToy","timestamp":1767000000,"seq":1,"call_state":"Appeared","location":"ivr","from":{"number":"74951112233"},"to":{"number":"74950000000","line_number":"74950000000"}}"#;

    // Not configured yet: refused, nothing recorded.
    let r = http
        .post(url("call"))
        .form(&signed("KEY", "SALT", appeared))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let admin = common::user_with_token(&f.desk, "admin@desk.test", Role::Admin, None, &[], None)
        .await
        .0;
    let channels = f.desk.channels();
    channels
        .set_setting(&admin, setting::MANGO_API_KEY, "KEY")
        .await
        .unwrap();
    channels
        .set_setting(&admin, setting::MANGO_API_SALT, "SALT")
        .await
        .unwrap();
    // A specialist may not change them.
    let line1 = f
        .desk
        .store
        .user_by_email(&Email::parse("line1@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    assert!(
        channels
            .set_setting(&line1, setting::MANGO_API_SALT, "mine")
            .await
            .is_err()
    );

    // Forged: a wrong salt, a wrong key, a changed body.
    for form in [
        signed("KEY", "PEPPER", appeared),
        signed("OTHER", "SALT", appeared),
        {
            let mut form = signed("KEY", "SALT", appeared);
            form[2].1 = appeared.replace("74951112233", "74990000000");
            form
        },
    ] {
        let r = http.post(url("call")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        f.desk
            .store
            .call_by_provider_id("mango", "MToxMDE=")
            .await
            .unwrap()
            .is_none()
    );

    // Signed: the call appears, then its summary says nobody answered → one ticket.
    let r = http
        .post(url("call"))
        .form(&signed("KEY", "SALT", appeared))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let call = f
        .desk
        .store
        .call_by_provider_id("mango", "MToxMDE=")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.state.as_str(), "ringing");
    assert!(call.contact_id.is_some());
    let summary = r#"{"entry_id":"MToxMDE=","call_direction":1,"from":{"number":"74951112233"},"to":{"number":"74950000000"},"line_number":"74950000000","create_time":1767000000,"forward_time":0,"talk_time":0,"end_time":1767000030,"entry_result":0,"disconnect_reason":1100}"#;
    for _ in 0..2 {
        let r = http
            .post(url("summary"))
            .form(&signed("KEY", "SALT", summary))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let call = f
        .desk
        .store
        .call_by_provider_id("mango", "MToxMDE=")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.state.as_str(), "missed");
    assert!(call.ticket_id.is_some());
    assert_eq!(alfa_tickets(&f).await.len(), 1);

    // A signed notification that is not JSON is 422 naming `json`.
    let r = http
        .post(url("summary"))
        .form(&signed("KEY", "SALT", "{not json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "json");
}

/// A local receiver: `/ok` answers 204 and keeps what it got, `/fail` answers 500.
async fn receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
) {
    use axum::routing::post;
    let got: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> = Default::default();
    let keep = got.clone();
    let app = axum::Router::new()
        .route(
            "/ok",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let keep = keep.clone();
                async move {
                    let signature = headers
                        .get("x-okno-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    keep.lock().unwrap().push((signature, body));
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route(
            "/fail",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, app).into_future());
    (base, got)
}

async fn webhooks_end_to_end(db: TestDb) {
    let f = firm(&db).await;
    let base = &f.base;
    let (_, admin) =
        common::user_with_token(&f.desk, "admin@desk.test", Role::Admin, None, &[], None).await;
    let (hooks, got) = receiver().await;

    // Bad subscriptions name their field; a specialist may not subscribe.
    for (body, field) in [
        (
            json!({"url": "ftp://x", "events": ["ticket.created"]}),
            "url",
        ),
        (
            json!({"url": format!("{hooks}/ok"), "events": ["ticket.exploded"]}),
            "events",
        ),
        (
            json!({"url": format!("{hooks}/ok"), "events": []}),
            "events",
        ),
        (
            json!({"url": format!("{hooks}/ok"), "events": ["ticket.created"], "secret": "short"}),
            "secret",
        ),
    ] {
        let (status, answer) = post(base, "/webhooks", &admin, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["field"], field);
    }
    let ok = json!({"url": format!("{hooks}/ok"), "events": ["ticket.created", "comment.created", "ticket.status_changed"]});
    let (status, _) = post(base, "/webhooks", &f.line1, ok.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = post(base, "/webhooks", &admin, ok).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let hook = created["id"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);

    // A ticket and an internal comment become two signed deliveries.
    let (status, ticket) = post(
        base,
        "/tickets",
        &f.line1,
        json!({"subject": "Webhook", "client": "ALFA", "requester": "anna@alfa.test"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let number = ticket["number"].as_str().unwrap().to_owned();
    let (status, _) = post(
        base,
        &format!("/tickets/{number}/comments"),
        &f.line1,
        json!({"body": "internal note", "internal": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let made = f.desk.dispatch_webhooks().await.unwrap();
    assert!(made >= 2, "{made}");
    let http = reqwest::Client::new();
    let sent = f.desk.send_webhooks(&http).await.unwrap();
    assert_eq!(sent.delivered, made);
    assert_eq!(sent.failed, 0);
    // Nothing new: nothing more to send.
    assert_eq!(f.desk.dispatch_webhooks().await.unwrap(), 0);
    assert_eq!(f.desk.send_webhooks(&http).await.unwrap().delivered, 0);
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), made);
    let now = jiff::Timestamp::now();
    let mut events = Vec::new();
    for (signature, body) in &received {
        assert!(okno_desk::channels::webhooks::signature_holds(
            &secret,
            signature,
            body,
            now,
            jiff::SignedDuration::from_mins(5)
        ));
        assert!(!okno_desk::channels::webhooks::signature_holds(
            "another-secret-entirely",
            signature,
            body,
            now,
            jiff::SignedDuration::from_mins(5)
        ));
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["data"]["ticket_number"], number.as_str());
        assert_eq!(body["data"]["client"], "ALFA");
        events.push((
            body["event"].as_str().unwrap().to_owned(),
            body["data"]["internal"].clone(),
        ));
    }
    assert!(
        events.contains(&("ticket.created".into(), json!(false))),
        "{events:?}"
    );
    assert!(
        events.contains(&("comment.created".into(), json!(true))),
        "{events:?}"
    );
    let (status, log) = get(base, &format!("/webhooks/{hook}/deliveries"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log.as_array().unwrap().len(), made);
    assert!(log[0]["delivered_at"].is_string());
    assert_eq!(log[0]["last_status"], 204);
    assert!(log[0]["body"]["event"].is_string());

    // A receiver that keeps failing: retried later, and disabled after 10 failures in a row.
    let (status, failing) = post(
        base,
        "/webhooks",
        &admin,
        json!({"url": format!("{hooks}/fail"), "events": ["ticket.created"], "secret": "0123456789abcdef"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let failing = failing["id"].as_str().unwrap().to_owned();
    for i in 0..10 {
        let (status, _) = post(
            base,
            "/tickets",
            &f.line1,
            json!({"subject": format!("Failing {i}"), "client": "ALFA", "requester": "anna@alfa.test"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    f.desk.dispatch_webhooks().await.unwrap();
    let sent = f.desk.send_webhooks(&http).await.unwrap();
    assert_eq!(sent.failed, 10);
    assert_eq!(sent.disabled, 1);
    let (_, list) = get(base, "/webhooks", &admin).await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == failing.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["active"], false);
    assert!(listed["disabled_at"].is_string());
    // The managers hear of it at once: an alert with its task, on the ticket whose
    // delivery failed last, raised once.
    let alerts: Vec<_> = f
        .desk
        .store
        .alerts(true)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == "webhook_disabled")
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].detail.contains("/fail"), "{}", alerts[0].detail);
    assert!(alerts[0].manager_task_id.is_some());
    let (_, log) = get(
        base,
        &format!("/webhooks/{failing}/deliveries?limit=3"),
        &admin,
    )
    .await;
    assert_eq!(log.as_array().unwrap().len(), 3);
    assert_eq!(log[0]["last_status"], 500);
    assert!(log[0]["delivered_at"].is_null());
    assert!(log[0]["given_up_at"].is_null());
    assert!(log[0]["next_attempt_at"].as_str().unwrap() > log[0]["created_at"].as_str().unwrap());

    // Deleted: gone from the list; deleting again is 404.
    let r = reqwest::Client::new()
        .delete(format!("{base}/api/v1/webhooks/{failing}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = reqwest::Client::new()
        .delete(format!("{base}/api/v1/webhooks/{failing}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The delivery body is documented in the OpenAPI document.
    let doc: Value = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["components"]["schemas"]["WebhookEventBody"].is_object());
    assert!(doc["paths"]["/api/v1/contacts/lookup"].is_object());
}

async fn web_form(db: TestDb) {
    let f = firm(&db).await;
    // A server that keeps the peer's address, as `okno serve` does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        axum::serve(
            listener,
            okno_web::app(f.desk.clone())
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .into_future(),
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = |fields: &[(&str, &str)]| -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    // The page works without JavaScript: a plain form with the honeypot hidden.
    let page = http.get(format!("{base}/form")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"action="/form""#) && html.contains(r#"name="website""#));
    let script = http
        .get(format!("{base}/form/embed.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.unwrap().contains("data-okno-form"));

    // A known contact by email, then one by phone: a ticket each, in their own names.
    let r = http
        .post(format!("{base}/form"))
        .form(&form(&[
            ("name", "Анна"),
            ("email", "anna@alfa.test"),
            ("subject", "С сайта"),
            ("message", "Не печатает"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/form/thanks");
    let r = http
        .post(format!("{base}/form"))
        .form(&form(&[
            ("phone", "8 916 000-00-01"),
            ("subject", "По телефону"),
            ("message", "Перезвоните"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let tickets = alfa_tickets(&f).await;
    assert_eq!(tickets.len(), 2);
    let requesters: Vec<&str> = tickets
        .iter()
        .map(|t| t["requester"].as_str().unwrap())
        .collect();
    assert!(requesters.contains(&"anna@alfa.test") && requesters.contains(&"boris@alfa.test"));

    // A stranger: a new contact in the "to register" list, with a ticket.
    let r = http
        .post(format!("{base}/form"))
        .form(&form(&[
            ("name", "Новый"),
            ("email", "new@nowhere.test"),
            ("subject", "Хочу договор"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let stranger = f
        .desk
        .store
        .user_by_email(&Email::parse("new@nowhere.test").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    let new_client = f
        .desk
        .store
        .client(stranger.client_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new_client.code, okno_store::UNREGISTERED_CLIENT);
    let (_, page) = get(&f.base, "/tickets?client=NEW", &f.manager).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // A bot filling the honeypot: the same thank-you, nothing stored.
    let r = http
        .post(format!("{base}/form"))
        .form(&form(&[
            ("email", "bot@spam.test"),
            ("subject", "Buy"),
            ("website", "http://spam"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        f.desk
            .store
            .user_by_email(&Email::parse("bot@spam.test").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // Bad input names the field, keeps what was typed, and stores nothing.
    for (fields, field) in [
        (vec![("subject", "Без контактов")], "email"),
        (vec![("phone", "позвоните мне"), ("subject", "x")], "phone"),
        (vec![("email", "not-an-email"), ("subject", "x")], "email"),
        (vec![("email", "anna@alfa.test")], "subject"),
        (
            vec![("phone", "+7 499 000-00-00"), ("subject", "чужой номер")],
            "email",
        ),
    ] {
        let r = http
            .post(format!("{base}/form"))
            .header("accept", "application/json")
            .form(&form(&fields))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["field"], field, "{fields:?}");
    }
    let r = http
        .post(format!("{base}/form"))
        .form(&form(&[
            ("phone", "позвоните мне"),
            ("subject", "Тема осталась"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Тема осталась"));
    assert_eq!(alfa_tickets(&f).await.len(), 2);

    // Other sites may not post; a configured one may, with CORS headers.
    let r = http
        .post(format!("{base}/form"))
        .header("origin", "https://evil.test")
        .form(&form(&[("email", "anna@alfa.test"), ("subject", "evil")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let admin = common::user_with_token(&f.desk, "admin@desk.test", Role::Admin, None, &[], None)
        .await
        .0;
    f.desk
        .channels()
        .set_setting(
            &admin,
            setting::FORM_ORIGINS,
            "https://firm.test, https://www.firm.test",
        )
        .await
        .unwrap();
    let r = http
        .request(reqwest::Method::OPTIONS, format!("{base}/form"))
        .header("origin", "https://firm.test")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://firm.test"
    );
    let r = http
        .post(format!("{base}/form"))
        .header("origin", "https://firm.test")
        .header("accept", "application/json")
        .form(&form(&[
            ("email", "anna@alfa.test"),
            ("subject", "С сайта фирмы"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://firm.test"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert!(body["ticket"].as_str().unwrap().starts_with("OK-"));
    assert_eq!(alfa_tickets(&f).await.len(), 3);

    // A flood from one address: refused with 429 once over the limit, nothing more stored.
    let mut refused = 0;
    for i in 0..40 {
        let email = format!("flood{i}@flood.test");
        let r = http
            .post(format!("{base}/form"))
            .form(&form(&[("email", email.as_str()), ("subject", "flood")]))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        } else {
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
    }
    // 20 posts an address may make in 10 minutes; 5 counted above (four tickets and the
    // stranger's phone; the rest were refused before counting), so 15 of the flood got in.
    assert_eq!(refused, 25);
}

/// A browser session for `email`: (cookie header, CSRF token).
async fn session(desk: &Desk, email: &str) -> (String, String) {
    let user = desk
        .store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    let session = desk
        .open_session(&user, &okno_desk::auth::Origin::default())
        .await
        .unwrap();
    (format!("okno_session={}", session.cookie), session.csrf)
}

async fn caller_card_and_admin_pages(db: TestDb) {
    let f = firm(&db).await;
    let base = &f.base;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |cookie: String, path: String| {
        let http = http.clone();
        async move {
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (line1, csrf) = session(&f.desk, "line1@desk.test").await;
    let (status, body) = post(
        base,
        "/telephony/events",
        &f.line1,
        json!({"event": "answered", "call_id": "p-1", "from": "8 (495) 111-22-33", "to": "1", "agent": "line1@desk.test"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let call = body["call"]["id"].as_str().unwrap().to_owned();

    // The calls list and the caller's card.
    let (status, html) = page(line1.clone(), "/calls".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("/calls/{call}")), "{html}");
    let (status, html) = page(line1.clone(), format!("/calls/{call}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("+7 495 111-22-33"));
    assert!(
        html.contains("anna@alfa.test") && html.contains("Альфа"),
        "{html}"
    );
    assert!(html.contains("requester=anna%40alfa.test"), "{html}");
    let start = html.find("id=\"ticket-from-call\" href=\"").unwrap()
        + "id=\"ticket-from-call\" href=\"".len();
    let href = html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(href.contains(&format!("call={call}")));

    // "New ticket from this call": the form comes prefilled; sent, the ticket is the
    // contact's own and the call is logged on it.
    let (status, form) = page(line1.clone(), href.clone()).await;
    assert_eq!(status, StatusCode::OK, "{href}");
    assert!(form.contains("value=\"anna@alfa.test\""), "{form}");
    assert!(form.contains(&format!("name=\"call\" value=\"{call}\"")));
    let service = f.desk.contract_settings.registration.service.clone();
    let r = http
        .post(format!("{base}/tickets"))
        .header("cookie", line1.clone())
        .header("origin", base.clone())
        .form(&[
            ("csrf", csrf.as_str()),
            ("service", service.as_str()),
            ("subject", "Звонок: не работает касса"),
            ("client", "ALFA"),
            ("requester", "anna@alfa.test"),
            ("call", call.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let record = f
        .desk
        .store
        .call_by_provider_id("generic", "p-1")
        .await
        .unwrap()
        .unwrap();
    let ticket = record
        .ticket_id
        .expect("the call is logged on the new ticket");
    let (_, view) = get(base, &format!("/tickets/{}", ticket.0), &f.line1).await;
    assert_eq!(view["requester"], "anna@alfa.test");

    // A client sees no calls; only admins see the channel settings.
    let (client_cookie, _) = session(&f.desk, "anna@alfa.test").await;
    let (status, _) = page(client_cookie, format!("/calls/{call}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = page(line1.clone(), "/admin/channels".into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    common::user_with_token(&f.desk, "admin@desk.test", Role::Admin, None, &[], None).await;
    let (admin, admin_csrf) = session(&f.desk, "admin@desk.test").await;
    let (status, html) = page(admin.clone(), "/admin/channels".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("telephony.mango.api_key") && html.contains("webform.origins"));
    let r = http
        .post(format!("{base}/admin/channels"))
        .header("cookie", admin.clone())
        .header("origin", base.clone())
        .form(&[
            ("csrf", admin_csrf.as_str()),
            ("telephony.mango.api_key", "PBX-KEY"),
            ("webform.origins", "https://firm.test"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        f.desk
            .store
            .channel_setting(setting::MANGO_API_KEY)
            .await
            .unwrap()
            .as_deref(),
        Some("PBX-KEY")
    );
    // A subscription made on the page shows its secret once.
    let r = http
        .post(format!("{base}/admin/channels/webhooks"))
        .header("cookie", admin.clone())
        .header("origin", base.clone())
        .form(&[
            ("csrf", admin_csrf.as_str()),
            ("url", "https://receiver.test/hook"),
            ("events", "ticket.created"),
            ("events", "rating.created"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.text().await.unwrap().contains("id=\"webhook-secret\""));
    let hooks = f.desk.store.webhooks().await.unwrap();
    assert_eq!(hooks[0].events, ["ticket.created", "rating.created"]);
    let (status, html) = page(admin, format!("/admin/channels/webhooks/{}", hooks[0].id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("https://receiver.test/hook"));
}
