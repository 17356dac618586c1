//! The SQL of [`MailStore`], for both backends.

use super::{Backend, Tx, USER_COLUMNS, bind_all, record, user_from};
use crate::sql::{Param, Sql, instant, ms};
use crate::*;
use sqlx::{AssertSqlSafe, Row};

const QUARANTINE_COLUMNS: &str = "id, mailbox, service, default_client, reason, sender, subject, LENGTH(raw) AS size, \
     received_at, attempts, resolved_at, resolution";

fn quarantined_from(row: &super::DbRow) -> Result<QuarantinedMail> {
    Ok(QuarantinedMail {
        id: row.try_get("id")?,
        mailbox: row.try_get("mailbox")?,
        service: row.try_get("service")?,
        default_client: row.try_get("default_client")?,
        reason: row.try_get("reason")?,
        sender: row.try_get("sender")?,
        subject: row.try_get("subject")?,
        size: row
            .try_get::<i64, _>("size")
            .or_else(|_| row.try_get::<i32, _>("size").map(i64::from))?,
        received_at: instant(row.try_get("received_at")?)?,
        attempts: row.try_get("attempts")?,
        resolved_at: row
            .try_get::<Option<i64>, _>("resolved_at")?
            .map(instant)
            .transpose()?,
        resolution: row.try_get("resolution")?,
    })
}

fn vendor_from(row: &super::DbRow) -> Result<Vendor> {
    Ok(Vendor {
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        support_email: row.try_get("support_email")?,
    })
}

/// The record of an inbound message with its raw bytes, on `ticket`: the statement that
/// claims the message's key (unique), so a key taken in already fails here as
/// [`MAIL_TAKEN`].
pub(super) async fn insert_mail_in(
    tx: &mut Tx,
    ticket: TicketId,
    m: &MailIn,
    at: Timestamp,
) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO mail_messages (direction, message_id, ticket_id, address, subject, raw, created_at, content_sha256) \
         VALUES ('in', $1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&m.key)
    .bind(ticket.0)
    .bind(&m.address)
    .bind(&m.subject)
    .bind(&m.raw)
    .bind(ms(at))
    .bind(&m.content_sha256)
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(DomainError::Conflict(MAIL_TAKEN.into()).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The statement inserting an inbound message's attachments' rows (on `comment`, if any).
pub(super) fn attachment_rows(
    ticket: TicketId,
    m: &MailIn,
    comment: Option<i64>,
    at: Timestamp,
) -> Option<Sql> {
    if m.attachments.is_empty() {
        return None;
    }
    let mut sql = Sql::new(
        "INSERT INTO attachments (ticket_id, comment_id, file_name, content_type, size, sha256, uploaded_by, created_at) VALUES ",
    );
    for (i, a) in m.attachments.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        for (j, param) in [
            Param::Int(ticket.0),
            Param::MaybeInt(comment),
            Param::Text(a.file_name.clone()),
            Param::Text(a.content_type.clone()),
            Param::Int(a.size),
            Param::Text(a.sha256.clone()),
            Param::Int(m.author.0),
            Param::Int(ms(at)),
        ]
        .into_iter()
        .enumerate()
        {
            if j > 0 {
                sql.push(", ");
            }
            sql.bind(param);
        }
        sql.push(")");
    }
    Some(sql)
}

#[async_trait]
impl MailStore for Backend {
    async fn mail_ticket(&self, message_ids: &[String]) -> Result<Option<TicketId>> {
        if message_ids.is_empty() {
            return Ok(None);
        }
        let mut sql = Sql::new(
            "SELECT message_id, ticket_id FROM mail_messages WHERE ticket_id IS NOT NULL AND message_id IN (",
        );
        for (i, id) in message_ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Param::Text(id.clone()));
        }
        sql.push(") ORDER BY id");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        let mut known = std::collections::HashMap::new();
        for row in &rows {
            let id: String = row.try_get("message_id")?;
            known
                .entry(id)
                .or_insert(TicketId(row.try_get("ticket_id")?));
        }
        // The first id that is known wins.
        Ok(message_ids.iter().find_map(|id| known.get(id).copied()))
    }

    async fn mail_sender(
        &self,
        key: &str,
        content_sha256: &str,
        address: &str,
        user_email: Option<&Email>,
        since: Timestamp,
    ) -> Result<SenderFacts> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM mail_messages WHERE message_id = $1 AND direction = 'in' \
             AND content_sha256 IN ($6, '')) AS taken, \
             (SELECT COUNT(*) FROM mail_messages WHERE address = $2 AND created_at > $3 AND direction = 'in') AS recent, \
             v.code AS vendor_code, v.name AS vendor_name, v.support_email AS vendor_email, \
             c.calendar AS calendar, {USER_COLUMNS} \
             FROM (SELECT 1 AS one) x \
             LEFT JOIN vendors v ON v.support_email = $4 \
             LEFT JOIN users u ON u.email = $5 AND u.active = TRUE \
             LEFT JOIN clients c ON c.id = u.client_id"
        )))
        .bind(key)
        .bind(address)
        .bind(ms(since))
        .bind(address.to_lowercase())
        .bind(user_email.map(Email::as_str))
        .bind(content_sha256)
        .fetch_one(self.reader())
        .await?;
        let vendor = match row.try_get::<Option<String>, _>("vendor_code")? {
            Some(code) => Some(Vendor {
                code,
                name: row.try_get("vendor_name")?,
                support_email: row.try_get("vendor_email")?,
            }),
            None => None,
        };
        let user = match row.try_get::<Option<i64>, _>("id")? {
            Some(_) => Some(user_from(&row)?),
            None => None,
        };
        Ok(SenderFacts {
            taken: row.try_get("taken")?,
            recent: row.try_get("recent")?,
            vendor,
            calendar: row.try_get("calendar")?,
            user,
        })
    }

    async fn record_mail(&self, r: &MailRecord, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO mail_messages (direction, message_id, ticket_id, address, subject, raw_sha256, outbox_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id, direction, content_sha256) DO NOTHING",
        )
        .bind(if r.inbound { "in" } else { "out" })
        .bind(&r.message_id)
        .bind(r.ticket_id.map(|t| t.0))
        .bind(&r.address)
        .bind(&r.subject)
        .bind(&r.raw_sha256)
        .bind(r.outbox_id)
        .bind(ms(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn mail_thread(&self, ticket: TicketId, limit: u32) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT message_id FROM mail_messages WHERE ticket_id = $1 ORDER BY id LIMIT $2",
        )
        .bind(ticket.0)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?)
    }

    async fn ticket_registered(&self, ticket: TicketId) -> Result<Option<bool>> {
        Ok(
            sqlx::query_scalar("SELECT registered FROM tickets WHERE id = $1")
                .bind(ticket.0)
                .fetch_optional(self.reader())
                .await?,
        )
    }

    async fn mail_sent(&self, message_id: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM mail_messages WHERE message_id = $1 AND direction = 'out'",
        )
        .bind(message_id)
        .fetch_optional(self.writer())
        .await?;
        Ok(found.is_some())
    }

    async fn active_users_of(&self, role: Role) -> Result<Vec<User>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.role = $1 AND u.active = TRUE ORDER BY u.id"
        )))
        .bind(role.as_str())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(user_from).collect()
    }

    async fn client_by_mail_domain(&self, domain: &str) -> Result<Option<Client>> {
        let row =
            sqlx::query("SELECT id, code, name, mail_domain FROM clients WHERE mail_domain = $1")
                .bind(domain.to_lowercase())
                .fetch_optional(self.reader())
                .await?;
        row.as_ref().map(super::client_from).transpose()
    }

    async fn ensure_client(&self, code: &str, name: &str) -> Result<ClientId> {
        sqlx::query(
            "INSERT INTO clients (code, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING",
        )
        .bind(code)
        .bind(name)
        .bind(ms(self.now()))
        .execute(self.writer())
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE code = $1")
            .bind(code)
            .fetch_one(self.writer())
            .await?;
        Ok(ClientId(id))
    }

    async fn record_bounce(&self, ticket: TicketId, detail: &str, at: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        record(
            &mut tx,
            ticket,
            at,
            None,
            "mail_bounce",
            (None, Some(detail)),
            false,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn quarantine_mail(&self, q: &Quarantine<'_>, at: Timestamp) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO mail_quarantine (mailbox, service, default_client, reason, sender, subject, raw, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(q.mailbox)
        .bind(q.service)
        .bind(q.default_client)
        .bind(q.reason)
        .bind(q.sender)
        .bind(q.subject)
        .bind(q.raw)
        .bind(ms(at))
        .fetch_one(self.writer())
        .await?)
    }

    async fn quarantined(&self, after: Option<i64>, limit: u32) -> Result<Vec<QuarantinedMail>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {QUARANTINE_COLUMNS} FROM mail_quarantine WHERE resolved_at IS NULL AND id < $1 \
             ORDER BY id DESC LIMIT $2"
        )))
        .bind(after.unwrap_or(i64::MAX))
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(quarantined_from).collect()
    }

    async fn quarantined_raw(&self, id: i64) -> Result<Option<(QuarantinedMail, Vec<u8>)>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {QUARANTINE_COLUMNS}, raw FROM mail_quarantine WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| Ok((quarantined_from(&row)?, row.try_get("raw")?)))
            .transpose()
    }

    async fn resolve_quarantine(
        &self,
        id: i64,
        resolution: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE mail_quarantine SET attempts = attempts + 1, \
             resolved_at = CASE WHEN $3 IS NULL THEN resolved_at ELSE $2 END, \
             resolution = COALESCE($3, resolution) WHERE id = $1",
        )
        .bind(id)
        .bind(ms(at))
        .bind(resolution)
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(DomainError::NotFound("quarantined message").into());
        }
        Ok(())
    }

    async fn upsert_vendor(&self, v: &Vendor) -> Result<()> {
        sqlx::query(
            "INSERT INTO vendors (code, name, support_email) VALUES ($1, $2, $3) ON CONFLICT (code) DO UPDATE \
             SET name = excluded.name, support_email = excluded.support_email",
        )
        .bind(&v.code)
        .bind(&v.name)
        .bind(v.support_email.to_lowercase())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn handed_to_vendor(&self, ticket: TicketId, vendor: &str) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT vendor_code FROM ticket_vendors WHERE ticket_id = $1 AND vendor_code = $2",
        )
        .bind(ticket.0)
        .bind(vendor)
        .fetch_optional(self.reader())
        .await?;
        Ok(found.is_some())
    }

    async fn vendor(&self, code: &str) -> Result<Option<Vendor>> {
        let row = sqlx::query("SELECT code, name, support_email FROM vendors WHERE code = $1")
            .bind(code)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(vendor_from).transpose()
    }

    async fn transfer_to_vendor(
        &self,
        ticket: TicketId,
        vendor: &str,
        by: UserId,
        text: &str,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO ticket_vendors (ticket_id, vendor_code, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(ticket.0)
        .bind(vendor)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            ticket,
            at,
            Some(by),
            "vendor_transfer",
            (None, Some(vendor)),
            false,
        )
        .await?;
        let payload = serde_json::json!({ "ticket_id": ticket.0, "vendor": vendor, "text": text });
        sqlx::query(
            "INSERT INTO outbox (kind, payload, created_at, next_attempt_at, idempotency_key) VALUES ($1, $2, $3, $3, $4) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(OutboxKind::VendorTransfer.code())
        .bind(payload.to_string())
        .bind(ms(at))
        .bind(format!("vendor:{}:{vendor}", ticket.0))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn enqueue_outbox(
        &self,
        kind: OutboxKind,
        payload: &str,
        idempotency_key: &str,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox (kind, payload, created_at, next_attempt_at, idempotency_key) VALUES ($1, $2, $3, $3, $4) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(kind.code())
        .bind(payload)
        .bind(ms(at))
        .bind(idempotency_key)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn claim_outbox(
        &self,
        kinds: &[OutboxKind],
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<OutboxMessage>> {
        let mut sql = Sql::new("UPDATE outbox SET locked_until = ");
        sql.bind(Param::Int(ms(lease_until)));
        sql.push(", attempts = attempts + 1 WHERE (locked_until IS NULL OR locked_until < ");
        let now_param = sql.params.len();
        sql.bind(Param::Int(ms(now)));
        sql.push(
            ") AND id = (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ",
        );
        sql.push(&format!("${}", now_param + 1));
        sql.push(&format!(
            " AND (locked_until IS NULL OR locked_until < ${}) AND kind IN (",
            now_param + 1
        ));
        for (i, kind) in kinds.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Param::Text(kind.code().to_owned()));
        }
        sql.push(") ORDER BY next_attempt_at, id LIMIT 1) RETURNING id, kind, payload, attempts, created_at, handed_at");
        let row = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_optional(self.writer())
            .await?;
        row.map(|row| {
            Ok(OutboxMessage {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                payload: row.try_get("payload")?,
                attempts: row.try_get("attempts")?,
                created_at: instant(row.try_get("created_at")?)?,
                handed_at: row
                    .try_get::<Option<i64>, _>("handed_at")?
                    .map(instant)
                    .transpose()?,
            })
        })
        .transpose()
    }

    async fn outbox_delivered(&self, id: i64, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE outbox SET delivered_at = $2, locked_until = NULL, last_error = NULL WHERE id = $1")
            .bind(id)
            .bind(ms(at))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn outbox_ended(&self, id: i64, reason: &str, at: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET delivered_at = $2, locked_until = NULL, ended = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(ms(at))
        .bind(reason)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn outbox_rows(&self, after: Option<i64>, limit: u32) -> Result<Vec<OutboxRow>> {
        let sql = format!("{OUTBOX_ROW} WHERE o.id > $1 ORDER BY o.id LIMIT $2");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(outbox_row).collect()
    }

    async fn outbox_problems(&self, limit: u32) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "{OUTBOX_ROW} WHERE o.delivered_at IS NULL AND o.last_error IS NOT NULL \
             ORDER BY o.id DESC LIMIT $1"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(i64::from(limit.clamp(1, 1_000)))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(outbox_row).collect()
    }

    async fn outbox_retry(&self, id: i64, at: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $2, locked_until = NULL, last_error = NULL, \
             handed_at = NULL, attempts = 0 WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(ms(at))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn outbox_handing(&self, id: i64, at: Option<Timestamp>) -> Result<()> {
        sqlx::query("UPDATE outbox SET handed_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at.map(ms))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<Timestamp>,
    ) -> Result<()> {
        // Given up: parked far in the future, kept with its error for the admin.
        let next = next_attempt_at.map_or(i64::MAX, ms);
        sqlx::query("UPDATE outbox SET next_attempt_at = $2, locked_until = NULL, last_error = $3 WHERE id = $1")
            .bind(id)
            .bind(next)
            .bind(error)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}

/// An outbox row as the admin and the simulation read it, with its messages sent.
const OUTBOX_ROW: &str = "SELECT o.id, o.kind, o.created_at, o.attempts, o.delivered_at, o.ended, \
     o.last_error, o.next_attempt_at, (SELECT COUNT(*) FROM mail_messages m \
       WHERE m.outbox_id = o.id AND m.direction = 'out') AS messages FROM outbox o";

fn outbox_row(row: &super::DbRow) -> Result<OutboxRow> {
    let next: i64 = row.try_get("next_attempt_at")?;
    Ok(OutboxRow {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        created_at: instant(row.try_get("created_at")?)?,
        attempts: row.try_get("attempts")?,
        delivered_at: row
            .try_get::<Option<i64>, _>("delivered_at")?
            .map(instant)
            .transpose()?,
        ended: row.try_get("ended")?,
        last_error: row.try_get("last_error")?,
        next_attempt_at: (next != i64::MAX).then(|| instant(next)).transpose()?,
        messages: row.try_get("messages")?,
    })
}
