//! `okno serve` with mailboxes configured runs the email channel by itself: a message
//! mailed to support through Postfix becomes a ticket, and the acceptance notice reaches
//! the sender's Dovecot mailbox, with no `okno mail run` beside it.
//! Needs the servers of tests/mail/servers.sh: tests/mail/run.sh runs it with `--ignored`.

use okno_mail::WireMessage;
use okno_mail::imap::{ImapMailbox, MailboxConfig};
use okno_mail::smtp::{Smtp, SmtpConfig};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SENDER: &str = "anna@unknown.test";

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

/// Stops the server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn imap(user: &str) -> MailboxConfig {
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

async fn inbox(user: &str) -> Vec<Vec<u8>> {
    let mut session = ImapMailbox::open(&imap(user)).await.unwrap();
    let mut found = Vec::new();
    for uid in session.uids().await.unwrap() {
        found.extend(session.fetch(uid).await.unwrap());
    }
    session.close().await;
    found
}

#[tokio::test]
#[ignore = "needs real mail servers: run tests/mail/run.sh"]
async fn serve_polls_and_sends_in_the_background() {
    let (imap_port, smtp_port) = (
        port("OKNO_TEST_IMAP_PORT", 10143),
        port("OKNO_TEST_SMTP_PORT", 10025),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mail.toml");
    std::fs::write(
        &config,
        format!(
            r#"from = "support@okno.test"

[[mailboxes]]
host = "127.0.0.1"
port = {imap_port}
security = "plain"
user = "support@okno.test"
password = "test"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
"#
        ),
    )
    .unwrap();
    // Left over from an earlier run: nothing may be in the sender's mailbox yet.
    let mut session = ImapMailbox::open(&imap(SENDER)).await.unwrap();
    for uid in session.uids().await.unwrap() {
        session.remove(uid).await.unwrap();
    }
    session.close().await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_okno"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-jobs",
            "--mail-every",
            "1",
        ])
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--mail-config")
        .arg(&config)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _server = Server(child);
    assert!(first.starts_with("Okno is running at"), "{first}");

    let smtp = Smtp::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: smtp_port,
        security: "plain".into(),
        user: None,
        password: None,
    })
    .unwrap();
    let message = WireMessage::builder()
        .from(SENDER.parse().unwrap())
        .to("support@okno.test".parse().unwrap())
        .subject("Хотим подключиться")
        .body("Здравствуйте!".to_owned())
        .unwrap();
    smtp.send(message).await.unwrap();

    for _ in 0..300 {
        if let Some(raw) = inbox(SENDER).await.first() {
            let notice = okno_mail::parse(raw).unwrap();
            assert!(
                notice.subject.starts_with("[OK-") && notice.subject.contains("Обращение принято"),
                "{}",
                notice.subject
            );
            assert!(
                inbox("support@okno.test").await.is_empty(),
                "taken off the server"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no acceptance notice in 30 s");
}
