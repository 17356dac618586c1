//! The SQL of [`WorkplaceStore`]: a person's own settings, the queue's ticket briefs.

use super::*;

#[async_trait]
impl WorkplaceStore for Backend {
    async fn user_time_zone(&self, user: UserId) -> Result<Option<String>> {
        let zone: Option<Option<String>> =
            sqlx::query_scalar("SELECT time_zone FROM user_preferences WHERE user_id = $1")
                .bind(user.0)
                .fetch_optional(self.reader())
                .await?;
        Ok(zone.flatten())
    }

    async fn set_user_time_zone(&self, user: UserId, zone: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_preferences (user_id, time_zone) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET time_zone = excluded.time_zone",
        )
        .bind(user.0)
        .bind(zone)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn ticket_briefs(&self, tickets: &[TicketId]) -> Result<Vec<TicketBrief>> {
        let tickets = &tickets[..tickets.len().min(BRIEFS_MAX)];
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=tickets.len()).map(|i| format!("${i}")).collect();
        let text = format!(
            "SELECT t.id, t.subject, c.code, c.name FROM tickets t \
             JOIN clients c ON c.id = t.client_id WHERE t.id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(text));
        for ticket in tickets {
            query = query.bind(ticket.0);
        }
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter()
            .map(|row| {
                Ok(TicketBrief {
                    id: TicketId(row.try_get(0)?),
                    subject: row.try_get(1)?,
                    client_code: row.try_get(2)?,
                    client_name: row.try_get(3)?,
                })
            })
            .collect()
    }
}
