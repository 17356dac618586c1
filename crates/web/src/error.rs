//! The API's one error shape: `{"error": code, "message": text, "field": name?}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use okno_desk::DeskError;
use okno_domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid`, `not_found`, `forbidden`, `conflict`, `unauthorized`, …
    pub error: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// The input field to fix, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds for the `Retry-After` header (a throttled login).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error,
                message: message.into(),
                field: None,
            },
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthorized(message: &str) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl From<DeskError> for ApiError {
    fn from(error: DeskError) -> Self {
        match error {
            DeskError::Domain(DomainError::Invalid(e)) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.message).field(e.field)
            }
            DeskError::Domain(DomainError::NotFound(what)) => ApiError::not_found(what),
            DeskError::Domain(DomainError::Forbidden(m)) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", m)
            }
            DeskError::Domain(DomainError::Conflict(m)) => {
                // Conflicts about a field read "field: message".
                match m
                    .split_once(": ")
                    .filter(|(f, _)| f.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                {
                    Some((field, message)) => {
                        ApiError::new(StatusCode::CONFLICT, "conflict", message).field(field)
                    }
                    None => ApiError::new(StatusCode::CONFLICT, "conflict", m),
                }
            }
            DeskError::Unauthorized(m) => ApiError::unauthorized(m),
            DeskError::Throttled { retry_after_secs } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                error.to_string(),
            )
            .retry_after(retry_after_secs),
            DeskError::TooLarge { .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                error.to_string(),
            )
            .field("file"),
            DeskError::Store(_) | DeskError::Io(_) | DeskError::Config(_) => {
                tracing::error!(%error, "request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// Finds the field a serde error message names: "missing field `subject`", "unknown field `x`".
pub fn field_in_serde_message(message: &str) -> Option<String> {
    let start = message.find("field `")? + "field `".len();
    let end = message[start..].find('`')?;
    Some(message[start..start + end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_serde_complains_about() {
        assert_eq!(
            field_in_serde_message("missing field `subject` at line 1 column 2").as_deref(),
            Some("subject")
        );
        assert_eq!(
            field_in_serde_message("unknown field `x`, expected one of").as_deref(),
            Some("x")
        );
        assert_eq!(field_in_serde_message("expected value at line 1"), None);
    }
}
