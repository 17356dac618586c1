//! Redmine: a fake of its REST API (the JSON of `/issues/N.json?include=journals,attachments`,
//! `/time_entries.json`, `/users.json`, … as Redmine 5 writes it) with a prepared data set:
//! Cyrillic subjects, files, private notes, time, a user with no email, a subject in a
//! broken charset, a 100 MB file; and a switch that makes it answer 500 halfway.

use crate::common;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use okno_domain::{Role, TicketId, TicketScope, TicketStatus};
use okno_import::{Options, Plan, Source, SourceKind, import};
use okno_store::testing::TestDb;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "secret-api-key";

#[derive(Default)]
pub struct Fake {
    issues: Mutex<Vec<Value>>,
    time_entries: Mutex<Vec<Value>>,
    /// Issue ids answered with 500 while set.
    failing: Mutex<Vec<String>>,
    /// Requests for one issue's details.
    detail_hits: AtomicUsize,
    /// Bytes served for an attachment id.
    files: Mutex<HashMap<String, Vec<u8>>>,
}

fn ts(day: u32, hour: u32) -> String {
    format!("2024-03-{day:02}T{hour:02}:00:00Z")
}

fn issue(id: i64, subject: &str, tracker: &str, status: (i64, &str), author: i64) -> Value {
    json!({
        "id": id,
        "project": {"id": 1, "name": "Поддержка"},
        "tracker": {"id": 1, "name": tracker},
        "status": {"id": status.0, "name": status.1, "is_closed": status.0 == 5},
        "priority": {"id": 2, "name": "Нормальный"},
        "author": {"id": author, "name": "?"},
        "subject": subject,
        "description": format!("Описание: {subject}"),
        "custom_fields": [{"id": 7, "name": "Версия 1С", "value": "8.3"}],
        "created_on": ts(1, 9),
        "updated_on": ts(id as u32 + 1, 10),
        "attachments": [],
        "journals": []
    })
}

impl Fake {
    pub fn prepared() -> Arc<Fake> {
        let fake = Fake::default();
        let mut first = issue(1, "Ошибка при печати счёта", "Ошибка", (5, "Закрыта"), 3);
        first["attachments"] = json!([
            {"id": 11, "filename": "скриншот.png", "filesize": 9, "content_type": "image/png",
             "author": {"id": 3}, "created_on": ts(1, 9)},
            {"id": 12, "filename": "лог-внутренний.txt", "filesize": 14, "content_type": "text/plain",
             "author": {"id": 1}, "created_on": ts(2, 11)}
        ]);
        first["journals"] = json!([
            {"id": 101, "user": {"id": 1}, "notes": "Смотрим, пришлите версию.", "created_on": ts(2, 10),
             "private_notes": false,
             "details": [{"property": "attr", "name": "status_id", "old_value": "1", "new_value": "2"}]},
            {"id": 102, "user": {"id": 1}, "notes": "Внутреннее: баг в модуле печати", "created_on": ts(2, 11),
             "private_notes": true,
             "details": [{"property": "attachment", "name": "12", "old_value": null, "new_value": "лог-внутренний.txt"},
                         {"property": "cf", "name": "7", "old_value": "8.2", "new_value": "8.3"}]},
            {"id": 103, "user": {"id": 3}, "notes": "Спасибо, заработало!", "created_on": ts(3, 12),
             "private_notes": false,
             "details": [{"property": "attr", "name": "status_id", "old_value": "2", "new_value": "5"}]}
        ]);
        let second = issue(2, "Вопрос по лицензии", "Вопрос", (1, "Новая"), 4);
        let third = issue(3, "PLACEHOLDER-SUBJECT", "Вопрос", (2, "В работе"), 3);
        let mut fourth = issue(4, "Огромный дамп базы", "Ошибка", (2, "В работе"), 3);
        fourth["attachments"] = json!([
            {"id": 41, "filename": "dump.bak", "filesize": 104_857_600u64,
             "content_type": "application/octet-stream", "author": {"id": 3}, "created_on": ts(1, 9)},
            {"id": 42, "filename": "мало-заявлено.bin", "filesize": 10,
             "content_type": "application/octet-stream", "author": {"id": 3}, "created_on": ts(1, 9)}
        ]);
        *fake.issues.lock().unwrap() = vec![first, second, third, fourth];
        *fake.time_entries.lock().unwrap() = vec![json!({
            "id": 501, "issue": {"id": 1}, "user": {"id": 1}, "hours": 1.5,
            "activity": {"id": 9, "name": "Разработка"}, "comments": "Исправление",
            "spent_on": "2024-03-02"
        })];
        let mut files = HashMap::new();
        files.insert("11".to_owned(), b"PNG-bytes".to_vec());
        files.insert("12".to_owned(), b"internal trace".to_vec());
        // Says 10 bytes; is 2 MB, over the test's 1 MB limit.
        files.insert("42".to_owned(), vec![7u8; 2 * 1024 * 1024]);
        *fake.files.lock().unwrap() = files;
        Arc::new(fake)
    }

    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/projects.json", axum::routing::get(projects))
            .route("/trackers.json", axum::routing::get(trackers))
            .route("/issue_statuses.json", axum::routing::get(statuses))
            .route("/users.json", axum::routing::get(users))
            .route("/issues.json", axum::routing::get(issues))
            .route("/issues/{file}", axum::routing::get(one_issue))
            .route("/time_entries.json", axum::routing::get(time_entries))
            .route("/attachments/download/{id}", axum::routing::get(download))
            .with_state(self.clone())
    }
}

type Shared = State<Arc<Fake>>;

fn authorized(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("X-Redmine-API-Key")
        .and_then(|v| v.to_str().ok())
        == Some(KEY)
}

macro_rules! guard {
    ($headers:expr) => {
        if !authorized(&$headers) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    };
}

fn page(items: Vec<Value>, key: &str, query: &HashMap<String, String>) -> Response {
    let offset: usize = query
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|o| o.parse().ok())
        .unwrap_or(25);
    let total = items.len();
    let slice: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    axum::Json(json!({ key: slice, "total_count": total, "offset": offset, "limit": limit }))
        .into_response()
}

async fn projects(
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    guard!(headers);
    page(
        vec![
            json!({"id": 1, "name": "Поддержка", "identifier": "support"}),
            json!({"id": 2, "name": "Внутренний", "identifier": "internal"}),
        ],
        "projects",
        &q,
    )
}

async fn trackers(headers: axum::http::HeaderMap) -> Response {
    guard!(headers);
    axum::Json(json!({"trackers": [{"id": 1, "name": "Ошибка"}, {"id": 2, "name": "Вопрос"}]}))
        .into_response()
}

async fn statuses(headers: axum::http::HeaderMap) -> Response {
    guard!(headers);
    axum::Json(json!({"issue_statuses": [
        {"id": 1, "name": "Новая", "is_closed": false},
        {"id": 2, "name": "В работе", "is_closed": false},
        {"id": 5, "name": "Закрыта", "is_closed": true}
    ]}))
    .into_response()
}

async fn users(
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    guard!(headers);
    page(
        vec![
            json!({"id": 1, "login": "admin", "admin": true, "firstname": "Ольга", "lastname": "Админова", "mail": "olga@firm.example"}),
            json!({"id": 3, "login": "ivan", "admin": false, "firstname": "Иван", "lastname": "Клиентов", "mail": "ivan@client.example"}),
            json!({"id": 4, "login": "noemail", "admin": false, "firstname": "Пётр", "lastname": "Безпочтов"}),
        ],
        "users",
        &q,
    )
}

async fn issues(
    State(fake): Shared,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    guard!(headers);
    let list: Vec<Value> = fake
        .issues
        .lock()
        .unwrap()
        .iter()
        .map(|i| json!({"id": i["id"], "subject": i["subject"], "updated_on": i["updated_on"]}))
        .collect();
    page(list, "issues", &q)
}

async fn one_issue(
    State(fake): Shared,
    headers: axum::http::HeaderMap,
    Path(file): Path<String>,
) -> Response {
    guard!(headers);
    let id = file.trim_end_matches(".json").to_owned();
    fake.detail_hits.fetch_add(1, Ordering::Relaxed);
    if fake.failing.lock().unwrap().contains(&id) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response();
    }
    let found = fake
        .issues
        .lock()
        .unwrap()
        .iter()
        .find(|i| i["id"].as_i64() == id.parse().ok())
        .cloned();
    let Some(issue) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = json!({ "issue": issue }).to_string();
    if body.contains("PLACEHOLDER-SUBJECT") {
        // An old system's row in Windows-1251 inside a UTF-8 answer.
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Сбой кодировки");
        let mut bytes = Vec::new();
        for (n, piece) in body.split("PLACEHOLDER-SUBJECT").enumerate() {
            if n > 0 {
                bytes.extend_from_slice(&cp1251);
            }
            bytes.extend_from_slice(piece.as_bytes());
        }
        return ([("content-type", "application/json")], bytes).into_response();
    }
    ([("content-type", "application/json")], body).into_response()
}

async fn time_entries(
    State(fake): Shared,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    guard!(headers);
    let issue = q.get("issue_id").cloned().unwrap_or_default();
    let list: Vec<Value> = fake
        .time_entries
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["issue"]["id"].as_i64() == issue.parse().ok())
        .cloned()
        .collect();
    page(list, "time_entries", &q)
}

async fn download(
    State(fake): Shared,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Response {
    guard!(headers);
    match fake.files.lock().unwrap().get(&id) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn source(url: &str) -> okno_import::redmine::Redmine {
    okno_import::redmine::Redmine::new(url, KEY)
        .unwrap()
        .with_retries(1, Duration::from_millis(10))
}

/// The proposal, with the trackers on the desk's `question` service.
async fn plan(source: &dyn Source) -> Plan {
    let catalog = source.catalog().await.unwrap();
    let plan = Plan::propose(SourceKind::Redmine, source.url(), &catalog, "question");
    let text = plan.to_toml(&catalog);
    Plan::parse("plan.toml", &text, &|s| s == "question").unwrap()
}

async fn run(
    desk: &okno_desk::Desk,
    source: &dyn Source,
    plan: &Plan,
    dry: bool,
) -> okno_import::Report {
    let mut seen = 0;
    let report = import(
        desk,
        source,
        plan,
        Options { dry_run: dry },
        &mut |done, _| seen = done,
    )
    .await
    .unwrap();
    assert!(seen > 0, "progress is reported");
    report
}

async fn imported(desk: &okno_desk::Desk, number: &str) -> TicketId {
    let tickets = desk
        .store
        .tickets(
            TicketScope::All,
            &okno_store::TicketFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for t in tickets {
        let labels = desk.store.import_labels(t.id).await.unwrap();
        if labels.contains(&format!("Redmine #{number}")) {
            return t.id;
        }
    }
    panic!("Redmine #{number} was not imported");
}

async fn a_prepared_redmine_imports_whole_and_again_changes_nothing(db: TestDb) {
    let fake = Fake::prepared();
    let url = common::serve(fake.router()).await;
    let (desk, _dir) = common::desk(&db, 1024 * 1024).await;
    let source = source(&url);
    let plan = plan(&source).await;
    assert_eq!(plan.staff.get("1"), Some(&Role::Admin));

    let dry = run(&desk, &source, &plan, true).await;
    assert_eq!(dry.counts.tickets_created, 4, "{dry:?}");
    assert_eq!(dry.counts.time_entries, 1);
    let none = desk
        .store
        .tickets(
            TicketScope::All,
            &okno_store::TicketFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "a dry run writes nothing");

    let report = run(&desk, &source, &plan, false).await;
    assert!(report.stopped.is_none(), "{report:?}");
    assert_eq!(report.counts.tickets_created, 4, "{report:?}");
    assert_eq!(report.counts.clients, 1);
    assert_eq!(report.counts.time_entries, 1);
    assert_eq!(report.counts.status_changes, 2);

    // Closed, with its original dates, public and internal messages, files and time.
    let first = imported(&desk, "1").await;
    let ticket = desk
        .store
        .ticket(TicketScope::All, first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.subject, "Ошибка при печати счёта");
    assert_eq!(ticket.status, TicketStatus::Closed);
    assert_eq!(ticket.created_at.to_string(), "2024-03-01T09:00:00Z");
    assert_eq!(ticket.client_code, "SUPPORT");
    let all = desk.store.comments(first, true).await.unwrap();
    let public = desk.store.comments(first, false).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(public.len(), 2, "the private note stays internal");
    assert!(public.iter().all(|c| !c.body.contains("Внутреннее")));
    assert_eq!(all[0].created_at.to_string(), "2024-03-02T10:00:00Z");
    let files_all = desk.store.attachments(first, true).await.unwrap();
    let files_public = desk.store.attachments(first, false).await.unwrap();
    assert_eq!(files_all.len(), 2);
    assert_eq!(
        files_public.len(),
        1,
        "a file added with a private note stays internal"
    );
    assert_eq!(files_public[0].file_name, "скриншот.png");
    assert_eq!(
        desk.files.get(&files_public[0].sha256).await.unwrap(),
        b"PNG-bytes"
    );
    let history = desk.store.history(first, true).await.unwrap();
    let statuses: Vec<_> = history
        .iter()
        .filter(|h| h.kind == "status")
        .map(|h| {
            (
                h.before.clone().unwrap(),
                h.after.clone().unwrap(),
                h.at.to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (
                "new".into(),
                "in_progress".into(),
                "2024-03-02T10:00:00Z".into()
            ),
            (
                "in_progress".into(),
                "closed".into(),
                "2024-03-03T12:00:00Z".into()
            )
        ]
    );
    let field = history.iter().find(|h| h.kind == "field").unwrap();
    assert!(!field.public);
    assert_eq!(field.after.as_deref(), Some("Версия 1С: 8.3"));
    let seconds = desk
        .store
        .time_totals(
            okno_store::TimeGroup::Ticket,
            &okno_store::TimeFilter {
                ticket: Some(first),
                ..Default::default()
            },
            desk.now(),
        )
        .await
        .unwrap();
    assert_eq!(seconds.first().map(|t| t.1), Some(5400), "{seconds:?}");
    assert!(
        desk.store.tasks(first).await.unwrap().is_empty(),
        "a closed ticket needs no one"
    );

    // Open: a review task on line 1; its author had no email.
    let second = imported(&desk, "2").await;
    let tasks = desk.store.tasks(second).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].kind, "review");
    let ticket = desk
        .store
        .ticket(TicketScope::All, second)
        .await
        .unwrap()
        .unwrap();
    let requester = desk.store.user(ticket.requester_id).await.unwrap().unwrap();
    assert_eq!(requester.email.as_str(), "redmine-4@import.invalid");
    assert_eq!(requester.role, Role::Client);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("user 4") && n.contains("no email")),
        "{:?}",
        report.notes
    );

    // The broken charset is read as Windows-1251 and said so.
    let third = imported(&desk, "3").await;
    let ticket = desk
        .store
        .ticket(TicketScope::All, third)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.subject, "Сбой кодировки");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("Redmine #3: ") && n.contains("Windows-1251"))
    );

    // The 100 MB file and the one that lied about its size are reported, the ticket kept.
    let fourth = imported(&desk, "4").await;
    assert!(
        desk.store
            .attachments(fourth, true)
            .await
            .unwrap()
            .is_empty()
    );
    let refused: Vec<_> = report
        .not_imported
        .iter()
        .filter(|n| n.item == "Redmine #4")
        .map(|n| n.reason.clone())
        .collect();
    assert_eq!(refused.len(), 2, "{:?}", report.not_imported);
    assert!(
        refused[0].contains("dump.bak (100.0 MB) is over the attachment limit of 1.0 MB"),
        "{refused:?}"
    );
    assert!(refused[1].contains("мало-заявлено.bin"), "{refused:?}");

    // Findable by the original number.
    let admin = common::admin(&desk).await;
    let hits = desk.search_tickets(&admin, "Redmine #3", 5).await.unwrap();
    assert_eq!(hits.first().map(|h| h.id), Some(third.0), "{hits:?}");

    // Again: nothing fetched, nothing duplicated.
    let hits_before = fake.detail_hits.load(Ordering::Relaxed);
    let again = run(&desk, &source, &plan, false).await;
    assert_eq!(again.counts.tickets_unchanged, 4, "{again:?}");
    assert_eq!(
        again.counts.tickets_created + again.counts.tickets_updated,
        0
    );
    assert_eq!(fake.detail_hits.load(Ordering::Relaxed), hits_before);

    // A new note at the source: the ticket is updated with it alone.
    {
        let mut issues = fake.issues.lock().unwrap();
        issues[1]["updated_on"] = json!(ts(20, 10));
        issues[1]["journals"] = json!([{"id": 201, "user": {"id": 4}, "notes": "Есть новости?",
            "created_on": ts(20, 10), "private_notes": false, "details": []}]);
    }
    let update = run(&desk, &source, &plan, false).await;
    assert_eq!(update.counts.tickets_updated, 1, "{update:?}");
    assert_eq!(update.counts.tickets_unchanged, 3);
    let third_run = run(&desk, &source, &plan, false).await;
    assert_eq!(third_run.counts.tickets_unchanged, 4);
    let comments = desk.store.comments(second, true).await.unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "Есть новости?");
    assert_eq!(
        desk.store.tasks(second).await.unwrap().len(),
        1,
        "one review task still"
    );
    let count = desk
        .store
        .tickets(
            TicketScope::All,
            &okno_store::TicketFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .len();
    assert_eq!(count, 4);
}

async fn a_source_failing_halfway_stops_and_resumes(db: TestDb) {
    let fake = Fake::prepared();
    fake.failing.lock().unwrap().push("3".into());
    let url = common::serve(fake.router()).await;
    let (desk, _dir) = common::desk(&db, 1024 * 1024).await;
    let source = source(&url);
    let plan = plan(&source).await;
    let report = run(&desk, &source, &plan, false).await;
    let stopped = report.stopped.clone().expect("the run stops");
    assert!(
        stopped.starts_with("Redmine #3: ") && stopped.contains("HTTP 500"),
        "{stopped}"
    );
    assert_eq!(report.counts.tickets_created, 2);
    fake.failing.lock().unwrap().clear();
    let resumed = run(&desk, &source, &plan, false).await;
    assert!(resumed.stopped.is_none());
    assert_eq!(resumed.counts.tickets_unchanged, 2);
    assert_eq!(resumed.counts.tickets_created, 2);
    let count = desk
        .store
        .tickets(
            TicketScope::All,
            &okno_store::TicketFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .len();
    assert_eq!(count, 4, "nothing twice, nothing half");
}

async fn a_ticket_outside_the_plan_is_reported_not_guessed(db: TestDb) {
    let fake = Fake::prepared();
    let url = common::serve(fake.router()).await;
    let (desk, _dir) = common::desk(&db, 1024 * 1024).await;
    let source = source(&url);
    let mut plan = plan(&source).await;
    plan.services.remove("tracker:Вопрос");
    let report = run(&desk, &source, &plan, false).await;
    assert_eq!(report.counts.tickets_created, 2);
    let reasons: Vec<_> = report
        .not_imported
        .iter()
        .filter(|n| n.reason.contains("[services]"))
        .collect();
    assert_eq!(reasons.len(), 2, "{:?}", report.not_imported);
    assert_eq!(reasons[0].item, "Redmine #2");
}

okno_store::on_both_backends!(
    a_prepared_redmine_imports_whole_and_again_changes_nothing,
    a_source_failing_halfway_stops_and_resumes,
    a_ticket_outside_the_plan_is_reported_not_guessed,
);
