//! Who is looking at a page and whether a form post may act for them.
//!
//! [`page_layer`] runs around every page: it works out the language and zone, resolves the
//! session cookie once, refuses cross-site posts (Origin/Referer must name this host), and
//! turns a [`PageError`] into a rendered error page. Handlers then take a [`Page`] (a
//! logged-in viewer; otherwise a redirect to `/login`) or a [`Visit`] (anyone), and check
//! the form's `csrf` field against the session with [`Page::check_csrf`].

use super::i18n::{LANG_COOKIE, Lang, cookie_zone, firm_zone};
use super::templates::{Ctx, ErrorTemplate, render};
use crate::AppState;
use crate::extract::SESSION_COOKIE;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use jiff::tz::TimeZone;
use okno_desk::DeskError;
use okno_domain::{DomainError, User};
use okno_store::SessionData;

/// One page request: language, zone, path and the session, if any.
#[derive(Clone)]
pub struct Visit {
    pub lang: Lang,
    pub zone: TimeZone,
    pub path: String,
    /// The query string without `lang=`.
    pub query: String,
    pub session: Option<SessionData>,
    /// The message key of what the last action did (from the `flash` cookie).
    pub flash: Option<String>,
    /// The desk's clock at the request.
    pub now: jiff::Timestamp,
}

impl Visit {
    pub fn ctx(&self) -> Ctx {
        Ctx {
            lang: self.lang,
            zone: self.zone.clone(),
            now: self.now,
            path: self.path.clone(),
            query: self.query.clone(),
            flash: self.flash.as_deref().map(|key| self.lang.t(key)),
            user: self.session.as_ref().map(|s| {
                // Workflow and service texts come in the language the page speaks.
                let mut user = s.user.clone();
                user.locale = self.lang.code().to_owned();
                user
            }),
            csrf: self
                .session
                .as_ref()
                .map(|s| s.csrf.clone())
                .unwrap_or_default(),
        }
    }
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, PageError> {
        parts
            .extensions
            .get::<Visit>()
            .cloned()
            .ok_or(PageError::INTERNAL)
    }
}

/// A page for a logged-in user; without a valid session the browser goes to `/login`.
pub struct Page {
    pub user: User,
    pub ctx: Ctx,
    csrf: String,
}

impl Page {
    /// The form's `csrf` field must be this session's token.
    pub fn check_csrf(&self, token: &str) -> Result<(), PageError> {
        if same_secret(token, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::CSRF)
        }
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visit = Visit::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ctx = visit.ctx();
        match visit.session {
            Some(session) => Ok(Page {
                user: ctx.user.clone().unwrap_or(session.user),
                csrf: session.csrf,
                ctx,
            }),
            // Back to this page after logging in; htmx swaps must reload the whole page.
            None => {
                // An htmx fragment returns to the page that asked for it.
                let here = parts
                    .headers
                    .get("hx-current-url")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|url| url.split_once("://").map(|(_, rest)| rest))
                    .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
                    .filter(|_| parts.headers.contains_key("hx-request"))
                    .unwrap_or_else(|| {
                        parts
                            .uri
                            .path_and_query()
                            .map_or("/", |p| p.as_str())
                            .to_owned()
                    });
                let path = here.split('#').next().unwrap_or("/");
                let to = if path == "/" {
                    "/login".to_owned()
                } else {
                    format!("/login?next={}", encode_next(path))
                };
                if parts.headers.contains_key("hx-request") {
                    Err(([("hx-redirect", to)], StatusCode::OK).into_response())
                } else {
                    Err(Redirect::to(&to).into_response())
                }
            }
        }
    }
}

/// A local path for `?next=`: letters, digits and `/-_.` kept, the rest percent-encoded.
pub fn encode_next(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Where to go after login: a path on this site only. Browsers drop tabs and newlines
/// from a URL and read `\\` as `/`, so `/\t/evil.example` would leave the site: only
/// printable ASCII without a backslash is kept, starting with one `/` and no second one.
pub fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !next.get(1..).is_some_and(|rest| {
            rest.starts_with("%2F")
                || rest.starts_with("%2f")
                || rest.starts_with("%5C")
                || rest.starts_with("%5c")
        });
    if local { next } else { "/" }
}

/// Compares secrets without stopping at the first difference.
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && !expected.is_empty()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Whether an unsafe request comes from a page of this very host: browsers send `Origin`
/// on form posts (and `Referer` as a fallback); a post naming neither is refused.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let authority = source
        .and_then(|url| url.split_once("://"))
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default());
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// Whether the browser reached us over https (directly or through a proxy that says so):
/// only then does the session cookie get `Secure`, or plain-http setups could not log in.
pub fn is_https(headers: &HeaderMap) -> bool {
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| o.starts_with("https://"));
    forwarded || origin
}

pub fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

pub fn expired_session_cookie() -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE).path("/").build()
}

/// The query string without its `lang=` pairs.
fn query_without_lang(query: Option<&str>) -> String {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("lang="))
        .collect::<Vec<_>>()
        .join("&")
}

/// The cookie that carries a flash message key across a redirect.
pub const FLASH_COOKIE: &str = "flash";

/// A redirect to `to` that shows the message `key` (a `flash-…` key) on the next page.
pub fn flash_redirect(to: &str, key: &'static str) -> Response {
    let cookie = Cookie::build((FLASH_COOKIE, key))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .build();
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The flash key the browser sent back, if it is one of ours.
fn flash_key(headers: &HeaderMap) -> Option<String> {
    let jar = CookieJar::from_headers(headers);
    let key = jar.get(FLASH_COOKIE)?.value();
    let ours = key.len() <= 64
        && key.starts_with("flash-")
        && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && Lang::Ru.try_t(key).is_some();
    ours.then(|| key.to_owned())
}

fn query_lang(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Lang::parse)
}

/// Wraps every page: resolves the visit, refuses cross-site posts, renders error pages and
/// remembers a `?lang=` choice in a cookie.
pub async fn page_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let chosen_lang = query_lang(req.uri().query());
    let flash = flash_key(req.headers());
    let mut visit = Visit {
        lang: Lang::negotiate(chosen_lang, req.headers()),
        zone: cookie_zone(req.headers()).unwrap_or_else(firm_zone),
        path: req.uri().path().to_owned(),
        query: query_without_lang(req.uri().query()),
        session: None,
        flash: None,
        now: state.desk.now(),
    };
    let cookie = CookieJar::from_headers(req.headers())
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned());
    let outcome = match cookie {
        Some(cookie) => state.desk.session(&cookie).await.map_err(PageError::from),
        None => Ok(None),
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let outcome = match outcome {
        Ok(session) => refuse_nul(req).await.map(|req| (session, req)),
        Err(error) => Err(error),
    };
    let mut response = match outcome {
        Ok((_, req)) if !safe && !same_origin(req.headers()) => PageError::CSRF.into_response(),
        Ok((session, mut req)) => {
            // The person's own zone (or their client's calendar's) before the browser's.
            if let Some(session) = &session {
                match state.desk.preferences().zone(&session.user).await {
                    Ok(Some(zone)) => visit.zone = zone,
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "the viewer's zone is unknown"),
                }
            }
            visit.session = session;
            // Shown on a page, not on a redirect or a fragment: then it is used up.
            let page_get = safe && !req.headers().contains_key("hx-request");
            visit.flash = flash.clone().filter(|_| page_get);
            req.extensions_mut().insert(visit.clone());
            next.run(req).await
        }
        Err(error) => error.into_response(),
    };
    if let Some(error) = response.extensions_mut().remove::<PageError>() {
        let page = ErrorTemplate::new(visit.ctx(), error.title, error.message);
        response = render(error.status, &page);
    }
    let shown = visit.flash.is_some()
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
    if shown {
        let expired = format!("{FLASH_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
        if let Ok(value) = HeaderValue::from_str(&expired) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    if let Some(lang) = chosen_lang {
        // Remembered for a year.
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Refuses a query or a form (URL-encoded) with a NUL character in any field: no text a
/// person types has one, and PostgreSQL cannot store it. The form's bytes are read here
/// (page forms are small: at most 1 MiB) and handed on unchanged.
async fn refuse_nul(req: Request) -> Result<Request, PageError> {
    let has_nul = |pairs: Vec<(String, String)>| {
        pairs
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    };
    if has_nul(crate::api::kb::query_pairs(req.uri().query())) {
        return Err(PageError::INVALID);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .map_err(|_| PageError::TOO_LARGE)?;
    if has_nul(crate::api::kb::query_pairs(
        std::str::from_utf8(&bytes).ok(),
    )) {
        return Err(PageError::INVALID);
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// Something that ends the page with an error page; [`page_layer`] renders it.
#[derive(Debug, Clone, Copy)]
pub struct PageError {
    pub status: StatusCode,
    /// Message keys of the page's heading and explanation.
    pub title: &'static str,
    pub message: &'static str,
}

impl PageError {
    pub const NOT_FOUND: PageError = PageError {
        status: StatusCode::NOT_FOUND,
        title: "error-not-found-title",
        message: "error-not-found",
    };
    pub const CSRF: PageError = PageError {
        status: StatusCode::FORBIDDEN,
        title: "error-forbidden-title",
        message: "error-csrf",
    };
    pub const FORBIDDEN: PageError = PageError {
        status: StatusCode::FORBIDDEN,
        title: "error-forbidden-title",
        message: "error-forbidden",
    };
    pub const CONFLICT: PageError = PageError {
        status: StatusCode::CONFLICT,
        title: "error-conflict-title",
        message: "error-conflict",
    };
    pub const INVALID: PageError = PageError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "error-invalid-title",
        message: "error-invalid",
    };
    pub const TOO_LARGE: PageError = PageError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        title: "error-invalid-title",
        message: "error-too-large",
    };
    pub const INTERNAL: PageError = PageError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        title: "error-internal-title",
        message: "error-internal",
    };
}

impl From<DeskError> for PageError {
    fn from(error: DeskError) -> Self {
        match error {
            DeskError::Domain(DomainError::NotFound(_)) => PageError::NOT_FOUND,
            DeskError::Domain(DomainError::Forbidden(_)) => PageError::FORBIDDEN,
            DeskError::Domain(DomainError::Conflict(_)) => PageError::CONFLICT,
            DeskError::Domain(DomainError::Invalid(_)) => PageError::INVALID,
            DeskError::TooLarge { .. } => PageError::TOO_LARGE,
            // Login failures are shown on the login form; elsewhere they mean "log in again".
            DeskError::Unauthorized(_) | DeskError::Throttled { .. } => PageError::FORBIDDEN,
            DeskError::Store(_) | DeskError::Io(_) | DeskError::Config(_) => {
                tracing::error!(%error, "page failed");
                PageError::INTERNAL
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn posts_must_come_from_this_host() {
        let host = (header::HOST, "desk.example:8080");
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://desk.example:8080")
        ])));
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::REFERER, "https://desk.example:8080/tickets/1?x=1")
        ])));
        assert!(!same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://desk.example:8080.evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "null")
        ])));
        assert!(!same_origin(&headers(&[host])));
    }

    #[test]
    fn only_paths_on_this_site_survive_as_next() {
        for good in ["/", "/tickets/12", "/kb?q=%D0%B0&page=2", "/a/b#c", "/a//b"] {
            assert_eq!(safe_next(good), good);
        }
        for evil in [
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example/",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/\u{0}/x",
            "/\u{7f}/evil",
            "/тикеты",
            "/\u{2215}\u{2215}evil.example",
        ] {
            assert_eq!(safe_next(evil), "/", "{evil:?}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn the_switch_keeps_the_rest_of_the_query() {
        assert_eq!(
            query_without_lang(Some("status=new&lang=en&cursor=5")),
            "status=new&cursor=5"
        );
        assert_eq!(query_without_lang(Some("lang=ru")), "");
        assert_eq!(query_without_lang(None), "");
    }

    #[test]
    fn only_our_flash_keys_are_shown() {
        let with = |v: &str| headers(&[(header::COOKIE, &format!("flash={v}"))]);
        assert_eq!(
            flash_key(&with("flash-task-taken")).as_deref(),
            Some("flash-task-taken")
        );
        assert_eq!(flash_key(&with("nav-logout")), None);
        assert_eq!(flash_key(&with("flash-no-such-message")), None);
        assert_eq!(flash_key(&HeaderMap::new()), None);
    }

    #[test]
    fn lang_switch_reads_the_query() {
        assert_eq!(query_lang(Some("status=new&lang=en")), Some(Lang::En));
        assert_eq!(query_lang(Some("lang=xx")), None);
        assert_eq!(query_lang(None), None);
    }
}
