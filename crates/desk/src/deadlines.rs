//! Deadlines on tickets and tasks: which norm applies, the due instants in working time, the
//! message that tells the client, the clock that stops while the ball is on the client's
//! side, and the SLA report (working time per stage against its norm).
//!
//! The rules are pure functions over [`SlaTerms`] (a support level and the calendar its
//! norms count in); the few `Desk` methods at the end read and write the store.
//!
//! # Calls the ticket and task use cases make (tickets.rs / tasks.rs)
//!
//! ```ignore
//! use crate::deadlines::{self, SlaTerms};
//!
//! // Opening a ticket (and submitting a draft): the reaction deadline, promised to the
//! // client as the next-step date and announced in a public message.
//! // The level the ticket was registered with (its contract's), in the client's calendar.
//! let terms = self.sla_terms(ticket_level.as_deref(), client_calendar.as_deref())?;
//! if let Some(reaction) = deadlines::reaction_deadline(&terms, None, created_at) {
//!     change.next_step_at = Some(Some(reaction.promised));
//!     change.steps.push(ChangeStep::PublicMessage(
//!         deadlines::reaction_message(&terms, reaction.promised, &requester.locale)));
//! }
//!
//! // Every task a route step creates: its due instant from the norms.
//! let due = deadlines::task_due(&terms, ticket.classification, task.stage.as_deref(),
//!                               task.norm, created_at);           // task.norm: okno_workflow::Norm
//! new_task.due_at = due.map(|d| d.internal);
//!
//! // After classification: the refined reaction deadline for the ticket.
//! let refined = deadlines::reaction_deadline(&terms, Some(classification), ticket.created_at);
//!
//! // The status moves to waiting_client (ball on the client's side) / back from it:
//! self.pause_clock(ticket.id, at).await?;
//! self.resume_clock(ticket.id, at).await?;   // moves next_step_at and open tasks' due_at
//!
//! // A task the client's answer brings back to a stage worked before the wait: its
//! // norm from when the stage started, less the time spent waiting on the client.
//! let (start, waits) = deadlines::clock_origin(&timeline.stages, &timeline.statuses, stage, at);
//! let due = deadlines::promised_deadline(&terms, classification, Some(stage), norm, start, &waits);
//!
//! // Greying a ticket whose calendar is not running now (lists, the ticket page):
//! let idle = deadlines::calendar_idle(terms.calendar, self.now());
//! ```

use crate::{Desk, Result};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use okno_domain::{Classification, DomainError, TaskState, TicketId, TicketStatus};
use okno_sla::{Calendar, Deadline, NormKind, SlaConfig, StageTime, StageVisit, SupportLevel};
use okno_store::TicketTimeline;
use okno_workflow::Norm;

/// The support level whose norms apply and the calendar they count in.
#[derive(Debug, Clone, Copy)]
pub struct SlaTerms<'a> {
    pub level: &'a SupportLevel,
    pub calendar: &'a Calendar,
}

impl<'a> SlaTerms<'a> {
    /// The level `level` (a contract's; `None` or unknown: the default level) and the
    /// calendar `calendar` (the ticket's or client's; `None` or unknown: the level's).
    pub fn resolve(
        sla: &'a SlaConfig,
        level: Option<&str>,
        calendar: Option<&str>,
    ) -> Option<SlaTerms<'a>> {
        let level = level
            .and_then(|code| sla.level(code))
            .or_else(|| sla.default_level())?;
        let calendar = match calendar.and_then(|code| sla.calendars.get(code).ok()) {
            Some(calendar) => calendar,
            None => sla.calendar_of(level).ok()?,
        };
        Some(SlaTerms { level, calendar })
    }

    fn deadline(&self, start: Timestamp, kind: NormKind<'_>) -> Option<Deadline> {
        self.level.deadline(self.calendar, start, kind)
    }
}

/// The SLA crate's twin of the domain's classification (same codes).
pub fn sla_classification(classification: Classification) -> okno_sla::Classification {
    match classification {
        Classification::Question => okno_sla::Classification::Question,
        Classification::Bug => okno_sla::Classification::Bug,
        Classification::Critical => okno_sla::Classification::Critical,
        Classification::Improvement => okno_sla::Classification::Improvement,
    }
}

/// The first-reaction deadline of a ticket created at `created_at`. Before line 1 has
/// classified it, a ticket is taken for a question (the usual case); after, its
/// classification's norm refines it. `None`: the level sets no reaction norm for it.
pub fn reaction_deadline(
    terms: &SlaTerms<'_>,
    classification: Option<Classification>,
    created_at: Timestamp,
) -> Option<Deadline> {
    let classification = sla_classification(classification.unwrap_or(Classification::Question));
    terms.deadline(created_at, NormKind::Reaction(classification))
}

/// The deadline of a task a route creates at `start`. The workflow's norm decides:
/// `none` — no deadline; a working duration (`2h`) — exactly that, for promise and target
/// alike; `reaction` / `solution` — the support level's norm for the task's stage if the
/// level has one, else its reaction or solution norm for the ticket's classification (a
/// question until classified). The task's `due_at` is the deadline's `internal` instant.
pub fn task_due(
    terms: &SlaTerms<'_>,
    classification: Option<Classification>,
    stage: Option<&str>,
    norm: Norm,
    start: Timestamp,
) -> Option<Deadline> {
    let classification = sla_classification(classification.unwrap_or(Classification::Question));
    match norm {
        Norm::None => None,
        Norm::WorkingMinutes(minutes) => {
            let due = terms.calendar.due(start, i64::from(minutes));
            Some(Deadline {
                promised: due,
                internal: due,
            })
        }
        Norm::Reaction | Norm::Solution => {
            if let Some(stage) = stage.filter(|s| terms.level.stages.contains_key(*s)) {
                return terms.deadline(start, NormKind::Stage(stage));
            }
            let kind = if norm == Norm::Reaction {
                NormKind::Reaction(classification)
            } else {
                NormKind::Solution(classification)
            };
            terms.deadline(start, kind)
        }
    }
}

const MONTHS_RU: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `25 ноября 2026, 14:30 (МСК)` / `25 November 2026, 14:30 (MSK)`: an instant in the
/// zone's wall time, with the zone named the way Russian clients read it (Moscow time,
/// or Moscow time plus hours; elsewhere the UTC offset).
pub fn format_instant(at: Timestamp, zone: &TimeZone, lang: &str) -> String {
    let local = at.to_zoned_datetime(zone.clone());
    let offset_seconds = local.offset().seconds();
    let russian = lang.starts_with("ru");
    let zone_name = if offset_seconds % 3600 != 0 {
        let sign = if offset_seconds < 0 { '-' } else { '+' };
        let minutes = offset_seconds.abs() / 60;
        format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    } else {
        let hours = offset_seconds / 3600;
        match (russian, hours - 3) {
            (true, 0) => "МСК".to_owned(),
            (true, d) => format!("МСК{d:+}"),
            (false, _) if hours == 3 => "MSK".to_owned(),
            (false, _) => format!("UTC{hours:+}"),
        }
    };
    let month = usize::try_from(local.month() - 1).unwrap_or(0);
    let months = if russian { &MONTHS_RU } else { &MONTHS_EN };
    format!(
        "{} {} {}, {:02}:{:02} ({zone_name})",
        local.day(),
        months[month],
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// The public message announcing the reaction deadline, in the client's language (`ru`
/// unless it is English), in the calendar's time zone.
pub fn reaction_message(terms: &SlaTerms<'_>, due: Timestamp, lang: &str) -> String {
    let zone = terms.calendar.time_zone();
    if lang.starts_with("en") {
        format!("We will answer you by {}.", format_instant(due, zone, "en"))
    } else {
        format!("Мы ответим вам до {}.", format_instant(due, zone, "ru"))
    }
}

/// The public message telling the client a new next-step date (`due` already written in
/// the client's words and zone), in the client's language.
pub fn next_step_message(due: &str, lang: &str) -> String {
    if lang.starts_with("en") {
        format!("The next step on your request will be taken by {due}.")
    } else {
        format!("Следующий шаг по вашему обращению — до {due}.")
    }
}

/// Working seconds of a deadline still ahead when its clock stops at `paused_at` (0 if it
/// had passed already).
pub fn remaining_at_pause(calendar: &Calendar, due: Timestamp, paused_at: Timestamp) -> i64 {
    calendar.working_seconds_between(paused_at, due).max(0)
}

/// The deadline after the clock ran again at `resumed_at`: the working time that was left
/// at the pause, counted from the resumption. A deadline already passed at the pause
/// stays where it was.
pub fn due_on_resume(
    calendar: &Calendar,
    due: Timestamp,
    paused_at: Timestamp,
    resumed_at: Timestamp,
) -> Timestamp {
    if due <= paused_at || resumed_at <= paused_at {
        return due;
    }
    let remaining = remaining_at_pause(calendar, due, paused_at);
    calendar.due_after_seconds(resumed_at.as_second(), remaining)
}

/// A deadline moved through the client's waits: each `(from, until)` span (in order)
/// stops the clock, and the working time still ahead at its start is counted again from
/// its end. Waits before `start` or after the deadline passed leave it where it is.
pub fn after_waits(
    calendar: &Calendar,
    due: Timestamp,
    waits: &[(Timestamp, Timestamp)],
) -> Timestamp {
    waits.iter().fold(due, |due, &(from, until)| {
        due_on_resume(calendar, due, from, until)
    })
}

/// The deadline of work of `norm` on `stage` whose clock started at `start` (see
/// [`clock_origin`]), less the time spent waiting on the client in `waits`: the level's
/// norm in the client's calendar (`terms`), pushed back by every wait after `start`.
/// `promised` is what the client is told (the ticket's next-step date); `internal` the
/// team's target. `None`: the norm sets no deadline. The route uses it for the tasks a
/// client's answer brings back; `okno simulate` uses it to check the promise independently.
pub fn promised_deadline(
    terms: &SlaTerms<'_>,
    classification: Option<Classification>,
    stage: Option<&str>,
    norm: Norm,
    start: Timestamp,
    waits: &[(Timestamp, Timestamp)],
) -> Option<Deadline> {
    let due = task_due(terms, classification, stage, norm, start)?;
    let waits: Vec<_> = waits
        .iter()
        .copied()
        .filter(|&(from, _)| from >= start)
        .collect();
    Some(Deadline {
        promised: after_waits(terms.calendar, due.promised, &waits),
        internal: after_waits(terms.calendar, due.internal, &waits),
    })
}

/// The right instant a stage's clock counts from when the client's answer brings the
/// ticket back to `stage` at `at`, from its history (`stages`: entries in order;
/// `statuses`: `(status, at)` of every status change, in order): when the ticket first
/// entered `stage` before it waited on the client (through any earlier rounds of asking),
/// with the waits since, the last one ending at `at`. Any other step starts new work:
/// `(at, [])`, its norm from now.
pub fn clock_origin(
    stages: &[okno_store::StageEntry],
    statuses: &[(String, Timestamp)],
    stage: &str,
    at: Timestamp,
) -> (Timestamp, Vec<(Timestamp, Timestamp)>) {
    let waits = waiting_spans(statuses, at);
    let waiting = |t: Timestamp| waits.iter().any(|&(from, until)| t >= from && t < until);
    // The stages worked on our side; those entered during a wait are the waiting ones.
    let worked: Vec<_> = stages
        .iter()
        .filter(|e| e.at < at && !waiting(e.at))
        .collect();
    let Some(mut index) = worked.len().checked_sub(1) else {
        return (at, Vec::new());
    };
    if worked[index].stage != stage {
        return (at, Vec::new());
    }
    // Entered again at the end of a wait that began after the same stage: one stretch.
    while index > 0 {
        let (before, entry) = (worked[index - 1], worked[index]);
        let resumed = waits
            .iter()
            .any(|&(from, until)| until == entry.at && from >= before.at);
        if before.stage != stage || !resumed {
            break;
        }
        index -= 1;
    }
    let start = worked[index].at;
    let since: Vec<_> = waits
        .into_iter()
        .filter(|&(from, _)| from >= start)
        .collect();
    if since.last().is_none_or(|&(_, until)| until != at) {
        return (at, Vec::new());
    }
    (start, since)
}

/// Whether the calendar is not running at `now` (a ticket on it is shown greyed, 003).
/// The internal deadline moved into the working time of the team doing the task: the same
/// amount of work, counted in the team's calendar; the promise to the client stays.
pub fn count_in_team(
    due: Deadline,
    client: &Calendar,
    team: &Calendar,
    from: Timestamp,
) -> Deadline {
    let minutes = client.working_minutes_between(from, due.internal);
    Deadline {
        promised: due.promised,
        internal: team.due(from, minutes),
    }
}

pub fn calendar_idle(calendar: &Calendar, now: Timestamp) -> bool {
    !calendar.is_working(now)
}

/// Whether a ticket's deadline clock runs at `now`: the ball is on our side and its
/// calendar is running.
pub fn clock_running(status: TicketStatus, calendar: &Calendar, now: Timestamp) -> bool {
    matches!(status, TicketStatus::New | TicketStatus::InProgress) && calendar.is_working(now)
}

/// One ticket's SLA figures: working time per stage against the stage norm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSla {
    pub ticket_id: TicketId,
    pub stages: Vec<StageTime>,
    /// Working minutes the ticket waited on the client (not counted in any stage).
    pub waiting_client_minutes: i64,
}

impl TicketSla {
    pub fn over_norm(&self) -> bool {
        self.stages.iter().any(StageTime::over_norm)
    }
}

/// Working time per stage of one ticket until it closed (or `now`), leaving out the
/// time it waited on the client, against the level's stage norms.
pub fn ticket_sla(terms: &SlaTerms<'_>, timeline: &TicketTimeline, now: Timestamp) -> TicketSla {
    let end = timeline.closed_at.unwrap_or(now);
    let waiting = waiting_spans(&timeline.statuses, end);
    let mut visits = Vec::new();
    for (i, entry) in timeline.stages.iter().enumerate() {
        let left = timeline.stages.get(i + 1).map_or(end, |next| next.at);
        let mut from = entry.at;
        for &(pause_from, pause_until) in &waiting {
            if pause_until <= from || pause_from >= left {
                continue;
            }
            if pause_from > from {
                visits.push((entry.stage.as_str(), from, pause_from));
            }
            from = pause_until.max(from);
        }
        if from < left {
            visits.push((entry.stage.as_str(), from, left));
        }
    }
    let stages = okno_sla::stage_times(
        terms.calendar,
        visits
            .iter()
            .map(|&(stage, entered_at, left_at)| StageVisit {
                stage,
                entered_at,
                left_at,
            }),
        |stage| terms.level.norm_minutes(NormKind::Stage(stage)),
    );
    let waiting_client_minutes = waiting
        .iter()
        .map(|&(a, b)| terms.calendar.working_seconds_between(a, b))
        .sum::<i64>()
        / 60;
    TicketSla {
        ticket_id: timeline.ticket_id,
        stages,
        waiting_client_minutes,
    }
}

/// Spans the status was `waiting_client`, in order (a wait still going on ends at `end`).
pub fn waiting_spans(
    statuses: &[(String, Timestamp)],
    end: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    let mut spans = Vec::new();
    let mut since = None;
    for (status, at) in statuses {
        let waiting = status == TicketStatus::WaitingClient.as_str();
        match (since, waiting) {
            (None, true) => since = Some(*at),
            (Some(from), false) => {
                spans.push((from, *at));
                since = None;
            }
            _ => {}
        }
    }
    if let Some(from) = since.filter(|from| *from < end) {
        spans.push((from, end));
    }
    spans
}

impl Desk {
    /// The terms a ticket's deadlines follow: `level` from its contract (the default level
    /// without one), counted in `calendar` (the ticket's or client's; else the level's).
    pub fn sla_terms(&self, level: Option<&str>, calendar: Option<&str>) -> Result<SlaTerms<'_>> {
        SlaTerms::resolve(self.sla(), level, calendar).ok_or_else(|| {
            DomainError::Conflict(
                "no support level applies: configure a default level and its calendar".into(),
            )
            .into()
        })
    }

    /// The ticket's status moved to waiting on the client: its deadline clock stops.
    pub async fn pause_clock(&self, ticket: TicketId, at: Timestamp) -> Result<()> {
        self.store.pause_ticket_clock(ticket, at).await?;
        Ok(())
    }

    /// The client answered: the clock runs again, and the next-step date and every open
    /// task's deadline that waited move by the working time the ticket waited. Deadlines
    /// set after the pause began (by the route step that took the answer) were counted
    /// with the wait already and stay.
    pub async fn resume_clock(&self, ticket: TicketId, at: Timestamp) -> Result<()> {
        let Some(paused_at) = self.store.resume_ticket_clock(ticket, at).await? else {
            return Ok(());
        };
        let routed = self
            .store
            .routed_ticket(ticket)
            .await?
            .ok_or(DomainError::NotFound("ticket"))?;
        let terms = self.sla_terms(routed.support_level.as_deref(), routed.calendar.as_deref())?;
        let shift = |due: Timestamp| due_on_resume(terms.calendar, due, paused_at, at);
        let current = routed.ticket;
        let next_step = current
            .next_step_at
            .map(shift)
            .filter(|moved| Some(*moved) != current.next_step_at);
        let tasks: Vec<_> = self
            .store
            .tasks(ticket)
            .await?
            .into_iter()
            .filter(|t| t.state == TaskState::Open && t.created_at <= paused_at)
            .filter_map(|t| {
                let due = t.due_at?;
                let moved = shift(due);
                (moved != due).then_some((t.id, moved))
            })
            .collect();
        if next_step.is_some() || !tasks.is_empty() {
            self.store
                .set_deadlines(ticket, next_step, &tasks, at)
                .await?;
            self.rerank_tickets(&[ticket]).await?;
        }
        Ok(())
    }

    /// The ticket's promise as its client reads it, in the words of the desk's own
    /// messages: its next-step date in the zone of the calendar its deadlines count in.
    /// `None` while nothing is promised (no date, or the ball is not on our side).
    pub async fn promise_text(&self, ticket: TicketId, lang: &str) -> Result<Option<String>> {
        let Some(routed) = self.store.routed_ticket(ticket).await? else {
            return Ok(None);
        };
        let running = matches!(
            routed.ticket.status,
            TicketStatus::New | TicketStatus::InProgress
        );
        let (Some(due), true) = (routed.ticket.next_step_at, running) else {
            return Ok(None);
        };
        let terms = self.sla_terms(routed.support_level.as_deref(), routed.calendar.as_deref())?;
        Ok(Some(format_instant(due, terms.calendar.time_zone(), lang)))
    }

    /// SLA figures of one ticket (any visibility: callers check theirs).
    pub async fn ticket_sla(&self, ticket: TicketId, now: Timestamp) -> Result<TicketSla> {
        let timeline = self
            .store
            .ticket_timelines(Some(ticket), now, now)
            .await?
            .pop()
            .ok_or(DomainError::NotFound("ticket"))?;
        let terms = self.sla_terms(
            timeline.support_level.as_deref(),
            timeline.calendar.as_deref(),
        )?;
        Ok(ticket_sla(&terms, &timeline, now))
    }

    /// SLA figures of the tickets created in `[from, until)`, for the manager's dashboard.
    pub async fn sla_report(
        &self,
        from: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<TicketSla>> {
        let timelines = self.store.ticket_timelines(None, from, until).await?;
        timelines
            .iter()
            .map(|timeline| {
                let terms = self.sla_terms(
                    timeline.support_level.as_deref(),
                    timeline.calendar.as_deref(),
                )?;
                Ok(ticket_sla(&terms, timeline, now))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use okno_store::StageEntry;

    fn config() -> SlaConfig {
        okno_sla::shipped::config().unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_team_counts_the_same_work_in_its_own_hours() {
        let sla = config();
        let (moscow, novosibirsk) = (
            sla.calendars.get("ru-standard").unwrap(),
            sla.calendars.get("nsk-standard").unwrap(),
        );
        // Two working hours from Monday 15:00 MSK: 17:00 MSK for a Moscow team; the
        // Novosibirsk team (19:00 local, after hours) does them Tuesday 09:00–11:00 NSK.
        let from = at("2025-04-28T15:00:00+03:00");
        let due = Deadline {
            promised: at("2025-04-29T12:00:00+03:00"),
            internal: at("2025-04-28T17:00:00+03:00"),
        };
        let moved = count_in_team(due, moscow, novosibirsk, from);
        assert_eq!(moved.internal, at("2025-04-29T11:00:00+07:00"));
        assert_eq!(
            moved.promised, due.promised,
            "the promise to the client stays"
        );
        assert_eq!(count_in_team(due, moscow, moscow, from), due);
    }

    #[test]
    fn reaction_deadline_counts_working_time_and_refines_with_classification() {
        let sla = config();
        let terms = SlaTerms::resolve(&sla, None, None).unwrap();
        assert_eq!(terms.level.code, "standard");
        assert_eq!(terms.calendar.code(), "ru-standard");
        // Friday 17:30 MSK, 4 working hours: 30 min Friday, then Monday 09:00–12:30.
        let created = at("2025-04-25T17:30:00+03:00");
        let question = reaction_deadline(&terms, None, created).unwrap();
        assert_eq!(question.promised, at("2025-04-28T12:30:00+03:00"));
        // Internal target 1/3: 80 minutes: Friday 30, Monday 50.
        assert_eq!(question.internal, at("2025-04-28T09:50:00+03:00"));
        let critical = reaction_deadline(&terms, Some(Classification::Critical), created).unwrap();
        assert_eq!(critical.promised, at("2025-04-28T09:30:00+03:00"));
        assert_eq!(
            reaction_deadline(&terms, Some(Classification::Improvement), created),
            None
        );
    }

    #[test]
    fn task_norms() {
        let sla = config();
        let terms = SlaTerms::resolve(&sla, Some("standard"), Some("msk-24x7")).unwrap();
        let start = at("2025-04-26T10:00:00+03:00"); // a Saturday: 24/7 counts it
        let fixed = task_due(&terms, None, Some("fix"), Norm::WorkingMinutes(120), start).unwrap();
        assert_eq!(fixed.internal, at("2025-04-26T12:00:00+03:00"));
        assert_eq!(fixed.promised, fixed.internal);
        // The level's stage norm wins over the classification's: classify = 4h, target 80m.
        let classify = task_due(&terms, None, Some("classify"), Norm::Reaction, start).unwrap();
        assert_eq!(classify.promised, at("2025-04-26T14:00:00+03:00"));
        assert_eq!(classify.internal, at("2025-04-26T11:20:00+03:00"));
        // No stage norm: the classification's solution (critical: 2h).
        let solve = task_due(
            &terms,
            Some(Classification::Critical),
            Some("unknown-stage"),
            Norm::Solution,
            start,
        )
        .unwrap();
        assert_eq!(solve.promised, at("2025-04-26T12:00:00+03:00"));
        assert_eq!(task_due(&terms, None, None, Norm::None, start), None);
    }

    #[test]
    fn the_reaction_message_names_the_clients_time() {
        let sla = config();
        let moscow = SlaTerms::resolve(&sla, None, Some("ru-standard")).unwrap();
        let due = at("2026-11-25T11:30:00Z");
        assert_eq!(
            reaction_message(&moscow, due, "ru"),
            "Мы ответим вам до 25 ноября 2026, 14:30 (МСК)."
        );
        assert_eq!(
            reaction_message(&moscow, due, "en"),
            "We will answer you by 25 November 2026, 14:30 (MSK)."
        );
        let novosibirsk = SlaTerms::resolve(&sla, None, Some("nsk-standard")).unwrap();
        assert_eq!(
            reaction_message(&novosibirsk, due, "ru"),
            "Мы ответим вам до 25 ноября 2026, 18:30 (МСК+4)."
        );
        assert_eq!(
            reaction_message(&novosibirsk, due, "en"),
            "We will answer you by 25 November 2026, 18:30 (UTC+7)."
        );
    }

    #[test]
    fn the_clock_stops_while_the_client_is_asked() {
        let sla = config();
        let terms = SlaTerms::resolve(&sla, None, None).unwrap();
        let calendar = terms.calendar;
        // Due Tuesday 12:00; paused Monday 17:00 (1 h Monday + 3 h Tuesday left = 4 h).
        let due = at("2025-04-29T12:00:00+03:00");
        let paused = at("2025-04-28T17:00:00+03:00");
        assert_eq!(remaining_at_pause(calendar, due, paused), 4 * 3600);
        // The client answers Wednesday 10:00: 3 h + lunch → 14:00... 10–13 is 3 h, then 14–15.
        let resumed = at("2025-04-30T10:00:00+03:00");
        assert_eq!(
            due_on_resume(calendar, due, paused, resumed),
            at("2025-04-30T15:00:00+03:00")
        );
        // Same answer as the SLA crate's pause bookkeeping.
        let created = at("2025-04-28T09:00:00+03:00");
        let norm = calendar.working_minutes_between(created, due);
        assert_eq!(
            calendar.due_with_pauses(
                created,
                norm,
                &[okno_sla::Pause {
                    from: paused,
                    until: resumed
                }]
            ),
            at("2025-04-30T15:00:00+03:00")
        );
        // A deadline already passed at the pause does not move.
        let late = at("2025-04-28T16:00:00+03:00");
        assert_eq!(due_on_resume(calendar, late, paused, resumed), late);
        assert!(calendar_idle(calendar, at("2025-04-28T13:30:00+03:00")));
        assert!(!calendar_idle(calendar, at("2025-04-28T14:00:00+03:00")));
        assert!(clock_running(
            TicketStatus::New,
            calendar,
            at("2025-04-28T14:00:00+03:00")
        ));
        assert!(!clock_running(
            TicketStatus::WaitingClient,
            calendar,
            at("2025-04-28T14:00:00+03:00")
        ));
    }

    #[test]
    fn stage_report_leaves_out_waiting_on_the_client() {
        let sla = config();
        let terms = SlaTerms::resolve(&sla, None, None).unwrap();
        let timeline = TicketTimeline {
            ticket_id: TicketId(1),
            classification: None,
            calendar: None,
            support_level: None,
            created_at: at("2025-04-28T09:00:00+03:00"),
            closed_at: Some(at("2025-04-29T18:00:00+03:00")),
            stages: vec![
                StageEntry {
                    stage: "classify".into(),
                    at: at("2025-04-28T09:00:00+03:00"),
                },
                StageEntry {
                    stage: "answer".into(),
                    at: at("2025-04-28T15:00:00+03:00"),
                },
            ],
            statuses: vec![
                ("new".into(), at("2025-04-28T09:00:00+03:00")),
                ("waiting_client".into(), at("2025-04-28T10:00:00+03:00")),
                ("in_progress".into(), at("2025-04-28T12:00:00+03:00")),
                ("waiting_client".into(), at("2025-04-29T09:00:00+03:00")),
            ],
        };
        let report = ticket_sla(&terms, &timeline, at("2025-05-10T00:00:00Z"));
        // classify: 09–10 and 12–15 minus lunch = 1 + 2 = 3 h (norm 4 h).
        // answer: 15–18 Monday = 3 h; Tuesday waits on the client until closing.
        assert_eq!(report.stages.len(), 2);
        assert_eq!(report.stages[0].stage, "classify");
        assert_eq!(report.stages[0].spent_minutes, 180);
        assert_eq!(report.stages[0].norm_minutes, Some(240));
        assert_eq!(report.stages[1].stage, "answer");
        assert_eq!(report.stages[1].spent_minutes, 180);
        assert_eq!(report.waiting_client_minutes, 2 * 60 + 8 * 60);
        assert!(!report.over_norm());
    }
}
