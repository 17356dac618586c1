//! The audit log of administrative changes (issue 22): users and their roles, API tokens.
//! Written right after the change it records; read by admins only, newest first.

use crate::{Desk, Result};
use okno_domain::User;
use okno_domain::audit::AuditAction;
use okno_store::{AuditEntry, NewAuditEntry, UserChange};
use serde_json::{Value, json};

/// Reading the log.
pub struct Audit<'a> {
    desk: &'a Desk,
}

impl Desk {
    pub fn audit(&self) -> Audit<'_> {
        Audit { desk: self }
    }

    /// Records one administrative change by `actor`.
    pub(crate) async fn record_audit(
        &self,
        actor: &User,
        action: AuditAction,
        subject: String,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<()> {
        let entry = NewAuditEntry {
            at: self.now(),
            actor: Some(actor.id),
            action,
            subject,
            before,
            after,
        };
        Ok(self.store.record_audit(&entry).await?)
    }
}

impl Audit<'_> {
    /// Entries older than `before` (an entry id), newest first.
    pub async fn entries(
        &self,
        user: &User,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        crate::authorize(user, okno_domain::policy::Action::ReadAudit)?;
        Ok(self.desk.store.audit_entries(before, limit).await?)
    }
}

/// A user's settings as the log shows them.
pub(crate) fn user_json(change: &UserChange) -> Value {
    json!({
        "name": change.name,
        "role": change.role.as_str(),
        "client_id": change.client_id.map(|c| c.0),
        "lines": change.lines.iter().map(|l| l.get()).collect::<Vec<_>>(),
        "pools": change.pools,
        "active": change.active,
    })
}
