//! `/api/v1/tokens` and `/api/v1/sessions`: the caller's own API tokens and browser
//! sessions (issue 22). Thin handlers over `okno_desk::accounts`.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum_extra::extract::CookieJar;
use okno_desk::auth::TokenRequest;
use okno_domain::accounts::{TokenScope, parse_token_days, parse_token_name};
use okno_store::{SessionRecord, TokenRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::views::rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_sessions, end_sessions))
        .routes(routes!(begin_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(remove_totp))
}

/// An API token as its owner sees it; the secret is shown only once, on creation.
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// `read` (GET only) or `write`.
    pub scope: &'static str,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> Self {
        TokenView {
            id: t.id.to_string(),
            name: t.name,
            scope: t.scope.as_str(),
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
            expires_at: t.expires_at.map(rfc3339),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for (1–100 characters).
    pub name: String,
    /// Lifetime in days, 1–3650 (default 90).
    pub expires_in_days: Option<i64>,
    /// `read` or `write` (default).
    pub scope: Option<String>,
}

/// A token just created: `token` is its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenView,
    /// The bearer token for `Authorization: Bearer <token>`; it is not stored in clear.
    pub token: String,
}

#[utoipa::path(get, path = "/tokens", tag = "auth",
    responses((status = 200, body = Vec<TokenView>, description = "The caller's own tokens, newest first"),
        (status = 401, body = ErrorBody, description = "Not logged in")))]
async fn list_tokens(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.desk.accounts().tokens(&user).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = NewTokenRequest,
    responses((status = 201, body = CreatedToken, description = "The new token, its secret shown once"),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "A read-only token cannot create tokens"),
        (status = 422, body = ErrorBody, description = "A field is invalid")))]
async fn create_token(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let request = TokenRequest {
        name: parse_token_name(&req.name).map_err(okno_desk::DeskError::from)?,
        scope: req
            .scope
            .as_deref()
            .map(TokenScope::parse)
            .transpose()
            .map_err(okno_desk::DeskError::from)?
            .unwrap_or(TokenScope::Write),
        lifetime: req
            .expires_in_days
            .map(parse_token_days)
            .transpose()
            .map_err(okno_desk::DeskError::from)?,
    };
    let issued = state.desk.accounts().create_token(&user, &request).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info: issued.record.into(),
            token: issued.secret,
        }),
    ))
}

#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked: the token answers 401 from now on"),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 404, body = ErrorBody, description = "The caller has no such token")))]
async fn revoke_token(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse().map_err(|_| ApiError::not_found("token"))?;
    state.desk.accounts().revoke_token(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A live browser session of the caller.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    /// The address the session was opened from.
    pub address: String,
    /// The browser's `User-Agent`.
    pub agent: String,
    /// The session this request came with.
    pub current: bool,
}

impl From<SessionRecord> for SessionView {
    fn from(s: SessionRecord) -> Self {
        SessionView {
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            expires_at: rfc3339(s.expires_at),
            address: s.address,
            agent: s.agent,
            current: s.current,
        }
    }
}

/// The session cookie of a request made from the browser (none with a bearer token).
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    if headers.contains_key(axum::http::header::AUTHORIZATION) {
        return None;
    }
    CookieJar::from_headers(headers)
        .get(crate::extract::SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

#[utoipa::path(get, path = "/sessions", tag = "auth",
    responses((status = 200, body = Vec<SessionView>, description = "The caller's live sessions, newest first"),
        (status = 401, body = ErrorBody, description = "Not logged in")))]
async fn list_sessions(
    State(state): State<AppState>,
    Caller(user): Caller,
    headers: HeaderMap,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let cookie = session_cookie(&headers);
    let sessions = state
        .desk
        .accounts()
        .sessions(&user, cookie.as_deref())
        .await?;
    Ok(Json(sessions.into_iter().map(SessionView::from).collect()))
}

/// How many sessions ended.
#[derive(Serialize, ToSchema)]
pub struct SessionsEnded {
    pub ended: u64,
}

#[utoipa::path(delete, path = "/sessions", tag = "auth",
    responses((status = 200, body = SessionsEnded, description = "Signed out everywhere (but the browser session asking, if any)"),
        (status = 401, body = ErrorBody, description = "Not logged in")))]
async fn end_sessions(
    State(state): State<AppState>,
    Caller(user): Caller,
    headers: HeaderMap,
) -> Result<Json<SessionsEnded>, ApiError> {
    let cookie = session_cookie(&headers);
    let ended = state
        .desk
        .accounts()
        .end_other_sessions(&user, cookie.as_deref())
        .await?;
    Ok(Json(SessionsEnded { ended }))
}

/// An enrolment of the second factor just begun: the secret (base32) and the
/// `otpauth://` URI for the authenticator app, shown this once.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    pub secret: String,
    pub uri: String,
}

#[derive(Deserialize, ToSchema)]
pub struct TotpCode {
    /// Six digits from the app (or, to remove the factor, a recovery code).
    #[serde(default)]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each stands in for a code once; they exist in plain text only in this answer.
    pub recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/me/totp", tag = "auth",
    responses((status = 200, body = TotpEnrolment, description = "Enrolment begun; confirm it with a code"),
        (status = 409, body = ErrorBody, description = "A second factor is active already")))]
async fn begin_totp(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<TotpEnrolment>, ApiError> {
    let enrolment = state.desk.second_factor().begin(&user).await?;
    Ok(Json(TotpEnrolment {
        secret: enrolment.secret,
        uri: enrolment.uri,
    }))
}

#[utoipa::path(post, path = "/me/totp/confirm", tag = "auth", request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes, description = "Active: logins ask for a code from now on"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn confirm_totp(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<TotpCode>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let recovery_codes = state.desk.second_factor().confirm(&user, &req.code).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

#[utoipa::path(post, path = "/me/totp/remove", tag = "auth", request_body = TotpCode,
    responses((status = 204, description = "Removed: logins ask for the password only"),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn remove_totp(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<TotpCode>,
) -> Result<StatusCode, ApiError> {
    match state.desk.second_factor().remove(&user, &req.code).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        // The caller is signed in: a wrong code is bad input, not a missing login.
        Err(okno_desk::DeskError::Unauthorized(message)) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field("code"))
        }
        Err(error) => Err(error.into()),
    }
}
