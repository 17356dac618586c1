//! The deadline watch's rules: which facts about a ticket make an alert for the manager,
//! and what names the alert's cause (so each cause is raised once, however often the watch
//! looks).
//!
//! Pure: the jobs read a snapshot from the store, ask these functions, and raise what they
//! answer; the store drops an alert whose cause key it has seen.

use std::fmt;

use jiff::Timestamp;

use crate::calendar::Calendar;

/// Why the manager is alerted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A deadline passed with the work not done.
    Breached,
    /// Most of a deadline's working time (80% by default) is gone and nobody has touched
    /// the work.
    AtRisk,
    /// More specialist time went into a ticket than the configured limit (004: 10 hours).
    OverHours,
    /// A client's allowance (license keys) is used up.
    QuotaUsedUp,
    /// A contract's limit for a period (hours or tickets a month, tickets a contact a day)
    /// is used up.
    LimitUsedUp,
}

impl AlertKind {
    /// All kinds.
    pub const ALL: [AlertKind; 5] = [
        AlertKind::Breached,
        AlertKind::AtRisk,
        AlertKind::OverHours,
        AlertKind::QuotaUsedUp,
        AlertKind::LimitUsedUp,
    ];

    /// The stored code: `breached`, `at_risk`, `over_hours`, `quota_used_up`,
    /// `limit_used_up`.
    pub fn code(self) -> &'static str {
        match self {
            AlertKind::Breached => "breached",
            AlertKind::AtRisk => "at_risk",
            AlertKind::OverHours => "over_hours",
            AlertKind::QuotaUsedUp => "quota_used_up",
            AlertKind::LimitUsedUp => "limit_used_up",
        }
    }

    /// The kind with this code.
    pub fn parse(code: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watched {
    /// A task (its `due_at`), by id.
    Task(i64),
    /// A ticket's next-step date promised to the client, by id.
    Ticket(i64),
}

/// One deadline as the watch sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadlineSnapshot {
    /// Whose deadline.
    pub subject: Watched,
    /// When its clock started (the task's creation).
    pub started: Timestamp,
    /// The deadline.
    pub due: Timestamp,
    /// Whether anyone on our side has worked on it since it started.
    pub progressed: bool,
}

/// An alert the rules decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertDecision {
    /// Why.
    pub kind: AlertKind,
    /// Names the cause; the same cause always gives the same key, whenever it is noticed.
    pub cause_key: String,
}

/// Thresholds of the watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchRules {
    /// Share of a deadline's working time, in percent, after which untouched work is at
    /// risk (default 80).
    pub at_risk_percent: u8,
    /// Specialist minutes on one ticket that alert the manager (default 600: 10 hours).
    pub over_minutes: i64,
}

impl Default for WatchRules {
    fn default() -> WatchRules {
        WatchRules {
            at_risk_percent: 80,
            over_minutes: 600,
        }
    }
}

fn subject_key(subject: Watched) -> String {
    match subject {
        Watched::Task(id) => format!("task:{id}"),
        Watched::Ticket(id) => format!("ticket:{id}"),
    }
}

/// The instant at which `percent` of the working time between `started` and `due` has
/// passed (working time, not wall time: a deadline over a weekend is not at risk on
/// Sunday). `None` when the span holds no working time.
pub fn share_instant(
    calendar: &Calendar,
    started: Timestamp,
    due: Timestamp,
    percent: u8,
) -> Option<Timestamp> {
    let total = calendar.working_seconds_between(started, due);
    if total <= 0 {
        return None;
    }
    let share = (total * i64::from(percent.min(100)) + 99) / 100;
    Some(calendar.due_after_seconds(started.as_second(), share))
}

/// The alert a deadline calls for at `now`, if any: breached once `now` reaches `due`;
/// at risk once the rules' share of its working time is gone with no progress.
pub fn deadline_alert(
    rules: &WatchRules,
    calendar: &Calendar,
    deadline: &DeadlineSnapshot,
    now: Timestamp,
) -> Option<AlertDecision> {
    let subject = subject_key(deadline.subject);
    let due_ms = deadline.due.as_millisecond();
    if now >= deadline.due {
        return Some(AlertDecision {
            kind: AlertKind::Breached,
            cause_key: format!("breached:{subject}:{due_ms}"),
        });
    }
    if deadline.progressed {
        return None;
    }
    let at_risk = share_instant(
        calendar,
        deadline.started,
        deadline.due,
        rules.at_risk_percent,
    )?;
    (now >= at_risk).then(|| AlertDecision {
        kind: AlertKind::AtRisk,
        cause_key: format!("at_risk:{subject}:{due_ms}"),
    })
}

/// The alert for a ticket with `worked_minutes` of specialist time, if over the limit.
/// Raised once per ticket: a changed limit is no new cause for the same ticket.
pub fn hours_alert(rules: &WatchRules, ticket: i64, worked_minutes: i64) -> Option<AlertDecision> {
    (worked_minutes > rules.over_minutes).then(|| AlertDecision {
        kind: AlertKind::OverHours,
        cause_key: format!("over_hours:ticket:{ticket}"),
    })
}

/// The alert for a contract limit (`hours_per_month`, `tickets_per_month`,
/// `tickets_per_contact_day`) used up in `period` (`2026-12`; a day and a contact for the
/// daily limit): one per client, limit and period, whoever notices first — the deadline
/// watch adding up the month's hours, or a ticket arriving over the limit.
pub fn limit_alert(client: i64, limit: &str, period: &str) -> AlertDecision {
    AlertDecision {
        kind: AlertKind::LimitUsedUp,
        cause_key: format!("limit_used_up:client:{client}:{limit}:{period}"),
    }
}

/// The alert for a client's monthly hours limit, if `used_minutes` in `period` reach it.
pub fn hours_limit_alert(
    client: i64,
    period: &str,
    used_minutes: i64,
    limit_hours: i64,
) -> Option<AlertDecision> {
    (used_minutes >= limit_hours.saturating_mul(60))
        .then(|| limit_alert(client, "hours_per_month", period))
}

/// The alert for a client's allowance `quota` (e.g. `license_keys`) with `used` of
/// `limit` spent, if used up. Raised once per client, allowance and limit: raising the
/// limit and using it up again is a new cause.
pub fn quota_alert(client: i64, quota: &str, used: i64, limit: i64) -> Option<AlertDecision> {
    (used >= limit).then(|| AlertDecision {
        kind: AlertKind::QuotaUsedUp,
        cause_key: format!("quota_used_up:client:{client}:{quota}:{limit}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Schedule;
    use crate::interval::DailyInterval;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    /// Built once: laying out working time for 2020–2040 is the costly part.
    fn office() -> &'static Calendar {
        static OFFICE: std::sync::LazyLock<Calendar> = std::sync::LazyLock::new(build_office);
        &OFFICE
    }

    fn build_office() -> Calendar {
        let intervals: Vec<DailyInterval> = ["09:00-13:00", "14:00-18:00"]
            .iter()
            .map(|i| i.parse().unwrap())
            .collect();
        let zone = TimeZone::get("Europe/Moscow").unwrap();
        Calendar::new("office", Schedule::weekdays(zone, &intervals)).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn task(started: &str, due: &str, progressed: bool) -> DeadlineSnapshot {
        DeadlineSnapshot {
            subject: Watched::Task(7),
            started: at(started),
            due: at(due),
            progressed,
        }
    }

    #[test]
    fn at_risk_counts_working_time_not_wall_time() {
        let calendar = office();
        // Friday 17:00 → Monday 10:00 MSK: two working hours (Fri 17–18, Mon 9–10).
        let deadline = task(
            "2025-04-25T17:00:00+03:00",
            "2025-04-28T10:00:00+03:00",
            false,
        );
        // 80% of two working hours is 96 minutes: Monday 09:36. By wall time 80% of the
        // 65 hours would be Monday 05:00, when nobody works.
        assert_eq!(
            share_instant(calendar, deadline.started, deadline.due, 80),
            Some(at("2025-04-28T09:36:00+03:00"))
        );
        let rules = WatchRules::default();
        let sunday = at("2025-04-27T12:00:00+03:00");
        let monday_early = at("2025-04-28T05:00:00+03:00");
        assert_eq!(deadline_alert(&rules, calendar, &deadline, sunday), None);
        assert_eq!(
            deadline_alert(&rules, calendar, &deadline, monday_early),
            None
        );
        let alert =
            deadline_alert(&rules, calendar, &deadline, at("2025-04-28T09:36:00+03:00")).unwrap();
        assert_eq!(alert.kind, AlertKind::AtRisk);
        assert_eq!(
            alert.cause_key,
            format!("at_risk:task:7:{}", deadline.due.as_millisecond())
        );
    }

    #[test]
    fn progress_silences_the_risk_but_not_the_breach() {
        let calendar = office();
        let deadline = task(
            "2025-04-28T09:00:00+03:00",
            "2025-04-28T11:00:00+03:00",
            true,
        );
        let rules = WatchRules::default();
        assert_eq!(
            deadline_alert(&rules, calendar, &deadline, at("2025-04-28T10:59:00+03:00")),
            None
        );
        let breach =
            deadline_alert(&rules, calendar, &deadline, at("2025-04-28T11:00:00+03:00")).unwrap();
        assert_eq!(breach.kind, AlertKind::Breached);
    }

    #[test]
    fn a_deadline_in_non_working_time_only_breaches() {
        let calendar = office();
        let deadline = task(
            "2025-04-26T10:00:00+03:00",
            "2025-04-26T12:00:00+03:00",
            false,
        );
        let rules = WatchRules::default();
        assert_eq!(
            deadline_alert(&rules, calendar, &deadline, at("2025-04-26T11:59:00+03:00")),
            None
        );
        assert_eq!(
            deadline_alert(&rules, calendar, &deadline, at("2025-04-26T12:00:00+03:00"))
                .unwrap()
                .kind,
            AlertKind::Breached
        );
    }

    #[test]
    fn hours_and_quotas() {
        let rules = WatchRules::default();
        assert_eq!(hours_alert(&rules, 3, 600), None);
        let over = hours_alert(&rules, 3, 601).unwrap();
        assert_eq!(over.kind, AlertKind::OverHours);
        assert_eq!(over.cause_key, "over_hours:ticket:3");
        let stricter = WatchRules {
            over_minutes: 300,
            ..WatchRules::default()
        };
        assert_eq!(
            hours_alert(&stricter, 3, 601).unwrap().cause_key,
            over.cause_key,
            "one alert per ticket, whatever the limit"
        );
        assert_eq!(hours_limit_alert(5, "2026-12", 599, 10), None);
        let used_up = hours_limit_alert(5, "2026-12", 600, 10).unwrap();
        assert_eq!(used_up.kind, AlertKind::LimitUsedUp);
        assert_eq!(
            used_up.cause_key,
            "limit_used_up:client:5:hours_per_month:2026-12"
        );
        assert_eq!(
            used_up,
            limit_alert(5, "hours_per_month", "2026-12"),
            "the watch and an arriving ticket name the same cause"
        );
        assert_eq!(quota_alert(5, "license_keys", 2, 3), None);
        assert_eq!(
            quota_alert(5, "license_keys", 3, 3).unwrap().cause_key,
            "quota_used_up:client:5:license_keys:3"
        );
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.code()), Some(kind));
        }
    }

    fn instant() -> impl Strategy<Value = Timestamp> {
        // 2025-01-01 .. 2026-01-01, minute resolution.
        (0i64..525_600).prop_map(|m| Timestamp::from_second(1_735_678_800 + m * 60).unwrap())
    }

    proptest! {
        /// At risk only before the deadline, only without progress, and only when the
        /// working time gone is at least 80% of the deadline's working time.
        #[test]
        fn at_risk_means_eighty_percent_of_working_time(
            start in instant(), span in 1i64..20_000, offset in 0i64..20_000, progressed: bool,
        ) {
            let calendar = office();
            let due = Timestamp::from_second(start.as_second() + span * 60).unwrap();
            let now = Timestamp::from_second(start.as_second() + offset * 60).unwrap();
            let deadline = DeadlineSnapshot { subject: Watched::Task(1), started: start, due, progressed };
            let decision = deadline_alert(&WatchRules::default(), calendar, &deadline, now);
            match decision.map(|d| d.kind) {
                Some(AlertKind::Breached) => prop_assert!(now >= due),
                Some(AlertKind::AtRisk) => {
                    prop_assert!(now < due && !progressed);
                    let total = calendar.working_seconds_between(start, due);
                    let gone = calendar.working_seconds_between(start, now);
                    prop_assert!(gone * 100 >= total * 80, "gone {gone} of {total}");
                }
                Some(other) => prop_assert!(false, "unexpected {other}"),
                None => {
                    prop_assert!(now < due);
                    let total = calendar.working_seconds_between(start, due);
                    let gone = calendar.working_seconds_between(start, now);
                    prop_assert!(progressed || total == 0 || gone * 100 < total * 80,
                        "gone {gone} of {total} with no alert");
                }
            }
        }

        /// One cause, one key: the key does not depend on when the watch looks, so the
        /// store raises the alert once however many times it is decided.
        #[test]
        fn the_cause_key_does_not_depend_on_the_moment(
            start in instant(), span in 1i64..20_000, a in 0i64..40_000, b in 0i64..40_000,
        ) {
            let calendar = office();
            let due = Timestamp::from_second(start.as_second() + span * 60).unwrap();
            let deadline = DeadlineSnapshot { subject: Watched::Ticket(9), started: start, due, progressed: false };
            let rules = WatchRules::default();
            let look = |m: i64| deadline_alert(&rules, calendar, &deadline,
                Timestamp::from_second(start.as_second() + m * 60).unwrap());
            if let (Some(x), Some(y)) = (look(a), look(b)) {
                prop_assert_eq!(x.kind == y.kind, x.cause_key == y.cause_key);
            }
            // Once at risk, it stays at risk or breached as time goes on.
            let (early, late) = (a.min(b), a.max(b));
            if look(early).is_some() {
                prop_assert!(look(late).is_some());
            }
        }
    }
}
