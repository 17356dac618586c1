//! What the admin pages read and change about people (issue 8): every user with the pools
//! they take tasks from and whether they may log in.

use crate::Result;
use async_trait::async_trait;
use okno_domain::*;

/// A user as an admin sees it.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: User,
    pub pools: Vec<String>,
    pub active: bool,
    /// The client's code, for a client contact.
    pub client_code: Option<String>,
}

/// A user's new role, lines, pools and state (the e-mail stays: it is the login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChange {
    pub name: String,
    pub role: Role,
    pub client_id: Option<ClientId>,
    pub lines: Vec<Line>,
    pub pools: Vec<String>,
    pub active: bool,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Users by id after `after` (keyset), at most `limit`.
    async fn user_records(&self, after: Option<UserId>, limit: u32) -> Result<Vec<UserRecord>>;
    async fn user_record(&self, id: UserId) -> Result<Option<UserRecord>>;
    /// Changes the user in one transaction; a deactivated user's sessions and API tokens
    /// end with it. `NotFound("user")` when there is none.
    async fn update_user(&self, id: UserId, change: &UserChange) -> Result<()>;
}
