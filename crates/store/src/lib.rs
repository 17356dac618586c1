//! Okno's persistence.
//!
//! One [`Store`] trait, two implementations: [`sqlite::SqliteStore`] (embedded, the default)
//! and [`postgres::PgStore`]. Both compile the same SQL source (`repo.rs`) against their own
//! driver, so the two cannot drift apart; only the migrations and connection set-up differ.
//! Visibility comes from the domain's [`TicketScope`]; every query that returns tickets or
//! their parts applies it here, once.

use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;
use std::sync::Arc;

mod accounts;
mod admin;
mod audit;
mod channels;
mod contracts;
mod dashboard;
mod group_commit;
mod import;
mod jobs;
pub mod kb;
mod mail;
mod once;
pub mod postgres;
mod queue;
mod readers;
pub mod reports;
mod routes;
mod sql;
pub mod sqlite;
pub mod telegram;
mod time;
mod totp;
mod workplace;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// A change's capped usage claim met a full counter (`contract_usage.counter`); the
    /// change wrote nothing (see [`ChangeStep::ClaimUsage`]).
    #[error("the usage counter {counter} is at its limit")]
    LimitReached { counter: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub use accounts::*;
pub use admin::*;
pub use audit::*;
pub use channels::*;
pub use contracts::*;
pub use dashboard::*;
pub use import::*;
pub use jobs::*;
pub use kb::KbStore;
pub use mail::*;
pub use once::{Claim, ClaimTerms, OnceStore};
pub use queue::*;
pub use reports::ReportStore;
pub use routes::*;
pub use telegram::{
    NewTelegramMessage, OutboxEntry, TelegramFeed, TelegramLink, TelegramMessage, TelegramStore,
};
pub use time::*;
pub use totp::*;
pub use workplace::{BRIEFS_MAX, TicketBrief, WorkplaceStore};

/// Opens the store a `--database` URL names: `postgres://…`, or else an SQLite file path
/// (`sqlite://path` or a bare path). Applies pending migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with_clock(url, Arc::new(SystemClock)).await
}

/// [`open`] with the clock the store stamps its own rows with (the desk's, so a manual
/// clock moves them too).
pub async fn open_with_clock(url: &str, clock: Arc<dyn Clock>) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            postgres::PgStore::open(url).await?.with_clock(clock),
        ))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Ok(Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(path))
                .await?
                .with_clock(clock),
        ))
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub client_id: Option<ClientId>,
    pub lines: Vec<Line>,
    pub sees_organization: bool,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub code: String,
    pub name_ru: String,
    pub name_en: String,
    pub description_ru: String,
    pub description_en: String,
    pub workflow: String,
    /// The service's full definition (form fields, audience) as JSON, owned by the catalog.
    pub definition: String,
    pub sort_order: i64,
    pub active: bool,
}

/// Filters of a ticket list; `after` is the keyset cursor (the last id of the previous page).
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub client: Option<ClientId>,
    pub after: Option<TicketId>,
    pub limit: u32,
    /// Drafts are their author's own: with this set, a draft is listed only when this
    /// user wrote it (the desk sets it to the viewer).
    pub drafts_of: Option<UserId>,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub ticket_id: TicketId,
    pub comment_id: Option<CommentId>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: UserId,
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub kind: String,
    pub title: String,
    pub line: Option<Line>,
    pub pool: Option<String>,
    pub assignee_id: Option<UserId>,
    pub due_at: Option<Timestamp>,
    pub priority: i32,
    pub stage: Option<String>,
}

#[async_trait]
pub trait Store:
    RouteStore
    + JobStore
    + QueueStore
    + TimeStore
    + ContractStore
    + MailStore
    + KbStore
    + DashboardStore
    + AdminStore
    + WorkplaceStore
    + ChannelStore
    + TelegramStore
    + ImportStore
    + AccountStore
    + AuditStore
    + TotpStore
    + ReportStore
    + OnceStore
    + Send
    + Sync
    + 'static
{
    /// Answers when the database does (for `/healthz`).
    async fn ping(&self) -> Result<()>;
    /// A real write (one counter row): fails when the database is down, read-only or full.
    async fn probe_write(&self) -> Result<()>;
    /// Before the process ends: SQLite copies its WAL into the database file and empties
    /// it (nothing left to replay on the next start); PostgreSQL closes its connections.
    async fn close(&self) -> Result<()>;

    // People and organizations.
    async fn create_client(
        &self,
        code: &str,
        name: &str,
        mail_domain: Option<&str>,
    ) -> Result<ClientId>;
    async fn client_by_code(&self, code: &str) -> Result<Option<Client>>;
    async fn client(&self, id: ClientId) -> Result<Option<Client>>;
    async fn create_user(&self, user: &NewUser) -> Result<UserId>;
    async fn user(&self, id: UserId) -> Result<Option<User>>;
    /// The user and its password hash, for login.
    async fn user_by_email(&self, email: &Email) -> Result<Option<(User, Option<String>)>>;

    // The service catalog.
    async fn upsert_service(&self, service: &Service) -> Result<()>;
    async fn service(&self, code: &str) -> Result<Option<Service>>;
    async fn services(&self) -> Result<Vec<Service>>;

    // Tickets and everything on them.
    /// Creates the ticket with its first history event, its route's first tasks and an outbox
    /// message, in one transaction.
    async fn create_ticket(
        &self,
        ticket: &NewTicket,
        tasks: &[NewTask],
        at: Timestamp,
    ) -> Result<Ticket>;
    async fn ticket(&self, scope: TicketScope, id: TicketId) -> Result<Option<Ticket>>;
    async fn tickets(&self, scope: TicketScope, filter: &TicketFilter) -> Result<Vec<Ticket>>;
    /// Sends a draft: it becomes `new` and its route starts.
    async fn submit_draft(
        &self,
        id: TicketId,
        by: UserId,
        tasks: &[NewTask],
        at: Timestamp,
    ) -> Result<Ticket>;
    /// Changes a draft's subject and description (its author's only, while still a draft);
    /// `None` when there is no such draft of `by`. The change is in the public history.
    async fn update_draft(
        &self,
        id: TicketId,
        by: UserId,
        subject: &str,
        description: &str,
        at: Timestamp,
    ) -> Result<Option<Ticket>>;
    async fn add_watcher(
        &self,
        ticket: TicketId,
        user: UserId,
        by: UserId,
        at: Timestamp,
    ) -> Result<()>;
    async fn add_comment(&self, comment: &NewComment, at: Timestamp) -> Result<Comment>;
    async fn comments(&self, ticket: TicketId, include_internal: bool) -> Result<Vec<Comment>>;
    async fn history(&self, ticket: TicketId, include_internal: bool) -> Result<Vec<HistoryEvent>>;
    async fn add_attachment(&self, attachment: &NewAttachment, at: Timestamp)
    -> Result<Attachment>;
    /// Attachments of the ticket; for clients only those on the ticket itself or on public comments.
    async fn attachments(
        &self,
        ticket: TicketId,
        include_internal: bool,
    ) -> Result<Vec<Attachment>>;
    async fn tasks(&self, ticket: TicketId) -> Result<Vec<Task>>;

    /// Bulk-loads generated tickets for benchmarks and demo data, bypassing per-ticket events.
    async fn load_tickets(&self, tickets: &[NewTicket], at: Timestamp) -> Result<()>;
}

#[cfg(feature = "testing")]
pub mod testing;
