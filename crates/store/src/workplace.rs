//! What the workplaces' pages read beyond the tickets themselves (issue 19): a person's own
//! settings (the time zone their pages show times in) and the short lines the work queue
//! shows beside each task.

use crate::Result;
use async_trait::async_trait;
use okno_domain::{TicketId, UserId};

/// The most tickets [`WorkplaceStore::ticket_briefs`] reads at once (a queue page).
pub const BRIEFS_MAX: usize = 200;

/// A ticket in one line: what the queue shows beside its task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketBrief {
    pub id: TicketId,
    pub subject: String,
    pub client_code: String,
    pub client_name: String,
}

#[async_trait]
pub trait WorkplaceStore {
    /// The IANA zone the person chose, if any.
    async fn user_time_zone(&self, user: UserId) -> Result<Option<String>>;
    /// Sets the person's zone; `None` returns to the default.
    async fn set_user_time_zone(&self, user: UserId, zone: Option<&str>) -> Result<()>;
    /// The briefs of these tickets (at most [`BRIEFS_MAX`]; the rest are not read), in
    /// no particular order; unknown ids are left out. The caller has checked visibility.
    async fn ticket_briefs(&self, tickets: &[TicketId]) -> Result<Vec<TicketBrief>>;
}
