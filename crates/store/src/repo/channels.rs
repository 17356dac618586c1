//! The SQL of [`ChannelStore`]: contacts by phone, calls, channel settings.

use super::*;
use crate::channels::*;
use okno_domain::channels::{CallState, PhoneNumber};

const CALL_SELECT: &str = "SELECT id, provider, call_id, from_number, to_number, from_key, contact_id, \
     client_id, state, agent, started_at, answered_at, ended_at, duration_s, recording_url, ticket_id FROM calls";

/// How many contacts one pass of [`ChannelStore::key_phones`] keys.
const KEY_BATCH: i64 = 500;

fn call_from(r: &DbRow) -> Result<CallRecord> {
    let maybe_instant = |column: &str| -> Result<Option<Timestamp>> {
        r.try_get::<Option<i64>, _>(column)?
            .map(instant)
            .transpose()
    };
    Ok(CallRecord {
        id: r.try_get("id")?,
        provider: r.try_get("provider")?,
        call_id: r.try_get("call_id")?,
        from_number: r.try_get("from_number")?,
        to_number: r.try_get("to_number")?,
        from_key: r.try_get("from_key")?,
        contact_id: r.try_get::<Option<i64>, _>("contact_id")?.map(UserId),
        client_id: r.try_get::<Option<i64>, _>("client_id")?.map(ClientId),
        state: code(CallState::parse, r.try_get("state")?, "call state")?,
        agent: r.try_get("agent")?,
        started_at: instant(r.try_get("started_at")?)?,
        answered_at: maybe_instant("answered_at")?,
        ended_at: maybe_instant("ended_at")?,
        duration_s: r.try_get("duration_s")?,
        recording_url: r.try_get("recording_url")?,
        ticket_id: r.try_get::<Option<i64>, _>("ticket_id")?.map(TicketId),
    })
}

const WEBHOOK_SELECT: &str = "SELECT id, url, events, secret, created_by, created_at, active, failures, \
     disabled_at FROM webhooks";

const DELIVERY_COLUMNS: &str = "id, webhook_id, event, body, created_at, attempts, next_attempt_at, \
     delivered_at, given_up_at, last_status, last_error";

fn optional_instant(r: &DbRow, column: &str) -> Result<Option<Timestamp>> {
    r.try_get::<Option<i64>, _>(column)?
        .map(instant)
        .transpose()
}

fn webhook_from(r: &DbRow) -> Result<Webhook> {
    Ok(Webhook {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        events: r
            .try_get::<&str, _>("events")?
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        secret: r.try_get("secret")?,
        created_by: UserId(r.try_get("created_by")?),
        created_at: instant(r.try_get("created_at")?)?,
        active: r.try_get("active")?,
        failures: r.try_get("failures")?,
        disabled_at: optional_instant(r, "disabled_at")?,
    })
}

fn delivery_from(r: &DbRow) -> Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        event: r.try_get("event")?,
        body: r.try_get("body")?,
        created_at: instant(r.try_get("created_at")?)?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: instant(r.try_get("next_attempt_at")?)?,
        delivered_at: optional_instant(r, "delivered_at")?,
        given_up_at: optional_instant(r, "given_up_at")?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
    })
}

/// The key stored for a contact's phone: its canonical digits, '' when it cannot be read.
pub(super) fn phone_key(phone: Option<&str>) -> Option<String> {
    phone
        .filter(|p| !p.trim().is_empty())
        .map(|p| PhoneNumber::parse(p).map_or_else(|_| String::new(), |n| n.key().to_owned()))
}

#[async_trait]
impl ChannelStore for Backend {
    async fn contact_by_phone(&self, key: &str) -> Result<Option<crate::contracts::Contact>> {
        if key.is_empty() {
            return Ok(None);
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "{} WHERE phone_key = $1 AND role = 'client' AND active = TRUE ORDER BY id LIMIT 1",
            super::contracts::CONTACT_SELECT
        )))
        .bind(key)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(super::contracts::contact_from).transpose()
    }

    async fn key_phones(&self) -> Result<u64> {
        let mut keyed = 0;
        loop {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, phone FROM users WHERE phone IS NOT NULL AND phone_key IS NULL ORDER BY id LIMIT $1",
            )
            .bind(KEY_BATCH)
            .fetch_all(self.writer())
            .await?;
            if rows.is_empty() {
                return Ok(keyed);
            }
            let mut tx = self.begin().await?;
            for (id, phone) in &rows {
                sqlx::query("UPDATE users SET phone_key = $2 WHERE id = $1")
                    .bind(id)
                    .bind(phone_key(Some(phone.as_str())).unwrap_or_default())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            keyed += rows.len() as u64;
        }
    }

    async fn open_call(&self, call: &NewCall) -> Result<CallRecord> {
        sqlx::query(
            "INSERT INTO calls (provider, call_id, from_number, to_number, from_key, contact_id, client_id, state, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'ringing', $8) ON CONFLICT (provider, call_id) DO NOTHING",
        )
        .bind(&call.provider)
        .bind(&call.call_id)
        .bind(&call.from_number)
        .bind(&call.to_number)
        .bind(&call.from_key)
        .bind(call.contact_id.map(|c| c.0))
        .bind(call.client_id.map(|c| c.0))
        .bind(ms(call.at))
        .execute(self.writer())
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "{CALL_SELECT} WHERE provider = $1 AND call_id = $2"
        )))
        .bind(&call.provider)
        .bind(&call.call_id)
        .fetch_one(self.writer())
        .await?;
        call_from(&row)
    }

    async fn move_call(&self, step: &CallMove) -> Result<bool> {
        let at = ms(step.at);
        let answered = (step.to == CallState::Answered).then_some(at);
        let ended = step.to.is_final().then_some(at);
        let moved = sqlx::query(
            "UPDATE calls SET state = $3, answered_at = COALESCE(answered_at, $4), ended_at = COALESCE(ended_at, $5), \
             agent = COALESCE($6, agent), duration_s = COALESCE($7, duration_s), \
             recording_url = COALESCE($8, recording_url) WHERE id = $1 AND state = $2",
        )
        .bind(step.id)
        .bind(step.from.as_str())
        .bind(step.to.as_str())
        .bind(answered)
        .bind(ended)
        .bind(&step.agent)
        .bind(step.duration_s)
        .bind(&step.recording_url)
        .execute(self.writer())
        .await?;
        Ok(moved.rows_affected() == 1)
    }

    async fn log_call(&self, call: i64, ticket: TicketId) -> Result<bool> {
        let logged =
            sqlx::query("UPDATE calls SET ticket_id = $2 WHERE id = $1 AND ticket_id IS NULL")
                .bind(call)
                .bind(ticket.0)
                .execute(self.writer())
                .await?;
        Ok(logged.rows_affected() == 1)
    }

    async fn complete_call(
        &self,
        call: i64,
        duration_s: Option<i64>,
        recording_url: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE calls SET duration_s = COALESCE($2, duration_s), recording_url = COALESCE($3, recording_url) WHERE id = $1",
        )
        .bind(call)
        .bind(duration_s)
        .bind(recording_url)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn call(&self, id: i64) -> Result<Option<CallRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!("{CALL_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(call_from).transpose()
    }

    async fn call_by_provider_id(
        &self,
        provider: &str,
        call_id: &str,
    ) -> Result<Option<CallRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{CALL_SELECT} WHERE provider = $1 AND call_id = $2"
        )))
        .bind(provider)
        .bind(call_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(call_from).transpose()
    }

    async fn recent_calls(&self, since: Timestamp, limit: u32) -> Result<Vec<CallRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CALL_SELECT} WHERE started_at >= $1 ORDER BY started_at DESC, id DESC LIMIT $2"
        )))
        .bind(ms(since))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(call_from).collect()
    }

    async fn ticket_calls(&self, ticket: TicketId) -> Result<Vec<CallRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CALL_SELECT} WHERE ticket_id = $1 ORDER BY started_at, id"
        )))
        .bind(ticket.0)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(call_from).collect()
    }

    async fn create_webhook(&self, w: &NewWebhook) -> Result<Webhook> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (url, events, secret, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&w.url)
        .bind(w.events.join(","))
        .bind(&w.secret)
        .bind(w.created_by.0)
        .bind(ms(w.at))
        .fetch_one(self.writer())
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{WEBHOOK_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_one(self.writer())
            .await?;
        webhook_from(&row)
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{WEBHOOK_SELECT} WHERE deleted_at IS NULL ORDER BY id"
        )))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(webhook_from).collect()
    }

    async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{WEBHOOK_SELECT} WHERE id = $1 AND deleted_at IS NULL"
        )))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(webhook_from).transpose()
    }

    async fn delete_webhook(&self, id: i64, at: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE webhooks SET deleted_at = $2, active = FALSE WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(ms(at))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn webhook_deliveries(
        &self,
        webhook: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        )))
        .bind(webhook)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(delivery_from).collect()
    }

    async fn history_after_cursor(&self, limit: u32) -> Result<(i64, Vec<HistoryEntry>)> {
        let cursor: i64 =
            sqlx::query_scalar("SELECT last_id FROM webhook_cursor WHERE name = 'history'")
                .fetch_one(self.writer())
                .await?;
        let rows = sqlx::query(
            "SELECT h.id, h.ticket_id, c.code AS client_code, h.at, h.actor_id, h.kind, h.before, h.after, h.public \
             FROM history h JOIN tickets t ON t.id = h.ticket_id JOIN clients c ON c.id = t.client_id \
             WHERE h.id > $1 ORDER BY h.id LIMIT $2",
        )
        .bind(cursor)
        .bind(i64::from(limit))
        .fetch_all(self.writer())
        .await?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(HistoryEntry {
                    id: r.try_get("id")?,
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    client_code: r.try_get("client_code")?,
                    at: instant(r.try_get("at")?)?,
                    actor_id: r.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
                    kind: r.try_get("kind")?,
                    before: r.try_get("before")?,
                    after: r.try_get("after")?,
                    public: r.try_get("public")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((cursor, entries))
    }

    async fn enqueue_deliveries(
        &self,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let moved = sqlx::query(
            "UPDATE webhook_cursor SET last_id = $2 WHERE name = 'history' AND last_id = $1",
        )
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        for d in deliveries {
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, event, body, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(d.webhook_id)
            .bind(&d.event)
            .bind(&d.body)
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn lease_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<LeasedDelivery>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE webhook_deliveries SET locked_until = $2, attempts = attempts + 1 \
             WHERE (locked_until IS NULL OR locked_until < $1) AND id IN (\
               SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.delivered_at IS NULL AND d.given_up_at IS NULL AND d.next_attempt_at <= $1 \
               AND (d.locked_until IS NULL OR d.locked_until < $1) AND w.active = TRUE \
               ORDER BY d.next_attempt_at, d.id LIMIT $3) \
             RETURNING {DELIVERY_COLUMNS}"
        )))
        .bind(ms(now))
        .bind(ms(lease_until))
        .bind(i64::from(limit))
        .fetch_all(self.writer())
        .await?;
        let deliveries = rows.iter().map(delivery_from).collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(deliveries.len());
        let mut hooks: std::collections::HashMap<i64, (String, String)> = Default::default();
        for delivery in deliveries {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                hooks.entry(delivery.webhook_id)
            {
                let (url, secret): (String, String) =
                    sqlx::query_as("SELECT url, secret FROM webhooks WHERE id = $1")
                        .bind(delivery.webhook_id)
                        .fetch_one(self.writer())
                        .await?;
                slot.insert((url, secret));
            }
            let (url, secret) = hooks[&delivery.webhook_id].clone();
            out.push(LeasedDelivery {
                delivery,
                url,
                secret,
            });
        }
        Ok(out)
    }

    async fn finish_delivery(
        &self,
        delivery: i64,
        result: &DeliveryResult,
        at: Timestamp,
        disable_after: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let webhook: i64 =
            sqlx::query_scalar("SELECT webhook_id FROM webhook_deliveries WHERE id = $1")
                .bind(delivery)
                .fetch_one(&mut *tx)
                .await?;
        let disabled = match result {
            DeliveryResult::Delivered { status } => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET delivered_at = $2, locked_until = NULL, last_status = $3, \
                     last_error = NULL WHERE id = $1",
                )
                .bind(delivery)
                .bind(ms(at))
                .bind(status)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE webhooks SET failures = 0 WHERE id = $1")
                    .bind(webhook)
                    .execute(&mut *tx)
                    .await?;
                false
            }
            DeliveryResult::Failed {
                status,
                error,
                retry_at,
            } => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET locked_until = NULL, last_status = $2, last_error = $3, \
                     next_attempt_at = COALESCE($4, next_attempt_at), given_up_at = $5 WHERE id = $1",
                )
                .bind(delivery)
                .bind(status)
                .bind(error)
                .bind(retry_at.map(ms))
                .bind(retry_at.is_none().then_some(ms(at)))
                .execute(&mut *tx)
                .await?;
                let disabled = sqlx::query(
                    "UPDATE webhooks SET failures = failures + 1, \
                     active = CASE WHEN failures + 1 >= $2 THEN FALSE ELSE active END, \
                     disabled_at = CASE WHEN failures + 1 >= $2 AND active THEN $3 ELSE disabled_at END \
                     WHERE id = $1 RETURNING active",
                )
                .bind(webhook)
                .bind(disable_after)
                .bind(ms(at))
                .fetch_one(&mut *tx)
                .await
                .map(|r| !r.get::<bool, _>("active"))?;
                let newly: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM webhooks WHERE id = $1 AND disabled_at = $2 AND failures = $3",
                )
                .bind(webhook)
                .bind(ms(at))
                .bind(disable_after)
                .fetch_optional(&mut *tx)
                .await?;
                disabled && newly.is_some()
            }
        };
        tx.commit().await?;
        Ok(disabled)
    }

    async fn load_contacts(
        &self,
        client: ClientId,
        contacts: &[(String, String, String)],
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for (email, name, phone) in contacts {
            sqlx::query(
                "INSERT INTO users (email, name, role, client_id, phone, phone_key, created_at) \
                 VALUES ($1, $2, 'client', $3, $4, $5, $6)",
            )
            .bind(email)
            .bind(name)
            .bind(client.0)
            .bind(phone)
            .bind(phone_key(Some(phone.as_str())))
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn form_posts_since(&self, key: &str, since: Timestamp) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM form_posts WHERE key = $1 AND at >= $2")
                .bind(key)
                .bind(ms(since))
                .fetch_one(self.writer())
                .await?,
        )
    }

    async fn record_form_post(&self, key: &str, at: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM form_posts WHERE key = $1 AND at < $2")
            .bind(key)
            .bind(ms(at) - 86_400_000)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO form_posts (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn channel_setting(&self, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM channel_settings WHERE name = $1")
                .bind(name)
                .fetch_optional(self.reader())
                .await?,
        )
    }

    async fn set_channel_setting(&self, name: &str, value: &str, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO channel_settings (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = $2, updated_at = $3",
        )
        .bind(name)
        .bind(value)
        .bind(ms(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
