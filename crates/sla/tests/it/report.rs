//! Stage reports and paused deadline clocks.

use jiff::Timestamp;
use okno_sla::{Calendar, NormKind, Pause, StageTime, StageVisit, stage_times};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn ru_standard() -> (Calendar, okno_sla::SupportLevel) {
    let config = okno_sla::shipped::config().unwrap();
    let level = config.level("standard").unwrap().clone();
    (config.calendars.get("ru-standard").unwrap().clone(), level)
}

#[test]
fn working_time_per_stage_against_norms() {
    let (calendar, standard) = ru_standard();
    let visits = [
        StageVisit {
            stage: "classify",
            entered_at: at("2025-04-21T09:00:00+03:00"),
            left_at: at("2025-04-21T11:00:00+03:00"),
        },
        StageVisit {
            stage: "answer",
            entered_at: at("2025-04-21T11:00:00+03:00"),
            left_at: at("2025-04-22T10:00:00+03:00"),
        },
        StageVisit {
            stage: "classify",
            entered_at: at("2025-04-22T10:00:00+03:00"),
            left_at: at("2025-04-22T13:30:00+03:00"),
        },
        StageVisit {
            stage: "waiting",
            entered_at: at("2025-04-25T17:00:00+03:00"),
            left_at: at("2025-04-28T09:30:00+03:00"),
        },
    ];
    let report = stage_times(&calendar, visits, |stage| {
        standard.norm_minutes(NormKind::Stage(stage))
    });
    let stage = |stage: &str, spent_minutes: i64, norm_minutes: Option<i64>| StageTime {
        stage: stage.to_string(),
        spent_minutes,
        norm_minutes,
    };
    assert_eq!(
        report,
        [
            stage("classify", 120 + 180, Some(240)),
            stage("answer", 120 + 240 + 60, Some(1440)),
            stage("waiting", 60 + 30, None)
        ]
    );
    assert!(report[0].over_norm());
    assert!(!report[1].over_norm());
    assert!(!report[2].over_norm());
}

#[test]
fn paused_clock_moves_the_deadline() {
    let (calendar, _) = ru_standard();
    let start = at("2025-04-21T09:00:00+03:00");
    // One working hour passes, then the ticket waits on the client until Tuesday 10:00.
    let pause = Pause {
        from: at("2025-04-21T10:00:00+03:00"),
        until: at("2025-04-22T10:00:00+03:00"),
    };
    assert_eq!(
        calendar.due_with_pauses(start, 480, &[pause]),
        at("2025-04-22T15:00:00Z")
    );
    // The same by hand, as a caller keeping only "remaining minutes" would do it.
    let remaining = 480 - calendar.working_minutes_between(start, pause.from);
    assert_eq!(
        calendar.due(pause.until, remaining),
        at("2025-04-22T15:00:00Z")
    );
    // Pauses after the deadline, before the start, or empty change nothing.
    let late = Pause {
        from: at("2025-04-21T18:00:00+03:00"),
        until: at("2025-04-23T10:00:00+03:00"),
    };
    let early = Pause {
        from: at("2025-04-18T10:00:00+03:00"),
        until: at("2025-04-19T10:00:00+03:00"),
    };
    let empty = Pause {
        from: at("2025-04-21T11:00:00+03:00"),
        until: at("2025-04-21T11:00:00+03:00"),
    };
    assert_eq!(
        calendar.due_with_pauses(start, 480, &[late, early, empty]),
        calendar.due(start, 480)
    );
    // A pause over the start delays the start; overlapping pauses count once.
    let over_start = Pause {
        from: at("2025-04-18T10:00:00+03:00"),
        until: at("2025-04-21T12:00:00+03:00"),
    };
    let inside = Pause {
        from: at("2025-04-21T11:00:00+03:00"),
        until: at("2025-04-21T11:30:00+03:00"),
    };
    assert_eq!(
        calendar.due_with_pauses(start, 60, &[inside, over_start]),
        at("2025-04-21T10:00:00Z")
    );
    assert_eq!(calendar.due_with_pauses(start, 0, &[pause]), start);
}
