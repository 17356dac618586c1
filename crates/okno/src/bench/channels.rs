//! `okno bench channels`: the channels of issue 20 on a fresh desk (SQLite or PostgreSQL).
//! - phone lookup at 100,000 contacts (10,000 with `--quick`): a PBX's number in one of the
//!   usual writings → the contact, through the same parse and index the lookup API uses;
//!   p50/p99 over 20,000 lookups (a tenth of them for numbers nobody has), and the p99 of
//!   the whole caller's card (contact, client, contracts, open tickets);
//! - outgoing webhook deliveries per second: 5,000 (1,000) signed deliveries to a local
//!   receiver on 127.0.0.1:0, leased, sent concurrently and recorded.
//! - Telegram updates processed per second: 10,000 (2,000) messages of 500 linked contacts,
//!   each into the contact's current ticket as a public comment, long-polled in batches of
//!   100 from a local fake of the Bot API (`getUpdates` with offset) on 127.0.0.1:0.
//!
//! Targets: lookup p99 < 5 ms, deliveries ≥ 1,000/s, Telegram updates ≥ 1,000/s.

use super::Figure;
use okno_desk::Desk;
use okno_domain::channels::PhoneNumber;
use okno_domain::*;
use okno_store::NewDelivery;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub async fn run(quick: bool, db: &super::BenchDb) -> anyhow::Result<Vec<Figure>> {
    let store = okno_store::open(&db.url).await?;
    let mut settings = okno_desk::Settings::new(db.dir.path().to_path_buf());
    settings.search_indexer = false;
    let desk = Desk::start(store, settings).await?;
    let mut figures = lookups(&desk, if quick { 10_000 } else { 100_000 }).await?;
    figures.extend(deliveries(&desk, if quick { 1_000 } else { 5_000 }).await?);
    figures.extend(telegram(&desk, if quick { 2_000 } else { 10_000 }).await?);
    Ok(figures)
}

/// The `i`-th generated contact's number, written the way PBXes and people do.
fn phone(i: usize, style: usize) -> String {
    let n = 9_000_000 + i;
    let (a, b, c) = (n / 10_000 % 1000, n / 100 % 100, n % 100);
    match style % 4 {
        0 => format!("+7 916 {a:03}-{b:02}-{c:02}"),
        1 => format!("8 (916) {a:03}-{b:02}-{c:02}"),
        2 => format!("7916{a:03}{b:02}{c:02}"),
        _ => format!("+7916{a:03}{b:02}{c:02}"),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at]
}

async fn lookups(desk: &Desk, contacts: usize) -> anyhow::Result<Vec<Figure>> {
    let client = desk
        .store
        .create_client("BENCH", "Bench", Some("bench.test"))
        .await?;
    let started = Instant::now();
    for chunk in (0..contacts).collect::<Vec<_>>().chunks(5_000) {
        let rows: Vec<(String, String, String)> = chunk
            .iter()
            .map(|&i| {
                (
                    format!("c{i}@bench.test"),
                    format!("Contact {i}"),
                    phone(i, i),
                )
            })
            .collect();
        desk.store.load_contacts(client, &rows, desk.now()).await?;
        super::search::progress_bar(chunk[chunk.len() - 1] + 1, contacts);
    }
    eprintln!();
    let load_s = started.elapsed().as_secs_f64();
    let mut rng_state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state as usize
    };
    let mut took = Vec::with_capacity(20_000);
    let mut found = 0usize;
    for k in 0..20_000 {
        let i = next() % contacts;
        // One lookup in ten is for a number nobody has.
        let text = if k % 10 == 0 {
            phone(contacts + i, k)
        } else {
            phone(i, k + 1)
        };
        let t = Instant::now();
        let key = PhoneNumber::parse(&text)?;
        let contact = desk.store.contact_by_phone(key.key()).await?;
        took.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(c) = contact {
            anyhow::ensure!(
                c.email == format!("c{i}@bench.test"),
                "wrong contact for {text}"
            );
            found += 1;
        }
    }
    anyhow::ensure!(found == 18_000, "found {found} of 18000 known numbers");
    took.sort_by(f64::total_cmp);
    let staff = desk
        .store
        .create_user(&okno_store::NewUser {
            email: Email::parse("line1@bench.test")?,
            name: "Line 1".into(),
            role: Role::Specialist,
            client_id: None,
            lines: vec![Line::new(1)?],
            sees_organization: false,
            password_hash: None,
        })
        .await?;
    let staff = desk
        .store
        .user(staff)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the specialist vanished"))?;
    let mut cards = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let text = phone(next() % contacts, 1);
        let t = Instant::now();
        desk.channels().caller_card(&staff, &text).await?;
        cards.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    cards.sort_by(f64::total_cmp);
    Ok(vec![
        Figure::new("phone_contacts", contacts as f64, "1"),
        Figure::new("phone_contacts_load_per_s", contacts as f64 / load_s, "1/s"),
        Figure::new("phone_lookup_p50", percentile(&took, 0.50), "ms"),
        Figure::new("phone_lookup_p99", percentile(&took, 0.99), "ms").at_most(5.0),
        Figure::new("caller_card_p99", percentile(&cards, 0.99), "ms"),
    ])
}

async fn deliveries(desk: &Desk, count: usize) -> anyhow::Result<Vec<Figure>> {
    use axum::routing::post;
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |_body: String| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(axum::serve(listener, app).into_future());
    let admin = desk
        .store
        .create_user(&okno_store::NewUser {
            email: Email::parse("admin@bench.test")?,
            name: "Admin".into(),
            role: Role::Admin,
            client_id: None,
            lines: vec![],
            sees_organization: false,
            password_hash: None,
        })
        .await?;
    let admin = desk
        .store
        .user(admin)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the admin vanished"))?;
    let hook = desk
        .channels()
        .create_webhook(
            &admin,
            okno_desk::channels::webhooks::WebhookInput {
                url,
                events: vec!["ticket.created".into()],
                secret: None,
            },
        )
        .await?;
    let (cursor, _) = desk.store.history_after_cursor(1).await?;
    let rows: Vec<NewDelivery> = (0..count)
        .map(|i| NewDelivery {
            webhook_id: hook.id,
            event: "ticket.created".into(),
            body: format!(
                r#"{{"id":"evt_{i}","event":"ticket.created","at":"2026-01-01T00:00:00Z","data":{{"ticket_id":"{i}"}}}}"#
            ),
        })
        .collect();
    anyhow::ensure!(
        desk.store
            .enqueue_deliveries(cursor, cursor, &rows, desk.now())
            .await?,
        "the dispatcher's cursor moved under the benchmark"
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let started = Instant::now();
    let mut delivered = 0;
    while delivered < count {
        let counts = desk.send_webhooks(&http).await?;
        anyhow::ensure!(counts.failed == 0, "{} deliveries failed", counts.failed);
        anyhow::ensure!(counts.delivered > 0, "nothing left to send at {delivered}");
        delivered += counts.delivered;
    }
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        received.load(Ordering::Relaxed) == count,
        "the receiver missed some"
    );
    Ok(vec![
        Figure::new("webhook_deliveries_per_s", count as f64 / seconds, "1/s").at_least(1_000.0),
    ])
}

/// A minimal Bot API for the benchmark: `getUpdates` hands out the queued updates after the
/// offset, 100 at a time, in Telegram's `{ok, result}` shape.
async fn fake_bot_api(updates: Vec<serde_json::Value>) -> anyhow::Result<String> {
    use axum::routing::post;
    let updates = Arc::new(updates);
    let app = axum::Router::new().route(
        "/{bot}/getUpdates",
        post(move |axum::Json(params): axum::Json<serde_json::Value>| {
            let updates = updates.clone();
            async move {
                let offset = params["offset"].as_i64().unwrap_or(0);
                let batch: Vec<&serde_json::Value> = updates
                    .iter()
                    .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                    .take(100)
                    .collect();
                axum::Json(serde_json::json!({"ok": true, "result": batch}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(axum::serve(listener, app).into_future());
    Ok(base)
}

async fn telegram(desk: &Desk, count: usize) -> anyhow::Result<Vec<Figure>> {
    use okno_desk::channels::telegram::{BotApi, Mode, TelegramConfig};
    const CONTACTS: usize = 500;
    let client = desk
        .store
        .create_client("TGBENCH", "Telegram bench", Some("tg.bench.test"))
        .await?;
    let rows: Vec<(String, String, String)> = (0..CONTACTS)
        .map(|i| {
            (
                format!("tg{i}@tg.bench.test"),
                format!("Telegram {i}"),
                format!("+7 903 000-{:02}-{:02}", i / 100, i % 100),
            )
        })
        .collect();
    desk.store.load_contacts(client, &rows, desk.now()).await?;
    let mut tickets = Vec::with_capacity(CONTACTS);
    for i in 0..CONTACTS {
        let (user, _) = desk
            .store
            .user_by_email(&Email::parse(&format!("tg{i}@tg.bench.test"))?)
            .await?
            .ok_or_else(|| anyhow::anyhow!("contact {i} vanished"))?;
        let ticket = desk
            .open_ticket(
                &user,
                okno_desk::tickets::TicketInput {
                    service: "question".into(),
                    subject: format!("Вопрос из Telegram {i}"),
                    description: "Описание".into(),
                    ..Default::default()
                },
            )
            .await?;
        let account = 10_000 + i as i64;
        desk.store
            .link_telegram(account, account, user.id, "ru", desk.now())
            .await?;
        desk.store
            .set_telegram_context(account, Some(ticket.id), None)
            .await?;
        tickets.push(ticket.id);
    }
    let updates: Vec<serde_json::Value> = (0..count)
        .map(|k| {
            let account = 10_000 + (k % CONTACTS) as i64;
            serde_json::json!({
                "update_id": 500_000 + k,
                "message": {
                    "message_id": k + 1,
                    "date": 1_700_000_000,
                    "chat": {"id": account, "type": "private", "first_name": "T"},
                    "from": {"id": account, "is_bot": false, "first_name": "T", "language_code": "ru"},
                    "text": format!("Сообщение {k} в обращение"),
                }
            })
        })
        .collect();
    let api = BotApi::new(&TelegramConfig {
        token: "1:bench".into(),
        api: fake_bot_api(updates).await?,
        mode: Mode::Polling,
        webhook_url: String::new(),
        secret: String::new(),
    });
    let bot = desk.telegram(&api);
    let started = Instant::now();
    let mut taken = 0;
    while taken < count {
        let got = bot.poll(0).await?;
        anyhow::ensure!(got > 0, "the fake ran dry at {taken}");
        taken += got;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut comments = 0;
    for ticket in tickets {
        // The contact's own: the desk's "accepted" message has no author.
        comments += desk
            .store
            .comments(ticket, false)
            .await?
            .iter()
            .filter(|c| c.author_id.is_some())
            .count();
    }
    anyhow::ensure!(comments == count, "{comments} comments for {count} updates");
    Ok(vec![
        Figure::new("telegram_updates_per_s", count as f64 / seconds, "1/s").at_least(1_000.0),
    ])
}
