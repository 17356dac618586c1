//! The workplaces' figures, ratings and announcements (see `dashboard.rs`).

use super::*;

const DAY_MS: i64 = 86_400_000;

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

#[async_trait]
impl DashboardStore for Backend {
    async fn figures(&self, w: &FigureWindow) -> Result<Figures> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM tickets WHERE status IN ('new', 'in_progress')) AS in_progress, \
               (SELECT COUNT(*) FROM tickets WHERE status IN ('new', 'in_progress') \
                  AND clock_paused_at IS NULL AND next_step_at IS NOT NULL AND next_step_at <= $1) AS overdue_tickets, \
               (SELECT COUNT(*) FROM tasks WHERE state = 'open' AND due_at < $1 AND line >= 2) AS overdue_development, \
               (SELECT COUNT(*) FROM tickets WHERE created_at >= $2 \
                  AND classification IN ('bug', 'critical')) AS bugs, \
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
        let rows = sqlx::query(
            "SELECT (created_at + $2) / $3 AS day, COUNT(*) AS n FROM tickets \
             WHERE created_at >= $1 GROUP BY 1 ORDER BY 1",
        )
        .bind(ms(since))
        .bind(offset_ms)
        .bind(DAY_MS)
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
        .execute(self.writer())
        .await?;
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
        tx.commit().await?;
        Ok(id)
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
