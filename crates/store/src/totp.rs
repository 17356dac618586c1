//! The second factor's records (issue 22): a person's TOTP secret, recovery codes, and
//! logins waiting for their code.

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::UserId;

/// A person's second factor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// base32, as the authenticator app was given it.
    pub secret: String,
    pub created_at: Timestamp,
    /// `None` until a first code confirmed the enrolment; only then does login ask for it.
    pub confirmed_at: Option<Timestamp>,
    /// The step of the last code accepted.
    pub last_step: Option<i64>,
}

/// An unused recovery code of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCode {
    pub id: i64,
    pub hash: String,
}

#[async_trait]
pub trait TotpStore: Send + Sync {
    async fn totp_factor(&self, user: UserId) -> Result<Option<TotpFactor>>;
    /// Starts (or restarts) an enrolment: the secret waits for its first code.
    async fn begin_totp(&self, user: UserId, secret: &str, at: Timestamp) -> Result<()>;
    /// Confirms the enrolment with the step of its first code, and replaces the person's
    /// recovery codes; `false` when there is no enrolment to confirm.
    async fn confirm_totp(
        &self,
        user: UserId,
        step: i64,
        at: Timestamp,
        recovery_hashes: &[String],
    ) -> Result<bool>;
    /// Records `step` as the last one used, if it comes after the last one: `false` when
    /// another login took this step (or a newer one) first.
    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool>;
    /// Drops the factor and its recovery codes; `false` when there was none.
    async fn remove_totp(&self, user: UserId) -> Result<bool>;
    async fn recovery_codes(&self, user: UserId) -> Result<Vec<RecoveryCode>>;
    /// Marks a recovery code used; `false` when it was used already.
    async fn use_recovery_code(&self, id: i64, at: Timestamp) -> Result<bool>;

    /// A login that passed the password and waits for the code until `expires_at`.
    async fn create_login_challenge(
        &self,
        id_hash: &str,
        user: UserId,
        expires_at: Timestamp,
    ) -> Result<()>;
    /// The person a live challenge is for.
    async fn login_challenge(&self, id_hash: &str, now: Timestamp) -> Result<Option<UserId>>;
    async fn delete_login_challenge(&self, id_hash: &str) -> Result<()>;
}
