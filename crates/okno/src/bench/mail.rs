//! `okno bench mail`: a generated corpus (Cyrillic in several charsets, HTML, attachments,
//! replies to existing tickets, strangers from a client's domain) parsed, classified,
//! threaded and stored through the desk's inbound pipeline, in-process on a fresh
//! store (`--database`). Messages go in from several tasks at once, as several mailboxes would.

use super::Figure;
use anyhow::ensure;
use okno_desk::Desk;
use okno_desk::mail::{Inbox, IngestOutcome};
use okno_domain::*;
use okno_mail::MailSettings;
use std::sync::Arc;
use std::time::Instant;

const CONCURRENCY: usize = 8;
const CONTACTS: usize = 50;

pub async fn run(quick: bool, db: &super::BenchDb) -> anyhow::Result<Vec<Figure>> {
    let total = if quick { 300 } else { 10_000 };
    let store = okno_store::open(&db.url).await?;
    let desk = Desk::start(store, okno_desk::Settings::new(db.dir.path().to_path_buf())).await?;
    let client = desk
        .store
        .create_client("BENCH", "ООО «Нагрузка»", Some("nagruzka.ru"))
        .await?;
    for i in 0..CONTACTS {
        desk.store
            .create_user(&okno_store::NewUser {
                email: Email::parse(&format!("user{i}@nagruzka.ru"))?,
                name: format!("Пользователь {i}"),
                role: Role::Client,
                client_id: Some(client),
                lines: Vec::new(),
                sees_organization: false,
                password_hash: None,
            })
            .await?;
    }
    // The corpus is many messages from few senders: the per-sender limit is not measured here.
    let settings = Arc::new(MailSettings {
        rate_limit_per_hour: i64::MAX,
        ..MailSettings::default()
    });

    // First the tickets replies will go to, then the measured corpus.
    let seed: Vec<Vec<u8>> = (0..100).map(|i| message(i, None)).collect();
    let seeded = ingest(&desk, &settings, seed).await?;
    let numbers: Vec<i64> = seeded
        .iter()
        .filter_map(|o| match o {
            IngestOutcome::Created(n) => Some(n.0),
            _ => None,
        })
        .collect();
    ensure!(numbers.len() == 100, "seed tickets: {seeded:?}");
    let corpus: Vec<Vec<u8>> = (0..total)
        .map(|i| {
            let reply = (i % 10 < 3).then(|| numbers[i % numbers.len()]);
            message(1000 + i, reply)
        })
        .collect();
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    let cpu_before = super::api::cpu_ms(std::process::id())?;
    let started = Instant::now();
    let outcomes = ingest(&desk, &settings, corpus).await?;
    let elapsed = started.elapsed().as_secs_f64();
    // CPU time (user and system, all threads) per message: steadier than the rate on a
    // shared machine.
    let cpu_per_message = (super::api::cpu_ms(std::process::id())? - cpu_before) / total as f64;
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, IngestOutcome::Created(_)))
        .count();
    let updated = outcomes
        .iter()
        .filter(|o| matches!(o, IngestOutcome::Updated(_)))
        .count();
    ensure!(
        created + updated == total,
        "every message is taken in: {created} created, {updated} updated of {total}; e.g. {:?}",
        outcomes.iter().find(|o| !crate::mail::taken_in(o))
    );
    Ok(vec![
        Figure::new("mail_ingest_per_s", total as f64 / elapsed, "1/s").at_least(1000.0),
        Figure::new("mail_cpu_per_message", cpu_per_message, "ms"),
        Figure::new("mail_corpus_messages", total as f64, "messages"),
        Figure::new("mail_corpus_mb", bytes as f64 / 1e6, "MB"),
        Figure::new("mail_replies_threaded", updated as f64, "messages"),
    ])
}

async fn ingest(
    desk: &Arc<Desk>,
    settings: &Arc<MailSettings>,
    messages: Vec<Vec<u8>>,
) -> anyhow::Result<Vec<IngestOutcome>> {
    let chunks: Vec<Vec<(usize, Vec<u8>)>> = {
        let mut chunks = vec![Vec::new(); CONCURRENCY];
        for (i, m) in messages.into_iter().enumerate() {
            chunks[i % CONCURRENCY].push((i, m));
        }
        chunks
    };
    let mut tasks = Vec::new();
    for chunk in chunks {
        let desk = desk.clone();
        let settings = settings.clone();
        tasks.push(tokio::spawn(async move {
            let inbox = Inbox::default();
            let mut out = Vec::new();
            for (i, raw) in chunk {
                out.push((i, desk.ingest_mail(&settings, &inbox, &raw).await?));
            }
            anyhow::Ok(out)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, o)| o).collect())
}

/// Message `i` of the corpus; `reply_to`: a reply quoting that ticket's number.
fn message(i: usize, reply_to: Option<i64>) -> Vec<u8> {
    let from = if i % 20 == 7 {
        format!("new{i}@nagruzka.ru") // a stranger from the client's domain
    } else {
        format!("user{}@nagruzka.ru", i % CONTACTS)
    };
    let subject = match reply_to {
        Some(n) => format!("Re: [{}] Не печатается накладная", TicketNumber(n)),
        None => format!("Не печатается накладная №{i}"),
    };
    let head = format!(
        "From: =?utf-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <{from}>\r\nTo: support@okno.localhost\r\n\
         Subject: =?utf-8?B?{}?=\r\nMessage-ID: <bench-{i}@nagruzka.ru>\r\nDate: Tue, 25 Nov 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\n",
        base64(subject.as_bytes())
    );
    let text = "Добрый день!\r\nПри проведении документа «Реализация товаров» программа пишет ошибку.\r\n\
                Прошу помочь, бухгалтерия стоит.\r\n\r\n-- \r\nИван Петров, ООО «Нагрузка»\r\n";
    let mut raw = head.into_bytes();
    match i % 4 {
        0 => {
            raw.extend_from_slice(b"Content-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            raw.extend(text.chars().map(cp1251));
        }
        1 => {
            raw.extend_from_slice(
                b"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
            );
            raw.extend_from_slice(text.as_bytes());
            raw.extend_from_slice(
                b"\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>",
            );
            raw.extend_from_slice(text.replace("\r\n", "<br>").as_bytes());
            raw.extend_from_slice(
                b"</p><img src=\"http://tracker.example/p.gif\"></body></html>\r\n--b1--\r\n",
            );
        }
        2 => {
            raw.extend_from_slice(
                b"Content-Type: multipart/mixed; boundary=\"m1\"\r\n\r\n--m1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
            );
            raw.extend_from_slice(text.as_bytes());
            raw.extend_from_slice(b"\r\n--m1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename*=utf-8''%D1%81%D0%BA%D1%80%D0%B8%D0%BD.png\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            let png: Vec<u8> = (0..6000u32)
                .map(|b| (b.wrapping_mul(31).wrapping_add(i as u32) % 251) as u8)
                .collect();
            let encoded = base64(&png);
            for line in encoded.as_bytes().chunks(76) {
                raw.extend_from_slice(line);
                raw.extend_from_slice(b"\r\n");
            }
            raw.extend_from_slice(b"--m1--\r\n");
        }
        _ => {
            raw.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
            raw.extend_from_slice(b"=D0=A1=D0=BF=D0=B0=D1=81=D0=B8=D0=B1=D0=BE, =D0=B6=D0=B4=D1=83.\r\n\r\n> quoted history\r\n> more\r\n");
        }
    }
    raw
}

fn cp1251(c: char) -> u8 {
    match c {
        'А'..='я' => (c as u32 - 'А' as u32 + 0xC0) as u8,
        'Ё' => 0xA8,
        'ё' => 0xB8,
        '«' => 0xAB,
        '»' => 0xBB,
        c if c.is_ascii() => c as u8,
        _ => b'?',
    }
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
