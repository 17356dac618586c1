//! The knowledge base: articles with versions, their links to tickets, attachments and
//! deflections, plus what the search indexer reads to catch up.

use crate::{NewTask, Result};
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

/// An article as stored. `tags`, `services` are lists; `clients` empty means every client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub id: i64,
    pub slug: String,
    pub title: String,
    /// Markdown source.
    pub body: String,
    pub category: String,
    pub tags: Vec<String>,
    pub services: Vec<String>,
    /// `public`, `client`, `staff` or `both`.
    pub audience: String,
    pub clients: Vec<ClientId>,
    /// `draft`, `published` or `archived`.
    pub status: String,
    pub version: i64,
    pub shipped: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an author submits; the store assigns id, version and times.
#[derive(Debug, Clone, Default)]
pub struct ArticleInput {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub category: String,
    pub tags: Vec<String>,
    pub services: Vec<String>,
    pub audience: String,
    pub clients: Vec<ClientId>,
    pub status: String,
    pub shipped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleVersion {
    pub article_id: i64,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub status: String,
    pub edited_by: Option<UserId>,
    pub edited_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleAttachment {
    pub id: i64,
    pub article_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Timestamp,
}

/// A ticket with everything the search index holds of it.
#[derive(Debug, Clone)]
pub struct TicketText {
    pub ticket: Ticket,
    pub watchers: Vec<UserId>,
    pub comments: Vec<Comment>,
    /// What the ticket was called in the systems it was imported from (`Redmine #1234`).
    pub labels: Vec<String>,
}

/// Filters of an article list; keyset on `(title, id)` via `after`.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    pub category: Option<String>,
    /// Only these statuses (empty: published).
    pub statuses: Vec<String>,
    pub after: Option<(String, i64)>,
    pub limit: u32,
}

#[async_trait]
pub trait KbStore: Send + Sync {
    /// Creates the article (version 1) and its first history entry.
    async fn create_article(
        &self,
        input: &ArticleInput,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<Article>;
    /// Saves a new version if `expected_version` is still the current one (else a conflict).
    async fn update_article(
        &self,
        id: i64,
        expected_version: i64,
        input: &ArticleInput,
        by: Option<UserId>,
        at: Timestamp,
    ) -> Result<Article>;
    async fn article(&self, id: i64) -> Result<Option<Article>>;
    async fn article_by_slug(&self, slug: &str) -> Result<Option<Article>>;
    /// Articles in (category, title) order; the caller filters audience on this small list
    /// page (search does it inside the index).
    async fn articles(&self, filter: &ArticleFilter) -> Result<Vec<Article>>;
    async fn article_versions(&self, id: i64) -> Result<Vec<ArticleVersion>>;
    /// Articles changed after `since` (ms, inclusive), oldest first, `limit` of them.
    async fn articles_changed_since(
        &self,
        since: i64,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Article>>;

    async fn link_article(
        &self,
        ticket: TicketId,
        article: i64,
        by: UserId,
        at: Timestamp,
    ) -> Result<bool>;
    async fn unlink_article(&self, ticket: TicketId, article: i64) -> Result<()>;
    async fn ticket_articles(&self, ticket: TicketId) -> Result<Vec<Article>>;
    /// Ticket ids linked to the article, newest first.
    async fn article_tickets(&self, article: i64, limit: u32) -> Result<Vec<TicketId>>;

    async fn add_article_attachment(
        &self,
        attachment: &ArticleAttachment,
    ) -> Result<ArticleAttachment>;
    async fn article_attachments(&self, article: i64) -> Result<Vec<ArticleAttachment>>;

    /// Records a deflection and deletes the user's draft (if given and still a draft of theirs).
    async fn record_deflection(
        &self,
        article: i64,
        user: UserId,
        client: Option<ClientId>,
        draft: Option<TicketId>,
        at: Timestamp,
    ) -> Result<()>;
    async fn deflections(&self, article: i64) -> Result<i64>;

    /// Adds a task to a ticket outside its route (e.g. "update the documentation"), with an
    /// internal history entry.
    async fn add_task(
        &self,
        ticket: TicketId,
        task: &NewTask,
        by: UserId,
        at: Timestamp,
    ) -> Result<Task>;

    /// Tickets (not drafts) changed at or after `since` (ms), oldest first, after `(since, after_id)`.
    async fn tickets_changed_since(
        &self,
        since: i64,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(TicketId, i64)>>;
    /// How many tickets (not drafts) there are, for a reindex's progress bar.
    async fn ticket_count(&self) -> Result<i64>;
    /// The tickets with their comments and watchers, for the index; missing ids are left out.
    async fn ticket_texts(&self, ids: &[TicketId]) -> Result<Vec<TicketText>>;
}
