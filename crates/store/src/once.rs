//! Work that several processes sharing one database must do once between them (issue 24):
//! a form submitted twice opens one ticket, the demo firm loads once. Kept in the
//! database, never in one process's memory, so two `okno serve` processes agree.

use crate::Result;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

/// What [`OnceStore::claim_once`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the key now: do the work, then [`OnceStore::finish_once`] (or
    /// [`OnceStore::release_once`] when it failed).
    Won,
    /// Somebody did it already; this is what they recorded (e.g. the ticket id).
    Done(i64),
    /// Somebody is doing it now: wait and claim again.
    Pending,
}

/// How long a claim is held and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimTerms {
    /// A claim without a result older than this is taken over (its holder went away).
    pub lease: SignedDuration,
    /// A claim is forgotten this long after it was made; `None`: kept for good.
    pub keep: Option<SignedDuration>,
}

#[async_trait]
pub trait OnceStore {
    /// The result recorded for `key`, if its work is done (a read: no claim is made).
    async fn once_result(&self, key: &str) -> Result<Option<i64>>;
    /// Claims `key` at `at` (and forgets the claims expired by then).
    async fn claim_once(&self, key: &str, terms: ClaimTerms, at: Timestamp) -> Result<Claim>;
    /// Records the work of a won claim as done, with its result.
    async fn finish_once(&self, key: &str, result: i64) -> Result<()>;
    /// Gives a won claim up (the work failed): the next claim of `key` wins.
    async fn release_once(&self, key: &str) -> Result<()>;
}
