//! The second factor (issue 22): a person enrols an authenticator app (TOTP, RFC 6238,
//! `okno_domain::totp`), confirms it with a first code, and from then on a login asks for
//! a code after the password. Ten single-use recovery codes (argon2, like passwords) stand
//! in for a lost phone. Wrong codes are throttled like wrong passwords; enrolment and
//! removal go to the audit log. With `Settings::totp_required_for_admins` an admin without
//! a factor is sent to enrol after logging in.

use crate::auth::{hash_password, password_matches, secret};
use crate::{Desk, DeskError, Result};
use jiff::SignedDuration;
use okno_domain::accounts::{self, FAILURE_MEMORY, LoginGate};
use okno_domain::audit::AuditAction;
use okno_domain::totp;
use okno_domain::{DomainError, Role, User, UserId};
use sha2::{Digest, Sha256};

/// How long a login that passed the password waits for its code.
pub const CHALLENGE_LIFETIME: SignedDuration = SignedDuration::from_mins(5);
/// The issuer an authenticator app shows beside the account.
const ISSUER: &str = "Okno";

/// Where a person stands with the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorStatus {
    /// Confirmed: logins ask for a code.
    pub active: bool,
    /// Begun, waiting for the first code.
    pub pending: bool,
    /// Unused recovery codes.
    pub recovery_left: usize,
}

/// An enrolment just begun: the secret, shown once, as text and as the app's URI.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

pub struct SecondFactor<'a> {
    desk: &'a Desk,
}

impl Desk {
    pub fn second_factor(&self) -> SecondFactor<'_> {
        SecondFactor { desk: self }
    }
}

fn throttle_key(user: UserId) -> String {
    format!("totp:{}", user.0)
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A recovery code as given out: 10 lowercase letters and digits in two groups.
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let code: String = (0..10)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect();
    format!("{}-{}", &code[..5], &code[5..])
}

impl SecondFactor<'_> {
    pub async fn status(&self, user: &User) -> Result<FactorStatus> {
        let factor = self.desk.store.totp_factor(user.id).await?;
        let active = factor.as_ref().is_some_and(|f| f.confirmed_at.is_some());
        Ok(FactorStatus {
            active,
            pending: factor.is_some() && !active,
            recovery_left: if active {
                self.desk.store.recovery_codes(user.id).await?.len()
            } else {
                0
            },
        })
    }

    /// Whether a login of this person must give a code.
    pub async fn required(&self, user: &User) -> Result<bool> {
        Ok(self.status(user).await?.active)
    }

    /// Whether this person must enrol before working: an admin without a factor when the
    /// desk is configured so.
    pub async fn must_enrol(&self, user: &User) -> Result<bool> {
        Ok(self.desk.settings.totp_required_for_admins
            && user.role == Role::Admin
            && !self.required(user).await?)
    }

    /// Begins (or restarts) an enrolment. A person with an active factor removes it first.
    pub async fn begin(&self, user: &User) -> Result<Enrolment> {
        if self.required(user).await? {
            return Err(DomainError::Conflict(
                "a second factor is active; remove it before enrolling another".into(),
            )
            .into());
        }
        let bytes: [u8; totp::SECRET_BYTES] = rand::random();
        let secret = totp::base32(&bytes);
        self.desk
            .store
            .begin_totp(user.id, &secret, self.desk.now())
            .await?;
        Ok(Enrolment {
            uri: totp::otpauth_uri(ISSUER, user.email.as_str(), &bytes),
            secret,
        })
    }

    /// The secret of an enrolment still waiting for its first code (to show it again).
    pub async fn pending(&self, user: &User) -> Result<Option<Enrolment>> {
        let factor = self.desk.store.totp_factor(user.id).await?;
        Ok(factor.filter(|f| f.confirmed_at.is_none()).and_then(|f| {
            let bytes = totp::from_base32(&f.secret)?;
            Some(Enrolment {
                uri: totp::otpauth_uri(ISSUER, user.email.as_str(), &bytes),
                secret: f.secret,
            })
        }))
    }

    /// Confirms the enrolment with a code from the app; answers the recovery codes, which
    /// exist in plain text only now.
    pub async fn confirm(&self, user: &User, code: &str) -> Result<Vec<String>> {
        let code = totp::parse_code(code)?;
        let factor = self
            .desk
            .store
            .totp_factor(user.id)
            .await?
            .filter(|f| f.confirmed_at.is_none())
            .ok_or_else(|| DomainError::Conflict("no enrolment is waiting for a code".into()))?;
        let bytes = totp::from_base32(&factor.secret)
            .ok_or_else(|| DomainError::Conflict("the stored secret is damaged".into()))?;
        let now = self.desk.now();
        self.gate(user).await?;
        let Some(step) = totp::accepts(&bytes, code, now, None) else {
            self.failed(user).await?;
            return Err(okno_domain::FieldError::new("code", "wrong code").into());
        };
        let codes: Vec<String> = (0..totp::RECOVERY_CODES).map(|_| recovery_code()).collect();
        let plain: Vec<String> = codes
            .iter()
            .map(|c| totp::normalize_recovery(c.as_str()))
            .collect();
        let hashes = tokio::task::spawn_blocking(move || {
            plain
                .iter()
                .map(|c| hash_password(c.as_str()))
                .collect::<Result<Vec<_>>>()
        })
        .await
        .map_err(|e| DomainError::Conflict(format!("hashing failed: {e}")))??;
        if !self
            .desk
            .store
            .confirm_totp(user.id, step, now, &hashes)
            .await?
        {
            return Err(DomainError::Conflict("no enrolment is waiting for a code".into()).into());
        }
        self.desk
            .store
            .clear_login_failures(&throttle_key(user.id))
            .await?;
        self.desk
            .record_audit(
                user,
                AuditAction::TotpEnrolled,
                format!("user:{}", user.id.0),
                None,
                Some(serde_json::json!({"second_factor": "totp", "recovery_codes": codes.len()})),
            )
            .await?;
        Ok(codes)
    }

    /// Removes the person's factor: a current code or a recovery code proves it is theirs.
    pub async fn remove(&self, user: &User, code: &str) -> Result<()> {
        self.verify(user, code).await?;
        if self.desk.store.remove_totp(user.id).await? {
            self.desk
                .record_audit(
                    user,
                    AuditAction::TotpRemoved,
                    format!("user:{}", user.id.0),
                    Some(serde_json::json!({"second_factor": "totp"})),
                    None,
                )
                .await?;
        }
        Ok(())
    }

    /// Checks a code (six digits) or a recovery code of a person with an active factor.
    /// A code is good once (a replay in its step is refused); a recovery code once ever.
    /// Wrong ones count against the person like wrong passwords and slow further tries.
    pub async fn verify(&self, user: &User, code: &str) -> Result<()> {
        const REFUSED: DeskError = DeskError::Unauthorized("wrong or used code");
        self.gate(user).await?;
        let factor = self
            .desk
            .store
            .totp_factor(user.id)
            .await?
            .filter(|f| f.confirmed_at.is_some())
            .ok_or(DeskError::Unauthorized("no second factor is active"))?;
        let now = self.desk.now();
        if let Ok(code) = totp::parse_code(code) {
            let bytes = totp::from_base32(&factor.secret)
                .ok_or_else(|| DomainError::Conflict("the stored secret is damaged".into()))?;
            if let Some(step) = totp::accepts(&bytes, code, now, factor.last_step)
                && self.desk.store.use_totp_step(user.id, step).await?
            {
                self.desk
                    .store
                    .clear_login_failures(&throttle_key(user.id))
                    .await?;
                return Ok(());
            }
        } else {
            let typed = totp::normalize_recovery(code);
            let codes = self.desk.store.recovery_codes(user.id).await?;
            let matched = tokio::task::spawn_blocking(move || {
                codes
                    .into_iter()
                    .find(|c| !typed.is_empty() && password_matches(&typed, &c.hash))
            })
            .await
            .unwrap_or(None);
            if let Some(found) = matched
                && self.desk.store.use_recovery_code(found.id, now).await?
            {
                self.desk
                    .store
                    .clear_login_failures(&throttle_key(user.id))
                    .await?;
                return Ok(());
            }
        }
        self.failed(user).await?;
        Err(REFUSED)
    }

    /// A login that passed the password and waits for the code: answers the challenge
    /// secret the browser keeps until it gives the code.
    pub async fn challenge(&self, user: &User) -> Result<String> {
        let challenge = secret();
        self.desk
            .store
            .create_login_challenge(
                &digest(&challenge),
                user.id,
                self.desk.now() + CHALLENGE_LIFETIME,
            )
            .await?;
        Ok(challenge)
    }

    /// The person a live challenge is for.
    pub async fn challenged(&self, challenge: &str) -> Result<Option<User>> {
        let Some(id) = self
            .desk
            .store
            .login_challenge(&digest(challenge), self.desk.now())
            .await?
        else {
            return Ok(None);
        };
        Ok(self.desk.store.user(id).await?)
    }

    /// Completes a challenged login with its code: the person, signed in; the challenge
    /// is spent.
    pub async fn complete(&self, challenge: &str, code: &str) -> Result<User> {
        let user = self
            .challenged(challenge)
            .await?
            .ok_or(DeskError::Unauthorized(
                "the login has expired; log in again",
            ))?;
        self.verify(&user, code).await?;
        self.desk
            .store
            .delete_login_challenge(&digest(challenge))
            .await?;
        Ok(user)
    }

    async fn gate(&self, user: &User) -> Result<()> {
        let key = throttle_key(user.id);
        let failures = self.desk.store.login_failures(&key).await?;
        let gate = accounts::login_gate(failures, Default::default(), self.desk.now());
        if let LoginGate::Wait(wait) = gate {
            return Err(DeskError::Throttled {
                retry_after_secs: wait.as_secs().max(1).unsigned_abs(),
            });
        }
        Ok(())
    }

    async fn failed(&self, user: &User) -> Result<()> {
        let now = self.desk.now();
        Ok(self
            .desk
            .store
            .record_login_failure(&[&throttle_key(user.id)], now, now - FAILURE_MEMORY)
            .await?)
    }
}
