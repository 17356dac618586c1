//! The command line as scripts use it (CONTRACT.md): real processes on a temporary data dir.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn okno(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_okno"))
        .args(args)
        .env("OKNO_LOG", "warn")
        .output()
        .expect("run okno")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn users_and_tokens_are_made_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let migrated = okno(&["migrate", "--data", data]);
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));

    let client = okno(&[
        "client",
        "add",
        "--data",
        data,
        "--code",
        "alfa",
        "--name",
        "Альфа",
    ]);
    assert!(client.status.success(), "{}", text(&client.stderr));
    let add = |email: &str, role: &str, extra: &[&str]| {
        let mut args = vec![
            "user", "add", "--data", data, "--email", email, "--name", "Имя", "--role", role,
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--password", "pw"]);
        okno(&args)
    };
    assert!(
        add("c@alfa.test", "client", &["--client", "ALFA"])
            .status
            .success()
    );
    assert!(
        add("s@desk.test", "specialist", &["--line", "1", "--line", "2"])
            .status
            .success()
    );

    let duplicate = add("C@alfa.test", "client", &["--client", "ALFA"]);
    assert!(!duplicate.status.success());
    assert!(
        text(&duplicate.stderr).contains("email"),
        "{}",
        text(&duplicate.stderr)
    );
    let bad_role = add("x@desk.test", "boss", &[]);
    assert!(!bad_role.status.success());
    assert!(
        text(&bad_role.stderr).contains("--role"),
        "{}",
        text(&bad_role.stderr)
    );
    let bad_line = add("y@desk.test", "specialist", &["--line", "7"]);
    assert!(
        text(&bad_line.stderr).contains("line"),
        "{}",
        text(&bad_line.stderr)
    );
    let orphan = add("z@desk.test", "client", &[]);
    assert!(
        text(&orphan.stderr).contains("--client"),
        "{}",
        text(&orphan.stderr)
    );

    let token = okno(&["token", "create", "--data", data, "--email", "c@alfa.test"]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    let token = text(&token.stdout);
    assert_eq!(token.lines().count(), 1, "one line: {token:?}");
    assert!(token.trim().starts_with("okno_") && token.trim().len() > 40);
    let unknown = okno(&[
        "token",
        "create",
        "--data",
        data,
        "--email",
        "nobody@alfa.test",
    ]);
    assert!(!unknown.status.success());
}

#[test]
fn serve_refuses_a_taken_port_and_an_unreachable_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let refused = okno(&["serve", "--data", data, "--listen", &address]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("cannot listen"),
        "{}",
        text(&refused.stderr)
    );

    for (flag, value) in [
        ("--review-at", "25:00"),
        ("--auto-close-days", "0"),
        ("--at-risk-percent", "0"),
    ] {
        let bad = okno(&[
            "serve",
            "--data",
            data,
            "--listen",
            "127.0.0.1:0",
            flag,
            value,
        ]);
        assert!(!bad.status.success(), "{flag} {value} accepted");
        assert!(text(&bad.stderr).contains(flag), "{}", text(&bad.stderr));
    }

    let unreachable = okno(&[
        "serve",
        "--data",
        data,
        "--listen",
        "127.0.0.1:0",
        "--database",
        "postgres://nobody@127.0.0.1:1/none",
    ]);
    assert!(!unreachable.status.success());
    assert!(
        text(&unreachable.stderr).contains("cannot open the database"),
        "{}",
        text(&unreachable.stderr)
    );
}

fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut answer = String::new();
    stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && (answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"))
}

/// `serve --demo` twice on the same data: the demo firm is loaded once.
#[test]
fn the_demo_firm_loads_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for round in 0..2 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Command::new(env!("CARGO_BIN_EXE_okno"))
            .args([
                "serve",
                "--demo",
                "--data",
                data,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("OKNO_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        // The port accepts as soon as it is bound; the desk answers once the demo is loaded.
        while !healthy(port) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        if round == 1 {
            // Commands work beside a running server, which holds the search index: they
            // leave the indexing to it, and a rebuild is refused with the reason.
            let token = okno(&[
                "token",
                "create",
                "--data",
                data,
                "--email",
                "client@beta.demo",
            ]);
            assert!(token.status.success(), "{}", text(&token.stderr));
            let busy = okno(&["search", "reindex", "--data", data]);
            assert!(!busy.status.success());
            assert!(
                text(&busy.stderr).contains("another process"),
                "{}",
                text(&busy.stderr)
            );
        }
        server.kill().unwrap();
        server.wait().unwrap();
    }
    let reindexed = okno(&["search", "reindex", "--data", data]);
    assert!(reindexed.status.success(), "{}", text(&reindexed.stderr));
    let said = text(&reindexed.stdout);
    let counts: Vec<usize> = said
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        // The demo's shipped articles; it has no tickets yet.
        said.starts_with("reindexed") && counts.len() == 2 && counts[0] >= 3,
        "{said}"
    );
    let again = okno(&[
        "user",
        "add",
        "--data",
        data,
        "--email",
        "admin@demo.okno",
        "--name",
        "A",
        "--role",
        "admin",
        "--password",
        "x",
    ]);
    assert!(
        text(&again.stderr).contains("email"),
        "the demo admin exists once: {}",
        text(&again.stderr)
    );
    let token = okno(&[
        "token",
        "create",
        "--data",
        data,
        "--email",
        "client@beta.demo",
    ]);
    assert!(token.status.success(), "{}", text(&token.stderr));
}

/// `--config DIR` replaces the shipped configuration; a directory with an error is refused
/// with `file:line` and nothing starts on it.
#[test]
fn a_broken_configuration_is_refused_with_file_and_line() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let config = tempfile::tempdir().unwrap();
    for section in ["services", "workflows", "calendars", "support-levels"] {
        std::fs::create_dir_all(config.path().join(section)).unwrap();
        for entry in std::fs::read_dir(shipped.join(section)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(
                &path,
                config.path().join(section).join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let config_arg = config.path().to_str().unwrap();
    let add = okno(&[
        "client", "add", "--data", data, "--config", config_arg, "--code", "ALFA", "--name", "A",
    ]);
    assert!(
        add.status.success(),
        "the copied configuration works: {}",
        text(&add.stderr)
    );

    let calendar = config.path().join("calendars/ru-standard.toml");
    let broken = std::fs::read_to_string(&calendar)
        .unwrap()
        .replace("\"14:00-18:00\"", "\"12:00-18:00\"");
    std::fs::write(&calendar, broken).unwrap();
    let refused = okno(&[
        "client", "add", "--data", data, "--config", config_arg, "--code", "BETA", "--name", "B",
    ]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("ru-standard.toml:") && stderr.contains("overlap"),
        "{stderr}"
    );
    let check = okno(&["config", "check", config_arg]);
    assert!(!check.status.success());
    assert!(
        text(&check.stderr).contains("ru-standard.toml:"),
        "{}",
        text(&check.stderr)
    );
}

#[test]
fn queue_rerank_ranks_every_open_task_and_refuses_broken_rules() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let ranked = okno(&["queue", "rerank", "--data", data]);
    assert!(ranked.status.success(), "{}", text(&ranked.stderr));
    assert_eq!(text(&ranked.stdout).trim(), "ranked 0 open tasks");

    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let config = tempfile::tempdir().unwrap();
    for section in ["services", "workflows", "calendars", "support-levels"] {
        std::fs::create_dir_all(config.path().join(section)).unwrap();
        for entry in std::fs::read_dir(shipped.join(section)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(
                &path,
                config.path().join(section).join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    let rules = std::fs::read_to_string(shipped.join("priorities.toml"))
        .unwrap()
        .replace(r#"keys = ["arrival"]"#, r#"keys = ["arrival", "mood"]"#);
    std::fs::write(config.path().join("priorities.toml"), rules).unwrap();
    let refused = okno(&[
        "queue",
        "rerank",
        "--data",
        data,
        "--config",
        config.path().to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("priorities.toml:") && stderr.contains("mood"),
        "{stderr}"
    );
}

/// `okno simulate` (CONTRACT.md): a small firm for two working days keeps every promise,
/// and the same seed tells the same story.
#[test]
fn a_simulated_firm_keeps_its_promises() {
    let run = || {
        okno(&[
            "simulate",
            "--days",
            "2",
            "--seed",
            "7",
            "--specialists",
            "8",
            "--tickets-per-month",
            "600",
        ])
    };
    let first = run();
    let out = text(&first.stdout);
    assert!(
        first.status.success(),
        "violations:\n{out}\n{}",
        text(&first.stderr)
    );
    assert!(out.contains("figure simulated_days_per_min "), "{out}");
    let checked: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("figure invariants_checked "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(checked > 1_000, "{out}");
    assert!(!out.contains("violation "), "{out}");
    let story = |o: &str| {
        o.lines()
            .find(|l| l.starts_with("simulated "))
            .map(str::to_owned)
    };
    let again = run();
    assert_eq!(
        story(&out),
        story(&text(&again.stdout)),
        "same seed, same firm"
    );
}

/// `serve` stops cleanly on SIGTERM, as service managers stop it: exit 0, and the SQLite
/// WAL copied into the database (an empty or no `-wal` file left).
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_okno"))
        .args([
            "serve",
            "--demo",
            "--data",
            data,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("OKNO_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !healthy(port) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let wal = dir.path().join("okno.db-wal");
    assert!(
        wal.metadata().map_or(0, |m| m.len()) > 0,
        "the demo firm was written through the WAL"
    );
    let sent = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(20),
            "SIGTERM did not stop the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut said = String::new();
    std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut said).unwrap();
    assert!(status.success(), "{status}: {said}");
    assert!(said.contains("Okno stopped"), "{said}");
    assert_eq!(wal.metadata().map_or(0, |m| m.len()), 0, "WAL left behind");
}
