//! Read-only views for whoever audits the desk from outside its use cases: the firm
//! simulation's invariants (`okno simulate`) and operators' checks. Nothing here decides
//! anything; each row is what the database holds, so a check can compare it with what the
//! history and the configuration say it should be.

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

/// One outbox row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub created_at: Timestamp,
    pub attempts: i64,
    /// `None` once no further attempt is planned (a permanent failure).
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// A timer that is still running, with the state of the task it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningTimer {
    pub entry_id: i64,
    pub user: UserId,
    pub ticket: TicketId,
    pub task: Option<TaskId>,
    pub task_state: Option<TaskState>,
    pub started_at: Timestamp,
}

/// A task outside any route (alerts, reviews) with the role of whoever holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerTask {
    pub task: TaskId,
    pub ticket: TicketId,
    pub kind: String,
    pub pool: Option<String>,
    pub state: TaskState,
    pub assignee_role: Option<Role>,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Outbox rows with an id above `after`, oldest first, at most `limit`.
    async fn outbox_rows(&self, after: i64, limit: u32) -> Result<Vec<OutboxRow>>;
    /// Every running timer.
    async fn running_timers(&self) -> Result<Vec<RunningTimer>>;
    /// Tasks of `kinds` (e.g. alerts and daily reviews) created at or after `since`.
    async fn tasks_of_kinds(&self, kinds: &[&str], since: Timestamp) -> Result<Vec<ManagerTask>>;
}
