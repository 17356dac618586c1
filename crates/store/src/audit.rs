//! The audit log (issue 22): administrative changes, append-only, read newest first.

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::UserId;
use okno_domain::audit::AuditAction;

/// One entry as it is written.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    pub actor: Option<UserId>,
    pub action: AuditAction,
    /// What changed, e.g. `user:12`, `token:5`.
    pub subject: String,
    /// JSON of the state before and after (`None`: there was none / there is none).
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: Option<UserId>,
    /// The actor's name when the entry is read (empty for a deleted user).
    pub actor_name: String,
    pub action: AuditAction,
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<()>;
    /// Entries with an id below `before` (all when `None`), newest first, at most `limit`.
    async fn audit_entries(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>>;
}
