//! A person's own access (issue 22): their API tokens and their browser sessions.
//!
//! Everything here acts on the caller's own account only; nobody lists or ends another
//! person's tokens or sessions through it.

use crate::auth::{IssuedToken, TokenRequest, digest};
use crate::{Desk, Result};
use okno_domain::audit::AuditAction;
use okno_domain::{DomainError, User};
use okno_store::{SessionRecord, TokenRecord};

/// The caller's tokens and sessions.
pub struct Accounts<'a> {
    desk: &'a Desk,
}

impl Desk {
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts { desk: self }
    }
}

impl Accounts<'_> {
    pub async fn tokens(&self, user: &User) -> Result<Vec<TokenRecord>> {
        Ok(self.desk.store.tokens(user.id).await?)
    }

    pub async fn create_token(&self, user: &User, request: &TokenRequest) -> Result<IssuedToken> {
        let issued = self.desk.issue_token(user, request).await?;
        let record = &issued.record;
        self.desk
            .record_audit(
                user,
                AuditAction::TokenCreated,
                format!("token:{}", record.id),
                None,
                Some(token_json(record)),
            )
            .await?;
        Ok(issued)
    }

    /// Revokes one of the user's own tokens: it answers 401 from now on.
    pub async fn revoke_token(&self, user: &User, id: i64) -> Result<TokenRecord> {
        let revoked = self
            .desk
            .store
            .revoke_token(user.id, id)
            .await?
            .ok_or(DomainError::NotFound("token"))?;
        self.desk
            .record_audit(
                user,
                AuditAction::TokenRevoked,
                format!("token:{id}"),
                Some(token_json(&revoked)),
                None,
            )
            .await?;
        Ok(revoked)
    }

    /// The user's live sessions; `current_cookie` marks the one asking.
    pub async fn sessions(
        &self,
        user: &User,
        current_cookie: Option<&str>,
    ) -> Result<Vec<SessionRecord>> {
        let current = current_cookie.map(digest);
        Ok(self
            .desk
            .store
            .sessions(user.id, self.desk.now(), current.as_deref())
            .await?)
    }

    /// Signs the user out everywhere but the session asking (if any); answers how many
    /// sessions ended.
    pub async fn end_other_sessions(&self, user: &User, keep_cookie: Option<&str>) -> Result<u64> {
        let keep = keep_cookie.map(digest);
        Ok(self
            .desk
            .store
            .delete_sessions(user.id, keep.as_deref())
            .await?)
    }
}

/// A token as the audit log shows it (never its secret).
fn token_json(token: &TokenRecord) -> serde_json::Value {
    serde_json::json!({
        "name": token.name,
        "scope": token.scope.as_str(),
        "expires_at": token.expires_at.map(|t| t.to_string()),
    })
}
