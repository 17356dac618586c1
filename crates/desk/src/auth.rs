//! Passwords, browser sessions and API tokens.
//!
//! Secrets handed to clients (session cookies, tokens) are random 256-bit values; the store
//! keeps only their SHA-256, so a leaked database opens no session.

use crate::{Desk, DeskError, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use jiff::SignedDuration;
use okno_domain::accounts::{self, FAILURE_MEMORY, LoginGate, TokenScope};
use okno_domain::{Email, User};
use okno_store::{NewToken, SessionData, TokenRecord};
use sha2::{Digest, Sha256};

pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// A token from `POST /api/v1/auth/login` lives as long as a browser session.
pub const LOGIN_TOKEN_LIFETIME: SignedDuration = SESSION_LIFETIME;
/// A token created without a lifetime (`okno token create`, `POST /api/v1/tokens`).
pub const DEFAULT_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(90 * 24);
/// How stale "last seen" / "last used" may get before a request writes it again: a
/// write per request would double the cost of every read.
pub const SEEN_PRECISION: SignedDuration = SignedDuration::from_mins(1);
/// The longest `User-Agent` kept with a session.
const AGENT_MAX: usize = 300;

pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| {
            DeskError::Domain(okno_domain::DomainError::Conflict(format!(
                "password hashing failed: {e}"
            )))
        })
}

pub(crate) fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A fresh random secret, hex-encoded.
pub(crate) fn secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub(crate) fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new browser session: the cookie value (secret) and its CSRF token.
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
}

/// Where a login or a session comes from, as the server saw it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The peer's IP address (`unknown` when the server was not told).
    pub address: String,
    pub agent: String,
}

/// What a new token is to be: parsed at the edge with [`okno_domain::accounts`].
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub name: String,
    pub scope: TokenScope,
    /// `None`: [`DEFAULT_TOKEN_LIFETIME`].
    pub lifetime: Option<SignedDuration>,
}

/// A token just made: the only moment its secret exists outside the caller's hands.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub secret: String,
    pub record: TokenRecord,
}

/// Who an API request is, and what its token may do.
#[derive(Debug, Clone)]
pub struct TokenCaller {
    pub user: User,
    pub scope: TokenScope,
}

fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn source_key(address: &str) -> String {
    format!("source:{address}")
}

impl Desk {
    /// Checks a password. Recent failures of the account or of the source address make
    /// the next try wait ([`accounts::login_gate`]); a wait refuses without looking at
    /// the password, and the right password always gets in once it is over.
    pub async fn login(&self, email: &str, password: &str, origin: &Origin) -> Result<User> {
        const REFUSED: DeskError = DeskError::Unauthorized("wrong email or password");
        let now = self.now();
        let account = account_key(email.trim().to_lowercase().as_str());
        let source = source_key(&origin.address);
        let gate = accounts::login_gate(
            self.store.login_failures(&account).await?,
            self.store.login_failures(&source).await?,
            now,
        );
        if let LoginGate::Wait(wait) = gate {
            return Err(DeskError::Throttled {
                retry_after_secs: wait.as_secs().max(1).unsigned_abs(),
            });
        }
        let found = match Email::parse(email) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = found.as_ref().and_then(|(_, hash)| hash.clone());
        // Verify even when there is no such user, so timing does not reveal which emails exist.
        let hash_to_check = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let password = password.to_owned();
        let matches =
            tokio::task::spawn_blocking(move || password_matches(&password, &hash_to_check))
                .await
                .unwrap_or(false);
        match found {
            Some((user, Some(_))) if matches => {
                self.store.clear_login_failures(&account).await?;
                Ok(user)
            }
            _ => {
                self.store
                    .record_login_failure(&[&account, &source], now, now - FAILURE_MEMORY)
                    .await?;
                Err(REFUSED)
            }
        }
    }

    /// Opens a browser session for a user who just logged in (always a new id).
    pub async fn open_session(&self, user: &User, origin: &Origin) -> Result<NewSession> {
        let session = NewSession {
            cookie: secret(),
            csrf: secret(),
        };
        let now = self.now();
        let agent: String = origin.agent.chars().take(AGENT_MAX).collect();
        self.store
            .create_session(&okno_store::NewSession {
                id_hash: &digest(&session.cookie),
                user: user.id,
                csrf: &session.csrf,
                created_at: now,
                expires_at: now + SESSION_LIFETIME,
                address: &origin.address,
                agent: &agent,
            })
            .await?;
        Ok(session)
    }

    /// The live session of a cookie; notes that it was seen now.
    pub async fn session(&self, cookie: &str) -> Result<Option<SessionData>> {
        let hash = digest(cookie);
        let now = self.now();
        let session = self.store.session(&hash, now).await?;
        if let Some(session) = &session
            && now.duration_since(session.last_seen_at) >= SEEN_PRECISION
        {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(session)
    }

    /// Ends a session on the server: the cookie is worthless afterwards.
    pub async fn close_session(&self, cookie: &str) -> Result<()> {
        Ok(self.store.delete_session(&digest(cookie)).await?)
    }

    /// Issues a token for `okno token create` and tests: write scope, the default lifetime.
    pub async fn create_token(&self, user: &User) -> Result<String> {
        let request = TokenRequest {
            name: "okno token create".into(),
            scope: TokenScope::Write,
            lifetime: None,
        };
        Ok(self.issue_token(user, &request).await?.secret)
    }

    /// The token `POST /api/v1/auth/login` answers with: it ends with a browser session's
    /// lifetime, so logging in repeatedly leaves no tokens that live on.
    pub async fn login_token(&self, user: &User) -> Result<String> {
        let request = TokenRequest {
            name: "login".into(),
            scope: TokenScope::Write,
            lifetime: Some(LOGIN_TOKEN_LIFETIME),
        };
        Ok(self.issue_token(user, &request).await?.secret)
    }

    /// Issues an API token; only the answer ever holds its secret in clear.
    pub async fn issue_token(&self, user: &User, request: &TokenRequest) -> Result<IssuedToken> {
        let secret = format!("okno_{}", secret());
        let now = self.now();
        let record = self
            .store
            .create_token(&NewToken {
                hash: &digest(&secret),
                user: user.id,
                name: &request.name,
                scope: request.scope,
                created_at: now,
                expires_at: Some(now + request.lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME)),
            })
            .await?;
        Ok(IssuedToken { secret, record })
    }

    /// The caller a token stands for, if it is live; notes that it was used now.
    pub async fn token_caller(&self, token: &str) -> Result<Option<TokenCaller>> {
        let now = self.now();
        let Some((user, record)) = self.store.token_caller(&digest(token), now).await? else {
            return Ok(None);
        };
        if record
            .last_used_at
            .is_none_or(|at| now.duration_since(at) >= SEEN_PRECISION)
        {
            self.store.touch_token(record.id, now).await?;
        }
        Ok(Some(TokenCaller {
            user,
            scope: record.scope,
        }))
    }
}

/// A valid argon2 hash of a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$6v0PmHD6CnXHhCfyxBRnDuFfmTu6h5lR6/NS8rDSy8Q";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("demo").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("demo", &hash));
        assert!(!password_matches("Demo", &hash));
        assert!(!password_matches("demo", "not a hash"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn secrets_are_random_and_digests_stable() {
        assert_ne!(secret(), secret());
        assert_eq!(secret().len(), 64);
        assert_eq!(digest("a"), digest("a"));
    }
}
