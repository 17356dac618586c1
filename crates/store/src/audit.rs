//! Read-only views for whoever audits the desk from outside its use cases: the firm
//! simulation's invariants (`okno simulate`) and operators' checks. Nothing here decides
//! anything; each row is what the database holds, so a check can compare it with what the
//! history and the configuration say it should be.

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

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
    /// Every running timer.
    async fn running_timers(&self) -> Result<Vec<RunningTimer>>;
    /// Tasks of `kinds` (e.g. alerts and daily reviews) created at or after `since`.
    async fn tasks_of_kinds(&self, kinds: &[&str], since: Timestamp) -> Result<Vec<ManagerTask>>;
}
