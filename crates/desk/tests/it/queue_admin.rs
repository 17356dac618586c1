//! Issue 5's remaining pieces through the desk, on SQLite and (with `OKNO_TEST_DATABASE_URL`)
//! PostgreSQL: line leads who assign the tickets of their lines, and ranking every open
//! task again after the priority rules changed.

use crate::common;

use common::*;
use okno_desk::queue::QueueEntry;
use okno_desk::{Desk, DeskError, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use std::path::Path;

okno_store::on_both_backends!(
    a_line_lead_assigns_in_their_lines,
    rerank_follows_changed_rules
);

fn field(result: Result<impl std::fmt::Debug, DeskError>) -> &'static str {
    match result {
        Err(DeskError::Domain(DomainError::Invalid(e))) => e.field,
        other => panic!("expected a 422, got {other:?}"),
    }
}

fn forbidden(result: Result<impl std::fmt::Debug, DeskError>) -> bool {
    matches!(result, Err(DeskError::Domain(DomainError::Forbidden(_))))
}

/// A ticket classified by line 1 with `class`: its develop task waits on line 3.
async fn classified(f: &Firm, class: &str) -> (TicketId, TaskId) {
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let classify = open_task(desk, ticket.id, "classify").await;
    desk.complete_task(&f.line1, classify.id, class, None)
        .await
        .unwrap();
    (ticket.id, open_task(desk, ticket.id, "develop").await.id)
}

async fn a_line_lead_assigns_in_their_lines(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let second_dev = desk
        .store
        .create_user(&okno_store::NewUser {
            email: Email::parse("dev2@demo.okno").unwrap(),
            name: "dev2".into(),
            role: Role::Specialist,
            client_id: None,
            lines: vec![Line::new(3).unwrap()],
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap();
    let (line3_ticket, develop) = classified(&f, "bug").await;
    let waiting = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();

    // Not a lead yet: a specialist may not assign.
    assert!(forbidden(
        desk.assign_tickets(&f.dev, &[line3_ticket], &[second_dev])
            .await
    ));
    // Only managers and admins make leads, and only of specialists with a line.
    assert!(forbidden(desk.set_line_lead(&f.dev, f.dev.id, true).await));
    assert_eq!(
        field(desk.set_line_lead(&f.manager, f.contact.id, true).await),
        "user"
    );
    assert_eq!(
        field(desk.set_line_lead(&f.manager, f.accountant.id, true).await),
        "user",
        "a pool specialist without a line leads nothing"
    );
    desk.set_line_lead(&f.manager, f.dev.id, true)
        .await
        .unwrap();

    // The lead of line 3 gives a line-3 ticket to a line-3 colleague, like a manager.
    let touched = desk
        .assign_tickets(&f.dev, &[line3_ticket], &[second_dev])
        .await
        .unwrap();
    assert_eq!(touched.assigned, [develop]);
    let task = desk.store.task(develop).await.unwrap().unwrap();
    assert_eq!(task.assignee_id, Some(second_dev));

    // Not a ticket waiting in line 3, nor someone outside line 3.
    assert_eq!(
        field(
            desk.assign_tickets(&f.dev, &[waiting.id], &[second_dev])
                .await
        ),
        "tickets"
    );
    assert_eq!(
        field(
            desk.assign_tickets(&f.dev, &[line3_ticket], &[f.line2.id])
                .await
        ),
        "specialists"
    );
    assert!(forbidden(
        desk.assign_tickets(&f.line2, &[line3_ticket], &[f.line2.id])
            .await
    ));

    // No longer a lead: no longer assigns.
    desk.set_line_lead(&f.admin, f.dev.id, false).await.unwrap();
    assert!(forbidden(
        desk.assign_tickets(&f.dev, &[line3_ticket], &[f.dev.id])
            .await
    ));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

async fn rerank_follows_changed_rules(db: TestDb) {
    let f = firm(db.store.clone()).await;
    let (_, bug) = classified(&f, "bug").await;
    let (_, critical) = classified(&f, "critical").await;
    let ids = |entries: &[QueueEntry]| -> Vec<TaskId> {
        entries.iter().map(|e| e.card.task.id).collect()
    };
    let before = f.desk.work_queue(&f.dev, None, 50).await.unwrap();
    assert_eq!(
        ids(&before),
        [critical, bug],
        "shipped rules: critical first"
    );

    // The rules change: lines 2 and 3 now go by arrival, like line 1.
    let config = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    copy_dir(&shipped, config.path());
    let rules = config.path().join("priorities.toml");
    let text = std::fs::read_to_string(&rules).unwrap().replace(
        r#"keys = ["classification", "due", "client"]"#,
        r#"keys = ["arrival"]"#,
    );
    std::fs::write(&rules, text).unwrap();
    let files = tempfile::tempdir().unwrap();
    let changed = Desk::start(
        db.store.clone(),
        Settings {
            config_dir: Some(config.path().to_owned()),
            ..Settings::new(files.path().to_owned())
        },
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&changed.work_queue(&f.dev, None, 50).await.unwrap()),
        [critical, bug],
        "stored ranks stay until the tasks are ranked again"
    );

    let open = changed.store.open_task_count().await.unwrap();
    let mut heard = Vec::new();
    let ranked = changed
        .rerank_all_with(&mut |done, total| heard.push((done, total)))
        .await
        .unwrap();
    assert_eq!(ranked as u64, open);
    assert_eq!(heard.last(), Some(&(ranked, ranked)), "{heard:?}");
    let after = changed.work_queue(&f.dev, None, 50).await.unwrap();
    assert_eq!(ids(&after), [bug, critical], "now in order of arrival");
    assert!(
        after[0].why[0].starts_with("поступило "),
        "{:?}",
        after[0].why
    );
}
