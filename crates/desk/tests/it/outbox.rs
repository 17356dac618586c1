//! Every outbox kind has a sender: rows of each kind, written as the desk writes them, go
//! out through the real SMTP transport to an SMTP sink listening on loopback, once each,
//! to the right people; a row that means no message ends with its reason.

use crate::common;

use common::*;
use okno_domain::*;
use okno_mail::MailSettings;
use okno_mail::smtp::{Smtp, SmtpConfig};
use okno_store::testing::TestDb;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

okno_store::on_both_backends!(
    every_kind_is_delivered_by_mail_once,
    a_row_without_a_message_ends_with_its_reason,
);

/// One message as the sink received it: the envelope's recipients and the data.
#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server on loopback that accepts every message and keeps it.
struct Sink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Sink {
    async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, kept.clone()));
            }
        });
        Sink { port, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn settings(&self) -> MailSettings {
        MailSettings {
            from: "support@okno.test".into(),
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port: self.port,
                security: "plain".into(),
                user: None,
                password: None,
            }),
            ..MailSettings::default()
        }
    }
}

async fn session(socket: tokio::net::TcpStream, kept: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let mut to = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("RCPT TO:") {
            let address = line[8..].trim().trim_matches(['<', '>']).to_owned();
            to.push(address);
            b"250 ok\r\n"
        } else if upper.starts_with("DATA") {
            let _ = write.write_all(b"354 go on\r\n").await;
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push('\n');
            }
            kept.lock().unwrap().push(Received {
                to: std::mem::take(&mut to),
                data,
            });
            b"250 kept\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 ok\r\n"
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// The subject of a received message, decoded.
fn subject(message: &Received) -> String {
    okno_mail::parse(message.data.as_bytes())
        .map(|m| m.subject)
        .unwrap_or_default()
}

/// Writes one row of `kind` the way the desk writes it. The match is exhaustive: a new kind
/// must come with its row here, and so with a test of its sender.
async fn write_row(f: &Firm, kind: OutboxKind, ticket: &Ticket, comment: CommentId) {
    let desk = &f.desk;
    let now = desk.now();
    let key = format!("test:{kind}");
    let on_ticket = |status: &str| json!({ "ticket_id": ticket.id.0, "status": status });
    let payload = match kind {
        OutboxKind::TicketCreated => on_ticket("new"),
        OutboxKind::StatusChanged => on_ticket("in_progress"),
        OutboxKind::TicketResolved => on_ticket("resolved"),
        OutboxKind::TicketAutoClosed => json!({ "ticket_id": ticket.id.0, "days": 3 }),
        OutboxKind::TicketReopened => on_ticket("in_progress"),
        OutboxKind::CommentAdded => json!({ "ticket_id": ticket.id.0, "comment_id": comment.0 }),
        OutboxKind::ContractNotice => json!({
            "event": "ends", "days": 14, "client": "ALFA", "contract": "A-1",
            "starts_on": "2026-01-01", "ends_on": "2026-12-31",
            "contacts": ["client@alfa.demo", "other@alfa.demo"],
        }),
        OutboxKind::ContractAlert => json!({
            "kind": "contract_without_successor", "client": "ALFA", "contract": "A-1",
            "ends_on": "2026-12-31", "days": 14,
        }),
        OutboxKind::VendorTransfer => {
            desk.store
                .upsert_vendor(&okno_store::Vendor {
                    code: "acme".into(),
                    name: "Acme".into(),
                    support_email: "support@acme.test".into(),
                })
                .await
                .unwrap();
            json!({ "ticket_id": ticket.id.0, "vendor": "acme", "text": "Помогите" })
        }
        OutboxKind::MailRefusal => json!({
            "to": "stranger@example.org", "subject": "Привет", "reason": null, "locale": "ru",
        }),
        OutboxKind::Announcement => {
            let id = desk
                .store
                .add_announcement(
                    &okno_store::NewAnnouncement {
                        title: "Новая версия".into(),
                        body: "Вышла версия 2.0".into(),
                        clients: Vec::new(),
                        by_mail: false,
                        author_id: f.manager.id,
                    },
                    now,
                )
                .await
                .unwrap();
            json!({ "announcement_id": id, "user_id": f.contact.id.0 })
        }
        OutboxKind::ScheduledReport => {
            // The real path: a manager's subscription whose day came.
            let reports = desk.reports();
            reports
                .subscribe(&f.manager, "flow", "weekly", &Default::default())
                .await
                .unwrap();
            let next_week = now
                .saturating_add(jiff::SignedDuration::from_hours(8 * 24))
                .unwrap();
            assert_eq!(reports.send_due(now).await.unwrap(), 0, "not due yet");
            assert_eq!(reports.send_due(next_week).await.unwrap(), 1);
            assert_eq!(reports.send_due(next_week).await.unwrap(), 0, "once a week");
            return;
        }
        OutboxKind::WorkReport => {
            // The real path: POST …/reports/{month}/send.
            let month = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            let month = format!("{:04}-{:02}", month.year(), month.month());
            assert_eq!(
                desk.send_work_report(&f.manager, "ALFA", &month)
                    .await
                    .unwrap(),
                2
            );
            return;
        }
    };
    desk.store
        .enqueue_outbox(kind, &payload.to_string(), &key, now)
        .await
        .unwrap();
}

async fn every_kind_is_delivered_by_mail_once(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let sink = Sink::start().await;
    let settings = sink.settings();
    let smtp = Smtp::new(settings.smtp.as_ref().unwrap()).unwrap();
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    let comment = desk
        .comment(&f.line1, ticket.id, "Смотрим", false)
        .await
        .unwrap();
    for kind in OutboxKind::ALL {
        write_row(&f, *kind, &ticket, comment.id).await;
    }
    let sent = desk.deliver_mail(&settings, &smtp).await.unwrap();
    // A second pass finds nothing left: each row went out once.
    assert_eq!(desk.deliver_mail(&settings, &smtp).await.unwrap(), 0);

    let rows = desk.store.outbox_rows(None, 1000).await.unwrap();
    assert!(rows.iter().all(|r| r.settled()), "{rows:#?}");
    for kind in OutboxKind::ALL {
        assert!(
            rows.iter()
                .any(|r| r.kind == kind.code() && r.ended.is_none() && r.messages == 1),
            "{kind} was not delivered: {rows:#?}"
        );
    }
    assert!(
        rows.iter()
            .all(|r| (r.ended.is_none() && r.messages == 1)
                || (r.ended.is_some() && r.messages == 0)),
        "{rows:#?}"
    );
    let delivered = rows.iter().filter(|r| r.ended.is_none()).count();
    let received = sink.received();
    assert_eq!(sent, delivered);
    assert_eq!(received.len(), delivered, "one message per delivered row");

    // The work report reaches the client's contacts with the report attached.
    let report = received
        .iter()
        .find(|m| subject(m).starts_with("Отчёт о работах"))
        .expect("the work report was mailed");
    let mut to = report.to.clone();
    to.sort();
    assert_eq!(to, ["client@alfa.demo", "other@alfa.demo"]);
    assert!(report.data.contains("multipart/mixed"), "{}", report.data);
    assert!(report.data.contains("work-report-ALFA-"), "{}", report.data);
    // The contract alert reaches the managers, in their language.
    let alert = received
        .iter()
        .find(|m| subject(m).contains("не продлён"))
        .expect("the contract alert was mailed");
    assert_eq!(alert.to, ["manager@demo.okno"]);
    // The subscribed report reaches its manager as a workbook.
    let scheduled = received
        .iter()
        .find(|m| subject(m).starts_with("Отчёт flow"))
        .expect("the subscribed report was mailed");
    assert_eq!(scheduled.to, ["manager@demo.okno"]);
    assert!(scheduled.data.contains(".xlsx"), "{}", scheduled.data);
    assert!(
        scheduled.data.contains("spreadsheetml"),
        "{}",
        scheduled.data
    );
}

async fn a_row_without_a_message_ends_with_its_reason(db: TestDb) {
    let f = firm(db.store).await;
    let desk = &f.desk;
    let sink = Sink::start().await;
    let settings = sink.settings();
    let smtp = Smtp::new(settings.smtp.as_ref().unwrap()).unwrap();
    let ticket = desk
        .open_ticket(&f.contact, input("question"))
        .await
        .unwrap();
    // The client's own comment: no mail to themselves.
    desk.comment(&f.contact, ticket.id, "Дополняю", false)
        .await
        .unwrap();
    // A report to a client whose contacts left since it was queued.
    desk.store
        .enqueue_outbox(
            OutboxKind::WorkReport,
            &json!({ "client": "ALFA", "month": "2026-11", "contacts": ["gone@alfa.demo"], "html": "<p>"})
                .to_string(),
            "test:report",
            desk.now(),
        )
        .await
        .unwrap();
    desk.deliver_mail(&settings, &smtp).await.unwrap();
    let rows = desk.store.outbox_rows(None, 100).await.unwrap();
    assert!(rows.iter().all(|r| r.settled()), "{rows:#?}");
    let ended: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| Some((r.kind.as_str(), r.ended.as_deref()?)))
        .collect();
    assert!(
        ended.contains(&("comment_added", "the requester wrote it")),
        "{ended:?}"
    );
    assert!(
        ended.contains(&("work_report", "none of the report's contacts is active")),
        "{ended:?}"
    );
    assert_eq!(sink.received().len(), 1, "the acceptance notice only");
}
