//! The mail quarantine API over a real server on 127.0.0.1:0, on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: admins list entries with their reasons, page
//! through them and retry them; nobody else may.

use okno_desk::mail::{Inbox, IngestOutcome};
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common;
use reqwest::header;

okno_store::on_both_backends!(
    quarantine_is_listed_and_retried_by_admins,
    the_admin_mail_page_shows_what_was_not_taken_in_or_sent,
);

async fn quarantine_is_listed_and_retried_by_admins(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk: std::sync::Arc<Desk> =
        Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
            .await
            .unwrap();
    let (_, admin) =
        common::user_with_token(&desk, "admin@desk.test", Role::Admin, None, &[], None).await;
    let (_, manager) =
        common::user_with_token(&desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    // Two messages in quarantine: one unreadable, one for a service that is not there.
    let unreadable = desk
        .ingest_mail(
            &desk.settings.mail,
            &Inbox::default(),
            b"Subject: no sender\r\n\r\nbody",
        )
        .await
        .unwrap();
    assert!(matches!(unreadable, IngestOutcome::Quarantined(_)));
    let lost = Inbox {
        service: "no-such-service".into(),
        ..Inbox::default()
    };
    let raw =
        b"From: anna@unknown.test\r\nSubject: help\r\nMessage-ID: <q2@unknown.test>\r\n\r\nplease";
    let misrouted = desk
        .ingest_mail(&desk.settings.mail, &lost, raw)
        .await
        .unwrap();
    assert!(matches!(misrouted, IngestOutcome::Quarantined(_)));

    let base = common::serve(desk.clone()).await;
    let http = reqwest::Client::new();
    let call = |method: Method, path: &str, token: &str| {
        http.request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .send()
    };
    let json = |r: reqwest::Response| async move {
        let status = r.status();
        (status, r.json::<Value>().await.unwrap())
    };

    // Admins only.
    let (status, body) = json(
        call(Method::GET, "/mail/quarantine", &manager)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "forbidden");
    let r = call(Method::GET, "/mail/quarantine", "no-such-token")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Newest first, with the reason; one per page through the cursor.
    let (status, page) = json(call(Method::GET, "/mail/quarantine", &admin).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["sender"], "anna@unknown.test");
    assert!(
        items[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no-such-service")
    );
    assert!(items[1]["reason"].as_str().unwrap().contains("no sender"));
    assert_eq!(items[1]["sender"], Value::Null);
    assert_eq!(page["next_cursor"], Value::Null);
    let (_, first) = json(
        call(Method::GET, "/mail/quarantine?limit=1", &admin)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(first["items"][0]["id"], items[0]["id"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = json(
        call(
            Method::GET,
            &format!("/mail/quarantine?limit=1&cursor={cursor}"),
            &admin,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(second["items"][0]["id"], items[1]["id"]);
    let (status, body) = json(
        call(Method::GET, "/mail/quarantine?cursor=x", &admin)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "cursor");

    // Retries: both stay, one attempt more each — the unreadable one cannot be read, and
    // the other keeps its mailbox's service, which is still not there (the desk's mail
    // tests retry one whose cause is gone: it becomes a ticket and leaves the list).
    let retry = |id: &Value, token: &str| {
        let path = format!("/mail/quarantine/{}/retry", id.as_str().unwrap());
        call(Method::POST, &path, token)
    };
    let r = retry(&items[0]["id"], &manager).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for item in items {
        let (status, again) = json(retry(&item["id"], &admin).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["resolved"], false);
        assert!(
            again["outcome"]
                .as_str()
                .unwrap()
                .starts_with("quarantined")
        );
    }
    let (_, page) = json(call(Method::GET, "/mail/quarantine", &admin).await.unwrap()).await;
    let left = page["items"].as_array().unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|item| item["attempts"] == 1), "{page}");
    assert!(
        left[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no-such-service")
    );
    let r = call(Method::POST, "/mail/quarantine/abc/retry", &admin)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = call(Method::POST, "/mail/quarantine/999999/retry", &admin)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Admin → Mail: the quarantine and the outbox's problems in the browser, "send again" and
/// "take in again" behind CSRF; the outbox's problems in the API too; nobody but admins.
async fn the_admin_mail_page_shows_what_was_not_taken_in_or_sent(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk: std::sync::Arc<Desk> =
        Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
            .await
            .unwrap();
    let hash = okno_desk::auth::hash_password(common::PASSWORD).unwrap();
    let (_, admin) = common::user_with_token(
        &desk,
        "admin@desk.test",
        Role::Admin,
        None,
        &[],
        Some(hash.clone()),
    )
    .await;
    let (_, manager) = common::user_with_token(
        &desk,
        "boss@desk.test",
        Role::Manager,
        None,
        &[],
        Some(hash),
    )
    .await;
    desk.ingest_mail(
        &desk.settings.mail,
        &Inbox::default(),
        b"Subject: <b>no sender</b>\r\n\r\nbody",
    )
    .await
    .unwrap();
    // A row the mail server refused for good: given up with its error.
    let now = desk.now();
    desk.store
        .enqueue_outbox(
            OutboxKind::ContractNotice,
            r#"{"to":"client@alfa.demo","subject":"S","body":"B"}"#,
            "contract:9:expiring",
            now,
        )
        .await
        .unwrap();
    let row = desk
        .store
        .claim_outbox(OutboxKind::ALL, now, now)
        .await
        .unwrap()
        .unwrap();
    desk.store
        .outbox_failed(row.id, "550 <mailbox> unknown", None)
        .await
        .unwrap();

    let base = common::serve(desk.clone()).await;
    let mut origin = header::HeaderMap::new();
    origin.insert(header::ORIGIN, base.parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(origin)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = |path: &str, token: &str| {
        http.get(format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .send()
    };
    let r = api("/mail/outbox/problems", &manager).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let problems: Value = api("/mail/outbox/problems", &admin)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(problems[0]["id"], row.id.to_string());
    assert_eq!(problems[0]["kind"], "contract_notice");
    assert_eq!(problems[0]["next_attempt_at"], Value::Null);

    let (cookie, csrf) = common::login(&http, &base, "admin@desk.test").await;
    let page = |cookie: String| {
        http.get(format!("{base}/admin/mail"))
            .header(header::COOKIE, format!("okno_session={cookie}"))
            .send()
    };
    let html = page(cookie.clone()).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("550 &#60;mailbox&#62; unknown") && !html.contains("<mailbox>"),
        "escaped: {html}"
    );
    assert!(html.contains("the message has no sender address"), "{html}");
    assert!(html.contains("Отправить снова") && html.contains("Принять снова"));
    let send_again = format!("{base}/admin/mail/outbox/{}/retry", row.id);
    let refused = http
        .post(&send_again)
        .header(header::COOKIE, format!("okno_session={cookie}"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let done = http
        .post(&send_again)
        .header(header::COOKIE, format!("okno_session={cookie}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let html = page(cookie).await.unwrap().text().await.unwrap();
    assert!(
        !html.contains("550 &#60;mailbox&#62; unknown"),
        "due again: {html}"
    );

    let (cookie, _) = common::login(&http, &base, "boss@desk.test").await;
    assert_eq!(page(cookie).await.unwrap().status(), StatusCode::FORBIDDEN);
}
