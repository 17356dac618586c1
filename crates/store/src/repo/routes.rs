//! The SQL of [`RouteStore`]: route steps, work queues, task actions, published workflows.

use super::*;

const TASK_SELECT: &str = "SELECT k.id, k.ticket_id, k.kind, k.title, k.line, k.pool, k.assignee_id, k.due_at, \
     k.priority, k.state, k.stage, k.outcome, k.summary, k.created_at FROM tasks k";

/// A ticket with its route state, calendar and requester's language (see [`RoutedTicket`]).
fn routed_select() -> String {
    TICKET_SELECT.replace(
        " FROM tickets t",
        ", t.route, COALESCE(t.calendar, c.calendar) AS calendar, u.locale AS requester_locale \
         FROM tickets t",
    )
}

fn routed_from(row: &DbRow) -> Result<RoutedTicket> {
    Ok(RoutedTicket {
        ticket: ticket_from(row)?,
        route: row.try_get("route")?,
        calendar: row.try_get("calendar")?,
        requester_locale: row.try_get("requester_locale")?,
    })
}

async fn task_in(tx: &mut Tx, id: TaskId) -> Result<Task> {
    let row = sqlx::query(AssertSqlSafe(format!("{TASK_SELECT} WHERE k.id = $1")))
        .bind(id.0)
        .fetch_one(&mut **tx)
        .await?;
    task_from(&row)
}

/// The task's ticket, or "task not found" when there is no such task.
async fn ticket_of_task(tx: &mut Tx, task: TaskId) -> Result<TicketId> {
    let ticket: Option<i64> = sqlx::query_scalar("SELECT ticket_id FROM tasks WHERE id = $1")
        .bind(task.0)
        .fetch_optional(&mut **tx)
        .await?;
    ticket
        .map(TicketId)
        .ok_or(DomainError::NotFound("task").into())
}

/// Why an update of an open task touched no row: gone, finished, or (for takers) taken.
async fn task_conflict(tx: &mut Tx, task: TaskId, action: &str) -> StoreError {
    let row: std::result::Result<Option<(String, Option<i64>)>, _> =
        sqlx::query_as("SELECT state, assignee_id FROM tasks WHERE id = $1")
            .bind(task.0)
            .fetch_optional(&mut **tx)
            .await;
    match row {
        Ok(None) => DomainError::NotFound("task").into(),
        Ok(Some((state, _))) if state != "open" => {
            DomainError::Conflict(format!("cannot {action} the task: it is already {state}")).into()
        }
        Ok(Some((_, Some(assignee)))) => DomainError::Conflict(format!(
            "cannot {action} the task: it is assigned to user {assignee}"
        ))
        .into(),
        Ok(Some(_)) => DomainError::Conflict(format!("cannot {action} the task")).into(),
        Err(e) => e.into(),
    }
}

/// A history row waiting to be written: actor, kind, before, after, public.
type HistoryRow = (Option<UserId>, String, Option<String>, Option<String>, bool);

/// History events and outbox messages of one change, written with one statement each.
#[derive(Default)]
struct Pending {
    history: Vec<HistoryRow>,
    outbox: Vec<(&'static str, String)>,
    /// Public messages from the desk itself in this change (comment ids): each notifies the
    /// client, unless the change's status notice carries it (one mail per change).
    desk_messages: Vec<i64>,
}

impl Pending {
    fn record(
        &mut self,
        actor: Option<UserId>,
        kind: &str,
        before: Option<&str>,
        after: Option<&str>,
        public: bool,
    ) {
        self.history.push((
            actor,
            kind.to_owned(),
            before.map(str::to_owned),
            after.map(str::to_owned),
            public,
        ));
    }

    /// The statements writing the history and outbox rows, and the tasks' new `ranks`.
    fn statements(self, ticket: TicketId, at: Timestamp, ranks: &[(TaskId, i64)]) -> Vec<Sql> {
        let mut batch = Vec::new();
        if !self.history.is_empty() {
            let mut sql = Sql::new(&values(
                "INSERT INTO history (ticket_id, at, actor_id, kind, before, after, public) VALUES ",
                7,
                self.history.len(),
            ));
            for (actor, kind, before, after, public) in self.history {
                sql.params.extend([
                    Param::Int(ticket.0),
                    Param::Int(ms(at)),
                    Param::MaybeInt(actor.map(|a| a.0)),
                    Param::Text(kind),
                    Param::MaybeText(before),
                    Param::MaybeText(after),
                    Param::Bool(public),
                ]);
            }
            batch.push(sql);
        }
        if !self.outbox.is_empty() {
            let mut sql = Sql::new(&values(
                "INSERT INTO outbox (kind, payload, created_at, next_attempt_at) VALUES ",
                4,
                self.outbox.len(),
            ));
            for (kind, payload) in self.outbox {
                sql.params.extend([
                    Param::Text(kind.to_owned()),
                    Param::Text(payload),
                    Param::Int(ms(at)),
                    Param::Int(ms(at)),
                ]);
            }
            batch.push(sql);
        }
        batch.extend(super::queue::rank_statements(ranks));
        batch
    }
}

/// `head` followed by `rows` groups of `columns` numbered placeholders.
fn values(head: &str, columns: usize, rows: usize) -> String {
    let mut text = head.to_owned();
    for row in 0..rows {
        text.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                text.push_str(", ");
            }
            text.push('$');
            text.push_str(&(row * columns + column + 1).to_string());
        }
        text.push(')');
    }
    text
}

/// The statement inserting a change's new tasks (with what was carried into each).
fn insert_tasks(
    ticket: TicketId,
    tasks: &[(&NewTask, Option<&str>)],
    at: Timestamp,
) -> Option<Sql> {
    if tasks.is_empty() {
        return None;
    }
    let mut sql = Sql::new(&values(
        "INSERT INTO tasks (ticket_id, kind, title, line, pool, assignee_id, due_at, priority, stage, summary, created_at) VALUES ",
        11,
        tasks.len(),
    ));
    for (task, summary) in tasks {
        sql.params.extend([
            Param::Int(ticket.0),
            Param::Text(task.kind.clone()),
            Param::Text(task.title.clone()),
            Param::MaybeInt(task.line.map(|l| i64::from(l.get()))),
            Param::MaybeText(task.pool.clone()),
            Param::MaybeInt(task.assignee_id.map(|a| a.0)),
            Param::MaybeInt(task.due_at.map(ms)),
            Param::Int(i64::from(task.priority)),
            Param::MaybeText(task.stage.clone()),
            Param::MaybeText(summary.map(str::to_owned)),
            Param::Int(ms(at)),
        ]);
    }
    Some(sql)
}

/// Carries out a change's task completion and steps on a ticket whose status and
/// classification are `status` and `classification`; history and outbox rows go in
/// `pending` (with the new ticket's notice when `creating`, else a status notice when the
/// status changes). Statements are few and batched: a step is a handful of round trips.
/// Answers the ticket as changed and, when the change carries rules, its open tasks' new
/// ranks.
/// Finishes the task a change completes: open, and the completer's or nobody's. Returns a
/// statement answering the task's id (as `done_task`) when it did.
fn complete_task_sql(ticket: TicketId, done: &TaskCompletion, at: Timestamp) -> Sql {
    let mut sql = Sql::new("UPDATE tasks SET state = 'done', outcome = ");
    sql.bind(Param::Text(done.outcome.clone()))
        .push(", summary = COALESCE(")
        .bind(Param::MaybeText(done.summary.clone()))
        .push(", summary), assignee_id = ")
        .bind(Param::Int(done.by.0))
        .push(", completed_at = ")
        .bind(Param::Int(ms(at)))
        .push(" WHERE id = ")
        .bind(Param::Int(done.task.0))
        .push(" AND ticket_id = ")
        .bind(Param::Int(ticket.0))
        .push(" AND state = 'open' AND (assignee_id = ")
        .bind(Param::Int(done.by.0))
        .push(" OR assignee_id IS NULL) RETURNING id AS done_task");
    sql
}

/// Stops, at `at`, every timer still running on a task of the ticket that is no longer
/// open: work on a finished task is over when it finishes (no timer outlives its task).
pub(crate) fn stop_finished_timers_sql(ticket: TicketId, at: Timestamp) -> Sql {
    let mut sql = Sql::new("UPDATE time_entries SET stopped_at = ");
    sql.bind(Param::Int(ms(at)))
        .push(" WHERE ticket_id = ")
        .bind(Param::Int(ticket.0))
        .push(" AND stopped_at IS NULL AND task_id IN (SELECT id FROM tasks WHERE ticket_id = ")
        .bind(Param::Int(ticket.0))
        .push(" AND state <> 'open')");
    sql
}

/// How far a change's task completion got before [`apply_steps`].
enum Completion {
    /// Not run yet (or the change completes no task).
    Pending,
    /// Run in the same call as the route's update: whether the task was finished.
    Ran(bool),
}

async fn apply_steps(
    tx: &mut Tx,
    ticket: TicketId,
    (mut status, mut classification): (String, Option<String>),
    change: &TicketChange,
    creating: bool,
    completion: Completion,
    pending: &mut Pending,
) -> Result<(Ticket, Vec<(TaskId, i64)>)> {
    let at = change.at;
    if let Some(done) = &change.complete {
        let finished = match completion {
            Completion::Ran(finished) => finished,
            Completion::Pending => {
                let sql = complete_task_sql(ticket, done, at);
                bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
                    .fetch_optional(&mut **tx)
                    .await?
                    .is_some()
            }
        };
        if !finished {
            return Err(task_conflict(tx, done.task, "complete").await);
        }
        let detail = format!("{}: {}", done.task, done.outcome);
        pending.record(Some(done.by), "task_completed", None, Some(&detail), false);
    }
    let status_before = status.clone();
    let classification_before = classification.clone();
    let (mut closed, mut submitted) = (false, false);
    let mut admitted = None;
    let mut registration = None;
    let mut new_tasks = Vec::new();
    let mut mail_rows = None;
    // Statements at the head of the change's one call whose rows come back with the
    // ticket's: the desk's public messages (`comment_id`, filling the history rows waiting
    // at these indexes) and usage claims (`counter` of each claim taken).
    let mut answering = Vec::new();
    let mut messages_waiting = Vec::new();
    let mut claimed = Vec::new();
    for step in &change.steps {
        match step {
            ChangeStep::EnterStage(stage) => {
                pending.record(None, "stage", None, Some(stage), false);
            }
            ChangeStep::SetStatus(new) => {
                if new.as_str() != status {
                    pending.record(
                        change.actor,
                        "status",
                        Some(&status),
                        Some(new.as_str()),
                        true,
                    );
                    status = new.as_str().to_owned();
                }
            }
            ChangeStep::SetClassification(new) => {
                pending.record(
                    change.actor,
                    "classification",
                    classification.as_deref(),
                    Some(new.as_str()),
                    true,
                );
                classification = Some(new.as_str().to_owned());
            }
            ChangeStep::PublicMessage(text) if ONE_CALL_BATCHES => {
                // Inserted with the change's other rows; its id fills the history row then.
                messages_waiting.push(pending.history.len());
                pending.record(None, "comment", None, None, true);
                answering.push(comment_sql(ticket, None, text, false, at));
            }
            ChangeStep::PublicMessage(text) => {
                let id = insert_comment_row(tx, ticket, None, text, false, at).await?;
                pending.record(None, "comment", None, Some(&id.to_string()), true);
                pending.desk_messages.push(id);
            }
            ChangeStep::Mail(mail) => {
                let comment = match &mail.comment {
                    Some(c) => {
                        let id = insert_comment_row(
                            tx,
                            ticket,
                            Some(mail.author),
                            &c.body,
                            c.internal,
                            at,
                        )
                        .await?;
                        pending.record(
                            Some(mail.author),
                            "comment",
                            None,
                            Some(&id.to_string()),
                            !c.internal,
                        );
                        if !c.internal {
                            let payload = serde_json::json!({
                                "ticket_id": ticket.0, "comment_id": id, "by_mail": true,
                            });
                            pending.outbox.push(("comment_added", payload.to_string()));
                        }
                        Some(id)
                    }
                    None => None,
                };
                let public = !mail.comment.as_ref().is_some_and(|c| c.internal);
                for a in &mail.attachments {
                    pending.record(
                        Some(mail.author),
                        "attachment",
                        None,
                        Some(&a.file_name),
                        public,
                    );
                }
                super::mail::insert_mail_in(tx, ticket, mail, at).await?;
                mail_rows = super::mail::attachment_rows(ticket, mail, comment, at);
            }
            ChangeStep::CreateTask(task, summary) => {
                pending.record(None, "task_created", None, Some(&task.kind), false);
                new_tasks.push((task, summary.as_deref()));
            }
            ChangeStep::CancelTask { kind, stage } => {
                // Tasks this same change creates are inserted below, so never cancelled here.
                let cancelled = sqlx::query(
                    "UPDATE tasks SET state = 'cancelled', completed_at = $4 \
                     WHERE ticket_id = $1 AND kind = $2 AND stage = $3 AND state = 'open'",
                )
                .bind(ticket.0)
                .bind(kind)
                .bind(stage)
                .bind(ms(at))
                .execute(&mut **tx)
                .await?;
                if cancelled.rows_affected() > 0 {
                    pending.record(None, "task_cancelled", None, Some(kind), false);
                }
            }
            ChangeStep::Close => closed = true,
            ChangeStep::Submitted => {
                submitted = true;
                let payload = serde_json::json!({ "ticket_id": ticket.0 });
                pending.outbox.push(("ticket_created", payload.to_string()));
            }
            ChangeStep::Admitted {
                registered,
                over_limit,
            } => {
                if !registered {
                    pending.record(None, "to_register", None, None, false);
                }
                if let Some(limit) = over_limit {
                    pending.record(None, "over_limit", None, Some(limit), false);
                }
                admitted = Some((*registered, over_limit.clone()));
            }
            ChangeStep::Register(particulars) => {
                if let Some(equipment) = particulars.equipment {
                    let equipment = equipment.to_string();
                    pending.record(change.actor, "equipment", None, Some(&equipment), false);
                }
                registration = Some(particulars);
            }
            ChangeStep::ClaimUsage { contract, claims } if ONE_CALL_BATCHES => {
                // Bumped with the change's other rows; the counters taken come back with them.
                answering.extend(
                    claims
                        .iter()
                        .map(|c| super::contracts::claim_sql(*contract, c)),
                );
                claimed.extend(claims.iter().cloned());
            }
            ChangeStep::ClaimUsage { contract, claims } => {
                super::contracts::claim_in(tx, *contract, claims).await?;
            }
            ChangeStep::Event {
                kind,
                detail,
                public,
            } => pending.record(change.actor, kind, None, Some(detail), *public),
        }
    }
    let mut before = answering;
    if closed {
        // A closed ticket has no open tasks; the cancel goes in the same call as the rest.
        let mut cancel = Sql::new("UPDATE tasks SET state = 'cancelled', completed_at = ");
        cancel
            .bind(Param::Int(ms(at)))
            .push(" WHERE ticket_id = ")
            .bind(Param::Int(ticket.0))
            .push(" AND state = 'open'");
        before.push(cancel);
        new_tasks.clear();
    }
    let finishing = change.complete.is_some()
        || closed
        || change
            .steps
            .iter()
            .any(|s| matches!(s, ChangeStep::CancelTask { .. }));
    if finishing {
        before.push(stop_finished_timers_sql(ticket, at));
    }
    before.extend(insert_tasks(ticket, &new_tasks, at));

    // The client hears of a new ticket or a status change by one mail, which carries the
    // desk's message of the same change (a sent draft has its own notice); written once
    // the messages have their ids, below.
    let mut notice = None;
    if creating {
        notice = Some(("ticket_created", None));
    } else if status != status_before && !submitted {
        let auto_closed = change
            .steps
            .iter()
            .any(|s| matches!(s, ChangeStep::Event { kind, .. } if kind == "auto_closed"));
        let kind = match status.as_str() {
            "resolved" => "ticket_resolved",
            "closed" if auto_closed => "ticket_auto_closed",
            _ => "status_changed",
        };
        notice = Some((kind, Some(status.clone())));
    }

    // The ticket's own columns, in one statement.
    let mut sql = Sql::new("UPDATE tickets SET updated_at = ");
    sql.bind(Param::Int(ms(at)));
    if status != status_before {
        sql.push(", status = ").bind(Param::Text(status));
    }
    if classification != classification_before
        && let Some(c) = classification
    {
        sql.push(", classification = ").bind(Param::Text(c));
    }
    if closed {
        sql.push(", closed_at = ").bind(Param::Int(ms(at)));
    }
    if submitted {
        sql.push(", created_at = ").bind(Param::Int(ms(at)));
    }
    match change.next_step_at {
        Some(Some(next)) => {
            sql.push(", next_step_at = ").bind(Param::Int(ms(next)));
        }
        Some(None) => {
            sql.push(", next_step_at = NULL");
        }
        None => {}
    }
    if let Some((registered, over_limit)) = admitted {
        sql.push(if registered {
            ", registered = TRUE"
        } else {
            ", registered = FALSE"
        });
        match over_limit {
            Some(limit) => sql.push(", over_limit = ").bind(Param::Text(limit)),
            None => sql.push(", over_limit = NULL"),
        };
    }
    if let Some(particulars) = registration {
        super::contracts::set_registration(&mut sql, particulars);
    }
    sql.push(" WHERE id = ").bind(Param::Int(ticket.0));
    // The ticket as the change leaves it, without reading it again.
    sql.push(TICKET_RETURNING);
    // The ticket's open tasks' rank inputs, read in the same call once its tasks are in.
    let inputs = change
        .rank
        .as_ref()
        .map(|_| super::queue::rank_inputs_sql(&[ticket]));
    before.extend(mail_rows);
    let (inserted, row, rank_rows) = fetch_after(tx, before, (sql, TICKET_ROW), inputs).await?;
    let answered = |column: &'static str| {
        inserted
            .iter()
            .filter(move |row| row.try_column(column).is_ok())
    };
    if !claimed.is_empty() {
        let taken = answered("counter")
            .map(|row| row.try_get("counter"))
            .collect::<std::result::Result<Vec<String>, _>>()?;
        super::contracts::claims_taken(&claimed, &taken)?;
    }
    for (waiting, row) in messages_waiting.into_iter().zip(answered("comment_id")) {
        let id: i64 = row.try_get("comment_id")?;
        pending.history[waiting].3 = Some(id.to_string());
        pending.desk_messages.push(id);
    }
    let mut messages = std::mem::take(&mut pending.desk_messages);
    if let Some((kind, status)) = notice {
        let mut payload =
            serde_json::json!({ "ticket_id": ticket.0, "comment_id": messages.pop() });
        if let Some(status) = status {
            payload["status"] = status.into();
        }
        pending.outbox.push((kind, payload.to_string()));
    }
    for id in messages {
        let payload = serde_json::json!({ "ticket_id": ticket.0, "comment_id": id });
        pending.outbox.push(("comment_added", payload.to_string()));
    }
    let ranks = match &change.rank {
        Some(rules) => super::queue::ranks_from(&rank_rows, rules)?,
        None => Vec::new(),
    };
    Ok((ticket_from(&row)?, ranks))
}

/// A comment on the ticket (`None` author: the desk itself); answers its id.
async fn insert_comment_row(
    tx: &mut Tx,
    ticket: TicketId,
    author: Option<UserId>,
    body: &str,
    internal: bool,
    at: Timestamp,
) -> Result<i64> {
    let sql = comment_sql(ticket, author, body, internal, at);
    let row = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("comment_id")?)
}

/// The statement inserting a comment, answering its `id`.
fn comment_sql(
    ticket: TicketId,
    author: Option<UserId>,
    body: &str,
    internal: bool,
    at: Timestamp,
) -> Sql {
    let mut sql = Sql::new(
        "INSERT INTO comments (ticket_id, author_id, body, internal, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id AS comment_id",
    );
    sql.params.extend([
        Param::Int(ticket.0),
        Param::MaybeInt(author.map(|a| a.0)),
        Param::Text(body.to_owned()),
        Param::Bool(internal),
        Param::Int(ms(at)),
    ]);
    sql
}

/// A column only [`TICKET_RETURNING`]'s row has among a change's rows (see `fetch_after`).
const TICKET_ROW: &str = "requester_name";

/// The columns of [`TICKET_SELECT`], returned by a statement that changes the ticket.
const TICKET_RETURNING: &str = " RETURNING id, service, subject, description, status, classification, \
     client_id, (SELECT code FROM clients WHERE clients.id = tickets.client_id) AS client_code, \
     requester_id, (SELECT name FROM users WHERE users.id = tickets.requester_id) AS requester_name, \
     shared, next_step_at, created_at, updated_at";

#[async_trait]
impl RouteStore for Backend {
    async fn create_routed_ticket(
        &self,
        ticket: &NewTicket,
        change: &TicketChange,
    ) -> Result<Ticket> {
        let at = change.at;
        let (mut tx, opening) = self.begin_unopened().await?;
        let id: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "{opening}INSERT INTO tickets (service, subject, description, status, client_id, requester_id, route, created_at, updated_at) \
             VALUES ($1, $2, $3, 'new', $4, $5, $6, $7, $7) RETURNING id"
        )))
        .bind(&ticket.service)
        .bind(&ticket.subject)
        .bind(&ticket.description)
        .bind(ticket.client_id.0)
        .bind(ticket.requester_id.0)
        .bind(&change.route)
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await?;
        let id = TicketId(id);
        let mut pending = Pending::default();
        pending.record(
            Some(ticket.requester_id),
            "created",
            None,
            Some("new"),
            true,
        );
        let (created, ranks) = apply_steps(
            &mut tx,
            id,
            ("new".into(), None),
            change,
            true,
            Completion::Pending,
            &mut pending,
        )
        .await?;
        commit_after(tx, pending.statements(id, at, &ranks)).await?;
        Ok(created)
    }

    async fn apply_change(
        &self,
        ticket: TicketId,
        change: &TicketChange,
    ) -> Result<Option<Ticket>> {
        let (mut tx, opening) = self.begin_unopened().await?;
        let mut route = Sql::new(opening);
        route
            .push("UPDATE tickets SET route = ")
            .bind(Param::Text(change.route.clone()))
            .push(" WHERE id = ")
            .bind(Param::Int(ticket.0))
            .push(" AND route = ")
            .bind(Param::Text(change.from_route.clone()))
            .push(" RETURNING status, classification");
        // Where the backend takes several statements in one call, the task completion goes
        // with the route's update (a route that moved on rolls both back, below).
        let completing = change
            .complete
            .as_ref()
            .filter(|_| ONE_CALL_BATCHES)
            .map(|done| complete_task_sql(ticket, done, change.at));
        let (mut completion, statements) = match completing {
            Some(complete) => (
                Completion::Ran(false),
                [route, complete].into_iter().collect(),
            ),
            None => (Completion::Pending, route),
        };
        let rows = bind_all(
            sqlx::query(AssertSqlSafe(statements.text)),
            &statements.params,
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut current = None;
        for row in &rows {
            if row.try_get::<i64, _>("done_task").is_ok() {
                completion = Completion::Ran(true);
            } else {
                current = Some((row.try_get("status")?, row.try_get("classification")?));
            }
        }
        let Some(current) = current else {
            return Ok(None);
        };
        let mut pending = Pending::default();
        let (changed, ranks) = apply_steps(
            &mut tx,
            ticket,
            current,
            change,
            false,
            completion,
            &mut pending,
        )
        .await?;
        commit_after(tx, pending.statements(ticket, change.at, &ranks)).await?;
        Ok(Some(changed))
    }

    async fn routed_ticket(&self, id: TicketId) -> Result<Option<RoutedTicket>> {
        let row = sqlx::query(AssertSqlSafe(format!("{} AND t.id = $1", routed_select())))
            .bind(id.0)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(routed_from).transpose()
    }

    async fn tickets_awaiting_action(
        &self,
        idle_since: Timestamp,
        limit: u32,
    ) -> Result<Vec<TicketId>> {
        // The condition is the partial index's own (migration 0017), spelled the same.
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tickets WHERE route LIKE '%\"awaiting_action\":\"%' \
             AND updated_at < $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(ms(idle_since))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    async fn task(&self, id: TaskId) -> Result<Option<Task>> {
        let row = sqlx::query(AssertSqlSafe(format!("{TASK_SELECT} WHERE k.id = $1")))
            .bind(id.0)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(task_from).transpose()
    }

    async fn routed_task(&self, id: TaskId) -> Result<Option<(Task, RoutedTicket)>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{} AND k.id = $1",
            routed_select().replace(
                " FROM tickets t",
                ", k.id AS task_id, k.ticket_id AS task_ticket_id, k.kind, k.title, k.line, k.pool, \
                 k.assignee_id, k.due_at, k.priority, k.state, k.stage, k.outcome, k.summary, \
                 k.created_at AS task_created_at FROM tasks k JOIN tickets t ON t.id = k.ticket_id",
            )
        )))
        .bind(id.0)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let task = task_from_columns(&row, ["task_id", "task_ticket_id", "task_created_at"])?;
        Ok(Some((task, routed_from(&row)?)))
    }

    async fn queue(&self, query: &QueueQuery) -> Result<Vec<QueueItem>> {
        // One index range per source (own, co-assigned, each line, each pool), each read in
        // queue order and cut at the page size; the union of those few rows is sorted.
        let limit = Param::Int(i64::from(query.limit.clamp(1, 500)));
        let mut sql = Sql::new("SELECT q.id FROM (");
        let mut sources = 0;
        let mut source = |sql: &mut Sql, from: &str, filter: &dyn Fn(&mut Sql)| {
            if sources > 0 {
                sql.push(" UNION ");
            }
            sources += 1;
            sql.push(&format!(
                "SELECT * FROM (SELECT k.id, k.rank FROM {from} WHERE k.state = 'open' AND "
            ));
            filter(sql);
            if let Some(after) = query.after {
                sql.push(" AND (k.rank, k.id) > (")
                    .bind(Param::Int(after.rank))
                    .push(", ")
                    .bind(Param::Int(after.id.0))
                    .push(")");
            }
            sql.push(" ORDER BY k.rank, k.id LIMIT ")
                .bind(limit.clone())
                .push(&format!(") s{sources}"));
        };
        let user = query.user.0;
        source(&mut sql, "tasks k", &|sql| {
            sql.push("k.assignee_id = ").bind(Param::Int(user));
        });
        source(
            &mut sql,
            "task_coassignees x JOIN tasks k ON k.id = x.task_id",
            &|sql| {
                sql.push("x.user_id = ").bind(Param::Int(user));
            },
        );
        for line in &query.lines {
            let line = i64::from(line.get());
            source(&mut sql, "tasks k", &|sql| {
                sql.push("k.assignee_id IS NULL AND k.line = ")
                    .bind(Param::Int(line));
            });
        }
        for pool in &query.pools {
            source(&mut sql, "tasks k", &|sql| {
                sql.push("k.assignee_id IS NULL AND k.pool = ")
                    .bind(Param::Text(pool.clone()));
            });
        }
        sql.push(") q");
        let text = format!(
            "{}, k.rank, t.route, COALESCE(t.calendar, c.calendar) AS calendar, {} FROM tasks k{} \
             WHERE k.id IN ({}) ORDER BY k.rank, k.id LIMIT ",
            TASK_SELECT.replace(" FROM tasks k", ""),
            super::queue::RANK_COLUMNS,
            super::queue::RANK_JOINS,
            sql.text
        );
        let mut sql = Sql {
            text,
            params: sql.params,
        };
        sql.bind(limit);
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), &sql.params)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(QueueItem {
                    task: task_from(row)?,
                    route: row.try_get("route")?,
                    rank: row.try_get("rank")?,
                    input: super::queue::rank_input_from(row)?,
                    calendar: row.try_get("calendar")?,
                })
            })
            .collect()
    }

    async fn take_task(&self, task: TaskId, user: UserId, at: Timestamp) -> Result<Task> {
        let mut tx = self.begin().await?;
        let ticket = ticket_of_task(&mut tx, task).await?;
        let taken = sqlx::query(
            "UPDATE tasks SET assignee_id = $1 WHERE id = $2 AND assignee_id IS NULL AND state = 'open'",
        )
        .bind(user.0)
        .bind(task.0)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() == 0 {
            return Err(task_conflict(&mut tx, task, "take").await);
        }
        record(
            &mut tx,
            ticket,
            at,
            Some(user),
            "task_taken",
            (None, Some(&task.to_string())),
            false,
        )
        .await?;
        let taken = task_in(&mut tx, task).await?;
        tx.commit().await?;
        Ok(taken)
    }

    async fn reassign_task(
        &self,
        task: TaskId,
        to: UserId,
        by: UserId,
        at: Timestamp,
    ) -> Result<Task> {
        let mut tx = self.begin().await?;
        let ticket = ticket_of_task(&mut tx, task).await?;
        let before: Option<i64> = sqlx::query_scalar("SELECT assignee_id FROM tasks WHERE id = $1")
            .bind(task.0)
            .fetch_one(&mut *tx)
            .await?;
        let updated =
            sqlx::query("UPDATE tasks SET assignee_id = $2 WHERE id = $1 AND state = 'open'")
                .bind(task.0)
                .bind(to.0)
                .execute(&mut *tx)
                .await?;
        if updated.rows_affected() == 0 {
            return Err(task_conflict(&mut tx, task, "reassign").await);
        }
        let before = before.map(|b| b.to_string());
        record(
            &mut tx,
            ticket,
            at,
            Some(by),
            "task_reassigned",
            (before.as_deref(), Some(&to.to_string())),
            false,
        )
        .await?;
        let reassigned = task_in(&mut tx, task).await?;
        tx.commit().await?;
        Ok(reassigned)
    }

    async fn transfer_task(
        &self,
        task: TaskId,
        line: Line,
        reason: &str,
        by: UserId,
        at: Timestamp,
    ) -> Result<Task> {
        let mut tx = self.begin().await?;
        let ticket = ticket_of_task(&mut tx, task).await?;
        let before: Option<i64> = sqlx::query_scalar("SELECT line FROM tasks WHERE id = $1")
            .bind(task.0)
            .fetch_one(&mut *tx)
            .await?;
        // The reason is what the next line reads first: it joins the task's carried text.
        let updated = sqlx::query(
            "UPDATE tasks SET line = $2, pool = NULL, assignee_id = NULL, \
             summary = CASE WHEN summary IS NULL OR summary = '' THEN $3 ELSE summary || $4 || $3 END \
             WHERE id = $1 AND state = 'open'",
        )
        .bind(task.0)
        .bind(i64::from(line.get()))
        .bind(reason)
        .bind("\n\n")
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(task_conflict(&mut tx, task, "transfer").await);
        }
        let before = before.map_or_else(|| "pool".to_owned(), |l| format!("line {l}"));
        let after = format!("line {}: {reason}", line.get());
        record(
            &mut tx,
            ticket,
            at,
            Some(by),
            "transferred",
            (Some(&before), Some(&after)),
            false,
        )
        .await?;
        let transferred = task_in(&mut tx, task).await?;
        tx.commit().await?;
        Ok(transferred)
    }

    async fn add_coassignee(
        &self,
        task: TaskId,
        user: UserId,
        by: UserId,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let ticket = ticket_of_task(&mut tx, task).await?;
        let added = sqlx::query(
            "INSERT INTO task_coassignees (task_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(task.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() > 0 {
            record(
                &mut tx,
                ticket,
                at,
                Some(by),
                "coassignee_added",
                (None, Some(&user.to_string())),
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn coassignees(&self, task: TaskId) -> Result<Vec<UserId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM task_coassignees WHERE task_id = $1 ORDER BY user_id",
        )
        .bind(task.0)
        .fetch_all(self.reader())
        .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    async fn watchers(&self, ticket: TicketId) -> Result<Vec<UserId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM ticket_watchers WHERE ticket_id = $1 ORDER BY user_id",
        )
        .bind(ticket.0)
        .fetch_all(self.reader())
        .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    async fn set_user_pools(&self, user: UserId, pools: &[String]) -> Result<()> {
        let updated = sqlx::query("UPDATE users SET pools = $2 WHERE id = $1")
            .bind(user.0)
            .bind(pools.join(","))
            .execute(self.writer())
            .await?;
        if updated.rows_affected() == 0 {
            return Err(DomainError::NotFound("user").into());
        }
        Ok(())
    }

    async fn user_pools(&self, user: UserId) -> Result<Vec<String>> {
        let pools: Option<String> = sqlx::query_scalar("SELECT pools FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(self.reader())
            .await?;
        Ok(pools
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect())
    }

    async fn save_workflow_file(
        &self,
        file: &WorkflowFile,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO workflow_files (code, version, file_name, body, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&file.code)
        .bind(i64::from(file.version))
        .bind(&file.file_name)
        .bind(&file.text)
        .bind(by.map(|b| b.0))
        .bind(ms(at))
        .execute(self.writer())
        .await
        .map_err(|e| {
            unique_violation(
                e,
                "version",
                &format!(
                    "workflow \"{}\" version {} is already published",
                    file.code, file.version
                ),
            )
        })?;
        Ok(())
    }

    async fn workflow_files(&self) -> Result<Vec<WorkflowFile>> {
        let rows: Vec<(String, i64, String, String)> =
            sqlx::query_as("SELECT code, version, file_name, body FROM workflow_files ORDER BY id")
                .fetch_all(self.reader())
                .await?;
        rows.into_iter()
            .map(|(code, version, file_name, text)| {
                Ok(WorkflowFile {
                    version: u32::try_from(version)
                        .map_err(|_| StoreError::Corrupt(format!("workflow version {version}")))?,
                    code,
                    file_name,
                    text,
                })
            })
            .collect()
    }

    async fn set_license_key_quota(&self, client: ClientId, quota: Option<i64>) -> Result<()> {
        let updated = sqlx::query("UPDATE clients SET license_key_quota = $2 WHERE id = $1")
            .bind(client.0)
            .bind(quota)
            .execute(self.writer())
            .await?;
        if updated.rows_affected() == 0 {
            return Err(DomainError::NotFound("client").into());
        }
        Ok(())
    }

    async fn issue_license_key(
        &self,
        client: ClientId,
        ticket: TicketId,
        key: &str,
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        // One statement checks and counts, so concurrent issues never overrun the quota.
        let counted = sqlx::query(
            "UPDATE clients SET license_keys_issued = license_keys_issued + 1 \
             WHERE id = $1 AND (license_key_quota IS NULL OR license_keys_issued < license_key_quota)",
        )
        .bind(client.0)
        .execute(&mut *tx)
        .await?;
        if counted.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO license_keys (client_id, ticket_id, license_key, issued_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(client.0)
        .bind(ticket.0)
        .bind(key)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
