//! `GET /api/v1/audit`: the audit log of administrative changes, for admins (issue 22).

use super::views::rfc3339;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use okno_store::AuditEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 200 (default 50).
    limit: Option<u32>,
}

/// One administrative change.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: String,
    pub at: String,
    /// The user who made the change (none when that user is gone).
    pub actor: Option<String>,
    pub actor_name: String,
    /// `user.created`, `user.changed`, `token.created`, `token.revoked`.
    pub action: &'static str,
    /// What changed: `user:<id>`, `token:<id>`.
    pub subject: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        AuditEntryView {
            id: e.id.to_string(),
            at: rfc3339(e.at),
            actor: e.actor.map(|a| a.0.to_string()),
            actor_name: e.actor_name,
            action: e.action.as_str(),
            subject: e.subject,
            before: e.before,
            after: e.after,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditPage, description = "Newest first, keyset paged"),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 422, body = ErrorBody, description = "A bad cursor or limit")))]
async fn audit_log(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let invalid = |field: &str, message: &str| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
    };
    let before = match q.cursor.as_deref() {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| invalid("cursor", "not a cursor from a previous page"))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "limit is 1 to 200"));
    }
    let mut items = state.desk.audit().entries(&user, before, limit + 1).await?;
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.to_string()).unwrap_or_default()
    });
    Ok(Json(AuditPage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}
