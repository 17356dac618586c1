//! `okno bench pages`: time to first byte and size of each workplace page, over the demo
//! firm plus 100,000 generated tickets (ALFA's), on SQLite or PostgreSQL (`--database`).
//! Targets (issue 8): p99 TTFB under 50 ms, no page over 300 KB.

use super::Figure;
use anyhow::{Context, bail};
use jiff::Timestamp;
use okno_domain::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub async fn run(quick: bool, db: &super::BenchDb) -> anyhow::Result<Vec<Figure>> {
    let (preload, requests) = if quick { (2_000, 20) } else { (100_000, 200) };
    prepare(db, preload).await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(db.dir.path())
        .args(["--database", &db.url])
        .env("OKNO_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the server")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    wait_until_up(&http, &base).await?;

    let pages = [
        ("client@alfa.demo", "portal", "/"),
        ("client@alfa.demo", "portal_ticket", "/tickets/OK-000001"),
        ("line1@demo.okno", "desk", "/desk"),
        ("line1@demo.okno", "task", "/tasks/1"),
        ("line1@demo.okno", "planning", "/planning"),
        (
            "client@alfa.demo",
            "new_ticket",
            "/tickets/new?service=question",
        ),
        ("line1@demo.okno", "staff_tickets", "/"),
        ("manager@demo.okno", "manager", "/manager"),
    ];
    let mut figures = Vec::new();
    for (email, name, path) in pages {
        let cookie = login(&http, &base, email).await?;
        let mut ttfb = Vec::with_capacity(requests);
        let mut size = 0;
        for _ in 0..requests {
            let started = Instant::now();
            let response = http
                .get(format!("{base}{path}"))
                .header("cookie", format!("okno_session={cookie}"))
                .send()
                .await?;
            ttfb.push(started.elapsed());
            if response.status() != 200 {
                bail!("{path} as {email} answered {}", response.status());
            }
            size = response.bytes().await?.len();
        }
        figures.push(Figure::new(format!("{name}_ttfb_p99"), p99(&mut ttfb), "ms").at_most(50.0));
        figures
            .push(Figure::new(format!("{name}_size"), size as f64 / 1024.0, "KB").at_most(300.0));
    }
    figures.push(Figure::new("preloaded_tickets", preload as f64, "tickets"));
    server.kill().await.ok();
    Ok(figures)
}

fn p99(latencies: &mut [Duration]) -> f64 {
    latencies.sort_unstable();
    let index = ((latencies.len() as f64 * 0.99).ceil() as usize).clamp(1, latencies.len()) - 1;
    latencies[index].as_secs_f64() * 1000.0
}

/// The demo firm, then `preload` generated tickets of ALFA's contact.
async fn prepare(db: &super::BenchDb, preload: usize) -> anyhow::Result<()> {
    let store = okno_store::open(&db.url).await?;
    let desk = okno_desk::Desk::start(store, okno_desk::Settings::new(db.dir.path().to_path_buf()))
        .await?;
    crate::demo::load(&desk).await?;
    let (contact, _) = desk
        .store
        .user_by_email(&Email::parse("client@alfa.demo")?)
        .await?
        .context("demo contact")?;
    let client = contact.client_id.context("demo contact's client")?;
    let tickets: Vec<NewTicket> = (0..preload)
        .map(|i| NewTicket {
            service: "question".into(),
            subject: format!("Вопрос №{i}"),
            description: "Сгенерированный тикет для замера страниц.".into(),
            client_id: client,
            requester_id: contact.id,
            draft: false,
        })
        .collect();
    desk.store.load_tickets(&tickets, Timestamp::now()).await?;
    Ok(())
}

async fn wait_until_up(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..400 {
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

/// Logs in through the form (demo password); returns the session cookie's value.
async fn login(http: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let form = http.get(format!("{base}/login")).send().await?;
    let login_cookie = cookie(form.headers(), "okno_login").context("login cookie")?;
    let html = form.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).context("csrf field")? + marker.len();
    let csrf = &html[start..start + html[start..].find('"').context("csrf end")?];
    let response = http
        .post(format!("{base}/login"))
        .header("cookie", format!("okno_login={login_cookie}"))
        .header("origin", base)
        .form(&[("email", email), ("password", "demo"), ("csrf", csrf)])
        .send()
        .await?;
    cookie(response.headers(), "okno_session").context("session cookie")
}

fn cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}
