//! Several `okno serve` processes on one PostgreSQL database (issue 24): started together
//! with `--demo` on an empty database, both come up healthy and the demo firm is there once.

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PG_ENV: &str = "OKNO_TEST_DATABASE_URL";

/// A server process, stopped however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `postgres://user@host:port/db` with the database `name`.
fn database_url(admin: &str, name: &str) -> String {
    let base = admin.split('?').next().unwrap_or(admin);
    let authority = base.find("://").map_or(0, |i| i + 3);
    match base[authority..].find('/') {
        Some(slash) => format!("{}/{name}", &base[..authority + slash]),
        None => format!("{base}/{name}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_started_together_with_demo_share_one_demo_firm() {
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        eprintln!("{PG_ENV} is not set: skipping the PostgreSQL run");
        return;
    };
    let name = format!("okno_t_demo_race_{}", std::process::id());
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = database_url(&admin_url, &name);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let ports = [free_port(), free_port()];
    let mut servers: Vec<Server> = (0..2)
        .map(|i| {
            Server(
                Command::new(env!("CARGO_BIN_EXE_okno"))
                    .args(["serve", "--demo", "--database", &url, "--data"])
                    .arg(dirs[i].path())
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{}", ports[i]))
                    .env("OKNO_LOG", "warn")
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let http = reqwest::Client::new();
    let started = Instant::now();
    for (server, port) in servers.iter_mut().zip(ports) {
        loop {
            if let Some(status) = server.0.try_wait().unwrap() {
                panic!("the server on port {port} exited: {status}");
            }
            let healthy = http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the server on port {port} did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Both serve the demo logins.
    for port in ports {
        let login = http
            .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "client@alfa.demo", "password": "demo"}))
            .send()
            .await
            .unwrap();
        assert!(
            login.status().is_success(),
            "login on {port}: {}",
            login.status()
        );
    }
    let mut db = PgConnection::connect(&url).await.unwrap();
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    let admins = count("SELECT count(*) FROM users WHERE email = 'admin@demo.okno'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let clients = count("SELECT count(*) FROM clients WHERE code IN ('ALFA', 'BETA')")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let subjects =
        count("SELECT count(*) FROM tickets WHERE subject = 'Не формируется счёт-фактура'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!((admins, clients), (1, 2), "one demo firm");
    assert!(subjects >= 1, "the demo tickets are there");
    let loaded_once = subjects;
    db.close().await.unwrap();
    drop(servers);
    // One more start with --demo changes nothing.
    let port = free_port();
    let _third = Server(
        Command::new(env!("CARGO_BIN_EXE_okno"))
            .args(["serve", "--demo", "--database", &url, "--data"])
            .arg(dirs[0].path())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("OKNO_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while !http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(started.elapsed() < Duration::from_secs(120), "third start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut db = PgConnection::connect(&url).await.unwrap();
    let again = count("SELECT count(*) FROM tickets WHERE subject = 'Не формируется счёт-фактура'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(again, loaded_once);
    db.close().await.unwrap();
    drop(_third);
    let _ = sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
}
