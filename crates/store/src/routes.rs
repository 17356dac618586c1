//! Routes: tickets moving through their workflows, and the tasks specialists work on.
//!
//! The workflow engine (okno-workflow) is pure: it returns effects. The desk turns them into
//! one [`TicketChange`] of plain data, and [`RouteStore::apply_change`] carries it out in one
//! transaction, guarded by the route state it was computed from, so two changes computed from
//! the same state can never both land.

use crate::{NewTask, Result};
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

/// One thing a route step does to a ticket, in order.
#[derive(Debug, Clone)]
pub enum ChangeStep {
    /// The route entered a stage (internal history).
    EnterStage(String),
    /// The client-facing status changes (public history, before/after).
    SetStatus(TicketStatus),
    /// Line 1's classification (public history).
    SetClassification(Classification),
    /// A public comment from the desk itself (no author), with an outbox notification.
    PublicMessage(String),
    /// A task row; `summary` is what was carried over into it.
    CreateTask(NewTask, Option<String>),
    /// Cancels the open task of this kind created by this stage.
    CancelTask { kind: String, stage: String },
    /// The route is over: `closed_at` is set and any task still open is cancelled.
    Close,
    /// A draft was sent: it counts as created now and the desk is told (outbox).
    Submitted,
    /// How a new ticket was taken (contracts and limits): not `registered` puts it in line
    /// 1's "to register" list; `over_limit` names the used-up limit (internal history).
    Admitted {
        registered: bool,
        over_limit: Option<String>,
    },
    /// A message taken in by mail, written in the change's own transaction (see
    /// [`crate::MailIn`]); its key taken in already fails the change with [`crate::MAIL_TAKEN`].
    Mail(Box<crate::MailIn>),
    /// A new ticket's registration particulars and equipment (contracts, seed 003).
    Register(Box<crate::Registration>),
    /// Counts a new ticket against its contract's usage counters, in the ticket's own
    /// transaction. A claim with a limit bumps its counter only while it is below the
    /// limit; a full one fails the whole change with [`crate::StoreError::LimitReached`],
    /// and nothing of it is written.
    ClaimUsage {
        contract: i64,
        claims: Vec<crate::UsageClaim>,
    },
    /// Anything else worth keeping in the history (an automatic step's result, say).
    Event {
        kind: String,
        detail: String,
        public: bool,
    },
}

/// A task finished as part of a change: only the assignee finishes it, only while open
/// (an unassigned task is taken by the one finishing it).
#[derive(Debug, Clone)]
pub struct TaskCompletion {
    pub task: TaskId,
    pub by: UserId,
    pub outcome: String,
    pub summary: Option<String>,
}

/// Everything one engine call does to a ticket, applied in one transaction.
#[derive(Debug, Clone)]
pub struct TicketChange {
    pub actor: Option<UserId>,
    pub at: Timestamp,
    /// The route state (JSON) the change was computed from. The change applies only if the
    /// ticket still has it; otherwise [`RouteStore::apply_change`] answers `Ok(None)` and
    /// the caller recomputes from the fresh state.
    pub from_route: String,
    /// The route state (JSON) after the change.
    pub route: String,
    pub complete: Option<TaskCompletion>,
    pub steps: Vec<ChangeStep>,
    /// `Some(x)` sets the ticket's next-step date to `x`; `None` leaves it.
    pub next_step_at: Option<Option<Timestamp>>,
    /// When given, the ticket's open tasks are ranked by these rules in the same
    /// transaction; otherwise new tasks wait unranked for the desk's ranking pass.
    pub rank: Option<std::sync::Arc<okno_domain::priority::PriorityRules>>,
}

/// An open task in a work queue, with the route state of its ticket (to find its stage's
/// outcomes and instructions in the workflow version the ticket runs on), its rank and
/// what the rank was computed from (to explain its place), and the ticket's calendar.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub task: Task,
    pub route: String,
    pub rank: i64,
    pub input: okno_domain::priority::RankInput,
    /// The ticket's (or its client's) calendar; `None`: the support level's.
    pub calendar: Option<String>,
}

/// Where a queue page ends: the sort key of its last task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCursor {
    pub rank: i64,
    pub id: TaskId,
}

impl QueueCursor {
    pub fn of(item: &QueueItem) -> Self {
        QueueCursor {
            rank: item.rank,
            id: item.task.id,
        }
    }

    /// `rank.id`, as [`QueueCursor::parse`] reads it.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.rank, self.id.0)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let (rank, id) = text.split_once('.')?;
        Some(QueueCursor {
            rank: rank.parse().ok()?,
            id: TaskId(id.parse().ok()?),
        })
    }
}

/// Whose queue: the user's own tasks (assigned or co-assigned) and the unassigned tasks of
/// the user's lines and role pools.
#[derive(Debug, Clone)]
pub struct QueueQuery {
    pub user: UserId,
    pub lines: Vec<Line>,
    pub pools: Vec<String>,
    pub after: Option<QueueCursor>,
    pub limit: u32,
}

/// A workflow file an admin published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowFile {
    pub code: String,
    pub version: u32,
    pub file_name: String,
    pub text: String,
}

/// A ticket as a route step reads it.
#[derive(Debug, Clone)]
pub struct RoutedTicket {
    pub ticket: Ticket,
    /// The route state (JSON; `{}` for a draft).
    pub route: String,
    /// The ticket's own calendar, else its client's.
    pub calendar: Option<String>,
    /// The requester's language, for the public messages a step writes.
    pub requester_locale: String,
}

#[async_trait]
pub trait RouteStore: Send + Sync {
    /// Creates a ticket with its route state and the route's first step, in one transaction.
    async fn create_routed_ticket(
        &self,
        ticket: &NewTicket,
        change: &TicketChange,
    ) -> Result<Ticket>;
    /// Applies a route step. `Ok(None)`: the ticket's route moved on since `from_route` was
    /// read; nothing changed. A task in `complete` that is not open or is someone else's is
    /// a conflict.
    async fn apply_change(&self, ticket: TicketId, change: &TicketChange)
    -> Result<Option<Ticket>>;
    /// A ticket (any visibility: callers check theirs) with what a route step needs, in one
    /// read.
    async fn routed_ticket(&self, id: TicketId) -> Result<Option<RoutedTicket>>;
    /// Tickets whose route waits for an automatic action and that have not changed since
    /// `idle_since` (the process running the action stopped), oldest first.
    async fn tickets_awaiting_action(
        &self,
        idle_since: Timestamp,
        limit: u32,
    ) -> Result<Vec<TicketId>>;
    async fn task(&self, id: TaskId) -> Result<Option<Task>>;
    /// A task and its routed ticket, in one read (completing a task needs both).
    async fn routed_task(&self, id: TaskId) -> Result<Option<(Task, RoutedTicket)>>;
    /// The work queue, in the order to take it: rank (from the priority rules, lower
    /// first), then id.
    async fn queue(&self, query: &QueueQuery) -> Result<Vec<QueueItem>>;
    /// Takes an open pool task: exactly one of concurrent takers wins, the others get a
    /// conflict.
    async fn take_task(&self, task: TaskId, user: UserId, at: Timestamp) -> Result<Task>;
    /// Gives an open task to another person.
    async fn reassign_task(
        &self,
        task: TaskId,
        to: UserId,
        by: UserId,
        at: Timestamp,
    ) -> Result<Task>;
    /// Moves an open task to another line's pool (unassigned): the ticket action "transfer",
    /// with its reason kept in the history (`after`: `line N: reason`) and added to the
    /// task's carried text, which the next line reads.
    async fn transfer_task(
        &self,
        task: TaskId,
        line: Line,
        reason: &str,
        by: UserId,
        at: Timestamp,
    ) -> Result<Task>;
    async fn add_coassignee(
        &self,
        task: TaskId,
        user: UserId,
        by: UserId,
        at: Timestamp,
    ) -> Result<()>;
    async fn coassignees(&self, task: TaskId) -> Result<Vec<UserId>>;
    async fn watchers(&self, ticket: TicketId) -> Result<Vec<UserId>>;

    /// The role pools a user takes tasks from.
    async fn set_user_pools(&self, user: UserId, pools: &[String]) -> Result<()>;
    async fn user_pools(&self, user: UserId) -> Result<Vec<String>>;

    /// Records a published workflow file; a version published before is a conflict.
    async fn save_workflow_file(
        &self,
        file: &WorkflowFile,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<()>;
    /// Published workflow files, oldest first.
    async fn workflow_files(&self) -> Result<Vec<WorkflowFile>>;

    /// A client's license-key allowance: `None` is no limit.
    async fn set_license_key_quota(&self, client: ClientId, quota: Option<i64>) -> Result<()>;
    /// Records an issued key if the client's allowance has room; `false` when it is used up.
    async fn issue_license_key(
        &self,
        client: ClientId,
        ticket: TicketId,
        key: &str,
        at: Timestamp,
    ) -> Result<bool>;
}
