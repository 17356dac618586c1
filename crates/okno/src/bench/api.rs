//! `okno bench api`: a real `okno serve` process on a fresh database (`--database`), loaded with
//! tickets, driven over HTTP on loopback by 1 and 16 concurrent clients.

use super::Figure;
use anyhow::{Context, bail};
use jiff::Timestamp;
use okno_domain::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

struct Scale {
    preload: usize,
    creates_1c: usize,
    creates_16c: usize,
    reads: usize,
}

pub async fn run(quick: bool, db: &super::BenchDb) -> anyhow::Result<Vec<Figure>> {
    let scale = if quick {
        Scale {
            preload: 2_000,
            creates_1c: 200,
            creates_16c: 800,
            reads: 400,
        }
    } else {
        Scale {
            preload: 100_000,
            creates_1c: 2_000,
            creates_16c: 16_000,
            reads: 4_000,
        }
    };
    let (token, limits_token) = prepare(db, scale.preload).await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(db.dir.path())
        .args(["--database", &db.url])
        // OKNO_BENCH_SERVER_LOG=sqlx=debug shows the statements each request costs.
        .env(
            "OKNO_LOG",
            std::env::var("OKNO_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the server")?;
    let pid = server.id().context("server pid")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    wait_until_up(&http, &base).await?;

    let api = Api { http, base, token };
    let limited = Api {
        token: limits_token,
        ..api.clone()
    };
    let mut figures = Vec::new();
    for (clients, total) in [(1, scale.creates_1c), (16, scale.creates_16c)] {
        let api = api.clone();
        let cpu_before = (cpu_ms(pid)?, cpu_ms(std::process::id())?);
        let (elapsed, mut latencies) =
            drive(clients, total, move |n| api.clone().create(n)).await?;
        // CPU per ticket does not depend on what else the machine is doing, as the rate does.
        figures.push(Figure::new(
            format!("create_server_cpu_{clients}c"),
            (cpu_ms(pid)? - cpu_before.0) / total as f64,
            "ms/ticket",
        ));
        figures.push(Figure::new(
            format!("create_driver_cpu_{clients}c"),
            (cpu_ms(std::process::id())? - cpu_before.1) / total as f64,
            "ms/ticket",
        ));
        figures.push(Figure::new(
            format!("create_per_s_{clients}c"),
            total as f64 / elapsed.as_secs_f64(),
            "1/s",
        ));
        figures.push(Figure::new(
            format!("create_p50_{clients}c"),
            percentile(&mut latencies, 0.50),
            "ms",
        ));
        figures.push(Figure::new(
            format!("create_p99_{clients}c"),
            percentile(&mut latencies, 0.99),
            "ms",
        ));
    }
    if let Some(f) = figures.iter_mut().find(|f| f.name == "create_per_s_16c") {
        f.target = Some(super::Target::AtLeast(2_000.0));
    }

    // Reads: latency with one client (the target), then throughput and latency under 16.
    let max_id = (scale.preload + scale.creates_1c + scale.creates_16c) as u64;
    for clients in [1, 16] {
        let suffix = if clients == 1 {
            String::new()
        } else {
            format!("_{clients}c")
        };
        let reader = api.clone();
        // A spread of ids over the whole table, not one hot row.
        let get = move |n: usize| {
            let id = 1 + (n as u64).wrapping_mul(2_654_435_761) % max_id;
            reader.clone().get(format!("/api/v1/tickets/{id}"))
        };
        let reader = api.clone();
        let list = move |_| reader.clone().get("/api/v1/tickets?limit=50".into());
        let (elapsed, mut latencies) = drive(clients, scale.reads, get).await?;
        figures.extend(read_figures(
            "get",
            &suffix,
            elapsed,
            scale.reads,
            &mut latencies,
        ));
        let (elapsed, mut latencies) = drive(clients, scale.reads, list).await?;
        figures.extend(read_figures(
            "list",
            &suffix,
            elapsed,
            scale.reads,
            &mut latencies,
        ));
    }

    // Last: its tickets of another client would answer 404 to the reads above.
    figures.extend(limit_overhead(&api, &limited, &scale).await?);
    figures.extend(authorization_cost(&figures, quick));
    figures.push(Figure::new("server_rss_peak", peak_rss_mb(pid)?, "MB").at_most(150.0));
    figures.push(Figure::new(
        "preloaded_tickets",
        scale.preload as f64,
        "tickets",
    ));
    server.kill().await.ok();
    Ok(figures)
}

/// Requests per second, p50 and p99 of one kind of read; the p99 target is for one client.
fn read_figures(
    kind: &str,
    suffix: &str,
    elapsed: Duration,
    total: usize,
    latencies: &mut [Duration],
) -> Vec<Figure> {
    let p99 = Figure::new(
        format!("{kind}_p99{suffix}"),
        percentile(latencies, 0.99),
        "ms",
    );
    vec![
        Figure::new(
            format!("{kind}_per_s{suffix}"),
            total as f64 / elapsed.as_secs_f64(),
            "1/s",
        ),
        Figure::new(
            format!("{kind}_p50{suffix}"),
            percentile(latencies, 0.50),
            "ms",
        ),
        if suffix.is_empty() {
            p99.at_most(10.0)
        } else {
            p99
        },
    ]
}

/// Creates the data directory with a client, a contact with a token, and `preload` tickets.
/// Ticket creation on a contract with limits (every check runs: per contact per day, per
/// month, hours this month; never over) against a contract without, in alternating rounds
/// so both see the same database size and machine load.
async fn limit_overhead(plain: &Api, limited: &Api, scale: &Scale) -> anyhow::Result<Vec<Figure>> {
    let rounds = 10;
    let per_round = (scale.creates_1c / rounds).max(10);
    let (mut plain_time, mut limited_time) = (Duration::ZERO, Duration::ZERO);
    let (mut plain_lat, mut limited_lat) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Which goes first alternates, so neither always meets a warmer cache.
        for first in [round % 2 == 0, round % 2 == 1] {
            let api = if first {
                plain.clone()
            } else {
                limited.clone()
            };
            let (elapsed, latencies) = drive(1, per_round, move |n| api.clone().create(n)).await?;
            if first {
                plain_time += elapsed;
                plain_lat.extend(latencies);
            } else {
                limited_time += elapsed;
                limited_lat.extend(latencies);
            }
        }
    }
    let overhead = (limited_time.as_secs_f64() / plain_time.as_secs_f64() - 1.0) * 100.0;
    Ok(vec![
        Figure::new(
            "create_p50_no_limits",
            percentile(&mut plain_lat, 0.50),
            "ms",
        ),
        Figure::new(
            "create_p50_limits",
            percentile(&mut limited_lat, 0.50),
            "ms",
        ),
        Figure::new("create_limits_overhead", overhead, "%").at_most(10.0),
    ])
}

/// A contract covering every service for the client, with these limits.
fn bench_contract(
    number: &str,
    client: ClientId,
    limits: okno_store::Limits,
) -> okno_store::ContractTerms {
    okno_store::ContractTerms {
        number: number.into(),
        client_id: client,
        starts_on: jiff::civil::date(2000, 1, 1),
        ends_on: jiff::civil::date(2099, 12, 31),
        support_level: None,
        services: vec![],
        tariff: 0,
        hourly_rate: 0,
        after_hours_rate: 0,
        rounding_minutes: 0,
        billable_services: vec![],
        limits,
        limit_reaction: "refuse".into(),
        external_id: None,
    }
}

async fn prepare(db: &super::BenchDb, preload: usize) -> anyhow::Result<(String, String)> {
    let store = okno_store::open(&db.url).await?;
    let desk = okno_desk::Desk::start(store, okno_desk::Settings::new(db.dir.path().to_path_buf()))
        .await?;
    let client = desk
        .store
        .create_client("BENCH", "ООО «Нагрузка»", None)
        .await?;
    let user = okno_store::NewUser {
        email: Email::parse("bench@bench.test")?,
        name: "Bench".into(),
        role: Role::Client,
        client_id: Some(client),
        lines: vec![],
        sees_organization: true,
        password_hash: None,
    };
    let user_id = desk.store.create_user(&user).await?;
    let tickets: Vec<NewTicket> = (0..preload)
        .map(|i| NewTicket {
            service: "question".into(),
            subject: format!("Вопрос №{i}"),
            description: "Сгенерированный тикет для нагрузочного теста.".into(),
            client_id: client,
            requester_id: user_id,
            draft: false,
        })
        .collect();
    desk.store.load_tickets(&tickets, Timestamp::now()).await?;
    let user = desk.store.user(user_id).await?.context("bench user")?;
    // Both clients have a contract in force (their tickets are registered); LIMITS's has
    // every ticket and hour limit, high enough never to be reached.
    let now = Timestamp::now();
    desk.store
        .save_contract(
            None,
            &bench_contract("BENCH-1", client, okno_store::Limits::default()),
            now,
        )
        .await?;
    let limited = desk
        .store
        .create_client("LIMITS", "ООО «Лимиты»", None)
        .await?;
    let limited_user = desk
        .store
        .create_user(&okno_store::NewUser {
            email: Email::parse("limits@bench.test")?,
            client_id: Some(limited),
            ..user_template(&user)
        })
        .await?;
    let many = Some(1_000_000_000);
    let limits = okno_store::Limits {
        tickets_per_contact_day: many,
        tickets_per_month: many,
        hours_per_month: many,
        license_keys: None,
    };
    desk.store
        .save_contract(None, &bench_contract("BENCH-2", limited, limits), now)
        .await?;
    let limited_user = desk.store.user(limited_user).await?.context("bench user")?;
    // Indexed here, so that the server does not spend the measured minutes on it.
    desk.search_catch_up().await?;
    // As after a quiet while: the index's watermark no longer asks to read the load again.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    desk.search_catch_up().await?;
    Ok((
        desk.create_token(&user).await?,
        desk.create_token(&limited_user).await?,
    ))
}

fn user_template(user: &User) -> okno_store::NewUser {
    okno_store::NewUser {
        email: user.email.clone(),
        name: user.name.clone(),
        role: user.role,
        client_id: user.client_id,
        lines: vec![],
        sees_organization: true,
        password_hash: None,
    }
}

async fn wait_until_up(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not come up")
}

/// The server under test, as one API client sees it.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn create(self, n: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/api/v1/tickets", self.base))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({
                "service": "question",
                "subject": format!("Не проводится документ №{n}"),
                "description": "При проведении реализации программа выдаёт ошибку блокировки.",
            }))
            .send()
            .await?;
        if response.status() != 201 {
            bail!(
                "create answered {}: {}",
                response.status(),
                response.text().await?
            );
        }
        Ok(started.elapsed())
    }

    async fn get(self, path: String) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if response.status() != 200 {
            bail!("{path} answered {}", response.status());
        }
        response.bytes().await?;
        Ok(started.elapsed())
    }
}

/// Runs `total` requests from `clients` concurrent loops; returns wall time and latencies.
async fn drive<F, Fut>(
    clients: usize,
    total: usize,
    request: F,
) -> anyhow::Result<(Duration, Vec<Duration>)>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Duration>> + Send,
{
    let started = Instant::now();
    let mut loops = Vec::new();
    for c in 0..clients {
        let request = request.clone();
        loops.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in (c..total).step_by(clients) {
                latencies.push(request(n).await?);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::with_capacity(total);
    for handle in loops {
        all.extend(handle.await??);
    }
    Ok((started.elapsed(), all))
}

fn percentile(latencies: &mut [Duration], p: f64) -> f64 {
    latencies.sort_unstable();
    let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
    latencies
        .get(index)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// CPU time (user and system) the process has used so far, in ms.
pub(super) fn cpu_ms(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("/proc stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i).context("/proc stat field")?.parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks of 10 ms.
    Ok((ticks(11)? + ticks(12)?) * 10.0)
}

/// The process's peak resident set (VmHWM), in MB.
fn peak_rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM in /proc status")?;
    Ok(kb / 1024.0)
}

/// What authorization costs a request: one policy decision (`okno_domain::policy::check`)
/// timed over every actor × action, and its share of a single-client GET's median.
fn authorization_cost(figures: &[Figure], quick: bool) -> Vec<Figure> {
    use okno_domain::policy::{self, Action, Actor, ActorKind};
    let rounds = if quick { 20_000 } else { 200_000 };
    let actors: Vec<Actor> = ActorKind::ALL
        .iter()
        .flat_map(|&kind| {
            [None, Some(accounts::TokenScope::Read)].map(|scope| Actor {
                kind,
                scope,
                line_lead: false,
            })
        })
        .collect();
    let started = Instant::now();
    let mut allowed = 0usize;
    for _ in 0..rounds {
        for &actor in &actors {
            for &action in Action::ALL {
                allowed += usize::from(
                    policy::check(std::hint::black_box(actor), std::hint::black_box(action))
                        .is_ok(),
                );
            }
        }
    }
    let checks = rounds * actors.len() * Action::ALL.len();
    std::hint::black_box(allowed);
    let check_ns = started.elapsed().as_nanos() as f64 / checks as f64;
    let mut out = vec![Figure::new("authz_check_ns", check_ns, "ns")];
    if let Some(get) = figures.iter().find(|f| f.name == "get_p50") {
        // A request makes one decision; a refusal builds its message, counted above too.
        let share = check_ns / (get.value * 1_000_000.0) * 100.0;
        out.push(Figure::new("authz_share_of_get_p50", share, "%").at_most(5.0));
    }
    out
}
