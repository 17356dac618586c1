//! What the email channel needs from the database: Message-IDs for threading and
//! de-duplication, contacts by address and clients by mail domain, comments written with
//! their mail record in one transaction, the quarantine, vendors (line 4), and leasing
//! outbox rows for delivery.

use crate::{NewTask, Result};
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

/// The reserved client unknown senders' tickets wait under, in the "to register" list.
pub const UNREGISTERED_CLIENT: &str = "NEW";
pub const UNREGISTERED_CLIENT_NAME: &str = "Незарегистрированные обращения";

/// One message on a ticket, in or out.
#[derive(Debug, Clone)]
pub struct MailRecord {
    pub inbound: bool,
    pub message_id: String,
    pub ticket_id: Option<TicketId>,
    pub address: String,
    pub subject: String,
    pub raw_sha256: Option<String>,
    pub outbox_id: Option<i64>,
}

/// A comment that came by mail, with what else happens in its transaction.
#[derive(Debug, Clone)]
pub struct MailComment {
    pub comment: NewComment,
    pub record: MailRecord,
    /// A task to create with it (a vendor's answer puts one in line 1's queue).
    pub task: Option<NewTask>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedMail {
    pub id: i64,
    pub mailbox: String,
    pub reason: String,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub size: i64,
    pub received_at: Timestamp,
    pub attempts: i64,
    pub resolved_at: Option<Timestamp>,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vendor {
    pub code: String,
    pub name: String,
    pub support_email: String,
}

/// An outbox row leased for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait MailStore: Send + Sync {
    /// The ticket a stored message (in or out) with one of these ids belongs to; the first
    /// id that is known wins.
    async fn mail_ticket(&self, message_ids: &[String]) -> Result<Option<TicketId>>;
    /// Whether an inbound message with this key was taken in already, and on which ticket
    /// (also finds a ticket whose creation committed just before a crash).
    async fn mail_taken(&self, message_id: &str) -> Result<Option<Option<TicketId>>>;
    /// Records a message; `unregistered` also puts its ticket in the "to register" list.
    /// A record whose id is known already is left as it is.
    async fn record_mail(
        &self,
        record: &MailRecord,
        unregistered: bool,
        at: Timestamp,
    ) -> Result<()>;
    /// The Message-IDs on a ticket, oldest first (at most `limit`): a notification's
    /// In-Reply-To and References.
    async fn mail_thread(&self, ticket: TicketId, limit: u32) -> Result<Vec<String>>;
    /// Whether the ticket is registered (FALSE: it waits in the "to register" list).
    async fn ticket_registered(&self, ticket: TicketId) -> Result<Option<bool>>;
    /// Inbound messages from the address since the instant (the per-sender rate limit).
    async fn mail_count_from(&self, address: &str, since: Timestamp) -> Result<i64>;
    /// An outbound message was sent already (per-recipient idempotency).
    async fn mail_sent(&self, message_id: &str) -> Result<bool>;

    async fn client_by_mail_domain(&self, domain: &str) -> Result<Option<Client>>;
    /// The client with this code, created with this name if missing.
    async fn ensure_client(&self, code: &str, name: &str) -> Result<ClientId>;

    /// The comment, its history event, the outbox notice (public comments), the optional
    /// task and the mail record, in one transaction.
    async fn add_mail_comment(&self, comment: &MailComment, at: Timestamp) -> Result<Comment>;
    /// A delivery failure noted on the ticket (internal history).
    async fn record_bounce(&self, ticket: TicketId, detail: &str, at: Timestamp) -> Result<()>;

    async fn quarantine_mail(
        &self,
        mailbox: &str,
        reason: &str,
        sender: Option<&str>,
        subject: Option<&str>,
        raw: &[u8],
        at: Timestamp,
    ) -> Result<i64>;
    /// Open quarantine entries, newest first, after the keyset cursor.
    async fn quarantined(&self, after: Option<i64>, limit: u32) -> Result<Vec<QuarantinedMail>>;
    async fn quarantined_raw(&self, id: i64) -> Result<Option<(QuarantinedMail, Vec<u8>)>>;
    /// Closes an entry (`resolution`: what became of it) or, with `None`, counts a failed retry.
    async fn resolve_quarantine(
        &self,
        id: i64,
        resolution: Option<&str>,
        at: Timestamp,
    ) -> Result<()>;

    async fn upsert_vendor(&self, vendor: &Vendor) -> Result<()>;
    async fn vendor(&self, code: &str) -> Result<Option<Vendor>>;
    async fn vendor_by_email(&self, email: &str) -> Result<Option<Vendor>>;
    /// Hands the ticket to the vendor: the link, an internal history event and an outbox
    /// `vendor_transfer` row (idempotency key `vendor:<ticket>:<code>`), in one transaction.
    async fn transfer_to_vendor(
        &self,
        ticket: TicketId,
        vendor: &str,
        by: UserId,
        text: &str,
        at: Timestamp,
    ) -> Result<()>;

    /// Queues a side effect; a second row with the same key is not added.
    async fn enqueue_outbox(
        &self,
        kind: &str,
        payload: &str,
        idempotency_key: &str,
        at: Timestamp,
    ) -> Result<()>;
    /// Leases the next due undelivered row of one of `kinds` until `lease_until`.
    async fn claim_outbox(
        &self,
        kinds: &[&str],
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<OutboxMessage>>;
    async fn outbox_delivered(&self, id: i64, at: Timestamp) -> Result<()>;
    /// A failed attempt: try again at `next_attempt_at`, or never (`None`: given up).
    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<Timestamp>,
    ) -> Result<()>;
}
