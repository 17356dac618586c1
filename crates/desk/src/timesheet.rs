//! Time tracking (seed 003: "start and stop work on a ticket register its intervals"):
//! one running timer per person, manual entries and corrections kept with their history,
//! totals per task, ticket, client, specialist and day, and a specialist's workday map.

use crate::{Desk, Result};
use jiff::Timestamp;
use okno_domain::*;
use okno_store::{TimeEntry, TimeEntryChange, TimeFilter, TimeGroup};

/// A timer change: the entry now running and the one it stopped.
#[derive(Debug, Clone)]
pub struct TimerStarted {
    pub started: TimeEntry,
    pub stopped: Option<TimeEntry>,
}

/// One task's intervals on a specialist's day.
#[derive(Debug, Clone)]
pub struct WorkdayRow {
    pub task: Option<TaskId>,
    pub ticket: TicketId,
    /// `(from, until)` clipped to the day; a running timer ends `now`.
    pub intervals: Vec<(Timestamp, Timestamp)>,
    pub seconds: i64,
}

/// A specialist's day: intervals per task on a timeline, and the day's total.
#[derive(Debug, Clone)]
pub struct Workday {
    pub user: UserId,
    pub from: Timestamp,
    pub until: Timestamp,
    pub rows: Vec<WorkdayRow>,
    pub seconds: i64,
}

fn staff(user: &User) -> Result<()> {
    if okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadTasks) {
        Ok(())
    } else {
        Err(DomainError::NotFound("time entry").into())
    }
}

/// Managers read and correct anyone's time (it is what their reports are made of).
fn managing(user: &User) -> bool {
    okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadReports)
}

/// A manual span: start before stop, neither in the future.
fn check_span(started: Timestamp, stopped: Timestamp, now: Timestamp) -> Result<()> {
    if started > now {
        return Err(FieldError::new("started_at", "the interval starts in the future").into());
    }
    if stopped > now {
        return Err(FieldError::new("stopped_at", "the interval ends in the future").into());
    }
    if stopped <= started {
        return Err(FieldError::new(
            "stopped_at",
            "the interval ends before it starts (a negative or zero duration)",
        )
        .into());
    }
    if stopped.as_second() - started.as_second() > 24 * 3600 {
        return Err(FieldError::new("stopped_at", "an interval is at most 24 hours").into());
    }
    Ok(())
}

impl Desk {
    async fn timed_task(&self, user: &User, task: TaskId) -> Result<Task> {
        // Through the task use case, so a task the user may not see is "not found".
        Ok(self.task(user, task).await?.task)
    }

    /// Starts the user's timer on a task; a timer already running stops now.
    pub async fn start_timer(&self, user: &User, task: TaskId) -> Result<TimerStarted> {
        staff(user)?;
        let task = self.timed_task(user, task).await?;
        let (started, stopped) = self
            .store
            .start_timer(user.id, task.ticket_id, Some(task.id), self.now())
            .await?;
        Ok(TimerStarted { started, stopped })
    }

    /// Stops the user's running timer; none running is a conflict (409).
    pub async fn stop_timer(&self, user: &User) -> Result<TimeEntry> {
        staff(user)?;
        Ok(self.store.stop_timer(user.id, self.now()).await?)
    }

    pub async fn running_timer(&self, user: &User) -> Result<Option<TimeEntry>> {
        staff(user)?;
        Ok(self.store.running_timer(user.id).await?)
    }

    /// A finished interval typed in by hand (422 naming the field: in the future, negative,
    /// overlapping another of the user's entries).
    pub async fn add_time_entry(
        &self,
        user: &User,
        task: TaskId,
        started: Timestamp,
        stopped: Timestamp,
        note: &str,
    ) -> Result<TimeEntry> {
        staff(user)?;
        let now = self.now();
        check_span(started, stopped, now)?;
        let task = self.timed_task(user, task).await?;
        let note = parse_text("note", note, 1000, false)?;
        Ok(self
            .store
            .log_time_entry(
                user.id,
                task.ticket_id,
                Some(task.id),
                (started, stopped),
                &note,
                now,
            )
            .await?)
    }

    /// Moves an entry's bounds (one's own, or anyone's for a manager); the entry's history
    /// keeps what it was.
    pub async fn correct_time_entry(
        &self,
        user: &User,
        entry: i64,
        started: Timestamp,
        stopped: Timestamp,
        reason: &str,
    ) -> Result<TimeEntry> {
        staff(user)?;
        let current = self.own_entry(user, entry).await?;
        let now = self.now();
        check_span(started, stopped, now)?;
        let reason = parse_text("reason", reason, 1000, true)?;
        Ok(self
            .store
            .correct_time_entry(current.id, (started, stopped), user.id, &reason, now)
            .await?)
    }

    async fn own_entry(&self, user: &User, entry: i64) -> Result<TimeEntry> {
        match self.store.time_entry(entry).await? {
            Some(e) if e.user == user.id || managing(user) => Ok(e),
            _ => Err(DomainError::NotFound("time entry").into()),
        }
    }

    /// An entry's corrections, oldest first.
    pub async fn time_entry_history(
        &self,
        user: &User,
        entry: i64,
    ) -> Result<Vec<TimeEntryChange>> {
        staff(user)?;
        let entry = self.own_entry(user, entry).await?;
        Ok(self.store.time_entry_changes(entry.id).await?)
    }

    /// Seconds per task, ticket, client or specialist. Specialists see their own time;
    /// managers anyone's.
    pub async fn time_totals(
        &self,
        user: &User,
        group: TimeGroup,
        mut filter: TimeFilter,
    ) -> Result<Vec<(i64, i64)>> {
        staff(user)?;
        if !managing(user) {
            filter.user = Some(user.id);
        }
        Ok(self.store.time_totals(group, &filter, self.now()).await?)
    }

    /// Seconds everyone logged on a ticket the user may see (the task page's 360°: the
    /// ticket's cost is everyone's time, not only the viewer's).
    pub async fn ticket_seconds(&self, user: &User, ticket: TicketId) -> Result<i64> {
        staff(user)?;
        let ticket = self.ticket(user, ticket).await?;
        let filter = TimeFilter {
            ticket: Some(ticket.id),
            ..TimeFilter::default()
        };
        let totals = self
            .store
            .time_totals(TimeGroup::Ticket, &filter, self.now())
            .await?;
        Ok(totals.into_iter().map(|(_, seconds)| seconds).sum())
    }

    /// Seconds per day (in the desk's time zone) over `[from, until)`, entries split at
    /// midnight.
    pub async fn time_per_day(
        &self,
        user: &User,
        who: UserId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<(jiff::civil::Date, i64)>> {
        staff(user)?;
        let who = if managing(user) { who } else { user.id };
        let zone = self.desk_zone();
        let now = self.now();
        let mut days: std::collections::BTreeMap<jiff::civil::Date, i64> = Default::default();
        for entry in self.store.time_entries(who, from, until).await? {
            let mut start = entry.started_at.max(from);
            let stop = entry.stopped_at.unwrap_or(now).min(until);
            while start < stop {
                let (_, day_end) = crate::planning::day_bounds(&zone, start);
                let end = stop.min(day_end);
                *days
                    .entry(start.to_zoned_datetime(zone.clone()).date())
                    .or_default() += end.as_second() - start.as_second();
                start = end;
            }
        }
        Ok(days.into_iter().collect())
    }

    /// A specialist's day on a timeline: intervals per task (seed 003's workday map).
    pub async fn workday(
        &self,
        user: &User,
        who: UserId,
        day: jiff::civil::Date,
    ) -> Result<Workday> {
        staff(user)?;
        let who = if managing(user) { who } else { user.id };
        let zone = self.desk_zone();
        let from = day
            .to_zoned_datetime(zone.clone())
            .map_err(|e| FieldError::new("day", e.to_string()))?
            .timestamp();
        let (_, until) = crate::planning::day_bounds(&zone, from);
        let now = self.now();
        let mut rows: Vec<WorkdayRow> = Vec::new();
        for entry in self.store.time_entries(who, from, until).await? {
            let span = (
                entry.started_at.max(from),
                entry.stopped_at.unwrap_or(now).min(until),
            );
            if span.1 <= span.0 {
                continue;
            }
            let seconds = span.1.as_second() - span.0.as_second();
            match rows
                .iter_mut()
                .find(|r| r.task == entry.task && r.ticket == entry.ticket)
            {
                Some(row) => {
                    row.intervals.push(span);
                    row.seconds += seconds;
                }
                None => rows.push(WorkdayRow {
                    task: entry.task,
                    ticket: entry.ticket,
                    intervals: vec![span],
                    seconds,
                }),
            }
        }
        let seconds = rows.iter().map(|r| r.seconds).sum();
        Ok(Workday {
            user: who,
            from,
            until,
            rows,
            seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_spans_name_the_bad_field() {
        let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let field = |r: Result<()>| match r {
            Err(crate::DeskError::Domain(DomainError::Invalid(e))) => e.field,
            other => panic!("{other:?}"),
        };
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            field(check_span(
                at("2026-11-25T13:00:00Z"),
                at("2026-11-25T14:00:00Z"),
                now
            )),
            "started_at"
        );
        assert_eq!(
            field(check_span(
                at("2026-11-25T11:00:00Z"),
                at("2026-11-25T12:30:00Z"),
                now
            )),
            "stopped_at"
        );
        assert_eq!(
            field(check_span(
                at("2026-11-25T11:00:00Z"),
                at("2026-11-25T10:00:00Z"),
                now
            )),
            "stopped_at"
        );
        assert!(check_span(at("2026-11-25T10:00:00Z"), at("2026-11-25T11:00:00Z"), now).is_ok());
    }
}
