//! `/api/v1/kb`: the knowledge base (articles, versions, search, deflection) and the desk's
//! uses of it on tickets ("answer with an article", linked articles, the documentation
//! task), plus staff ticket search. Thin handlers over `okno_desk::kb`.
//!
//! Search reads its query from the raw query string, decoded leniently: any bytes of any
//! length give an answer (cut to the search's length cap), never a 400.

use super::ticket_id;
use super::views::CommentView;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller, SESSION_COOKIE};
use axum::Json;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::{StatusCode, header, request::Parts};
use okno_desk::kb::{ArticleForm, ArticleView};
use okno_domain::*;
use okno_search::{ArticleHit, TicketHit};
use okno_store::kb::{Article, ArticleVersion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_articles, create_article))
        .routes(routes!(get_article, update_article))
        .routes(routes!(article_versions))
        .routes(routes!(article_tickets))
        .routes(routes!(search))
        .routes(routes!(articles_search))
        .routes(routes!(suggest))
        .routes(routes!(solved))
        .routes(routes!(search_tickets))
        .routes(routes!(ticket_articles, link_article))
        .routes(routes!(unlink_article))
        .routes(routes!(answer_with_article))
        .routes(routes!(docs_task))
        .routes(routes!(download_article_attachment))
}

/// The caller if the request carries credentials; nobody if it carries none. Wrong
/// credentials are still refused.
pub struct MaybeCaller(pub Option<User>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let has_cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(SESSION_COOKIE));
        if parts.headers.contains_key(header::AUTHORIZATION) || has_cookie {
            let Caller(user) = Caller::from_request_parts(parts, state).await?;
            return Ok(MaybeCaller(Some(user)));
        }
        Ok(MaybeCaller(None))
    }
}

/// `key=value` pairs of a query string, percent-decoded; invalid UTF-8 becomes U+FFFD.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn limit(pairs: &[(String, String)], default: usize) -> usize {
    param(pairs, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
        .clamp(1, 50)
}

/// A knowledge-base article.
#[derive(Serialize, ToSchema)]
pub struct ArticleOut {
    pub id: i64,
    /// The stable address: `/kb/{slug}`.
    pub slug: String,
    pub url: String,
    pub title: String,
    /// Markdown source.
    pub body: String,
    /// Sanitized HTML (present when reading one article).
    pub html: Option<String>,
    pub category: String,
    pub tags: Vec<String>,
    pub services: Vec<String>,
    /// `public`, `client`, `staff` or `both`.
    pub audience: String,
    /// Client ids the article is limited to (empty: every client). Staff only.
    pub clients: Vec<i64>,
    /// `draft`, `published` or `archived`.
    pub status: String,
    pub version: i64,
    pub updated_at: String,
    /// How many times it solved a client's question before a ticket was sent.
    pub deflections: Option<i64>,
}

impl ArticleOut {
    fn new(a: Article, staff: bool) -> Self {
        ArticleOut {
            id: a.id,
            url: format!("/kb/{}", a.slug),
            slug: a.slug,
            title: a.title,
            body: a.body,
            html: None,
            category: a.category,
            tags: a.tags,
            services: a.services,
            audience: a.audience,
            clients: if staff {
                a.clients.iter().map(|c| c.0).collect()
            } else {
                Vec::new()
            },
            status: a.status,
            version: a.version,
            updated_at: a.updated_at.to_string(),
            deflections: None,
        }
    }

    fn view(v: ArticleView, staff: bool) -> Self {
        let mut out = ArticleOut::new(v.article, staff);
        out.html = Some(v.html);
        out.deflections = Some(v.deflections);
        out
    }
}

/// An article as an author submits it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleIn {
    /// Lowercase Latin letters, digits and dashes; made from the title when absent.
    pub slug: Option<String>,
    pub title: String,
    /// Markdown; HTML inside is sanitized when shown.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Service codes the article is relevant to.
    #[serde(default)]
    pub services: Vec<String>,
    /// `public`, `client`, `staff` or `both`.
    pub audience: String,
    /// Client codes to limit the article to.
    #[serde(default)]
    pub clients: Vec<String>,
    /// `draft` (default), `published` or `archived`.
    #[serde(default)]
    pub status: String,
    /// When updating: the version edited (a newer one answers 409).
    pub version: Option<i64>,
}

impl From<ArticleIn> for ArticleForm {
    fn from(a: ArticleIn) -> Self {
        ArticleForm {
            slug: a.slug,
            title: a.title,
            body: a.body,
            category: a.category,
            tags: a.tags,
            services: a.services,
            audience: a.audience,
            clients: a.clients,
            status: a.status,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ArticleHitOut {
    pub id: i64,
    pub slug: String,
    pub url: String,
    pub title: String,
    /// Escaped title with `<b>` around matches.
    pub title_html: String,
    /// Escaped fragment with `<b>` around matches.
    pub snippet_html: String,
    pub published: bool,
    pub score: f32,
}

impl From<ArticleHit> for ArticleHitOut {
    fn from(h: ArticleHit) -> Self {
        ArticleHitOut {
            id: h.id,
            url: format!("/kb/{}", h.slug),
            slug: h.slug,
            title: h.title,
            title_html: h.title_html,
            snippet_html: h.snippet_html,
            published: h.published,
            score: h.score,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TicketHitOut {
    pub id: String,
    pub subject: String,
    pub subject_html: String,
    pub snippet_html: String,
    pub score: f32,
}

impl From<TicketHit> for TicketHitOut {
    fn from(h: TicketHit) -> Self {
        TicketHitOut {
            id: TicketNumber(h.id).to_string(),
            subject: h.subject,
            subject_html: h.subject_html,
            snippet_html: h.snippet_html,
            score: h.score,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VersionOut {
    pub version: i64,
    pub title: String,
    pub body: String,
    pub status: String,
    pub edited_by: Option<String>,
    pub edited_at: String,
}

impl From<ArticleVersion> for VersionOut {
    fn from(v: ArticleVersion) -> Self {
        VersionOut {
            version: v.version,
            title: v.title,
            body: v.body,
            status: v.status,
            edited_by: v.edited_by.map(|u| u.to_string()),
            edited_at: v.edited_at.to_string(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the lenient query string read by hand
struct SearchParams {
    /// The words to look for: `"a phrase"`, `prefix*`; any text, cut to 256 characters.
    q: Option<String>,
    /// A service code: articles relevant to it rank higher.
    service: Option<String>,
    /// `1`: the last word is still being typed (prefix match).
    typing: Option<String>,
    /// 1–50 (default 10).
    limit: Option<u32>,
    /// Category filter of the article list.
    category: Option<String>,
}

#[utoipa::path(get, path = "/kb/articles", tag = "kb", params(SearchParams), security((), ("bearer" = [])),
    responses((status = 200, body = Vec<ArticleOut>)))]
async fn list_articles(
    State(state): State<AppState>,
    MaybeCaller(user): MaybeCaller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<ArticleOut>>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let staff = user.as_ref().is_some_and(|u| u.role.is_staff());
    let list = state
        .desk
        .articles(user.as_ref(), param(&pairs, "category"), None, 200)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|a| ArticleOut::new(a, staff))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/kb/articles", tag = "kb", request_body = ArticleIn,
    responses((status = 201, body = ArticleOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_article(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<ArticleIn>,
) -> Result<(StatusCode, Json<ArticleOut>), ApiError> {
    let article = state.desk.create_article(&user, req.into()).await?;
    Ok((StatusCode::CREATED, Json(ArticleOut::new(article, true))))
}

#[utoipa::path(get, path = "/kb/articles/{key}", tag = "kb", params(("key" = String, Path, description = "id or slug")),
    security((), ("bearer" = [])),
    responses((status = 200, body = ArticleOut), (status = 404, body = ErrorBody)))]
async fn get_article(
    State(state): State<AppState>,
    MaybeCaller(user): MaybeCaller,
    Path(key): Path<String>,
) -> Result<Json<ArticleOut>, ApiError> {
    let staff = user.as_ref().is_some_and(|u| u.role.is_staff());
    let view = state.desk.article(user.as_ref(), &key).await?;
    Ok(Json(ArticleOut::view(view, staff)))
}

#[utoipa::path(put, path = "/kb/articles/{key}", tag = "kb", params(("key" = i64, Path)), request_body = ArticleIn,
    responses((status = 200, body = ArticleOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_article(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(key): Path<String>,
    ApiJson(req): ApiJson<ArticleIn>,
) -> Result<Json<ArticleOut>, ApiError> {
    let id: i64 = key.parse().map_err(|_| ApiError::not_found("article"))?;
    let version = req.version.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "give the version you edited",
        )
        .field("version")
    })?;
    let article = state
        .desk
        .update_article(&user, id, version, req.into())
        .await?;
    Ok(Json(ArticleOut::new(article, true)))
}

#[utoipa::path(get, path = "/kb/articles/{key}/versions", tag = "kb", params(("key" = i64, Path)),
    responses((status = 200, body = Vec<VersionOut>), (status = 404, body = ErrorBody)))]
async fn article_versions(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(key): Path<String>,
) -> Result<Json<Vec<VersionOut>>, ApiError> {
    let id: i64 = key.parse().map_err(|_| ApiError::not_found("article"))?;
    let versions = state.desk.article_versions(&user, id).await?;
    Ok(Json(versions.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/kb/articles/{key}/tickets", tag = "kb", params(("key" = i64, Path)),
    responses((status = 200, body = Vec<String>), (status = 403, body = ErrorBody)))]
async fn article_tickets(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(key): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    let id: i64 = key.parse().map_err(|_| ApiError::not_found("article"))?;
    let tickets = state.desk.article_tickets(&user, id).await?;
    Ok(Json(
        tickets
            .into_iter()
            .map(|t| TicketNumber(t.0).to_string())
            .collect(),
    ))
}

#[utoipa::path(get, path = "/kb/search", tag = "kb", params(SearchParams), security((), ("bearer" = [])),
    responses((status = 200, body = Vec<ArticleHitOut>)))]
async fn search(
    State(state): State<AppState>,
    MaybeCaller(user): MaybeCaller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<ArticleHitOut>>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let hits = state
        .desk
        .search_articles(
            user.as_ref(),
            param(&pairs, "q").unwrap_or_default(),
            param(&pairs, "service"),
            param(&pairs, "typing") == Some("1"),
            limit(&pairs, 10),
        )
        .await?;
    Ok(Json(hits.into_iter().map(Into::into).collect()))
}

/// The documented knowledge-base search (`CONTRACT.md`): the same answer as
/// `/kb/search`, filtered by the caller's audience (anonymous callers see public articles).
#[utoipa::path(get, path = "/articles", tag = "kb", params(SearchParams), security((), ("bearer" = [])),
    responses((status = 200, body = Vec<ArticleHitOut>)))]
async fn articles_search(
    state: State<AppState>,
    caller: MaybeCaller,
    raw: RawQuery,
) -> Result<Json<Vec<ArticleHitOut>>, ApiError> {
    search(state, caller, raw).await
}

#[utoipa::path(get, path = "/kb/suggest", tag = "kb", params(SearchParams),
    responses((status = 200, body = Vec<ArticleHitOut>)))]
/// Deflection: up to five client articles for the subject and description being typed.
async fn suggest(
    State(state): State<AppState>,
    Caller(user): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<ArticleHitOut>>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let hits = state
        .desk
        .suggest_articles(
            &user,
            param(&pairs, "q").unwrap_or_default(),
            param(&pairs, "service"),
        )
        .await?;
    Ok(Json(hits.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Solved {
    /// The draft ticket the client was typing; it is deleted.
    pub draft: Option<String>,
}

#[utoipa::path(post, path = "/kb/articles/{key}/solved", tag = "kb", params(("key" = i64, Path)), request_body = Solved,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// "This solved my question": counts a deflection and closes the caller's draft.
async fn solved(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(key): Path<String>,
    ApiJson(req): ApiJson<Solved>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = key.parse().map_err(|_| ApiError::not_found("article"))?;
    let draft = match req.draft.as_deref() {
        Some(d) => Some(ticket_id(d).map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "not a ticket number",
            )
            .field("draft")
        })?),
        None => None,
    };
    state.desk.article_solved(&user, id, draft).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/search/tickets", tag = "kb", params(SearchParams),
    responses((status = 200, body = Vec<TicketHitOut>)))]
/// Tickets matching the words (subject, description, comments; internal ones for staff),
/// within what the caller may see.
async fn search_tickets(
    State(state): State<AppState>,
    Caller(user): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<TicketHitOut>>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let hits = state
        .desk
        .search_tickets(
            &user,
            param(&pairs, "q").unwrap_or_default(),
            limit(&pairs, 20),
        )
        .await?;
    Ok(Json(hits.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleRef {
    /// The article's id.
    pub article: i64,
    /// A few words before the link (answer) or what to change (documentation task).
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(get, path = "/tickets/{id}/articles", tag = "kb", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ArticleOut>), (status = 404, body = ErrorBody)))]
async fn ticket_articles(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ArticleOut>>, ApiError> {
    let staff = user.role.is_staff();
    let list = state.desk.ticket_articles(&user, ticket_id(&id)?).await?;
    Ok(Json(
        list.into_iter()
            .map(|a| ArticleOut::new(a, staff))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/tickets/{id}/articles", tag = "kb", params(("id" = String, Path)), request_body = ArticleRef,
    responses((status = 201, body = ArticleOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn link_article(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ArticleRef>,
) -> Result<(StatusCode, Json<ArticleOut>), ApiError> {
    let article = state
        .desk
        .link_article(&user, ticket_id(&id)?, req.article)
        .await?;
    Ok((StatusCode::CREATED, Json(ArticleOut::new(article, true))))
}

#[utoipa::path(delete, path = "/tickets/{id}/articles/{article}", tag = "kb",
    params(("id" = String, Path), ("article" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn unlink_article(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((id, article)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let article: i64 = article
        .parse()
        .map_err(|_| ApiError::not_found("article"))?;
    state
        .desk
        .unlink_article(&user, ticket_id(&id)?, article)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/tickets/{id}/answer-with-article", tag = "kb", params(("id" = String, Path)), request_body = ArticleRef,
    responses((status = 201, body = CommentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// "Answer with an article": a public comment linking the article, and the article linked
/// to the ticket.
async fn answer_with_article(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ArticleRef>,
) -> Result<(StatusCode, Json<CommentView>), ApiError> {
    let comment = state
        .desk
        .answer_with_article(&user, ticket_id(&id)?, req.article, &req.note)
        .await?;
    Ok((StatusCode::CREATED, Json(comment.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocsTask {
    /// The article to update, if there is one.
    pub article: Option<i64>,
    /// What to change.
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct TaskCreated {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub line: Option<u8>,
}

#[utoipa::path(post, path = "/tickets/{id}/docs-task", tag = "kb", params(("id" = String, Path)), request_body = DocsTask,
    responses((status = 201, body = TaskCreated), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// "Update the documentation": a `docs` task for line 1 on this ticket.
async fn docs_task(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DocsTask>,
) -> Result<(StatusCode, Json<TaskCreated>), ApiError> {
    let task = state
        .desk
        .request_docs_update(&user, ticket_id(&id)?, req.article, &req.note)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TaskCreated {
            id: task.id.to_string(),
            title: task.title_in(&user.locale).to_owned(),
            kind: task.kind,
            line: task.line.map(Line::get),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::query_pairs;

    #[test]
    fn query_strings_of_any_bytes_decode() {
        let pairs = query_pairs(Some("q=%D0%BE%D1%88%D0%B8%D0%B1%D0%BA%D0%B0+x&typing=1"));
        assert_eq!(pairs[0], ("q".into(), "ошибка x".into()));
        assert_eq!(pairs[1], ("typing".into(), "1".into()));
        let bad = query_pairs(Some("q=%FF%FE%&x=%zz%"));
        assert_eq!(bad[0].1, "\u{FFFD}\u{FFFD}%");
        assert_eq!(bad[1].1, "%zz%");
        assert!(query_pairs(None).is_empty());
    }
}

/// A file attached to an article.
#[derive(Serialize, ToSchema)]
pub struct ArticleAttachmentView {
    pub id: i64,
    pub article_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: String,
    /// Where to download it.
    pub url: String,
}

impl From<okno_store::kb::ArticleAttachment> for ArticleAttachmentView {
    fn from(a: okno_store::kb::ArticleAttachment) -> Self {
        ArticleAttachmentView {
            url: format!("/api/v1/kb/articles/{}/attachments/{}", a.article_id, a.id),
            id: a.id,
            article_id: a.article_id,
            file_name: a.file_name,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            created_at: a.created_at.to_string(),
        }
    }
}

/// The article's files, for whoever may read the article (anonymous readers for a public
/// one); otherwise 404, as for an article that does not exist.
#[utoipa::path(get, path = "/kb/articles/{key}/attachments", tag = "kb",
    params(("key" = String, Path, description = "id or slug")), security((), ("bearer" = [])),
    responses((status = 200, body = Vec<ArticleAttachmentView>), (status = 404, body = ErrorBody)))]
pub(super) async fn list_article_attachments(
    State(state): State<AppState>,
    MaybeCaller(user): MaybeCaller,
    Path(key): Path<String>,
) -> Result<Json<Vec<ArticleAttachmentView>>, ApiError> {
    let found = state.desk.article_attachments(user.as_ref(), &key).await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

/// Multipart form: `file`. Staff only.
#[utoipa::path(post, path = "/kb/articles/{key}/attachments", tag = "kb",
    params(("key" = String, Path, description = "id or slug")),
    request_body(content_type = "multipart/form-data", description = "`file`: the file"),
    responses((status = 201, body = ArticleAttachmentView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn upload_article_attachment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(key): Path<String>,
    form: axum::extract::Multipart,
) -> Result<(StatusCode, Json<ArticleAttachmentView>), ApiError> {
    let upload = super::read_upload(form, &[]).await?;
    let attachment = state
        .desk
        .attach_to_article(
            &user,
            &key,
            &upload.name,
            &upload.content_type,
            &upload.bytes,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(attachment.into())))
}

#[utoipa::path(get, path = "/kb/articles/{key}/attachments/{attachment}", tag = "kb",
    params(("key" = String, Path, description = "id or slug"), ("attachment" = i64, Path)),
    security((), ("bearer" = [])),
    responses((status = 200, description = "The file, always as a download"), (status = 404, body = ErrorBody)))]
async fn download_article_attachment(
    State(state): State<AppState>,
    MaybeCaller(user): MaybeCaller,
    Path((key, attachment)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let attachment: i64 = attachment
        .parse()
        .map_err(|_| ApiError::not_found("attachment"))?;
    let (found, bytes) = state
        .desk
        .article_attachment(user.as_ref(), &key, attachment)
        .await?;
    Ok(crate::download(
        &found.file_name,
        &found.content_type,
        bytes,
    ))
}
