//! What the Telegram bot needs from the database (issue 20): the accounts linked to
//! desk users, the one-time link codes, the updates taken in, the bot's message queue
//! (fed from the outbox and the alerts by a cursor moved in the same transaction) and its
//! own state (the `getUpdates` offset, the last update and error).

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

/// A Telegram account linked to a desk user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramLink {
    /// Telegram's user id (`from.id`).
    pub telegram_user: i64,
    /// The private chat the bot writes to.
    pub chat_id: i64,
    pub user_id: UserId,
    /// The account's `language_code` when linked or last seen.
    pub language: String,
    pub linked_at: Timestamp,
    /// The ticket the contact's messages go into.
    pub current_ticket: Option<TicketId>,
    /// The service chosen for a new ticket, waiting for its text.
    pub pending_service: Option<String>,
}

/// A message for the bot to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTelegramMessage {
    pub chat_id: i64,
    /// The ticket it is about: a reply to it goes into that ticket.
    pub ticket_id: Option<TicketId>,
    pub text: String,
    /// The inline keyboard as Telegram's JSON, if any.
    pub reply_markup: Option<String>,
}

/// A message in the bot's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramMessage {
    pub id: i64,
    pub chat_id: i64,
    pub ticket_id: Option<TicketId>,
    pub outbox_id: Option<i64>,
    pub text: String,
    pub reply_markup: Option<String>,
    pub created_at: Timestamp,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// Telegram's id of the sent message.
    pub message_id: Option<i64>,
    pub given_up_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// An outbox row as the Telegram dispatcher reads it.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub payload: String,
}

/// Where the dispatcher's cursors stand and what lies after them.
#[derive(Debug, Clone, Default)]
pub struct TelegramFeed {
    pub outbox_cursor: i64,
    pub outbox: Vec<OutboxEntry>,
    pub alert_cursor: i64,
    pub alerts: Vec<crate::Alert>,
}

/// Names in `telegram_state`.
pub mod state {
    /// The next `getUpdates` offset (the last update taken in + 1).
    pub const OFFSET: &str = "offset";
    /// When the last update came (unix ms).
    pub const LAST_UPDATE_AT: &str = "last_update_at";
    /// The last error talking to Telegram, with when (`<unix ms> <text>`); '' after a success.
    pub const LAST_ERROR: &str = "last_error";
    /// The webhook address and secret last set with `setWebhook` ('' after `deleteWebhook`).
    pub const WEBHOOK_SET: &str = "webhook_set";
}

#[async_trait]
pub trait TelegramStore: Send + Sync {
    /// Stores a one-time link code for the user (earlier unused codes of theirs are dropped).
    async fn create_telegram_code(
        &self,
        user: UserId,
        code: &str,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()>;
    /// Uses the code once: the user it was made for, or `None` (unknown, used or expired).
    async fn take_telegram_code(&self, code: &str, now: Timestamp) -> Result<Option<UserId>>;
    /// Links the account to the user (replacing either side's earlier link).
    async fn link_telegram(
        &self,
        telegram_user: i64,
        chat_id: i64,
        user: UserId,
        language: &str,
        at: Timestamp,
    ) -> Result<TelegramLink>;
    async fn unlink_telegram(&self, user: UserId) -> Result<bool>;
    async fn telegram_link(&self, telegram_user: i64) -> Result<Option<TelegramLink>>;
    async fn telegram_link_of(&self, user: UserId) -> Result<Option<TelegramLink>>;
    /// Links of active managers and admins (they get the alerts).
    async fn telegram_manager_links(&self) -> Result<Vec<TelegramLink>>;
    /// Sets the ticket the contact writes into and the service waiting for its text.
    async fn set_telegram_context(
        &self,
        telegram_user: i64,
        current_ticket: Option<TicketId>,
        pending_service: Option<&str>,
    ) -> Result<()>;
    /// Takes an update in once: `false` when it was taken before. Drops entries older than
    /// `forget_before`.
    async fn claim_telegram_update(
        &self,
        update_id: i64,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<bool>;
    async fn telegram_state(&self, name: &str) -> Result<Option<String>>;
    async fn set_telegram_state(&self, name: &str, value: &str) -> Result<()>;
    /// Moves the `getUpdates` offset forward only (never back).
    async fn advance_telegram_offset(&self, offset: i64) -> Result<()>;
    /// Queues messages (sent in id order).
    async fn queue_telegram(&self, messages: &[NewTelegramMessage], at: Timestamp) -> Result<()>;
    /// The dispatcher's cursors and up to `limit` outbox rows and alerts after them.
    async fn telegram_feed(&self, limit: u32) -> Result<TelegramFeed>;
    /// Queues the messages made from the feed and moves both cursors, in one transaction;
    /// `false` (nothing written) when another dispatcher moved them first.
    async fn queue_telegram_feed(
        &self,
        from: (i64, i64),
        to: (i64, i64),
        messages: &[(Option<i64>, NewTelegramMessage)],
        at: Timestamp,
    ) -> Result<bool>;
    /// Leases up to `limit` due messages until `lease_until`, oldest first.
    async fn lease_telegram(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TelegramMessage>>;
    async fn telegram_sent(&self, id: i64, message_id: i64, at: Timestamp) -> Result<()>;
    /// A failed attempt: tried again at `retry_at`, or given up when `None`.
    async fn telegram_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<()>;
    /// The ticket a sent bot message was about.
    async fn ticket_of_telegram_message(
        &self,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Option<TicketId>>;
    /// Queued messages after `after` (by id), oldest first.
    async fn telegram_messages(&self, after: i64, limit: u32) -> Result<Vec<TelegramMessage>>;
}
