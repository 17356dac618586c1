//! The SQL of [`JobStore`]: job leases, alerts, the daily review, deadline queries.

use super::*;
use jiff::SignedDuration;

const JOB_COLUMNS: &str =
    "name, run_at, locked_until, locked_by, attempts, last_error, last_run_at";

pub(super) const ALERT_COLUMNS: &str =
    "id, kind, ticket_id, task_id, cause_key, detail, raised_at, resolved_at, manager_task_id";

const REVIEW_COLUMNS: &str = "id, day, pool, body, created_at, done_at, done_by";

/// Statuses whose deadline clock runs: the ball is on our side.
const CLOCK_RUNS: &str = "('new', 'in_progress')";

fn optional_instant(row: &DbRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(instant)
        .transpose()
}

fn job_from(row: &DbRow) -> Result<JobRow> {
    Ok(JobRow {
        name: row.try_get("name")?,
        run_at: instant(row.try_get("run_at")?)?,
        locked_until: optional_instant(row, "locked_until")?,
        locked_by: row.try_get("locked_by")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        last_run_at: optional_instant(row, "last_run_at")?,
    })
}

pub(super) fn alert_from(row: &DbRow) -> Result<Alert> {
    Ok(Alert {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        ticket_id: TicketId(row.try_get("ticket_id")?),
        task_id: row.try_get::<Option<i64>, _>("task_id")?.map(TaskId),
        cause_key: row.try_get("cause_key")?,
        detail: row.try_get("detail")?,
        raised_at: instant(row.try_get("raised_at")?)?,
        resolved_at: optional_instant(row, "resolved_at")?,
        manager_task_id: row
            .try_get::<Option<i64>, _>("manager_task_id")?
            .map(TaskId),
    })
}

fn review_from(row: &DbRow) -> Result<DailyReview> {
    Ok(DailyReview {
        id: row.try_get("id")?,
        day: row.try_get("day")?,
        pool: row.try_get("pool")?,
        body: row.try_get("body")?,
        created_at: instant(row.try_get("created_at")?)?,
        done_at: optional_instant(row, "done_at")?,
        done_by: row.try_get::<Option<i64>, _>("done_by")?.map(UserId),
    })
}

/// `WHERE`-clause of the tickets a timeline query covers: one ticket, or those created in
/// a window (drafts never count).
fn timeline_filter(sql: &mut Sql, ticket: Option<TicketId>, from: Timestamp, until: Timestamp) {
    sql.push(" t.status <> 'draft'");
    match ticket {
        Some(id) => sql.push(" AND t.id = ").bind(Param::Int(id.0)),
        None => sql
            .push(" AND t.created_at >= ")
            .bind(Param::Int(ms(from)))
            .push(" AND t.created_at < ")
            .bind(Param::Int(ms(until))),
    };
}

/// A row of `id, subject, code (the client's), status, next_step_at, updated_at`.
pub(super) fn board_row_from(r: &DbRow) -> Result<BoardRow> {
    Ok(BoardRow {
        ticket_id: TicketId(r.try_get("id")?),
        subject: r.try_get("subject")?,
        client_code: r.try_get("code")?,
        status: code(TicketStatus::parse, r.try_get("status")?, "status")?,
        next_step_at: optional_instant(r, "next_step_at")?,
        updated_at: instant(r.try_get("updated_at")?)?,
    })
}

#[async_trait]
impl JobStore for Backend {
    async fn claim_job(
        &self,
        name: &str,
        worker: &str,
        now: Timestamp,
        lease: SignedDuration,
        first_run_at: Timestamp,
    ) -> Result<Option<JobRow>> {
        sqlx::query(
            "INSERT INTO jobs (name, run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(ms(first_run_at))
        .execute(self.writer())
        .await?;
        // One statement: PostgreSQL re-checks the WHERE clause on the locked row after a
        // concurrent claimer commits, and SQLite has one writer, so exactly one wins.
        let locked_until = now.saturating_add(lease).unwrap_or(Timestamp::MAX);
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE jobs SET locked_until = $3, locked_by = $4, last_run_at = $2 \
             WHERE name = $1 AND run_at <= $2 AND (locked_until IS NULL OR locked_until < $2) \
             RETURNING {JOB_COLUMNS}"
        )))
        .bind(name)
        .bind(ms(now))
        .bind(ms(locked_until))
        .bind(worker)
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(job_from).transpose()
    }

    async fn finish_job(
        &self,
        name: &str,
        worker: &str,
        _at: Timestamp,
        next_run_at: Timestamp,
        error: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET run_at = $3, locked_until = NULL, locked_by = NULL, \
             attempts = CASE WHEN $4 THEN attempts + 1 ELSE 0 END, last_error = $5 \
             WHERE name = $1 AND locked_by = $2",
        )
        .bind(name)
        .bind(worker)
        .bind(ms(next_run_at))
        .bind(error.is_some())
        .bind(error)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn job(&self, name: &str) -> Result<Option<JobRow>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(job_from).transpose()
    }

    async fn watched_tasks(&self) -> Result<Vec<WatchedTask>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT k.id, k.ticket_id, k.kind, k.title, k.created_at, k.due_at, \
             COALESCE(t.calendar, c.calendar) AS calendar, t.support_level, \
             (EXISTS (SELECT 1 FROM history h JOIN users u ON u.id = h.actor_id \
                      WHERE h.ticket_id = k.ticket_id AND h.at >= k.created_at AND u.role <> 'client') \
              OR EXISTS (SELECT 1 FROM time_entries e WHERE e.task_id = k.id)) AS progressed, \
             EXISTS (SELECT 1 FROM alerts a WHERE a.task_id = k.id AND a.kind = 'at_risk' \
                     AND a.resolved_at IS NULL) AS at_risk_alerted \
             FROM tasks k JOIN tickets t ON t.id = k.ticket_id JOIN clients c ON c.id = t.client_id \
             WHERE k.state = 'open' AND k.due_at IS NOT NULL \
             AND t.status IN {CLOCK_RUNS} AND t.clock_paused_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.task_id = k.id AND a.kind = 'breached' \
                             AND a.resolved_at IS NULL) \
             ORDER BY k.due_at, k.id"
        )))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WatchedTask {
                    task_id: TaskId(r.try_get("id")?),
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    kind: r.try_get("kind")?,
                    title: r.try_get("title")?,
                    created_at: instant(r.try_get("created_at")?)?,
                    due_at: instant(r.try_get("due_at")?)?,
                    progressed: r.try_get("progressed")?,
                    at_risk_alerted: r.try_get("at_risk_alerted")?,
                    calendar: r.try_get("calendar")?,
                    support_level: r.try_get("support_level")?,
                })
            })
            .collect()
    }

    async fn overdue_tickets(&self, now: Timestamp) -> Result<Vec<OverdueTicket>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.id, t.subject, t.next_step_at, COALESCE(t.calendar, c.calendar) AS calendar, \
             t.support_level FROM tickets t JOIN clients c ON c.id = t.client_id \
             WHERE t.status IN {CLOCK_RUNS} AND t.clock_paused_at IS NULL \
             AND t.next_step_at IS NOT NULL AND t.next_step_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.ticket_id = t.id AND a.task_id IS NULL \
                             AND a.kind = 'breached' AND a.resolved_at IS NULL) \
             ORDER BY t.next_step_at, t.id"
        )))
        .bind(ms(now))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OverdueTicket {
                    ticket_id: TicketId(r.try_get("id")?),
                    subject: r.try_get("subject")?,
                    next_step_at: instant(r.try_get("next_step_at")?)?,
                    calendar: r.try_get("calendar")?,
                    support_level: r.try_get("support_level")?,
                })
            })
            .collect()
    }

    async fn tickets_over_work(&self, minutes: i64, now: Timestamp) -> Result<Vec<TicketWork>> {
        let rows = sqlx::query(
            "SELECT e.ticket_id, CAST(SUM(COALESCE(e.stopped_at, $2) - e.started_at) AS BIGINT) AS spent \
             FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
             WHERE t.status NOT IN ('draft', 'closed') \
             AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.ticket_id = e.ticket_id AND a.kind = 'over_hours') \
             GROUP BY e.ticket_id HAVING SUM(COALESCE(e.stopped_at, $2) - e.started_at) > $1 \
             ORDER BY e.ticket_id",
        )
        .bind(minutes.saturating_mul(60_000))
        .bind(ms(now))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TicketWork {
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    minutes: r.try_get::<i64, _>("spent")? / 60_000,
                })
            })
            .collect()
    }

    async fn used_up_quotas(&self) -> Result<Vec<UsedUpQuota>> {
        let rows = sqlx::query(
            "SELECT c.id, c.code, c.license_key_quota, c.license_keys_issued, \
             (SELECT MAX(k.ticket_id) FROM license_keys k WHERE k.client_id = c.id) AS last_ticket \
             FROM clients c WHERE c.license_key_quota IS NOT NULL \
             AND c.license_keys_issued >= c.license_key_quota \
             AND EXISTS (SELECT 1 FROM license_keys k WHERE k.client_id = c.id) ORDER BY c.id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UsedUpQuota {
                    client_id: ClientId(r.try_get("id")?),
                    client_code: r.try_get("code")?,
                    quota: "license_keys".into(),
                    limit: r.try_get("license_key_quota")?,
                    used: r.try_get("license_keys_issued")?,
                    last_ticket_id: TicketId(r.try_get("last_ticket")?),
                })
            })
            .collect()
    }

    async fn raise_alert(&self, alert: &NewAlert, at: Timestamp) -> Result<Option<Alert>> {
        let mut tx = self.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO alerts (kind, ticket_id, task_id, cause_key, detail, raised_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cause_key) DO NOTHING RETURNING id",
        )
        .bind(&alert.kind)
        .bind(alert.ticket_id.0)
        .bind(alert.task_id.map(|t| t.0))
        .bind(&alert.cause_key)
        .bind(&alert.detail)
        .bind(ms(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        let task: i64 = sqlx::query_scalar(
            "INSERT INTO tasks (ticket_id, kind, title, pool, priority, created_at) \
             VALUES ($1, $6, $2, $3, $4, $5) RETURNING id",
        )
        .bind(alert.ticket_id.0)
        .bind(&alert.title)
        .bind(MANAGER_POOL)
        .bind(i64::from(alert.priority))
        .bind(ms(at))
        .bind(ALERT_TASK)
        .fetch_one(&mut *tx)
        .await?;
        record(
            &mut tx,
            alert.ticket_id,
            at,
            None,
            "alert",
            (None, Some(&format!("{}: {}", alert.kind, alert.detail))),
            false,
        )
        .await?;
        record(
            &mut tx,
            alert.ticket_id,
            at,
            None,
            "task_created",
            (None, Some("alert")),
            false,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE alerts SET manager_task_id = $2 WHERE id = $1 RETURNING {ALERT_COLUMNS}"
        )))
        .bind(id)
        .bind(task)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        alert_from(&row).map(Some)
    }

    async fn alerts(&self, open_only: bool) -> Result<Vec<Alert>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE ($1 = FALSE OR resolved_at IS NULL) ORDER BY id"
        )))
        .bind(open_only)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(alert_from).collect()
    }

    async fn finish_alert_task(&self, task: TaskId, by: UserId, at: Timestamp) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ticket: Option<i64> = sqlx::query_scalar(
            "UPDATE tasks SET state = 'done', outcome = 'done', \
             assignee_id = COALESCE(assignee_id, $2), completed_at = $3 \
             WHERE id = $1 AND kind = 'alert' AND state = 'open' RETURNING ticket_id",
        )
        .bind(task.0)
        .bind(by.0)
        .bind(ms(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(ticket) = ticket else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE alerts SET resolved_at = $2 WHERE manager_task_id = $1 AND resolved_at IS NULL",
        )
        .bind(task.0)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            TicketId(ticket),
            at,
            Some(by),
            "task_completed",
            (None, Some(&format!("{task}: done"))),
            false,
        )
        .await?;
        run_batch(
            &mut tx,
            vec![super::routes::stop_finished_timers_sql(
                TicketId(ticket),
                at,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn resolve_alert(&self, id: i64, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE alerts SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL")
            .bind(id)
            .bind(ms(at))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn open_ticket_board(&self, limit: u32) -> Result<Vec<BoardRow>> {
        // One bounded walk of tickets_status (status, id) per open status, so a desk with a
        // million open tickets never loads or sorts them all.
        let oldest = |status: &str| {
            format!(
                "SELECT * FROM (SELECT t.id, t.subject, c.code, t.status, t.next_step_at, t.updated_at \
                   FROM tickets t JOIN clients c ON c.id = t.client_id \
                   WHERE t.status = '{status}' ORDER BY t.id LIMIT $1) {status}"
            )
        };
        let side = |name: &str, a: &str, b: &str| {
            format!(
                "SELECT * FROM ({} UNION ALL {} ORDER BY id LIMIT $1) {name}",
                oldest(a),
                oldest(b)
            )
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{} UNION ALL {} ORDER BY id",
            side("ours", "new", "in_progress"),
            side("theirs", "waiting_client", "resolved"),
        )))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(board_row_from).collect()
    }

    async fn open_ticket_counts(&self) -> Result<(i64, i64)> {
        // The trigger-kept counters (migration 0014); the sides are `BoardRow::ball_on_client`'s.
        let (ours, theirs): (i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ticket_status_counts \
                  WHERE status IN ('new', 'in_progress')), \
               (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ticket_status_counts \
                  WHERE status IN ('waiting_client', 'resolved'))",
        )
        .fetch_one(self.reader())
        .await?;
        Ok((ours, theirs))
    }

    async fn create_daily_review(
        &self,
        day: &str,
        pool: &str,
        body: &str,
        at: Timestamp,
    ) -> Result<Option<DailyReview>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO daily_reviews (day, pool, body, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (day) DO NOTHING RETURNING {REVIEW_COLUMNS}"
        )))
        .bind(day)
        .bind(pool)
        .bind(body)
        .bind(ms(at))
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(review_from).transpose()
    }

    async fn daily_reviews(&self, limit: u32) -> Result<Vec<DailyReview>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REVIEW_COLUMNS} FROM daily_reviews ORDER BY id DESC LIMIT $1"
        )))
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(review_from).collect()
    }

    async fn daily_review(&self, id: i64) -> Result<Option<DailyReview>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REVIEW_COLUMNS} FROM daily_reviews WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(review_from).transpose()
    }

    async fn finish_daily_review(&self, id: i64, by: UserId, at: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE daily_reviews SET done_at = $1, done_by = $2 WHERE id = $3 AND done_at IS NULL",
        )
        .bind(ms(at))
        .bind(by.0)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn waiting_tickets(&self, before: Timestamp) -> Result<Vec<WaitingTicket>> {
        let rows = sqlx::query(
            "SELECT t.id, COALESCE(t.calendar, c.calendar) AS calendar, \
             (SELECT MAX(m.created_at) FROM comments m LEFT JOIN users u ON u.id = m.author_id \
              WHERE m.ticket_id = t.id AND m.internal = FALSE \
              AND (m.author_id IS NULL OR u.role <> 'client')) AS ours, \
             (SELECT MAX(m.created_at) FROM comments m JOIN users u ON u.id = m.author_id \
              WHERE m.ticket_id = t.id AND u.role = 'client') AS theirs \
             FROM tickets t JOIN clients c ON c.id = t.client_id \
             WHERE t.status = 'waiting_client' ORDER BY t.id",
        )
        .fetch_all(self.reader())
        .await?;
        let mut waiting = Vec::new();
        for r in &rows {
            let Some(ours) = optional_instant(r, "ours")? else {
                continue;
            };
            let theirs = optional_instant(r, "theirs")?;
            if ours <= before && theirs.is_none_or(|theirs| theirs < ours) {
                waiting.push(WaitingTicket {
                    ticket_id: TicketId(r.try_get("id")?),
                    calendar: r.try_get("calendar")?,
                    our_last_message_at: ours,
                    client_last_message_at: theirs,
                });
            }
        }
        Ok(waiting)
    }

    async fn add_time_entry(
        &self,
        user: UserId,
        ticket: TicketId,
        task: Option<TaskId>,
        started_at: Timestamp,
        stopped_at: Option<Timestamp>,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO time_entries (user_id, ticket_id, task_id, started_at, stopped_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user.0)
        .bind(ticket.0)
        .bind(task.map(|t| t.0))
        .bind(ms(started_at))
        .bind(stopped_at.map(ms))
        .fetch_one(self.writer())
        .await?)
    }

    async fn ticket_calendar(&self, ticket: TicketId) -> Result<Option<String>> {
        let calendar: Option<Option<String>> = sqlx::query_scalar(
            "SELECT COALESCE(t.calendar, c.calendar) FROM tickets t JOIN clients c ON c.id = t.client_id \
             WHERE t.id = $1",
        )
        .bind(ticket.0)
        .fetch_optional(self.reader())
        .await?;
        calendar.ok_or_else(|| DomainError::NotFound("ticket").into())
    }

    async fn client_calendar(&self, client: ClientId) -> Result<Option<String>> {
        let calendar: Option<Option<String>> =
            sqlx::query_scalar("SELECT calendar FROM clients WHERE id = $1")
                .bind(client.0)
                .fetch_optional(self.reader())
                .await?;
        calendar.ok_or_else(|| DomainError::NotFound("client").into())
    }

    async fn set_client_calendar(&self, client: ClientId, calendar: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE clients SET calendar = $2 WHERE id = $1")
            .bind(client.0)
            .bind(calendar)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn set_ticket_calendar(&self, ticket: TicketId, calendar: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE tickets SET calendar = $2 WHERE id = $1")
            .bind(ticket.0)
            .bind(calendar)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn pause_ticket_clock(&self, ticket: TicketId, at: Timestamp) -> Result<bool> {
        let mut tx = self.begin().await?;
        let paused = sqlx::query(
            "UPDATE tickets SET clock_paused_at = $2 WHERE id = $1 AND clock_paused_at IS NULL",
        )
        .bind(ticket.0)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if paused {
            record(
                &mut tx,
                ticket,
                at,
                None,
                "clock_paused",
                (None, None),
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(paused)
    }

    async fn resume_ticket_clock(
        &self,
        ticket: TicketId,
        at: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let mut tx = self.begin().await?;
        let paused_at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT clock_paused_at FROM tickets WHERE id = $1")
                .bind(ticket.0)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(paused_at) = paused_at.ok_or(DomainError::NotFound("ticket"))? else {
            return Ok(None);
        };
        sqlx::query("UPDATE tickets SET clock_paused_at = NULL WHERE id = $1")
            .bind(ticket.0)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            ticket,
            at,
            None,
            "clock_resumed",
            (None, None),
            false,
        )
        .await?;
        tx.commit().await?;
        instant(paused_at).map(Some)
    }

    async fn clock_mismatches(&self) -> Result<Vec<ClockMismatch>> {
        let rows = sqlx::query(
            "SELECT t.id, t.status, t.clock_paused_at, COALESCE((SELECT MAX(h.at) FROM history h \
             WHERE h.ticket_id = t.id AND h.kind = 'status'), t.updated_at) AS changed_at \
             FROM tickets t WHERE (t.status = 'waiting_client' AND t.clock_paused_at IS NULL) \
             OR (t.clock_paused_at IS NOT NULL AND t.status <> 'waiting_client') ORDER BY t.id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ClockMismatch {
                    ticket_id: TicketId(r.try_get("id")?),
                    status: code(TicketStatus::parse, r.try_get("status")?, "status")?,
                    changed_at: instant(r.try_get("changed_at")?)?,
                    paused_at: optional_instant(r, "clock_paused_at")?,
                })
            })
            .collect()
    }

    async fn set_deadlines(
        &self,
        ticket: TicketId,
        next_step_at: Option<Timestamp>,
        tasks: &[(TaskId, Timestamp)],
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(next) = next_step_at {
            let before: Option<Option<i64>> =
                sqlx::query_scalar("SELECT next_step_at FROM tickets WHERE id = $1")
                    .bind(ticket.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            let before = before.ok_or(DomainError::NotFound("ticket"))?;
            sqlx::query("UPDATE tickets SET next_step_at = $2, updated_at = $3 WHERE id = $1")
                .bind(ticket.0)
                .bind(ms(next))
                .bind(ms(at))
                .execute(&mut *tx)
                .await?;
            let before = before.map(instant).transpose()?.map(|b| b.to_string());
            record(
                &mut tx,
                ticket,
                at,
                None,
                "next_step",
                (before.as_deref(), Some(&next.to_string())),
                true,
            )
            .await?;
            sqlx::query(
                "UPDATE alerts SET resolved_at = $2 WHERE ticket_id = $1 AND task_id IS NULL \
                 AND kind = 'breached' AND resolved_at IS NULL",
            )
            .bind(ticket.0)
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
        }
        for (task, due) in tasks {
            let moved = sqlx::query(
                "UPDATE tasks SET due_at = $3 WHERE id = $1 AND ticket_id = $2 AND state = 'open'",
            )
            .bind(task.0)
            .bind(ticket.0)
            .bind(ms(*due))
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() == 0 {
                continue;
            }
            record(
                &mut tx,
                ticket,
                at,
                None,
                "task_due",
                (Some(&task.to_string()), Some(&due.to_string())),
                false,
            )
            .await?;
            // A moved deadline is a new cause: the old alerts about it are settled.
            sqlx::query(
                "UPDATE alerts SET resolved_at = $2 WHERE task_id = $1 AND resolved_at IS NULL",
            )
            .bind(task.0)
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn ticket_timelines(
        &self,
        ticket: Option<TicketId>,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<TicketTimeline>> {
        let mut sql = Sql::new(
            "SELECT t.id, t.classification, COALESCE(t.calendar, c.calendar) AS calendar, \
             t.support_level, t.created_at, t.closed_at FROM tickets t JOIN clients c ON c.id = t.client_id WHERE",
        );
        timeline_filter(&mut sql, ticket, from, until);
        sql.push(" ORDER BY t.id");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        let mut timelines = Vec::with_capacity(rows.len());
        for r in &rows {
            timelines.push(TicketTimeline {
                ticket_id: TicketId(r.try_get("id")?),
                classification: match r.try_get::<Option<&str>, _>("classification")? {
                    Some(text) => Some(code(Classification::parse, text, "classification")?),
                    None => None,
                },
                calendar: r.try_get("calendar")?,
                support_level: r.try_get("support_level")?,
                created_at: instant(r.try_get("created_at")?)?,
                closed_at: optional_instant(r, "closed_at")?,
                stages: Vec::new(),
                statuses: Vec::new(),
            });
        }
        let mut sql = Sql::new(
            "SELECT h.ticket_id, h.kind, h.after, h.at FROM history h \
             WHERE h.kind IN ('stage', 'status') AND h.after IS NOT NULL \
             AND h.ticket_id IN (SELECT t.id FROM tickets t WHERE",
        );
        timeline_filter(&mut sql, ticket, from, until);
        sql.push(") ORDER BY h.ticket_id, h.id");
        let events = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        let mut index = 0;
        for e in &events {
            let id = TicketId(e.try_get("ticket_id")?);
            while timelines.get(index).is_some_and(|t| t.ticket_id < id) {
                index += 1;
            }
            let Some(timeline) = timelines.get_mut(index).filter(|t| t.ticket_id == id) else {
                continue;
            };
            let after: String = e.try_get("after")?;
            let at = instant(e.try_get("at")?)?;
            if e.try_get::<&str, _>("kind")? == "stage" {
                timeline.stages.push(StageEntry { stage: after, at });
            } else {
                timeline.statuses.push((after, at));
            }
        }
        Ok(timelines)
    }
}
