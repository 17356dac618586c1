//! The shipped routes end to end through the desk, on a real store (SQLite and, with
//! `OKNO_TEST_DATABASE_URL`, PostgreSQL).

use crate::common;

use common::*;
use okno_desk::DeskError;
use okno_domain::*;
use okno_store::testing::TestDb;

okno_store::on_both_backends!(
    question_route_bug_to_closed,
    critical_bug_has_two_working_hours,
    client_reply_mid_route_gets_a_reply_task,
    license_key_is_issued_automatically,
    license_key_quota_used_up_goes_to_a_person,
    a_service_is_for_its_audience_only,
    repair_offer_waits_for_the_client,
    draft_starts_its_route_when_sent,
    published_versions_keep_tickets_under_way,
    clients_never_see_tasks,
);

fn conflict(result: Result<impl std::fmt::Debug, DeskError>) -> String {
    match result {
        Err(DeskError::Domain(DomainError::Conflict(m))) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn statuses(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .filter(|h| h.kind == "status")
        .map(|h| h.after.clone().unwrap_or_default())
        .collect()
}

async fn question_route_bug_to_closed(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::New);
    assert!(
        ticket.next_step_at.is_some(),
        "the reaction deadline is set"
    );
    let comments = desk.comments(&f.contact, ticket.id).await.unwrap();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.starts_with("Мы получили ваше обращение")
            && !comments[0].body.contains("{due}"),
        "the client is told the deadline: {}",
        comments[0].body
    );

    // Line 1's queue: the classify task with its help and outcomes.
    let queue = desk.queue(&f.line1, None, 50).await.unwrap();
    assert_eq!(queue.len(), 1);
    let card = &queue[0];
    assert_eq!(card.task.kind, "classify");
    assert_eq!(
        card.outcomes,
        ["question", "bug", "critical", "improvement"]
    );
    assert!(
        card.instructions
            .as_deref()
            .unwrap()
            .contains("Классифицируйте")
    );
    assert!(card.task.due_at.is_some());
    assert!(desk.queue(&f.dev, None, 50).await.unwrap().is_empty());

    let message = conflict(
        desk.complete_task(&f.line1, card.task.id, "later", None)
            .await,
    );
    assert!(
        message.contains("allowed: question, bug, critical, improvement"),
        "{message}"
    );
    desk.take_task(&f.line1, card.task.id).await.unwrap();
    let message = conflict(desk.take_task(&f.manager, card.task.id).await);
    assert!(message.contains("assigned"), "{message}");
    let message = conflict(
        desk.complete_task(&f.manager, card.task.id, "bug", None)
            .await,
    );
    assert!(message.contains("only the assignee"), "{message}");

    let ticket = desk
        .complete_task(&f.line1, card.task.id, "bug", Some("Шаги: открыть отчёт"))
        .await
        .unwrap();
    assert_eq!(ticket.classification, Some(Classification::Bug));
    assert_eq!(ticket.status, TicketStatus::InProgress);
    let develop = open_task(desk, ticket.id, "develop").await;
    assert_eq!(develop.line, Some(Line::new(3).unwrap()));
    assert_eq!(develop.summary.as_deref(), Some("Шаги: открыть отчёт"));
    assert_eq!(develop.priority, 75);
    assert!(develop.due_at.is_some());
    assert_eq!(desk.queue(&f.dev, None, 50).await.unwrap().len(), 1);

    let ticket = desk
        .complete_task(&f.dev, develop.id, "done", Some("Исправлено в 3.0.2"))
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::Resolved);
    let notify = open_task(desk, ticket.id, "notify").await;
    assert_eq!(notify.summary.as_deref(), Some("Исправлено в 3.0.2"));
    let ticket = desk
        .complete_task(&f.line1, notify.id, "done", None)
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::Closed);
    assert!(open_tasks(desk, ticket.id).await.is_empty());
    assert_eq!(ticket.next_step_at, None);

    let history = desk.history(&f.contact, ticket.id).await.unwrap();
    assert_eq!(statuses(&history), ["in_progress", "resolved", "closed"]);
    assert!(history.iter().all(|h| h.public));
}

async fn critical_bug_has_two_working_hours(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let classify = open_task(desk, ticket.id, "classify").await;
    let before = jiff::Timestamp::now();
    desk.complete_task(&f.line1, classify.id, "critical", None)
        .await
        .unwrap();
    let develop = open_task(desk, ticket.id, "develop").await;
    assert_eq!(develop.priority, 100);
    let calendar = desk
        .sla()
        .calendars
        .get("ru-standard")
        .expect("the shipped calendar");
    let due = develop.due_at.unwrap();
    let minutes = calendar.working_minutes_between(before, due);
    assert!(
        (119..=121).contains(&minutes),
        "2 working hours, got {minutes} min"
    );
    let comments = desk.comments(&f.contact, ticket.id).await.unwrap();
    assert!(comments.last().unwrap().body.contains("критическая ошибка"));
}

async fn client_reply_mid_route_gets_a_reply_task(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    desk.comment(&f.contact, ticket.id, "Дополнение: версия 3.0", false)
        .await
        .unwrap();
    let reply = open_task(desk, ticket.id, "reply").await;
    assert_eq!(reply.line, Some(Line::new(1).unwrap()));
    assert!(reply.due_at.is_some(), "the reply has its own deadline");
    // A second message does not pile up reply tasks; staff comments create none.
    desk.comment(&f.contact, ticket.id, "И ещё", false)
        .await
        .unwrap();
    desk.comment(&f.line1, ticket.id, "Смотрим", false)
        .await
        .unwrap();
    assert_eq!(open_tasks(desk, ticket.id).await.len(), 2);
    let card = desk.task(&f.line1, reply.id).await.unwrap();
    assert_eq!(card.outcomes, ["done"]);
    assert!(card.instructions.is_some());
    desk.complete_task(&f.line1, reply.id, "done", None)
        .await
        .unwrap();

    // The route went on where it was: classify → question → ask the client → the reply
    // brings it back to line 1's answer.
    let classify = open_task(desk, ticket.id, "classify").await;
    desk.complete_task(&f.line1, classify.id, "question", None)
        .await
        .unwrap();
    let answer = open_task(desk, ticket.id, "answer").await;
    let waiting = desk
        .complete_task(&f.line1, answer.id, "ask_client", None)
        .await
        .unwrap();
    assert_eq!(waiting.status, TicketStatus::WaitingClient);
    assert!(open_tasks(desk, ticket.id).await.is_empty());
    desk.comment(&f.contact, ticket.id, "Вот скриншот", false)
        .await
        .unwrap();
    let ticket = desk.ticket(&f.line1, ticket.id).await.unwrap();
    assert_eq!(ticket.status, TicketStatus::InProgress);
    open_task(desk, ticket.id, "answer").await;
}

async fn license_key_is_issued_automatically(db: TestDb) {
    let f = firm(db.store).await;
    allow_license_keys(&f, 100.0).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("license-key"))
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::Closed);
    assert!(open_tasks(desk, ticket.id).await.is_empty());
    let comments = desk.comments(&f.contact, ticket.id).await.unwrap();
    let key = comments
        .iter()
        .find_map(|c| c.body.strip_prefix("Ваш лицензионный ключ: "))
        .expect("the key is posted to the client");
    let format = "OKNO-XXXX-XXXX-XXXX";
    assert_eq!(key.len(), format.len());
    for (k, f) in key.chars().zip(format.chars()) {
        if f == 'X' {
            assert!(
                okno_workflow::key::KEY_ALPHABET.contains(&(k as u8)),
                "{key}"
            );
        } else {
            assert_eq!(k, f, "{key}");
        }
    }
}

async fn license_key_quota_used_up_goes_to_a_person(db: TestDb) {
    let f = firm(db.store).await;
    allow_license_keys(&f, 100.0).await;
    let desk = &f.desk;
    desk.store
        .set_license_key_quota(f.client, Some(0))
        .await
        .unwrap();
    let ticket = desk
        .open_ticket(&f.contact, input("license-key"))
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::InProgress);
    let manual = open_task(desk, ticket.id, "issue_manually").await;
    assert_eq!(manual.pool.as_deref(), Some("licensing"));
    let history = desk.history(&f.manager, ticket.id).await.unwrap();
    let failed = history.iter().find(|h| h.kind == "action_failed").unwrap();
    assert!(failed.after.as_deref().unwrap().contains("quota"));
    assert!(!failed.public);
    assert_eq!(desk.queue(&f.licensing, None, 10).await.unwrap().len(), 1);
    let ticket = desk
        .complete_task(&f.licensing, manual.id, "refused", Some("лимит исчерпан"))
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::Closed);
}

async fn a_service_is_for_its_audience_only(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let offers = async |user: &User, code: &str| {
        desk.services_for(user)
            .await
            .unwrap()
            .iter()
            .any(|s| s.code == code)
    };
    // License keys are for clients whose contract has them: ALFA has no contract yet.
    assert!(offers(&f.contact, "question").await);
    assert!(!offers(&f.contact, "license-key").await);
    assert!(
        offers(&f.line1, "license-key").await,
        "staff see the whole catalog"
    );
    for draft in [false, true] {
        let refused = desk
            .open_ticket(
                &f.contact,
                okno_desk::tickets::TicketInput {
                    draft,
                    ..input("license-key")
                },
            )
            .await;
        match refused {
            Err(DeskError::Domain(DomainError::Invalid(e))) => {
                assert_eq!(e.field, "service");
                assert!(e.message.contains("contract"), "{}", e.message);
            }
            other => panic!("expected a field error, got {other:?}"),
        }
    }
    // Nor may staff open one on the client's behalf.
    let on_behalf = desk
        .open_ticket(
            &f.line1,
            okno_desk::tickets::TicketInput {
                client: Some("ALFA".into()),
                ..input("license-key")
            },
        )
        .await;
    assert!(matches!(
        on_behalf,
        Err(DeskError::Domain(DomainError::Invalid(_)))
    ));
    let filter = okno_store::TicketFilter {
        status: None,
        client: None,
        after: None,
        limit: 50,
        drafts_of: None,
    };
    assert!(desk.tickets(&f.contact, &filter).await.unwrap().is_empty());

    allow_license_keys(&f, 5.0).await;
    assert!(offers(&f.contact, "license-key").await);
    let ticket = desk
        .open_ticket(&f.contact, input("license-key"))
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::Closed, "the key was issued");
}

async fn repair_offer_waits_for_the_client(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let ticket = desk.open_ticket(&f.contact, input("repair")).await.unwrap();
    let analyze = open_task(desk, ticket.id, "analyze").await;
    assert_eq!(analyze.pool.as_deref(), Some("engineer"));
    assert!(desk.queue(&f.line1, None, 10).await.unwrap().is_empty());
    desk.complete_task(&f.engineer, analyze.id, "done", None)
        .await
        .unwrap();
    let diagnose = open_task(desk, ticket.id, "diagnose").await;
    // The client cannot decide before the offer.
    conflict(desk.decide(&f.contact, ticket.id, "approved").await);
    let offered = desk
        .complete_task(
            &f.engineer,
            diagnose.id,
            "paid",
            Some("Замена платы: 5000 ₽"),
        )
        .await
        .unwrap();
    assert_eq!(offered.status, TicketStatus::WaitingClient);
    let message = conflict(desk.decide(&f.contact, ticket.id, "maybe").await);
    assert!(message.contains("allowed: approved, declined"), "{message}");
    let approved = desk
        .decide(&f.contact, ticket.id, "approved")
        .await
        .unwrap();
    assert_eq!(approved.status, TicketStatus::InProgress);
    let open: Vec<String> = open_tasks(desk, ticket.id)
        .await
        .into_iter()
        .map(|t| t.kind)
        .collect();
    assert_eq!(open, ["repair", "invoice"]);
    assert_eq!(desk.queue(&f.accountant, None, 10).await.unwrap().len(), 1);

    // Another offer, declined: the ticket closes.
    let second = desk.open_ticket(&f.contact, input("repair")).await.unwrap();
    let analyze = open_task(desk, second.id, "analyze").await;
    desk.complete_task(&f.engineer, analyze.id, "done", None)
        .await
        .unwrap();
    let diagnose = open_task(desk, second.id, "diagnose").await;
    desk.complete_task(&f.engineer, diagnose.id, "paid", None)
        .await
        .unwrap();
    let closed = desk
        .decide(&f.contact, second.id, "declined")
        .await
        .unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    assert!(open_tasks(desk, second.id).await.is_empty());
}

async fn draft_starts_its_route_when_sent(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let mut draft = input("question");
    draft.draft = true;
    let ticket = desk.open_ticket(&f.contact, draft).await.unwrap();
    assert_eq!(ticket.status, TicketStatus::Draft);
    assert!(open_tasks(desk, ticket.id).await.is_empty());
    let sent = desk.submit_draft(&f.contact, ticket.id).await.unwrap();
    assert_eq!(sent.status, TicketStatus::New);
    open_task(desk, ticket.id, "classify").await;
    conflict(desk.submit_draft(&f.contact, ticket.id).await);
    let history = desk.history(&f.contact, ticket.id).await.unwrap();
    assert_eq!(statuses(&history), ["new"]);
}

const V2: &str = r#"
[workflow]
code = "documents"
version = 2
name_ru = "Запрос документов (v2)"

[[stage]]
code = "prepare"
status = "in_progress"

[[stage.task]]
kind = "prepare_v2"
title_ru = "Подготовить документы"
pool = "accounting"
norm = "1d"

[stage.task.outcomes]
done = "close"
"#;

async fn published_versions_keep_tickets_under_way(db: TestDb) {
    let store = db.store.clone();
    let f = firm(db.store).await;
    let desk = &f.desk;
    let old = desk
        .open_ticket(&f.contact, input("documents"))
        .await
        .unwrap();
    open_task(desk, old.id, "prepare").await;

    assert!(matches!(
        desk.publish_workflow(&f.manager, "documents", V2).await,
        Err(DeskError::Domain(DomainError::Forbidden(_)))
    ));
    let broken = V2.replace("done = \"close\"", "done = \"nowhere\"");
    match desk.publish_workflow(&f.admin, "documents", &broken).await {
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            assert_eq!(e.field, "workflow");
            assert!(e.message.contains("documents.toml:"), "{}", e.message);
            assert!(e.message.contains("nowhere"), "{}", e.message);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(desk.catalog().latest("documents").unwrap().version, 1);
    assert_eq!(
        desk.publish_workflow(&f.admin, "documents", V2)
            .await
            .unwrap(),
        2
    );
    assert!(matches!(
        desk.publish_workflow(&f.admin, "documents", V2).await,
        Err(DeskError::Domain(DomainError::Invalid(_)))
    ));

    let new = desk
        .open_ticket(&f.contact, input("documents"))
        .await
        .unwrap();
    let v2_task = open_task(desk, new.id, "prepare_v2").await;
    // The old ticket finishes on version 1.
    let prepare = open_task(desk, old.id, "prepare").await;
    let closed = desk
        .complete_task(&f.accountant, prepare.id, "done", None)
        .await
        .unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);

    // Another desk on the same database (a restart, or a second process) knows version 2.
    let files = tempfile::tempdir().unwrap();
    let again = okno_desk::Desk::start(store, okno_desk::Settings::new(files.path().to_owned()))
        .await
        .unwrap();
    assert_eq!(again.catalog().latest("documents").unwrap().version, 2);
    let done = again
        .complete_task(&f.accountant, v2_task.id, "done", None)
        .await
        .unwrap();
    assert_eq!(done.status, TicketStatus::Closed);
}

async fn clients_never_see_tasks(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let classify = open_task(desk, ticket.id, "classify").await;
    let not_found =
        |r: Result<_, DeskError>| matches!(r, Err(DeskError::Domain(DomainError::NotFound(_))));
    assert!(not_found(
        desk.queue(&f.contact, None, 10).await.map(|_| ())
    ));
    assert!(not_found(
        desk.task(&f.contact, classify.id).await.map(|_| ())
    ));
    assert!(not_found(
        desk.take_task(&f.contact, classify.id).await.map(|_| ())
    ));
    assert!(not_found(
        desk.complete_task(&f.contact, classify.id, "question", None)
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        desk.ticket_tasks(&f.contact, ticket.id).await.map(|_| ())
    ));
    let history = desk.history(&f.contact, ticket.id).await.unwrap();
    assert!(
        history
            .iter()
            .all(|h| h.public && !h.kind.starts_with("task"))
    );
    // Another contact of the same organization does not see a ticket not shared with it.
    assert!(not_found(
        desk.decide(&f.other_contact, ticket.id, "approved")
            .await
            .map(|_| ())
    ));
}
