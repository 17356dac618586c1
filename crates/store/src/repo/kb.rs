//! SQL of [`KbStore`], compiled for both backends.

use super::{Backend, COMMENT_SELECT, DbRow, TASK_COLUMNS, TICKET_SELECT, Tx, bind_all};
use super::{comment_from, record, task_from, ticket_from, unique_violation};
use crate::kb::*;
use crate::sql::{Param, Sql, instant, ms};
use crate::*;
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;

const ARTICLE_COLUMNS: &str = "a.id, a.slug, a.title, a.body, a.category, a.tags, a.services, a.audience, \
     a.status, a.version, a.shipped, a.created_at, a.updated_at, \
     COALESCE((SELECT STRING_AGG(CAST(k.client_id AS TEXT), ',') FROM kb_article_clients k WHERE k.article_id = a.id), '') AS clients";

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn article_from(row: &DbRow) -> Result<Article> {
    Ok(Article {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        category: row.try_get("category")?,
        tags: list(row.try_get("tags")?),
        services: list(row.try_get("services")?),
        audience: row.try_get("audience")?,
        clients: list(row.try_get("clients")?)
            .iter()
            .filter_map(|c| c.parse().ok().map(ClientId))
            .collect(),
        status: row.try_get("status")?,
        version: row.try_get("version")?,
        shipped: row.try_get("shipped")?,
        created_at: instant(row.try_get("created_at")?)?,
        updated_at: instant(row.try_get("updated_at")?)?,
    })
}

fn attachment_from(row: &DbRow) -> Result<ArticleAttachment> {
    Ok(ArticleAttachment {
        id: row.try_get("id")?,
        article_id: row.try_get("article_id")?,
        file_name: row.try_get("file_name")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        created_at: instant(row.try_get("created_at")?)?,
    })
}

async fn article_in(tx: &mut Tx, id: i64) -> Result<Article> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {ARTICLE_COLUMNS} FROM kb_articles a WHERE a.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    article_from(&row)
}

async fn save_clients(tx: &mut Tx, id: i64, clients: &[ClientId]) -> Result<()> {
    sqlx::query("DELETE FROM kb_article_clients WHERE article_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for client in clients {
        sqlx::query(
            "INSERT INTO kb_article_clients (article_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(client.0)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn save_version(
    tx: &mut Tx,
    id: i64,
    version: i64,
    input: &ArticleInput,
    by: Option<UserId>,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO kb_versions (article_id, version, title, body, status, edited_by, edited_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(version)
    .bind(&input.title)
    .bind(&input.body)
    .bind(&input.status)
    .bind(by.map(|u| u.0))
    .bind(ms(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `$first, $first+1, …` placeholders for `n` values.
fn placeholders(sql: &mut Sql, ids: &[i64]) {
    sql.push("(");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Param::Int(*id));
    }
    sql.push(")");
}

#[async_trait]
impl KbStore for Backend {
    async fn create_article(
        &self,
        input: &ArticleInput,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<Article> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO kb_articles (slug, title, body, category, tags, services, audience, status, version, shipped, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $11) RETURNING id",
        )
        .bind(&input.slug)
        .bind(&input.title)
        .bind(&input.body)
        .bind(&input.category)
        .bind(input.tags.join(","))
        .bind(input.services.join(","))
        .bind(&input.audience)
        .bind(&input.status)
        .bind(input.shipped)
        .bind(by.map(|u| u.0))
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, "slug", "an article with this address exists"))?;
        save_clients(&mut tx, id, &input.clients).await?;
        save_version(&mut tx, id, 1, input, by, at).await?;
        let article = article_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(article)
    }

    async fn update_article(
        &self,
        id: i64,
        expected_version: i64,
        input: &ArticleInput,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<Article> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE kb_articles SET slug = $3, title = $4, body = $5, category = $6, tags = $7, services = $8, \
             audience = $9, status = $10, version = version + 1, updated_at = $11 \
             WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(expected_version)
        .bind(&input.slug)
        .bind(&input.title)
        .bind(&input.body)
        .bind(&input.category)
        .bind(input.tags.join(","))
        .bind(input.services.join(","))
        .bind(&input.audience)
        .bind(&input.status)
        .bind(ms(at))
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, "slug", "an article with this address exists"))?;
        if updated.rows_affected() == 0 {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT version FROM kb_articles WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match exists {
                None => DomainError::NotFound("article").into(),
                Some(current) => DomainError::Conflict(format!(
                    "version: the article is at version {current}, not {expected_version}; reload it"
                ))
                .into(),
            });
        }
        save_clients(&mut tx, id, &input.clients).await?;
        save_version(&mut tx, id, expected_version + 1, input, by, at).await?;
        let article = article_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(article)
    }

    async fn article(&self, id: i64) -> Result<Option<Article>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM kb_articles a WHERE a.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(article_from).transpose()
    }

    async fn article_by_slug(&self, slug: &str) -> Result<Option<Article>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM kb_articles a WHERE a.slug = $1"
        )))
        .bind(slug)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(article_from).transpose()
    }

    async fn articles(&self, filter: &ArticleFilter) -> Result<Vec<Article>> {
        let mut sql = Sql::new(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM kb_articles a WHERE a.status IN "
        ));
        let statuses = if filter.statuses.is_empty() {
            vec!["published".to_owned()]
        } else {
            filter.statuses.clone()
        };
        sql.push("(");
        for (i, s) in statuses.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Param::Text(s.clone()));
        }
        sql.push(")");
        if let Some(category) = &filter.category {
            sql.push(" AND a.category = ")
                .bind(Param::Text(category.clone()));
        }
        if let Some((title, id)) = &filter.after {
            sql.push(" AND (a.title > ")
                .bind(Param::Text(title.clone()))
                .push(" OR (a.title = ")
                .bind(Param::Text(title.clone()))
                .push(" AND a.id > ")
                .bind(Param::Int(*id))
                .push("))");
        }
        sql.push(" ORDER BY a.title, a.id LIMIT ")
            .bind(Param::Int(i64::from(filter.limit.clamp(1, 500))));
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(article_from).collect()
    }

    async fn article_versions(&self, id: i64) -> Result<Vec<ArticleVersion>> {
        let rows = sqlx::query(
            "SELECT article_id, version, title, body, status, edited_by, edited_at FROM kb_versions \
             WHERE article_id = $1 ORDER BY version DESC",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ArticleVersion {
                    article_id: r.try_get("article_id")?,
                    version: r.try_get("version")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    status: r.try_get("status")?,
                    edited_by: r.try_get::<Option<i64>, _>("edited_by")?.map(UserId),
                    edited_at: instant(r.try_get("edited_at")?)?,
                })
            })
            .collect()
    }

    async fn articles_changed_since(
        &self,
        since: i64,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Article>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM kb_articles a \
             WHERE a.updated_at > $1 OR (a.updated_at = $1 AND a.id > $2) \
             ORDER BY a.updated_at, a.id LIMIT $3"
        )))
        .bind(since)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(article_from).collect()
    }

    async fn link_article(
        &self,
        ticket: TicketId,
        article: i64,
        by: UserId,
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let added = sqlx::query(
            "INSERT INTO kb_ticket_links (ticket_id, article_id, linked_by, linked_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(ticket.0)
        .bind(article)
        .bind(by.0)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        let added = added.rows_affected() > 0;
        if added {
            record(
                &mut tx,
                ticket,
                at,
                Some(by),
                "article_linked",
                (None, Some(&article.to_string())),
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn unlink_article(&self, ticket: TicketId, article: i64) -> Result<()> {
        sqlx::query("DELETE FROM kb_ticket_links WHERE ticket_id = $1 AND article_id = $2")
            .bind(ticket.0)
            .bind(article)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn ticket_articles(&self, ticket: TicketId) -> Result<Vec<Article>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM kb_ticket_links l JOIN kb_articles a ON a.id = l.article_id \
             WHERE l.ticket_id = $1 ORDER BY l.linked_at, a.id"
        )))
        .bind(ticket.0)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(article_from).collect()
    }

    async fn article_tickets(&self, article: i64, limit: u32) -> Result<Vec<TicketId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT ticket_id FROM kb_ticket_links WHERE article_id = $1 ORDER BY ticket_id DESC LIMIT $2",
        )
        .bind(article)
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(self.reader())
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    async fn add_article_attachment(&self, a: &ArticleAttachment) -> Result<ArticleAttachment> {
        let row = sqlx::query(
            "INSERT INTO kb_attachments (article_id, file_name, content_type, size, sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, article_id, file_name, content_type, size, sha256, created_at",
        )
        .bind(a.article_id)
        .bind(&a.file_name)
        .bind(&a.content_type)
        .bind(a.size)
        .bind(&a.sha256)
        .bind(ms(a.created_at))
        .fetch_one(self.writer())
        .await?;
        attachment_from(&row)
    }

    async fn article_attachments(&self, article: i64) -> Result<Vec<ArticleAttachment>> {
        let rows = sqlx::query(
            "SELECT id, article_id, file_name, content_type, size, sha256, created_at FROM kb_attachments \
             WHERE article_id = $1 ORDER BY id",
        )
        .bind(article)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(attachment_from).collect()
    }

    async fn record_deflection(
        &self,
        article: i64,
        user: UserId,
        client: Option<ClientId>,
        draft: Option<TicketId>,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(draft) = draft {
            let deleted = sqlx::query(
                "DELETE FROM tickets WHERE id = $1 AND requester_id = $2 AND status = 'draft'",
            )
            .bind(draft.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
            if deleted.rows_affected() == 0 {
                return Err(DomainError::NotFound("draft").into());
            }
        }
        sqlx::query("INSERT INTO kb_deflections (article_id, user_id, client_id, at) VALUES ($1, $2, $3, $4)")
            .bind(article)
            .bind(user.0)
            .bind(client.map(|c| c.0))
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn deflections(&self, article: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM kb_deflections WHERE article_id = $1")
                .bind(article)
                .fetch_one(self.reader())
                .await?,
        )
    }

    async fn add_task(
        &self,
        ticket: TicketId,
        task: &NewTask,
        by: UserId,
        at: Timestamp,
    ) -> Result<Task> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tasks (ticket_id, kind, title, line, pool, assignee_id, due_at, priority, stage, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(ticket.0)
        .bind(&task.kind)
        .bind(&task.title)
        .bind(task.line.map(|l| i64::from(l.get())))
        .bind(&task.pool)
        .bind(task.assignee_id.map(|a| a.0))
        .bind(task.due_at.map(ms))
        .bind(i64::from(task.priority))
        .bind(&task.stage)
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await?;
        record(
            &mut tx,
            ticket,
            at,
            Some(by),
            "task_created",
            (None, Some(&task.kind)),
            false,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        task_from(&row)
    }

    async fn tickets_changed_since(
        &self,
        since: i64,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(TicketId, i64)>> {
        let rows = sqlx::query(
            "SELECT id, updated_at FROM tickets \
             WHERE (updated_at > $1 OR (updated_at = $1 AND id > $2)) \
             ORDER BY updated_at, id LIMIT $3",
        )
        .bind(since)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((TicketId(r.try_get("id")?), r.try_get("updated_at")?)))
            .collect()
    }

    async fn ticket_count(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE status <> 'draft'")
                .fetch_one(self.reader())
                .await?,
        )
    }

    async fn ticket_texts(&self, ids: &[TicketId]) -> Result<Vec<TicketText>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<i64> = ids.iter().map(|t| t.0).collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in raw.chunks(500) {
            let mut sql = Sql::new(TICKET_SELECT);
            sql.push(" AND t.status <> 'draft' AND t.id IN ");
            placeholders(&mut sql, chunk);
            let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
                .fetch_all(self.reader())
                .await?;
            let mut sql = Sql::new(COMMENT_SELECT);
            sql.push(" WHERE m.ticket_id IN ");
            placeholders(&mut sql, chunk);
            sql.push(" ORDER BY m.id");
            let comment_rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
                .fetch_all(self.reader())
                .await?;
            let mut sql =
                Sql::new("SELECT ticket_id, user_id FROM ticket_watchers WHERE ticket_id IN ");
            placeholders(&mut sql, chunk);
            let watcher_rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
                .fetch_all(self.reader())
                .await?;
            let mut sql = Sql::new(
                "SELECT ticket_id, label FROM import_links WHERE kind = 'ticket' AND ticket_id IN ",
            );
            placeholders(&mut sql, chunk);
            let label_rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
                .fetch_all(self.reader())
                .await?;
            let mut labels: HashMap<i64, Vec<String>> = HashMap::new();
            for row in &label_rows {
                labels
                    .entry(row.try_get("ticket_id")?)
                    .or_default()
                    .push(row.try_get("label")?);
            }
            let mut comments: HashMap<i64, Vec<Comment>> = HashMap::new();
            for row in &comment_rows {
                let c = comment_from(row)?;
                comments.entry(c.ticket_id.0).or_default().push(c);
            }
            let mut watchers: HashMap<i64, Vec<UserId>> = HashMap::new();
            for row in &watcher_rows {
                watchers
                    .entry(row.try_get("ticket_id")?)
                    .or_default()
                    .push(UserId(row.try_get("user_id")?));
            }
            for row in &rows {
                let ticket = ticket_from(row)?;
                out.push(TicketText {
                    comments: comments.remove(&ticket.id.0).unwrap_or_default(),
                    watchers: watchers.remove(&ticket.id.0).unwrap_or_default(),
                    labels: labels.remove(&ticket.id.0).unwrap_or_default(),
                    ticket,
                });
            }
        }
        Ok(out)
    }
}
