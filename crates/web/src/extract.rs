//! Request extractors: who is calling, and a JSON body whose errors name the field.

use crate::AppState;
use crate::error::{ApiError, field_in_serde_message};
use axum::extract::ConnectInfo;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{Method, StatusCode, header, request::Parts};
use axum_extra::extract::CookieJar;
use okno_desk::auth::Origin;
use okno_domain::User;
use okno_domain::accounts::TokenScope;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "okno_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated user of an API request: a bearer token, or the browser's session
/// cookie (then unsafe methods must carry the session's CSRF token in `X-CSRF-Token`).
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
                })?;
            let caller = state
                .desk
                .token_caller(token.trim())
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized("the token is invalid, expired or revoked")
                })?;
            if caller.scope == TokenScope::Read && !is_safe(&parts.method) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "scope",
                    "this token may only read (its scope is `read`)",
                ));
            }
            return Ok(Caller(caller.user));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(ApiError::unauthorized(
                "log in first: send `Authorization: Bearer <token>`",
            ));
        };
        let session = state.desk.session(cookie.value()).await?;
        let session = session
            .ok_or_else(|| ApiError::unauthorized("the session has expired; log in again"))?;
        let safe = is_safe(&parts.method);
        let csrf = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !safe && csrf != Some(session.csrf.as_str()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header",
            ));
        }
        Ok(Caller(session.user))
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Where the request comes from, and the browser's `User-Agent`. The address is the peer's
/// (when the server runs with connect info); a peer on the loopback interface is taken for
/// a reverse proxy on the same machine, and then the last `X-Forwarded-For` entry (the one
/// that proxy added) names the client, so the throttle does not count the whole firm as
/// one address.
pub fn origin(headers: &axum::http::HeaderMap, extensions: &axum::http::Extensions) -> Origin {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let forwarded = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok())
    };
    let address = match peer {
        Some(peer) if peer.is_loopback() => forwarded().unwrap_or(peer).to_string(),
        Some(peer) => peer.to_string(),
        None => "unknown".to_owned(),
    };
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Origin { address, agent }
}

/// The request's [`Origin`] as an extractor.
pub struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestOrigin(origin(&parts.headers, &parts.extensions)))
    }
}

/// A JSON body. Malformed JSON, a wrong type or a missing or unknown field answers 400/422
/// with the field named; a body over the limit answers 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as `Content-Type: application/json`",
            ));
        }
        let bytes = bytes::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "bad_request"
                };
                ApiError::new(status, code, rejection.body_text())
            })?;
        if let Some(field) = nul_field(&bytes) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                okno_domain::NUL_MESSAGE,
            )
            .field(field));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            // Broken JSON has no field to blame; a wrong value names the one it was in.
            let (status, code, field) = if inner.is_syntax() || inner.is_eof() {
                (StatusCode::BAD_REQUEST, "malformed_json", None)
            } else {
                let field =
                    field_in_serde_message(&inner.to_string()).or((path != ".").then_some(path));
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", field)
            };
            let error = ApiError::new(status, code, inner.to_string());
            match field {
                Some(field) => error.field(field),
                None => error,
            }
        })?;
        Ok(ApiJson(value))
    }
}

/// The field of a JSON body holding a string with a NUL character, if any: such a string
/// can only be written `\u0000`, so bodies without that escape are not parsed twice.
fn nul_field(bytes: &[u8]) -> Option<String> {
    const ESCAPE: &[u8] = b"\\u0000";
    if !bytes.windows(ESCAPE.len()).any(|w| w == ESCAPE) {
        return None;
    }
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        let here = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        match value {
            serde_json::Value::String(s) if s.contains('\0') => Some(if path.is_empty() {
                ".".to_owned()
            } else {
                path.to_owned()
            }),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                if k.contains('\0') {
                    Some(here(&k.replace('\0', "")))
                } else {
                    walk(v, &here(k))
                }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, "")
}

/// For `Option<Option<T>>` fields with `#[serde(default)]`: absent is `None`, `null` is
/// `Some(None)` — a field left out keeps its stored value, a `null` clears it.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A query string. A value of the wrong type, or with a NUL character, answers 422 naming
/// the parameter in the API's error shape (axum's own `Query` answers plain text).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let invalid = |message: String, field: Option<String>| {
            let error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
            match field {
                Some(field) => error.field(field),
                None => error,
            }
        };
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| invalid(e.body_text(), None))?
            .0;
        if let Some(field) = okno_domain::bounds::nul_in(
            pairs
                .iter()
                .flat_map(|(k, v)| [(k.as_str(), k.as_str()), (k.as_str(), v.as_str())]),
        ) {
            return Err(invalid(
                okno_domain::NUL_MESSAGE.into(),
                Some(field.replace('\0', "")),
            ));
        }
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Query(q.0))
            .map_err(|e| {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let field = field_in_serde_message(detail).or_else(|| {
                    detail
                        .split_once(": ")
                        .map(|(f, _)| f)
                        .filter(|f| {
                            !f.is_empty()
                                && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        })
                        .map(str::to_owned)
                });
                invalid(detail.to_owned(), field)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::nul_field;

    #[test]
    fn finds_the_json_field_with_a_nul() {
        assert_eq!(nul_field(br#"{"subject":"ok"}"#), None);
        assert_eq!(
            nul_field(br#"{"subject":"ok","body":"a\u0000b"}"#).as_deref(),
            Some("body")
        );
        assert_eq!(
            nul_field(br#"{"a":{"list":["x","\u0000"]}}"#).as_deref(),
            Some("a.list[1]")
        );
        assert_eq!(nul_field(br#"{"text":"\\u0000 is fine"}"#), None);
    }
}
