//! Deadlines as the client is promised them (issue 18): the support level of the client's
//! contract in every norm, in the client's calendar; the clock stopped while the client is
//! asked and resumed once; mails dated at their event; one promise per ticket. On a real
//! store (SQLite and, with `OKNO_TEST_DATABASE_URL`, PostgreSQL), on a manual clock.

use crate::common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use okno_desk::contracts::ContractInput;
use okno_desk::deadlines::{self, SlaTerms};
use okno_desk::mail::MailSender;
use okno_domain::*;
use okno_mail::MailSettings;
use okno_mail::smtp::SmtpError;
use okno_store::testing::TestDb;
use okno_workflow::Norm;
use std::sync::{Arc, Mutex};

okno_store::on_both_backends!(
    a_contracts_level_sets_every_deadline,
    the_clients_answer_resumes_the_clock_once,
    mails_carry_the_dates_of_their_event,
    a_reply_task_keeps_the_promise_made,
);

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A firm on a manual clock standing at `start`.
async fn firm_at(db: &TestDb, start: &str) -> (Firm, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at(start)));
    (firm_on(db.store.clone(), None, clock.clone()).await, clock)
}

fn contract(level: &str) -> ContractInput {
    ContractInput {
        number: "SLA-1".into(),
        client: "ALFA".into(),
        starts_on: "2026-11-01".into(),
        ends_on: "2027-12-31".into(),
        support_level: Some(level.into()),
        tariff: 10_000.0,
        hourly_rate: 2_000.0,
        rounding_minutes: 15,
        ..ContractInput::default()
    }
}

/// The desk's public messages on a ticket, oldest first.
async fn desk_messages(f: &Firm, ticket: TicketId) -> Vec<String> {
    f.desk
        .comments(&f.contact, ticket)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.author_id.is_none())
        .map(|c| c.body)
        .collect()
}

async fn a_contracts_level_sets_every_deadline(db: TestDb) {
    // Monday 7 December 2026, 09:30 MSK (13:30 in Novosibirsk, its lunch break).
    let (f, clock) = firm_at(&db, "2026-12-07T06:30:00Z").await;
    let desk = &f.desk;
    let (premium_contract, _) = desk
        .save_contract(&f.manager, None, contract("premium"))
        .await
        .unwrap();

    // Premium: the classify stage is 1 working hour (standard: 4).
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    assert_eq!(ticket.next_step_at, Some(at("2026-12-07T07:30:00Z")));
    assert_eq!(
        desk.ticket_registration(&f.line1, ticket.id)
            .await
            .unwrap()
            .support_level,
        "premium"
    );
    let classify = open_task(desk, ticket.id, "classify").await;
    // The internal target is a third of the norm: 20 minutes.
    assert_eq!(classify.due_at, Some(at("2026-12-07T06:50:00Z")));
    assert!(
        desk_messages(&f, ticket.id)
            .await
            .iter()
            .any(|m| m.contains("до 7 декабря 2026, 10:30 (МСК)")),
        "the reaction message tells the premium deadline"
    );

    // A Novosibirsk client counts in its own calendar, and reads its own time.
    db.store
        .set_client_calendar(f.client, Some("nsk-standard"))
        .await
        .unwrap();
    let nsk = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    // Lunch until 14:00 local, then one hour: 15:00 NSK.
    assert_eq!(nsk.next_step_at, Some(at("2026-12-07T08:00:00Z")));
    assert!(
        desk_messages(&f, nsk.id)
            .await
            .iter()
            .any(|m| m.contains("до 7 декабря 2026, 15:00 (МСК+4)")),
        "{:?}",
        desk_messages(&f, nsk.id).await
    );
    db.store.set_client_calendar(f.client, None).await.unwrap();

    // The contract moves to standard: tickets registered under premium keep its norms.
    desk.save_contract(&f.manager, Some(premium_contract.id), contract("standard"))
        .await
        .unwrap();
    clock.set(at("2026-12-07T06:45:00Z"));
    let classified = desk
        .complete_task(&f.line1, classify.id, "question", None)
        .await
        .unwrap();
    let sla = desk.sla();
    let premium = SlaTerms::resolve(sla, Some("premium"), None).unwrap();
    let standard = SlaTerms::resolve(sla, Some("standard"), None).unwrap();
    let answer_due = |terms: &SlaTerms<'_>| {
        deadlines::task_due(
            terms,
            Some(Classification::Question),
            Some("answer"),
            Norm::Solution,
            clock.now(),
        )
        .unwrap()
    };
    assert_ne!(answer_due(&premium), answer_due(&standard));
    // One working day: Tuesday 09:45 MSK.
    assert_eq!(
        classified.next_step_at,
        Some(at("2026-12-08T06:45:00Z")),
        "the answer stage follows premium's 1 day"
    );
    assert_eq!(classified.next_step_at, Some(answer_due(&premium).promised));
    let answer = open_task(desk, ticket.id, "answer").await;
    assert_eq!(answer.due_at, Some(answer_due(&premium).internal));

    // The SLA report measures the ticket against premium's stage norms.
    let report = desk.ticket_sla(ticket.id, clock.now()).await.unwrap();
    assert_eq!(report.stages[0].stage, "classify");
    assert_eq!(report.stages[0].norm_minutes, Some(60));
    let all = desk
        .sla_report(
            at("2026-12-01T00:00:00Z"),
            at("2026-12-31T00:00:00Z"),
            clock.now(),
        )
        .await
        .unwrap();
    let of_ticket = all.iter().find(|r| r.ticket_id == ticket.id).unwrap();
    assert_eq!(of_ticket.stages[0].norm_minutes, Some(60));

    // A ticket registered now follows the contract's new level.
    let later = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    assert_eq!(
        later.next_step_at,
        Some(at("2026-12-07T11:45:00Z")),
        "standard: 4 working hours from 09:45 (lunch 13–14 MSK not counted)"
    );

    // Waiting on the client and back: the clock resumes under premium's calendar and norms.
    clock.set(at("2026-12-07T07:00:00Z"));
    desk.complete_task(&f.line1, answer.id, "ask_client", None)
        .await
        .unwrap();
    desk.pause_clock(ticket.id, clock.now()).await.unwrap();
    clock.set(at("2026-12-07T07:30:00Z"));
    let back = desk
        .comment(&f.contact, ticket.id, "Вот подробности", false)
        .await;
    back.unwrap();
    let resumed = desk.ticket(&f.line1, ticket.id).await.unwrap();
    assert_eq!(
        resumed.next_step_at,
        Some(at("2026-12-08T07:15:00Z")),
        "premium's day from 09:45 plus the 30 minutes waited"
    );
}

async fn the_clients_answer_resumes_the_clock_once(db: TestDb) {
    // Monday 7 December 2026, 10:00 MSK; the default (standard) level.
    let (f, clock) = firm_at(&db, "2026-12-07T07:00:00Z").await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    clock.set(at("2026-12-07T07:10:00Z"));
    let classify = open_task(desk, ticket.id, "classify").await;
    let answering = desk
        .complete_task(&f.line1, classify.id, "question", None)
        .await
        .unwrap();
    // The answer stage: 3 working days from Monday 10:10 → Thursday 10:10 MSK.
    let promise = at("2026-12-10T07:10:00Z");
    assert_eq!(answering.next_step_at, Some(promise));

    // Asked at 10:20, the client answers a minute later, before any clock job ran.
    clock.set(at("2026-12-07T07:20:00Z"));
    let answer = open_task(desk, ticket.id, "answer").await;
    let waiting = desk
        .complete_task(&f.line1, answer.id, "ask_client", None)
        .await
        .unwrap();
    assert_eq!(waiting.status, TicketStatus::WaitingClient);
    assert_eq!(
        waiting.next_step_at, None,
        "no promise while the client is asked"
    );
    clock.set(at("2026-12-07T07:21:00Z"));
    desk.comment(&f.contact, ticket.id, "Версия 3.0", false)
        .await
        .unwrap();
    let back = desk.ticket(&f.line1, ticket.id).await.unwrap();
    assert_eq!(back.status, TicketStatus::InProgress);
    let one_minute_later = at("2026-12-10T07:11:00Z");
    assert_eq!(
        back.next_step_at,
        Some(one_minute_later),
        "the promise moves by the minute waited, not by a new norm"
    );
    // The clock job finds nothing to move again.
    assert!(db.store.clock_mismatches().await.unwrap().is_empty());
    desk.resume_clock(ticket.id, clock.now()).await.unwrap();
    assert_eq!(
        desk.ticket(&f.line1, ticket.id).await.unwrap().next_step_at,
        Some(one_minute_later)
    );

    // A second round, the clock job stopping the clock in between: 30 more minutes.
    clock.set(at("2026-12-07T07:30:00Z"));
    let answer = open_task(desk, ticket.id, "answer").await;
    desk.complete_task(&f.line1, answer.id, "ask_client", None)
        .await
        .unwrap();
    let paused = db.store.clock_mismatches().await.unwrap();
    assert_eq!(paused.len(), 1);
    desk.pause_clock(ticket.id, paused[0].changed_at)
        .await
        .unwrap();
    clock.set(at("2026-12-07T08:00:00Z"));
    desk.comment(&f.contact, ticket.id, "И ещё скриншот", false)
        .await
        .unwrap();
    assert!(db.store.clock_mismatches().await.unwrap().is_empty());
    let back = desk.ticket(&f.line1, ticket.id).await.unwrap();
    let promised = at("2026-12-10T07:41:00Z");
    assert_eq!(back.next_step_at, Some(promised));

    // The pure rule from the ticket's history gives the same promise and task deadline.
    let timeline = db
        .store
        .ticket_timelines(Some(ticket.id), clock.now(), clock.now())
        .await
        .unwrap()
        .pop()
        .unwrap();
    let terms = SlaTerms::resolve(desk.sla(), None, None).unwrap();
    // As the route saw it at the answer: the history up to just before it.
    let stages: Vec<_> = timeline
        .stages
        .iter()
        .filter(|s| s.at < clock.now())
        .cloned()
        .collect();
    let statuses: Vec<_> = timeline
        .statuses
        .iter()
        .filter(|(_, t)| *t < clock.now())
        .cloned()
        .collect();
    let (start, waits) = deadlines::clock_origin(&stages, &statuses, "answer", clock.now());
    assert_eq!(start, at("2026-12-07T07:10:00Z"));
    assert_eq!(
        waits,
        [
            (at("2026-12-07T07:20:00Z"), at("2026-12-07T07:21:00Z")),
            (at("2026-12-07T07:30:00Z"), at("2026-12-07T08:00:00Z")),
        ]
    );
    let due = deadlines::promised_deadline(
        &terms,
        Some(Classification::Question),
        Some("answer"),
        Norm::Solution,
        start,
        &waits,
    )
    .unwrap();
    assert_eq!(due.promised, promised);
    let answer = open_task(desk, ticket.id, "answer").await;
    assert_eq!(answer.due_at, Some(due.internal));
}

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<okno_mail::ParsedMail>>,
}

impl MailSender for Recorder {
    async fn send(
        &self,
        message: okno_desk::mail::lettre_message::Message,
    ) -> Result<(), SmtpError> {
        let parsed = okno_mail::parse(&message.formatted()).unwrap();
        self.sent.lock().unwrap().push(parsed);
        Ok(())
    }
}

async fn mails_carry_the_dates_of_their_event(db: TestDb) {
    let (f, clock) = firm_at(&db, "2026-12-07T07:00:00Z").await;
    let desk = &f.desk;
    let settings = MailSettings {
        from: "support@okno.test".into(),
        ..MailSettings::default()
    };
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    // Classified an hour later; both mails go out in one pass after that.
    clock.advance(SignedDuration::from_hours(1));
    let classify = open_task(desk, ticket.id, "classify").await;
    desk.complete_task(&f.line1, classify.id, "question", None)
        .await
        .unwrap();
    // Then the client is asked: the status mail promises no next step.
    clock.advance(SignedDuration::from_mins(10));
    let answer = open_task(desk, ticket.id, "answer").await;
    desk.complete_task(&f.line1, answer.id, "ask_client", None)
        .await
        .unwrap();
    clock.advance(SignedDuration::from_hours(2));
    let recorder = Recorder::default();
    desk.deliver_mail(&settings, &recorder).await.unwrap();
    let sent = recorder.sent.lock().unwrap();
    let texts: Vec<&str> = sent.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts.len(), 3, "{texts:#?}");
    // Accepted at 10:00 MSK: 4 working hours → 15:00 (lunch 13–14), in the desk
    // message and the notice alike.
    assert!(
        texts[0].contains("свяжется с вами до 7 декабря 2026, 15:00 (МСК)"),
        "{}",
        texts[0]
    );
    assert!(
        texts[0].contains("не позднее 7 декабря 2026, 15:00 (МСК)"),
        "the acceptance tells the reaction deadline of its event: {}",
        texts[0]
    );
    // In progress at 11:00: the answer stage's 3 days → Thursday 11:00.
    assert!(
        texts[1].contains("не позднее 10 декабря 2026, 11:00 (МСК)"),
        "{}",
        texts[1]
    );
    assert!(texts[2].contains("ждём вашего ответа"), "{}", texts[2]);
    assert!(
        !texts[2].contains("Следующий шаг"),
        "waiting on the client promises no next step: {}",
        texts[2]
    );
}

async fn a_reply_task_keeps_the_promise_made(db: TestDb) {
    let (f, clock) = firm_at(&db, "2026-12-07T07:00:00Z").await;
    let desk = &f.desk;
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let promise = at("2026-12-07T12:00:00Z");
    assert_eq!(ticket.next_step_at, Some(promise));
    clock.advance(SignedDuration::from_mins(5));
    desk.comment(&f.contact, ticket.id, "Дополнение: версия 3.0", false)
        .await
        .unwrap();
    let reply = open_task(desk, ticket.id, "reply").await;
    assert!(reply.due_at.is_some(), "the reply has its own deadline");
    let after = desk.ticket(&f.contact, ticket.id).await.unwrap();
    assert_eq!(
        after.next_step_at,
        Some(promise),
        "the ticket keeps the promise its message made"
    );
    let messages = desk_messages(&f, ticket.id).await;
    assert!(
        messages
            .last()
            .unwrap()
            .contains("до 7 декабря 2026, 15:00 (МСК)"),
        "{messages:?}"
    );
}
