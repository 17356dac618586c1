//! `/account`: a person's own API tokens (create — the secret shown once —, list, revoke)
//! and browser sessions (list, sign out everywhere else). Issue 22.

use super::CsrfForm;
use super::guard::{Page, PageError};
use super::templates::{Ctx, render};
use crate::AppState;
use crate::extract::SESSION_COOKIE;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use okno_desk::DeskError;
use okno_desk::auth::TokenRequest;
use okno_domain::accounts::{TokenScope, parse_token_days, parse_token_name};
use okno_domain::{DomainError, FieldError};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account_page))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/account/sessions/end", post(end_sessions))
        .route("/account/totp/begin", post(begin_totp))
        .route("/account/totp/confirm", post(confirm_totp))
        .route("/account/totp/remove", post(remove_totp))
        .route("/admin/audit", get(audit_page))
}

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
}

pub struct SessionRow {
    pub created: String,
    pub last_seen: String,
    pub address: String,
    pub agent: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountTemplate {
    pub ctx: Ctx,
    pub tokens: Vec<TokenRow>,
    pub sessions: Vec<SessionRow>,
    /// A token just created: its secret, shown this once.
    pub new_secret: Option<String>,
    pub error: Option<String>,
    pub name: String,
    pub totp: okno_desk::totp::FactorStatus,
    /// An enrolment waiting for its first code: the secret and the app's URI.
    pub totp_pending: Option<okno_desk::totp::Enrolment>,
    /// Recovery codes just made, shown this once.
    pub recovery: Vec<String>,
    /// This person must enrol before working (an admin, when the desk requires it).
    pub totp_required: bool,
}

async fn page(
    state: &AppState,
    page: Page,
    jar: &CookieJar,
    new_secret: Option<String>,
    error: Option<String>,
    name: String,
) -> Result<AccountTemplate, PageError> {
    let accounts = state.desk.accounts();
    let ctx = page.ctx;
    let tokens = accounts
        .tokens(&page.user)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            scope: ctx.t(&format!("accounts-scope-{}", t.scope.as_str())),
            created: ctx.when(Some(t.created_at)),
            last_used: ctx.when(t.last_used_at),
            expires: ctx.when(t.expires_at),
        })
        .collect();
    let cookie = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned());
    let sessions = accounts
        .sessions(&page.user, cookie.as_deref())
        .await?
        .into_iter()
        .map(|s| SessionRow {
            created: ctx.when(Some(s.created_at)),
            last_seen: ctx.when(Some(s.last_seen_at)),
            address: s.address,
            agent: s.agent,
            current: s.current,
        })
        .collect();
    let factor = state.desk.second_factor();
    Ok(AccountTemplate {
        ctx,
        tokens,
        sessions,
        new_secret,
        error,
        name,
        totp: factor.status(&page.user).await?,
        totp_pending: factor.pending(&page.user).await?,
        recovery: Vec::new(),
        totp_required: factor.must_enrol(&page.user).await?,
    })
}

async fn account_page(
    State(state): State<AppState>,
    p: Page,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let template = page(&state, p, &jar, None, None, String::new()).await?;
    Ok(render(StatusCode::OK, &template))
}

#[derive(Deserialize)]
struct NewTokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    days: String,
}

fn token_request(form: &NewTokenForm) -> Result<TokenRequest, FieldError> {
    let days = form
        .days
        .trim()
        .parse::<i64>()
        .map_err(|_| FieldError::new("expires_in_days", "not a number"))?;
    Ok(TokenRequest {
        name: parse_token_name(&form.name)?,
        scope: TokenScope::parse(&form.scope)?,
        lifetime: Some(parse_token_days(days)?),
    })
}

async fn create_token(
    State(state): State<AppState>,
    p: Page,
    jar: CookieJar,
    Form(form): Form<NewTokenForm>,
) -> Result<Response, PageError> {
    p.check_csrf(&form.csrf)?;
    match token_request(&form) {
        Ok(request) => {
            let issued = state
                .desk
                .accounts()
                .create_token(&p.user, &request)
                .await?;
            let template = page(&state, p, &jar, Some(issued.secret), None, String::new()).await?;
            Ok(render(StatusCode::OK, &template))
        }
        Err(error) => {
            let message = p.ctx.t(&format!("accounts-invalid-{}", error.field));
            let template = page(&state, p, &jar, None, Some(message), form.name).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &template))
        }
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    p: Page,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    p.check_csrf(&form.csrf)?;
    let id = id.parse().map_err(|_| PageError::NOT_FOUND)?;
    match state.desk.accounts().revoke_token(&p.user, id).await {
        Ok(_) => Ok(Redirect::to("/account").into_response()),
        Err(DeskError::Domain(DomainError::NotFound(_))) => Err(PageError::NOT_FOUND),
        Err(error) => Err(error.into()),
    }
}

async fn end_sessions(
    State(state): State<AppState>,
    p: Page,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    p.check_csrf(&form.csrf)?;
    let cookie = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned());
    state
        .desk
        .accounts()
        .end_other_sessions(&p.user, cookie.as_deref())
        .await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn begin_totp(
    State(state): State<AppState>,
    p: Page,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    p.check_csrf(&form.csrf)?;
    state.desk.second_factor().begin(&p.user).await?;
    Ok(Redirect::to("/account#second-factor").into_response())
}

/// A refusal of a code, shown on the account page.
fn code_refused(error: DeskError, ctx: &Ctx) -> Result<String, PageError> {
    match error {
        DeskError::Unauthorized(_) | DeskError::Domain(DomainError::Invalid(_)) => {
            Ok(ctx.t("totp-login-failed"))
        }
        DeskError::Throttled { retry_after_secs } => Ok(ctx.lang.t_args(
            "accounts-login-wait",
            &[("seconds", retry_after_secs.into())],
        )),
        error => Err(error.into()),
    }
}

async fn confirm_totp(
    State(state): State<AppState>,
    p: Page,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    p.check_csrf(&form.csrf)?;
    match state
        .desk
        .second_factor()
        .confirm(&p.user, &form.code)
        .await
    {
        Ok(codes) => {
            let mut template = page(&state, p, &jar, None, None, String::new()).await?;
            template.recovery = codes;
            Ok(render(StatusCode::OK, &template))
        }
        Err(error) => {
            let message = code_refused(error, &p.ctx)?;
            let template = page(&state, p, &jar, None, Some(message), String::new()).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &template))
        }
    }
}

async fn remove_totp(
    State(state): State<AppState>,
    p: Page,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    p.check_csrf(&form.csrf)?;
    match state.desk.second_factor().remove(&p.user, &form.code).await {
        Ok(()) => Ok(Redirect::to("/account#second-factor").into_response()),
        Err(error) => {
            let message = code_refused(error, &p.ctx)?;
            let template = page(&state, p, &jar, None, Some(message), String::new()).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &template))
        }
    }
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
pub struct AuditTemplate {
    pub ctx: Ctx,
    pub rows: Vec<AuditRow>,
    /// The next (older) page's link.
    pub older: Option<String>,
}

#[derive(Deserialize)]
struct AuditQuery {
    cursor: Option<String>,
}

/// Entries per page of `/admin/audit`.
const AUDIT_PAGE: usize = 50;

async fn audit_page(
    State(state): State<AppState>,
    p: Page,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let before = query.cursor.as_deref().and_then(|c| c.parse().ok());
    let mut entries = match state
        .desk
        .audit()
        .entries(&p.user, before, AUDIT_PAGE as u32 + 1)
        .await
    {
        Ok(entries) => entries,
        Err(DeskError::Domain(DomainError::Forbidden(_))) => return Err(PageError::FORBIDDEN),
        Err(error) => return Err(error.into()),
    };
    let older = (entries.len() > AUDIT_PAGE).then(|| {
        entries.truncate(AUDIT_PAGE);
        format!("/admin/audit?cursor={}", entries[AUDIT_PAGE - 1].id)
    });
    let ctx = p.ctx;
    let json = |v: Option<serde_json::Value>| v.map_or_else(|| "—".to_owned(), |v| v.to_string());
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            at: ctx.when(Some(e.at)),
            actor: e.actor_name,
            action: ctx.t(&format!(
                "accounts-audit-{}",
                e.action.as_str().replace('.', "-")
            )),
            subject: e.subject,
            before: json(e.before),
            after: json(e.after),
        })
        .collect();
    Ok(render(StatusCode::OK, &AuditTemplate { ctx, rows, older }))
}
