//! The SQL of [`TimeStore`]: timers, time entries and their corrections, planning, feeds.

use super::*;

const ENTRY_SELECT: &str = "SELECT e.id, e.user_id, e.ticket_id, e.task_id, e.started_at, e.stopped_at, \
     e.manual, e.note FROM time_entries e";

fn entry_from(row: &DbRow) -> Result<TimeEntry> {
    Ok(TimeEntry {
        id: row.try_get("id")?,
        user: UserId(row.try_get("user_id")?),
        ticket: TicketId(row.try_get("ticket_id")?),
        task: row.try_get::<Option<i64>, _>("task_id")?.map(TaskId),
        started_at: instant(row.try_get("started_at")?)?,
        stopped_at: row
            .try_get::<Option<i64>, _>("stopped_at")?
            .map(instant)
            .transpose()?,
        manual: row.try_get("manual")?,
        note: row.try_get("note")?,
    })
}

async fn entry_in(tx: &mut Tx, id: i64) -> Result<TimeEntry> {
    let row = sqlx::query(AssertSqlSafe(format!("{ENTRY_SELECT} WHERE e.id = $1")))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    entry_from(&row)
}

/// Refuses a span overlapping another entry of the user (a running one counts up to `now`).
async fn no_overlap(
    tx: &mut Tx,
    user: UserId,
    except: i64,
    span: (Timestamp, Timestamp),
    now: Timestamp,
) -> Result<()> {
    let clash: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM time_entries WHERE user_id = $1 AND id <> $2 AND started_at < $3 \
         AND COALESCE(stopped_at, $4) > $5 ORDER BY started_at LIMIT 1",
    )
    .bind(user.0)
    .bind(except)
    .bind(ms(span.1))
    .bind(ms(now))
    .bind(ms(span.0))
    .fetch_optional(&mut **tx)
    .await?;
    match clash {
        Some(other) => Err(DomainError::from(FieldError::new(
            "started_at",
            format!("the interval overlaps time entry {other}"),
        ))
        .into()),
        None => Ok(()),
    }
}

async fn stop_running(tx: &mut Tx, user: UserId, at: Timestamp) -> Result<Option<TimeEntry>> {
    let running: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, started_at FROM time_entries WHERE user_id = $1 AND stopped_at IS NULL",
    )
    .bind(user.0)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((id, started)) = running else {
        return Ok(None);
    };
    sqlx::query("UPDATE time_entries SET stopped_at = $2 WHERE id = $1")
        .bind(id)
        .bind(ms(at).max(started))
        .execute(&mut **tx)
        .await?;
    Ok(Some(entry_in(tx, id).await?))
}

#[async_trait]
impl TimeStore for Backend {
    async fn start_timer(
        &self,
        user: UserId,
        ticket: TicketId,
        task: Option<TaskId>,
        at: Timestamp,
    ) -> Result<(TimeEntry, Option<TimeEntry>)> {
        let mut tx = self.begin().await?;
        if let Some(task) = task {
            // Writing the task's row holds it until this commits: a completion running at
            // the same time either waits and then stops this timer, or finished first and
            // the task is no longer open here.
            let open =
                sqlx::query("UPDATE tasks SET state = state WHERE id = $1 AND state = 'open'")
                    .bind(task.0)
                    .execute(&mut *tx)
                    .await?;
            if open.rows_affected() == 0 {
                return Err(DomainError::Conflict(
                    "the task is finished: a timer runs only on an open task".into(),
                )
                .into());
            }
        }
        let stopped = stop_running(&mut tx, user, at).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO time_entries (user_id, ticket_id, task_id, started_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user.0)
        .bind(ticket.0)
        .bind(task.map(|t| t.0))
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await?;
        let started = entry_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok((started, stopped))
    }

    async fn stop_timer(&self, user: UserId, at: Timestamp) -> Result<TimeEntry> {
        let mut tx = self.begin().await?;
        let stopped = stop_running(&mut tx, user, at)
            .await?
            .ok_or_else(|| DomainError::Conflict("no timer is running".into()))?;
        tx.commit().await?;
        Ok(stopped)
    }

    async fn running_timer(&self, user: UserId) -> Result<Option<TimeEntry>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE e.user_id = $1 AND e.stopped_at IS NULL"
        )))
        .bind(user.0)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(entry_from).transpose()
    }

    async fn timers_on_finished_tasks(&self) -> Result<Vec<TimeEntry>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE e.stopped_at IS NULL AND e.task_id IN \
             (SELECT k.id FROM tasks k WHERE k.state <> 'open') ORDER BY e.id"
        )))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(entry_from).collect()
    }

    async fn log_time_entry(
        &self,
        user: UserId,
        ticket: TicketId,
        task: Option<TaskId>,
        span: (Timestamp, Timestamp),
        note: &str,
        at: Timestamp,
    ) -> Result<TimeEntry> {
        let mut tx = self.begin().await?;
        no_overlap(&mut tx, user, -1, span, at).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO time_entries (user_id, ticket_id, task_id, started_at, stopped_at, manual, note) \
             VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING id",
        )
        .bind(user.0)
        .bind(ticket.0)
        .bind(task.map(|t| t.0))
        .bind(ms(span.0))
        .bind(ms(span.1))
        .bind(note)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO time_entry_changes (entry_id, changed_by, changed_at, after_started, after_stopped, reason) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(user.0)
        .bind(ms(at))
        .bind(ms(span.0))
        .bind(ms(span.1))
        .bind(note)
        .execute(&mut *tx)
        .await?;
        let entry = entry_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn correct_time_entry(
        &self,
        entry: i64,
        span: (Timestamp, Timestamp),
        by: UserId,
        reason: &str,
        at: Timestamp,
    ) -> Result<TimeEntry> {
        let mut tx = self.begin().await?;
        let before: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT user_id, started_at, stopped_at FROM time_entries WHERE id = $1",
        )
        .bind(entry)
        .fetch_optional(&mut *tx)
        .await?;
        let (user, started, stopped) = before.ok_or(DomainError::NotFound("time entry"))?;
        if stopped.is_none() {
            return Err(DomainError::Conflict(
                "the timer is still running: stop it before correcting".into(),
            )
            .into());
        }
        no_overlap(&mut tx, UserId(user), entry, span, at).await?;
        sqlx::query("UPDATE time_entries SET started_at = $2, stopped_at = $3 WHERE id = $1")
            .bind(entry)
            .bind(ms(span.0))
            .bind(ms(span.1))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO time_entry_changes (entry_id, changed_by, changed_at, before_started, before_stopped, \
             after_started, after_stopped, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry)
        .bind(by.0)
        .bind(ms(at))
        .bind(started)
        .bind(stopped)
        .bind(ms(span.0))
        .bind(ms(span.1))
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        let corrected = entry_in(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(corrected)
    }

    async fn time_entry(&self, entry: i64) -> Result<Option<TimeEntry>> {
        let row = sqlx::query(AssertSqlSafe(format!("{ENTRY_SELECT} WHERE e.id = $1")))
            .bind(entry)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(entry_from).transpose()
    }

    async fn time_entry_changes(&self, entry: i64) -> Result<Vec<TimeEntryChange>> {
        let rows = sqlx::query(
            "SELECT entry_id, changed_by, changed_at, before_started, before_stopped, after_started, \
             after_stopped, reason FROM time_entry_changes WHERE entry_id = $1 ORDER BY id",
        )
        .bind(entry)
        .fetch_all(self.reader())
        .await?;
        let opt = |v: Option<i64>| v.map(instant).transpose();
        rows.iter()
            .map(|row| {
                Ok(TimeEntryChange {
                    entry: row.try_get("entry_id")?,
                    by: UserId(row.try_get("changed_by")?),
                    at: instant(row.try_get("changed_at")?)?,
                    before: (
                        opt(row.try_get("before_started")?)?,
                        opt(row.try_get("before_stopped")?)?,
                    ),
                    after: (
                        instant(row.try_get("after_started")?)?,
                        instant(row.try_get("after_stopped")?)?,
                    ),
                    reason: row.try_get("reason")?,
                })
            })
            .collect()
    }

    async fn time_entries(
        &self,
        user: UserId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<TimeEntry>> {
        // The (user_id, started_at) index bounds the scan; an entry started before `from`
        // and still going at it is found by the lower bound a day earlier.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE e.user_id = $1 AND e.started_at < $2 AND e.started_at >= $3 \
             AND (e.stopped_at IS NULL OR e.stopped_at > $4) ORDER BY e.started_at, e.id"
        )))
        .bind(user.0)
        .bind(ms(until))
        .bind(ms(from) - 86_400_000)
        .bind(ms(from))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(entry_from).collect()
    }

    async fn time_totals(
        &self,
        group: TimeGroup,
        filter: &TimeFilter,
        now: Timestamp,
    ) -> Result<Vec<(i64, i64)>> {
        let key = match group {
            TimeGroup::Task => "e.task_id",
            TimeGroup::Ticket => "e.ticket_id",
            TimeGroup::Client => "t.client_id",
            TimeGroup::User => "e.user_id",
        };
        let mut sql = Sql::new(&format!(
            "SELECT {key} AS k, CAST(SUM(COALESCE(e.stopped_at, "
        ));
        sql.bind(Param::Int(ms(now)))
            .push(&format!(
                ") - e.started_at) AS BIGINT) AS total FROM time_entries e JOIN tickets t ON t.id = e.ticket_id WHERE {key} IS NOT NULL"
            ));
        if let Some(user) = filter.user {
            sql.push(" AND e.user_id = ").bind(Param::Int(user.0));
        }
        if let Some(ticket) = filter.ticket {
            sql.push(" AND e.ticket_id = ").bind(Param::Int(ticket.0));
        }
        if let Some(client) = filter.client {
            sql.push(" AND t.client_id = ").bind(Param::Int(client.0));
        }
        if let Some(task) = filter.task {
            sql.push(" AND e.task_id = ").bind(Param::Int(task.0));
        }
        if let Some(from) = filter.from {
            sql.push(" AND (e.stopped_at IS NULL OR e.stopped_at > ")
                .bind(Param::Int(ms(from)))
                .push(")");
        }
        if let Some(until) = filter.until {
            sql.push(" AND e.started_at < ").bind(Param::Int(ms(until)));
        }
        sql.push(&format!(" GROUP BY {key} ORDER BY {key}"));
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                let total: i64 = row.try_get("total")?;
                Ok((row.try_get("k")?, total / 1000))
            })
            .collect()
    }

    async fn plan_task(&self, task: TaskId, plan: Option<(Timestamp, i64)>) -> Result<()> {
        let done =
            sqlx::query("UPDATE tasks SET planned_at = $2, planned_minutes = $3 WHERE id = $1")
                .bind(task.0)
                .bind(plan.map(|p| ms(p.0)))
                .bind(plan.map(|p| p.1))
                .execute(self.writer())
                .await?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("task").into());
        }
        Ok(())
    }

    async fn planned_tasks(
        &self,
        user: Option<UserId>,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<PlannedTask>> {
        let mut sql = Sql::new(
            "SELECT k.id, k.ticket_id, k.assignee_id, k.title, k.state, k.planned_at, \
             CAST(k.planned_minutes AS BIGINT) AS planned_minutes \
             FROM tasks k WHERE k.planned_at IS NOT NULL AND k.assignee_id IS NOT NULL AND k.planned_at >= ",
        );
        sql.bind(Param::Int(ms(from)))
            .push(" AND k.planned_at < ")
            .bind(Param::Int(ms(until)));
        if let Some(user) = user {
            sql.push(" AND k.assignee_id = ").bind(Param::Int(user.0));
        }
        sql.push(" ORDER BY k.planned_at, k.id");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(PlannedTask {
                    task: TaskId(row.try_get("id")?),
                    ticket: TicketId(row.try_get("ticket_id")?),
                    assignee: UserId(row.try_get("assignee_id")?),
                    title: row.try_get("title")?,
                    state: code(TaskState::parse, row.try_get("state")?, "task state")?,
                    planned_at: instant(row.try_get("planned_at")?)?,
                    minutes: row
                        .try_get::<Option<i64>, _>("planned_minutes")?
                        .unwrap_or(0),
                })
            })
            .collect()
    }

    async fn set_calendar_feed(&self, user: UserId, token_hash: &str, at: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM calendar_feeds WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO calendar_feeds (token_hash, user_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn calendar_feed_user(&self, token_hash: &str) -> Result<Option<UserId>> {
        let user: Option<i64> =
            sqlx::query_scalar("SELECT user_id FROM calendar_feeds WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(self.reader())
                .await?;
        Ok(user.map(UserId))
    }

    async fn personal_counts(
        &self,
        user: UserId,
        from: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<PersonalCounts> {
        let (from, until, now) = (ms(from), ms(until), ms(now));
        let planned: (i64, i64, i64, i64) = sqlx::query_as(
            // Each stored length counts at most a day, so the sums cannot overflow.
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN planned_minutes > 1440 THEN 1440 WHEN planned_minutes < 0 THEN 0 ELSE planned_minutes END), 0), \
               COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN state <> 'done' OR planned_minutes < 0 THEN 0 WHEN planned_minutes > 1440 THEN 1440 ELSE planned_minutes END), 0) \
             FROM tasks WHERE assignee_id = $1 AND planned_at IS NOT NULL AND planned_at >= $2 AND planned_at < $3",
        )
        .bind(user.0)
        .bind(from)
        .bind(until)
        .fetch_one(self.reader())
        .await?;
        let closed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE assignee_id = $1 AND completed_at IS NOT NULL \
             AND completed_at >= $2 AND completed_at < $3 AND state = 'done'",
        )
        .bind(user.0)
        .bind(from)
        .bind(until)
        .fetch_one(self.reader())
        .await?;
        let overdue: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE assignee_id = $1 AND state = 'open' AND due_at < $2",
        )
        .bind(user.0)
        .bind(until.min(now))
        .fetch_one(self.reader())
        .await?;
        let reopened: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT h.ticket_id) FROM history h WHERE h.kind = 'status' \
             AND h.before IN ('resolved', 'closed') AND h.after NOT IN ('resolved', 'closed') \
             AND h.at >= $2 AND h.at < $3 AND EXISTS (SELECT 1 FROM tasks k WHERE k.ticket_id = h.ticket_id \
             AND k.assignee_id = $1 AND k.state = 'done')",
        )
        .bind(user.0)
        .bind(from)
        .bind(until)
        .fetch_one(self.reader())
        .await?;
        let entries = self
            .time_entries(user, instant(from)?, instant(until)?)
            .await?;
        let logged = entries
            .iter()
            .map(|e| {
                let start = ms(e.started_at).max(from);
                let stop = e.stopped_at.map_or(now, ms).min(until);
                (stop - start).max(0) / 1000
            })
            .sum();
        Ok(PersonalCounts {
            planned_tasks: planned.0,
            planned_minutes: planned.1,
            planned_done_tasks: planned.2,
            planned_done_minutes: planned.3,
            closed,
            overdue,
            reopened,
            logged_seconds: logged,
        })
    }
}
