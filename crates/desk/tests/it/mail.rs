//! The email channel's inbound pipeline and outbox delivery through the desk, on a real
//! store (SQLite and, with `OKNO_TEST_DATABASE_URL`, PostgreSQL). The SMTP side here is a
//! recorder; tests/mail/run.sh drives real IMAP and SMTP servers.

use crate::common;
use crate::mutate;

use common::*;
use okno_desk::mail::{Inbox, IngestOutcome, MailSender};
use okno_domain::*;
use okno_mail::MailSettings;
use okno_mail::smtp::SmtpError;
use okno_store::testing::TestDb;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

okno_store::on_both_backends!(
    new_ticket_then_reply_by_number_then_duplicate,
    strangers_by_domain_and_unregistered,
    forged_number_from_a_stranger_is_not_trusted,
    automatic_mail_gets_no_answer_and_bounces_are_recorded,
    notifications_thread_and_replies_come_back,
    sending_is_idempotent_and_retried,
    a_crash_after_the_handoff_never_sends_twice,
    a_refusal_is_retried_not_set_aside,
    mail_bomb_is_rate_limited_into_quarantine,
    unreadable_mail_is_quarantined_and_retryable,
    vendor_answers_become_internal_comments_with_a_line1_task,
    bad_input_never_panics,
    every_notice_goes_out_by_mail_once,
    two_pollers_take_each_message_once,
    a_quarantine_retry_files_under_the_mailboxs_own_service_and_client,
    mutated_mail_is_taken_in_or_quarantined_with_a_reason,
    a_ticket_by_mail_meets_the_contract_like_one_from_the_portal,
    a_mailbox_of_a_gated_service_takes_its_audience_only,
);

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<String>>,
    failing: AtomicBool,
}

impl MailSender for Recorder {
    async fn send(
        &self,
        message: okno_desk::mail::lettre_message::Message,
    ) -> Result<(), SmtpError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(SmtpError::Transient("421 try again later".into()));
        }
        self.sent
            .lock()
            .unwrap()
            .push(String::from_utf8(message.formatted()).unwrap());
        Ok(())
    }
}

fn settings() -> MailSettings {
    MailSettings {
        from: "support@okno.test".into(),
        ..MailSettings::default()
    }
}

fn mail(from: &str, subject: &str, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@okno.test\r\nSubject: {subject}\r\nMessage-ID: <{}@test>\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        rand_id()
    )
    .into_bytes()
}

fn rand_id() -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "m{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn ingest(firm: &Firm, raw: &[u8]) -> IngestOutcome {
    firm.desk
        .ingest_mail(&settings(), &Inbox::default(), raw)
        .await
        .unwrap()
}

fn created(outcome: &IngestOutcome) -> TicketId {
    match outcome {
        IngestOutcome::Created(n) => TicketId(n.0),
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

async fn new_ticket_then_reply_by_number_then_duplicate(db: TestDb) {
    let firm = firm(db.store).await;
    let mut raw = b"From: client@alfa.demo\r\nSubject: =?windows-1251?B?zeUg7+X34PLg5fLx/w==?=\r\n\
Message-ID: <first@alfa.demo>\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n"
        .to_vec();
    raw.extend_from_slice(&[0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]);
    let outcome = ingest(&firm, &raw).await;
    let id = created(&outcome);
    assert_eq!(
        outcome.to_string(),
        format!("ticket {} created", TicketNumber(id.0))
    );
    let ticket = firm.desk.ticket(&firm.line1, id).await.unwrap();
    assert_eq!(ticket.subject, "Не печатается");
    assert_eq!(ticket.description, "Привет");
    assert_eq!(ticket.requester_id, firm.contact.id);
    assert_eq!(
        ingest(&firm, &raw).await,
        IngestOutcome::Ignored("duplicate: taken in already".into())
    );

    let reply = mail(
        "client@alfa.demo",
        &format!("Re: [{}] Не печатается", TicketNumber(id.0)),
        "Вот скриншот.\r\n\r\n25.11.2026, support@okno.test написал:\r\n> Пришлите скриншот",
        "",
    );
    assert_eq!(
        ingest(&firm, &reply).await,
        IngestOutcome::Updated(TicketNumber(id.0))
    );
    let comments: Vec<_> = firm
        .desk
        .comments(&firm.contact, id)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.author_id == Some(firm.contact.id))
        .collect();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "Вот скриншот.", "quotes folded away");
    assert!(!comments[0].internal);
    assert_eq!(comments[0].author_id, Some(firm.contact.id));
}

async fn strangers_by_domain_and_unregistered(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let id = created(&ingest(&firm, &mail("Пётр <petr@alfa.demo>", "Вопрос", "текст", "")).await);
    let petr = db
        .store
        .user_by_email(&Email::parse("petr@alfa.demo").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(petr.client_id, Some(firm.client));
    assert_eq!(petr.role, Role::Client);
    assert_eq!(petr.name, "Пётр");
    assert_eq!(
        firm.desk.ticket(&petr, id).await.unwrap().client_id,
        firm.client
    );

    let id = created(
        &ingest(
            &firm,
            &mail("anna@unknown.ru", "Хотим поддержку", "текст", ""),
        )
        .await,
    );
    let ticket = firm.desk.ticket(&firm.line1, id).await.unwrap();
    let new = db.store.client_by_code("NEW").await.unwrap().unwrap();
    assert_eq!(ticket.client_id, new.id);
    assert_eq!(new.name, "Незарегистрированные обращения");
    let registered: bool = registered(&db, id).await;
    assert!(!registered, "waits in the to-register list");
    // A second stranger goes to the same reserved client.
    let id2 = created(&ingest(&firm, &mail("oleg@other.ru", "Ещё", "текст", "")).await);
    assert_eq!(
        firm.desk.ticket(&firm.line1, id2).await.unwrap().client_id,
        new.id
    );

    // Configured to refuse: no ticket, one refusal in the outbox.
    let refuse = MailSettings {
        unknown_senders: "refuse".into(),
        ..settings()
    };
    let outcome = firm
        .desk
        .ingest_mail(
            &refuse,
            &Inbox::default(),
            &mail("x@nowhere.ru", "?", "?", ""),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        IngestOutcome::Ignored("unknown sender refused".into())
    );
    let recorder = Recorder::default();
    firm.desk.deliver_mail(&refuse, &recorder).await.unwrap();
    let sent = recorder.sent.lock().unwrap().clone();
    assert!(sent.iter().any(|m| m.contains("To: x@nowhere.ru") && m.contains("Auto-Submitted: auto-generated")));
}

/// Delivers the outbox through a fresh recorder: the messages that went out.
async fn delivered(firm: &Firm) -> Vec<String> {
    let recorder = Recorder::default();
    firm.desk
        .deliver_mail(&settings(), &recorder)
        .await
        .unwrap();
    recorder.sent.lock().unwrap().clone()
}

async fn registered(db: &TestDb, id: TicketId) -> bool {
    db.store.ticket_registered(id).await.unwrap().unwrap()
}

async fn forged_number_from_a_stranger_is_not_trusted(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let target = created(&ingest(&firm, &mail("client@alfa.demo", "Секрет", "тайна", "")).await);
    let forged = mail(
        "evil@attacker.ru",
        &format!("Re: [{}] Секрет", TicketNumber(target.0)),
        "закройте, пожалуйста",
        "",
    );
    let own = created(&ingest(&firm, &forged).await);
    assert_ne!(own, target);
    let on_target = firm.desk.comments(&firm.line1, target).await.unwrap();
    assert!(
        on_target.iter().all(|c| !c.body.contains("закройте")),
        "{on_target:?}"
    );
    let theirs = firm.desk.ticket(&firm.line1, own).await.unwrap();
    assert_eq!(theirs.subject, "Секрет", "the tag is dropped, not trusted");
    assert_ne!(theirs.client_id, firm.client);
    // Configured to accept any sender, the same message lands on the ticket.
    let any = MailSettings {
        foreign_number: "any".into(),
        ..settings()
    };
    let forged = mail(
        "friend@partner.ru",
        &format!("[{}] Секрет", TicketNumber(target.0)),
        "дополнение",
        "",
    );
    let outcome = firm
        .desk
        .ingest_mail(&any, &Inbox::default(), &forged)
        .await
        .unwrap();
    assert_eq!(outcome, IngestOutcome::Updated(TicketNumber(target.0)));
}

async fn automatic_mail_gets_no_answer_and_bounces_are_recorded(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let recorder = Recorder::default();
    // A robot's report (a monitoring alert) opens a ticket, unanswered.
    let auto = mail(
        "client@alfa.demo",
        "Диск заполнен на 95%",
        "monitoring",
        "Auto-Submitted: auto-generated\r\n",
    );
    let quiet = created(&ingest(&firm, &auto).await);
    // Auto-replies and bulk mail about no ticket are nothing to work on.
    for (subject, header) in [
        ("Я в отпуске", "Auto-Submitted: auto-replied\r\n"),
        ("Рассылка", "Precedence: bulk\r\n"),
    ] {
        let outcome = ingest(&firm, &mail("client@alfa.demo", subject, "x", header)).await;
        assert!(
            matches!(&outcome, IngestOutcome::Ignored(r) if r.starts_with("auto-reply")),
            "{outcome:?}"
        );
    }
    firm.desk
        .deliver_mail(&settings(), &recorder)
        .await
        .unwrap();
    assert!(
        recorder.sent.lock().unwrap().is_empty(),
        "no automatic answer to robots"
    );
    assert!(
        matches!(
            ingest(&firm, &mail("support@okno.test", "loop", "x", "")).await,
            IngestOutcome::Ignored(_)
        ),
        "our own address is never taken in"
    );
    let looped = mail(
        "client@alfa.demo",
        "x",
        "x",
        "X-Loop: support@okno.test\r\n",
    );
    assert!(matches!(
        ingest(&firm, &looped).await,
        IngestOutcome::Ignored(_)
    ));

    let bounce = format!(
        "From: MAILER-DAEMON@mx.alfa.demo\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx>\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n\
Message-ID: <x@y>\r\nSubject: [{}] Я в отпуске\r\n\r\n--B--\r\n",
        TicketNumber(quiet.0)
    );
    // The bounce names no id we sent, but its subject carries no number either: it is
    // matched through the original's headers when we sent it; here through the number.
    let bounce = bounce.replace(
        "Subject: Undelivered",
        &format!("Subject: [{}] Undelivered", TicketNumber(quiet.0)),
    );
    let before = firm
        .desk
        .tickets(
            &firm.line1,
            &okno_store::TicketFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .len();
    let outcome = ingest(&firm, bounce.as_bytes()).await;
    assert_eq!(
        outcome,
        IngestOutcome::Ignored(format!("bounce recorded on {}", TicketNumber(quiet.0)))
    );
    let after = firm
        .desk
        .tickets(
            &firm.line1,
            &okno_store::TicketFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .len();
    assert_eq!(before, after, "a bounce is not a ticket");
    let history = firm.desk.history(&firm.line1, quiet).await.unwrap();
    assert!(history.iter().any(|h| h.kind == "mail_bounce"));
    assert!(
        !firm
            .desk
            .history(&firm.contact, quiet)
            .await
            .unwrap()
            .iter()
            .any(|h| h.kind == "mail_bounce")
    );
}

async fn notifications_thread_and_replies_come_back(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let recorder = Recorder::default();
    let id = created(&ingest(&firm, &mail("client@alfa.demo", "Счёт", "Нужен счёт", "")).await);
    firm.desk
        .comment(&firm.line1, id, "Счёт во вложении", false)
        .await
        .unwrap();
    firm.desk
        .comment(&firm.line1, id, "внутреннее", true)
        .await
        .unwrap();
    assert!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap()
            >= 2
    );
    let sent = recorder.sent.lock().unwrap().clone();
    let number = TicketNumber(id.0).to_string();
    assert!(sent.iter().all(|m| m.contains("To: client@alfa.demo")));
    let parsed: Vec<_> = sent
        .iter()
        .map(|m| okno_mail::parse(m.as_bytes()).unwrap())
        .collect();
    let accepted = parsed
        .iter()
        .find(|m| {
            m.subject
                .starts_with(&format!("[{number}] Обращение принято"))
        })
        .expect("the acceptance letter");
    assert!(accepted.text.contains(&number));
    assert!(
        accepted.in_reply_to.iter().any(|i| i.ends_with("@test")),
        "threads to the client's message"
    );
    let comment = parsed
        .iter()
        .find(|m| m.text.contains("Счёт во вложении"))
        .expect("the public comment")
        .clone();
    assert!(comment.subject.contains(&number));
    assert!(
        !parsed.iter().any(|m| m.text.contains("внутреннее")),
        "internal comments never mailed"
    );
    assert_eq!(
        comment.signals.auto_submitted.as_deref(),
        Some("auto-generated")
    );
    assert!(comment.references.iter().any(|r| r.ends_with("@test")));

    // The client answers the notification from a mailer that drops the subject tag.
    let our_id = comment.message_id.unwrap();
    let reply = format!(
        "From: client@alfa.demo\r\nSubject: Re: спасибо\r\nMessage-ID: <r1@alfa.demo>\r\nIn-Reply-To: <{our_id}>\r\n\
References: <{our_id}>\r\n\r\nПолучил, спасибо\r\n"
    );
    assert_eq!(
        ingest(&firm, reply.as_bytes()).await,
        IngestOutcome::Updated(TicketNumber(id.0))
    );
    // The client's own reply is not mailed back to them.
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        0
    );
}

async fn sending_is_idempotent_and_retried(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let recorder = Recorder::default();
    created(&ingest(&firm, &mail("client@alfa.demo", "A", "a", "")).await);
    recorder.failing.store(true, Ordering::SeqCst);
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        0
    );
    recorder.failing.store(false, Ordering::SeqCst);
    // Not due yet: the backoff holds the failed rows back.
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        0
    );
    assert!(recorder.sent.lock().unwrap().is_empty());
    // The same event reported twice is one outbox row (idempotency key).
    let now = jiff::Timestamp::now();
    db.store
        .enqueue_outbox(
            OutboxKind::ContractNotice,
            r#"{"to":"client@alfa.demo","subject":"Договор","body":"истекает"}"#,
            "contract:1:expiring",
            now,
        )
        .await
        .unwrap();
    db.store
        .enqueue_outbox(
            OutboxKind::ContractNotice,
            r#"{"to":"client@alfa.demo","subject":"Договор","body":"истекает"}"#,
            "contract:1:expiring",
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        0
    );
    let sent = recorder.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(
        okno_mail::parse(sent[0].as_bytes())
            .unwrap()
            .text
            .contains("истекает")
    );
}

async fn mail_bomb_is_rate_limited_into_quarantine(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let limit = settings().rate_limit_per_hour as usize;
    let mut quarantined = 0;
    let mut taken = 0;
    for i in 0..1000 {
        match ingest(
            &firm,
            &mail("bomber@alfa.demo", &format!("spam {i}"), "x", ""),
        )
        .await
        {
            IngestOutcome::Created(_) | IngestOutcome::Updated(_) => taken += 1,
            IngestOutcome::Quarantined(reason) => {
                assert!(reason.starts_with("rate limit"), "{reason}");
                quarantined += 1
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(taken, limit);
    assert_eq!(quarantined, 1000 - limit);
    // Someone else still gets through.
    created(&ingest(&firm, &mail("client@alfa.demo", "Обычный вопрос", "x", "")).await);
    let listed = db.store.quarantined(None, 500).await.unwrap();
    assert_eq!(listed.len(), 500);
    let next = db
        .store
        .quarantined(Some(listed[499].id), 500)
        .await
        .unwrap();
    assert_eq!(listed.len() + next.len(), 1000 - limit);
}

async fn unreadable_mail_is_quarantined_and_retryable(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let outcome = ingest(&firm, b"Subject: no sender at all\r\n\r\nbody").await;
    assert!(
        matches!(outcome, IngestOutcome::Quarantined(ref r) if r.contains("no sender")),
        "{outcome:?}"
    );
    let listed = db.store.quarantined(None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].reason.contains("no sender"));
    // The next message is not blocked.
    created(&ingest(&firm, &mail("client@alfa.demo", "после", "x", "")).await);
    // A retry keeps it (still unreadable) and counts the attempt.
    let retried = firm
        .desk
        .retry_quarantined(&settings(), listed[0].id)
        .await
        .unwrap();
    assert!(matches!(retried, IngestOutcome::Quarantined(_)));
    let (entry, raw) = db
        .store
        .quarantined_raw(listed[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.attempts, 1);
    assert_eq!(raw, b"Subject: no sender at all\r\n\r\nbody");
    // A mailbox whose service is not in the catalog: its messages wait, and a retry is
    // made for the same mailbox (still refused), not under some default service.
    let inbox = Inbox {
        service: "no-such-service".into(),
        ..Inbox::default()
    };
    let out = firm
        .desk
        .ingest_mail(&settings(), &inbox, &mail("client@alfa.demo", "s", "x", ""))
        .await
        .unwrap();
    assert!(matches!(out, IngestOutcome::Quarantined(_)));
    let id = db.store.quarantined(None, 1).await.unwrap()[0].id;
    assert_eq!(
        firm.desk.retry_quarantined(&settings(), id).await.unwrap(),
        IngestOutcome::Quarantined(
            "the mailbox's service \"no-such-service\" is not in the catalog".into()
        )
    );
    let (entry, _) = db.store.quarantined_raw(id).await.unwrap().unwrap();
    assert_eq!(entry.attempts, 1);
    assert!(entry.resolved_at.is_none());
}

async fn two_pollers_take_each_message_once(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    // A second desk on the same database, as a second `okno serve` would be.
    let files = tempfile::tempdir().unwrap();
    let second = okno_desk::Desk::start(
        okno_store::open(&db.url).await.unwrap(),
        okno_desk::Settings::new(files.path().to_owned()),
    )
    .await
    .unwrap();
    let first = created(&ingest(&firm, &mail("client@alfa.demo", "Первое", "x", "")).await);
    // New tickets, replies (the comment and the route's task are one change) and
    // attachments, each in the mailbox both pollers read.
    let attached = mutate::SAMPLES[2].1.to_vec();
    let messages: Vec<Vec<u8>> = (0..24)
        .map(|i| match i % 3 {
            0 => mail("client@alfa.demo", &format!("Вопрос {i}"), "x", ""),
            1 => mail(
                "client@alfa.demo",
                &format!("Re: [{}] Первое", TicketNumber(first.0)),
                &format!("ответ {i}"),
                "",
            ),
            _ => attached
                .clone()
                .replace_message_id(&format!("{}@alfa.demo", rand_id())),
        })
        .collect();
    let poll = |desk: std::sync::Arc<okno_desk::Desk>, messages: Vec<Vec<u8>>| {
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for raw in messages {
                outcomes.push(
                    desk.ingest_mail(&settings(), &Inbox::default(), &raw)
                        .await
                        .unwrap(),
                );
            }
            outcomes
        })
    };
    let a = poll(firm.desk.clone(), messages.clone());
    let b = poll(second.clone(), messages.clone());
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let duplicate = IngestOutcome::Ignored("duplicate: taken in already".into());
    let mut tickets = std::collections::HashSet::new();
    for (i, pair) in a.iter().zip(&b).enumerate() {
        let taken: Vec<_> = [pair.0, pair.1]
            .into_iter()
            .filter(|o| **o != duplicate)
            .collect();
        assert_eq!(taken.len(), 1, "message {i}: {pair:?}");
        match (i % 3, taken[0]) {
            (1, IngestOutcome::Updated(n)) => assert_eq!(n.0, first.0),
            (_, IngestOutcome::Created(n)) => assert!(tickets.insert(n.0)),
            (_, other) => panic!("message {i}: {other:?}"),
        }
    }
    assert_eq!(tickets.len(), 16);
    let all = firm
        .desk
        .tickets(
            &firm.line1,
            &okno_store::TicketFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 17, "one ticket per message, and the first");
    let replies = firm.desk.comments(&firm.line1, first).await.unwrap();
    assert_eq!(
        replies
            .iter()
            .filter(|c| c.body.starts_with("ответ"))
            .count(),
        8
    );
    for id in &tickets {
        let files = firm.desk.attachments(&firm.line1, TicketId(*id)).await;
        assert!(files.unwrap().len() <= 1, "an attachment row written twice");
    }

    // The store refuses a second change carrying a message it took in already, whatever
    // the reader saw before: nothing of that change is written.
    let taken = format!("{}@alfa.demo", rand_id());
    let raw = mail("client@alfa.demo", "Гонка", "x", "").replace_message_id(&taken);
    created(&ingest(&firm, &raw).await);
    let ticket = firm.desk.ticket(&firm.line1, first).await.unwrap();
    let route = db.store.routed_ticket(first).await.unwrap().unwrap().route;
    let change = okno_store::TicketChange {
        actor: Some(firm.contact.id),
        at: jiff::Timestamp::now(),
        from_route: route.clone(),
        route,
        complete: None,
        steps: vec![okno_store::ChangeStep::Mail(Box::new(okno_store::MailIn {
            key: taken,
            content_sha256: okno_desk::mail::content_sha256(&okno_mail::parse(&raw).unwrap()),
            address: "client@alfa.demo".into(),
            subject: "Гонка".into(),
            raw,
            author: firm.contact.id,
            comment: Some(okno_store::MailText {
                body: "второй раз".into(),
                internal: false,
            }),
            attachments: Vec::new(),
        }))],
        next_step_at: None,
        rank: None,
    };
    let refused = db.store.apply_change(first, &change).await.unwrap_err();
    assert!(okno_store::is_mail_taken(&refused), "{refused}");
    let after = firm.desk.comments(&firm.line1, first).await.unwrap();
    assert!(after.iter().all(|c| c.body != "второй раз"));
    assert_eq!(
        firm.desk
            .ticket(&firm.line1, first)
            .await
            .unwrap()
            .updated_at,
        ticket.updated_at
    );
}

trait WithMessageId {
    fn replace_message_id(self, id: &str) -> Vec<u8>;
}

impl WithMessageId for Vec<u8> {
    /// The message with its Message-ID set to `id`.
    fn replace_message_id(mut self, id: &str) -> Vec<u8> {
        let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
        let start = find(&self, b"Message-ID: <").unwrap() + b"Message-ID: <".len();
        let end = start + find(&self[start..], b">").unwrap();
        self.splice(start..end, id.bytes());
        self
    }
}

async fn a_quarantine_retry_files_under_the_mailboxs_own_service_and_client(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let inbox = Inbox {
        name: "docs@okno.test/INBOX".into(),
        service: "documents".into(),
        default_client: Some("ALFA".into()),
    };
    // Over the rate limit: put aside, with the mailbox's rule.
    let strict = MailSettings {
        rate_limit_per_hour: 0,
        ..settings()
    };
    let raw = mail("stranger@elsewhere.test", "Нужен акт сверки", "x", "");
    let out = firm.desk.ingest_mail(&strict, &inbox, &raw).await.unwrap();
    assert!(matches!(out, IngestOutcome::Quarantined(ref r) if r.starts_with("rate limit")));
    let entry = db.store.quarantined(None, 1).await.unwrap().remove(0);
    assert_eq!(entry.mailbox, "docs@okno.test/INBOX");
    assert_eq!(entry.service.as_deref(), Some("documents"));
    assert_eq!(entry.default_client.as_deref(), Some("ALFA"));
    // The retry files it as that mailbox would have: its service, its default client.
    let id = match firm
        .desk
        .retry_quarantined(&settings(), entry.id)
        .await
        .unwrap()
    {
        IngestOutcome::Created(n) => TicketId(n.0),
        other => panic!("{other:?}"),
    };
    let ticket = firm.desk.ticket(&firm.line1, id).await.unwrap();
    assert_eq!(ticket.service, "documents");
    assert_eq!(ticket.client_id, firm.client);
    // Admitted like a ticket from the portal: ALFA has no contract in force here.
    assert!(!registered(&db, id).await, "waits in the to-register list");
    assert!(db.store.quarantined(None, 10).await.unwrap().is_empty());
}

async fn mutated_mail_is_taken_in_or_quarantined_with_a_reason(db: TestDb) {
    use proptest::strategy::{Strategy, ValueTree};
    let firm = firm(db.store.clone()).await;
    let settings = MailSettings {
        rate_limit_per_hour: i64::MAX,
        ..settings()
    };
    let strategy = mutate::message();
    let mut runner = proptest::test_runner::TestRunner::default();
    let mut quarantined = 0;
    for _ in 0..150 {
        let raw = strategy.new_tree(&mut runner).unwrap().current();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let outcome = firm
            .desk
            .ingest_mail(&settings, &Inbox::default(), &raw)
            .await
            .unwrap_or_else(|e| panic!("{e} on {shown:?}"));
        match &outcome {
            IngestOutcome::Created(n) | IngestOutcome::Updated(n) => {
                firm.desk
                    .ticket(&firm.line1, TicketId(n.0))
                    .await
                    .unwrap_or_else(|e| panic!("{e}: {outcome:?} on {shown:?}"));
            }
            IngestOutcome::Quarantined(reason) => {
                assert!(!reason.trim().is_empty(), "{shown:?}");
                quarantined += 1;
            }
            IngestOutcome::Ignored(reason) => assert!(!reason.trim().is_empty(), "{shown:?}"),
        }
    }
    let listed = db.store.quarantined(None, 500).await.unwrap();
    assert_eq!(listed.len(), quarantined);
    assert!(listed.iter().all(|q| !q.reason.trim().is_empty()));
}

async fn vendor_answers_become_internal_comments_with_a_line1_task(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    db.store
        .upsert_vendor(&okno_store::Vendor {
            code: "1c".into(),
            name: "Фирма 1С".into(),
            support_email: "v8@1c.test".into(),
        })
        .await
        .unwrap();
    let id = created(
        &ingest(
            &firm,
            &mail("client@alfa.demo", "Ошибка платформы", "падает", ""),
        )
        .await,
    );
    firm.desk
        .transfer_to_vendor(&firm.line2, id, "1c", "Просим помочь")
        .await
        .unwrap();
    assert!(
        firm.desk
            .transfer_to_vendor(&firm.contact, id, "1c", "x")
            .await
            .is_err()
    );
    let sent = delivered(&firm).await;
    let to_vendor = sent
        .iter()
        .find(|m| m.contains("To: v8@1c.test"))
        .expect("vendor mailed");
    let parsed = okno_mail::parse(to_vendor.as_bytes()).unwrap();
    assert!(parsed.subject.contains(&TicketNumber(id.0).to_string()));
    assert!(parsed.text.contains("Просим помочь"));
    let reply = format!(
        "From: v8@1c.test\r\nSubject: RE: {}\r\nMessage-ID: <v1@1c.test>\r\nIn-Reply-To: <{}>\r\n\r\nИсправлено в 8.3.25\r\n",
        parsed.subject,
        parsed.message_id.unwrap()
    );
    assert_eq!(
        ingest(&firm, reply.as_bytes()).await,
        IngestOutcome::Updated(TicketNumber(id.0))
    );
    let all = firm.desk.comments(&firm.line1, id).await.unwrap();
    let vendor_comment = all.iter().find(|c| c.body.contains("8.3.25")).unwrap();
    assert!(vendor_comment.internal);
    assert!(
        firm.desk
            .comments(&firm.contact, id)
            .await
            .unwrap()
            .iter()
            .all(|c| !c.body.contains("8.3.25"))
    );
    let task = open_task(&firm.desk, id, "vendor_reply").await;
    assert_eq!(task.line, Some(Line::new(1).unwrap()));
}

async fn bad_input_never_panics(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    // Truncated MIME: the boundary never closes, the base64 stops mid-way.
    let truncated = b"From: client@alfa.demo\r\nSubject: trunc\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nhello\r\n--X\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLj";
    assert!(matches!(
        ingest(&firm, truncated).await,
        IngestOutcome::Created(_)
    ));
    // A wrong charset label: bytes that are not UTF-8 under a UTF-8 label.
    let mut wrong = b"From: client@alfa.demo\r\nSubject: charset\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
    wrong.extend_from_slice(&[0xcf, 0xf0, 0xe8, 0xff, 0xfe]);
    assert!(matches!(
        ingest(&firm, &wrong).await,
        IngestOutcome::Created(_)
    ));
    let mut unknown = b"From: client@alfa.demo\r\nSubject: label\r\nContent-Type: text/plain; charset=x-no-such\r\n\r\n".to_vec();
    unknown.extend_from_slice("текст".as_bytes());
    assert!(matches!(
        ingest(&firm, &unknown).await,
        IngestOutcome::Created(_)
    ));
    // 8-bit (raw UTF-8 and raw cp1251) headers.
    let mut eight =
        b"From: \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd <client@alfa.demo>\r\nSubject: ".to_vec();
    eight.extend_from_slice(&[0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]);
    eight.extend_from_slice(b"\r\n\r\nbody\r\n");
    assert!(matches!(
        ingest(&firm, &eight).await,
        IngestOutcome::Created(_)
    ));
    // A 100 MB attachment: over the 25 MB limit, the ticket is made and the file refused with a note.
    let mut big = b"From: client@alfa.demo\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee the file\r\n--Z\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=dump.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    let line = b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n";
    let lines = 100 * 1024 * 1024 / 57 + 1; // 76 base64 characters carry 57 bytes
    big.reserve(lines * line.len() + 16);
    for _ in 0..lines {
        big.extend_from_slice(line);
    }
    big.extend_from_slice(b"--Z--\r\n");
    let id = created(&ingest(&firm, &big).await);
    let ticket = firm.desk.ticket(&firm.line1, id).await.unwrap();
    assert!(ticket.description.contains("see the file"));
    assert!(
        ticket
            .description
            .contains("«dump.bin» (101 МБ) не принято"),
        "{}",
        ticket.description
    );
    assert!(
        firm.desk
            .attachments(&firm.line1, id)
            .await
            .unwrap()
            .is_empty()
    );
    // A small attachment is kept, its RFC 2231 name decoded.
    let small = b"From: client@alfa.demo\r\nSubject: small\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Type: text/plain\r\n\r\nsee\r\n--Z\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%D1%81%D1%87%D1%91%D1%82.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--Z--\r\n";
    let id = created(&ingest(&firm, small).await);
    let files = firm.desk.attachments(&firm.contact, id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_name, "счёт.pdf");
    assert_eq!(files[0].size, 5);
}

/// The subjects and texts of what the recorder sent for one ticket number.
fn sent_about(recorder: &Recorder, number: TicketNumber) -> Vec<okno_mail::ParsedMail> {
    recorder
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|m| okno_mail::parse(m.as_bytes()).unwrap())
        .filter(|m| m.subject.contains(&format!("[{number}]")))
        .collect()
}

async fn every_notice_goes_out_by_mail_once(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let desk = &firm.desk;
    let recorder = Recorder::default();
    let settings = MailSettings {
        base_url: "https://desk.test/".into(),
        ..settings()
    };
    // Accepted, then a status change with the next-step date, then solved with the link.
    let id = created(&ingest(&firm, &mail("client@alfa.demo", "Отчёт", "Падает", "")).await);
    let number = TicketNumber(id.0);
    let classify = open_task(desk, id, "classify").await;
    let in_progress = desk
        .complete_task(&firm.line1, classify.id, "bug", None)
        .await
        .unwrap();
    assert!(in_progress.next_step_at.is_some());
    let develop = open_task(desk, id, "develop").await;
    desk.complete_task(&firm.dev, develop.id, "done", Some("Исправлено"))
        .await
        .unwrap();
    desk.deliver_mail(&settings, &recorder).await.unwrap();
    let sent = sent_about(&recorder, number);
    let subjects: Vec<&str> = sent.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            format!("[{number}] Обращение принято: Отчёт"),
            format!("[{number}] Статус изменён: Отчёт"),
            format!("[{number}] Обращение решено: Отчёт"),
        ],
        "one mail per change"
    );
    assert!(
        sent[0].text.contains("Мы получили ваше обращение"),
        "the desk's first message rides in the acceptance letter: {}",
        sent[0].text
    );
    assert!(sent[1].text.contains("в работе"), "{}", sent[1].text);
    assert!(sent[1].text.contains("Следующий шаг"), "{}", sent[1].text);
    assert!(
        sent[2]
            .text
            .contains(&format!("https://desk.test/tickets/{number}#rate")),
        "{}",
        sent[2].text
    );

    // Waiting on the client, then closed for silence the way the auto-close job does it.
    let id = created(&ingest(&firm, &mail("client@alfa.demo", "Вопрос", "Как?", "")).await);
    let number = TicketNumber(id.0);
    let classify = open_task(desk, id, "classify").await;
    desk.complete_task(&firm.line1, classify.id, "question", None)
        .await
        .unwrap();
    let answer = open_task(desk, id, "answer").await;
    desk.complete_task(&firm.line1, answer.id, "ask_client", None)
        .await
        .unwrap();
    let route = db.store.routed_ticket(id).await.unwrap().unwrap().route;
    let silence = "Мы не получили от вас ответа и закрываем обращение.";
    let closing = okno_store::TicketChange {
        actor: None,
        at: jiff::Timestamp::now(),
        from_route: route.clone(),
        route,
        complete: None,
        steps: vec![
            okno_store::ChangeStep::PublicMessage(silence.into()),
            okno_store::ChangeStep::SetStatus(TicketStatus::Closed),
            okno_store::ChangeStep::Close,
            okno_store::ChangeStep::Event {
                kind: "auto_closed".into(),
                detail: "no answer".into(),
                public: false,
            },
        ],
        next_step_at: Some(None),
        rank: None,
    };
    db.store.apply_change(id, &closing).await.unwrap().unwrap();
    desk.deliver_mail(&settings, &recorder).await.unwrap();
    let sent = sent_about(&recorder, number);
    let subjects: Vec<&str> = sent.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            format!("[{number}] Обращение принято: Вопрос"),
            format!("[{number}] Статус изменён: Вопрос"),
            format!("[{number}] Статус изменён: Вопрос"),
            format!("[{number}] Обращение закрыто: Вопрос"),
        ]
    );
    assert!(sent[1].text.contains("в работе"), "{}", sent[1].text);
    assert!(
        sent[2].text.contains("ждём вашего ответа"),
        "{}",
        sent[2].text
    );
    assert_eq!(sent[3].text.trim(), silence);

    // A contract notice as the lifecycle job writes it: every contact of the client.
    let payload = serde_json::json!({
        "event": "ends", "days": 14, "client": "ALFA", "contract": "A-1",
        "starts_on": "2026-01-01", "ends_on": "2026-12-31",
        "contacts": ["client@alfa.demo", "other@alfa.demo"],
    });
    db.store
        .enqueue_outbox(
            OutboxKind::ContractNotice,
            &payload.to_string(),
            "contract:A-1:ends_notice",
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(desk.deliver_mail(&settings, &recorder).await.unwrap(), 1);
    let last = recorder.sent.lock().unwrap().last().cloned().unwrap();
    let notice = okno_mail::parse(last.as_bytes()).unwrap();
    assert!(notice.subject.contains("A-1"), "{}", notice.subject);
    assert!(notice.text.contains("2026-12-31"));
    assert_eq!(notice.recipients, ["client@alfa.demo", "other@alfa.demo"]);
}

/// A message opens a ticket under the same contract as the portal: registered with the
/// defaults, counted against the limits; a used-up limit with `refuse` keeps the message
/// aside with the reason and tells the sender why; once the contract accepts over its
/// limit, the retry is taken in and flagged.
async fn a_ticket_by_mail_meets_the_contract_like_one_from_the_portal(db: TestDb) {
    use okno_desk::contracts::{ContractInput, LimitInput};
    let firm = firm(db.store.clone()).await;
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(okno_desk::contracts::zone_of(None))
        .date();
    let terms = |reaction: &str| ContractInput {
        number: "D-1".into(),
        client: "ALFA".into(),
        starts_on: today.yesterday().unwrap().to_string(),
        ends_on: today.saturating_add(jiff::Span::new().days(30)).to_string(),
        tariff: 10_000.0,
        limits: vec![LimitInput {
            value: Some(1.0),
            unit: Some("tickets".into()),
            per: Some("contact_day".into()),
        }],
        limit_reaction: Some(reaction.into()),
        ..ContractInput::default()
    };
    let (saved, _) = firm
        .desk
        .save_contract(&firm.manager, None, terms("refuse"))
        .await
        .unwrap();

    let first = created(&ingest(&firm, &mail("client@alfa.demo", "Первый", "текст", "")).await);
    assert!(
        registered(&db, first).await,
        "a contract in force: registered"
    );
    let registration = firm
        .desk
        .ticket_registration(&firm.line1, first)
        .await
        .unwrap();
    assert_eq!(registration.line, Some(1), "{registration:?}");
    assert!(!registration.company.is_empty(), "{registration:?}");

    let second = ingest(&firm, &mail("client@alfa.demo", "Второй", "текст", "")).await;
    let IngestOutcome::Quarantined(reason) = &second else {
        panic!("expected the message kept aside, got {second:?}");
    };
    assert!(reason.starts_with("refused by the contract: "), "{reason}");
    assert!(reason.contains("Обращение не принято"), "{reason}");
    let sent = delivered(&firm).await;
    let refusals: Vec<_> = sent
        .iter()
        .filter(|m| m.contains("To: client@alfa.demo") && !m.contains("[OK-"))
        .collect();
    assert_eq!(refusals.len(), 1, "{sent:#?}");
    let tickets = |user: User| {
        let desk = firm.desk.clone();
        async move {
            desk.tickets(
                &user,
                &okno_store::TicketFilter {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .len()
        }
    };
    assert_eq!(tickets(firm.manager.clone()).await, 1, "nothing written");

    firm.desk
        .save_contract(&firm.manager, Some(saved.id), terms("accept_and_flag"))
        .await
        .unwrap();
    let entry = db.store.quarantined(None, 1).await.unwrap().remove(0);
    let retried = firm
        .desk
        .retry_quarantined(&settings(), entry.id)
        .await
        .unwrap();
    let over = created(&retried);
    assert_eq!(
        firm.desk
            .ticket_limits(&firm.line1, over)
            .await
            .unwrap()
            .0
            .as_deref(),
        Some("tickets_per_contact_day")
    );
    assert_eq!(tickets(firm.manager.clone()).await, 2);
}

/// A mailbox filing under a service open only to contracts with a feature (license keys)
/// keeps a message from a client without it aside, saying why; once the client's contract
/// gives the feature, the retry opens the ticket.
async fn a_mailbox_of_a_gated_service_takes_its_audience_only(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let inbox = Inbox {
        name: "keys@okno.test/INBOX".into(),
        service: "license-key".into(),
        default_client: None,
    };
    let raw = mail(
        "client@alfa.demo",
        "Нужен ключ",
        "на одно рабочее место",
        "",
    );
    let out = firm
        .desk
        .ingest_mail(&settings(), &inbox, &raw)
        .await
        .unwrap();
    let IngestOutcome::Quarantined(reason) = &out else {
        panic!("expected the message kept aside, got {out:?}");
    };
    assert!(reason.contains("not available to this client"), "{reason}");

    allow_license_keys(&firm, 5.0).await;
    let entry = db.store.quarantined(None, 1).await.unwrap().remove(0);
    let id = created(
        &firm
            .desk
            .retry_quarantined(&settings(), entry.id)
            .await
            .unwrap(),
    );
    let ticket = firm.desk.ticket(&firm.line1, id).await.unwrap();
    assert_eq!(ticket.service, "license-key");
}

/// A mail server that takes the message, then the desk "dies" before recording it (the
/// sender never returns; the delivery is dropped as a killed process drops it).
struct TakesThenHangs {
    taken: Mutex<Vec<String>>,
}

impl MailSender for TakesThenHangs {
    async fn send(
        &self,
        message: okno_desk::mail::lettre_message::Message,
    ) -> Result<(), SmtpError> {
        self.taken
            .lock()
            .unwrap()
            .push(String::from_utf8(message.formatted()).unwrap());
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// Issue 22: a crash between the mail server's acceptance and our record used to send the
/// message again when its lease ran out. Now the row is set aside as "may have been
/// delivered" for an admin, who can send it again once.
async fn a_crash_after_the_handoff_never_sends_twice(db: TestDb) {
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let firm = firm_on(db.store.clone(), None, clock.clone()).await;
    db.store
        .enqueue_outbox(
            OutboxKind::ContractNotice,
            r#"{"to":"client@alfa.demo","subject":"Договор","body":"истекает"}"#,
            "contract:7:expiring",
            clock.now(),
        )
        .await
        .unwrap();
    let hanging = TakesThenHangs {
        taken: Mutex::new(Vec::new()),
    };
    let killed = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        firm.desk.deliver_mail(&settings(), &hanging),
    )
    .await;
    assert!(killed.is_err(), "the delivery was cut off mid-send");
    assert_eq!(hanging.taken.lock().unwrap().len(), 1, "the server took it");

    // The lease runs out; a later pass must not send a second copy.
    clock.advance(jiff::SignedDuration::from_mins(6));
    let recorder = Recorder::default();
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        0
    );
    clock.advance(jiff::SignedDuration::from_hours(12));
    firm.desk
        .deliver_mail(&settings(), &recorder)
        .await
        .unwrap();
    assert!(recorder.sent.lock().unwrap().is_empty(), "sent twice");

    // The admin sees it set aside, saying why.
    let problems = firm.desk.outbox_problems(&firm.admin).await.unwrap();
    let row = problems
        .iter()
        .find(|r| r.kind == "contract_notice")
        .expect("the row is among the problems");
    assert_eq!(row.next_attempt_at, None, "given up, not retried");
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .starts_with(okno_desk::mail::UNCERTAIN_HANDOFF),
        "{:?}",
        row.last_error
    );
    // Only admins look or decide.
    assert!(firm.desk.outbox_problems(&firm.line1).await.is_err());
    assert!(firm.desk.retry_outbox(&firm.manager, row.id).await.is_err());

    // "Send again": exactly one more copy, and the row is done.
    firm.desk.retry_outbox(&firm.admin, row.id).await.unwrap();
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        1
    );
    assert_eq!(recorder.sent.lock().unwrap().len(), 1);
    assert!(
        firm.desk
            .outbox_problems(&firm.admin)
            .await
            .unwrap()
            .iter()
            .all(|r| r.id != row.id)
    );
    // A delivered row cannot be sent again.
    assert!(firm.desk.retry_outbox(&firm.admin, row.id).await.is_err());
}

/// A server that refuses is certainly not a delivery: the row is retried as before.
async fn a_refusal_is_retried_not_set_aside(db: TestDb) {
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let firm = firm_on(db.store.clone(), None, clock.clone()).await;
    db.store
        .enqueue_outbox(
            OutboxKind::ContractNotice,
            r#"{"to":"client@alfa.demo","subject":"Договор","body":"истекает"}"#,
            "contract:8:expiring",
            clock.now(),
        )
        .await
        .unwrap();
    let recorder = Recorder::default();
    recorder.failing.store(true, Ordering::SeqCst);
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        0
    );
    let problems = firm.desk.outbox_problems(&firm.admin).await.unwrap();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].next_attempt_at.is_some(), "to be retried");
    recorder.failing.store(false, Ordering::SeqCst);
    clock.advance(jiff::SignedDuration::from_mins(6));
    assert_eq!(
        firm.desk
            .deliver_mail(&settings(), &recorder)
            .await
            .unwrap(),
        1
    );
    assert!(
        firm.desk
            .outbox_problems(&firm.admin)
            .await
            .unwrap()
            .is_empty()
    );
}
