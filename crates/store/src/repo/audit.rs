//! The SQL of [`AuditStore`]: plain reads of what is stored, for checks from outside.

use super::*;

fn optional_instant(row: &DbRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(instant)
        .transpose()
}

#[async_trait]
impl AuditStore for Backend {
    async fn outbox_rows(&self, after: i64, limit: u32) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "SELECT id, kind, payload, created_at, attempts, next_attempt_at, delivered_at, \
             last_error FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit.clamp(1, 10_000)))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                let next: i64 = r.try_get("next_attempt_at")?;
                Ok(OutboxRow {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                    created_at: instant(r.try_get("created_at")?)?,
                    attempts: r.try_get("attempts")?,
                    // A row given up on is parked at the end of time (`outbox_failed`).
                    next_attempt_at: (next != i64::MAX).then(|| instant(next)).transpose()?,
                    delivered_at: optional_instant(r, "delivered_at")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    async fn running_timers(&self) -> Result<Vec<RunningTimer>> {
        let rows = sqlx::query(
            "SELECT e.id, e.user_id, e.ticket_id, e.task_id, k.state, e.started_at \
             FROM time_entries e LEFT JOIN tasks k ON k.id = e.task_id \
             WHERE e.stopped_at IS NULL ORDER BY e.id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RunningTimer {
                    entry_id: r.try_get("id")?,
                    user: UserId(r.try_get("user_id")?),
                    ticket: TicketId(r.try_get("ticket_id")?),
                    task: r.try_get::<Option<i64>, _>("task_id")?.map(TaskId),
                    task_state: r
                        .try_get::<Option<String>, _>("state")?
                        .map(|s| code(TaskState::parse, &s, "task state"))
                        .transpose()?,
                    started_at: instant(r.try_get("started_at")?)?,
                })
            })
            .collect()
    }

    async fn tasks_of_kinds(&self, kinds: &[&str], since: Timestamp) -> Result<Vec<ManagerTask>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT k.id, k.ticket_id, k.kind, k.pool, k.state, u.role, k.created_at \
             FROM tasks k LEFT JOIN users u ON u.id = k.assignee_id WHERE k.created_at >= ",
        );
        sql.bind(Param::Int(ms(since)));
        sql.push(" AND k.kind IN (");
        for (i, kind) in kinds.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Param::Text((*kind).to_owned()));
        }
        sql.push(") ORDER BY k.id");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ManagerTask {
                    task: TaskId(r.try_get("id")?),
                    ticket: TicketId(r.try_get("ticket_id")?),
                    kind: r.try_get("kind")?,
                    pool: r.try_get("pool")?,
                    state: code(TaskState::parse, r.try_get("state")?, "task state")?,
                    assignee_role: r
                        .try_get::<Option<String>, _>("role")?
                        .map(|s| code(Role::parse, &s, "role"))
                        .transpose()?,
                    created_at: instant(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }
}
