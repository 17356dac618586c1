//! `okno bench reports`: each report (`sla`, `flow`, `ratings`, `money`) over a month and
//! over a year of a desk with 1,000,000 tickets and their history (`--quick`: 20,000).
//!
//! The tickets spread over three years; each has two done tasks, four history rows (created,
//! stage classify, status in progress with stage answer, status closed), one finished time
//! entry, and one in five a rating; 15% of the tickets are still open. Closed tickets are
//! then *settled* into the reports' facts (`report_tickets`, `report_stages`) as the
//! reports job does: that is the whole cost of keeping the summary in step, paid off the
//! write path (a ticket's own writes are unchanged but for four small partial indexes of
//! migration 0050). Figures: settling throughput, and the p99 of each report for the last
//! whole month and the last year (targets 500 ms and 2 s).
//!
//! The store is the one `--database` names (see [`super::BenchDb`]).

use super::Figure;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::{SignedDuration, ToSpan};
use okno_desk::Desk;
use okno_desk::reports::ReportParams;
use okno_domain::*;
use okno_store::reports::BulkEvent;
use okno_store::{BulkTask, BulkTicket, NewUser};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

const BATCH: usize = 20_000;
const DAY_MINUTES: i64 = 24 * 60;

pub async fn run(quick: bool, db: &super::BenchDb) -> anyhow::Result<Vec<Figure>> {
    let tickets = if quick { 20_000 } else { 1_000_000 };
    let samples = if quick { 3 } else { 10 };
    let dir = &db.dir;
    let backend = db.backend();
    let store = okno_store::open(&db.url).await?;
    let settings = okno_desk::Settings {
        search_indexer: false,
        ..okno_desk::Settings::new(dir.path().to_path_buf())
    };
    let desk = Desk::start(store.clone(), settings).await?;
    let now = desk.now();
    let mut clients = Vec::new();
    for i in 0..if quick { 20 } else { 300 } {
        let id = store
            .create_client(&format!("C{i:04}"), &format!("Клиент {i}"), None)
            .await?;
        let contact = store
            .create_user(&person(
                &format!("c{i}@clients.bench"),
                Role::Client,
                Some(id),
                &[],
            ))
            .await?;
        clients.push((id, contact));
    }
    let mut staff = Vec::new();
    for i in 0..20u8 {
        let line = 1 + i % 3;
        staff.push(
            store
                .create_user(&person(
                    &format!("s{i}@desk.bench"),
                    Role::Specialist,
                    None,
                    &[line],
                ))
                .await?,
        );
    }
    let manager_id = store
        .create_user(&person("boss@desk.bench", Role::Manager, None, &[]))
        .await?;
    let manager = store.user(manager_id).await?.expect("the manager");

    let started = Instant::now();
    let bar = ProgressBar::new(tickets as u64).with_style(ProgressStyle::with_template(
        "generating {bar:40} {pos}/{len} tickets ({per_sec}, {eta} left)",
    )?);
    let mut rng = StdRng::seed_from_u64(21);
    let mut done = 0;
    while done < tickets {
        let n = BATCH.min(tickets - done);
        let mut batch = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n * 2);
        let mut plans = Vec::with_capacity(n);
        for i in 0..n {
            let open = rng.random_bool(0.15);
            let age = if open {
                rng.random_range(10..20 * DAY_MINUTES)
            } else {
                rng.random_range(DAY_MINUTES..3 * 365 * DAY_MINUTES)
            };
            let created = now - SignedDuration::from_mins(age);
            let (client, contact) = clients[rng.random_range(0..clients.len())];
            let specialist = staff[rng.random_range(0..staff.len())];
            batch.push(BulkTicket {
                service: "question".into(),
                subject: format!("Обращение {}", done + i),
                status: if open {
                    TicketStatus::InProgress
                } else {
                    TicketStatus::Closed
                },
                classification: Some(Classification::Question),
                client,
                requester: contact,
                urgent: false,
                created_at: created,
            });
            for (step, kind) in ["classify", "answer"].into_iter().enumerate() {
                tasks.push(BulkTask {
                    ticket: i,
                    kind,
                    line: Some(Line::new(1)?),
                    pool: None,
                    assignee: Some(specialist),
                    due_at: Some(created + SignedDuration::from_hours(4 + 20 * step as i64)),
                    priority: 0,
                    state: if open && step == 1 {
                        TaskState::Open
                    } else {
                        TaskState::Done
                    },
                    created_at: created,
                    rank: 0,
                });
            }
            plans.push((open, created, contact, specialist, rng.random_range(1..=5)));
        }
        // The database starts empty: ids are 1, 2, … in insert order.
        let before = done as i64 + 1;
        store.bulk_load(&batch, &tasks).await?;
        let mut history: Vec<BulkEvent> = Vec::with_capacity(n * 5);
        let mut entries = Vec::with_capacity(n);
        let mut ratings = Vec::new();
        for (i, (open, created, contact, specialist, score)) in plans.into_iter().enumerate() {
            let id = TicketId(before + i as i64);
            let taken = created + SignedDuration::from_mins(20);
            history.push((id, created, "created", None, None));
            history.push((id, created, "stage", None, Some("classify".into())));
            history.push((id, taken, "status", Some("new"), Some("in_progress".into())));
            history.push((id, taken, "stage", None, Some("answer".into())));
            // Two tasks per ticket, ids in insert order too: the answer is the second.
            let answer = TaskId(2 * (before + i as i64));
            entries.push((
                specialist,
                id,
                Some(answer),
                taken,
                taken + SignedDuration::from_mins(25),
            ));
            if !open {
                // bulk_load closes a ticket an hour after it was created.
                let closed = created + SignedDuration::from_hours(1);
                history.push((
                    id,
                    closed,
                    "status",
                    Some("in_progress"),
                    Some("closed".into()),
                ));
                if score % 5 == 0 || rng.random_bool(0.2) {
                    ratings.push((id, contact, score, closed + SignedDuration::from_mins(5)));
                }
            }
        }
        store.bulk_report_rows(&history, &entries, &ratings).await?;
        done += n;
        bar.set_position(done as u64);
    }
    bar.finish_and_clear();
    store.analyze().await?;
    let generated = started.elapsed();

    let settle_started = Instant::now();
    let settled = desk.reports().settle(u32::MAX).await?;
    let settle = settle_started.elapsed();

    let zone = desk.reports().desk_zone();
    let today = now.to_zoned_datetime(zone.clone()).date();
    let month_first = today.first_of_month().saturating_sub(1.month());
    let month_last = today.first_of_month().yesterday()?;
    let year_first = today.saturating_sub(1.year());
    let mut figures = vec![
        Figure::new(
            format!("reports_generate_s_{backend}"),
            generated.as_secs_f64(),
            "s",
        ),
        Figure::new(
            format!("reports_settle_tickets_per_s_{backend}"),
            settled as f64 / settle.as_secs_f64().max(1e-9),
            "1/s",
        ),
    ];
    for name in ["sla", "flow", "ratings", "money"] {
        for (span, from, to, target) in [
            ("month", month_first, month_last, 500.0),
            ("year", year_first, today, 2000.0),
        ] {
            let params = ReportParams {
                from: Some(from.to_string()),
                to: Some(to.to_string()),
                ..Default::default()
            };
            let request = params
                .parse(name, today)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut times = Vec::with_capacity(samples);
            for _ in 0..samples {
                let t = Instant::now();
                let report = desk
                    .reports()
                    .build(&manager, &request)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                // The export is part of the answer a manager waits for.
                report.csv().map_err(|e| anyhow::anyhow!("{e}"))?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let p99 =
                times[((times.len() as f64 * 0.99).ceil() as usize).clamp(1, times.len()) - 1];
            figures.push(
                Figure::new(format!("reports_{name}_{span}_p99_{backend}"), p99, "ms")
                    .at_most(target),
            );
        }
    }
    Ok(figures)
}

fn person(email: &str, role: Role, client: Option<ClientId>, lines: &[u8]) -> NewUser {
    NewUser {
        email: Email::parse(email).expect("a generated address"),
        name: email.split('@').next().unwrap_or(email).to_owned(),
        role,
        client_id: client,
        lines: lines.iter().filter_map(|l| Line::new(*l).ok()).collect(),
        sees_organization: false,
        password_hash: None,
    }
}
