//! How long one deadline-watch run takes over many open tasks: a measurement, not a gate.
//! `cargo test --release -p okno-jobs --test watch_cost -- --ignored --nocapture`
//! (PostgreSQL too with `OKNO_TEST_DATABASE_URL`). On a fresh PostgreSQL database the
//! planner has no statistics yet and picks a poor plan for `watched_tasks`; once the
//! tables are analyzed (autovacuum does it) the same query runs ~40× faster.

use jiff::{SignedDuration, Timestamp};
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::{Backend, TestDb, run};
use okno_store::*;
use std::time::Instant;

const TICKETS: usize = 5_000;

async fn measure(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk = Desk::start(db.store.clone(), Settings::new(files.path().to_owned()))
        .await
        .unwrap();
    let client = desk
        .store
        .create_client("ALFA", "Альфа", None)
        .await
        .unwrap();
    let contact = desk
        .store
        .create_user(&NewUser {
            email: Email::parse("anna@alfa.test").unwrap(),
            name: "Anna".into(),
            role: Role::Client,
            client_id: Some(client),
            lines: vec![],
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap();
    let created: Timestamp = "2025-04-28T06:00:00Z".parse().unwrap();
    let loading = Instant::now();
    for i in 0..TICKETS {
        let due = created + SignedDuration::from_mins(60 + (i % 2_000) as i64 * 7);
        let task = NewTask {
            kind: "answer".into(),
            title: "Ответить".into(),
            line: Some(Line::new(1).unwrap()),
            pool: None,
            assignee_id: None,
            due_at: Some(due),
            priority: 50,
            stage: Some("answer".into()),
        };
        let ticket = NewTicket {
            service: "question".into(),
            subject: format!("Вопрос {i}"),
            description: String::new(),
            client_id: client,
            requester_id: contact,
            draft: false,
        };
        desk.store
            .create_ticket(&ticket, &[task], created)
            .await
            .unwrap();
    }
    let loading = loading.elapsed();
    let rules = okno_sla::WatchRules::default();
    let now = created + SignedDuration::from_hours(30);
    let first = Instant::now();
    let raised = okno_jobs::deadline_watch(&desk, &rules, now)
        .await
        .unwrap()
        .raised
        .len();
    let first = first.elapsed();
    let again = Instant::now();
    let report = okno_jobs::deadline_watch(&desk, &rules, now).await.unwrap();
    let again = again.elapsed();
    assert!(report.raised.is_empty());
    let mut queries = Vec::new();
    let t = Instant::now();
    let watched = desk.store.watched_tasks().await.unwrap().len();
    queries.push(format!("watched_tasks ({watched}) {:.1?}", t.elapsed()));
    let t = Instant::now();
    desk.store.overdue_tickets(now).await.unwrap();
    queries.push(format!("overdue_tickets {:.1?}", t.elapsed()));
    let t = Instant::now();
    desk.store.tickets_over_work(600, now).await.unwrap();
    queries.push(format!("tickets_over_work {:.1?}", t.elapsed()));
    let t = Instant::now();
    desk.store.used_up_quotas().await.unwrap();
    queries.push(format!("used_up_quotas {:.1?}", t.elapsed()));
    println!("{:?}: {}", db.backend, queries.join(", "));
    println!(
        "{:?}: {TICKETS} open tasks loaded in {loading:.1?}; first watch raised {raised} alerts in {first:.1?}; \
         a quiet watch ({} known causes) took {again:.1?}",
        db.backend, report.known
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn watch_cost_sqlite() {
    run(Backend::Sqlite, measure).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn watch_cost_postgres() {
    run(Backend::Postgres, measure).await;
}
