//! `/api/v1/tasks`, the client's decision on a waiting stage, watchers, and the workflow
//! catalog (read by staff, published by admins). Thin handlers over the desk.

use super::ticket_id;
use super::views::TicketView;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use okno_desk::DeskError;
use okno_desk::queue::QueueEntry;
use okno_desk::tasks::TaskCard;
use okno_domain::*;
use okno_store::QueueCursor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A task as a specialist sees it: what to do (title, Markdown instructions from its
/// stage), by when, and the outcomes it may end with.
#[derive(Serialize, ToSchema)]
pub struct TaskCardView {
    pub id: String,
    pub ticket_id: String,
    pub kind: String,
    /// The workflow stage that created it.
    pub stage: Option<String>,
    pub title: String,
    /// How to do the work (Markdown).
    pub instructions: Option<String>,
    pub line: Option<u8>,
    pub pool: Option<String>,
    /// The assignee's user id; absent while the task waits in its pool.
    pub assignee: Option<String>,
    pub due_at: Option<String>,
    /// Larger is more urgent (critical 100, high 75, normal 50, low 25).
    pub priority: i32,
    /// `open`, `done` or `cancelled`.
    pub state: String,
    /// The outcome codes the task may end with (`["done"]` for one way forward).
    pub outcomes: Vec<String>,
    /// What the specialist wrote on finishing it, or what was carried over into it.
    pub summary: Option<String>,
}

impl From<TaskCard> for TaskCardView {
    fn from(card: TaskCard) -> Self {
        let t = card.task;
        TaskCardView {
            id: t.id.to_string(),
            ticket_id: t.ticket_id.to_string(),
            kind: t.kind,
            stage: t.stage,
            title: card.title,
            instructions: card.instructions,
            line: t.line.map(Line::get),
            pool: t.pool,
            assignee: t.assignee_id.map(|a| a.to_string()),
            due_at: t.due_at.map(|d| d.to_string()),
            priority: t.priority,
            state: t.state.to_string(),
            outcomes: card.outcomes,
            summary: t.summary,
        }
    }
}

/// A task in a queue: the task, why it is in its place, and whether its calendar runs.
#[derive(Serialize, ToSchema)]
pub struct QueueEntryView {
    #[serde(flatten)]
    pub task: TaskCardView,
    /// Why the task is where it is, in the caller's language, e.g. `["critical", "due 14:30"]`.
    pub why: Vec<String>,
    /// The calendar the task is worked by is not running now (shown greyed).
    pub idle: bool,
}

impl From<QueueEntry> for QueueEntryView {
    fn from(entry: QueueEntry) -> Self {
        QueueEntryView {
            task: entry.card.into(),
            why: entry.why,
            idle: entry.idle,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct QueueQuery {
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// The `X-Next-Cursor` header of the previous page.
    cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteTask {
    /// One of the task's `outcomes`, e.g. `question`, `bug`, `critical`, `improvement` for
    /// the classify task.
    pub outcome: String,
    /// The task's summary: carried into the next task when the workflow says so.
    pub comment: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignTask {
    /// The new assignee: a user id or e-mail.
    pub assignee: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferTask {
    /// The line to transfer to, 1–4.
    pub line: u8,
    /// Why: kept in the ticket's history.
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPerson {
    /// A user id or e-mail; for watchers, absent means the caller.
    pub user: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// One of the waiting stage's decisions, e.g. `approved` or `declined`.
    pub decision: String,
}

#[derive(Serialize, ToSchema)]
pub struct WorkflowSummary {
    pub code: String,
    pub name: String,
    /// The version new tickets start on.
    pub latest: u32,
    /// Every published version; tickets under way keep theirs.
    pub versions: Vec<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct Published {
    pub code: String,
    pub version: u32,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct WorkflowQuery {
    /// A version (default: the latest).
    version: Option<u32>,
    /// `ru` (default) or `en`, for the names in the list.
    lang: Option<String>,
}

pub(super) fn task_id(raw: &str) -> Result<TaskId, ApiError> {
    raw.parse()
        .map(TaskId)
        .map_err(|_| ApiError::not_found("task"))
}

/// A user named by id or e-mail.
pub(super) async fn user_ref(
    state: &AppState,
    raw: &str,
    field: &'static str,
) -> Result<UserId, ApiError> {
    let raw = raw.trim();
    if let Ok(id) = raw.parse() {
        return Ok(UserId(id));
    }
    let unknown = || FieldError::new(field, "no such user: give a user id or e-mail");
    let email = Email::parse(raw).map_err(|_| DeskError::from(unknown()))?;
    let found = state
        .desk
        .store
        .user_by_email(&email)
        .await
        .map_err(DeskError::from)?;
    Ok(found.ok_or_else(|| DeskError::from(unknown()))?.0.id)
}

#[utoipa::path(get, path = "/tasks/queue", tag = "tasks", params(QueueQuery),
    responses((status = 200, body = Vec<QueueEntryView>,
               description = "In priority order (the rules of `priorities.toml`), each with why; `X-Next-Cursor` names the next page"),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn queue(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<QueueQuery>,
) -> Result<(HeaderMap, Json<Vec<QueueEntryView>>), ApiError> {
    let invalid = |field: &str, message: &str| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "limit is 1 to 200"));
    }
    let after = match q.cursor.as_deref() {
        Some(c) => Some(
            QueueCursor::parse(c)
                .ok_or_else(|| invalid("cursor", "not a cursor from a previous page"))?,
        ),
        None => None,
    };
    let mut cards = state.desk.work_queue(&user, after, limit + 1).await?;
    let mut headers = HeaderMap::new();
    if cards.len() > limit as usize {
        cards.truncate(limit as usize);
        if let Some(last) = cards.last()
            && let Ok(value) = HeaderValue::from_str(&last.cursor.encode())
        {
            headers.insert("x-next-cursor", value);
        }
    }
    Ok((headers, Json(cards.into_iter().map(Into::into).collect())))
}

#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = TaskCardView), (status = 404, body = ErrorBody)))]
pub(super) async fn get_task(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<TaskCardView>, ApiError> {
    Ok(Json(state.desk.task(&user, task_id(&id)?).await?.into()))
}

#[utoipa::path(post, path = "/tasks/{id}/take", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = TaskCardView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "Someone took it first")))]
pub(super) async fn take(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<TaskCardView>, ApiError> {
    Ok(Json(
        state.desk.take_task(&user, task_id(&id)?).await?.into(),
    ))
}

#[utoipa::path(post, path = "/tasks/{id}/complete", tag = "tasks", params(("id" = String, Path)),
    request_body = CompleteTask,
    responses((status = 200, body = TicketView, description = "The ticket after the route moved on"),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "Outcome not allowed (the message lists the allowed ones), someone else's task, or not open")))]
pub(super) async fn complete(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CompleteTask>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = state
        .desk
        .complete_task(&user, task_id(&id)?, &req.outcome, req.comment.as_deref())
        .await?;
    Ok(Json(ticket.into()))
}

#[utoipa::path(post, path = "/tasks/{id}/reassign", tag = "tasks", params(("id" = String, Path)),
    request_body = ReassignTask,
    responses((status = 200, body = TaskCardView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn reassign(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReassignTask>,
) -> Result<Json<TaskCardView>, ApiError> {
    let id = task_id(&id)?;
    let to = user_ref(&state, &req.assignee, "assignee").await?;
    Ok(Json(state.desk.reassign_task(&user, id, to).await?.into()))
}

#[utoipa::path(post, path = "/tasks/{id}/transfer", tag = "tasks", params(("id" = String, Path)),
    request_body = TransferTask,
    responses((status = 200, body = TaskCardView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn transfer(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TransferTask>,
) -> Result<Json<TaskCardView>, ApiError> {
    let card = state
        .desk
        .transfer_task(&user, task_id(&id)?, req.line, &req.reason)
        .await?;
    Ok(Json(card.into()))
}

#[utoipa::path(post, path = "/tasks/{id}/coassignees", tag = "tasks", params(("id" = String, Path)),
    request_body = AddPerson,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn add_coassignee(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AddPerson>,
) -> Result<StatusCode, ApiError> {
    let id = task_id(&id)?;
    let who = req
        .user
        .as_deref()
        .ok_or_else(|| DeskError::from(FieldError::new("user", "name the co-assignee")))?;
    let who = user_ref(&state, who, "user").await?;
    state.desk.add_coassignee(&user, id, who).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/tickets/{id}/watchers", tag = "tickets", params(("id" = String, Path)),
    request_body = AddPerson,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn add_watcher(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AddPerson>,
) -> Result<StatusCode, ApiError> {
    let id = ticket_id(&id)?;
    let who = match req.user.as_deref() {
        Some(raw) => Some(user_ref(&state, raw, "user").await?),
        None => None,
    };
    state.desk.watch(&user, id, who).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/tickets/{id}/decision", tag = "tickets", params(("id" = String, Path)),
    request_body = Decision,
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The ticket does not wait for this decision")))]
pub(super) async fn decide(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Decision>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = state
        .desk
        .decide(&user, ticket_id(&id)?, &req.decision)
        .await?;
    Ok(Json(ticket.into()))
}

fn staff_only(user: &User) -> Result<(), ApiError> {
    if okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadConfiguration) {
        Ok(())
    } else {
        Err(ApiError::not_found("workflow"))
    }
}

#[utoipa::path(get, path = "/workflows", tag = "catalog", params(WorkflowQuery),
    responses((status = 200, body = Vec<WorkflowSummary>), (status = 404, body = ErrorBody)))]
pub(super) async fn list_workflows(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<WorkflowQuery>,
) -> Result<Json<Vec<WorkflowSummary>>, ApiError> {
    staff_only(&user)?;
    let lang = q.lang.as_deref().unwrap_or("ru");
    let catalog = state.desk.catalog();
    let mut list: Vec<WorkflowSummary> = Vec::new();
    for workflow in catalog.workflows() {
        match list.last_mut() {
            Some(last) if last.code == workflow.code => {
                last.latest = workflow.version;
                last.name = workflow.name.get(lang).to_owned();
                last.versions.push(workflow.version);
            }
            _ => list.push(WorkflowSummary {
                code: workflow.code.clone(),
                name: workflow.name.get(lang).to_owned(),
                latest: workflow.version,
                versions: vec![workflow.version],
            }),
        }
    }
    Ok(Json(list))
}

#[utoipa::path(get, path = "/workflows/{code}", tag = "catalog",
    params(("code" = String, Path), WorkflowQuery),
    responses((status = 200, body = Object, description = "The workflow: stages, tasks, outcomes, messages, instructions"),
              (status = 404, body = ErrorBody)))]
pub(super) async fn get_workflow(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
    Query(q): Query<WorkflowQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    staff_only(&user)?;
    let catalog = state.desk.catalog();
    let workflow = match q.version {
        Some(version) => catalog.workflow(&code, version),
        None => catalog.latest(&code),
    };
    let workflow = workflow.ok_or_else(|| ApiError::not_found("workflow"))?;
    serde_json::to_value(workflow)
        .map(Json)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

/// The body is the workflow's TOML file; its `version` must be new. Errors come back as
/// `file:line: message`, one per line, and leave the running configuration unchanged.
#[utoipa::path(put, path = "/workflows/{code}", tag = "catalog", params(("code" = String, Path)),
    request_body(content = String, content_type = "application/toml", description = "The workflow file"),
    responses((status = 201, body = Published), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn put_workflow(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
    body: String,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let version = state.desk.publish_workflow(&user, &code, &body).await?;
    Ok((StatusCode::CREATED, Json(Published { code, version })))
}
