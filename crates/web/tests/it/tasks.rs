//! The tasks and workflow API over a real server on 127.0.0.1:0, on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: the work queue with built-in help, take/complete
//! and their conflicts, reassign/transfer, the client's decision, the catalog, and admins
//! publishing workflow versions.

use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::common;

okno_store::on_both_backends!(
    queue_take_and_complete,
    outcomes_and_ownership_conflicts,
    reassign_transfer_and_watchers,
    clients_get_404_from_task_endpoints,
    repair_decision_by_the_client,
    catalog_and_workflow_publishing,
);

struct App {
    base: String,
    http: reqwest::Client,
    desk: Arc<Desk>,
    client: String,
    line1: String,
    line1b: String,
    dev: String,
    engineer: String,
    admin: String,
    _files: tempfile::TempDir,
}

async fn spawn_app(db: &TestDb) -> App {
    let files = tempfile::tempdir().unwrap();
    let desk = Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
        .await
        .unwrap();
    let alfa = desk
        .store
        .create_client("ALFA", "Альфа", Some("alfa.test"))
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for (email, role, lines) in [
        ("client@alfa.test", Role::Client, vec![]),
        ("line1@desk.test", Role::Specialist, vec![1]),
        ("line1b@desk.test", Role::Specialist, vec![1]),
        ("dev@desk.test", Role::Specialist, vec![3]),
        ("engineer@desk.test", Role::Specialist, vec![]),
        ("admin@desk.test", Role::Admin, vec![]),
    ] {
        let client_id = (role == Role::Client).then_some(alfa);
        let (user, token) =
            common::user_with_token(&desk, email, role, client_id, &lines, None).await;
        if email.starts_with("engineer") {
            let pools = ["engineer", "master", "quality"].map(String::from);
            desk.store.set_user_pools(user.id, &pools).await.unwrap();
        }
        tokens.push(token);
    }
    let base = common::serve(desk.clone()).await;
    let [client, line1, line1b, dev, engineer, admin] = tokens.try_into().unwrap();
    App {
        base,
        http: reqwest::Client::new(),
        desk,
        client,
        line1,
        line1b,
        dev,
        engineer,
        admin,
        _files: files,
    }
}

impl App {
    async fn send(&self, request: reqwest::RequestBuilder, token: &str) -> (StatusCode, Value) {
        let response = request.bearer_auth(token).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)), token)
            .await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http.post(format!("{}{path}", self.base)).json(&body),
            token,
        )
        .await
    }

    async fn put_toml(&self, token: &str, path: &str, body: &str) -> (StatusCode, Value) {
        self.send(
            self.http
                .put(format!("{}{path}", self.base))
                .header("content-type", "application/toml")
                .body(body.to_owned()),
            token,
        )
        .await
    }

    async fn open(&self, service: &str) -> String {
        let (status, ticket) = self
            .post(
                &self.client,
                "/api/v1/tickets",
                json!({"service": service, "subject": "Не работает", "description": "Подробности"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        ticket["id"].as_str().unwrap().to_owned()
    }

    /// The ticket's open task of `kind`, as staff sees it.
    async fn open_task(&self, ticket: &str, kind: &str) -> Value {
        let (status, tasks) = self
            .get(&self.admin, &format!("/api/v1/tickets/{ticket}/tasks"))
            .await;
        assert_eq!(status, StatusCode::OK, "{tasks}");
        tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["kind"] == kind && t["state"] == "open")
            .cloned()
            .unwrap_or_else(|| panic!("no open {kind} task in {tasks}"))
    }
}

async fn queue_take_and_complete(db: TestDb) {
    let app = spawn_app(&db).await;
    let ticket = app.open("question").await;

    let (status, queue) = app.get(&app.line1, "/api/v1/tasks/queue").await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let task = &queue[0];
    for field in [
        "id",
        "ticket_id",
        "kind",
        "line",
        "assignee",
        "due_at",
        "priority",
        "outcomes",
        "title",
        "instructions",
    ] {
        assert!(
            task.get(field).is_some(),
            "the queue's task has `{field}`: {task}"
        );
    }
    assert_eq!(task["ticket_id"], ticket.as_str());
    assert_eq!(task["kind"], "classify");
    assert_eq!(task["line"], 1);
    assert_eq!(task["assignee"], Value::Null);
    assert_eq!(
        task["outcomes"],
        json!(["question", "bug", "critical", "improvement"])
    );
    assert!(
        task["instructions"].as_str().unwrap().contains("**"),
        "Markdown help"
    );
    assert!(task["due_at"].as_str().unwrap().ends_with('Z'));
    let id = task["id"].as_str().unwrap().to_owned();

    let (status, taken) = app
        .post(&app.line1, &format!("/api/v1/tasks/{id}/take"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert!(taken["assignee"].is_string());
    let (status, error) = app
        .post(&app.line1b, &format!("/api/v1/tasks/{id}/take"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"], "conflict");

    let (status, after) = app
        .post(
            &app.line1,
            &format!("/api/v1/tasks/{id}/complete"),
            json!({"outcome": "bug", "comment": "Шаги воспроизведения"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["classification"], "bug");
    assert_eq!(after["status"], "in_progress");

    let (_, dev_queue) = app.get(&app.dev, "/api/v1/tasks/queue").await;
    assert_eq!(dev_queue[0]["kind"], "develop");
    assert_eq!(dev_queue[0]["summary"], "Шаги воспроизведения");
    assert_eq!(dev_queue[0]["outcomes"], json!(["done", "reclassify"]));
    let develop = dev_queue[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post(
            &app.dev,
            &format!("/api/v1/tasks/{develop}/complete"),
            json!({"outcome": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let notify = app.open_task(&ticket, "notify").await;
    let (status, closed) = app
        .post(
            &app.line1,
            &format!("/api/v1/tasks/{}/complete", notify["id"].as_str().unwrap()),
            json!({"outcome": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(closed["status"], "closed");

    // Keyset paging of the queue.
    for _ in 0..3 {
        app.open("question").await;
    }
    let response = app
        .http
        .get(format!("{}/api/v1/tasks/queue?limit=2", app.base))
        .bearer_auth(&app.line1)
        .send()
        .await
        .unwrap();
    let cursor = response.headers()["x-next-cursor"]
        .to_str()
        .unwrap()
        .to_owned();
    let first: Value = response.json().await.unwrap();
    let (_, second) = app
        .get(
            &app.line1,
            &format!("/api/v1/tasks/queue?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(
        first.as_array().unwrap().len() + second.as_array().unwrap().len(),
        3
    );
    assert_ne!(first[0]["id"], second[0]["id"]);
    let (status, _) = app
        .get(&app.line1, "/api/v1/tasks/queue?cursor=nonsense")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn outcomes_and_ownership_conflicts(db: TestDb) {
    let app = spawn_app(&db).await;
    let ticket = app.open("question").await;
    let classify = app.open_task(&ticket, "classify").await;
    let path = format!(
        "/api/v1/tasks/{}/complete",
        classify["id"].as_str().unwrap()
    );

    let (status, error) = app
        .post(&app.line1, &path, json!({"outcome": "later"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("question, bug, critical, improvement"),
        "{message}"
    );

    let id = classify["id"].as_str().unwrap();
    app.post(&app.line1, &format!("/api/v1/tasks/{id}/take"), json!({}))
        .await;
    let (status, error) = app
        .post(&app.line1b, &path, json!({"outcome": "question"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("assignee"),
        "{error}"
    );

    let (status, error) = app
        .post(&app.line1, &path, json!({"outcom": "question"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, _) = app
        .post(
            &app.line1,
            "/api/v1/tasks/999999/complete",
            json!({"outcome": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&app.line1, "/api/v1/tasks/abc/take", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = app
        .post(&app.line1, &path, json!({"outcome": "question"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = app
        .post(&app.line1, &path, json!({"outcome": "question"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
}

async fn reassign_transfer_and_watchers(db: TestDb) {
    let app = spawn_app(&db).await;
    let ticket = app.open("question").await;
    let classify = app.open_task(&ticket, "classify").await;
    let id = classify["id"].as_str().unwrap();

    let (status, task) = app
        .post(
            &app.line1,
            &format!("/api/v1/tasks/{id}/reassign"),
            json!({"assignee": "line1b@desk.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{task}");
    let (_, queue) = app.get(&app.line1b, "/api/v1/tasks/queue").await;
    assert_eq!(queue[0]["id"], id);
    let (status, error) = app
        .post(
            &app.line1b,
            &format!("/api/v1/tasks/{id}/reassign"),
            json!({"assignee": "client@alfa.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    let (status, task) = app
        .post(
            &app.line1b,
            &format!("/api/v1/tasks/{id}/transfer"),
            json!({"line": 2, "reason": "сложный случай"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{task}");
    assert_eq!(
        (task["line"].clone(), task["assignee"].clone()),
        (json!(2), Value::Null)
    );
    assert_eq!(
        task["summary"], "сложный случай",
        "line 2 reads why the task came to it"
    );
    let (status, error) = app
        .post(
            &app.admin,
            &format!("/api/v1/tasks/{id}/transfer"),
            json!({"line": 7, "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["field"], "line");
    let (_, history) = app
        .get(&app.admin, &format!("/api/v1/tickets/{ticket}/history"))
        .await;
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "transferred"
                && h["after"].as_str().unwrap().contains("сложный случай"))
    );

    let (status, _) = app
        .post(
            &app.admin,
            &format!("/api/v1/tasks/{id}/coassignees"),
            json!({"user": "dev@desk.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, dev_queue) = app.get(&app.dev, "/api/v1/tasks/queue").await;
    assert_eq!(dev_queue[0]["id"], id);
    let (status, _) = app
        .post(
            &app.client,
            &format!("/api/v1/tickets/{ticket}/watchers"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn clients_get_404_from_task_endpoints(db: TestDb) {
    let app = spawn_app(&db).await;
    let ticket = app.open("question").await;
    let classify = app.open_task(&ticket, "classify").await;
    let id = classify["id"].as_str().unwrap();
    let (status, _) = app.get(&app.client, "/api/v1/tasks/queue").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&app.client, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (path, body) in [
        ("take", json!({})),
        ("complete", json!({"outcome": "question"})),
        ("reassign", json!({"assignee": "line1@desk.test"})),
        ("transfer", json!({"line": 2, "reason": "x"})),
    ] {
        let (status, error) = app
            .post(&app.client, &format!("/api/v1/tasks/{id}/{path}"), body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {error}");
    }
    let (status, _) = app
        .get(&app.client, &format!("/api/v1/tickets/{ticket}/tasks"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&app.client, "/api/v1/workflows").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn repair_decision_by_the_client(db: TestDb) {
    let app = spawn_app(&db).await;
    let ticket = app.open("repair").await;
    for (kind, outcome) in [("analyze", "done"), ("diagnose", "paid")] {
        let task = app.open_task(&ticket, kind).await;
        let (status, body) = app
            .post(
                &app.engineer,
                &format!("/api/v1/tasks/{}/complete", task["id"].as_str().unwrap()),
                json!({"outcome": outcome}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, waiting) = app
        .get(&app.client, &format!("/api/v1/tickets/{ticket}"))
        .await;
    assert_eq!(waiting["status"], "waiting_client");
    let path = format!("/api/v1/tickets/{ticket}/decision");
    let (status, error) = app
        .post(&app.client, &path, json!({"decision": "maybe"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let (status, approved) = app
        .post(&app.client, &path, json!({"decision": "approved"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "in_progress");
    app.open_task(&ticket, "invoice").await;
    let (status, _) = app
        .post(&app.client, &path, json!({"decision": "approved"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "no longer waiting");
}

const DOCUMENTS_V2: &str = r#"
[workflow]
code = "documents"
version = 2
name_ru = "Запрос документов"

[[stage]]
code = "prepare"
status = "in_progress"

[[stage.task]]
kind = "prepare"
title_ru = "Подготовить документы"
pool = "accounting"
norm = "1d"

[stage.task.outcomes]
done = "close"
"#;

async fn catalog_and_workflow_publishing(db: TestDb) {
    let app = spawn_app(&db).await;
    let (status, services) = app.get(&app.client, "/api/v1/services").await;
    assert_eq!(status, StatusCode::OK);
    let documents = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "documents")
        .unwrap();
    assert_eq!(documents["workflow"], "documents");
    assert_eq!(documents["fields"][0]["code"], "document_kind");
    assert_eq!(documents["fields"][0]["kind"], "select");
    assert_eq!(documents["fields"][0]["required"], true);
    // License keys are for clients whose contract has them; staff see every service.
    let codes = |services: &serde_json::Value| -> Vec<String> {
        services
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!codes(&services).contains(&"license-key".to_owned()));
    let (_, staff_sees) = app.get(&app.line1, "/api/v1/services").await;
    assert!(codes(&staff_sees).contains(&"license-key".to_owned()));

    let (status, list) = app.get(&app.line1, "/api/v1/workflows").await;
    assert_eq!(status, StatusCode::OK);
    let question = list
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "question")
        .unwrap();
    assert_eq!(question["latest"], 1);
    let (status, workflow) = app.get(&app.line1, "/api/v1/workflows/question").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(workflow["stages"][0]["code"], "classify");
    let (status, _) = app.get(&app.line1, "/api/v1/workflows/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only admins publish; a bad file is refused with file:line and changes nothing.
    let (status, _) = app
        .put_toml(&app.line1, "/api/v1/workflows/documents", DOCUMENTS_V2)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let broken = DOCUMENTS_V2.replace("done = \"close\"", "done = \"archive\"");
    let (status, error) = app
        .put_toml(&app.admin, "/api/v1/workflows/documents", &broken)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("documents.toml:") && message.contains("archive"),
        "{message}"
    );
    let (_, unchanged) = app.get(&app.line1, "/api/v1/workflows/documents").await;
    assert_eq!(unchanged["version"], 1);

    let under_way = app.open("documents").await;
    let (status, published) = app
        .put_toml(&app.admin, "/api/v1/workflows/documents", DOCUMENTS_V2)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    assert_eq!(published, json!({"code": "documents", "version": 2}));
    let (_, latest) = app.get(&app.line1, "/api/v1/workflows/documents").await;
    assert_eq!(latest["version"], 2);
    let (_, first) = app
        .get(&app.line1, "/api/v1/workflows/documents?version=1")
        .await;
    assert_eq!(first["version"], 1);

    // The ticket under way finishes on version 1.
    let prepare = app.open_task(&under_way, "prepare").await;
    let (status, closed) = app
        .post(
            &app.admin,
            &format!("/api/v1/tasks/{}/complete", prepare["id"].as_str().unwrap()),
            json!({"outcome": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["status"], "closed");
    let stored = app.desk.store.workflow_files().await.unwrap();
    assert_eq!(stored.len(), 1);

    let (_, openapi) = app.get(&app.line1, "/api/openapi.json").await;
    for path in [
        "/api/v1/tasks/queue",
        "/api/v1/tasks/{id}/take",
        "/api/v1/tasks/{id}/complete",
        "/api/v1/workflows/{code}",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} is documented");
    }
}
