//! The SQL of [`ImportStore`]: a ticket from another system with its history, in one
//! transaction, and the links from source ids to rows. Imported history sends nothing: it
//! happened long ago, so no outbox rows are written.

use super::*;

/// The kind of link a history item leaves (`item:<ticket id>:<item id>` keeps item ids of
/// different tickets apart when a source numbers them per ticket).
const ITEM: &str = "item";

async fn link_in(
    tx: &mut Tx,
    source: &str,
    kind: &str,
    external_id: &str,
    (okno_id, ticket): (i64, Option<TicketId>),
    (label, stamp): (&str, &str),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO import_links (source, kind, external_id, okno_id, ticket_id, label, stamp) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (source, kind, external_id) DO UPDATE SET okno_id = excluded.okno_id, \
         ticket_id = excluded.ticket_id, label = excluded.label, stamp = excluded.stamp",
    )
    .bind(source)
    .bind(kind)
    .bind(external_id)
    .bind(okno_id)
    .bind(ticket.map(|t| t.0))
    .bind(label)
    .bind(stamp)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_file(
    tx: &mut Tx,
    ticket: TicketId,
    comment: Option<i64>,
    by: UserId,
    file: &ImportedFile,
    at: Timestamp,
    public: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO attachments (ticket_id, comment_id, file_name, content_type, size, sha256, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ticket.0)
    .bind(comment)
    .bind(&file.file_name)
    .bind(&file.content_type)
    .bind(file.size)
    .bind(&file.sha256)
    .bind(by.0)
    .bind(ms(at))
    .execute(&mut **tx)
    .await?;
    record(
        tx,
        ticket,
        at,
        Some(by),
        "attachment",
        (None, Some(&file.file_name)),
        public,
    )
    .await
}

/// Writes one history item of an imported ticket.
async fn insert_item(tx: &mut Tx, ticket: TicketId, item: &ImportedItem) -> Result<()> {
    let at = item.at;
    match &item.change {
        ImportedChange::Comment {
            author,
            body,
            internal,
            files,
        } => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO comments (ticket_id, author_id, body, internal, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(ticket.0)
            .bind(author.0)
            .bind(body)
            .bind(*internal)
            .bind(ms(at))
            .fetch_one(&mut **tx)
            .await?;
            let id_text = id.to_string();
            record(
                tx,
                ticket,
                at,
                Some(*author),
                "comment",
                (None, Some(&id_text)),
                !internal,
            )
            .await?;
            for file in files {
                insert_file(tx, ticket, Some(id), *author, file, at, !internal).await?;
            }
        }
        ImportedChange::Status { by, before, after } => {
            record(
                tx,
                ticket,
                at,
                *by,
                "status",
                (Some(before.as_str()), Some(after.as_str())),
                true,
            )
            .await?;
        }
        ImportedChange::Field {
            by,
            name,
            before,
            after,
        } => {
            let before = before.as_ref().map(|b| format!("{name}: {b}"));
            let after = format!("{name}: {}", after.as_deref().unwrap_or(""));
            record(
                tx,
                ticket,
                at,
                *by,
                "field",
                (before.as_deref(), Some(&after)),
                false,
            )
            .await?;
        }
        ImportedChange::File { by, file } => {
            insert_file(tx, ticket, None, *by, file, at, true).await?;
        }
        ImportedChange::Time {
            user,
            stopped_at,
            note,
        } => {
            sqlx::query(
                "INSERT INTO time_entries (user_id, ticket_id, started_at, stopped_at, manual, note) \
                 VALUES ($1, $2, $3, $4, TRUE, $5)",
            )
            .bind(user.0)
            .bind(ticket.0)
            .bind(ms(at))
            .bind(ms(*stopped_at))
            .bind(note)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl ImportStore for Backend {
    async fn import_link(
        &self,
        source: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<Option<(i64, String)>> {
        let row = sqlx::query(
            "SELECT okno_id, stamp FROM import_links WHERE source = $1 AND kind = $2 AND external_id = $3",
        )
        .bind(source)
        .bind(kind)
        .bind(external_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| Ok((r.try_get("okno_id")?, r.try_get("stamp")?)))
            .transpose()
    }

    async fn link_import(
        &self,
        source: &str,
        kind: &str,
        external_id: &str,
        okno_id: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        link_in(
            &mut tx,
            source,
            kind,
            external_id,
            (okno_id, None),
            ("", ""),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn import_ticket(&self, t: &ImportedTicket) -> Result<ImportOutcome> {
        let mut tx = self.begin().await?;
        let existing: Option<(i64, String)> = sqlx::query(
            "SELECT okno_id, stamp FROM import_links WHERE source = $1 AND kind = 'ticket' AND external_id = $2",
        )
        .bind(&t.source)
        .bind(&t.external_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| Ok::<_, StoreError>((r.try_get("okno_id")?, r.try_get("stamp")?)))
        .transpose()?;
        if let Some((id, stamp)) = &existing
            && *stamp == t.stamp
        {
            tx.commit().await?;
            return Ok(ImportOutcome::Unchanged(TicketId(*id)));
        }
        let id = match &existing {
            Some((id, _)) => {
                sqlx::query(
                    "UPDATE tickets SET service = $2, subject = $3, description = $4, status = $5, \
                     client_id = $6, requester_id = $7, updated_at = $8 WHERE id = $1",
                )
                .bind(id)
                .bind(&t.service)
                .bind(&t.subject)
                .bind(&t.description)
                .bind(t.status.as_str())
                .bind(t.client_id.0)
                .bind(t.requester_id.0)
                .bind(ms(t.updated_at))
                .execute(&mut *tx)
                .await?;
                TicketId(*id)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO tickets (service, subject, description, status, client_id, requester_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(&t.service)
                .bind(&t.subject)
                .bind(&t.description)
                .bind(t.status.as_str())
                .bind(t.client_id.0)
                .bind(t.requester_id.0)
                .bind(ms(t.created_at))
                .bind(ms(t.updated_at))
                .fetch_one(&mut *tx)
                .await?;
                let id = TicketId(id);
                record(
                    &mut tx,
                    id,
                    t.created_at,
                    Some(t.requester_id),
                    "created",
                    (None, Some(TicketStatus::New.as_str())),
                    true,
                )
                .await?;
                record(
                    &mut tx,
                    id,
                    t.created_at,
                    None,
                    "imported",
                    (None, Some(&t.label)),
                    true,
                )
                .await?;
                id
            }
        };
        let done: std::collections::HashSet<String> = if existing.is_some() {
            sqlx::query_scalar(
                "SELECT external_id FROM import_links WHERE source = $1 AND kind = $2 AND ticket_id = $3",
            )
            .bind(&t.source)
            .bind(ITEM)
            .bind(id.0)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect()
        } else {
            Default::default()
        };
        let mut added = 0;
        for item in &t.items {
            let key = format!("{}:{}", t.external_id, item.external_id);
            if done.contains(&key) {
                continue;
            }
            insert_item(&mut tx, id, item).await?;
            link_in(&mut tx, &t.source, ITEM, &key, (0, Some(id)), ("", "")).await?;
            added += 1;
        }
        let open_tasks: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE ticket_id = $1 AND state = 'open'",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        match &t.open_task {
            Some(task) if open_tasks == 0 => {
                insert_tasks(&mut tx, id, std::slice::from_ref(task), t.updated_at).await?;
            }
            None if open_tasks > 0 && existing.is_some() => {
                // Closed at the source since the last run: the review is no longer needed.
                sqlx::query(
                    "UPDATE tasks SET state = 'cancelled' WHERE ticket_id = $1 AND state = 'open' AND stage IS NULL",
                )
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
        link_in(
            &mut tx,
            &t.source,
            "ticket",
            &t.external_id,
            (id.0, Some(id)),
            (&t.label, &t.stamp),
        )
        .await?;
        tx.commit().await?;
        Ok(match existing {
            Some(_) => ImportOutcome::Updated(id, added),
            None => ImportOutcome::Created(id),
        })
    }

    async fn import_labels(&self, ticket: TicketId) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT label FROM import_links WHERE ticket_id = $1 AND kind = 'ticket' ORDER BY source",
        )
        .bind(ticket.0)
        .fetch_all(self.reader())
        .await?)
    }
}
