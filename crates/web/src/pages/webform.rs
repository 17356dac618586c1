//! The web form for the firm's site (issue 20): `GET /form` (a page that works without
//! JavaScript), `POST /form` (303 to the thank-you page, or JSON for the embed script),
//! `GET /form/thanks`, and `GET /form/embed.js`, a small script that puts the form into
//! any page of the firm's site and posts it with `fetch`.
//!
//! These routes live outside the pages' session layer: the form is public and is posted
//! from other origins. A post carrying an `Origin` other than the desk's own or one an
//! admin configured is refused (403); configured origins get the CORS headers.

use super::i18n::{Lang, viewer_zone};
use super::templates::*;
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use okno_desk::DeskError;
use okno_desk::channels::webform::{FormOutcome, FormPost};
use okno_domain::DomainError;
use serde::Deserialize;
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/form", get(form_page).post(post_form).options(preflight))
        .route("/form/thanks", get(thanks))
        .route("/form/embed.js", get(embed_script))
}

fn ctx(state: &AppState, headers: &HeaderMap, path: &str, lang: Option<&str>) -> Ctx {
    Ctx {
        lang: Lang::negotiate(lang.and_then(Lang::parse), headers),
        zone: viewer_zone(headers),
        now: state.desk.now(),
        path: path.to_owned(),
        query: String::new(),
        user: None,
        csrf: String::new(),
        flash: None,
    }
}

#[derive(Deserialize, Default)]
pub struct FormFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    message: String,
    /// The honeypot: hidden from people, filled by bots.
    #[serde(default)]
    website: String,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Template)]
#[template(path = "form.html")]
pub struct FormTemplate {
    pub ctx: Ctx,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub subject: String,
    pub message: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "form_thanks.html")]
pub struct ThanksTemplate {
    pub ctx: Ctx,
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn form_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LangQuery>,
) -> Response {
    let view = FormTemplate {
        ctx: ctx(&state, &headers, "/form", q.lang.as_deref()),
        name: String::new(),
        email: String::new(),
        phone: String::new(),
        subject: String::new(),
        message: String::new(),
        error: None,
    };
    render(StatusCode::OK, &view)
}

async fn thanks(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LangQuery>,
) -> Response {
    let view = ThanksTemplate {
        ctx: ctx(&state, &headers, "/form/thanks", q.lang.as_deref()),
    };
    render(StatusCode::OK, &view)
}

/// Where the request says it comes from, and whether that is the desk itself.
fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim_end_matches('/').to_owned())
}

/// `Ok(Some(origin))`: a configured origin (gets CORS headers); `Ok(None)`: the desk's own
/// page or no browser origin at all; `Err`: another site.
async fn allowed_origin(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, Response> {
    let Some(origin) = origin_of(headers) else {
        return Ok(None);
    };
    if super::guard::same_origin(headers) {
        return Ok(None);
    }
    let allowed = state
        .desk
        .channels()
        .form_origins()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE.into_response())?;
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(&origin)) {
        Ok(Some(origin))
    } else {
        Err((StatusCode::FORBIDDEN, "origin not allowed").into_response())
    }
}

fn with_cors(mut response: Response, origin: Option<&str>) -> Response {
    if let Some(origin) = origin
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match allowed_origin(&state, &headers).await {
        Ok(origin) => {
            let mut response = with_cors(StatusCode::NO_CONTENT.into_response(), origin.as_deref());
            let h = response.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, accept"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            response
        }
        Err(refused) => refused,
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

async fn post_form(State(state): State<AppState>, req: Request) -> Response {
    // The peer's address when the server keeps it (`okno serve` does).
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    let headers = req.headers().clone();
    let form = match Form::<FormFields>::from_request(req, &state).await {
        Ok(Form(form)) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let origin = match allowed_origin(&state, &headers).await {
        Ok(origin) => origin,
        Err(refused) => return refused,
    };
    let json = wants_json(&headers);
    let lang = form.lang.clone();
    let post = FormPost {
        name: form.name.clone(),
        email: form.email.clone(),
        phone: form.phone.clone(),
        subject: form.subject.clone(),
        message: form.message.clone(),
        honeypot: form.website.clone(),
        address,
    };
    let ctx = ctx(&state, &headers, "/form", lang.as_deref());
    let outcome = state.desk.channels().form_post(post).await;
    let response = match outcome {
        Ok(outcome) => {
            let ticket = match &outcome {
                FormOutcome::Created(t) | FormOutcome::NewContact(t) => {
                    Some(t.number().to_string())
                }
                FormOutcome::Ignored => None,
            };
            if json {
                // A bot learns nothing: the same answer, without a number.
                axum::Json(serde_json::json!({"ok": true, "ticket": ticket})).into_response()
            } else {
                let to = match lang.as_deref().and_then(Lang::parse) {
                    Some(lang) => format!("/form/thanks?lang={}", lang.code()),
                    None => "/form/thanks".to_owned(),
                };
                Redirect::to(&to).into_response()
            }
        }
        Err(error) => {
            let (status, field, message) = match &error {
                DeskError::Domain(DomainError::Invalid(e)) => {
                    // The desk checks the text as a ticket's description.
                    let field = match e.field {
                        "description" => "message",
                        other => other,
                    };
                    let label = match field {
                        "name" | "email" | "phone" | "subject" | "message" => {
                            ctx.t(&format!("form-{field}"))
                        }
                        _ => String::new(),
                    };
                    (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(field),
                        ctx.with("form-error-field", &label),
                    )
                }
                DeskError::Throttled { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, None, ctx.t("form-throttled"))
                }
                DeskError::Domain(DomainError::Conflict(_)) => (
                    StatusCode::CONFLICT,
                    Some("email"),
                    ctx.t("form-email-taken"),
                ),
                _ => {
                    tracing::error!(%error, "web form failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        None,
                        ctx.t("form-failed"),
                    )
                }
            };
            if json {
                (
                    status,
                    axum::Json(
                        serde_json::json!({"ok": false, "field": field, "message": message}),
                    ),
                )
                    .into_response()
            } else {
                let view = FormTemplate {
                    ctx,
                    name: form.name,
                    email: form.email,
                    phone: form.phone,
                    subject: form.subject,
                    message: form.message,
                    error: Some(message),
                };
                render(status, &view)
            }
        }
    };
    with_cors(response, origin.as_deref())
}

/// The embed script: `<div data-okno-form></div><script src="<desk>/form/embed.js"></script>`
/// puts the form into the div and posts it to the desk that served the script.
async fn embed_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/form-embed.js"),
    )
}
