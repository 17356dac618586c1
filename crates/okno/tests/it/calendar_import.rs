//! `okno calendar import FILE`: a newer production calendar loaded from the command line,
//! real processes on a temporary data dir.

use std::path::Path;
use std::process::{Command, Output};

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

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sla/tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_production_calendar_is_loaded_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();

    let xml = fixture("xmlcalendar-ru-2027.xml");
    let loaded = okno(&["calendar", "import", "--data", data, &xml]);
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    let out = text(&loaded.stdout);
    assert!(
        out.starts_with("holidays-ru version 2: xmlcalendar.ru XML loaded into calendars "),
        "{out}"
    );
    assert!(
        out.contains("nsk-standard") && out.contains("ru-standard"),
        "{out}"
    );
    assert!(
        out.contains("2027: 247 working days, 4 short, 1972 h at 40 h a week"),
        "{out}"
    );

    let csv = fixture("datagov-ru-2024-2027.csv");
    let loaded = okno(&["calendar", "import", "--data", data, &csv]);
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    let out = text(&loaded.stdout);
    assert!(
        out.starts_with("holidays-ru version 3: data.gov.ru CSV"),
        "{out}"
    );
    assert!(
        out.contains("2024: 248 working days, 5 short, 1979 h"),
        "{out}"
    );

    // A damaged file: its name and line, exit 2, nothing loaded.
    let damaged = dir.path().join("calendar.xml");
    let body = std::fs::read_to_string(&xml)
        .unwrap()
        .replace("d=\"11.05\"", "d=\"11.31\"");
    let line = body.lines().position(|l| l.contains("11.31")).unwrap() + 1;
    std::fs::write(&damaged, body).unwrap();
    let refused = okno(&[
        "calendar",
        "import",
        "--data",
        data,
        damaged.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stdout));
    let errors = text(&refused.stderr);
    assert!(
        errors.starts_with(&format!("{}:{line}: d=\"11.31\"", damaged.display())),
        "{errors}"
    );
    let missing = okno(&[
        "calendar",
        "import",
        "--data",
        data,
        "/nonexistent/calendar.xml",
    ]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("/nonexistent/calendar.xml"));

    // The next load is version 4: the refused one stored nothing.
    let loaded = okno(&["calendar", "import", "--data", data, &xml]);
    assert!(
        text(&loaded.stdout).starts_with("holidays-ru version 4:"),
        "{}",
        text(&loaded.stdout)
    );
}
