//! Accounts (issue 22): browser sessions, API tokens and the login throttle's counters.
//!
//! Secrets are stored only as SHA-256 hashes. The throttle's counters live here, not in a
//! process, so that several servers on one database slow the same guesser alike.

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::accounts::{Failures, TokenScope};
use okno_domain::*;

/// What the session cookie resolves to.
#[derive(Debug, Clone)]
pub struct SessionData {
    pub user: User,
    pub csrf: String,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// A new browser session.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user: UserId,
    pub csrf: &'a str,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The peer's address as the server saw it.
    pub address: &'a str,
    /// The browser's `User-Agent`, cut to a sane length.
    pub agent: &'a str,
}

/// A live session as its owner sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub address: String,
    pub agent: String,
    /// The session the list was asked from.
    pub current: bool,
}

/// A new API token.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub hash: &'a str,
    pub user: UserId,
    pub name: &'a str,
    pub scope: TokenScope,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// An API token as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

/// Sessions, tokens and throttle counters; every list is bounded.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_session(&self, session: &NewSession<'_>) -> Result<()>;
    /// The live session (not expired at `now`, its user active).
    async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<SessionData>>;
    /// Notes that the session was used at `at`.
    async fn touch_session(&self, id_hash: &str, at: Timestamp) -> Result<()>;
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// The user's live sessions, newest first (at most [`SESSIONS_LISTED`]); `current`
    /// marks the one whose hash is given.
    async fn sessions(
        &self,
        user: UserId,
        now: Timestamp,
        current: Option<&str>,
    ) -> Result<Vec<SessionRecord>>;
    /// Ends all the user's sessions but `except`; answers how many ended.
    async fn delete_sessions(&self, user: UserId, except: Option<&str>) -> Result<u64>;

    /// Stores a token and forgets the user's tokens expired by its creation.
    async fn create_token(&self, token: &NewToken<'_>) -> Result<TokenRecord>;
    /// The live token (not expired at `now`, its user active) and its owner.
    async fn token_caller(&self, hash: &str, now: Timestamp)
    -> Result<Option<(User, TokenRecord)>>;
    async fn touch_token(&self, id: i64, at: Timestamp) -> Result<()>;
    /// The user's tokens, newest first (at most [`TOKENS_LISTED`]), expired ones included.
    async fn tokens(&self, user: UserId) -> Result<Vec<TokenRecord>>;
    /// Deletes the user's token; `None` when the user has no token with that id.
    async fn revoke_token(&self, user: UserId, id: i64) -> Result<Option<TokenRecord>>;

    /// The recent failures counted under `key` (`account:<email>` or `source:<address>`).
    async fn login_failures(&self, key: &str) -> Result<Failures>;
    /// Counts one more failure under each key, at `at`; a count whose last failure is
    /// before `forget_before` starts over at 1.
    async fn record_login_failure(
        &self,
        keys: &[&str],
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<()>;
    async fn clear_login_failures(&self, key: &str) -> Result<()>;
}

/// The most sessions a list shows (a person has a handful).
pub const SESSIONS_LISTED: u32 = 100;
/// The most tokens a list shows.
pub const TOKENS_LISTED: u32 = 200;
