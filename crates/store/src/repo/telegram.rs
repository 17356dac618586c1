//! The SQL of [`TelegramStore`]: links, codes, updates taken in, the bot's queue and state.

use super::*;
use crate::telegram::*;

const LINK_SELECT: &str = "SELECT telegram_user, chat_id, user_id, language, linked_at, current_ticket, \
     pending_service FROM telegram_links";

const MESSAGE_COLUMNS: &str = "id, chat_id, ticket_id, outbox_id, text, reply_markup, created_at, attempts, \
     next_attempt_at, sent_at, message_id, given_up_at, last_error";

fn maybe_instant(r: &DbRow, column: &str) -> Result<Option<Timestamp>> {
    r.try_get::<Option<i64>, _>(column)?
        .map(instant)
        .transpose()
}

fn link_from(r: &DbRow) -> Result<TelegramLink> {
    Ok(TelegramLink {
        telegram_user: r.try_get("telegram_user")?,
        chat_id: r.try_get("chat_id")?,
        user_id: UserId(r.try_get("user_id")?),
        language: r.try_get("language")?,
        linked_at: instant(r.try_get("linked_at")?)?,
        current_ticket: r.try_get::<Option<i64>, _>("current_ticket")?.map(TicketId),
        pending_service: r.try_get("pending_service")?,
    })
}

fn message_from(r: &DbRow) -> Result<TelegramMessage> {
    Ok(TelegramMessage {
        id: r.try_get("id")?,
        chat_id: r.try_get("chat_id")?,
        ticket_id: r.try_get::<Option<i64>, _>("ticket_id")?.map(TicketId),
        outbox_id: r.try_get("outbox_id")?,
        text: r.try_get("text")?,
        reply_markup: r.try_get("reply_markup")?,
        created_at: instant(r.try_get("created_at")?)?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: instant(r.try_get("next_attempt_at")?)?,
        sent_at: maybe_instant(r, "sent_at")?,
        message_id: r.try_get("message_id")?,
        given_up_at: maybe_instant(r, "given_up_at")?,
        last_error: r.try_get("last_error")?,
    })
}

async fn insert_message(
    tx: &mut Tx,
    outbox: Option<i64>,
    m: &NewTelegramMessage,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO telegram_messages (chat_id, ticket_id, outbox_id, text, reply_markup, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(m.chat_id)
    .bind(m.ticket_id.map(|t| t.0))
    .bind(outbox)
    .bind(&m.text)
    .bind(&m.reply_markup)
    .bind(ms(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn cursor(tx: &mut Tx, name: &str) -> Result<i64> {
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM telegram_state WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

#[async_trait]
impl TelegramStore for Backend {
    async fn create_telegram_code(
        &self,
        user: UserId,
        code: &str,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM telegram_codes WHERE user_id = $1 OR expires_at < $2")
            .bind(user.0)
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO telegram_codes (code, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(code)
        .bind(user.0)
        .bind(ms(at))
        .bind(ms(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn take_telegram_code(&self, code: &str, now: Timestamp) -> Result<Option<UserId>> {
        let user: Option<i64> = sqlx::query_scalar(
            "UPDATE telegram_codes SET used_at = $2 WHERE code = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING user_id",
        )
        .bind(code)
        .bind(ms(now))
        .fetch_optional(self.writer())
        .await?;
        Ok(user.map(UserId))
    }

    async fn link_telegram(
        &self,
        telegram_user: i64,
        chat_id: i64,
        user: UserId,
        language: &str,
        at: Timestamp,
    ) -> Result<TelegramLink> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM telegram_links WHERE user_id = $1 OR telegram_user = $2")
            .bind(user.0)
            .bind(telegram_user)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO telegram_links (telegram_user, chat_id, user_id, language, linked_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(telegram_user)
        .bind(chat_id)
        .bind(user.0)
        .bind(language)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "{LINK_SELECT} WHERE telegram_user = $1"
        )))
        .bind(telegram_user)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        link_from(&row)
    }

    async fn unlink_telegram(&self, user: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM telegram_links WHERE user_id = $1")
            .bind(user.0)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn telegram_link(&self, telegram_user: i64) -> Result<Option<TelegramLink>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{LINK_SELECT} WHERE telegram_user = $1"
        )))
        .bind(telegram_user)
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(link_from).transpose()
    }

    async fn telegram_link_of(&self, user: UserId) -> Result<Option<TelegramLink>> {
        let row = sqlx::query(AssertSqlSafe(format!("{LINK_SELECT} WHERE user_id = $1")))
            .bind(user.0)
            .fetch_optional(self.writer())
            .await?;
        row.as_ref().map(link_from).transpose()
    }

    async fn telegram_manager_links(&self) -> Result<Vec<TelegramLink>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{LINK_SELECT} WHERE user_id IN (SELECT id FROM users WHERE role IN ('manager', 'admin') \
             AND active = TRUE) ORDER BY telegram_user"
        )))
        .fetch_all(self.writer())
        .await?;
        rows.iter().map(link_from).collect()
    }

    async fn set_telegram_context(
        &self,
        telegram_user: i64,
        current_ticket: Option<TicketId>,
        pending_service: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE telegram_links SET current_ticket = $2, pending_service = $3 WHERE telegram_user = $1",
        )
        .bind(telegram_user)
        .bind(current_ticket.map(|t| t.0))
        .bind(pending_service)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn claim_telegram_update(
        &self,
        update_id: i64,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<bool> {
        let taken = sqlx::query(
            "INSERT INTO telegram_updates (update_id, at) VALUES ($1, $2) ON CONFLICT (update_id) DO NOTHING",
        )
        .bind(update_id)
        .bind(ms(at))
        .execute(self.writer())
        .await?;
        if update_id % 1000 == 0 {
            sqlx::query("DELETE FROM telegram_updates WHERE at < $1")
                .bind(ms(forget_before))
                .execute(self.writer())
                .await?;
        }
        Ok(taken.rows_affected() == 1)
    }

    async fn telegram_state(&self, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM telegram_state WHERE name = $1")
                .bind(name)
                .fetch_optional(self.writer())
                .await?,
        )
    }

    async fn set_telegram_state(&self, name: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO telegram_state (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn advance_telegram_offset(&self, offset: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let now = cursor(&mut tx, state::OFFSET).await?;
        if offset > now {
            sqlx::query(
                "INSERT INTO telegram_state (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(state::OFFSET)
            .bind(offset.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn queue_telegram(&self, messages: &[NewTelegramMessage], at: Timestamp) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for m in messages {
            insert_message(&mut tx, None, m, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn telegram_feed(&self, limit: u32) -> Result<TelegramFeed> {
        // Plain reads on the writer, no transaction: after the store is closed they fail,
        // so a dispatcher still ticking then writes nothing.
        let cursors: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, value FROM telegram_state WHERE name IN ('outbox_cursor', 'alert_cursor')",
        )
        .fetch_all(self.writer())
        .await?;
        let cursor_of = |name: &str| {
            cursors
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let (outbox_cursor, alert_cursor) = (cursor_of("outbox_cursor"), cursor_of("alert_cursor"));
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, kind, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(outbox_cursor)
        .bind(i64::from(limit))
        .fetch_all(self.writer())
        .await?;
        let alerts = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM alerts WHERE id > $1 ORDER BY id LIMIT $2",
            super::jobs::ALERT_COLUMNS
        )))
        .bind(alert_cursor)
        .bind(i64::from(limit))
        .fetch_all(self.writer())
        .await?;
        Ok(TelegramFeed {
            outbox_cursor,
            outbox: rows
                .into_iter()
                .map(|(id, kind, payload)| OutboxEntry { id, kind, payload })
                .collect(),
            alert_cursor,
            alerts: alerts
                .iter()
                .map(super::jobs::alert_from)
                .collect::<Result<_>>()?,
        })
    }

    async fn queue_telegram_feed(
        &self,
        from: (i64, i64),
        to: (i64, i64),
        messages: &[(Option<i64>, NewTelegramMessage)],
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        for (name, from, to) in [
            ("outbox_cursor", from.0, to.0),
            ("alert_cursor", from.1, to.1),
        ] {
            let moved =
                sqlx::query("UPDATE telegram_state SET value = $3 WHERE name = $1 AND value = $2")
                    .bind(name)
                    .bind(from.to_string())
                    .bind(to.to_string())
                    .execute(&mut *tx)
                    .await?;
            if moved.rows_affected() != 1 {
                return Ok(false);
            }
        }
        for (outbox, m) in messages {
            insert_message(&mut tx, *outbox, m, at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn lease_telegram(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TelegramMessage>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE telegram_messages SET locked_until = $2, attempts = attempts + 1 \
             WHERE (locked_until IS NULL OR locked_until < $1) AND id IN (\
               SELECT id FROM telegram_messages WHERE sent_at IS NULL AND given_up_at IS NULL \
               AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
               ORDER BY id LIMIT $3) \
             RETURNING {MESSAGE_COLUMNS}"
        )))
        .bind(ms(now))
        .bind(ms(lease_until))
        .bind(i64::from(limit))
        .fetch_all(self.writer())
        .await?;
        let mut out = rows.iter().map(message_from).collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    async fn telegram_sent(&self, id: i64, message_id: i64, at: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE telegram_messages SET sent_at = $2, message_id = $3, locked_until = NULL, last_error = NULL \
             WHERE id = $1",
        )
        .bind(id)
        .bind(ms(at))
        .bind(message_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn telegram_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE telegram_messages SET locked_until = NULL, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), given_up_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at.map(ms))
        .bind(retry_at.is_none().then(|| ms(at)))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn ticket_of_telegram_message(
        &self,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Option<TicketId>> {
        let ticket: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT ticket_id FROM telegram_messages WHERE chat_id = $1 AND message_id = $2 LIMIT 1",
        )
        .bind(chat_id)
        .bind(message_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(ticket.flatten().map(TicketId))
    }

    async fn telegram_messages(&self, after: i64, limit: u32) -> Result<Vec<TelegramMessage>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM telegram_messages WHERE id > $1 ORDER BY id LIMIT $2"
        )))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.writer())
        .await?;
        rows.iter().map(message_from).collect()
    }
}
