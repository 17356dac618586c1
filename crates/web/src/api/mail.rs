//! Mail for admins: the quarantine (messages the inbound pipeline could not take in, with
//! the reason, and a retry through the same pipeline) and the outbox's problems (messages
//! failing or given up, and "send again"). Thin handlers over the desk.

use super::clients::{PageQuery, page_limit};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::extract::Query;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use okno_desk::mail::IngestOutcome;
use okno_store::QuarantinedMail;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of this module, merged into `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_quarantine))
        .routes(routes!(retry_quarantined))
        .routes(routes!(outbox_problems))
        .routes(routes!(retry_outbox))
}

#[derive(Serialize, ToSchema)]
pub struct OutboxProblemView {
    pub id: String,
    /// What the row sends (`notice`, `work_report`, …).
    pub kind: String,
    pub created_at: String,
    pub attempts: i64,
    /// The last attempt's error. A row handed to the mail server with no answer recorded
    /// (the desk stopped mid-send) is given up with an error saying so: it may have been
    /// delivered, and only an admin sends it again.
    pub last_error: Option<String>,
    /// The next attempt; absent once given up.
    pub next_attempt_at: Option<String>,
}

impl From<okno_store::OutboxRow> for OutboxProblemView {
    fn from(r: okno_store::OutboxRow) -> Self {
        OutboxProblemView {
            id: r.id.to_string(),
            kind: r.kind,
            created_at: r.created_at.to_string(),
            attempts: r.attempts,
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at.map(|t| t.to_string()),
        }
    }
}

/// Undelivered outbox rows with an error, newest first (at most 200).
#[utoipa::path(get, path = "/mail/outbox/problems", tag = "mail",
    responses((status = 200, body = Vec<OutboxProblemView>), (status = 403, body = ErrorBody)))]
async fn outbox_problems(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Vec<OutboxProblemView>>, ApiError> {
    let rows = state.desk.outbox_problems(&user).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Sends an undelivered row again now, whatever its error said.
#[utoipa::path(post, path = "/mail/outbox/{id}/retry", tag = "mail",
    params(("id" = String, Path, description = "the outbox row's id")),
    responses((status = 204, description = "due now"), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn retry_outbox(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse().map_err(|_| ApiError::not_found("outbox row"))?;
    state.desk.retry_outbox(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct QuarantinedView {
    pub id: String,
    /// The mailbox (or `ingest`) it came from.
    pub mailbox: String,
    /// Why it was not taken in.
    pub reason: String,
    pub sender: Option<String>,
    pub subject: Option<String>,
    /// The raw message's size in bytes.
    pub size: i64,
    pub received_at: String,
    /// Retries that failed so far.
    pub attempts: i64,
}

impl From<QuarantinedMail> for QuarantinedView {
    fn from(q: QuarantinedMail) -> Self {
        QuarantinedView {
            id: q.id.to_string(),
            mailbox: q.mailbox,
            reason: q.reason,
            sender: q.sender,
            subject: q.subject,
            size: q.size,
            received_at: q.received_at.to_string(),
            attempts: q.attempts,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct QuarantinePage {
    pub items: Vec<QuarantinedView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RetryResult {
    /// What became of the message, as `okno mail ingest` prints it.
    pub outcome: String,
    /// `false`: it failed again and stays in the quarantine.
    pub resolved: bool,
}

fn entry_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("quarantined message"))
}

/// Open quarantine entries, newest first.
#[utoipa::path(get, path = "/mail/quarantine", tag = "mail", params(PageQuery),
    responses((status = 200, body = QuarantinePage), (status = 403, body = ErrorBody)))]
async fn list_quarantine(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<QuarantinePage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        Some(c) => Some(c.parse().map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "not a cursor from a previous page",
            )
            .field("cursor")
        })?),
        None => None,
    };
    let mut items = state.desk.quarantine(&user, after, limit + 1).await?;
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items.last().map(|q| q.id.to_string()).unwrap_or_default()
    });
    Ok(Json(QuarantinePage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Feeds an entry through the inbound pipeline again.
#[utoipa::path(post, path = "/mail/quarantine/{id}/retry", tag = "mail",
    params(("id" = String, Path, description = "the entry's id")),
    responses((status = 200, body = RetryResult), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn retry_quarantined(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RetryResult>, ApiError> {
    let outcome = state.desk.retry_quarantine(&user, entry_id(&id)?).await?;
    Ok(Json(RetryResult {
        resolved: !matches!(outcome, IngestOutcome::Quarantined(_)),
        outcome: outcome.to_string(),
    }))
}
