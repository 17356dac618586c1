//! Server-rendered pages: login, the landing page per role, a ticket, a new ticket.
//!
//! Handlers are thin: parse the request, call the desk, render a template. The visit
//! (language, zone, session), the cross-site post check and error pages live in [`guard`];
//! messages, plurals and dates in [`i18n`]; templates and their rows in [`templates`].

pub mod account;
pub mod admin;
pub mod channels;
pub mod figures;
pub mod guard;
pub mod i18n;
pub mod kb;
pub mod mail_admin;
pub mod messages;
pub mod portal;
pub mod profile;
pub mod reports;
pub mod reviews;
pub mod specialist;
pub mod templates;
pub mod webform;
pub mod workplaces;

use crate::AppState;
use crate::extract::{RequestOrigin, SESSION_COOKIE};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use guard::{Page, PageError, Visit, flash_redirect, page_layer};
use i18n::Lang;
use okno_desk::submits::Submitted;
use okno_desk::tickets::TicketInput;
use okno_desk::{Desk, DeskError};
use okno_domain::*;
use okno_store::TicketFilter;
use serde::Deserialize;
use templates::*;

/// Tickets per page of the landing list.
const PAGE_SIZE: usize = 25;
/// The login form's CSRF cookie (double submit: there is no session to bind a token to yet).
const LOGIN_COOKIE: &str = "okno_login";

pub fn router(state: AppState) -> Router<AppState> {
    let upload_limit = usize::try_from(state.desk.settings.attachment_limit)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/code", post(login_code))
        .route("/logout", post(logout))
        .route("/", get(home))
        .route("/tickets/new", get(new_ticket_form))
        .route("/tickets/{id}", get(ticket_page))
        .route("/tickets/{id}/comments", post(post_comment))
        .route("/tickets/{id}/submit", post(submit_draft))
        .route("/tickets/{id}/rating", post(workplaces::rate))
        .route("/desk", get(workplaces::desk_page))
        .route("/desk/queue", get(workplaces::queue_fragment))
        .route("/tasks/{id}", get(workplaces::task_page))
        .route("/tasks/{id}/take", post(workplaces::take))
        .route("/tasks/{id}/complete", post(workplaces::complete))
        .route("/tasks/{id}/transfer", post(workplaces::transfer))
        .route("/manager", get(workplaces::manager_page))
        .route("/announcements", post(workplaces::announce))
        .route(
            "/profile",
            get(profile::profile_page).post(profile::save_profile),
        )
        .route("/profile/telegram", post(profile::profile_telegram))
        .route("/search", get(profile::search_page))
        .merge(kb::routes())
        .merge(reviews::routes())
        .merge(account::routes())
        // The manager's figure lists and the admin pages (issue 8, ui-admin).
        .route("/manager/tickets", get(figures::tickets_page))
        .route("/manager/tasks", get(figures::tasks_page))
        .merge(reports::routes())
        .merge(admin::routes())
        .merge(channels::routes())
        .merge(mail_admin::routes())
        .route(
            "/tickets/{id}/attachments",
            post(upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        // Client portal and specialist desk panels (issue 8, ui-portal).
        .merge(portal::routes())
        .merge(specialist::routes())
        .route(
            "/tickets",
            post(create_ticket).layer(DefaultBodyLimit::max(
                upload_limit.saturating_mul(MAX_FILES),
            )),
        )
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(state, page_layer))
        .route("/static/okno.css", get(stylesheet))
        .route("/static/favicon.svg", get(favicon))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/okno.js", get(script))
        // The public web form for the firm's site (issue 20): no session, its own origin check.
        .merge(webform::routes())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/okno.css"),
    )
}

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/favicon.svg"),
    )
}

/// htmx 2.0.11 (0BSD), vendored: live parts of the pages without a Node build step.
async fn htmx() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/htmx.min.js"),
    )
}

/// The pages' own script (timer clock, draft autosave, dropped files, the size check).
async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/okno.js"),
    )
}

/// `123` or `OK-000123`; anything else names no ticket.
pub(crate) fn ticket_id(raw: &str) -> Result<TicketId, PageError> {
    TicketNumber::parse(raw)
        .map(|n| TicketId(n.0))
        .ok_or(PageError::NOT_FOUND)
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn login_form(visit: Visit, jar: CookieJar, Query(query): Query<NextQuery>) -> Response {
    let next = guard::safe_next(&query.next).to_owned();
    if visit.session.is_some() {
        return Redirect::to(&next).into_response();
    }
    let token = random_token();
    let cookie = Cookie::build((LOGIN_COOKIE, token.clone()))
        .path("/login")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build();
    let page = LoginTemplate {
        ctx: visit.ctx(),
        email: String::new(),
        error: None,
        token,
        next,
    };
    (jar.add(cookie), render(StatusCode::OK, &page)).into_response()
}

async fn login(
    State(state): State<AppState>,
    visit: Visit,
    headers: HeaderMap,
    jar: CookieJar,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = jar.get(LOGIN_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|token| guard::same_secret(&form.csrf, &token)) {
        return Err(PageError::CSRF);
    }
    let refused = |status: StatusCode,
                   key: &str,
                   args: &[(
        &'static str,
        fluent_templates::fluent_bundle::FluentValue<'static>,
    )]| {
        let ctx = visit.ctx();
        let page = LoginTemplate {
            error: Some(ctx.lang.t_args(key, args)),
            ctx,
            email: form.email.clone(),
            token: form.csrf.clone(),
            next: guard::safe_next(&form.next).to_owned(),
        };
        Ok(render(status, &page))
    };
    match state.desk.login(&form.email, &form.password, &origin).await {
        Ok(user) if state.desk.second_factor().required(&user).await? => {
            // The password was right; the session waits for the code.
            let challenge = state.desk.second_factor().challenge(&user).await?;
            let cookie = Cookie::build((CHALLENGE_COOKIE, challenge))
                .path("/login")
                .http_only(true)
                .secure(guard::is_https(&headers))
                // The server forgets the challenge after `CHALLENGE_LIFETIME`.
                .same_site(SameSite::Strict);
            let page = LoginCodeTemplate {
                ctx: visit.ctx(),
                error: None,
                token: form.csrf.clone(),
                next: guard::safe_next(&form.next).to_owned(),
            };
            Ok((jar.add(cookie), render(StatusCode::OK, &page)).into_response())
        }
        Ok(user) => signed_in(&state, jar, &headers, &origin, &user, &form.next).await,
        Err(DeskError::Unauthorized(_)) => refused(StatusCode::UNAUTHORIZED, "login-failed", &[]),
        Err(DeskError::Throttled { retry_after_secs }) => {
            let mut page = refused(
                StatusCode::TOO_MANY_REQUESTS,
                "accounts-login-wait",
                &[("seconds", retry_after_secs.into())],
            )?;
            page.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            Ok(page)
        }
        Err(error) => Err(error.into()),
    }
}

/// The cookie of a login that passed the password and waits for the second factor.
const CHALLENGE_COOKIE: &str = "okno_login_challenge";

/// Opens the session of a person who just proved who they are; an admin who must have a
/// second factor and has none is sent to enrol it first.
async fn signed_in(
    state: &AppState,
    jar: CookieJar,
    headers: &HeaderMap,
    origin: &okno_desk::auth::Origin,
    user: &User,
    next: &str,
) -> Result<Response, PageError> {
    if let Some(old) = jar.get(SESSION_COOKIE) {
        state.desk.close_session(old.value()).await?;
    }
    let session = state.desk.open_session(user, origin).await?;
    let jar = jar
        .remove(Cookie::build(LOGIN_COOKIE).path("/login"))
        .remove(Cookie::build(CHALLENGE_COOKIE).path("/login"))
        .add(guard::session_cookie(
            session.cookie,
            guard::is_https(headers),
        ));
    let to = if state.desk.second_factor().must_enrol(user).await? {
        "/account#second-factor"
    } else {
        guard::safe_next(next)
    };
    Ok((jar, Redirect::to(to)).into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// The login's second step: the code (or a recovery code) for the challenge the password
/// opened.
async fn login_code(
    State(state): State<AppState>,
    visit: Visit,
    headers: HeaderMap,
    jar: CookieJar,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let expected = jar.get(LOGIN_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|token| guard::same_secret(&form.csrf, &token)) {
        return Err(PageError::CSRF);
    }
    let Some(challenge) = jar.get(CHALLENGE_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let refused = |status: StatusCode, message: String| {
        let page = LoginCodeTemplate {
            ctx: visit.ctx(),
            error: Some(message),
            token: form.csrf.clone(),
            next: guard::safe_next(&form.next).to_owned(),
        };
        render(status, &page)
    };
    match state
        .desk
        .second_factor()
        .complete(&challenge, &form.code)
        .await
    {
        Ok(user) => signed_in(&state, jar, &headers, &origin, &user, &form.next).await,
        Err(DeskError::Unauthorized(_)) => Ok(refused(
            StatusCode::UNAUTHORIZED,
            visit.ctx().t("totp-login-failed"),
        )),
        Err(DeskError::Throttled { retry_after_secs }) => {
            let mut page = refused(
                StatusCode::TOO_MANY_REQUESTS,
                visit.ctx().lang.t_args(
                    "accounts-login-wait",
                    &[("seconds", retry_after_secs.into())],
                ),
            );
            page.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            Ok(page)
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    page: Page,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state.desk.close_session(cookie.value()).await?;
    }
    let jar = jar.remove(guard::expired_session_cookie());
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let status = query.status.as_deref().and_then(TicketStatus::parse);
    let after = query
        .cursor
        .as_deref()
        .and_then(|c| c.parse().ok())
        .map(TicketId);
    let filter = TicketFilter {
        status,
        client: None,
        after,
        limit: PAGE_SIZE as u32 + 1,
        drafts_of: None,
    };
    let mut tickets = state.desk.tickets(&page.user, &filter).await?;
    let next_cursor = (tickets.len() > PAGE_SIZE).then(|| {
        tickets.truncate(PAGE_SIZE);
        tickets[PAGE_SIZE - 1].id
    });
    let services = if page.user.role.is_staff() {
        Vec::new()
    } else {
        service_links(&state.desk, &page.user, page.ctx.lang).await?
    };
    let feed = workplaces::client_feed(&state.desk, &page.ctx, &page.user).await?;
    let panels = portal::portal_panels(&state.desk, &page.ctx, &page.user).await?;
    let view = HomeTemplate::new(
        page.ctx,
        &tickets,
        status,
        next_cursor,
        after.is_some(),
        services,
        support_calendar_idle(&state.desk),
        feed,
        panels,
    );
    Ok(render(StatusCode::OK, &view))
}

/// Whether the desk's support calendar (the default level's) is not running right now:
/// the list then shows its open tickets greyed.
fn support_calendar_idle(desk: &Desk) -> bool {
    desk.sla_terms(None, None)
        .is_ok_and(|terms| okno_desk::deadlines::calendar_idle(terms.calendar, desk.now()))
}

/// The services a person may open a ticket for, one click each.
async fn service_links(
    desk: &Desk,
    user: &User,
    lang: Lang,
) -> Result<Vec<ServiceLink>, PageError> {
    Ok(desk
        .services_for(user)
        .await?
        .iter()
        .map(|s| ServiceLink {
            href: format!("/tickets/new?service={}", s.code),
            name: s.name.get(lang.code()).to_owned(),
            description: s.description.get(lang.code()).to_owned(),
        })
        .collect())
}

/// An active service's name and description in `lang`.
fn service_text(desk: &Desk, code: &str, lang: Lang) -> Option<(String, String)> {
    desk.catalog().service(code).filter(|s| s.active).map(|s| {
        (
            s.name.get(lang.code()).to_owned(),
            s.description.get(lang.code()).to_owned(),
        )
    })
}

async fn load_ticket(
    desk: &Desk,
    user: &User,
    id: TicketId,
    lang: Lang,
) -> Result<TicketData, PageError> {
    let ticket = desk.ticket(user, id).await?;
    let tasks = if user.role.is_staff() {
        let tasks = desk.ticket_tasks(user, ticket.id).await?;
        desk.tasks_in_language(user, ticket.id, tasks).await?
    } else {
        Vec::new()
    };
    let client_name = desk
        .store
        .client(ticket.client_id)
        .await
        .map_err(DeskError::from)?
        .map(|c| c.name)
        .unwrap_or_default();
    let service_name = desk
        .catalog()
        .service(&ticket.service)
        .map(|s| s.name.get(lang.code()).to_owned())
        .unwrap_or_else(|| ticket.service.clone());
    let rating = desk.ticket_rating(user, ticket.id).await?;
    let promise = desk.promise_text(ticket.id, lang.code()).await?;
    Ok(TicketData {
        promise,
        rating,
        comments: desk.comments(user, ticket.id).await?,
        attachments: desk.attachments(user, ticket.id).await?,
        history: desk.history(user, ticket.id).await?,
        tasks,
        upload_limit: desk.settings.attachment_limit,
        client_name,
        service_name,
        ticket,
    })
}

async fn ticket_page(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let data = load_ticket(&state.desk, &page.user, ticket_id(&id)?, page.ctx.lang).await?;
    let timer = ticket_timer(&state.desk, &page, &data).await?;
    let mut view = TicketTemplate::new(page.ctx, data, TicketForms::default());
    view.timer = timer;
    Ok(render(StatusCode::OK, &view))
}

/// The ticket page again, with what the viewer typed and what was wrong with it.
async fn ticket_page_with(
    desk: &Desk,
    page: Page,
    id: TicketId,
    forms: TicketForms,
) -> Result<Response, PageError> {
    let data = load_ticket(desk, &page.user, id, page.ctx.lang).await?;
    let timer = ticket_timer(desk, &page, &data).await?;
    let mut view = TicketTemplate::new(page.ctx, data, forms);
    view.timer = timer;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
}

/// Staff see their running timer on the ticket page too, with a start button for their
/// own open task on this ticket; clients never see it.
async fn ticket_timer(
    desk: &Desk,
    page: &Page,
    data: &TicketData,
) -> Result<Option<specialist::TimerView>, PageError> {
    if !page.user.role.is_staff() {
        return Ok(None);
    }
    let mine = data
        .tasks
        .iter()
        .find(|t| t.state == TaskState::Open && t.assignee_id == Some(page.user.id))
        .map(|t| (t, t.title_in(&page.user.locale)));
    Ok(Some(specialist::timer_view(desk, page, mine).await?))
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    internal: Option<String>,
}

async fn post_comment(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id = ticket_id(&id)?;
    let internal = form.internal.is_some();
    match state
        .desk
        .comment(&page.user, id, &form.body, internal)
        .await
    {
        Ok(comment) => Ok(flash_redirect(
            &format!("/tickets/{}#comment-{}", TicketNumber(id.0), comment.id),
            if internal {
                "flash-note-added"
            } else {
                "flash-reply-sent"
            },
        )),
        Err(DeskError::Domain(DomainError::Invalid(error))) => {
            let forms = TicketForms {
                comment_error: Some(field_message(&page.ctx, &error)),
                comment: form.body,
                internal,
                upload_error: None,
            };
            ticket_page_with(&state.desk, page, id, forms).await
        }
        Err(error) => Err(error.into()),
    }
}

async fn submit_draft(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let ticket = state.desk.submit_draft(&page.user, ticket_id(&id)?).await?;
    Ok(flash_redirect(
        &format!("/tickets/{}", ticket.number()),
        "flash-ticket-sent",
    ))
}

/// Multipart: `csrf` and `file`.
async fn upload(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let id = ticket_id(&id)?;
    let (mut csrf, mut file) = (String::new(), None);
    while let Some(field) = form.next_field().await.map_err(|_| PageError::INVALID)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|_| PageError::INVALID)?,
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let bytes = field.bytes().await.map_err(|_| PageError::TOO_LARGE)?;
                file = Some((name, content_type, bytes));
            }
            _ => {}
        }
    }
    page.check_csrf(&csrf)?;
    let outcome = match file {
        Some((name, content_type, bytes)) if !name.is_empty() && !bytes.is_empty() => {
            state
                .desk
                .attach(&page.user, id, None, &name, &content_type, &bytes)
                .await
        }
        _ => Err(FieldError::new("file", "must not be empty").into()),
    };
    match outcome {
        Ok(_) => Ok(flash_redirect(
            &format!("/tickets/{}#files", TicketNumber(id.0)),
            "flash-file-uploaded",
        )),
        Err(DeskError::Domain(DomainError::Invalid(_))) => {
            let forms = TicketForms {
                upload_error: Some(page.ctx.t("upload-choose-file")),
                ..TicketForms::default()
            };
            ticket_page_with(&state.desk, page, id, forms).await
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize)]
struct NewTicketQuery {
    #[serde(default)]
    service: String,
    /// Prefilled by the caller's card ("new ticket from this call"): the client, the
    /// contact, a subject, and the call to log on the ticket.
    #[serde(default)]
    client: String,
    #[serde(default)]
    requester: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    call: String,
}

async fn new_ticket_form(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<NewTicketQuery>,
) -> Result<Response, PageError> {
    let (service_name, service_description) =
        service_text(&state.desk, &query.service, page.ctx.lang).ok_or(PageError::NOT_FOUND)?;
    let view = NewTicketTemplate {
        upload: UploadLimit::new(&page.ctx, state.desk.settings.attachment_limit),
        autosave_key: autosave_key(&page.user, &query.service),
        ctx: page.ctx,
        service_name,
        service_description,
        input: TicketFormInput {
            service: query.service,
            client: query.client,
            requester: query.requester,
            subject: query.subject,
            call: query.call,
            nonce: random_token(),
            ..TicketFormInput::default()
        },
        errors: TicketFormErrors::default(),
    };
    Ok(render(StatusCode::OK, &view))
}

/// Where the browser keeps a person's unsent text for a service.
fn autosave_key(user: &User, service: &str) -> String {
    format!("okno-new-ticket:{}:{service}", user.id)
}

#[derive(Deserialize, Default)]
struct TicketForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    client: String,
    /// Staff registering for a client: the contact's email (or user id).
    #[serde(default)]
    requester: String,
    draft: Option<String>,
    /// One per rendered form: a second submit of the same form opens the first ticket.
    #[serde(default)]
    nonce: String,
    /// The call the ticket is opened from (see [`NewTicketQuery`]).
    #[serde(default)]
    call: String,
}

/// A file sent with the new-ticket form: name, content type, bytes.
type SentFile = (String, String, axum::body::Bytes);

/// The new-ticket form as sent: `multipart/form-data` when it carries files, else
/// urlencoded. A body over the route's limit is a 413.
async fn read_ticket_form(
    state: &AppState,
    req: Request,
) -> Result<(TicketForm, Vec<SentFile>), PageError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Form(form) = Form::<TicketForm>::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => PageError::TOO_LARGE,
                _ => PageError::INVALID,
            })?;
        return Ok((form, Vec::new()));
    }
    let mut body = Multipart::from_request(req, state)
        .await
        .map_err(|_| PageError::INVALID)?;
    let (mut form, mut files) = (TicketForm::default(), Vec::new());
    while let Some(field) = body.next_field().await.map_err(|_| PageError::TOO_LARGE)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let bytes = field.bytes().await.map_err(|_| PageError::TOO_LARGE)?;
            // A file input left empty still sends an empty part.
            if !file_name.is_empty() && !bytes.is_empty() {
                files.push((file_name, content_type, bytes));
            }
            continue;
        }
        let text = field.text().await.map_err(|_| PageError::INVALID)?;
        match name.as_str() {
            "csrf" => form.csrf = text,
            "service" => form.service = text,
            "subject" => form.subject = text,
            "description" => form.description = text,
            "client" => form.client = text,
            "requester" => form.requester = text,
            "nonce" => form.nonce = text,
            "call" => form.call = text,
            "draft" => form.draft = Some(text),
            _ => {}
        }
    }
    Ok((form, files))
}

async fn create_ticket(
    State(state): State<AppState>,
    page: Page,
    req: Request,
) -> Result<Response, PageError> {
    let (form, files) = read_ticket_form(&state, req).await?;
    page.check_csrf(&form.csrf)?;
    // The browser checked this before sending; a request that skipped it still gets 413,
    // before anything is created.
    let limit = state.desk.settings.attachment_limit;
    if files.len() > MAX_FILES || files.iter().any(|(_, _, b)| b.len() as u64 > limit) {
        return Err(PageError::TOO_LARGE);
    }
    let input = TicketInput {
        service: form.service.clone(),
        subject: form.subject.clone(),
        description: form.description.clone(),
        client: Some(form.client.clone()).filter(|c| !c.trim().is_empty()),
        requester: Some(form.requester.clone()).filter(|r| !r.trim().is_empty()),
        draft: form.draft.is_some(),
    };
    // A double click sends the form twice: the second waits for the first and opens its
    // ticket instead of a copy (the guard is in the database, so it holds across processes).
    let opened = match state
        .desk
        .submits()
        .once(
            &page.user,
            &form.nonce,
            state.desk.open_ticket(&page.user, input),
        )
        .await?
    {
        Submitted::Before(id) => {
            return Ok(Redirect::to(&format!("/tickets/{}", TicketNumber(id.0))).into_response());
        }
        Submitted::Now(opened) => opened,
    };
    let error = match opened {
        Ok(ticket) => {
            for (name, content_type, bytes) in &files {
                state
                    .desk
                    .attach(&page.user, ticket.id, None, name, content_type, bytes)
                    .await?;
            }
            if let Ok(call) = form.call.trim().parse::<i64>() {
                state
                    .desk
                    .channels()
                    .log_call(&page.user, call, ticket.id)
                    .await?;
            }
            return Ok(flash_redirect(
                &format!("/tickets/{}", ticket.number()),
                "flash-ticket-created",
            ));
        }
        Err(DeskError::Domain(DomainError::Invalid(error))) => error,
        Err(DeskError::Domain(DomainError::NotFound("client"))) => {
            FieldError::new("client", "unknown client")
        }
        Err(error) => return Err(error.into()),
    };
    let message = Some(field_message(&page.ctx, &error));
    let mut errors = TicketFormErrors::default();
    match error.field {
        "service" => errors.service = message,
        "subject" => errors.subject = message,
        "description" => errors.description = message,
        "client" => errors.client = message,
        "requester" => errors.requester = message,
        _ => errors.other = message,
    }
    let (service_name, service_description) =
        service_text(&state.desk, &form.service, page.ctx.lang).unwrap_or_default();
    if !files.is_empty() {
        // Browsers cannot put files back into a form: say so next to the field.
        errors.files = Some(page.ctx.t("upload-again"));
    }
    let view = NewTicketTemplate {
        upload: UploadLimit::new(&page.ctx, limit),
        autosave_key: autosave_key(&page.user, &form.service),
        ctx: page.ctx,
        service_name,
        service_description,
        input: TicketFormInput {
            service: form.service,
            subject: form.subject,
            description: form.description,
            client: form.client,
            requester: form.requester,
            draft: form.draft.is_some(),
            nonce: random_token(),
            call: form.call,
        },
        errors,
    };
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
}
