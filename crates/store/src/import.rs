//! What importers from other systems write (issue 23): each ticket with its whole history
//! in one transaction, and the links from source ids to the rows they became, so that a
//! re-run updates instead of duplicating.

use crate::{NewTask, Result};
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

/// A file already in the attachment store, to be attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// One piece of a ticket's history as the source recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportedChange {
    /// A message: public, or an internal note; its files hang on it.
    Comment {
        author: UserId,
        body: String,
        internal: bool,
        files: Vec<ImportedFile>,
    },
    Status {
        by: Option<UserId>,
        before: TicketStatus,
        after: TicketStatus,
    },
    /// Any other recorded change (a custom field, the assignee, the priority): staff only.
    Field {
        by: Option<UserId>,
        name: String,
        before: Option<String>,
        after: Option<String>,
    },
    /// A file on the ticket itself.
    File { by: UserId, file: ImportedFile },
    /// Work logged on the ticket.
    Time {
        user: UserId,
        stopped_at: Timestamp,
        note: String,
    },
}

/// A change with its source id (unique within the ticket's source) and when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedItem {
    pub external_id: String,
    pub at: Timestamp,
    pub change: ImportedChange,
}

/// A ticket as the source has it now, mapped onto this desk.
#[derive(Debug, Clone)]
pub struct ImportedTicket {
    /// The source system, e.g. `redmine:https://rm.example.org`.
    pub source: String,
    /// The source's ticket id.
    pub external_id: String,
    /// How people name it there, e.g. `Redmine #1234`: kept and searchable.
    pub label: String,
    /// The source's last change of the ticket; the same stamp again means nothing changed.
    pub stamp: String,
    pub service: String,
    pub subject: String,
    pub description: String,
    pub client_id: ClientId,
    pub requester_id: UserId,
    pub status: TicketStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// In source order; items already imported by an earlier run are skipped.
    pub items: Vec<ImportedItem>,
    /// For a ticket still open: the task that puts it before a person here (made once).
    pub open_task: Option<NewTask>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Created(TicketId),
    /// Updated with this many new history items.
    Updated(TicketId, usize),
    /// Already imported with the same stamp: nothing written.
    Unchanged(TicketId),
}

impl ImportOutcome {
    pub fn ticket(self) -> TicketId {
        match self {
            Self::Created(id) | Self::Updated(id, _) | Self::Unchanged(id) => id,
        }
    }
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// The row a source item became (`kind`: `client`, `user`, `ticket`, …) and its stamp.
    async fn import_link(
        &self,
        source: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<Option<(i64, String)>>;
    /// Records that a source client or user is this row (idempotent).
    async fn link_import(
        &self,
        source: &str,
        kind: &str,
        external_id: &str,
        okno_id: i64,
    ) -> Result<()>;
    /// Writes the ticket, its new history items, files and time in one transaction:
    /// created the first time, updated with what is new afterwards, untouched when its
    /// stamp has not changed.
    async fn import_ticket(&self, ticket: &ImportedTicket) -> Result<ImportOutcome>;
    /// The source labels of a ticket (e.g. `Redmine #1234`).
    async fn import_labels(&self, ticket: TicketId) -> Result<Vec<String>>;
}
