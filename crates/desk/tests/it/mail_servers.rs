//! The email channel against real servers: Postfix (SMTP) delivering into Dovecot (IMAP)
//! on loopback. `tests/mail/run.sh` starts them and runs this binary with `--ignored`;
//! plain `cargo test` leaves it out (there are no servers to talk to).
//!
//! One conversation: the client mails support by SMTP → the poller takes it over IMAP →
//! a ticket → the acceptance notice goes out through Postfix → the client reads it from
//! their own IMAP mailbox (ticket number in the subject, `Auto-Submitted` set) → the client
//! replies → the reply lands in the same ticket as a public comment. A message leaves the
//! server only after its ticket update is committed: a failing store leaves it there.

use crate::common;

use common::*;
use okno_desk::mail::IngestOutcome;
use okno_domain::*;
use okno_mail::imap::{ImapMailbox, MailboxConfig};
use okno_mail::smtp::{Smtp, SmtpConfig};
use okno_mail::{MailSettings, WireMessage};
use okno_store::testing::{Backend, TestDb, run};
use sqlx::Connection;
use std::time::Duration;

const SUPPORT: &str = "support@okno.test";
const CLIENT: &str = "client@alfa.demo";

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

fn mailbox(user: &str) -> MailboxConfig {
    MailboxConfig {
        host: "127.0.0.1".into(),
        port: port("OKNO_TEST_IMAP_PORT", 10143),
        security: "plain".into(),
        user: user.into(),
        password: "test".into(),
        folder: "INBOX".into(),
        move_to: None,
        service: "question".into(),
        default_client: None,
    }
}

fn settings() -> MailSettings {
    MailSettings {
        from: SUPPORT.into(),
        mailboxes: vec![mailbox(SUPPORT)],
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: port("OKNO_TEST_SMTP_PORT", 10025),
            security: "plain".into(),
            user: None,
            password: None,
        }),
        ..MailSettings::default()
    }
}

fn smtp() -> Smtp {
    Smtp::new(settings().smtp.as_ref().unwrap()).unwrap()
}

/// The raw messages in a mailbox now.
async fn messages(user: &str) -> Vec<Vec<u8>> {
    let mut session = ImapMailbox::open(&mailbox(user)).await.unwrap();
    let mut found = Vec::new();
    for uid in session.uids().await.unwrap() {
        found.extend(session.fetch(uid).await.unwrap());
    }
    session.close().await;
    found
}

/// Waits (up to 20 s) until Postfix has delivered `count` messages into the mailbox.
async fn wait_for(user: &str, count: usize) -> Vec<Vec<u8>> {
    for _ in 0..200 {
        let found = messages(user).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{user}: {count} messages not delivered in 20 s");
}

/// Empties a mailbox left over from an earlier run.
async fn empty(user: &str) {
    let mut session = ImapMailbox::open(&mailbox(user)).await.unwrap();
    for uid in session.uids().await.unwrap() {
        session.remove(uid).await.unwrap();
    }
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real mail servers: run tests/mail/run.sh"]
async fn conversation_through_postfix_and_dovecot() {
    run(Backend::Sqlite, conversation).await
}

async fn conversation(db: TestDb) {
    let firm = firm(db.store.clone()).await;
    let settings = settings();
    let support = &settings.mailboxes[0];
    empty(SUPPORT).await;
    empty(CLIENT).await;

    let first = WireMessage::builder()
        .from(format!("Клиент <{CLIENT}>").parse().unwrap())
        .to(SUPPORT.parse().unwrap())
        .subject("Не печатается счёт")
        .message_id(Some("<first@alfa.demo>".into()))
        .body("Здравствуйте! Счёт не печатается.".to_owned())
        .unwrap();
    smtp().send(first).await.unwrap();
    wait_for(SUPPORT, 1).await;

    // The store fails: the pass stops and the message stays on the server.
    let mut sqlite = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    for table in ["tickets", "mail_quarantine"] {
        let trigger = format!(
            "CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        );
        sqlx::query(sqlx::AssertSqlSafe(trigger))
            .execute(&mut sqlite)
            .await
            .unwrap();
    }
    assert!(firm.desk.poll_mailbox(&settings, support).await.is_err());
    assert_eq!(messages(SUPPORT).await.len(), 1, "kept until committed");
    for table in ["tickets", "mail_quarantine"] {
        let drop = format!("DROP TRIGGER fail_{table}");
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut sqlite)
            .await
            .unwrap();
    }

    // The store is back: the ticket is made, then the message leaves the server.
    let outcomes = firm.desk.poll_mailbox(&settings, support).await.unwrap();
    let [IngestOutcome::Created(number)] = outcomes[..] else {
        panic!("expected one new ticket, got {outcomes:?}");
    };
    assert!(messages(SUPPORT).await.is_empty(), "removed after commit");
    let id = TicketId(number.0);
    let ticket = firm.desk.ticket(&firm.line1, id).await.unwrap();
    assert_eq!(ticket.requester_id, firm.contact.id);
    assert_eq!(ticket.subject, "Не печатается счёт");

    // The acceptance notice goes out through Postfix into the client's mailbox.
    assert!(firm.desk.deliver_mail(&settings, &smtp()).await.unwrap() >= 1);
    let received = wait_for(CLIENT, 1).await;
    let notice = okno_mail::parse(&received[0]).unwrap();
    assert!(
        notice.subject.contains(&format!("[{number}]")),
        "{}",
        notice.subject
    );
    assert_eq!(
        notice.signals.auto_submitted.as_deref(),
        Some("auto-generated")
    );
    assert!(notice.text.contains(&number.to_string()));
    assert_eq!(notice.from.as_deref(), Some(SUPPORT));
    assert!(notice.in_reply_to.iter().any(|i| i == "first@alfa.demo"));

    // The client replies from a mailer that drops the tag: it threads by In-Reply-To.
    let our_id = notice.message_id.clone().unwrap();
    let reply = WireMessage::builder()
        .from(CLIENT.parse().unwrap())
        .to(SUPPORT.parse().unwrap())
        .subject("Re: спасибо")
        .in_reply_to(format!("<{our_id}>"))
        .references(format!("<first@alfa.demo> <{our_id}>"))
        .body("Вот номер счёта: 42.\n\n> Обращение принято".to_owned())
        .unwrap();
    smtp().send(reply).await.unwrap();
    wait_for(SUPPORT, 1).await;
    let outcomes = firm.desk.poll_mailbox(&settings, support).await.unwrap();
    assert_eq!(outcomes, [IngestOutcome::Updated(number)]);
    assert!(messages(SUPPORT).await.is_empty());
    let from_client: Vec<_> = firm
        .desk
        .comments(&firm.contact, id)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.author_id == Some(firm.contact.id))
        .collect();
    assert_eq!(from_client.len(), 1);
    assert_eq!(from_client[0].body, "Вот номер счёта: 42.");
    assert!(!from_client[0].internal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real mail servers: run tests/mail/run.sh"]
async fn two_pollers_on_one_mailbox_sqlite() {
    run(Backend::Sqlite, |db| {
        two_pollers(db, "pollers-sqlite@okno.test")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real mail servers: run tests/mail/run.sh"]
async fn two_pollers_on_one_mailbox_postgres() {
    run(Backend::Postgres, |db| {
        two_pollers(db, "pollers-postgres@okno.test")
    })
    .await
}

/// Two desks on one database (two `okno serve` processes) poll one mailbox at the same
/// time: every message becomes one ticket, and every message leaves the server. Each
/// backend's run has a mailbox of its own (the tests run side by side).
async fn two_pollers(db: TestDb, address: &'static str) {
    let firm = firm(db.store.clone()).await;
    let files = tempfile::tempdir().unwrap();
    let second = okno_desk::Desk::start(
        okno_store::open(&db.url).await.unwrap(),
        okno_desk::Settings::new(files.path().to_owned()),
    )
    .await
    .unwrap();
    empty(address).await;
    const COUNT: usize = 8;
    for i in 0..COUNT {
        let message = WireMessage::builder()
            .from(CLIENT.parse().unwrap())
            .to(address.parse().unwrap())
            .subject(format!("Вопрос {i}"))
            .message_id(Some(format!("<pair-{i}@alfa.demo>")))
            .body(format!("Вопрос номер {i}."))
            .unwrap();
        smtp().send(message).await.unwrap();
    }
    wait_for(address, COUNT).await;
    let poll = |desk: std::sync::Arc<okno_desk::Desk>| {
        tokio::spawn(async move {
            desk.poll_mailbox(&settings(), &mailbox(address))
                .await
                .unwrap()
        })
    };
    let (a, b) = (poll(firm.desk.clone()), poll(second.clone()));
    let outcomes: Vec<_> = a
        .await
        .unwrap()
        .into_iter()
        .chain(b.await.unwrap())
        .collect();
    let created: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            IngestOutcome::Created(n) => Some(n.0),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), COUNT, "{outcomes:?}");
    let duplicate = IngestOutcome::Ignored("duplicate: taken in already".into());
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, IngestOutcome::Created(_)) || *o == duplicate),
        "{outcomes:?}"
    );
    assert!(messages(address).await.is_empty(), "every message removed");
    let tickets = firm
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
    assert_eq!(tickets.len(), COUNT, "one ticket per message");
}
