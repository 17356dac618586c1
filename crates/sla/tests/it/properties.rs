//! Property tests of the deadline arithmetic on several kinds of calendars.

use std::sync::LazyLock;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use okno_sla::{Calendar, DailyInterval, Schedule};
use proptest::prelude::*;

fn intervals(texts: &[&str]) -> Vec<DailyInterval> {
    texts
        .iter()
        .map(|text| text.parse().expect("test interval"))
        .collect()
}

static RU_STANDARD: LazyLock<Calendar> = LazyLock::new(|| {
    let config = okno_sla::shipped::config().expect("shipped configuration is valid");
    config
        .calendars
        .get("ru-standard")
        .expect("shipped")
        .clone()
});

/// Office hours in Berlin, plus a Sunday interval that the DST changes cut into.
static BERLIN: LazyLock<Calendar> = LazyLock::new(|| {
    let mut schedule = Schedule::weekdays(
        TimeZone::get("Europe/Berlin").unwrap(),
        &intervals(&["09:00-13:00", "14:00-18:00"]),
    );
    schedule.week[6] = intervals(&["01:00-04:00"]);
    Calendar::new("berlin", schedule).unwrap()
});

/// Night shifts in New York, crossing midnight and the DST changes.
static NEW_YORK_NIGHTS: LazyLock<Calendar> = LazyLock::new(|| {
    let mut schedule = Schedule::weekdays(
        TimeZone::get("America/New_York").unwrap(),
        &intervals(&["22:00-06:00"]),
    );
    schedule.week[5] = intervals(&["22:00-06:00"]);
    Calendar::new("ny-nights", schedule).unwrap()
});

static ROUND_THE_CLOCK: LazyLock<Calendar> = LazyLock::new(|| {
    Calendar::new(
        "24x7",
        Schedule::around_the_clock(TimeZone::get("Europe/Moscow").unwrap()),
    )
    .unwrap()
});

/// ru-standard with only one year laid out in advance: everything else takes the
/// slow path, which must give the same answers.
static RU_ONE_YEAR: LazyLock<Calendar> = LazyLock::new(|| {
    Calendar::with_precomputed_years("ru-one-year", RU_STANDARD.schedule().clone(), 2025..=2025)
        .unwrap()
});

fn calendars() -> [&'static Calendar; 4] {
    [&RU_STANDARD, &BERLIN, &NEW_YORK_NIGHTS, &ROUND_THE_CLOCK]
}

/// Instants from 2023 to 2029, with seconds.
fn instant() -> impl Strategy<Value = Timestamp> {
    (1_672_531_200i64..1_861_920_000).prop_map(|s| Timestamp::from_second(s).unwrap())
}

/// From 15 minutes to 30 working days.
fn span_minutes() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..=120, 15i64..=30 * 480]
}

fn second_before(at: Timestamp) -> Timestamp {
    at - SignedDuration::from_secs(1)
}

/// ru-standard's rules written out directly, independent of the interval layout.
fn ru_standard_oracle(at: Timestamp) -> bool {
    let local = TimeZone::get("Europe/Moscow").unwrap().to_datetime(at);
    let days = &RU_STANDARD.schedule().special_days;
    let date: Date = local.date();
    let weekend = matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
    let works = days.working_days.contains(&date) || !(weekend || days.holidays.contains(&date));
    let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
    let end = if days.short_days.contains(&date) {
        17 * 60
    } else {
        18 * 60
    };
    works && ((9 * 60..13 * 60).contains(&minute) || (14 * 60..end).contains(&minute))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn due_lands_right_after_working_time(which in 0..4usize, from in instant(), minutes in span_minutes()) {
        let calendar = calendars()[which];
        let due = calendar.due(from, minutes);
        prop_assert!(due > from);
        prop_assert!(calendar.is_working(second_before(due)), "{} not working", second_before(due));
    }

    #[test]
    fn due_is_exact_and_earliest(which in 0..4usize, from in instant(), minutes in span_minutes()) {
        let calendar = calendars()[which];
        let due = calendar.due(from, minutes);
        prop_assert_eq!(calendar.working_minutes_between(from, due), minutes);
        prop_assert_eq!(calendar.working_seconds_between(from, due), minutes * 60);
        prop_assert_eq!(calendar.working_seconds_between(from, second_before(due)), minutes * 60 - 1);
    }

    #[test]
    fn adding_twice_is_adding_the_sum(which in 0..4usize, from in instant(), a in span_minutes(), b in span_minutes()) {
        let calendar = calendars()[which];
        prop_assert_eq!(calendar.due(calendar.due(from, a), b), calendar.due(from, a + b));
    }

    #[test]
    fn due_is_monotonic(which in 0..4usize, x in instant(), y in instant(), n in span_minutes(), m in span_minutes()) {
        let calendar = calendars()[which];
        let (x, y) = (x.min(y), x.max(y));
        let (n, m) = (n.min(m), n.max(m));
        prop_assert!(calendar.due(x, n) <= calendar.due(y, n));
        prop_assert!(calendar.due(x, n) <= calendar.due(x, m));
    }

    #[test]
    fn next_working_moment_is_working(which in 0..4usize, at in instant()) {
        let calendar = calendars()[which];
        let next = calendar.next_working_moment(at);
        prop_assert!(next >= at);
        prop_assert!(calendar.is_working(next));
        prop_assert_eq!(calendar.working_seconds_between(at, next), 0);
        prop_assert_eq!(calendar.due(at, 1), calendar.due(next, 1));
    }

    #[test]
    fn ru_standard_agrees_with_its_rules(at in instant()) {
        prop_assert_eq!(RU_STANDARD.is_working(at), ru_standard_oracle(at));
    }

    #[test]
    fn between_is_additive(which in 0..4usize, a in instant(), b in instant(), c in instant()) {
        let calendar = calendars()[which];
        let ab = calendar.working_seconds_between(a, b);
        prop_assert_eq!(ab + calendar.working_seconds_between(b, c), calendar.working_seconds_between(a, c));
        prop_assert_eq!(ab, -calendar.working_seconds_between(b, a));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Far from the precomputed years the slow path answers the same as the table.
    #[test]
    fn slow_path_matches_the_table(from in instant(), minutes in span_minutes(), other in instant()) {
        let (fast, slow) = (&*RU_STANDARD, &*RU_ONE_YEAR);
        prop_assert_eq!(slow.due(from, minutes), fast.due(from, minutes));
        prop_assert_eq!(slow.working_seconds_between(from, other), fast.working_seconds_between(from, other));
        prop_assert_eq!(slow.is_working(from), fast.is_working(from));
        prop_assert_eq!(slow.next_working_moment(from), fast.next_working_moment(from));
    }

    /// Outside every precomputed year (1900s, 2100s) the rules still hold.
    #[test]
    fn far_instants_still_work(years in prop_oneof![1900i64..1950, 2100i64..2200], offset in 0i64..31_536_000, minutes in span_minutes()) {
        let from = Timestamp::from_second((years - 1970) * 31_556_952 + offset).unwrap();
        for calendar in calendars() {
            let due = calendar.due(from, minutes);
            prop_assert!(calendar.is_working(second_before(due)));
            prop_assert_eq!(calendar.working_minutes_between(from, due), minutes);
        }
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn local_hours_survive_dst_changes() {
    let berlin = &*BERLIN;
    // Friday 17:30 CET: 30 min on Friday, then Sunday 01:00 CET (00:00Z).
    assert_eq!(
        berlin.due(at("2025-03-28T17:30:00+01:00"), 60),
        at("2025-03-30T00:30:00Z")
    );
    // 30 min Friday + 2h on the short Sunday + 30 min on Monday, 09:30 CEST (UTC+2).
    assert_eq!(
        berlin.due(at("2025-03-28T17:30:00+01:00"), 180),
        at("2025-03-31T07:30:00Z")
    );
    // 30 min Friday + 4h on the long Sunday + 30 min on Monday, 09:30 CET (UTC+1).
    assert_eq!(
        berlin.due(at("2025-10-24T17:30:00+02:00"), 300),
        at("2025-10-27T08:30:00Z")
    );
    let sunday = |date: &str| {
        let from = at(&format!("{date}T00:00:00Z")) - SignedDuration::from_hours(6);
        berlin.working_minutes_between(from, from + SignedDuration::from_hours(24))
    };
    // 01:00-04:00 local is 2h on the spring-forward night, 4h on the fall-back one.
    assert_eq!(sunday("2025-03-30"), 120);
    assert_eq!(sunday("2025-04-06"), 180);
    assert_eq!(sunday("2025-10-26"), 240);
}

#[test]
fn night_shifts_cross_midnight_and_dst() {
    let nights = &*NEW_YORK_NIGHTS;
    // Friday 22:00 EST to Saturday 06:00 EST: 8 hours.
    assert_eq!(
        nights.due(at("2025-03-07T12:00:00-05:00"), 8 * 60),
        at("2025-03-08T11:00:00Z")
    );
    assert!(nights.is_working(at("2025-03-08T02:00:00-05:00")));
    assert!(!nights.is_working(at("2025-03-08T07:00:00-05:00")));
    // Saturday 22:00 EST to Sunday 06:00 EDT: clocks jump forward, so 7 hours.
    let weekend = nights.working_minutes_between(
        at("2025-03-08T12:00:00-05:00"),
        at("2025-03-09T12:00:00-04:00"),
    );
    assert_eq!(weekend, 7 * 60);
    // Sunday night does not work: the next shift starts Monday 22:00 EDT.
    assert_eq!(
        nights.next_working_moment(at("2025-03-09T12:00:00-04:00")),
        at("2025-03-11T02:00:00Z")
    );
}

#[test]
fn instants_at_the_edge_of_time_do_not_panic() {
    for calendar in calendars() {
        assert_eq!(calendar.due(Timestamp::MAX, 60), Timestamp::MAX);
        assert!(!calendar.is_working(Timestamp::MAX));
        let near_end = at("9999-12-20T00:00:00Z");
        let _ = calendar.due(near_end, 30 * 480);
        let _ = calendar.due(Timestamp::MIN, 60);
        let _ = calendar.next_working_moment(Timestamp::MIN);
        let _ = calendar.working_minutes_between(at("9999-12-01T00:00:00Z"), Timestamp::MAX);
    }
}
