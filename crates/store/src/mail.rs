//! What the email channel needs from the database: Message-IDs for threading and
//! de-duplication, contacts by address and clients by mail domain, comments written with
//! their mail record in one transaction, the quarantine, vendors (line 4), and leasing
//! outbox rows for delivery.

use crate::Result;
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

/// A message taken in by mail, carried by the change that takes it in
/// ([`crate::ChangeStep::Mail`]) and written in that change's transaction: its record with
/// the raw message, its attachments' rows and, on an existing ticket, its comment. The key
/// is unique: a change carrying a key taken in already fails with the conflict
/// [`MAIL_TAKEN`] and changes nothing, so two pollers never take one message in twice.
#[derive(Clone)]
pub struct MailIn {
    /// The Message-ID, or `sha256:<hex>` of the raw message when it has none.
    pub key: String,
    /// SHA-256 of what the message says (sender, subject, texts, attachments), without
    /// the transport's headers: with the key, what makes it the same message again.
    pub content_sha256: String,
    pub address: String,
    pub subject: String,
    /// The message as it came (quotes and signatures included).
    pub raw: Vec<u8>,
    /// The comment's author and the attachments' uploader.
    pub author: UserId,
    /// The comment it adds (`None`: the message opened the ticket).
    pub comment: Option<MailText>,
    /// Attachments whose bytes are in the file store already.
    pub attachments: Vec<MailAttachment>,
}

impl std::fmt::Debug for MailIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailIn")
            .field("key", &self.key)
            .field("address", &self.address)
            .field("raw_bytes", &self.raw.len())
            .field("comment", &self.comment)
            .field("attachments", &self.attachments)
            .finish()
    }
}

/// The comment an inbound message adds to its ticket.
#[derive(Debug, Clone)]
pub struct MailText {
    pub body: String,
    pub internal: bool,
}

#[derive(Debug, Clone)]
pub struct MailAttachment {
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// The conflict a change carrying a message taken in already fails with.
pub const MAIL_TAKEN: &str = "the message was taken in already";

/// Whether the error is [`MAIL_TAKEN`].
pub fn is_mail_taken(error: &crate::StoreError) -> bool {
    matches!(error, crate::StoreError::Domain(DomainError::Conflict(m)) if m == MAIL_TAKEN)
}

/// What the inbound pipeline needs to know about a message's sender, read at once.
#[derive(Debug, Clone, Default)]
pub struct SenderFacts {
    /// An inbound message with the message's key was taken in already.
    pub taken: bool,
    /// Inbound messages from the address since the instant asked (the per-sender limit).
    pub recent: i64,
    /// The vendor (line 4) writing from the address.
    pub vendor: Option<Vendor>,
    /// The active user with the address.
    pub user: Option<User>,
    /// The calendar of the user's client, if it has one.
    pub calendar: Option<String>,
}

/// A message put aside, with the mailbox it came to (its service and default client are
/// used again when it is retried).
#[derive(Debug, Clone, Copy)]
pub struct Quarantine<'a> {
    pub mailbox: &'a str,
    pub service: &'a str,
    pub default_client: Option<&'a str>,
    pub reason: &'a str,
    pub sender: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub raw: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedMail {
    pub id: i64,
    pub mailbox: String,
    /// The mailbox's service and default client (`None` on entries from before they were kept).
    pub service: Option<String>,
    pub default_client: Option<String>,
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

/// An outbox row as it stands: pending, delivered (a message sent, `ended` empty), ended
/// without a message (`ended` says why), or given up after failures (`last_error`, and
/// `next_attempt_at` far away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    /// The stored kind (text: a row from another version may name a kind unknown here).
    pub kind: String,
    pub created_at: Timestamp,
    pub attempts: i64,
    pub delivered_at: Option<Timestamp>,
    pub ended: Option<String>,
    pub last_error: Option<String>,
    /// `None` once given up.
    pub next_attempt_at: Option<Timestamp>,
    /// Messages recorded as sent for the row (`mail_messages.outbox_id`): 1 when delivered.
    pub messages: i64,
}

impl OutboxRow {
    /// Done with: a message sent, ended with a reason, or given up with its error.
    pub fn settled(&self) -> bool {
        self.delivered_at.is_some() || self.next_attempt_at.is_none()
    }
}

/// An outbox row leased for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: Timestamp,
    /// An earlier lease handed the message to the mail server and recorded no outcome.
    pub handed_at: Option<Timestamp>,
}

#[async_trait]
pub trait MailStore: Send + Sync {
    /// The ticket a stored message (in or out) with one of these ids belongs to; the first
    /// id that is known wins.
    async fn mail_ticket(&self, message_ids: &[String]) -> Result<Option<TicketId>>;
    /// The sender's facts for a message with this key and content from this address
    /// (`user_email`: the address as a valid email, if it is one); `recent` counts since
    /// `since`.
    async fn mail_sender(
        &self,
        key: &str,
        content_sha256: &str,
        address: &str,
        user_email: Option<&Email>,
        since: Timestamp,
    ) -> Result<SenderFacts>;
    /// Records an outbound message. A record whose id is known already is left as it is.
    async fn record_mail(&self, record: &MailRecord, at: Timestamp) -> Result<()>;
    /// The Message-IDs on a ticket, oldest first (at most `limit`): a notification's
    /// In-Reply-To and References.
    async fn mail_thread(&self, ticket: TicketId, limit: u32) -> Result<Vec<String>>;
    /// Whether the ticket is registered (FALSE: it waits in the "to register" list).
    async fn ticket_registered(&self, ticket: TicketId) -> Result<Option<bool>>;
    /// An outbound message was sent already (per-recipient idempotency).
    async fn mail_sent(&self, message_id: &str) -> Result<bool>;

    async fn client_by_mail_domain(&self, domain: &str) -> Result<Option<Client>>;
    /// The active users of a role (the managers a contract alert goes to), by id.
    async fn active_users_of(&self, role: Role) -> Result<Vec<User>>;
    /// The client with this code, created with this name if missing.
    async fn ensure_client(&self, code: &str, name: &str) -> Result<ClientId>;

    /// A delivery failure noted on the ticket (internal history).
    async fn record_bounce(&self, ticket: TicketId, detail: &str, at: Timestamp) -> Result<()>;

    async fn quarantine_mail(&self, entry: &Quarantine<'_>, at: Timestamp) -> Result<i64>;
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
    /// Whether the ticket was handed to the vendor (only then may its mail post there).
    async fn handed_to_vendor(&self, ticket: TicketId, vendor: &str) -> Result<bool>;
    async fn vendor(&self, code: &str) -> Result<Option<Vendor>>;
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
        kind: OutboxKind,
        payload: &str,
        idempotency_key: &str,
        at: Timestamp,
    ) -> Result<()>;
    /// Leases the next due undelivered row of one of `kinds` until `lease_until`.
    async fn claim_outbox(
        &self,
        kinds: &[OutboxKind],
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<OutboxMessage>>;
    /// The row's message was sent (recorded in `mail_messages` with the row's id).
    async fn outbox_delivered(&self, id: i64, at: Timestamp) -> Result<()>;
    /// The row ends without a message, for `reason` (the requester wrote the comment
    /// themselves, the ticket is gone, nobody may be mailed …): never tried again.
    async fn outbox_ended(&self, id: i64, reason: &str, at: Timestamp) -> Result<()>;
    /// Every outbox row after `after` (by id), oldest first, at most `limit`: how each
    /// ended, for the admin and for the firm simulation's invariants.
    async fn outbox_rows(&self, after: Option<i64>, limit: u32) -> Result<Vec<OutboxRow>>;
    /// A failed attempt: try again at `next_attempt_at`, or never (`None`: given up).
    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<Timestamp>,
    ) -> Result<()>;
    /// The row's message is being handed to the mail server (`Some`), or the server
    /// refused it and it is certainly not sent (`None`).
    async fn outbox_handing(&self, id: i64, at: Option<Timestamp>) -> Result<()>;
    /// Undelivered rows with an error (failing and retried, or given up), newest first.
    async fn outbox_problems(&self, limit: u32) -> Result<Vec<OutboxRow>>;
    /// An admin's "send again" on an undelivered row: due at `at`, its error and handoff
    /// forgotten. False when the row is delivered or ended already (or does not exist).
    async fn outbox_retry(&self, id: i64, at: Timestamp) -> Result<bool>;
}
