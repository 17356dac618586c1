//! Hand-checked deadlines on the shipped calendars (Moscow is UTC+3 all year).

use jiff::Timestamp;
use okno_sla::{Calendar, SlaConfig};

fn config() -> SlaConfig {
    okno_sla::shipped::config().expect("shipped configuration is valid")
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("test instant")
}

fn calendar(code: &str) -> Calendar {
    config()
        .calendars
        .get(code)
        .expect("shipped calendar")
        .clone()
}

#[test]
fn hand_checked_deadlines_on_ru_standard() {
    let ru = calendar("ru-standard");
    // (case, from, working minutes, expected due)
    let cases = [
        (
            "Friday 17:30 + 2h runs into Monday",
            "2025-04-25T17:30:00+03:00",
            120,
            "2025-04-28T07:30:00Z",
        ),
        (
            "lunch is skipped",
            "2025-04-22T12:30:00+03:00",
            60,
            "2025-04-22T11:30:00Z",
        ),
        (
            "a full day ends at 18:00, not next morning",
            "2025-04-21T09:00:00+03:00",
            480,
            "2025-04-21T15:00:00Z",
        ),
        (
            "a morning ends at 13:00, not after lunch",
            "2025-04-21T09:00:00+03:00",
            240,
            "2025-04-21T10:00:00Z",
        ),
        (
            "Sunday starts Monday 09:00",
            "2025-04-20T15:00:00+03:00",
            60,
            "2025-04-21T07:00:00Z",
        ),
        (
            "before opening starts at 09:00",
            "2025-04-22T06:15:00+03:00",
            30,
            "2025-04-22T06:30:00Z",
        ),
        (
            "30 Apr is short, 1-4 May are off",
            "2025-04-30T16:00:00+03:00",
            120,
            "2025-05-05T07:00:00Z",
        ),
        (
            "8-11 May are off",
            "2025-05-07T17:00:00+03:00",
            120,
            "2025-05-12T07:00:00Z",
        ),
        (
            "Saturday 1 Nov 2025 works",
            "2025-10-31T17:00:00+03:00",
            120,
            "2025-11-01T07:00:00Z",
        ),
        (
            "1 Nov is short; 3-4 Nov are off",
            "2025-11-01T16:30:00+03:00",
            60,
            "2025-11-05T06:30:00Z",
        ),
        (
            "new year holidays 31 Dec - 11 Jan 2026",
            "2025-12-30T17:00:00+03:00",
            120,
            "2026-01-12T07:00:00Z",
        ),
        (
            "Saturday 27 Apr 2024 works",
            "2024-04-26T17:00:00+03:00",
            120,
            "2024-04-27T07:00:00Z",
        ),
        (
            "Saturday 28 Dec 2024 works a full day",
            "2024-12-28T08:00:00+03:00",
            480,
            "2024-12-28T15:00:00Z",
        ),
        (
            "3 working days over short 11 Jun and 12-15 Jun off",
            "2025-06-09T10:00:00+03:00",
            1440,
            "2025-06-16T08:00:00Z",
        ),
        (
            "23 Feb 2026 is a Monday holiday",
            "2026-02-20T17:00:00+03:00",
            120,
            "2026-02-24T07:00:00Z",
        ),
        (
            "zero minutes returns from unchanged",
            "2025-04-20T15:00:00+03:00",
            0,
            "2025-04-20T12:00:00Z",
        ),
    ];
    for (case, from, minutes, expected) in cases {
        assert_eq!(ru.due(at(from), minutes), at(expected), "{case}");
    }
}

#[test]
fn holidays_and_transfers_are_visible() {
    let ru = calendar("ru-standard");
    for holiday in [
        "2025-05-01",
        "2025-05-02",
        "2025-05-08",
        "2025-05-09",
        "2026-01-05",
        "2026-01-08",
        "2026-01-09",
    ] {
        assert!(
            !ru.is_working(at(&format!("{holiday}T12:00:00+03:00"))),
            "{holiday} is a holiday"
        );
    }
    for working in [
        "2025-11-01",
        "2024-04-27",
        "2024-11-02",
        "2024-12-28",
        "2026-01-12",
    ] {
        assert!(
            ru.is_working(at(&format!("{working}T12:00:00+03:00"))),
            "{working} works"
        );
    }
    assert!(!ru.is_working(at("2025-04-22T13:30:00+03:00")), "lunch");
    assert!(
        ru.is_working(at("2025-04-22T09:00:00+03:00")),
        "an interval includes its start"
    );
    assert!(
        !ru.is_working(at("2025-04-22T18:00:00+03:00")),
        "an interval excludes its end"
    );
    assert_eq!(
        ru.next_working_moment(at("2026-01-01T10:00:00+03:00")),
        at("2026-01-12T06:00:00Z")
    );
    assert_eq!(
        ru.next_working_moment(at("2025-04-22T10:00:00+03:00")),
        at("2025-04-22T07:00:00Z")
    );
}

/// The yearly totals match the official 40-hour-week norms for 2024 (1979 h), 2025
/// (1972 h), 2026 (1972 h) and 2027 (1972 h), which checks every holiday, transfer and
/// short day.
#[test]
fn yearly_working_hours_match_the_official_norms() {
    let ru = calendar("ru-standard");
    let hours = |year: i32| {
        let from = at(&format!("{year}-01-01T00:00:00+03:00"));
        let until = at(&format!("{}-01-01T00:00:00+03:00", year + 1));
        ru.working_minutes_between(from, until) / 60
    };
    assert_eq!(hours(2024), 1979);
    assert_eq!(hours(2025), 1972);
    assert_eq!(hours(2026), 1972);
    assert_eq!(
        hours(2027),
        1972,
        "the decree's 2027: 247 days, four of them short"
    );
}

/// The published 2027 calendar, not the draft: Saturday 20 February works (shortened, the last
/// working day before 21–23 February), Monday 22 February is off, and Saturday 13 November
/// rests. With the draft these deadlines were off by up to three days.
#[test]
fn deadlines_across_the_2027_transfers_follow_the_decree() {
    let ru = calendar("ru-standard");
    let cases = [
        (
            "Fri 19 Feb 17:00 + 2h: one hour on Friday, one on the working Saturday",
            "2027-02-19T17:00:00+03:00",
            120,
            "2027-02-20T07:00:00Z",
        ),
        (
            "Fri 19 Feb 17:00 + 8h ends when the short Saturday does, at 17:00",
            "2027-02-19T17:00:00+03:00",
            480,
            "2027-02-20T14:00:00Z",
        ),
        (
            "Sat 20 Feb 16:00 + 2h: its last hour, then 21-23 Feb are off",
            "2027-02-20T16:00:00+03:00",
            120,
            "2027-02-24T07:00:00Z",
        ),
        (
            "Sun 21 Feb + 1h starts on Wednesday 24 Feb",
            "2027-02-21T12:00:00+03:00",
            60,
            "2027-02-24T07:00:00Z",
        ),
        (
            "Tue 23 Feb 10:00 + 9h runs into Thursday",
            "2027-02-23T10:00:00+03:00",
            540,
            "2027-02-25T07:00:00Z",
        ),
        (
            "Fri 12 Nov 17:00 + 2h: Saturday 13 Nov rests",
            "2027-11-12T17:00:00+03:00",
            120,
            "2027-11-15T07:00:00Z",
        ),
        (
            "Sat 13 Nov + 1h starts on Monday 15 Nov",
            "2027-11-13T10:00:00+03:00",
            60,
            "2027-11-15T07:00:00Z",
        ),
        (
            "Wed 3 Nov is short, 4-7 Nov are off",
            "2027-11-03T16:00:00+03:00",
            120,
            "2027-11-08T07:00:00Z",
        ),
    ];
    for (case, from, minutes, expected) in cases {
        assert_eq!(ru.due(at(from), minutes), at(expected), "{case}");
    }
    for (day, works) in [
        ("2027-02-19", true),
        ("2027-02-20", true),
        ("2027-02-22", false),
        ("2027-02-23", false),
        ("2027-02-24", true),
        ("2027-11-05", false),
        ("2027-11-12", true),
        ("2027-11-13", false),
        ("2027-11-15", true),
        ("2027-12-31", false),
    ] {
        let noon = at(&format!("{day}T12:00:00+03:00"));
        assert_eq!(ru.is_working(noon), works, "{day}");
    }
    let saturday_end = at("2027-02-20T16:59:00+03:00");
    assert!(ru.is_working(saturday_end) && !ru.is_working(at("2027-02-20T17:00:00+03:00")));
    let nsk = calendar("nsk-standard");
    assert_eq!(
        nsk.due(at("2027-02-19T17:00:00+07:00"), 120),
        at("2027-02-20T03:00:00Z"),
        "Novosibirsk works the same Saturday"
    );
}

#[test]
fn working_minutes_between_counts_a_week() {
    let ru = calendar("ru-standard");
    let (monday, saturday) = (
        at("2025-04-21T00:00:00+03:00"),
        at("2025-04-26T00:00:00+03:00"),
    );
    assert_eq!(ru.working_minutes_between(monday, saturday), 5 * 480);
    assert_eq!(ru.working_minutes_between(saturday, monday), -5 * 480);
    assert_eq!(
        ru.working_minutes_between(
            at("2025-04-22T12:30:00+03:00"),
            at("2025-04-22T14:30:00+03:00")
        ),
        60
    );
}

#[test]
fn novosibirsk_and_round_the_clock() {
    let nsk = calendar("nsk-standard");
    assert_eq!(
        nsk.due(at("2025-04-21T09:00:00+07:00"), 480),
        at("2025-04-21T11:00:00Z")
    );
    assert_eq!(
        nsk.due(at("2025-04-30T16:00:00+07:00"), 120),
        at("2025-05-05T03:00:00Z")
    );
    let always = calendar("msk-24x7");
    assert_eq!(
        always.due(at("2025-05-03T10:00:00+03:00"), 120),
        at("2025-05-03T09:00:00Z")
    );
    assert_eq!(
        always.due(at("2025-12-31T23:00:00+03:00"), 30 * 24 * 60),
        at("2026-01-30T20:00:00Z")
    );
}

#[test]
fn support_level_deadlines() {
    use okno_sla::{Classification, NormKind};
    let config = config();
    let standard = config.default_level().expect("a default level");
    assert_eq!(standard.code, "standard");
    let friday = at("2025-04-25T17:30:00+03:00");
    let reaction = config
        .deadline(
            standard,
            friday,
            NormKind::Reaction(Classification::Question),
        )
        .unwrap();
    // 4h promised: 30 min on Friday + 3h30 on Monday morning → 12:30 MSK.
    assert_eq!(reaction.promised, at("2025-04-28T09:30:00Z"));
    // 80 min internal target: 30 min Friday + 50 min Monday.
    assert_eq!(reaction.internal, at("2025-04-28T06:50:00Z"));
    let critical = config
        .deadline(
            standard,
            friday,
            NormKind::Solution(Classification::Critical),
        )
        .unwrap();
    assert_eq!(critical.promised, at("2025-04-28T07:30:00Z"));
    assert_eq!(
        config.deadline(
            standard,
            friday,
            NormKind::Solution(Classification::Improvement)
        ),
        None
    );
    assert_eq!(
        standard.norm_minutes(NormKind::Solution(Classification::Question)),
        Some(3 * 480)
    );
    assert_eq!(
        standard.norm_minutes(NormKind::Stage("classify")),
        Some(240)
    );
    assert_eq!(
        standard.norm_minutes(NormKind::Stage("no-such-stage")),
        None
    );
    let premium = config.level("premium").unwrap();
    assert_eq!(
        premium.norm_minutes(NormKind::Reaction(Classification::Critical)),
        Some(30)
    );
}

#[test]
fn calendar_due_command() {
    let config = config();
    let due = |calendar: &str, from: &str, minutes: &str| {
        okno_sla::due_command(&config.calendars, calendar, from, minutes)
    };
    assert_eq!(
        due("ru-standard", "2025-04-25T17:30:00+03:00", "120").unwrap(),
        "2025-04-28T07:30:00Z"
    );
    assert_eq!(
        due("ru-standard", "2025-04-25T14:30:00Z", "120").unwrap(),
        "2025-04-28T07:30:00Z"
    );
    let unknown = due("nope", "2025-04-25T14:30:00Z", "1")
        .unwrap_err()
        .to_string();
    assert_eq!(
        unknown,
        "--calendar: unknown calendar `nope` (known: msk-24x7, nsk-standard, ru-standard)"
    );
    assert!(
        due("ru-standard", "2025-04-25 14:30", "1")
            .unwrap_err()
            .to_string()
            .starts_with("--from:")
    );
    assert!(
        due("ru-standard", "2025-04-25T14:30:00Z", "-5")
            .unwrap_err()
            .to_string()
            .starts_with("--minutes:")
    );
    assert!(due("ru-standard", "2025-04-25T14:30:00Z", "2h").is_err());
    for (from, minutes) in [
        ("2025-04-25T14:30:00Z", "9223372036854775807"),
        ("2025-04-25T14:30:00Z", "5270401"),
        ("9999-12-30T00:00:00Z", "1"),
        ("0001-01-01T00:00:00Z", "60"),
        ("2199-12-31T00:00:00Z", "5000000"),
    ] {
        let error = due("ru-standard", from, minutes).unwrap_err().to_string();
        assert!(error.starts_with("--minutes:"), "{from} {minutes}: {error}");
    }
    assert!(
        due("ru-standard", "2025-04-25T14:30:00Z", "5270400")
            .unwrap()
            .starts_with("2")
    );
}
