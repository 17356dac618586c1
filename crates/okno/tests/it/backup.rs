//! `okno backup` under write load and `okno restore`: every ticket acknowledged before the
//! backup began is in the restored copy.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn okno(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_okno"))
        .args(args)
        .env("OKNO_LOG", "warn")
        .output()
        .unwrap()
}

/// The server process, stopped however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_write_load_restores_every_acknowledged_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Command::new(env!("CARGO_BIN_EXE_okno"))
        .args(["serve", "--demo", "--data", &data_arg, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("OKNO_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(server);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while !http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A client of its own, without a contract's daily limit.
    let added = okno(&[
        "client",
        "add",
        "--data",
        &data_arg,
        "--code",
        "LOAD",
        "--name",
        "Нагрузка",
    ]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    let added = okno(&[
        "user",
        "add",
        "--data",
        &data_arg,
        "--email",
        "load@load.test",
        "--name",
        "Нагрузка",
        "--role",
        "client",
        "--client",
        "LOAD",
        "--password",
        "load-test-1",
    ]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    let token = okno(&[
        "token",
        "create",
        "--data",
        &data_arg,
        "--email",
        "load@load.test",
    ]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    let token = text(&token.stdout).trim().to_owned();

    let acknowledged: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let body = serde_json::json!({"service": "question",
                    "subject": format!("Нагрузка {writer}-{n}"), "description": "проверка копии"});
                let response = http
                    .post(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let created: serde_json::Value = response.json().await.unwrap();
                assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
                let number =
                    okno_domain::TicketNumber::parse(created["id"].as_str().unwrap()).unwrap();
                acknowledged.lock().unwrap().push(number.0);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before: Vec<i64> = acknowledged.lock().unwrap().clone();
    let archive = dir.path().join("okno-backup.zip");
    let archive_arg = archive.to_str().unwrap().to_owned();
    let backup = {
        let data_arg = data_arg.clone();
        tokio::task::spawn_blocking(move || {
            okno(&["backup", "--data", &data_arg, "--to", &archive_arg])
        })
        .await
        .unwrap()
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    let after = acknowledged.lock().unwrap().len();
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    assert!(
        before.len() >= 10,
        "only {} tickets under load",
        before.len()
    );

    let restored = dir.path().join("restored");
    let restored_arg = restored.to_str().unwrap();
    let restore = okno(&[
        "restore",
        "--from",
        archive.to_str().unwrap(),
        "--data",
        restored_arg,
    ]);
    assert!(restore.status.success(), "{}", text(&restore.stderr));
    let again = okno(&[
        "restore",
        "--from",
        archive.to_str().unwrap(),
        "--data",
        restored_arg,
    ]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("not empty"),
        "{}",
        text(&again.stderr)
    );

    use sqlx::ConnectOptions;
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(restored.join("okno.db"))
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM tickets")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let ids: std::collections::HashSet<i64> = ids.into_iter().collect();
    let missing: Vec<_> = before.iter().filter(|id| !ids.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged tickets missing ({after} acknowledged in all)",
        missing.len(),
        before.len()
    );
}
