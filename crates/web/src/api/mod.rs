//! `/api/v1`: thin handlers over the desk, each documented for the OpenAPI document.

pub mod accounts;
pub mod audit;
pub mod calendars;
pub mod channels;
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
use crate::extract::{ApiJson, Caller, Query, RequestOrigin};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
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
        .merge(accounts::router())
        .merge(audit::router())
        .routes(routes!(services))
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(get_ticket))
        .routes(routes!(submit_ticket))
        .routes(routes!(update_draft))
        .routes(routes!(list_comments, create_comment))
        .routes(routes!(history))
        .routes(routes!(daily_reviews))
        .routes(routes!(daily_review))
        .routes(routes!(finish_daily_review))
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
        .merge(channels::router())
        .merge(channels::webhook_router())
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
    describe_responses(&mut openapi);
    let router = axum::Router::new()
        .nest("/api/v1", router)
        // Every other `/api/…` address answers in the API's JSON error shape.
        .route("/api/{*rest}", axum::routing::any(unknown_route));
    (router, openapi)
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("route")
}

/// OpenAPI requires a description on every response: where an operation gives none, its
/// status says what it means (an error's body is always [`ErrorBody`]).
fn describe_responses(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.trim().is_empty()
                {
                    response.description = status_description(status).to_owned();
                }
            }
        }
    }
}

fn status_description(status: &str) -> &'static str {
    match status {
        "200" => "Done; the body is the result",
        "201" => "Created; the body is the new resource",
        "202" => "Accepted for processing",
        "204" => "Done; no body",
        "303" => "See the `Location` header",
        "400" => "The request is malformed (error code and message in the body)",
        "401" => "Not authenticated: send `Authorization: Bearer <token>`",
        "403" => "The caller may not do this",
        "404" => "Not found, or not visible to the caller",
        "409" => "Conflicts with the current state (the body names the field when one is to blame)",
        "413" => "The body or file is too large",
        "415" => "Unsupported content type",
        "422" => "Invalid input; the body names the field",
        "429" => "Too many attempts; try again later",
        "503" => "Not available now",
        _ => "See the body",
    }
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
    RequestOrigin(origin): RequestOrigin,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let user = state.desk.login(&req.email, &req.password, &origin).await?;
    let factor = state.desk.second_factor();
    if factor.required(&user).await? {
        let code = req.code.as_deref().unwrap_or_default();
        if code.trim().is_empty() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "second_factor",
                "this account has a second factor: send its `code` with the password",
            )
            .field("code"));
        }
        factor.verify(&user, code).await?;
    } else if factor.must_enrol(&user).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "second_factor",
            "an admin must enrol a second factor first (on the /account page)",
        ));
    }
    Ok(Json(LoginResponse {
        token: state.desk.login_token(&user).await?,
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
        drafts_of: None,
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

/// One day's review of the open tickets, for the manager pool: a snapshot taken at the
/// review time, by whose side the ball is on.
#[derive(Serialize, ToSchema)]
pub struct DailyReviewView {
    pub id: String,
    /// The day of the review calendar it is for, `YYYY-MM-DD`.
    pub day: String,
    pub created_at: String,
    /// When a manager went through it (`null` while it waits).
    pub done_at: Option<String>,
    /// The manager who did (a user id).
    pub done_by: Option<String>,
    /// Open tickets waiting on us at the review time.
    pub ours_total: i64,
    /// Open tickets waiting on the client at the review time.
    pub theirs_total: i64,
    /// The listed tickets, oldest first on each side (a long list names the totals only).
    pub items: Vec<ReviewItemView>,
    /// A review written before reviews were kept as data: its text, and no items.
    pub text: Option<String>,
}

/// One open ticket as it stood at the review time.
#[derive(Serialize, ToSchema)]
pub struct ReviewItemView {
    pub ticket_id: String,
    /// `OK-000123`.
    pub number: String,
    pub client: String,
    pub subject: String,
    /// The client-facing status then.
    pub status: String,
    /// Whose move it was: `ours` or `theirs`.
    pub ball: String,
    pub next_step_at: Option<String>,
}

impl From<okno_desk::reviews::Review> for DailyReviewView {
    fn from(r: okno_desk::reviews::Review) -> Self {
        let (snapshot, text) = match r.content {
            Ok(snapshot) => (snapshot, None),
            Err(text) => (Default::default(), Some(text)),
        };
        DailyReviewView {
            id: r.id.to_string(),
            day: r.day,
            created_at: rfc3339(r.created_at),
            done_at: r.done_at.map(rfc3339),
            done_by: r.done_by.map(|u| u.0.to_string()),
            ours_total: snapshot.ours_total,
            theirs_total: snapshot.theirs_total,
            items: snapshot
                .items
                .into_iter()
                .map(|item| ReviewItemView {
                    ticket_id: item.ticket.0.to_string(),
                    number: okno_domain::TicketNumber(item.ticket.0).to_string(),
                    ball: item.ball().as_str().to_owned(),
                    next_step_at: item.next_step_at().map(rfc3339),
                    client: item.client_code,
                    subject: item.subject,
                    status: item.status.as_str().to_owned(),
                })
                .collect(),
            text,
        }
    }
}

/// The daily reviews of open tickets, newest first (managers and admins).
#[utoipa::path(get, path = "/reviews", tag = "tickets", params(ReviewQuery),
    responses((status = 200, description = "The reviews, newest first", body = Vec<DailyReviewView>),
        (status = 403, description = "Not a manager", body = ErrorBody)))]
async fn daily_reviews(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<ReviewQuery>,
) -> Result<Json<Vec<DailyReviewView>>, ApiError> {
    let reviews = state
        .desk
        .reviews()
        .list(&user, q.limit.unwrap_or(30))
        .await?;
    Ok(Json(reviews.into_iter().map(Into::into).collect()))
}

/// One daily review (managers and admins).
#[utoipa::path(get, path = "/reviews/{id}", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, description = "The review", body = DailyReviewView),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 404, description = "No such review", body = ErrorBody)))]
async fn daily_review(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<DailyReviewView>, ApiError> {
    let id = review_id(&id)?;
    Ok(Json(state.desk.reviews().get(&user, id).await?.into()))
}

/// A manager has gone through the review: it no longer waits in the managers' workplace.
/// Marking a review done twice keeps the first manager and time.
#[utoipa::path(post, path = "/reviews/{id}/done", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, description = "The review, done", body = DailyReviewView),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 404, description = "No such review", body = ErrorBody)))]
async fn finish_daily_review(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<DailyReviewView>, ApiError> {
    let id = review_id(&id)?;
    Ok(Json(state.desk.reviews().finish(&user, id).await?.into()))
}

fn review_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("review"))
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
    Ok(Json(
        tasks
            .into_iter()
            .map(|t| TaskView::of(t, &user.locale))
            .collect(),
    ))
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
                if file.is_some() {
                    return Err(bad("file", "the form has more than one `file` part".into()));
                }
                let file_name = field.file_name().unwrap_or("file").to_owned();
                if file_name.contains('\0') {
                    return Err(bad("file", okno_domain::NUL_MESSAGE.into()));
                }
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
                if text.contains('\0') {
                    return Err(bad(&name, okno_domain::NUL_MESSAGE.into()));
                }
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
