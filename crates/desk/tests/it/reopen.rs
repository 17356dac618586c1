//! A client's message on a closed ticket reaches a person through every channel: within
//! the reopen window the ticket is under way again with a task for line 1; later the
//! message opens a new ticket linked to the closed one. The client is told either way.

use crate::common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use okno_desk::closed::ClosedOutcome;
use okno_desk::mail::{Inbox, IngestOutcome};
use okno_domain::*;
use okno_mail::MailSettings;
use okno_store::testing::TestDb;
use std::sync::Arc;

okno_store::on_both_backends!(
    a_portal_reply_within_the_window_reopens_the_ticket,
    a_late_reply_opens_a_follow_up_ticket,
    a_mail_reply_to_a_closed_ticket_reopens_it,
);

const START: &str = "2026-12-07T10:00:00+03:00";

async fn firm_at_start(db: TestDb) -> (Firm, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START.parse::<Timestamp>().unwrap()));
    (firm_on(db.store, None, clock.clone()).await, clock)
}

/// A question answered and closed by line 1 through its route.
async fn closed_ticket(f: &Firm) -> Ticket {
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let classify = open_task(desk, ticket.id, "classify").await;
    desk.complete_task(&f.line1, classify.id, "question", None)
        .await
        .unwrap();
    let answer = open_task(desk, ticket.id, "answer").await;
    let closed = desk
        .complete_task(&f.line1, answer.id, "closed", None)
        .await
        .unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    closed
}

async fn outbox_kinds(f: &Firm) -> Vec<String> {
    f.desk
        .store
        .outbox_rows(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect()
}

async fn a_portal_reply_within_the_window_reopens_the_ticket(db: TestDb) {
    let (f, clock) = firm_at_start(db).await;
    let desk = &f.desk;
    let ticket = closed_ticket(&f).await;
    // Staff writing on a closed ticket reopen nothing.
    desk.comment(&f.line1, ticket.id, "Для истории", true)
        .await
        .unwrap();
    assert_eq!(
        desk.ticket(&f.line1, ticket.id).await.unwrap().status,
        TicketStatus::Closed
    );

    clock.advance(SignedDuration::from_hours(2 * 24));
    let posted = desk
        .post_comment(&f.contact, ticket.id, "Ошибка вернулась", false)
        .await
        .unwrap();
    let Some(ClosedOutcome::Reopened(reopened)) = posted.outcome else {
        panic!("expected the ticket reopened, got {:?}", posted.outcome);
    };
    assert_eq!(reopened.status, TicketStatus::InProgress);
    assert!(
        reopened.next_step_at.is_some(),
        "a new promise to the client"
    );
    // A person has it: a task for line 1, in line 1's queue, with a deadline.
    let task = open_task(desk, ticket.id, "reopened").await;
    assert_eq!(task.line, Line::new(1).ok());
    assert!(task.due_at.is_some());
    let queue = desk.queue(&f.line1, None, 50).await.unwrap();
    assert!(queue.iter().any(|c| c.task.id == task.id));
    let card = desk.task(&f.line1, task.id).await.unwrap();
    assert_eq!(card.outcomes, ["close"]);
    assert_eq!(card.title, "Клиент написал в закрытое обращение");
    // The client is told: a public message on the ticket and a "reopened" mail.
    let comments = desk.comments(&f.contact, ticket.id).await.unwrap();
    assert!(
        comments
            .iter()
            .any(|c| c.body.starts_with("Обращение снова в работе")),
        "{comments:?}"
    );
    assert!(outbox_kinds(&f).await.contains(&"ticket_reopened".into()));

    // Answered: the task's one outcome closes the ticket again.
    assert!(
        desk.complete_task(&f.line1, task.id, "done", None)
            .await
            .is_err()
    );
    let closed = desk
        .complete_task(&f.line1, task.id, "close", Some("Исправили снова"))
        .await
        .unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    assert!(open_tasks(desk, ticket.id).await.is_empty());
}

async fn a_late_reply_opens_a_follow_up_ticket(db: TestDb) {
    let (f, clock) = firm_at_start(db).await;
    let desk = &f.desk;
    let ticket = closed_ticket(&f).await;
    clock.advance(SignedDuration::from_hours(15 * 24));
    let posted = desk
        .post_comment(&f.contact, ticket.id, "Опять не работает", false)
        .await
        .unwrap();
    let Some(ClosedOutcome::FollowUp(new)) = posted.outcome else {
        panic!("expected a new ticket, got {:?}", posted.outcome);
    };
    assert_ne!(new.id, ticket.id);
    assert_eq!(new.service, ticket.service);
    assert!(new.description.contains("Опять не работает"));
    assert!(new.description.contains(&ticket.number().to_string()));
    // The old ticket stays closed and tells the client where the answer will come.
    let old = desk.ticket(&f.contact, ticket.id).await.unwrap();
    assert_eq!(old.status, TicketStatus::Closed);
    let comments = desk.comments(&f.contact, ticket.id).await.unwrap();
    assert!(
        comments
            .iter()
            .any(|c| c.body.contains(&new.number().to_string()) && c.author_id.is_none()),
        "{comments:?}"
    );
    // The new ticket is the client's own and on its way to a person.
    assert_eq!(
        desk.ticket(&f.contact, new.id).await.unwrap().requester_id,
        f.contact.id
    );
    open_task(desk, new.id, "classify").await;
    let history = desk.store.history(new.id, true).await.unwrap();
    assert!(
        history.iter().any(|h| h.kind == "follow_up_of"
            && h.after.as_deref() == Some(&ticket.number().to_string()))
    );
}

async fn a_mail_reply_to_a_closed_ticket_reopens_it(db: TestDb) {
    let (f, clock) = firm_at_start(db).await;
    let desk = &f.desk;
    let ticket = closed_ticket(&f).await;
    clock.advance(SignedDuration::from_hours(24));
    let settings = MailSettings {
        from: "support@okno.test".into(),
        ..MailSettings::default()
    };
    let raw = format!(
        "From: client@alfa.demo\r\nTo: support@okno.test\r\nSubject: Re: [{}] Обращение закрыто\r\n\
         Message-ID: <reopen-{}@test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Не помогло, ошибка снова.\r\n",
        ticket.number(),
        ticket.id
    );
    let outcome = desk
        .ingest_mail(&settings, &Inbox::default(), raw.as_bytes())
        .await
        .unwrap();
    assert_eq!(outcome, IngestOutcome::Updated(ticket.number()));
    let reopened = desk.ticket(&f.line1, ticket.id).await.unwrap();
    assert_eq!(reopened.status, TicketStatus::InProgress);
    let task = open_task(desk, ticket.id, "reopened").await;
    assert_eq!(task.line, Line::new(1).ok());
    let comments = desk.comments(&f.line1, ticket.id).await.unwrap();
    assert!(comments.iter().any(|c| c.body.contains("Не помогло")));

    // The same message again changes nothing.
    let again = desk
        .ingest_mail(&settings, &Inbox::default(), raw.as_bytes())
        .await
        .unwrap();
    assert!(matches!(again, IngestOutcome::Ignored(_)), "{again:?}");
    assert_eq!(open_tasks(desk, ticket.id).await.len(), 1);
}
