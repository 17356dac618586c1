//! What the background jobs need from the database: job leases, alerts with their manager
//! tasks, the daily review, and the queries behind the deadline watch, auto-close and the
//! SLA report.
//!
//! Several `okno serve` processes may share one database: a job runs only in the process
//! that claimed it ([`JobStore::claim_job`]), and an alert is raised once per cause
//! (`alerts.cause_key` is unique), whichever process noticed it first.

use crate::Result;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use okno_domain::*;

/// The role pool manager tasks (alerts, the daily review) are addressed to.
pub const MANAGER_POOL: &str = "manager";

/// The kind of the manager task an alert raises; it stands outside any route.
pub const ALERT_TASK: &str = "alert";

/// A job's row: when it runs next and how its last run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub name: String,
    pub run_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    pub locked_by: Option<String>,
    /// Failed runs in a row (0 after a success).
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_run_at: Option<Timestamp>,
}

/// An alert to raise: `cause_key` names the cause, so the same cause is raised only once.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub kind: String,
    pub ticket_id: TicketId,
    pub task_id: Option<TaskId>,
    pub cause_key: String,
    pub detail: String,
    /// The manager task's title.
    pub title: String,
    pub priority: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: i64,
    pub kind: String,
    pub ticket_id: TicketId,
    pub task_id: Option<TaskId>,
    pub cause_key: String,
    pub detail: String,
    pub raised_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub manager_task_id: Option<TaskId>,
}

/// An open task with a deadline on a ticket whose clock runs, for the deadline watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedTask {
    pub task_id: TaskId,
    pub ticket_id: TicketId,
    pub kind: String,
    pub title: String,
    pub created_at: Timestamp,
    pub due_at: Timestamp,
    /// Someone on our side did something on the ticket since the task was created (took
    /// it, commented, changed something), or logged time on the task.
    pub progressed: bool,
    /// An open "at risk" alert exists for it already (the watch need not raise it again).
    pub at_risk_alerted: bool,
    /// The calendar the ticket's deadlines count in (`tickets.calendar`, else the
    /// client's); `None`: the support level's.
    pub calendar: Option<String>,
    /// The support level the ticket was registered with; `None`: the default level.
    pub support_level: Option<String>,
}

/// An open ticket whose promised next-step date has passed while its clock runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueTicket {
    pub ticket_id: TicketId,
    pub subject: String,
    pub next_step_at: Timestamp,
    /// The ticket's (else its client's) calendar; `None`: the support level's.
    pub calendar: Option<String>,
    /// The support level the ticket was registered with; `None`: the default level.
    pub support_level: Option<String>,
}

/// An open ticket and the working time specialists logged on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketWork {
    pub ticket_id: TicketId,
    pub minutes: i64,
}

/// A client's allowance that is used up (license keys today), with the ticket that used
/// the last of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedUpQuota {
    pub client_id: ClientId,
    pub client_code: String,
    pub quota: String,
    pub limit: i64,
    pub used: i64,
    pub last_ticket_id: TicketId,
}

/// One line of the daily review: an open ticket, its status, whose side the ball is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    pub ticket_id: TicketId,
    pub subject: String,
    pub client_code: String,
    pub status: TicketStatus,
    pub next_step_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl BoardRow {
    /// Whose move it is: the client's while we wait for an answer or a confirmation.
    pub fn ball_on_client(&self) -> bool {
        okno_domain::review::Ball::of(self.status) == okno_domain::review::Ball::Theirs
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyReview {
    pub id: i64,
    /// The day (in the desk's calendar) it is for, `2026-11-25`.
    pub day: String,
    pub pool: String,
    pub body: String,
    pub created_at: Timestamp,
    pub done_at: Option<Timestamp>,
    /// The manager who went through it.
    pub done_by: Option<UserId>,
}

/// A ticket waiting on the client, with the messages that decide whether it auto-closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingTicket {
    pub ticket_id: TicketId,
    pub calendar: Option<String>,
    /// Our last public message (a staff member's or the desk's own).
    pub our_last_message_at: Timestamp,
    /// The client's last message, if any.
    pub client_last_message_at: Option<Timestamp>,
}

/// A ticket entering a workflow stage (history), for the SLA report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageEntry {
    pub stage: String,
    pub at: Timestamp,
}

/// What the SLA report needs of one ticket: its stage entries in order, when it closed,
/// and the clock pauses (from its status history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketTimeline {
    pub ticket_id: TicketId,
    pub classification: Option<Classification>,
    pub calendar: Option<String>,
    /// The support level the ticket was registered with; `None`: the default level.
    pub support_level: Option<String>,
    pub created_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub stages: Vec<StageEntry>,
    /// `(status, at)` of every status change, in order.
    pub statuses: Vec<(String, Timestamp)>,
}

/// A ticket whose deadline clock disagrees with its status: waiting on the client with the
/// clock running, or back on our side with it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockMismatch {
    pub ticket_id: TicketId,
    pub status: TicketStatus,
    /// When the status last changed (the instant the clock should have stopped or run).
    pub changed_at: Timestamp,
    pub paused_at: Option<Timestamp>,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Claims job `name` for `lease` when it is due at `now` and nobody holds it; its row is
    /// created on first sight, due at `first_run_at`. `None`: not due, or another process
    /// holds it. Atomic on both backends (one conditional `UPDATE`).
    async fn claim_job(
        &self,
        name: &str,
        worker: &str,
        now: Timestamp,
        lease: SignedDuration,
        first_run_at: Timestamp,
    ) -> Result<Option<JobRow>>;
    /// Releases a claimed job and schedules its next run; `error` counts a failed attempt.
    /// Does nothing when `worker` no longer holds it (its lease ran out and another took it).
    async fn finish_job(
        &self,
        name: &str,
        worker: &str,
        at: Timestamp,
        next_run_at: Timestamp,
        error: Option<&str>,
    ) -> Result<bool>;
    async fn job(&self, name: &str) -> Result<Option<JobRow>>;

    /// Open tasks with a deadline on open tickets whose clock runs (not waiting on the
    /// client), without a breach alert yet.
    async fn watched_tasks(&self) -> Result<Vec<WatchedTask>>;
    /// Tickets with a running clock whose next-step date is at or before `now`.
    async fn overdue_tickets(&self, now: Timestamp) -> Result<Vec<OverdueTicket>>;
    /// Open tickets with more than `minutes` of logged time (a running entry counts to
    /// `now`) and no "over hours" alert yet.
    async fn tickets_over_work(&self, minutes: i64, now: Timestamp) -> Result<Vec<TicketWork>>;
    /// Clients whose license-key allowance is used up.
    async fn used_up_quotas(&self) -> Result<Vec<UsedUpQuota>>;
    /// Records the alert and its manager task (pool [`MANAGER_POOL`]) in one transaction;
    /// `None` when this cause was raised before (nothing changes).
    async fn raise_alert(&self, alert: &NewAlert, at: Timestamp) -> Result<Option<Alert>>;
    async fn alerts(&self, open_only: bool) -> Result<Vec<Alert>>;
    /// The manager finished an alert's task (kind `alert`, outside any route): the task is
    /// done and its alert resolved, in one transaction. `false` if it was not an open
    /// alert task.
    async fn finish_alert_task(&self, task: TaskId, by: UserId, at: Timestamp) -> Result<bool>;
    async fn resolve_alert(&self, id: i64, at: Timestamp) -> Result<()>;

    /// Open tickets, oldest first, at most `limit` on each side of the ball (ours, the
    /// client's), for the daily review and the manager's board.
    async fn open_ticket_board(&self, limit: u32) -> Result<Vec<BoardRow>>;
    /// How many open tickets wait on us and how many on the client.
    async fn open_ticket_counts(&self) -> Result<(i64, i64)>;
    /// Stores the review of `day`; `None` when that day has one already.
    async fn create_daily_review(
        &self,
        day: &str,
        pool: &str,
        body: &str,
        at: Timestamp,
    ) -> Result<Option<DailyReview>>;
    /// The reviews, newest first.
    async fn daily_reviews(&self, limit: u32) -> Result<Vec<DailyReview>>;
    async fn daily_review(&self, id: i64) -> Result<Option<DailyReview>>;
    /// A manager went through the review: `false` when it is unknown or done already.
    async fn finish_daily_review(&self, id: i64, by: UserId, at: Timestamp) -> Result<bool>;

    /// Tickets waiting on the client where our last public message is the last word and
    /// was posted at or before `before`.
    async fn waiting_tickets(&self, before: Timestamp) -> Result<Vec<WaitingTicket>>;

    /// Logs specialist time (time tracking proper is issue 5's; the alert needs the sum).
    async fn add_time_entry(
        &self,
        user: UserId,
        ticket: TicketId,
        task: Option<TaskId>,
        started_at: Timestamp,
        stopped_at: Option<Timestamp>,
    ) -> Result<i64>;

    /// The calendar code a ticket's deadlines count in (`None`: the support level's).
    async fn ticket_calendar(&self, ticket: TicketId) -> Result<Option<String>>;
    /// The calendar a client's new tickets count in, if the client has one of its own.
    async fn client_calendar(&self, client: ClientId) -> Result<Option<String>>;
    /// Sets (or clears) a client's own calendar.
    async fn set_client_calendar(&self, client: ClientId, calendar: Option<&str>) -> Result<()>;
    /// Sets the calendar a ticket's deadlines count in.
    async fn set_ticket_calendar(&self, ticket: TicketId, calendar: Option<&str>) -> Result<()>;
    /// Stops the ticket's deadline clock at `at`; `false` if it was stopped already.
    async fn pause_ticket_clock(&self, ticket: TicketId, at: Timestamp) -> Result<bool>;
    /// Restarts the clock; answers when it had stopped (`None` if it was running).
    async fn resume_ticket_clock(
        &self,
        ticket: TicketId,
        at: Timestamp,
    ) -> Result<Option<Timestamp>>;
    /// Tickets whose clock must stop or run again to match their status.
    async fn clock_mismatches(&self) -> Result<Vec<ClockMismatch>>;
    /// Moves deadlines (after a pause, a reclassification): the ticket's next-step date
    /// and open tasks' due instants, with a history event each, in one transaction.
    async fn set_deadlines(
        &self,
        ticket: TicketId,
        next_step_at: Option<Timestamp>,
        tasks: &[(TaskId, Timestamp)],
        at: Timestamp,
    ) -> Result<()>;

    /// Stage and status history of tickets created in `[from, until)` (or of one ticket),
    /// for the SLA report.
    async fn ticket_timelines(
        &self,
        ticket: Option<TicketId>,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<TicketTimeline>>;
}
