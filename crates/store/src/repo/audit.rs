//! The SQL of [`AuditStore`].

use super::*;
use okno_domain::audit::AuditAction;

fn json(text: Option<String>) -> Result<Option<serde_json::Value>> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("audit JSON: {e}")))
    })
    .transpose()
}

#[async_trait]
impl AuditStore for Backend {
    async fn record_audit(&self, e: &NewAuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, action, subject, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ms(e.at))
        .bind(e.actor.map(|a| a.0))
        .bind(e.action.as_str())
        .bind(&e.subject)
        .bind(e.before.as_ref().map(|v| v.to_string()))
        .bind(e.after.as_ref().map(|v| v.to_string()))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn audit_entries(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT a.id, a.at, a.actor_id, COALESCE(u.name, '') AS actor_name, a.action, a.subject, a.before_json, a.after_json \
             FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id WHERE a.id < $1 ORDER BY a.id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: instant(row.try_get("at")?)?,
                    actor: row.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
                    actor_name: row.try_get("actor_name")?,
                    action: code(AuditAction::parse, row.try_get("action")?, "audit action")?,
                    subject: row.try_get("subject")?,
                    before: json(row.try_get("before_json")?)?,
                    after: json(row.try_get("after_json")?)?,
                })
            })
            .collect()
    }
}
