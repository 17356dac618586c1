//! Every configuration mistake is reported as `file:line: message`.

use okno_sla::{CalendarCatalog, SlaConfig, SpecialDays};

const CALENDAR: &str = r#"code = "office"
name_ru = "Офис"
name_en = "Office"
time_zone = "Europe/Moscow"

[week]
monday = ["09:00-13:00", "14:00-18:00"]
"#;

const LEVEL: &str = r#"code = "basic"
name_ru = "Базовый"
name_en = "Basic"
calendar = "office"

[classifications.question]
reaction = "4h"
"#;

fn calendar_errors(files: &[(&str, &str)]) -> Vec<String> {
    let error = CalendarCatalog::load(files.iter().copied()).expect_err("the files have errors");
    error.0.iter().map(ToString::to_string).collect()
}

fn level_errors(levels: &[(&str, &str)]) -> Vec<String> {
    let error = SlaConfig::load([("office.toml", CALENDAR)], levels.iter().copied())
        .expect_err("the files have errors");
    error.0.iter().map(ToString::to_string).collect()
}

/// The shipped example with line `line` (1-based) replaced.
fn with_line(text: &str, line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

#[test]
fn valid_examples_load() {
    let config = SlaConfig::load([("office.toml", CALENDAR)], [("basic.toml", LEVEL)]).unwrap();
    assert!(config.level("basic").is_some());
    assert!(config.default_level().is_none());
}

#[test]
fn overlapping_intervals() {
    let text = with_line(CALENDAR, 7, r#"monday = ["09:00-13:00", "12:00-18:00"]"#);
    assert_eq!(
        calendar_errors(&[("cal/office.toml", &text)]),
        ["cal/office.toml:7: intervals 09:00-13:00 and 12:00-18:00 overlap"]
    );
}

#[test]
fn empty_interval() {
    let text = with_line(CALENDAR, 7, r#"monday = ["09:00-09:00"]"#);
    assert_eq!(
        calendar_errors(&[("office.toml", &text)]),
        [
            "office.toml:7: interval `09:00-09:00` is empty: its end equals its start (write 00:00-24:00 for a whole day)"
        ]
    );
}

#[test]
fn bad_time_syntax() {
    let text = CALENDAR.to_string() + "tuesday = [\n  \"09:00-13:00\",\n  \"9-18\",\n]\n";
    assert_eq!(
        calendar_errors(&[("office.toml", &text)]),
        ["office.toml:10: bad interval `9-18`: expected HH:MM-HH:MM, e.g. 09:00-13:00"]
    );
}

#[test]
fn unknown_time_zone() {
    let text = with_line(CALENDAR, 4, r#"time_zone = "Europe/Moskva""#);
    assert_eq!(
        calendar_errors(&[("office.toml", &text)]),
        [
            "office.toml:4: unknown time zone `Europe/Moskva`: use an IANA name such as Europe/Moscow"
        ]
    );
}

#[test]
fn unknown_field_and_toml_syntax() {
    let typo = with_line(CALENDAR, 7, r#"mondey = ["09:00-13:00"]"#);
    let errors = calendar_errors(&[("office.toml", &typo)]);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("office.toml:7: unknown field `mondey`"),
        "{}",
        errors[0]
    );
    let broken = with_line(CALENDAR, 3, "name_en = ");
    let errors = calendar_errors(&[("office.toml", &broken)]);
    assert!(errors[0].starts_with("office.toml:3: "), "{}", errors[0]);
}

#[test]
fn duplicate_calendar_codes() {
    let errors = calendar_errors(&[("a.toml", CALENDAR), ("b.toml", CALENDAR)]);
    assert_eq!(
        errors,
        ["b.toml:1: calendar code `office` is already defined at a.toml:1"]
    );
}

#[test]
fn holiday_list_errors() {
    let list = "# comment\n[2025]\nholidays = [\n  \"2025-01-01\",\n  \"2025-13-01\",\n  \"2024-12-31\",\n  \"1 May\",\n]\nworking_days = [\"2025-01-01\"]\n";
    let error = SpecialDays::parse("holidays-xx.toml", list).unwrap_err();
    let errors: Vec<String> = error.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "holidays-xx.toml:5: bad date `2025-13-01`: write YYYY-MM-DD",
            "holidays-xx.toml:6: 2024-12-31 is listed under [2025]",
            "holidays-xx.toml:7: bad date `1 May`: write YYYY-MM-DD",
            "holidays-xx.toml:9: 2025-01-01 is both a holiday and a working day",
        ]
    );
    let not_a_year =
        SpecialDays::parse("holidays-xx.toml", "\n[next]\nholidays = []\n").unwrap_err();
    assert_eq!(
        not_a_year.to_string(),
        "holidays-xx.toml:2: `[next]` is not a year: tables are years, e.g. [2025]"
    );
    let wrong_line =
        SpecialDays::parse("holidays-xx.toml", "[2025]\nholidays = [\"2025-01-01\"\n").unwrap_err();
    assert!(
        wrong_line.to_string().starts_with("holidays-xx.toml:2: "),
        "{wrong_line}"
    );
    let ok =
        SpecialDays::parse("holidays-xx.toml", "[2025]\nholidays = [\"2025-01-01\"]\n").unwrap();
    assert_eq!(ok.holidays.len(), 1);
}

#[test]
fn unknown_holiday_list_and_bad_shortening() {
    let text = CALENDAR.replace(
        "time_zone = \"Europe/Moscow\"\n",
        "time_zone = \"Europe/Moscow\"\nholidays = [\"holidays-xx.toml\"]\npre_holiday_shortening = \"1\"\n",
    );
    assert_eq!(
        calendar_errors(&[("office.toml", &text)]),
        [
            "office.toml:5: no holiday list `holidays-xx.toml` among the files (holiday lists are named holidays-*.toml)",
            "office.toml:6: norm `1` has no unit: write m (minutes), h (hours) or d (working days of 8h), e.g. 4h",
        ]
    );
}

#[test]
fn norm_without_unit_or_with_a_bad_unit() {
    let no_unit = with_line(LEVEL, 7, r#"reaction = "4""#);
    assert_eq!(
        level_errors(&[("basic.toml", &no_unit)]),
        [
            "basic.toml:7: norm `4` has no unit: write m (minutes), h (hours) or d (working days of 8h), e.g. 4h"
        ]
    );
    let bad_unit = LEVEL.to_string() + "solution = \"3w\"\n\n[stages]\nclassify = \"2 hours\"\n";
    assert_eq!(
        level_errors(&[("basic.toml", &bad_unit)]),
        [
            "basic.toml:8: norm `3w` has an unknown unit `w`: use m (minutes), h (hours) or d (working days of 8h)",
            "basic.toml:11: norm `2 hours` has an unknown unit `hours`: use m (minutes), h (hours) or d (working days of 8h)",
        ]
    );
}

#[test]
fn level_naming_an_unknown_calendar() {
    let text = with_line(LEVEL, 4, r#"calendar = "ofice""#);
    assert_eq!(
        level_errors(&[("basic.toml", &text)]),
        ["basic.toml:4: unknown calendar `ofice` (known: office)"]
    );
}

#[test]
fn duplicate_level_codes_and_defaults() {
    let default = LEVEL.replace(
        "calendar = \"office\"\n",
        "calendar = \"office\"\ndefault = true\n",
    );
    let other = default.replace("code = \"basic\"", "code = \"other\"");
    assert_eq!(
        level_errors(&[
            ("a.toml", &default),
            ("b.toml", &default),
            ("c.toml", &other)
        ]),
        [
            "b.toml:1: support level code `basic` is already defined at a.toml:1",
            "c.toml:5: only one support level may be the default; a.toml:5 already is",
        ]
    );
}

#[test]
fn bad_classification_and_internal_target() {
    let text = LEVEL.to_string() + "\n[classifications.question2]\nreaction = \"1h\"\n";
    let errors = level_errors(&[("basic.toml", &text)]);
    assert!(
        errors[0].starts_with("basic.toml:9: unknown field `question2`"),
        "{}",
        errors[0]
    );
    let target = LEVEL.replace(
        "calendar = \"office\"\n",
        "calendar = \"office\"\ninternal_target = \"3\"\n",
    );
    assert_eq!(
        level_errors(&[("basic.toml", &target)]),
        [
            "basic.toml:5: bad fraction `3`: write e.g. 1/3 (a share of the promised time, at most 1)"
        ]
    );
}

#[test]
fn all_errors_of_all_files_are_reported() {
    let calendar = with_line(CALENDAR, 4, r#"time_zone = "Nowhere/Special""#);
    let calendar = with_line(&calendar, 7, r#"monday = ["09:00-13:00", "25:00-26:00"]"#);
    let level = with_line(LEVEL, 7, r#"reaction = "4""#);
    let error = SlaConfig::load(
        [("office.toml", calendar.as_str())],
        [("basic.toml", level.as_str())],
    )
    .unwrap_err();
    let files: Vec<&str> = error.0.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(
        files,
        ["office.toml", "office.toml", "basic.toml", "basic.toml"],
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("office.toml:4: unknown time zone"));
    assert!(text.contains("office.toml:7: bad interval `25:00-26:00`"));
    assert!(text.contains("basic.toml:7: norm `4` has no unit"));
    assert!(text.contains("basic.toml:4: unknown calendar `office`"));
}

#[test]
fn teams_work_by_one_calendar_each() {
    let with_teams = |code: &str, teams: &str| {
        with_line(CALENDAR, 1, &format!("code = \"{code}\"\nteams = {teams}"))
    };
    let dev = with_teams("dev", r#"["line-3", "engineer"]"#);
    let catalog =
        CalendarCatalog::load([("office.toml", CALENDAR), ("dev.toml", dev.as_str())]).unwrap();
    assert_eq!(
        catalog.team_calendar("line-3").map(|c| c.code()),
        Some("dev")
    );
    assert_eq!(
        catalog.team_calendar("engineer").map(|c| c.code()),
        Some("dev")
    );
    assert!(
        catalog.team_calendar("line-1").is_none(),
        "a team without its own calendar"
    );

    let again = with_teams("night", r#"["engineer"]"#);
    let errors = calendar_errors(&[("dev.toml", dev.as_str()), ("night.toml", again.as_str())]);
    assert_eq!(
        errors,
        ["night.toml:2: team `engineer` already works by calendar `dev`"]
    );
    let bad = with_teams("odd", r#"["line-7", "Big Team"]"#);
    let errors = calendar_errors(&[("odd.toml", bad.as_str())]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().all(|e| e.starts_with("odd.toml:2: team `")),
        "{errors:?}"
    );
}
