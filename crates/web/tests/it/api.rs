//! The REST API over a real server on 127.0.0.1:0, on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: contract shapes, bad input, and tenant isolation.

use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::common;

struct App {
    base: String,
    http: reqwest::Client,
    desk: Arc<Desk>,
    /// Tokens: ALFA contact, another ALFA contact, BETA contact, a line-1 specialist.
    alfa: String,
    alfa2: String,
    beta: String,
    staff: String,
    _files: tempfile::TempDir,
}

const ATTACHMENT_LIMIT: u64 = 64 * 1024;

async fn spawn_app(db: &TestDb) -> App {
    let files = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(files.path().to_path_buf());
    settings.attachment_limit = ATTACHMENT_LIMIT;
    let desk = Desk::start(db.store.clone(), settings).await.unwrap();
    let alfa_id = desk
        .store
        .create_client("ALFA", "Альфа", Some("alfa.test"))
        .await
        .unwrap();
    let beta_id = desk
        .store
        .create_client("BETA", "Бета", Some("beta.test"))
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for (email, role, client, lines, password) in [
        ("a@alfa.test", Role::Client, Some(alfa_id), &[][..], None),
        ("a2@alfa.test", Role::Client, Some(alfa_id), &[], None),
        ("b@beta.test", Role::Client, Some(beta_id), &[], None),
        (
            "line1@desk.test",
            Role::Specialist,
            None,
            &[1],
            Some(okno_desk::auth::hash_password("secret").unwrap()),
        ),
    ] {
        let (_, token) = common::user_with_token(&desk, email, role, client, lines, password).await;
        tokens.push(token);
    }
    let base = common::serve(desk.clone()).await;
    let [alfa, alfa2, beta, staff] = tokens.try_into().unwrap();
    App {
        base,
        // No pooled connections: after a 413 the server drops the connection mid-body, and a
        // pooled one could be reused for the next request just as it closes.
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
        desk,
        alfa,
        alfa2,
        beta,
        staff,
        _files: files,
    }
}

impl App {
    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.alfa)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn new_ticket(&self, token: &str, subject: &str) -> Value {
        let (status, body) = self
            .post(
                token,
                "/api/v1/tickets",
                json!({"service": "question", "subject": subject, "description": "d"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    async fn ticket_count(&self) -> usize {
        let staff = self.staff_user().await;
        let filter = okno_store::TicketFilter {
            limit: 500,
            ..Default::default()
        };
        self.desk.tickets(&staff, &filter).await.unwrap().len()
    }

    async fn staff_user(&self) -> User {
        self.desk
            .token_caller(&self.staff)
            .await
            .unwrap()
            .unwrap()
            .user
    }
}

/// An error body: the status, its code, and the field it names.
fn assert_error(actual: (StatusCode, Value), status: StatusCode, code: &str, field: Option<&str>) {
    let (got, body) = actual;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["field"].as_str(), field, "{body}");
}

okno_store::on_both_backends!(
    health_and_openapi,
    authentication,
    tickets_follow_the_contract,
    bad_input_is_refused_and_nothing_is_written,
    another_clients_ticket_is_not_found_everywhere,
    clients_never_see_internal_things,
    list_pages_by_cursor,
    drafts_are_sent_later,
    attachments_download_safely,
    a_reply_to_a_closed_ticket_reopens_it_and_reviews_are_read,
);

async fn health_and_openapi(db: TestDb) {
    let app = spawn_app(&db).await;
    let health = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let doc: Value = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/tickets",
        "/api/v1/tickets/{id}",
        "/api/v1/tickets/{id}/comments",
        "/api/v1/tickets/{id}/history",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["TicketView"].is_object());
}

async fn authentication(db: TestDb) {
    let app = spawn_app(&db).await;
    let anonymous = app
        .http
        .get(format!("{}/api/v1/tickets", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_error(
        app.get("okno_not-a-token", "/api/v1/tickets").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        None,
    );
    let basic = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .header("authorization", "Basic eDp5")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    let login = |password: &str| {
        let body = json!({"email": "LINE1@desk.test", "password": password});
        let request = app
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&body)
            .send();
        async move {
            let response = request.await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = login("secret").await;
    assert_eq!(status, 200, "{body}");
    let (status, me) = app.get(body["token"].as_str().unwrap(), "/api/v1/me").await;
    assert_eq!(
        (status, me["email"].as_str()),
        (StatusCode::OK, Some("line1@desk.test"))
    );
    assert_eq!(me["role"], "specialist");

    // Typos cost nothing (the throttle's waits are tested with a moved clock in accounts.rs).
    for _ in 0..okno_domain::accounts::ACCOUNT_THROTTLE.free {
        assert_error(
            login("wrong").await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
        );
    }
    assert_eq!(login("secret").await.0, 200);
}

async fn tickets_follow_the_contract(db: TestDb) {
    let app = spawn_app(&db).await;
    let created = app
        .new_ticket(&app.alfa, "  Не печатается накладная  ")
        .await;
    for field in [
        "id",
        "number",
        "service",
        "subject",
        "status",
        "client",
        "created_at",
    ] {
        assert!(created[field].is_string(), "{field} in {created}");
    }
    assert!(created.as_object().unwrap().contains_key("classification"));
    assert!(created.as_object().unwrap().contains_key("next_step_at"));
    assert_eq!(created["subject"], "Не печатается накладная");
    assert_eq!(created["client"], "ALFA");
    assert_eq!(created["status"], "new");
    let id = created["id"].as_str().unwrap();
    let number = created["number"].as_str().unwrap();
    assert_eq!(number, format!("OK-{:0>6}", id));
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, by_number) = app
        .get(&app.alfa, &format!("/api/v1/tickets/{number}"))
        .await;
    assert_eq!((status, &by_number["id"]), (StatusCode::OK, &created["id"]));

    // Staff open tickets for a named client.
    let (status, body) = app
        .post(
            &app.staff,
            "/api/v1/tickets",
            json!({"service": "documents", "subject": "Акт", "client": "beta"}),
        )
        .await;
    assert_eq!(
        (status, body["client"].as_str()),
        (StatusCode::CREATED, Some("BETA")),
        "{body}"
    );
    // A ticket staff register by phone for a contact is the contact's own: they read it.
    let (status, phoned) = app
        .post(
            &app.staff,
            "/api/v1/tickets",
            json!({"service": "question", "subject": "Звонок", "client": "ALFA",
                   "requester": "a2@alfa.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{phoned}");
    let (status, seen) = app
        .get(
            &app.alfa2,
            &format!("/api/v1/tickets/{}", phoned["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!((status, &seen["id"]), (StatusCode::OK, &phoned["id"]));
    assert_error(
        app.post(
            &app.staff,
            "/api/v1/tickets",
            json!({"service": "question", "subject": "Звонок", "client": "ALFA",
                   "requester": "b@beta.test"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("requester"),
    );

    let (status, comment) = app
        .post(
            &app.alfa,
            &format!("/api/v1/tickets/{id}/comments"),
            json!({"body": "Скриншот приложу"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    assert_eq!(comment["internal"], false);
    let (_, history) = app
        .get(&app.alfa, &format!("/api/v1/tickets/{id}/history"))
        .await;
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"created"), "{kinds:?}");
    assert!(kinds.contains(&"comment"), "{kinds:?}");
}

async fn bad_input_is_refused_and_nothing_is_written(db: TestDb) {
    let app = spawn_app(&db).await;
    app.new_ticket(&app.alfa, "first").await;
    let before = app.ticket_count().await;
    let path = "/api/v1/tickets";
    assert_error(
        app.post_raw(path, "application/json", "{\"service\": ")
            .await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
        None,
    );
    assert_error(
        app.post_raw(path, "text/plain", "{}").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    );
    let cases = [
        (
            json!({"service": "question"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "subject",
        ),
        (
            json!({"service": "question", "subject": "x", "priority": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "priority",
        ),
        (
            json!({"service": "question", "subject": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "subject",
        ),
        (
            json!({"service": "no-such", "subject": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "service",
        ),
        (
            json!({"service": "question", "subject": "   "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "subject",
        ),
        (
            json!({"service": "question", "subject": "x".repeat(300)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "subject",
        ),
        (
            // The same answer as for a code that names nobody: no probing.
            json!({"service": "question", "subject": "x", "client": "BETA"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "client",
        ),
        (
            json!({"service": "question", "subject": "x", "client": "NOPE"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "client",
        ),
    ];
    for (body, status, code, field) in cases {
        let field = (!field.is_empty()).then_some(field);
        assert_error(
            app.post(&app.alfa, path, body.clone()).await,
            status,
            code,
            field,
        );
    }
    // Staff must say whose ticket it is.
    assert_error(
        app.post(
            &app.staff,
            path,
            json!({"service": "question", "subject": "x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("client"),
    );
    let huge =
        json!({"service": "question", "subject": "x", "description": "я".repeat(1024 * 1024)})
            .to_string();
    assert_error(
        app.post_raw(path, "application/json", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        None,
    );
    let (status, _) = app.get(&app.alfa, "/api/v1/tickets?status=bogus").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(
        app.get(&app.alfa, "/api/v1/tickets?limit=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("limit"),
    );
    assert_error(
        app.get(&app.alfa, "/api/v1/tickets?cursor=abc").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("cursor"),
    );
    let id = app.new_ticket(&app.alfa, "second").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        app.post(
            &app.alfa,
            &format!("/api/v1/tickets/{id}/comments"),
            json!({"body": ""}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("body"),
    );
    assert_eq!(
        app.ticket_count().await,
        before + 1,
        "only the valid ticket was written"
    );
}

async fn another_clients_ticket_is_not_found_everywhere(db: TestDb) {
    let app = spawn_app(&db).await;
    let ticket = app.new_ticket(&app.alfa, "Альфа: секретный вопрос").await;
    let id = ticket["id"].as_str().unwrap();
    let number = ticket["number"].as_str().unwrap();
    for target in [id, number, "999999"] {
        let reads = [
            format!("/api/v1/tickets/{target}"),
            format!("/api/v1/tickets/{target}/comments"),
            format!("/api/v1/tickets/{target}/history"),
            format!("/api/v1/tickets/{target}/attachments"),
            format!("/api/v1/tickets/{target}/attachments/1"),
            format!("/api/v1/tickets/{target}/tasks"),
        ];
        for path in reads {
            let (status, body) = app.get(&app.beta, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            assert_eq!(body["error"], "not_found", "{path}");
            assert!(!body.to_string().contains("секрет"), "{path} leaks: {body}");
        }
        let writes = [
            (
                format!("/api/v1/tickets/{target}/comments"),
                json!({"body": "hi"}),
            ),
            (format!("/api/v1/tickets/{target}/submit"), json!({})),
        ];
        for (path, body) in writes {
            let (status, answer) = app.post(&app.beta, &path, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
        }
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
        );
        let upload = app
            .http
            .post(format!("{}/api/v1/tickets/{target}/attachments", app.base))
            .bearer_auth(&app.beta)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(upload.status(), StatusCode::NOT_FOUND);
    }
    let (_, beta_list) = app.get(&app.beta, "/api/v1/tickets?client=ALFA").await;
    assert_eq!(beta_list["items"], json!([]));
    // A colleague in the same organization sees only own tickets unless allowed more.
    let (status, _) = app.get(&app.alfa2, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&app.staff, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(status, StatusCode::OK);
}

async fn clients_never_see_internal_things(db: TestDb) {
    let app = spawn_app(&db).await;
    let id = app.new_ticket(&app.alfa, "Вопрос").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let comments = format!("/api/v1/tickets/{id}/comments");
    let (status, _) = app
        .post(
            &app.staff,
            &comments,
            json!({"body": "внутренняя заметка", "internal": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post(&app.staff, &comments, json!({"body": "Ответ клиенту"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_error(
        app.post(&app.alfa, &comments, json!({"body": "x", "internal": true}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("internal"),
    );

    let (_, seen_by_client) = app.get(&app.alfa, &comments).await;
    let bodies = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let (client_view, staff_view) = (
        bodies(&seen_by_client),
        bodies(&app.get(&app.staff, &comments).await.1),
    );
    assert!(
        client_view.contains(&"Ответ клиенту".to_owned()),
        "{client_view:?}"
    );
    assert!(
        !client_view.contains(&"внутренняя заметка".to_owned()),
        "{client_view:?}"
    );
    assert!(
        staff_view.contains(&"внутренняя заметка".to_owned()),
        "{staff_view:?}"
    );
    assert_eq!(
        staff_view.len(),
        client_view.len() + 1,
        "staff see exactly the internal note more"
    );

    let (_, history) = app
        .get(&app.alfa, &format!("/api/v1/tickets/{id}/history"))
        .await;
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["public"] == true),
        "{history}"
    );
    let (_, staff_history) = app
        .get(&app.staff, &format!("/api/v1/tickets/{id}/history"))
        .await;
    assert!(
        staff_history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["public"] == false)
    );

    let (status, _) = app
        .get(&app.alfa, &format!("/api/v1/tickets/{id}/tasks"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "tasks do not exist for clients"
    );
    let (status, _) = app
        .get(&app.staff, &format!("/api/v1/tickets/{id}/tasks"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn list_pages_by_cursor(db: TestDb) {
    let app = spawn_app(&db).await;
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(
            app.new_ticket(&app.alfa, &format!("t{n}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.new_ticket(&app.beta, "beta's").await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app
            .get(&app.alfa, &format!("/api/v1/tickets?limit=3{cursor}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "newest first, each once, only ALFA's");
    let (_, filtered) = app
        .get(&app.staff, "/api/v1/tickets?client=BETA&status=new")
        .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
}

async fn drafts_are_sent_later(db: TestDb) {
    let app = spawn_app(&db).await;
    let (status, draft) = app
        .post(
            &app.alfa,
            "/api/v1/tickets",
            json!({"service": "question", "subject": "черновик", "draft": true}),
        )
        .await;
    assert_eq!(
        (status, draft["status"].as_str()),
        (StatusCode::CREATED, Some("draft"))
    );
    let id = draft["id"].as_str().unwrap();
    let (_, listed) = app.get(&app.alfa, "/api/v1/tickets").await;
    assert_eq!(
        listed["items"],
        json!([]),
        "drafts stay out of the normal list"
    );
    let (_, drafts) = app.get(&app.alfa, "/api/v1/tickets?status=draft").await;
    assert_eq!(drafts["items"].as_array().unwrap().len(), 1);
    let (status, sent) = app
        .post(
            &app.alfa,
            &format!("/api/v1/tickets/{id}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, sent["status"].as_str()),
        (StatusCode::OK, Some("new"))
    );
    let (status, again) = app
        .post(
            &app.alfa,
            &format!("/api/v1/tickets/{id}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
}

async fn attachments_download_safely(db: TestDb) {
    let app = spawn_app(&db).await;
    let id = app.new_ticket(&app.alfa, "с файлом").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(svg.clone())
            .file_name("../../evil.svg")
            .mime_str("image/svg+xml")
            .unwrap(),
    );
    let response = app
        .http
        .post(format!("{}/api/v1/tickets/{id}/attachments", app.base))
        .bearer_auth(&app.alfa)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let attachment: Value = response.json().await.unwrap();
    assert_eq!(attachment["file_name"], "evil.svg");
    assert_eq!(attachment["size"], svg.len());
    let download = app
        .http
        .get(format!(
            "{}{}",
            app.base,
            attachment["url"].as_str().unwrap()
        ))
        .bearer_auth(&app.alfa)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let header = |name: &str| {
        download
            .headers()
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        header("content-disposition").starts_with("attachment;"),
        "{}",
        header("content-disposition")
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(download.bytes().await.unwrap().as_ref(), svg.as_slice());

    let big = vec![b'x'; ATTACHMENT_LIMIT as usize + 1];
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(big).file_name("big.bin"),
    );
    let response = app
        .http
        .post(format!("{}/api/v1/tickets/{id}/attachments", app.base))
        .bearer_auth(&app.alfa)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["field"], "file");
    let (_, listed) = app
        .get(&app.alfa, &format!("/api/v1/tickets/{id}/attachments"))
        .await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "the refused file left no record"
    );
}

async fn a_reply_to_a_closed_ticket_reopens_it_and_reviews_are_read(db: TestDb) {
    let app = spawn_app(&db).await;
    let staff = app.staff_user().await;
    let ticket = app.new_ticket(&app.alfa, "Не печатает").await;
    let id = TicketId(ticket["id"].as_str().unwrap().parse().unwrap());
    for (kind, outcome) in [("classify", "question"), ("answer", "closed")] {
        let tasks = app.desk.store.tasks(id).await.unwrap();
        let task = tasks
            .iter()
            .find(|t| t.kind == kind && t.state == TaskState::Open)
            .unwrap();
        app.desk
            .complete_task(&staff, task.id, outcome, None)
            .await
            .unwrap();
    }
    let path = format!("/api/v1/tickets/{}", ticket["number"].as_str().unwrap());
    assert_eq!(app.get(&app.alfa, &path).await.1["status"], "closed");
    let (status, posted) = app
        .post(
            &app.alfa,
            &format!("{path}/comments"),
            json!({"body": "Снова не печатает"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    assert_eq!(posted["reopened"], true, "{posted}");
    assert_eq!(app.get(&app.alfa, &path).await.1["status"], "in_progress");
    let (_, queue) = app.get(&app.staff, "/api/v1/tasks/queue").await;
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "reopened" && t["outcomes"] == json!(["close"])),
        "{queue}"
    );

    // The daily reviews: for managers and admins only.
    let now = app.desk.now();
    app.desk
        .store
        .create_daily_review("2026-12-07", "manager", "Ежедневный обзор", now)
        .await
        .unwrap();
    assert_error(
        app.get(&app.staff, "/api/v1/reviews").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (_, manager) =
        common::user_with_token(&app.desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let (status, reviews) = app.get(&manager, "/api/v1/reviews?limit=5").await;
    assert_eq!(status, StatusCode::OK, "{reviews}");
    assert_eq!(reviews[0]["day"], "2026-12-07");
    // A review kept as text before reviews were data reads as that text.
    assert_eq!(reviews[0]["text"], "Ежедневный обзор");
    assert_eq!(reviews[0]["items"], json!([]));
    let id = reviews[0]["id"].as_str().unwrap().to_owned();
    assert_error(
        app.post(&app.staff, &format!("/api/v1/reviews/{id}/done"), json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, done) = app
        .post(&manager, &format!("/api/v1/reviews/{id}/done"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done["done_at"].is_string(), "{done}");
    let (_, again) = app.get(&manager, &format!("/api/v1/reviews/{id}")).await;
    assert_eq!(again["done_at"], done["done_at"]);
    assert_error(
        app.get(&manager, "/api/v1/reviews/12345678").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}
