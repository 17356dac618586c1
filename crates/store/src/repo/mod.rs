//! The SQL of the store traits, written once and compiled for each backend: the parent module
//! (`sqlite` or `postgres`) supplies `Db`, `Backend` and its `reader()`, `writer()` and
//! `begin()`. Keep statements portable: `$n` placeholders, `RETURNING`, `ON CONFLICT`.

use super::{Backend, Db, ONE_CALL_BATCHES, SECONDARY_INDEXES, Tx, commit_after, insert_rows};
use crate::sql::{Param, Sql, code, instant, ms};
use crate::*;
use sqlx::{AssertSqlSafe, Row};

mod accounts;
mod admin;
mod audit;
mod channels;
mod contracts;
mod dashboard;
mod import;
mod jobs;
mod kb;
mod mail;
mod once;
mod queue;
mod reports;
mod routes;
mod telegram;
mod time;
mod totp;
mod workplace;

pub(super) type DbRow = <Db as sqlx::Database>::Row;

const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.role, u.client_id, u.lines, u.skills, u.sees_organization, u.locale";

const TICKET_SELECT: &str = "SELECT t.id, t.service, t.subject, t.description, t.status, t.classification, \
     t.client_id, c.code AS client_code, t.requester_id, u.name AS requester_name, t.shared, \
     t.next_step_at, t.created_at, t.updated_at \
     FROM tickets t JOIN clients c ON c.id = t.client_id JOIN users u ON u.id = t.requester_id WHERE 1 = 1";

const COMMENT_SELECT: &str = "SELECT m.id, m.ticket_id, m.author_id, COALESCE(u.name, '') AS author_name, \
     m.body, m.internal, m.created_at FROM comments m LEFT JOIN users u ON u.id = m.author_id";

const TASK_COLUMNS: &str = "id, ticket_id, kind, title, line, pool, assignee_id, due_at, priority, state, stage, outcome, summary, created_at";

fn user_from(row: &DbRow) -> Result<User> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        email: Email::parse_sender(row.try_get("email")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: row.try_get("name")?,
        role: code(Role::parse, row.try_get("role")?, "role")?,
        client_id: row.try_get::<Option<i64>, _>("client_id")?.map(ClientId),
        lines: lines_from_text(row.try_get("lines")?),
        skills: row
            .try_get::<&str, _>("skills")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        sees_organization: row.try_get("sees_organization")?,
        locale: row.try_get("locale")?,
    })
}

const SERVICE_SELECT: &str = "SELECT code, name_ru, name_en, description_ru, description_en, \
     workflow, definition, sort_order, active FROM services";

fn service_from(r: &DbRow) -> Result<Service> {
    Ok(Service {
        code: r.try_get("code")?,
        name_ru: r.try_get("name_ru")?,
        name_en: r.try_get("name_en")?,
        description_ru: r.try_get("description_ru")?,
        description_en: r.try_get("description_en")?,
        workflow: r.try_get("workflow")?,
        definition: r.try_get("definition")?,
        sort_order: r.try_get("sort_order")?,
        active: r.try_get("active")?,
    })
}

fn client_from(row: &DbRow) -> Result<Client> {
    Ok(Client {
        id: ClientId(row.try_get("id")?),
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        mail_domain: row.try_get("mail_domain")?,
    })
}

fn ticket_from(row: &DbRow) -> Result<Ticket> {
    Ok(Ticket {
        id: TicketId(row.try_get("id")?),
        service: row.try_get("service")?,
        subject: row.try_get("subject")?,
        description: row.try_get("description")?,
        status: code(TicketStatus::parse, row.try_get("status")?, "status")?,
        classification: match row.try_get::<Option<&str>, _>("classification")? {
            Some(text) => Some(code(Classification::parse, text, "classification")?),
            None => None,
        },
        client_id: ClientId(row.try_get("client_id")?),
        client_code: row.try_get("client_code")?,
        requester_id: UserId(row.try_get("requester_id")?),
        requester_name: row.try_get("requester_name")?,
        shared_with_organization: row.try_get("shared")?,
        next_step_at: row
            .try_get::<Option<i64>, _>("next_step_at")?
            .map(instant)
            .transpose()?,
        created_at: instant(row.try_get("created_at")?)?,
        updated_at: instant(row.try_get("updated_at")?)?,
    })
}

fn comment_from(row: &DbRow) -> Result<Comment> {
    Ok(Comment {
        id: CommentId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        author_id: row.try_get::<Option<i64>, _>("author_id")?.map(UserId),
        author_name: row.try_get("author_name")?,
        body: row.try_get("body")?,
        internal: row.try_get("internal")?,
        created_at: instant(row.try_get("created_at")?)?,
    })
}

fn attachment_from(row: &DbRow) -> Result<Attachment> {
    Ok(Attachment {
        id: AttachmentId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        comment_id: row.try_get::<Option<i64>, _>("comment_id")?.map(CommentId),
        file_name: row.try_get("file_name")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        created_at: instant(row.try_get("created_at")?)?,
    })
}

fn task_from(row: &DbRow) -> Result<Task> {
    task_from_columns(row, ["id", "ticket_id", "created_at"])
}

/// A task from a row whose `id`, `ticket_id` and `created_at` columns have these names (a
/// row that also holds its ticket names them apart).
fn task_from_columns(row: &DbRow, [id, ticket_id, created_at]: [&str; 3]) -> Result<Task> {
    Ok(Task {
        id: TaskId(row.try_get(id)?),
        ticket_id: TicketId(row.try_get(ticket_id)?),
        kind: row.try_get("kind")?,
        title: row.try_get("title")?,
        line: match row.try_get::<Option<i64>, _>("line")? {
            Some(n) => Some(
                u8::try_from(n)
                    .ok()
                    .and_then(|n| Line::new(n).ok())
                    .ok_or_else(|| StoreError::Corrupt(format!("line {n}")))?,
            ),
            None => None,
        },
        pool: row.try_get("pool")?,
        assignee_id: row.try_get::<Option<i64>, _>("assignee_id")?.map(UserId),
        due_at: row
            .try_get::<Option<i64>, _>("due_at")?
            .map(instant)
            .transpose()?,
        priority: i32::try_from(row.try_get::<i64, _>("priority")?).unwrap_or(i32::MAX),
        state: code(TaskState::parse, row.try_get("state")?, "task state")?,
        stage: row.try_get("stage")?,
        outcome: row.try_get("outcome")?,
        summary: row.try_get("summary")?,
        created_at: instant(row.try_get(created_at)?)?,
    })
}

pub(super) fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    params: &[Param],
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments> {
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
            Param::MaybeInt(v) => query.bind(*v),
            Param::MaybeText(v) => query.bind(v.clone()),
            Param::Bool(v) => query.bind(*v),
        };
    }
    query
}

/// Appends one event to a ticket's history.
async fn record(
    tx: &mut Tx,
    ticket: TicketId,
    at: Timestamp,
    actor: Option<UserId>,
    kind: &str,
    change: (Option<&str>, Option<&str>),
    public: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO history (ticket_id, at, actor_id, kind, before, after, public) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ticket.0)
    .bind(ms(at))
    .bind(actor.map(|a| a.0))
    .bind(kind)
    .bind(change.0)
    .bind(change.1)
    .bind(public)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues a side effect in the same transaction as the change that causes it.
async fn enqueue(
    tx: &mut Tx,
    kind: OutboxKind,
    payload: serde_json::Value,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(kind.code())
    .bind(payload.to_string())
    .bind(ms(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_tasks(
    tx: &mut Tx,
    ticket: TicketId,
    tasks: &[NewTask],
    at: Timestamp,
) -> Result<()> {
    for task in tasks {
        sqlx::query(
            "INSERT INTO tasks (ticket_id, kind, title, line, pool, assignee_id, due_at, priority, stage, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .execute(&mut **tx)
        .await?;
        record(
            tx,
            ticket,
            at,
            None,
            "task_created",
            (None, Some(&task.kind)),
            false,
        )
        .await?;
    }
    Ok(())
}

/// Adds a comment with its history event, touches the ticket, and for a public comment
/// queues `comment_added` (its payload plus `extra`); returns the comment's id.
async fn insert_comment(
    tx: &mut Tx,
    comment: &NewComment,
    extra: serde_json::Map<String, serde_json::Value>,
    at: Timestamp,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO comments (ticket_id, author_id, body, internal, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(comment.ticket_id.0)
    .bind(comment.author_id.0)
    .bind(&comment.body)
    .bind(comment.internal)
    .bind(ms(at))
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE tickets SET updated_at = $2 WHERE id = $1")
        .bind(comment.ticket_id.0)
        .bind(ms(at))
        .execute(&mut **tx)
        .await?;
    let id_text = id.to_string();
    record(
        tx,
        comment.ticket_id,
        at,
        Some(comment.author_id),
        "comment",
        (None, Some(&id_text)),
        !comment.internal,
    )
    .await?;
    if !comment.internal {
        let mut payload = serde_json::json!({ "ticket_id": comment.ticket_id.0, "comment_id": id });
        payload.as_object_mut().expect("an object").extend(extra);
        enqueue(tx, OutboxKind::CommentAdded, payload, at).await?;
    }
    Ok(id)
}

async fn comment_in(tx: &mut Tx, id: i64) -> Result<Comment> {
    let row = sqlx::query(AssertSqlSafe(format!("{COMMENT_SELECT} WHERE m.id = $1")))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    comment_from(&row)
}

/// Runs statements whose results nobody reads: in one call where the backend takes several
/// (each call to SQLite is a hand-off to its connection's thread and back), else in turn.
pub(super) async fn run_batch(tx: &mut Tx, statements: Vec<Sql>) -> Result<()> {
    if ONE_CALL_BATCHES {
        let all: Sql = statements.into_iter().collect();
        if !all.text.is_empty() {
            bind_all(sqlx::query(AssertSqlSafe(all.text)), &all.params)
                .execute(&mut **tx)
                .await?;
        }
    } else {
        for sql in statements {
            bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// The rows `before` answers, the row `one` answers (the first row with a column
/// `marked`) and the rows of `then`: in one call where the backend takes several, the rows
/// coming in statement order. Where it does not, the rows of `before` are not read.
async fn fetch_after(
    tx: &mut Tx,
    before: Vec<Sql>,
    (one, marked): (Sql, &str),
    then: Option<Sql>,
) -> Result<(Vec<DbRow>, DbRow, Vec<DbRow>)> {
    if ONE_CALL_BATCHES {
        let all: Sql = before.into_iter().chain([one]).chain(then).collect();
        let mut rows = bind_all(sqlx::query(AssertSqlSafe(all.text)), &all.params)
            .fetch_all(&mut **tx)
            .await?;
        let at = rows
            .iter()
            .position(|row| row.try_column(marked).is_ok())
            .ok_or(sqlx::Error::RowNotFound)?;
        let rest = rows.split_off(at + 1);
        let first = rows.pop().ok_or(sqlx::Error::RowNotFound)?;
        return Ok((rows, first, rest));
    }
    run_batch(tx, before).await?;
    let first = bind_all(sqlx::query(AssertSqlSafe(one.text)), &one.params)
        .fetch_one(&mut **tx)
        .await?;
    let rest = match then {
        Some(then) => {
            bind_all(sqlx::query(AssertSqlSafe(then.text)), &then.params)
                .fetch_all(&mut **tx)
                .await?
        }
        None => Vec::new(),
    };
    Ok((Vec::new(), first, rest))
}

async fn ticket_in(tx: &mut Tx, id: TicketId) -> Result<Ticket> {
    let row = sqlx::query(AssertSqlSafe(format!("{TICKET_SELECT} AND t.id = $1")))
        .bind(id.0)
        .fetch_one(&mut **tx)
        .await?;
    ticket_from(&row)
}

#[async_trait]
impl Store for Backend {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.close_backend().await
    }

    async fn probe_write(&self) -> Result<()> {
        sqlx::query(
            "INSERT INTO health_probe (id, writes) VALUES (1, 1) \
             ON CONFLICT (id) DO UPDATE SET writes = health_probe.writes + 1",
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn create_client(
        &self,
        code: &str,
        name: &str,
        mail_domain: Option<&str>,
    ) -> Result<ClientId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clients (code, name, mail_domain, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(code)
        .bind(name)
        .bind(mail_domain)
        .bind(ms(self.now()))
        .fetch_one(self.writer())
        .await
        .map_err(|e| unique_violation(e, "client", "a client with this code or mail domain exists"))?;
        Ok(ClientId(id))
    }

    async fn client_by_code(&self, code: &str) -> Result<Option<Client>> {
        let row = sqlx::query("SELECT id, code, name, mail_domain FROM clients WHERE code = $1")
            .bind(code)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(client_from).transpose()
    }

    async fn client(&self, id: ClientId) -> Result<Option<Client>> {
        let row = sqlx::query("SELECT id, code, name, mail_domain FROM clients WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(client_from).transpose()
    }

    async fn create_user(&self, user: &NewUser) -> Result<UserId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, name, role, client_id, lines, sees_organization, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(user.email.as_str())
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(user.client_id.map(|c| c.0))
        .bind(lines_to_text(&user.lines))
        .bind(user.sees_organization)
        .bind(&user.password_hash)
        .bind(ms(self.now()))
        .fetch_one(self.writer())
        .await
        .map_err(|e| unique_violation(e, "email", "a user with this email exists"))?;
        Ok(UserId(id))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<(User, Option<String>)>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = $1 AND u.active = TRUE"
        )))
        .bind(email.as_str())
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| Ok((user_from(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    async fn upsert_service(&self, s: &Service) -> Result<()> {
        sqlx::query(
            "INSERT INTO services (code, name_ru, name_en, description_ru, description_en, workflow, definition, sort_order, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (code) DO UPDATE SET \
             name_ru = excluded.name_ru, name_en = excluded.name_en, description_ru = excluded.description_ru, \
             description_en = excluded.description_en, workflow = excluded.workflow, definition = excluded.definition, \
             sort_order = excluded.sort_order, active = excluded.active",
        )
        .bind(&s.code)
        .bind(&s.name_ru)
        .bind(&s.name_en)
        .bind(&s.description_ru)
        .bind(&s.description_en)
        .bind(&s.workflow)
        .bind(&s.definition)
        .bind(s.sort_order)
        .bind(s.active)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn service(&self, code: &str) -> Result<Option<Service>> {
        let row = sqlx::query(AssertSqlSafe(format!("{SERVICE_SELECT} WHERE code = $1")))
            .bind(code)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(service_from).transpose()
    }

    async fn services(&self) -> Result<Vec<Service>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SERVICE_SELECT} ORDER BY sort_order, code"
        )))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(service_from).collect()
    }

    async fn create_ticket(
        &self,
        ticket: &NewTicket,
        tasks: &[NewTask],
        at: Timestamp,
    ) -> Result<Ticket> {
        let status = if ticket.draft {
            TicketStatus::Draft
        } else {
            TicketStatus::New
        };
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tickets (service, subject, description, status, client_id, requester_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(&ticket.service)
        .bind(&ticket.subject)
        .bind(&ticket.description)
        .bind(status.as_str())
        .bind(ticket.client_id.0)
        .bind(ticket.requester_id.0)
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await?;
        let id = TicketId(id);
        record(
            &mut tx,
            id,
            at,
            Some(ticket.requester_id),
            "created",
            (None, Some(status.as_str())),
            true,
        )
        .await?;
        if !ticket.draft {
            insert_tasks(&mut tx, id, tasks, at).await?;
            enqueue(
                &mut tx,
                OutboxKind::TicketCreated,
                serde_json::json!({ "ticket_id": id.0, "next_step_at": null }),
                at,
            )
            .await?;
        }
        let created = ticket_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn ticket(&self, scope: TicketScope, id: TicketId) -> Result<Option<Ticket>> {
        let mut sql = Sql::new(TICKET_SELECT);
        sql.push(" AND t.id = ").bind(Param::Int(id.0)).scope(scope);
        let row = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(ticket_from).transpose()
    }

    async fn tickets(&self, scope: TicketScope, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let mut sql = Sql::new(TICKET_SELECT);
        sql.scope(scope);
        match filter.status {
            Some(status) => sql
                .push(" AND t.status = ")
                .bind(Param::Text(status.as_str().into())),
            None => sql.push(" AND t.status <> 'draft'"),
        };
        if let Some(author) = filter.drafts_of {
            sql.push(" AND (t.status <> 'draft' OR t.requester_id = ")
                .bind(Param::Int(author.0))
                .push(")");
        }
        if let Some(client) = filter.client {
            sql.push(" AND t.client_id = ").bind(Param::Int(client.0));
        }
        if let Some(after) = filter.after {
            sql.push(" AND t.id < ").bind(Param::Int(after.0));
        }
        sql.push(" ORDER BY t.id DESC LIMIT ")
            .bind(Param::Int(i64::from(filter.limit.clamp(1, 500))));
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(ticket_from).collect()
    }

    async fn submit_draft(
        &self,
        id: TicketId,
        by: UserId,
        tasks: &[NewTask],
        at: Timestamp,
    ) -> Result<Ticket> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE tickets SET status = 'new', created_at = $2, updated_at = $2 WHERE id = $1 AND status = 'draft'",
        )
        .bind(id.0)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(DomainError::Conflict("the ticket is not a draft".into()).into());
        }
        record(
            &mut tx,
            id,
            at,
            Some(by),
            "status",
            (Some("draft"), Some("new")),
            true,
        )
        .await?;
        insert_tasks(&mut tx, id, tasks, at).await?;
        enqueue(
            &mut tx,
            OutboxKind::TicketCreated,
            serde_json::json!({ "ticket_id": id.0, "next_step_at": null }),
            at,
        )
        .await?;
        let ticket = ticket_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    async fn update_draft(
        &self,
        id: TicketId,
        by: UserId,
        subject: &str,
        description: &str,
        at: Timestamp,
    ) -> Result<Option<Ticket>> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE tickets SET subject = $3, description = $4, updated_at = $5 \
             WHERE id = $1 AND requester_id = $2 AND status = 'draft'",
        )
        .bind(id.0)
        .bind(by.0)
        .bind(subject)
        .bind(description)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        record(
            &mut tx,
            id,
            at,
            Some(by),
            "draft_edited",
            (None, None),
            true,
        )
        .await?;
        let ticket = ticket_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Some(ticket))
    }

    async fn add_watcher(
        &self,
        ticket: TicketId,
        user: UserId,
        by: UserId,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let added = sqlx::query("INSERT INTO ticket_watchers (ticket_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(ticket.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        if added.rows_affected() > 0 {
            record(
                &mut tx,
                ticket,
                at,
                Some(by),
                "watcher_added",
                (None, Some(&user.to_string())),
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn add_comment(&self, comment: &NewComment, at: Timestamp) -> Result<Comment> {
        let mut tx = self.begin().await?;
        let id = insert_comment(&mut tx, comment, serde_json::Map::new(), at).await?;
        let created = comment_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn comments(&self, ticket: TicketId, include_internal: bool) -> Result<Vec<Comment>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{COMMENT_SELECT} WHERE m.ticket_id = $1 AND ($2 = TRUE OR m.internal = FALSE) ORDER BY m.id"
        )))
        .bind(ticket.0)
        .bind(include_internal)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(comment_from).collect()
    }

    async fn history(&self, ticket: TicketId, include_internal: bool) -> Result<Vec<HistoryEvent>> {
        let rows = sqlx::query(
            "SELECT h.id, h.ticket_id, h.at, h.actor_id, u.name AS actor_name, h.kind, h.before, h.after, h.public \
             FROM history h LEFT JOIN users u ON u.id = h.actor_id \
             WHERE h.ticket_id = $1 AND ($2 = TRUE OR h.public = TRUE) ORDER BY h.id",
        )
        .bind(ticket.0)
        .bind(include_internal)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEvent {
                    id: r.try_get("id")?,
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    at: instant(r.try_get("at")?)?,
                    actor_id: r.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
                    actor_name: r.try_get("actor_name")?,
                    kind: r.try_get("kind")?,
                    before: r.try_get("before")?,
                    after: r.try_get("after")?,
                    public: r.try_get("public")?,
                })
            })
            .collect()
    }

    async fn add_attachment(&self, a: &NewAttachment, at: Timestamp) -> Result<Attachment> {
        let mut tx = self.begin().await?;
        let internal = match a.comment_id {
            Some(comment) => sqlx::query_scalar::<_, bool>(
                "SELECT internal FROM comments WHERE id = $1 AND ticket_id = $2",
            )
            .bind(comment.0)
            .bind(a.ticket_id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(DomainError::NotFound("comment"))?,
            None => false,
        };
        let row = sqlx::query(
            "INSERT INTO attachments (ticket_id, comment_id, file_name, content_type, size, sha256, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id, ticket_id, comment_id, file_name, content_type, size, sha256, created_at",
        )
        .bind(a.ticket_id.0)
        .bind(a.comment_id.map(|c| c.0))
        .bind(&a.file_name)
        .bind(&a.content_type)
        .bind(a.size)
        .bind(&a.sha256)
        .bind(a.uploaded_by.0)
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await?;
        record(
            &mut tx,
            a.ticket_id,
            at,
            Some(a.uploaded_by),
            "attachment",
            (None, Some(&a.file_name)),
            !internal,
        )
        .await?;
        tx.commit().await?;
        attachment_from(&row)
    }

    async fn attachments(
        &self,
        ticket: TicketId,
        include_internal: bool,
    ) -> Result<Vec<Attachment>> {
        let rows = sqlx::query(
            "SELECT a.id, a.ticket_id, a.comment_id, a.file_name, a.content_type, a.size, a.sha256, a.created_at \
             FROM attachments a LEFT JOIN comments m ON m.id = a.comment_id \
             WHERE a.ticket_id = $1 AND ($2 = TRUE OR m.internal IS NULL OR m.internal = FALSE) ORDER BY a.id",
        )
        .bind(ticket.0)
        .bind(include_internal)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(attachment_from).collect()
    }

    async fn tasks(&self, ticket: TicketId) -> Result<Vec<Task>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE ticket_id = $1 ORDER BY id"
        )))
        .bind(ticket.0)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(task_from).collect()
    }

    async fn load_tickets(&self, tickets: &[NewTicket], at: Timestamp) -> Result<()> {
        for chunk in tickets.chunks(10_000) {
            let mut tx = self.begin().await?;
            for t in chunk {
                let status = if t.draft {
                    TicketStatus::Draft
                } else {
                    TicketStatus::New
                };
                sqlx::query(
                    "INSERT INTO tickets (service, subject, description, status, client_id, requester_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(&t.service)
                .bind(&t.subject)
                .bind(&t.description)
                .bind(status.as_str())
                .bind(t.client_id.0)
                .bind(t.requester_id.0)
                .bind(ms(at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Turns a unique-key clash into a 409 naming the field, leaving other errors as they are.
fn unique_violation(error: sqlx::Error, field: &'static str, message: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            DomainError::Conflict(format!("{field}: {message}")).into()
        }
        _ => error.into(),
    }
}

/// Whether every migration of `migrator` is applied already (and no other): then opening
/// the store skips the migrator's own checks, which cost a short command (one message
/// piped by an MTA) more than the rest of its start. A database another version has
/// migrated differs in the set and goes through the migrator, which says what is wrong.
pub(super) async fn schema_is_current(
    pool: &sqlx::Pool<Db>,
    migrator: &sqlx::migrate::Migrator,
) -> bool {
    let applied: Vec<i64> = match sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(pool)
    .await
    {
        Ok(applied) => applied,
        // No table yet: a new database.
        Err(_) => return false,
    };
    let mut known: Vec<i64> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version)
        .collect();
    known.sort_unstable();
    applied == known
}
