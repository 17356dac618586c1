//! Time tracking and planning (issue 5; seed 003's start/stop of work intervals): timers,
//! manual entries and their corrections, totals, planned tasks, calendar feeds, figures.

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

/// An interval of someone's work on a ticket (and task); a running timer has no stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeEntry {
    pub id: i64,
    pub user: UserId,
    pub ticket: TicketId,
    pub task: Option<TaskId>,
    pub started_at: Timestamp,
    pub stopped_at: Option<Timestamp>,
    /// Typed in by hand rather than from the timer.
    pub manual: bool,
    pub note: String,
}

impl TimeEntry {
    /// Seconds worked, counting a running timer up to `now`.
    pub fn seconds(&self, now: Timestamp) -> i64 {
        (self.stopped_at.unwrap_or(now).as_second() - self.started_at.as_second()).max(0)
    }
}

/// A correction of an entry, with what it was before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeEntryChange {
    pub entry: i64,
    pub by: UserId,
    pub at: Timestamp,
    pub before: (Option<Timestamp>, Option<Timestamp>),
    pub after: (Timestamp, Timestamp),
    pub reason: String,
}

/// What time totals are summed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeGroup {
    Task,
    Ticket,
    Client,
    User,
}

/// Which entries count: all filters that are set must hold; entries overlapping
/// `[from, until)` count whole.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeFilter {
    pub user: Option<UserId>,
    pub ticket: Option<TicketId>,
    pub client: Option<ClientId>,
    pub task: Option<TaskId>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// A task put into someone's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTask {
    pub task: TaskId,
    pub ticket: TicketId,
    pub assignee: UserId,
    pub title: String,
    pub state: TaskState,
    pub planned_at: Timestamp,
    pub minutes: i64,
}

/// A specialist's figures over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PersonalCounts {
    /// Minutes of tasks planned in the period.
    pub planned_minutes: i64,
    /// Minutes of those planned tasks that are done.
    pub planned_done_minutes: i64,
    pub planned_tasks: i64,
    pub planned_done_tasks: i64,
    /// Tasks they completed in the period.
    pub closed: i64,
    /// Their open tasks past due at the end of the period (or now).
    pub overdue: i64,
    /// Tickets they completed a task on that went back to work after being resolved or
    /// closed, within the period (the seed's "errors").
    pub reopened: i64,
    /// Seconds logged in the period.
    pub logged_seconds: i64,
}

#[async_trait]
pub trait TimeStore: Send + Sync {
    /// Starts the user's timer on a task; a timer already running is stopped at `at` first.
    /// Answers the new entry and the stopped one. A task no longer open is a conflict: a
    /// task's timers stop when it is completed, cancelled or its ticket closes.
    async fn start_timer(
        &self,
        user: UserId,
        ticket: TicketId,
        task: Option<TaskId>,
        at: Timestamp,
    ) -> Result<(TimeEntry, Option<TimeEntry>)>;
    /// Stops the running timer; none running is a conflict.
    async fn stop_timer(&self, user: UserId, at: Timestamp) -> Result<TimeEntry>;
    async fn running_timer(&self, user: UserId) -> Result<Option<TimeEntry>>;
    /// Timers still running on a task that is no longer open: none while the rule above
    /// holds (what a check of "no timer on a finished task" reads).
    async fn timers_on_finished_tasks(&self) -> Result<Vec<TimeEntry>>;
    /// Adds a finished entry typed in by hand; one overlapping another of the user's is
    /// refused naming `started_at`.
    async fn log_time_entry(
        &self,
        user: UserId,
        ticket: TicketId,
        task: Option<TaskId>,
        span: (Timestamp, Timestamp),
        note: &str,
        at: Timestamp,
    ) -> Result<TimeEntry>;
    /// Moves an entry's bounds, keeping what it was in its history.
    async fn correct_time_entry(
        &self,
        entry: i64,
        span: (Timestamp, Timestamp),
        by: UserId,
        reason: &str,
        at: Timestamp,
    ) -> Result<TimeEntry>;
    async fn time_entry(&self, entry: i64) -> Result<Option<TimeEntry>>;
    async fn time_entry_changes(&self, entry: i64) -> Result<Vec<TimeEntryChange>>;
    /// A user's entries overlapping `[from, until)`, in order (the workday map).
    async fn time_entries(
        &self,
        user: UserId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<TimeEntry>>;
    /// Seconds per group key (an id), running timers counted up to `now`.
    async fn time_totals(
        &self,
        group: TimeGroup,
        filter: &TimeFilter,
        now: Timestamp,
    ) -> Result<Vec<(i64, i64)>>;

    /// Puts a task into its assignee's calendar (`None`: takes it out).
    async fn plan_task(&self, task: TaskId, plan: Option<(Timestamp, i64)>) -> Result<()>;
    /// Planned tasks starting in `[from, until)`, of one user or everyone.
    async fn planned_tasks(
        &self,
        user: Option<UserId>,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<PlannedTask>>;

    /// Replaces the user's calendar feed secret (stored as its hash).
    async fn set_calendar_feed(&self, user: UserId, token_hash: &str, at: Timestamp) -> Result<()>;
    async fn calendar_feed_user(&self, token_hash: &str) -> Result<Option<UserId>>;

    /// The user's figures over `[from, until)`.
    async fn personal_counts(
        &self,
        user: UserId,
        from: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<PersonalCounts>;
}
