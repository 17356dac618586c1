//! OTRS/Znuny: the GenericInterface connector (GenericTicketConnectorREST) answering from
//! recorded responses (`fixtures/znuny/*.json`, as documented for SessionCreate,
//! TicketSearch and TicketGet with AllArticles, Attachments and DynamicFields).

use crate::common;
use axum::extract::{Json, Path, Query};
use axum::response::{IntoResponse, Response};
use okno_domain::{Role, TicketScope, TicketStatus};
use okno_import::{Options, Plan, Source, SourceKind, import};
use okno_store::testing::TestDb;
use serde_json::Value;
use std::collections::HashMap;

const BASE: &str = "/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST";
const SESSION: &str = "fixture-session-7f3a";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/it/fixtures/znuny/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn session(Json(body): Json<Value>) -> Response {
    if body["UserLogin"] == "okno" && body["Password"] == "secret" {
        Json(fixture("session.json")).into_response()
    } else {
        Json(fixture("session_fail.json")).into_response()
    }
}

fn authorized(query: &HashMap<String, String>) -> bool {
    query.get("SessionID").map(String::as_str) == Some(SESSION)
}

async fn search(Query(query): Query<HashMap<String, String>>) -> Response {
    if !authorized(&query) {
        return Json(fixture("session_fail.json")).into_response();
    }
    Json(fixture("ticket_search.json")).into_response()
}

async fn get(Path(id): Path<String>, Query(query): Query<HashMap<String, String>>) -> Response {
    if !authorized(&query) {
        return Json(fixture("session_fail.json")).into_response();
    }
    let mut ticket = fixture(&format!("ticket_get_{id}.json"));
    // Without Attachments=1 the connector leaves the attachments out.
    if query.get("Attachments").map(String::as_str) != Some("1") {
        for article in ticket["Ticket"][0]["Article"].as_array_mut().unwrap() {
            article.as_object_mut().unwrap().remove("Attachment");
        }
    }
    Json(ticket).into_response()
}

async fn fake() -> String {
    let app = axum::Router::new()
        .route(&format!("{BASE}/Session"), axum::routing::post(session))
        .route(&format!("{BASE}/Ticket"), axum::routing::get(search))
        .route(&format!("{BASE}/Ticket/{{id}}"), axum::routing::get(get));
    common::serve(app).await
}

async fn znuny_tickets_come_with_articles_files_and_customers(db: TestDb) {
    let url = fake().await;
    let (desk, _dir) = common::desk(&db, 1024 * 1024).await;
    let source = okno_import::znuny::Znuny::new(&url, "okno", "secret").unwrap();
    let catalog = source.catalog().await.unwrap();
    let plan = Plan::propose(SourceKind::Znuny, source.url(), &catalog, "question");
    assert_eq!(plan.clients["customer:romashka"].code, "ROMASHKA");
    assert_eq!(plan.statuses["closed successful"], TicketStatus::Closed);
    assert_eq!(plan.statuses["open"], TicketStatus::InProgress);
    assert_eq!(plan.staff.len(), 1, "agents are proposed as staff");
    assert_eq!(plan.staff["olga@firm.example"], Role::Specialist);
    let text = plan.to_toml(&catalog);
    assert!(
        text.contains("# \"ivan@romashka.example\" = \"specialist\""),
        "{text}"
    );
    let plan = Plan::parse("plan.toml", &text, &|s| s == "question").unwrap();

    let report = import(&desk, &source, &plan, Options::default(), &mut |_, _| {})
        .await
        .unwrap();
    assert!(
        report.stopped.is_none() && report.not_imported.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.counts.tickets_created, 2);
    assert_eq!(report.counts.clients, 2);
    assert_eq!(report.counts.staff, 1);

    let tickets = desk
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
    let first = tickets
        .iter()
        .find(|t| t.subject == "Не работает обмен с банком")
        .unwrap();
    assert_eq!(first.status, TicketStatus::Closed);
    assert_eq!(first.client_code, "ROMASHKA");
    assert_eq!(first.description, "Обмен с банком падает с ошибкой.");
    assert_eq!(first.created_at.to_string(), "2024-03-01T09:00:00Z");
    assert_eq!(
        desk.store.import_labels(first.id).await.unwrap(),
        vec!["Znuny #2024030110000011".to_owned()]
    );
    let comments = desk.store.comments(first.id, true).await.unwrap();
    assert_eq!(comments.len(), 3);
    assert!(comments[0].internal && comments[0].body.starts_with("Внутренняя"));
    let author = desk
        .store
        .user(comments[0].author_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (author.email.as_str(), author.role),
        ("olga@firm.example", Role::Specialist)
    );
    let public_files = desk.store.attachments(first.id, false).await.unwrap();
    assert_eq!(public_files.len(), 1);
    assert_eq!(public_files[0].file_name, "ошибка.png");
    assert_eq!(
        desk.store.attachments(first.id, true).await.unwrap().len(),
        2
    );
    let requester = desk.store.user(first.requester_id).await.unwrap().unwrap();
    assert_eq!(
        (requester.email.as_str(), requester.role),
        ("ivan@romashka.example", Role::Client)
    );

    let second = tickets
        .iter()
        .find(|t| t.subject == "Вопрос по лицензиям")
        .unwrap();
    assert_eq!(second.client_code, "LUTIK");
    assert_eq!(
        desk.store.tasks(second.id).await.unwrap().len(),
        1,
        "open: a review task"
    );
    let petr = desk.store.user(second.requester_id).await.unwrap().unwrap();
    assert_eq!(petr.email.as_str(), "znuny-d09fd191d182d180@import.invalid");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("«Пётр» has no email")),
        "{:?}",
        report.notes
    );

    // Read again: the same `Changed`, nothing written twice.
    let again = import(&desk, &source, &plan, Options::default(), &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(again.counts.tickets_unchanged, 2, "{again:?}");
    assert_eq!(desk.store.comments(first.id, true).await.unwrap().len(), 3);
}

async fn znuny_refusing_the_login_says_so(db: TestDb) {
    let url = fake().await;
    let (desk, _dir) = common::desk(&db, 1024 * 1024).await;
    let source = okno_import::znuny::Znuny::new(&url, "okno", "wrong").unwrap();
    let plan = Plan {
        kind: SourceKind::Znuny,
        url: url.clone(),
        clients: Default::default(),
        services: Default::default(),
        statuses: Default::default(),
        staff: Default::default(),
    };
    let error = import(&desk, &source, &plan, Options::default(), &mut |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("SessionCreate.AuthFail"), "{error}");
    assert!(
        !error.contains("wrong"),
        "the password stays out of messages: {error}"
    );
}

okno_store::on_both_backends!(
    znuny_tickets_come_with_articles_files_and_customers,
    znuny_refusing_the_login_says_so,
);
