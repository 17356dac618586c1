//! What the channels beside mail and the portal need from the database (issue 20): contacts
//! by phone, the calls a PBX reports, and the channels' settings.

use crate::Result;
use crate::contracts::Contact;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::channels::CallState;
use okno_domain::*;

/// A call as the desk recorded it from its PBX's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub id: i64,
    /// `generic` (our own JSON) or the provider whose webhook reported it (`mango`).
    pub provider: String,
    /// The PBX's id of the call.
    pub call_id: String,
    /// The numbers as the PBX sent them.
    pub from_number: String,
    pub to_number: String,
    /// The caller's canonical number, when it could be read.
    pub from_key: Option<String>,
    pub contact_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub state: CallState,
    /// Who answered (the PBX's extension or the specialist's email), when known.
    pub agent: Option<String>,
    pub started_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub duration_s: Option<i64>,
    pub recording_url: Option<String>,
    pub ticket_id: Option<TicketId>,
}

/// A call's first event: the row it starts (state `ringing` or whatever came first).
#[derive(Debug, Clone)]
pub struct NewCall {
    pub provider: String,
    pub call_id: String,
    pub from_number: String,
    pub to_number: String,
    pub from_key: Option<String>,
    pub contact_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub at: Timestamp,
}

/// A move of a call's state, written only if the call is still in `from` (so of two
/// deliveries of one event exactly one moves it).
#[derive(Debug, Clone)]
pub struct CallMove {
    pub id: i64,
    pub from: CallState,
    pub to: CallState,
    pub at: Timestamp,
    pub agent: Option<String>,
    pub duration_s: Option<i64>,
    pub recording_url: Option<String>,
}

/// An outgoing webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// The event codes it wants (`ticket.created`, …).
    pub events: Vec<String>,
    pub secret: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// `false` once disabled after repeated failures (or deleted).
    pub active: bool,
    /// Failed deliveries in a row.
    pub failures: i64,
    pub disabled_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub created_by: UserId,
    pub at: Timestamp,
}

/// One event for one subscription, with how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    /// The JSON body, fixed when the delivery was made.
    pub body: String,
    pub created_at: Timestamp,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub given_up_at: Option<Timestamp>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

/// A delivery leased for sending, with where and how to sign it.
#[derive(Debug, Clone)]
pub struct LeasedDelivery {
    pub delivery: WebhookDelivery,
    pub url: String,
    pub secret: String,
}

/// A ticket history entry as the webhook dispatcher reads it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: i64,
    pub ticket_id: TicketId,
    pub client_code: String,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub kind: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub public: bool,
}

/// A delivery to write: the subscription, the event code and the body.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub event: String,
    pub body: String,
}

/// How one attempt of a delivery went.
#[derive(Debug, Clone)]
pub enum DeliveryResult {
    Delivered {
        status: i64,
    },
    /// Failed; tried again at `retry_at`, or given up when `None`.
    Failed {
        status: Option<i64>,
        error: String,
        retry_at: Option<Timestamp>,
    },
}

#[async_trait]
pub trait ChannelStore: Send + Sync {
    /// The active contact whose phone has this canonical key; the lowest id when several
    /// share one.
    async fn contact_by_phone(&self, key: &str) -> Result<Option<Contact>>;
    /// Contacts written before phone keys existed get theirs ('' for a phone that cannot be
    /// read); returns how many were keyed.
    async fn key_phones(&self) -> Result<u64>;
    /// The call's row, creating it from `call` on its first event.
    async fn open_call(&self, call: &NewCall) -> Result<CallRecord>;
    /// Moves the call; `false` when another event moved it first.
    async fn move_call(&self, step: &CallMove) -> Result<bool>;
    /// Logs the call on the ticket (its first ticket stays: `false` if it had one).
    async fn log_call(&self, call: i64, ticket: TicketId) -> Result<bool>;
    /// Adds the recording link or duration a later event brings to a finished call.
    async fn complete_call(
        &self,
        call: i64,
        duration_s: Option<i64>,
        recording_url: Option<&str>,
    ) -> Result<()>;
    async fn call(&self, id: i64) -> Result<Option<CallRecord>>;
    async fn call_by_provider_id(
        &self,
        provider: &str,
        call_id: &str,
    ) -> Result<Option<CallRecord>>;
    /// Calls since `since`, newest first.
    async fn recent_calls(&self, since: Timestamp, limit: u32) -> Result<Vec<CallRecord>>;
    /// The calls logged on a ticket, oldest first.
    async fn ticket_calls(&self, ticket: TicketId) -> Result<Vec<CallRecord>>;

    // Outgoing webhooks.
    async fn create_webhook(&self, webhook: &NewWebhook) -> Result<Webhook>;
    /// Subscriptions not deleted, oldest first.
    async fn webhooks(&self) -> Result<Vec<Webhook>>;
    async fn webhook(&self, id: i64) -> Result<Option<Webhook>>;
    /// Deletes the subscription (its log stays); `false` if there was none.
    async fn delete_webhook(&self, id: i64, at: Timestamp) -> Result<bool>;
    /// A subscription's deliveries, newest first, before the keyset cursor `before`.
    async fn webhook_deliveries(
        &self,
        webhook: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>>;
    /// The dispatcher's cursor into the ticket history and up to `limit` entries after it.
    async fn history_after_cursor(&self, limit: u32) -> Result<(i64, Vec<HistoryEntry>)>;
    /// Writes the deliveries and moves the cursor from `from` to `to`, in one transaction;
    /// `false` (and nothing written) when another dispatcher moved it first.
    async fn enqueue_deliveries(
        &self,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        at: Timestamp,
    ) -> Result<bool>;
    /// Leases up to `limit` due deliveries of active subscriptions until `lease_until`.
    async fn lease_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<LeasedDelivery>>;
    /// Records an attempt. A failure counts against the subscription; at `disable_after`
    /// failures in a row it is disabled and `true` is returned (once: to alert the admin).
    async fn finish_delivery(
        &self,
        delivery: i64,
        result: &DeliveryResult,
        at: Timestamp,
        disable_after: i64,
    ) -> Result<bool>;

    /// Bulk-loads contacts `(email, name, phone)` of one client in one transaction, with
    /// their phone keys (benchmarks and demo data).
    async fn load_contacts(
        &self,
        client: ClientId,
        contacts: &[(String, String, String)],
        at: Timestamp,
    ) -> Result<()>;

    /// Web form posts under `key` since `since`.
    async fn form_posts_since(&self, key: &str, since: Timestamp) -> Result<i64>;
    /// Counts a post under `key`, dropping the key's posts older than a day.
    async fn record_form_post(&self, key: &str, at: Timestamp) -> Result<()>;

    /// A channel setting (`None`: never set).
    async fn channel_setting(&self, name: &str) -> Result<Option<String>>;
    async fn set_channel_setting(&self, name: &str, value: &str, at: Timestamp) -> Result<()>;
}
