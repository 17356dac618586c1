//! Okno's HTTP face: the REST API (`/api/v1`, with its OpenAPI document) and the
//! server-rendered pages, over one [`okno_desk::Desk`].

pub mod api;
pub mod authz;
pub mod error;
pub mod extract;
pub mod pages;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use okno_desk::Desk;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Clone)]
pub struct AppState {
    pub desk: Arc<Desk>,
}

/// The whole application: API, pages, health check and OpenAPI document.
pub fn app(desk: Arc<Desk>) -> Router {
    let (api, openapi) = api::router(desk.settings.attachment_limit);
    let openapi = Arc::new(openapi);
    Router::new()
        .route("/healthz", get(ready))
        .route("/healthz/ready", get(ready))
        .route("/healthz/live", get(|| async { "live" }))
        .route("/api/openapi.json", get(move || async move { axum::Json(openapi.as_ref().clone()) }))
        .merge(api)
        .merge(pages::router(AppState { desk: desk.clone() }))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
        ))
        // Pages, scripts, styles and JSON go gzipped to browsers that take it (a first page
        // load stays well under 40 KB); downloads of stored files are left as they are.
        .layer(CompressionLayer::new().compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("application/octet-stream")),
        ))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(api_errors))
        .with_state(AppState { desk })
}

/// Every answer under `/api/` speaks the API's error shape, whoever produced it: an
/// unknown route or method, a path that does not parse, a body the framework refused, a
/// panic. A query parameter with a NUL character is refused here for every handler.
async fn api_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let pairs = api::kb::query_pairs(req.uri().query());
    if let Some(field) = okno_domain::bounds::nul_in(
        pairs
            .iter()
            .flat_map(|(k, v)| [(k.as_str(), k.as_str()), (k.as_str(), v.as_str())]),
    ) {
        return error::ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            okno_domain::NUL_MESSAGE,
        )
        .field(field.replace('\0', ""))
        .into_response();
    }
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "throttled",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let message = if status.is_server_error() {
        "internal error; it has been logged".to_owned()
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_lowercase()
    } else {
        text
    };
    let mut json = error::ApiError::new(status, code, message).into_response();
    // Keep what the refusal said besides its body (`Allow` on 405, for one).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    json
}

/// Ready to take work: the database takes a write and the data directory has room.
/// 503 names every reason it is not.
async fn ready(State(state): State<AppState>) -> Response {
    let problems = state.desk.readiness().await;
    if problems.is_empty() {
        return (StatusCode::OK, "ok").into_response();
    }
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    tracing::warn!(problems = %text.join("; "), "not ready");
    (StatusCode::SERVICE_UNAVAILABLE, text.join("\n")).into_response()
}

/// Serves stored bytes as a download, never inline: an uploaded HTML or SVG file must not
/// run in the desk's origin.
pub fn download(file_name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    const INLINE_SAFE: &[&str] = &[
        "image/png",
        "image/jpeg",
        "image/gif",
        "application/pdf",
        "text/plain",
    ];
    let content_type = if INLINE_SAFE.contains(&content_type) {
        content_type
    } else {
        "application/octet-stream"
    };
    let disposition = content_disposition(file_name);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn download_names_are_quoted_and_encoded() {
        assert_eq!(
            super::content_disposition("отчёт \"1\".pdf"),
            "attachment; filename=\"_____ _1_.pdf\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%20%221%22.pdf"
        );
    }
}
