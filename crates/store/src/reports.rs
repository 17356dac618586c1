//! What the reports read (issue 21): settled facts of closed tickets (`report_tickets`,
//! `report_stages`), the flow's events, ratings, logged work and contracts, and managers'
//! report subscriptions. Every read is bounded by a period and an index on it.

use crate::{Contract, Result, StageEntry};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use okno_domain::*;

/// The tickets a report covers. `None` fields do not filter; line and specialist keep the
/// tickets that had a task on that line or of that specialist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    pub client: Option<ClientId>,
    pub service: Option<String>,
    pub line: Option<i64>,
    pub specialist: Option<UserId>,
}

/// A closed ticket with what settling it needs, read in one go for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleInput {
    pub ticket_id: TicketId,
    pub client_id: ClientId,
    pub service: String,
    pub classification: Option<String>,
    pub calendar: Option<String>,
    pub support_level: Option<String>,
    pub created_at: Timestamp,
    pub closed_at: Timestamp,
    pub line: Option<i64>,
    pub specialist: Option<UserId>,
    /// A deadline of the ticket (or one of its tasks) was breached.
    pub breached: bool,
    pub auto_closed: bool,
    pub stages: Vec<StageEntry>,
    /// `(before, after, at)` of every status change, in order.
    pub statuses: Vec<(Option<String>, String, Timestamp)>,
}

/// A settled ticket's figures, frozen when it closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    pub ticket_id: TicketId,
    pub client_id: ClientId,
    pub service: String,
    pub classification: Option<String>,
    pub line: Option<i64>,
    pub specialist: Option<UserId>,
    pub created_at: Timestamp,
    pub closed_at: Timestamp,
    pub reaction_minutes: Option<i64>,
    pub resolution_minutes: i64,
    pub deadline_met: bool,
    pub stages_over: i64,
    pub reopened: i64,
    pub auto_closed: bool,
    pub stages: Vec<StageFact>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageFact {
    pub stage: String,
    pub spent_minutes: i64,
    pub norm_minutes: Option<i64>,
}

/// A stage row of a settled ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRow {
    pub ticket_id: TicketId,
    pub stage: String,
    pub spent_minutes: i64,
    pub norm_minutes: Option<i64>,
}

/// A task completed in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub task_id: TaskId,
    pub ticket_id: TicketId,
    pub kind: String,
    pub stage: Option<String>,
    pub line: Option<i64>,
    pub assignee: Option<UserId>,
    pub created_at: Timestamp,
    pub due_at: Option<Timestamp>,
    pub completed_at: Timestamp,
    /// Minutes logged on the task (finished entries).
    pub logged_minutes: i64,
}

/// Which events of the history the flow report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEvent {
    Registered,
    Reopened,
    AutoClosed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRow {
    pub ticket_id: TicketId,
    pub client_id: ClientId,
    pub service: String,
    /// The specialist of the ticket's last completed task.
    pub specialist: Option<UserId>,
    pub score: i64,
    pub comment: String,
    pub rated_at: Timestamp,
}

/// A finished stretch of logged work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkSpanRow {
    pub client_id: ClientId,
    pub service: String,
    pub started_at: Timestamp,
    pub stopped_at: Timestamp,
}

/// Names the reports print instead of ids.
#[derive(Debug, Clone, Default)]
pub struct ReportNames {
    /// `(id, code, name, calendar)` of every client.
    pub clients: Vec<(ClientId, String, String, Option<String>)>,
    /// `(id, name)` of every staff member.
    pub staff: Vec<(UserId, String)>,
}

/// A generated history row: ticket, instant, kind, before, after.
pub type BulkEvent = (
    TicketId,
    Timestamp,
    &'static str,
    Option<&'static str>,
    Option<String>,
);

/// A generated finished time entry: user, ticket, task, start, stop.
pub type BulkEntry = (UserId, TicketId, Option<TaskId>, Timestamp, Timestamp);

/// A manager's report by mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub user_id: UserId,
    pub report: String,
    /// `weekly` or `monthly`.
    pub cadence: String,
    pub filters: String,
    pub next_run_at: Timestamp,
    pub last_sent_at: Option<Timestamp>,
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Closed tickets whose latest closing is not settled yet, oldest closing first.
    async fn unsettled_tickets(&self, limit: u32) -> Result<Vec<TicketId>>;
    async fn settle_inputs(&self, tickets: &[TicketId]) -> Result<Vec<SettleInput>>;
    /// Writes (or replaces) the facts of settled tickets in one transaction.
    async fn save_facts(&self, facts: &[TicketFacts], at: Timestamp) -> Result<()>;
    /// Settled tickets closed in `from..to`, in order of closing.
    async fn settled(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TicketFacts>>;
    /// Stage rows of settled tickets closed in `from..to`, at most `limit`.
    async fn settled_stages(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<StageRow>>;
    /// Tasks completed in `from..to`, at most `limit`, in order of completion.
    async fn completed_tasks(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<TaskRow>>;
    /// Creation instants of the tickets (drafts aside) created in `from..to`.
    async fn created_instants(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Timestamp>>;
    async fn flow_events(
        &self,
        event: FlowEvent,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Timestamp>>;
    /// Creation instants of the open tickets (the backlog).
    async fn backlog(&self, filter: &ReportFilter) -> Result<Vec<Timestamp>>;
    async fn ratings_between(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<RatingRow>>;
    async fn report_work_spans(
        &self,
        filter: &ReportFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<WorkSpanRow>>;
    /// Every contract in force on some day of `from..=to`.
    async fn contracts_in_force(&self, from: Date, to: Date) -> Result<Vec<Contract>>;
    /// `(contract id, counter, used)` of these counters (`month:YYYY-MM`) of these contracts.
    async fn usage_of(
        &self,
        contracts: &[i64],
        counters: &[String],
    ) -> Result<Vec<(i64, String, i64)>>;
    async fn report_names(&self) -> Result<ReportNames>;
    /// Bulk-loads generated history rows, finished time entries and ratings in one
    /// transaction (benchmarks only).
    async fn bulk_report_rows(
        &self,
        history: &[BulkEvent],
        entries: &[BulkEntry],
        ratings: &[(TicketId, UserId, i64, Timestamp)],
    ) -> Result<()>;

    async fn create_subscription(
        &self,
        user: UserId,
        report: &str,
        cadence: &str,
        filters: &str,
        next_run_at: Timestamp,
        at: Timestamp,
    ) -> Result<Subscription>;
    async fn subscriptions_of(&self, user: UserId) -> Result<Vec<Subscription>>;
    /// Deletes a subscription of the user; `false` when there was none.
    async fn delete_subscription(&self, user: UserId, id: i64) -> Result<bool>;
    async fn due_subscriptions(&self, now: Timestamp, limit: u32) -> Result<Vec<Subscription>>;
    /// Moves a subscription to its next run after a report went out.
    async fn subscription_sent(
        &self,
        id: i64,
        sent_at: Timestamp,
        next_run_at: Timestamp,
    ) -> Result<()>;
}
