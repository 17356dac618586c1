//! Passwords, browser sessions and API tokens.
//!
//! Secrets handed to clients (session cookies, tokens) are random 256-bit values; the store
//! keeps only their SHA-256, so a leaked database opens no session.

use crate::{Desk, DeskError, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use jiff::SignedDuration;
use okno_domain::{Email, User};
use okno_store::SessionData;
use sha2::{Digest, Sha256};

/// Failed logins of one address within [`THROTTLE_WINDOW`] before further tries are refused.
pub const THROTTLE_LIMIT: i64 = 5;
pub const THROTTLE_WINDOW: SignedDuration = SignedDuration::from_mins(15);
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

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

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A fresh random secret, hex-encoded.
fn secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new browser session: the cookie value (secret) and its CSRF token.
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
}

impl Desk {
    /// Checks a password, refusing after too many recent failures for the address.
    pub async fn login(&self, email: &str, password: &str) -> Result<User> {
        const REFUSED: DeskError = DeskError::Unauthorized("wrong email or password");
        let Ok(email) = Email::parse(email) else {
            return Err(REFUSED);
        };
        let now = self.now();
        let failures = self
            .store
            .login_failures_since(email.as_str(), now - THROTTLE_WINDOW)
            .await?;
        if failures >= THROTTLE_LIMIT {
            return Err(DeskError::Throttled);
        }
        let found = self.store.user_by_email(&email).await?;
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
                self.store.clear_login_failures(email.as_str()).await?;
                Ok(user)
            }
            _ => {
                self.store.record_login_failure(email.as_str(), now).await?;
                Err(REFUSED)
            }
        }
    }

    /// Opens a browser session for a user who just logged in (always a new id).
    pub async fn open_session(&self, user: &User) -> Result<NewSession> {
        let session = NewSession {
            cookie: secret(),
            csrf: secret(),
        };
        let expires = self.now() + SESSION_LIFETIME;
        self.store
            .create_session(&digest(&session.cookie), user.id, &session.csrf, expires)
            .await?;
        Ok(session)
    }

    pub async fn session(&self, cookie: &str) -> Result<Option<SessionData>> {
        Ok(self.store.session(&digest(cookie), self.now()).await?)
    }

    /// Ends a session on the server: the cookie is worthless afterwards.
    pub async fn close_session(&self, cookie: &str) -> Result<()> {
        Ok(self.store.delete_session(&digest(cookie)).await?)
    }

    /// Issues an API token for the user; only this return value ever holds it in clear.
    pub async fn create_token(&self, user: &User) -> Result<String> {
        let token = format!("okno_{}", secret());
        self.store
            .create_token(&digest(&token), user.id, None)
            .await?;
        Ok(token)
    }

    pub async fn token_user(&self, token: &str) -> Result<Option<User>> {
        Ok(self.store.token_user(&digest(token), self.now()).await?)
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
