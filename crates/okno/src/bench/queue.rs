//! `okno bench queue`: the first page of a specialist's work queue on a large desk.
//!
//! Generates 1,000,000 tickets and 3,000,000 tasks (`--quick`: 20,000 and 60,000) with a
//! realistic mix — most tickets closed, open ones with tasks waiting in lines 1–3 and role
//! pools, some taken, classifications, due instants, VIP clients and directors — ranked by
//! the shipped priority rules. The tickets' and tasks' secondary indexes are dropped for the
//! load and built once after it; rows go in as multi-row INSERTs through one prepared
//! statement (SQLite) or `COPY` (PostgreSQL). Then 50 specialists each read the
//! first page (50 tasks) of their queue through the desk, as the API does; the figure is
//! the p99 of those reads (target 10 ms).
//!
//! The store is the one `--database` names (see [`super::BenchDb`]): a temporary SQLite
//! file, a fresh database on a PostgreSQL server, or an SQLite path (it must be empty, and
//! is left in place so its query plans can be looked at).

use super::Figure;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::{SignedDuration, Timestamp};
use okno_desk::Desk;
use okno_domain::priority::{PriorityRules, RankInput};
use okno_domain::*;
use okno_store::{BulkTask, BulkTicket, NewUser, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPECIALISTS: usize = 50;
const BATCH: usize = 50_000;
const POOLS: [&str; 2] = ["engineer", "accounting"];

struct Client {
    id: ClientId,
    vip: bool,
    contacts: Vec<(UserId, bool)>,
}

struct Staff {
    user: User,
}

pub async fn run(quick: bool, db: &super::BenchDb) -> anyhow::Result<Vec<Figure>> {
    let tickets = if quick { 20_000 } else { 1_000_000 };
    let samples = if quick { 5 } else { 20 };
    let dir = &db.dir;
    let backend = db.backend();
    let store = okno_store::open(&db.url).await?;
    // The desk publishes the service catalog the tickets refer to.
    // Without the search indexer: it would index the million tickets during the reads.
    let settings = okno_desk::Settings {
        search_indexer: false,
        ..okno_desk::Settings::new(dir.path().to_path_buf())
    };
    let desk = Desk::start(store.clone(), settings).await?;
    let clients = clients(&store, if quick { 50 } else { 1000 }).await?;
    let staff = staff(&store).await?;

    let started = Instant::now();
    let indexes = store.suspend_indexes().await?;
    generate(&store, &clients, &staff, tickets).await?;
    let loaded = started.elapsed();
    let spinner = ProgressBar::new_spinner().with_message(format!(
        "creating {} indexes and refreshing the planner's statistics",
        indexes.len()
    ));
    spinner.enable_steady_tick(Duration::from_millis(200));
    store.restore_indexes(indexes).await?;
    store.analyze().await?;
    spinner.finish_and_clear();
    let generated = started.elapsed();

    let mut times = Vec::with_capacity(SPECIALISTS * samples);
    let mut sizes = 0usize;
    // Each specialist's first read (statements, index pages cold for that user) is timed
    // apart: the figures below are the reads of someone working through the day.
    let mut first_reads = Duration::ZERO;
    for s in &staff {
        let t = Instant::now();
        desk.work_queue(&s.user, None, 50).await?;
        first_reads = first_reads.max(t.elapsed());
        for _ in 0..samples {
            let t = Instant::now();
            let page = desk.work_queue(&s.user, None, 50).await?;
            times.push(t.elapsed());
            sizes += page.len();
        }
    }
    times.sort();
    let pct = |p: f64| -> f64 {
        let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
        times[i].as_secs_f64() * 1000.0
    };
    let rows = tickets + tickets * 3;
    Ok(vec![
        Figure::new(
            format!("queue_generate_s_{backend}"),
            generated.as_secs_f64(),
            "s",
        ),
        Figure::new(
            format!("queue_index_build_s_{backend}"),
            (generated - loaded).as_secs_f64(),
            "s",
        ),
        Figure::new(
            format!("queue_generate_rows_per_s_{backend}"),
            rows as f64 / generated.as_secs_f64(),
            "1/s",
        ),
        Figure::new(
            format!("queue_page_rows_avg_{backend}"),
            sizes as f64 / times.len() as f64,
            "rows",
        ),
        Figure::new(format!("queue_first_page_p50_{backend}"), pct(0.50), "ms"),
        Figure::new(format!("queue_first_page_p99_{backend}"), pct(0.99), "ms").at_most(10.0),
        Figure::new(
            format!("queue_first_page_max_{backend}"),
            times
                .last()
                .copied()
                .unwrap_or(Duration::ZERO)
                .as_secs_f64()
                * 1000.0,
            "ms",
        ),
        Figure::new(
            format!("queue_first_read_max_{backend}"),
            first_reads.as_secs_f64() * 1000.0,
            "ms",
        ),
    ])
}

async fn clients(store: &Arc<dyn Store>, count: usize) -> anyhow::Result<Vec<Client>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let id = store
            .create_client(&format!("C{i:05}"), &format!("Клиент {i}"), None)
            .await?;
        let vip = rng.random_bool(0.05);
        if vip {
            store.set_client_vip(id, true).await?;
        }
        let mut contacts = Vec::new();
        for c in 0..2 {
            let user = store
                .create_user(&NewUser {
                    email: Email::parse(&format!("c{c}@client{i}.bench"))?,
                    name: format!("Контакт {c} клиента {i}"),
                    role: Role::Client,
                    client_id: Some(id),
                    lines: vec![],
                    sees_organization: false,
                    password_hash: None,
                })
                .await?;
            let director = c == 0 && rng.random_bool(0.05);
            if director {
                store.set_user_director(user, true).await?;
            }
            contacts.push((user, director));
        }
        out.push(Client { id, vip, contacts });
    }
    Ok(out)
}

/// 50 specialists: 20 on line 1, 15 on line 2 (5 of them also in the engineer pool), 10 on
/// line 3, 5 on lines 2 and 3.
async fn staff(store: &Arc<dyn Store>) -> anyhow::Result<Vec<Staff>> {
    let mut out = Vec::with_capacity(SPECIALISTS);
    for i in 0..SPECIALISTS {
        let lines: Vec<u8> = match i {
            0..20 => vec![1],
            20..35 => vec![2],
            35..45 => vec![3],
            _ => vec![2, 3],
        };
        let id = store
            .create_user(&NewUser {
                email: Email::parse(&format!("s{i}@okno.bench"))?,
                name: format!("Специалист {i}"),
                role: Role::Specialist,
                client_id: None,
                lines: lines
                    .iter()
                    .map(|l| Line::new(*l))
                    .collect::<Result<_, _>>()?,
                sees_organization: false,
                password_hash: None,
            })
            .await?;
        if (20..25).contains(&i) {
            store.set_user_pools(id, &["engineer".to_owned()]).await?;
        }
        let user = store.user(id).await?.context("bench user")?;
        out.push(Staff { user });
    }
    Ok(out)
}

fn pick_class(rng: &mut StdRng, open: bool) -> Option<Classification> {
    match rng.random_range(0..100) {
        0..50 => Some(Classification::Question),
        50..75 => Some(Classification::Bug),
        75..85 => Some(Classification::Critical),
        85..95 => Some(Classification::Improvement),
        _ if open => None,
        _ => Some(Classification::Question),
    }
}

async fn generate(
    store: &Arc<dyn Store>,
    clients: &[Client],
    staff: &[Staff],
    count: usize,
) -> anyhow::Result<()> {
    let rules = PriorityRules::shipped();
    let mut rng = StdRng::seed_from_u64(42);
    let now = Timestamp::now();
    let by_line = |line: u8| -> Vec<UserId> {
        staff
            .iter()
            .filter(|s| s.user.lines.iter().any(|l| l.get() == line))
            .map(|s| s.user.id)
            .collect()
    };
    let line_staff = [by_line(1), by_line(2), by_line(3)];
    let bar = ProgressBar::new(count as u64).with_style(ProgressStyle::with_template(
        "generating {bar:40} {pos}/{len} tickets ({per_sec}, {eta} left)",
    )?);
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let mut tickets = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n * 3);
        for i in 0..n {
            // 15% of tickets are still open, and recent; the rest closed over the past year.
            let open = rng.random_bool(0.15);
            let age_minutes = if open {
                rng.random_range(10..30 * 24 * 60)
            } else {
                rng.random_range(30 * 24 * 60..365 * 24 * 60)
            };
            let created = now - SignedDuration::from_mins(age_minutes);
            let client = &clients[rng.random_range(0..clients.len())];
            let (requester, director) = client.contacts[rng.random_range(0..client.contacts.len())];
            let classification = pick_class(&mut rng, open);
            let urgent = rng.random_bool(0.02);
            tickets.push(BulkTicket {
                service: "question".into(),
                subject: format!("Обращение {}", done + i),
                status: if open {
                    TicketStatus::InProgress
                } else {
                    TicketStatus::Closed
                },
                classification,
                client: client.id,
                requester,
                urgent,
                created_at: created,
            });
            // Three tasks per ticket: classify (line 1), the work (line 2, 3 or a pool), the
            // reply (line 1). An open ticket has finished the first `k` of them.
            let finished = if open { rng.random_range(0..3) } else { 3 };
            let work_line = if rng.random_bool(0.6) { 2 } else { 3 };
            let work_pool = rng
                .random_bool(0.1)
                .then(|| POOLS[rng.random_range(0..POOLS.len())]);
            for step in 0..3usize {
                let (kind, line, pool) = match step {
                    0 => ("classify", Some(1u8), None),
                    1 if work_pool.is_some() => ("develop", None, work_pool),
                    1 => ("develop", Some(work_line), None),
                    _ => ("reply", Some(1), None),
                };
                let state = if step < finished {
                    TaskState::Done
                } else {
                    TaskState::Open
                };
                let task_created = created + SignedDuration::from_mins(step as i64 * 30);
                let due = if state == TaskState::Open {
                    now + SignedDuration::from_mins(rng.random_range(-2 * 24 * 60..3 * 24 * 60))
                } else {
                    task_created + SignedDuration::from_mins(rng.random_range(60..72 * 60))
                };
                let assignee = match (state, line) {
                    (TaskState::Open, _) if rng.random_bool(0.6) => None,
                    (_, Some(l)) => {
                        let people = &line_staff[usize::from(l) - 1];
                        Some(people[rng.random_range(0..people.len())])
                    }
                    (_, None) => None,
                };
                let line = line.map(Line::new).transpose()?;
                let input = RankInput {
                    line,
                    pool: pool.map(str::to_owned),
                    stage: None,
                    due_at: Some(due),
                    task_priority: 50,
                    classification,
                    urgent,
                    director,
                    vip: client.vip,
                    arrived_at: created,
                };
                tasks.push(BulkTask {
                    ticket: i,
                    kind,
                    line,
                    pool,
                    assignee,
                    due_at: Some(due),
                    priority: 50,
                    state,
                    created_at: task_created,
                    rank: rules.rank(&input),
                });
            }
        }
        store.bulk_load(&tickets, &tasks).await?;
        done += n;
        bar.set_position(done as u64);
    }
    bar.finish();
    Ok(())
}
