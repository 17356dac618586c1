//! `/api/v1`: thin handlers over the desk, each documented for the OpenAPI document.

pub mod calendars;
pub mod clients;
pub mod contracts;
pub mod kb;
pub mod mail;
pub mod reports;
pub mod specialist;
pub mod tasks;
pub mod views;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use okno_desk::tickets::TicketInput;
use okno_domain::*;
use okno_store::TicketFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use views::*;

#[derive(OpenApi)]
#[openapi(
    info(title = "Okno API", description = "The service desk's REST API. Authenticate with `Authorization: Bearer <token>`."),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The API routes and their OpenAPI document.
pub fn router(attachment_limit: u64) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let uploads = OpenApiRouter::new()
        .routes(routes!(list_attachments, upload_attachment))
        .routes(routes!(
            kb::list_article_attachments,
            kb::upload_article_attachment
        ))
        .routes(routes!(clients::import))
        .layer(DefaultBodyLimit::max(
            usize::try_from(attachment_limit)
                .unwrap_or(usize::MAX)
                .saturating_add(64 * 1024),
        ));
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(services))
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(get_ticket))
        .routes(routes!(submit_ticket))
        .routes(routes!(update_draft))
        .routes(routes!(list_comments, create_comment))
        .routes(routes!(history))
        .routes(routes!(daily_reviews))
        .routes(routes!(ticket_tasks))
        .routes(routes!(download_attachment))
        .routes(routes!(tasks::queue))
        .routes(routes!(tasks::get_task))
        .routes(routes!(tasks::take))
        .routes(routes!(tasks::complete))
        .routes(routes!(tasks::reassign))
        .routes(routes!(tasks::transfer))
        .routes(routes!(tasks::add_coassignee))
        .routes(routes!(tasks::add_watcher))
        .routes(routes!(tasks::decide))
        .routes(routes!(tasks::list_workflows))
        .routes(routes!(tasks::get_workflow, tasks::put_workflow))
        .merge(calendars::router())
        .merge(specialist::router())
        .merge(mail::router())
        .routes(routes!(clients::list_clients, clients::upsert_client))
        .routes(routes!(clients::get_client))
        .routes(routes!(clients::list_contacts, clients::upsert_contact))
        .routes(routes!(clients::list_equipment, clients::create_equipment))
        .routes(routes!(clients::get_equipment, clients::update_equipment))
        .routes(routes!(clients::link_equipment))
        .routes(routes!(clients::to_register))
        .routes(routes!(clients::register_ticket))
        .routes(routes!(clients::ticket_registration))
        .routes(routes!(
            contracts::list_contracts,
            contracts::upsert_contract
        ))
        .routes(routes!(contracts::get_contract, contracts::update_contract))
        .routes(routes!(contracts::client_usage))
        .routes(routes!(contracts::ticket_limits))
        .routes(routes!(contracts::list_invoices))
        .routes(routes!(contracts::draft_invoice))
        .routes(routes!(contracts::set_invoice_status))
        .routes(routes!(contracts::revenue))
        .routes(routes!(contracts::work_report))
        .routes(routes!(contracts::send_work_report))
        .merge(kb::routes())
        .merge(reports::router())
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .merge(uploads)
        .split_for_parts();
    let mut prefixed = utoipa::openapi::path::Paths::new();
    for (path, item) in std::mem::take(&mut openapi.paths.paths) {
        prefixed.paths.insert(format!("/api/v1{path}"), item);
    }
    openapi.paths = prefixed;
    (axum::Router::new().nest("/api/v1", router), openapi)
}

/// `123` or `OK-000123`; anything else cannot name a ticket.
fn ticket_id(raw: &str) -> Result<TicketId, ApiError> {
    TicketNumber::parse(raw)
        .map(|n| TicketId(n.0))
        .ok_or_else(|| ApiError::not_found("ticket"))
}

#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest, security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let user = state.desk.login(&req.email, &req.password).await?;
    Ok(Json(LoginResponse {
        token: state.desk.create_token(&user).await?,
    }))
}

#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, body = MeView), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, Caller(user): Caller) -> Result<Json<MeView>, ApiError> {
    let client = match user.client_id {
        Some(id) => state
            .desk
            .store
            .client(id)
            .await
            .map_err(okno_desk::DeskError::from)?
            .map(|c| c.code),
        None => None,
    };
    Ok(Json(MeView {
        id: user.id.to_string(),
        email: user.email.to_string(),
        name: user.name,
        role: user.role.to_string(),
        client,
        lines: user.lines.iter().map(|l| l.get()).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
struct LangQuery {
    /// `ru` (default) or `en`.
    lang: Option<String>,
}

#[utoipa::path(get, path = "/services", tag = "catalog", params(LangQuery),
    responses((status = 200, body = Vec<ServiceView>)))]
async fn services(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<LangQuery>,
) -> Result<Json<Vec<ServiceView>>, ApiError> {
    let lang = q.lang.as_deref().unwrap_or("ru");
    Ok(Json(
        state
            .desk
            .services_for(&caller)
            .await?
            .iter()
            .map(|s| ServiceView::new(s, lang))
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only tickets in this status (`draft` lists the caller's drafts).
    status: Option<String>,
    /// Only this client's tickets (client code).
    client: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/tickets", tag = "tickets", params(ListQuery),
    responses((status = 200, body = TicketPage), (status = 422, body = ErrorBody)))]
async fn list_tickets(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<TicketPage>, ApiError> {
    let invalid = |field: &str, message: &str| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
    };
    let status = match q.status.as_deref() {
        Some(s) => Some(TicketStatus::parse(s).ok_or_else(|| invalid("status", "unknown status"))?),
        None => None,
    };
    let client = match q.client.as_deref() {
        Some(code) => {
            let found = state
                .desk
                .store
                .client_by_code(&code.to_uppercase())
                .await
                .map_err(okno_desk::DeskError::from)?;
            // An unknown client simply has no tickets, as one the caller may not see.
            Some(found.map(|c| c.id).unwrap_or(ClientId(0)))
        }
        None => None,
    };
    let after = match q.cursor.as_deref() {
        Some(c) => Some(
            c.parse()
                .map(TicketId)
                .map_err(|_| invalid("cursor", "not a cursor from a previous page"))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "limit is 1 to 200"));
    }
    let filter = TicketFilter {
        status,
        client,
        after,
        limit: limit + 1,
    };
    let mut items = state.desk.tickets(&user, &filter).await?;
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items.last().map(|t| t.id.to_string()).unwrap_or_default()
    });
    Ok(Json(TicketPage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = CreateTicket,
    responses((status = 201, body = TicketView), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 413, body = ErrorBody)))]
async fn create_ticket(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<CreateTicket>,
) -> Result<(StatusCode, Json<TicketView>), ApiError> {
    let input = TicketInput {
        service: req.service,
        subject: req.subject,
        description: req.description,
        client: req.client,
        requester: req.requester,
        draft: req.draft,
    };
    let equipment = req
        .equipment
        .map(|e| e.trim().parse())
        .transpose()
        .map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "not an equipment id",
            )
            .field("equipment")
        })?;
    let ticket = state
        .desk
        .open_ticket_about(&user, input, equipment)
        .await?;
    // The client's URGENT mark (seed 004) moves the ticket's tasks up their queues.
    if req.urgent {
        state.desk.mark_urgent(&user, ticket.id, true).await?;
    }
    Ok((StatusCode::CREATED, Json(ticket.into())))
}

#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "Ticket id or number, e.g. `OK-000123`")),
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody)))]
async fn get_ticket(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketView>, ApiError> {
    Ok(Json(
        state.desk.ticket(&user, ticket_id(&id)?).await?.into(),
    ))
}

#[utoipa::path(post, path = "/tickets/{id}/submit", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn submit_ticket(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketView>, ApiError> {
    Ok(Json(
        state
            .desk
            .submit_draft(&user, ticket_id(&id)?)
            .await?
            .into(),
    ))
}

/// Changes a saved draft's subject and description (its author only); send it with
/// `POST /tickets/{id}/submit`.
#[utoipa::path(put, path = "/tickets/{id}/draft", tag = "tickets", params(("id" = String, Path)), request_body = UpdateDraft,
    responses((status = 200, body = TicketView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_draft(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateDraft>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = state
        .desk
        .update_draft(&user, ticket_id(&id)?, &req.subject, &req.description)
        .await?;
    Ok(Json(ticket.into()))
}

#[utoipa::path(get, path = "/tickets/{id}/comments", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CommentView>), (status = 404, body = ErrorBody)))]
async fn list_comments(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<CommentView>>, ApiError> {
    let comments = state.desk.comments(&user, ticket_id(&id)?).await?;
    Ok(Json(comments.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/tickets/{id}/comments", tag = "tickets", params(("id" = String, Path)), request_body = CreateComment,
    responses((status = 201, body = CommentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_comment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CreateComment>,
) -> Result<(StatusCode, Json<CommentView>), ApiError> {
    let posted = state
        .desk
        .post_comment(&user, ticket_id(&id)?, &req.body, req.internal)
        .await?;
    Ok((StatusCode::CREATED, Json(posted.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// At most this many, newest first (default 30, up to 500).
    limit: Option<u32>,
}

/// One day's review of the open tickets, for the manager pool.
#[derive(Serialize, ToSchema)]
pub struct DailyReviewView {
    pub id: String,
    /// The day of the review calendar it is for, `YYYY-MM-DD`.
    pub day: String,
    pub pool: String,
    /// The open tickets by whose side the ball is on, with their status and next step.
    pub body: String,
    pub created_at: String,
    pub done_at: Option<String>,
}

/// The daily reviews of open tickets, newest first (managers and admins).
#[utoipa::path(get, path = "/reviews", tag = "tickets", params(ReviewQuery),
    responses((status = 200, body = Vec<DailyReviewView>), (status = 403, body = ErrorBody)))]
async fn daily_reviews(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<ReviewQuery>,
) -> Result<Json<Vec<DailyReviewView>>, ApiError> {
    let reviews = state
        .desk
        .daily_reviews(&user, q.limit.unwrap_or(30))
        .await?;
    Ok(Json(
        reviews
            .into_iter()
            .map(|r| DailyReviewView {
                id: r.id.to_string(),
                day: r.day,
                pool: r.pool,
                body: r.body,
                created_at: rfc3339(r.created_at),
                done_at: r.done_at.map(rfc3339),
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/tickets/{id}/history", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Vec<HistoryView>), (status = 404, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<HistoryView>>, ApiError> {
    let events = state.desk.history(&user, ticket_id(&id)?).await?;
    Ok(Json(events.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/tickets/{id}/tasks", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TaskView>), (status = 404, body = ErrorBody)))]
async fn ticket_tasks(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    let tasks = state.desk.ticket_tasks(&user, ticket_id(&id)?).await?;
    Ok(Json(tasks.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/tickets/{id}/attachments", tag = "attachments", params(("id" = String, Path)),
    responses((status = 200, body = Vec<AttachmentView>), (status = 404, body = ErrorBody)))]
async fn list_attachments(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttachmentView>>, ApiError> {
    let found = state.desk.attachments(&user, ticket_id(&id)?).await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

/// Multipart form: `file` (required) and `comment_id` (optional, attach to that comment).
#[utoipa::path(post, path = "/tickets/{id}/attachments", tag = "attachments", params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "`file`: the file; `comment_id`: optional"),
    responses((status = 201, body = AttachmentView), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn upload_attachment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<(StatusCode, Json<AttachmentView>), ApiError> {
    let id = ticket_id(&id)?;
    let upload = read_upload(form, &["comment_id"]).await?;
    let comment = match upload.text("comment_id") {
        Some(text) => Some(CommentId(text.trim().parse().map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "not a comment id",
            )
            .field("comment_id")
        })?)),
        None => None,
    };
    let attachment = state
        .desk
        .attach(
            &user,
            id,
            comment,
            &upload.name,
            &upload.content_type,
            &upload.bytes,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(attachment.into())))
}

/// A multipart upload: its `file` part and the text parts it may carry.
pub(crate) struct Upload {
    pub name: String,
    pub content_type: String,
    pub bytes: axum::body::Bytes,
    texts: Vec<(String, String)>,
}

impl Upload {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.texts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a multipart form of one `file` part and the text parts named in `texts`; any
/// other part, or no file, is a 422 naming it.
pub(crate) async fn read_upload(mut form: Multipart, texts: &[&str]) -> Result<Upload, ApiError> {
    let bad = |field: &str, message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
    };
    let (mut file, mut found) = (None, Vec::new());
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::new(e.status(), "bad_request", e.body_text()).field("file"));
            }
        };
        match field.name().map(str::to_owned) {
            Some(name) if name == "file" => {
                let file_name = field.file_name().unwrap_or("file").to_owned();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let bytes = field.bytes().await.map_err(|e| {
                    ApiError::new(e.status(), "too_large", e.body_text()).field("file")
                })?;
                file = Some((file_name, content_type, bytes));
            }
            Some(name) if texts.contains(&name.as_str()) => {
                let text = field.text().await.map_err(|e| bad(&name, e.body_text()))?;
                found.push((name, text));
            }
            other => {
                return Err(bad(
                    other.as_deref().unwrap_or("?"),
                    "unexpected form field".into(),
                ));
            }
        }
    }
    let (name, content_type, bytes) =
        file.ok_or_else(|| bad("file", "the form has no `file` part".into()))?;
    Ok(Upload {
        name,
        content_type,
        bytes,
        texts: found,
    })
}

#[utoipa::path(get, path = "/tickets/{id}/attachments/{attachment}", tag = "attachments",
    params(("id" = String, Path), ("attachment" = String, Path)),
    responses((status = 200, description = "The file, always as a download"), (status = 404, body = ErrorBody)))]
async fn download_attachment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let attachment = attachment
        .parse()
        .map(AttachmentId)
        .map_err(|_| ApiError::not_found("attachment"))?;
    let (found, bytes) = state
        .desk
        .attachment(&user, ticket_id(&id)?, attachment)
        .await?;
    Ok(crate::download(
        &found.file_name,
        &found.content_type,
        bytes,
    ))
}
