//! The specialist's queue and its distribution (issue 5): task ranks from the priority
//! rules, the flags the rules read (urgent tickets, VIP clients, directors), and assigning
//! tickets to specialists by skills, service priority and load.
//!
//! The rules live in the desk; the store only carries their inputs out
//! ([`QueueStore::rank_inputs`]) and the packed ranks back in ([`QueueStore::set_ranks`]).

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::priority::RankInput;
use okno_domain::*;

/// One specialist as a candidate for a ticket, with what the choice rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    pub name: String,
    pub lines: Vec<Line>,
    pub skills: Vec<String>,
    /// The specialist's priority for the ticket's service (1 first); `None`: not set.
    pub service_priority: Option<i32>,
    pub comment: String,
    /// Open tasks assigned to them.
    pub open_tasks: i64,
    /// Minutes of tasks they planned in the window asked about.
    pub planned_minutes: i64,
}

/// A generated ticket for benchmarks ([`QueueStore::bulk_load`]).
#[derive(Debug, Clone)]
pub struct BulkTicket {
    pub service: String,
    pub subject: String,
    pub status: TicketStatus,
    pub classification: Option<Classification>,
    pub client: ClientId,
    pub requester: UserId,
    pub urgent: bool,
    pub created_at: Timestamp,
}

/// A generated task of the ticket at `ticket` (an index into the same call's tickets).
#[derive(Debug, Clone)]
pub struct BulkTask {
    pub ticket: usize,
    pub kind: &'static str,
    pub line: Option<Line>,
    pub pool: Option<&'static str>,
    pub assignee: Option<UserId>,
    pub due_at: Option<Timestamp>,
    pub priority: i32,
    pub state: TaskState,
    pub created_at: Timestamp,
    pub rank: i64,
}

/// The secondary indexes of tickets and tasks, dropped for a bulk load
/// ([`QueueStore::suspend_indexes`]) and created again by [`QueueStore::restore_indexes`].
#[derive(Debug)]
pub struct SuspendedIndexes(pub(crate) Vec<String>);

impl SuspendedIndexes {
    /// How many indexes were dropped.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One task of a bulk assignment and the specialists who may do it, in the order chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskAssignment {
    pub ticket: TicketId,
    pub task: TaskId,
    pub specialists: Vec<UserId>,
}

#[async_trait]
pub trait QueueStore: Send + Sync {
    /// What the rules read for each open task of these tickets.
    async fn rank_inputs(&self, tickets: &[TicketId]) -> Result<Vec<(TaskId, RankInput)>>;
    /// Open tasks whose rules have not run yet (rank still
    /// [`okno_domain::priority::UNRANKED`]), up to `limit`, with their inputs.
    async fn unranked_inputs(&self, limit: u32) -> Result<Vec<(TaskId, RankInput)>>;
    /// Every open task after `after` (by id), up to `limit`: a rule change ranks them anew.
    async fn open_rank_inputs(
        &self,
        after: Option<TaskId>,
        limit: u32,
    ) -> Result<Vec<(TaskId, RankInput)>>;
    async fn set_ranks(&self, ranks: &[(TaskId, i64)]) -> Result<()>;
    /// Bulk-loads generated tickets and their tasks in one transaction, bypassing history
    /// (benchmarks only): multi-row INSERTs through one prepared statement on SQLite, `COPY`
    /// on PostgreSQL.
    async fn bulk_load(&self, tickets: &[BulkTicket], tasks: &[BulkTask]) -> Result<()>;
    /// Drops the secondary indexes of tickets and tasks before a large bulk load: building
    /// an index once after the load is many times quicker than keeping it up row by row.
    async fn suspend_indexes(&self) -> Result<SuspendedIndexes>;
    /// Creates the suspended indexes again.
    async fn restore_indexes(&self, indexes: SuspendedIndexes) -> Result<()>;
    /// Refreshes the planner's statistics (after a bulk load).
    async fn analyze(&self) -> Result<()>;

    /// The client's URGENT mark on a ticket (kept in the ticket's history).
    async fn set_ticket_urgent(
        &self,
        ticket: TicketId,
        urgent: bool,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<()>;
    async fn set_client_vip(&self, client: ClientId, vip: bool) -> Result<()>;
    async fn set_user_director(&self, user: UserId, director: bool) -> Result<()>;
    /// Open tickets of a client / of tickets a user asked (whose ranks change with a flag).
    async fn open_tickets_of(
        &self,
        client: Option<ClientId>,
        requester: Option<UserId>,
    ) -> Result<Vec<TicketId>>;

    // Distribution (seed 003).
    async fn set_user_skills(&self, user: UserId, skills: &[String]) -> Result<()>;
    async fn set_service_skills(&self, service: &str, skills: &[String]) -> Result<()>;
    async fn service_skills(&self, service: &str) -> Result<Vec<String>>;
    async fn set_specialist_priority(
        &self,
        user: UserId,
        service: &str,
        priority: Option<i32>,
        comment: &str,
    ) -> Result<()>;
    /// Every active specialist, manager and admin with their priority for `service`, open
    /// tasks and minutes planned in `[from, until)`.
    async fn candidates(
        &self,
        service: &str,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<Candidate>>;
    /// A line lead assigns the tickets of the lines they work in, as a manager does.
    async fn set_line_lead(&self, user: UserId, lead: bool) -> Result<()>;
    async fn is_line_lead(&self, user: UserId) -> Result<bool>;
    /// How many tasks are open (what a full re-rank goes through).
    async fn open_task_count(&self) -> Result<u64>;
    /// Gives each task to its specialists: an unassigned task to the first, the others as
    /// co-assignees; one transaction, one history event per ticket. A task no longer open
    /// is left alone. Answers the tasks touched.
    async fn assign_tasks(
        &self,
        plan: &[TaskAssignment],
        by: UserId,
        at: Timestamp,
    ) -> Result<Vec<TaskId>>;
}
