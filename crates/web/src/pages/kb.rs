//! The knowledge base pages: `/kb` (search and the list of articles) and `/kb/{slug}` (one
//! article, at a stable address). Public articles need no login; a logged-in visitor also
//! sees the articles for clients or staff their role and organization admit.

use super::guard::{PageError, Visit};
use super::templates::{Ctx, render};
use crate::AppState;
use crate::api::kb::query_pairs;
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use okno_search::ArticleHit;
use okno_store::kb::Article;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/kb", get(index))
        .route("/kb/{slug}", get(article))
}

#[derive(Template)]
#[template(path = "kb_index.html")]
struct KbIndexTemplate {
    ctx: Ctx,
    query: String,
    hits: Vec<ArticleHit>,
    articles: Vec<Article>,
}

#[derive(Template)]
#[template(path = "kb_article.html")]
struct KbArticleTemplate {
    ctx: Ctx,
    article: Article,
    /// Sanitized by the desk (ammonia); the one place a template shows raw HTML.
    html: String,
    deflections: i64,
}

impl KbArticleTemplate {
    fn audience(&self) -> String {
        self.ctx
            .t(&format!("kb-audience-{}", self.article.audience))
    }
}

async fn index(
    State(state): State<AppState>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs = query_pairs(raw.as_deref());
    let query = pairs
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| {
            v.chars()
                .take(okno_search::MAX_QUERY_CHARS)
                .collect::<String>()
        })
        .unwrap_or_default();
    let user = visit.session.as_ref().map(|s| &s.user);
    let hits = if query.trim().is_empty() {
        Vec::new()
    } else {
        state
            .desk
            .search_articles(user, &query, None, false, 20)
            .await?
    };
    let articles = if query.trim().is_empty() {
        state.desk.articles(user, None, None, 200).await?
    } else {
        Vec::new()
    };
    let page = KbIndexTemplate {
        ctx: visit.ctx(),
        query,
        hits,
        articles,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn article(
    State(state): State<AppState>,
    visit: Visit,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let user = visit.session.as_ref().map(|s| &s.user);
    let view = state.desk.article(user, &slug).await?;
    let page = KbArticleTemplate {
        ctx: visit.ctx(),
        article: view.article,
        html: view.html,
        deflections: view.deflections,
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kb_message_exists_in_both_languages() {
        let ids = |text: &str| -> Vec<String> {
            let mut ids: Vec<String> = text
                .lines()
                .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim().to_owned()))
                .filter(|id| !id.is_empty() && !id.starts_with('#'))
                .collect();
            ids.sort();
            ids
        };
        let ru = ids(include_str!("../../locales/ru/kb.ftl"));
        let en = ids(include_str!("../../locales/en/kb.ftl"));
        assert!(ru.len() >= 10);
        assert_eq!(ru, en);
    }
}
