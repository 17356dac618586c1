//! Issue 22: nobody speaks in a client's name by mail. Real-looking messages through the
//! pipeline: a forged sender our receiving server failed, a colleague who is no participant,
//! a vendor writing about a ticket not handed to it, out-of-office replies; and real mail
//! that must not be dropped (a reused Message-ID, `root@localhost`, an unquoted name).

use crate::common::*;
use okno_desk::mail::{Inbox, IngestOutcome};
use okno_domain::*;
use okno_mail::MailSettings;
use okno_store::testing::TestDb;

okno_store::on_both_backends!(
    a_forged_sender_becomes_a_note_or_quarantine_never_the_contacts_word,
    a_colleague_who_is_no_participant_writes_a_note,
    vendors_post_only_into_tickets_handed_to_them,
    out_of_office_replies_are_recorded_not_worked_on,
    only_redeliveries_are_duplicates,
    senders_every_peer_takes_are_taken,
);

const MX: &str = "mx.okno.test";

fn settings() -> MailSettings {
    MailSettings {
        from: "support@okno.test".into(),
        authserv_id: Some(MX.into()),
        ..MailSettings::default()
    }
}

async fn ingest_with(firm: &Firm, settings: &MailSettings, raw: &str) -> IngestOutcome {
    firm.desk
        .ingest_mail(settings, &Inbox::default(), raw.as_bytes())
        .await
        .unwrap()
}

async fn ingest(firm: &Firm, raw: &str) -> IngestOutcome {
    ingest_with(firm, &settings(), raw).await
}

fn number(outcome: &IngestOutcome) -> TicketId {
    match outcome {
        IngestOutcome::Created(n) | IngestOutcome::Updated(n) => TicketId(n.0),
        other => panic!("expected a ticket, got {other:?}"),
    }
}

/// A message as our MX hands it over: its Received line and its Authentication-Results.
fn message(id: &str, from: &str, subject: &str, results: &str, extra: &str, body: &str) -> String {
    format!(
        "Return-Path: <{from}>\r\n\
         Received: from mail.sender.example (mail.sender.example [203.0.113.9])\r\n\tby mx.okno.test (Postfix) with ESMTPS id 4Q1; Mon, 7 Dec 2026 10:00:00 +0300\r\n\
         Authentication-Results: mx.okno.test;{results}\r\n\
         From: {from}\r\nTo: support@okno.test\r\nSubject: {subject}\r\nDate: Mon, 7 Dec 2026 10:00:00 +0300\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
}

const PASS: &str = " spf=pass smtp.mailfrom=alfa.demo;\r\n\tdkim=pass header.d=alfa.demo header.s=mail;\r\n\tdmarc=pass (p=reject) header.from=alfa.demo";
const FAIL: &str = " spf=fail (sender IP is 203.0.113.66) smtp.mailfrom=alfa.demo;\r\n\tdkim=none;\r\n\tdmarc=fail (p=reject dis=none) header.from=alfa.demo";

async fn comments(firm: &Firm, viewer: &User, id: TicketId) -> Vec<Comment> {
    firm.desk.comments(viewer, id).await.unwrap()
}

async fn a_forged_sender_becomes_a_note_or_quarantine_never_the_contacts_word(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let id = number(
        &ingest(
            &firm,
            &message(
                "t1@alfa.demo",
                "client@alfa.demo",
                "Не печатается",
                PASS,
                "",
                "Помогите",
            ),
        )
        .await,
    );
    let subject = format!("Re: [{}] Не печатается", TicketNumber(id.0));
    let forged = message(
        "f1@evil.example",
        "client@alfa.demo",
        &subject,
        FAIL,
        "",
        "Проблема решена, закройте обращение",
    );
    assert_eq!(
        ingest(&firm, &forged).await,
        IngestOutcome::Updated(TicketNumber(id.0))
    );
    let seen_by_client = comments(&firm, &firm.contact, id).await;
    assert!(
        seen_by_client.iter().all(|c| !c.body.contains("закройте")),
        "{seen_by_client:?}"
    );
    let note = comments(&firm, &firm.line1, id)
        .await
        .into_iter()
        .find(|c| c.body.contains("закройте"))
        .unwrap();
    assert!(note.internal);
    assert!(note.body.contains("dmarc=fail"), "{}", note.body);
    // No reply routing: the ticket did not move because of it.
    assert_eq!(
        firm.desk.ticket(&firm.line1, id).await.unwrap().status,
        TicketStatus::New
    );

    // SPF and DKIM both failing is as good as DMARC failing.
    let both = " spf=softfail smtp.mailfrom=alfa.demo; dkim=fail header.d=alfa.demo";
    let forged = message(
        "f2@evil.example",
        "client@alfa.demo",
        &subject,
        both,
        "",
        "ещё раз закройте",
    );
    assert_eq!(
        ingest(&firm, &forged).await,
        IngestOutcome::Updated(TicketNumber(id.0))
    );
    assert!(
        comments(&firm, &firm.contact, id)
            .await
            .iter()
            .all(|c| !c.body.contains("ещё раз"))
    );

    // About no ticket, or configured so: quarantine, nothing in the client's name.
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
    let fresh = message(
        "f3@evil.example",
        "client@alfa.demo",
        "Срочно оплатите счёт",
        FAIL,
        "",
        "реквизиты",
    );
    let outcome = ingest(&firm, &fresh).await;
    assert!(
        matches!(&outcome, IngestOutcome::Quarantined(r) if r.contains("unverified sender")),
        "{outcome:?}"
    );
    let strict = MailSettings {
        unverified_mail: "quarantine".into(),
        ..settings()
    };
    let forged = message(
        "f4@evil.example",
        "client@alfa.demo",
        &subject,
        FAIL,
        "",
        "закройте!",
    );
    assert!(matches!(
        ingest_with(&firm, &strict, &forged).await,
        IngestOutcome::Quarantined(_)
    ));
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
    assert_eq!(before, after);

    // Results the sender wrote itself, naming another server, prove nothing either way.
    let self_made = message(
        "f5@evil.example",
        "client@alfa.demo",
        &subject,
        PASS,
        "",
        "настоящий ответ",
    )
    .replace(
        "Authentication-Results: mx.okno.test;",
        "Authentication-Results: mx.evil.example;",
    );
    assert_eq!(
        ingest(&firm, &self_made).await,
        IngestOutcome::Updated(TicketNumber(id.0))
    );
    // A passing message is the contact's word, as always.
    let real = message(
        "r1@alfa.demo",
        "client@alfa.demo",
        &subject,
        PASS,
        "",
        "Вот скриншот",
    );
    assert_eq!(
        ingest(&firm, &real).await,
        IngestOutcome::Updated(TicketNumber(id.0))
    );
    let public = comments(&firm, &firm.contact, id).await;
    assert!(
        public
            .iter()
            .any(|c| c.body == "Вот скриншот" && !c.internal)
    );
}

async fn a_colleague_who_is_no_participant_writes_a_note(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let id = number(
        &ingest(
            &firm,
            &message(
                "p1@alfa.demo",
                "client@alfa.demo",
                "Личный вопрос",
                PASS,
                "",
                "только мне",
            ),
        )
        .await,
    );
    let subject = format!("Re: [{}] Личный вопрос", TicketNumber(id.0));
    let colleague = message(
        "p2@alfa.demo",
        "other@alfa.demo",
        &subject,
        PASS,
        "",
        "я тоже хочу знать",
    );
    assert_eq!(
        ingest(&firm, &colleague).await,
        IngestOutcome::Updated(TicketNumber(id.0))
    );
    let theirs = comments(&firm, &firm.line1, id)
        .await
        .into_iter()
        .find(|c| c.body.contains("тоже"))
        .unwrap();
    assert!(
        theirs.internal,
        "not the colleague's public word on a ticket they cannot see"
    );
    assert!(
        comments(&firm, &firm.contact, id)
            .await
            .iter()
            .all(|c| !c.body.contains("тоже"))
    );
}

async fn vendors_post_only_into_tickets_handed_to_them(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    db.store
        .upsert_vendor(&okno_store::Vendor {
            code: "1c".into(),
            name: "Фирма 1С".into(),
            support_email: "v8@1c.test".into(),
        })
        .await
        .unwrap();
    let handed = number(
        &ingest(
            &firm,
            &message(
                "v1@alfa.demo",
                "client@alfa.demo",
                "Ошибка платформы",
                PASS,
                "",
                "падает",
            ),
        )
        .await,
    );
    let other = number(
        &ingest(
            &firm,
            &message(
                "v2@alfa.demo",
                "client@alfa.demo",
                "Другое",
                PASS,
                "",
                "другое",
            ),
        )
        .await,
    );
    firm.desk
        .transfer_to_vendor(&firm.line2, handed, "1c", "Просим помочь")
        .await
        .unwrap();
    let vendor = |id: TicketId, msg: &str| {
        message(
            msg,
            "v8@1c.test",
            &format!("RE: [{}] вопрос", TicketNumber(id.0)),
            "",
            "",
            "Исправлено в 8.3.25",
        )
    };
    let outcome = ingest(&firm, &vendor(other, "x1@1c.test")).await;
    assert!(
        matches!(&outcome, IngestOutcome::Quarantined(r) if r.contains("not handed")),
        "{outcome:?}"
    );
    assert!(
        comments(&firm, &firm.line1, other)
            .await
            .iter()
            .all(|c| !c.body.contains("8.3.25"))
    );
    assert_eq!(
        ingest(&firm, &vendor(handed, "x2@1c.test")).await,
        IngestOutcome::Updated(TicketNumber(handed.0))
    );
    assert!(
        comments(&firm, &firm.line1, handed)
            .await
            .iter()
            .any(|c| c.body.contains("8.3.25") && c.internal)
    );
}

async fn open_tasks(firm: &Firm, id: TicketId) -> usize {
    firm.desk
        .store
        .tasks(id)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.state == TaskState::Open)
        .count()
}

async fn out_of_office_replies_are_recorded_not_worked_on(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let id = number(
        &ingest(
            &firm,
            &message(
                "o1@alfa.demo",
                "client@alfa.demo",
                "Накладная",
                PASS,
                "",
                "не печатается",
            ),
        )
        .await,
    );
    let status = firm.desk.ticket(&firm.line1, id).await.unwrap().status;
    let tasks = open_tasks(&firm, id).await;
    let subject = format!("[{}] Накладная", TicketNumber(id.0));
    for (n, (subject, header)) in [
        (format!("Автоответ: Re: {subject}"), ""),
        (format!("Out of Office: {subject}"), ""),
        (format!("Re: {subject}"), "Auto-Submitted: auto-replied\r\n"),
        (format!("Re: {subject}"), "X-Autoreply: yes\r\n"),
        (format!("Re: {subject}"), "Precedence: auto_reply\r\n"),
    ]
    .into_iter()
    .enumerate()
    {
        let raw = message(
            &format!("ooo{n}@alfa.demo"),
            "client@alfa.demo",
            &subject,
            PASS,
            header,
            "Я в отпуске до 15 декабря.",
        );
        assert_eq!(
            ingest(&firm, &raw).await,
            IngestOutcome::Updated(TicketNumber(id.0)),
            "{subject} {header}"
        );
    }
    let notes: Vec<_> = comments(&firm, &firm.line1, id)
        .await
        .into_iter()
        .filter(|c| c.body.contains("в отпуске"))
        .collect();
    assert_eq!(notes.len(), 5);
    assert!(
        notes
            .iter()
            .all(|c| c.internal && c.body.starts_with("Автоответ / Auto-reply"))
    );
    assert!(
        comments(&firm, &firm.contact, id)
            .await
            .iter()
            .all(|c| !c.body.contains("в отпуске"))
    );
    assert_eq!(
        firm.desk.ticket(&firm.line1, id).await.unwrap().status,
        status,
        "no client reply"
    );
    assert_eq!(open_tasks(&firm, id).await, tasks, "no task");
}

async fn only_redeliveries_are_duplicates(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let first = message(
        "reused@host.example",
        "client@alfa.demo",
        "Первое письмо",
        PASS,
        "",
        "один",
    );
    let id = number(&ingest(&firm, &first).await);
    // The same message again, through another mailbox or a second poll: a re-delivery.
    let again = first.replace("id 4Q1;", "id 7Z9;");
    assert_eq!(
        ingest(&firm, &again).await,
        IngestOutcome::Ignored("duplicate: taken in already".into())
    );
    // Another message under the same Message-ID (mailers do this): taken in.
    let other = message(
        "reused@host.example",
        "client@alfa.demo",
        "Второе письмо",
        PASS,
        "",
        "два",
    );
    let second = number(&ingest(&firm, &other).await);
    assert_ne!(second, id);
    assert_eq!(
        firm.desk.ticket(&firm.line1, second).await.unwrap().subject,
        "Второе письмо"
    );
    assert_eq!(
        ingest(&firm, &other).await,
        IngestOutcome::Ignored("duplicate: taken in already".into())
    );
}

async fn senders_every_peer_takes_are_taken(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let local = "From: root@localhost\r\nTo: support@okno.test\r\nSubject: Cron <root@srv> backup\r\n\
                 Message-ID: <cron1@srv>\r\nContent-Type: text/plain\r\n\r\nbackup failed\r\n";
    let outcome = ingest(&firm, local).await;
    let id = number(&outcome);
    let ticket = firm.desk.ticket(&firm.line1, id).await.unwrap();
    assert_eq!(ticket.subject, "Cron <root@srv> backup");
    let unquoted = "From: test test@example.com\r\nTo: support@okno.test\r\nSubject: hello\r\n\
                    Message-ID: <uq1@example.com>\r\nContent-Type: text/plain\r\n\r\nhi\r\n";
    let id = number(&ingest(&firm, unquoted).await);
    let ticket = firm.desk.ticket(&firm.line1, id).await.unwrap();
    let requester = firm
        .desk
        .store
        .user(ticket.requester_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(requester.email.as_str(), "test@example.com");
    assert_eq!(requester.name, "test");
}
