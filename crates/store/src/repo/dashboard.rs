//! The workplaces' figures, ratings and announcements (see `dashboard.rs`).

use super::*;

const DAY_MS: i64 = 86_400_000;
/// The span of one `ticket_created_counts` slot: a quarter of an hour.
const SLOT_MS: i64 = 900_000;

fn announcement_from(r: &DbRow) -> Result<Announcement> {
    Ok(Announcement {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        all_clients: r.try_get("all_clients")?,
        by_mail: r.try_get("by_mail")?,
        created_at: instant(r.try_get("created_at")?)?,
    })
}

const LIST_COLUMNS: &str = "SELECT t.id, t.subject, c.code, t.status, t.next_step_at, t.updated_at \
     FROM tickets t JOIN clients c ON c.id = t.client_id";

/// Tickets of either status after `$2`, oldest first, at most `$1`: one bounded walk of
/// tickets_status (status, id) each, where `status IN (…)` would read and sort them all.
fn two_statuses(a: &str, b: &str) -> String {
    let walk = |status: &str| {
        format!(
            "SELECT * FROM ({LIST_COLUMNS} WHERE t.status = '{status}' AND t.id > $2 \
             ORDER BY t.id LIMIT $1) {status}"
        )
    };
    format!("{} UNION ALL {} ORDER BY id LIMIT $1", walk(a), walk(b))
}

#[async_trait]
impl DashboardStore for Backend {
    async fn figure_tickets(
        &self,
        list: &TicketList,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<BoardRow>> {
        // Each filter is the figure's own count, so a list is as long as its figure says.
        let (sql, bounds): (String, Vec<i64>) = match *list {
            TicketList::Ours => (two_statuses("new", "in_progress"), vec![]),
            TicketList::Theirs => (two_statuses("waiting_client", "resolved"), vec![]),
            TicketList::Overdue { now } => (
                format!(
                    "{LIST_COLUMNS} WHERE t.status IN ('new', 'in_progress') \
                     AND t.clock_paused_at IS NULL AND t.next_step_at <= $3 \
                     AND t.id > $2 ORDER BY t.id LIMIT $1"
                ),
                vec![ms(now)],
            ),
            TicketList::Bugs { since } => (
                format!(
                    "{LIST_COLUMNS} WHERE t.classification IN ('bug', 'critical') \
                     AND t.created_at >= $3 AND t.id > $2 ORDER BY t.id LIMIT $1"
                ),
                vec![ms(since)],
            ),
            TicketList::Created { from, to } => (
                format!(
                    "{LIST_COLUMNS} WHERE t.created_at >= $3 AND t.created_at < $4 \
                     AND t.status <> 'draft' AND t.id > $2 ORDER BY t.id LIMIT $1"
                ),
                vec![ms(from), ms(to)],
            ),
            TicketList::Worked { client, from, to } => (
                format!(
                    "{LIST_COLUMNS} WHERE t.id IN (SELECT e.ticket_id FROM time_entries e \
                       WHERE e.started_at >= $3 AND e.started_at < $4) \
                     AND t.client_id = $5 AND t.id > $2 ORDER BY t.id LIMIT $1"
                ),
                vec![ms(from), ms(to), client.0],
            ),
        };
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .bind(after.map_or(0, |a| a.0));
        for bound in bounds {
            query = query.bind(bound);
        }
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter().map(super::jobs::board_row_from).collect()
    }

    async fn figure_tasks(
        &self,
        list: &TaskList,
        after: Option<TaskId>,
        limit: u32,
    ) -> Result<Vec<Task>> {
        let (filter, bounds) = match *list {
            TaskList::Due { from, to } => ("due_at >= $3 AND due_at < $4", vec![ms(from), ms(to)]),
            TaskList::OverdueDevelopment { now } => (
                "state = 'open' AND line >= 2 AND due_at < $3",
                vec![ms(now)],
            ),
        };
        let mut query = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE {filter} AND id > $2 ORDER BY id LIMIT $1"
        )))
        .bind(i64::from(limit))
        .bind(after.map_or(0, |a| a.0));
        for bound in bounds {
            query = query.bind(bound);
        }
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter().map(task_from).collect()
    }

    async fn figures(&self, w: &FigureWindow) -> Result<Figures> {
        // Ticket counts come from the trigger-kept counters (migration 0014); the rest are
        // counts over index ranges that hold only the rows counted.
        let row = sqlx::query(
            "SELECT \
               (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ticket_status_counts \
                  WHERE status IN ('new', 'in_progress')) AS in_progress, \
               (SELECT COUNT(*) FROM tickets WHERE status IN ('new', 'in_progress') \
                  AND clock_paused_at IS NULL AND next_step_at <= $1) AS overdue_tickets, \
               (SELECT COUNT(*) FROM tasks WHERE state = 'open' AND line >= 2 AND due_at < $1) AS overdue_development, \
               (SELECT COUNT(*) FROM tickets WHERE classification IN ('bug', 'critical') \
                  AND created_at >= $2) AS bugs, \
               (SELECT COUNT(*) FROM tasks WHERE due_at >= $3 AND due_at < $4) AS plan_today, \
               (SELECT COUNT(*) FROM tasks WHERE due_at >= $3 AND due_at < $4 AND state = 'done') AS fact_today, \
               (SELECT COUNT(*) FROM tasks WHERE due_at >= $5 AND due_at < $6) AS plan_week, \
               (SELECT COUNT(*) FROM tasks WHERE due_at >= $5 AND due_at < $6 AND state = 'done') AS fact_week",
        )
        .bind(ms(w.now))
        .bind(ms(w.bugs_since))
        .bind(ms(w.day_start))
        .bind(ms(w.day_end))
        .bind(ms(w.week_start))
        .bind(ms(w.week_end))
        .fetch_one(self.reader())
        .await?;
        Ok(Figures {
            in_progress: row.try_get("in_progress")?,
            overdue_tickets: row.try_get("overdue_tickets")?,
            overdue_development: row.try_get("overdue_development")?,
            bugs: row.try_get("bugs")?,
            plan_today: row.try_get("plan_today")?,
            fact_today: row.try_get("fact_today")?,
            plan_week: row.try_get("plan_week")?,
            fact_week: row.try_get("fact_week")?,
        })
    }

    async fn tickets_per_day(&self, since: Timestamp, offset_ms: i64) -> Result<Vec<DayCount>> {
        // Quarter-hour counters (migration 0014), summed into the viewer's days.
        let rows = sqlx::query(
            "SELECT (slot * $4 + $2) / $3 AS day, CAST(SUM(n) AS BIGINT) AS n \
             FROM ticket_created_counts WHERE slot >= $1 GROUP BY 1 HAVING SUM(n) > 0 ORDER BY 1",
        )
        .bind(ms(since).div_euclid(SLOT_MS))
        .bind(offset_ms)
        .bind(DAY_MS)
        .bind(SLOT_MS)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DayCount {
                    day: r.try_get("day")?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    async fn minutes_per_client_day(
        &self,
        since: Timestamp,
        now: Timestamp,
        offset_ms: i64,
    ) -> Result<Vec<ClientDay>> {
        let rows = sqlx::query(
            "SELECT (e.started_at + $3) / $4 AS day, c.code, \
               CAST(SUM(COALESCE(e.stopped_at, $2) - e.started_at) / 60000 AS BIGINT) AS minutes \
             FROM time_entries e JOIN tickets t ON t.id = e.ticket_id JOIN clients c ON c.id = t.client_id \
             WHERE e.started_at >= $1 GROUP BY 1, c.code ORDER BY 1, c.code",
        )
        .bind(ms(since))
        .bind(ms(now))
        .bind(offset_ms)
        .bind(DAY_MS)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ClientDay {
                    day: r.try_get("day")?,
                    client_code: r.try_get("code")?,
                    minutes: r.try_get("minutes")?,
                })
            })
            .collect()
    }

    async fn work_spans(&self, from: Timestamp, to: Timestamp) -> Result<Vec<WorkSpan>> {
        let rows = sqlx::query(
            "SELECT e.user_id, u.name, e.ticket_id, e.started_at, e.stopped_at \
             FROM time_entries e JOIN users u ON u.id = e.user_id \
             WHERE e.started_at >= $1 AND e.started_at < $2 ORDER BY u.name, e.user_id, e.started_at",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WorkSpan {
                    user_id: UserId(r.try_get("user_id")?),
                    user_name: r.try_get("name")?,
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    started_at: instant(r.try_get("started_at")?)?,
                    stopped_at: r
                        .try_get::<Option<i64>, _>("stopped_at")?
                        .map(instant)
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn personal_figures(&self, user: UserId, since: Timestamp) -> Result<(i64, i64)> {
        let (open, done): (i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM tasks WHERE state = 'open' AND assignee_id = $1), \
               (SELECT COUNT(*) FROM tasks WHERE state = 'done' AND assignee_id = $1 AND completed_at >= $2)",
        )
        .bind(user.0)
        .bind(ms(since))
        .fetch_one(self.reader())
        .await?;
        Ok((open, done))
    }

    async fn rate_ticket(&self, rating: &Rating) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO ticket_ratings (ticket_id, user_id, score, comment, rated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id) DO UPDATE SET \
             user_id = excluded.user_id, score = excluded.score, comment = excluded.comment, \
             rated_at = excluded.rated_at",
        )
        .bind(rating.ticket_id.0)
        .bind(rating.user_id.0)
        .bind(rating.score)
        .bind(rating.comment.clone())
        .bind(ms(rating.rated_at))
        .execute(&mut *tx)
        .await?;
        // In the history too, where outgoing webhooks read `rating.created` (issue 20).
        record(
            &mut tx,
            rating.ticket_id,
            rating.rated_at,
            Some(rating.user_id),
            "rated",
            (None, Some(&rating.score.to_string())),
            false,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rating(&self, ticket: TicketId) -> Result<Option<Rating>> {
        let row = sqlx::query(
            "SELECT ticket_id, user_id, score, comment, rated_at FROM ticket_ratings WHERE ticket_id = $1",
        )
        .bind(ticket.0)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| {
            Ok(Rating {
                ticket_id: TicketId(r.try_get("ticket_id")?),
                user_id: UserId(r.try_get("user_id")?),
                score: r.try_get("score")?,
                comment: r.try_get("comment")?,
                rated_at: instant(r.try_get("rated_at")?)?,
            })
        })
        .transpose()
    }

    async fn add_announcement(&self, a: &NewAnnouncement, at: Timestamp) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO announcements (title, body, all_clients, by_mail, author_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(a.title.clone())
        .bind(a.body.clone())
        .bind(a.clients.is_empty())
        .bind(a.by_mail)
        .bind(a.author_id.0)
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await?;
        for client in &a.clients {
            sqlx::query(
                "INSERT INTO announcement_clients (announcement_id, client_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(client.0)
            .execute(&mut *tx)
            .await?;
        }
        if a.by_mail {
            // One mail per active contact of the audience, through the outbox in the same
            // transaction; the key makes a second enqueue of the same mail a no-op.
            sqlx::query(
                "INSERT INTO outbox (kind, payload, created_at, next_attempt_at, idempotency_key) \
                 SELECT $6, $2 || CAST(u.id AS TEXT) || '}', $3, $3, $4 || CAST(u.id AS TEXT) \
                 FROM users u WHERE u.role = 'client' AND u.active = TRUE AND u.client_id IS NOT NULL \
                   AND ($5 = TRUE OR u.client_id IN \
                     (SELECT ac.client_id FROM announcement_clients ac WHERE ac.announcement_id = $1)) \
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(id)
            .bind(format!("{{\"announcement_id\":{id},\"user_id\":"))
            .bind(ms(at))
            .bind(format!("announcement:{id}:"))
            .bind(a.clients.is_empty())
            .bind(OutboxKind::Announcement.code())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn announcement(&self, id: i64) -> Result<Option<Announcement>> {
        let row = sqlx::query(
            "SELECT id, title, body, all_clients, by_mail, created_at FROM announcements WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(announcement_from).transpose()
    }

    async fn announcements(
        &self,
        client: Option<ClientId>,
        limit: u32,
    ) -> Result<Vec<Announcement>> {
        let rows =
            match client {
                None => sqlx::query(
                    "SELECT id, title, body, all_clients, by_mail, created_at FROM announcements \
                     ORDER BY created_at DESC, id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?,
                Some(client) => sqlx::query(
                    "SELECT id, title, body, all_clients, by_mail, created_at FROM announcements a \
                     WHERE a.all_clients = TRUE OR EXISTS (SELECT 1 FROM announcement_clients ac \
                       WHERE ac.announcement_id = a.id AND ac.client_id = $1) \
                     ORDER BY created_at DESC, id DESC LIMIT $2",
                )
                .bind(client.0)
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?,
            };
        rows.iter().map(announcement_from).collect()
    }
}
