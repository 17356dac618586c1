//! Clients with their full record, contacts, contracts with limits and live usage, the
//! "to register" list, contract lifecycle bookkeeping, invoices and client equipment
//! (issue 6).
//!
//! Usage of ticket limits is kept in counters (`contract_usage`), bumped in the new
//! ticket's own transaction ([`crate::ChangeStep::ClaimUsage`]) by one conditional statement
//! per counter, so two tickets created at once never both take the last allowed place and a
//! ticket not created counts nothing; hours are summed from `time_entries` when asked. Days are civil dates (ISO text in the
//! database); money is in kopecks.

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use okno_domain::*;

/// A client organization with everything staff see about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: ClientId,
    pub code: String,
    pub name: String,
    pub mail_domain: Option<String>,
    pub calendar: Option<String>,
    /// The priority flag: this client's tickets go first.
    pub vip: bool,
    pub time_zone: Option<String>,
    /// Staff only.
    pub notes: String,
    /// Staff only: how line 1 reaches the client's systems.
    pub access_notes: String,
    pub external_id: Option<String>,
}

/// A client to create or update: found by `external_id` when given, else by `code`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientUpsert {
    pub code: String,
    pub name: String,
    pub mail_domain: Option<String>,
    pub calendar: Option<String>,
    pub vip: bool,
    pub time_zone: Option<String>,
    pub notes: String,
    pub access_notes: String,
    pub external_id: Option<String>,
}

/// A person at a client (a user with the `client` role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: UserId,
    pub client_id: ClientId,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub telegram_id: Option<String>,
    /// Sees the whole organization's tickets, not only their own.
    pub sees_organization: bool,
    pub director: bool,
    pub external_id: Option<String>,
    pub active: bool,
}

/// A contact to create or update: found by `external_id` when given, else by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactUpsert {
    pub client_id: ClientId,
    pub email: Email,
    pub name: String,
    pub phone: Option<String>,
    pub telegram_id: Option<String>,
    pub sees_organization: bool,
    pub director: bool,
    pub external_id: Option<String>,
}

/// What a contract allows; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub tickets_per_contact_day: Option<i64>,
    pub tickets_per_month: Option<i64>,
    pub hours_per_month: Option<i64>,
    pub license_keys: Option<i64>,
}

/// A contract's terms, as saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractTerms {
    pub number: String,
    pub client_id: ClientId,
    pub starts_on: Date,
    pub ends_on: Date,
    pub support_level: Option<String>,
    /// Service codes covered; empty: every service.
    pub services: Vec<String>,
    /// Per month, kopecks.
    pub tariff: i64,
    /// Per hour over the limit (and billed work in working hours), kopecks.
    pub hourly_rate: i64,
    /// Per hour of billed work outside working hours, kopecks.
    pub after_hours_rate: i64,
    /// Billed time is rounded up to a multiple of this (0: to the minute).
    pub rounding_minutes: i64,
    /// Services whose time is billed; empty: every service.
    pub billable_services: Vec<String>,
    pub limits: Limits,
    /// `accept_and_flag`, `offer_extension`, `defer` or `refuse`.
    pub limit_reaction: String,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub id: i64,
    pub client_code: String,
    /// The client's time zone (IANA), in which days and months are counted.
    pub client_time_zone: Option<String>,
    pub terms: ContractTerms,
}

impl Contract {
    /// Whether the contract covers the service (an empty list covers all).
    pub fn covers(&self, service: &str) -> bool {
        self.terms.services.is_empty() || self.terms.services.iter().any(|s| s == service)
    }

    pub fn active_on(&self, day: Date) -> bool {
        self.terms.starts_on <= day && day <= self.terms.ends_on
    }
}

/// One usage counter a new ticket bumps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageClaim {
    pub counter: String,
    /// Bumped only while the counter is below this; `None`: counted whatever the count (a
    /// ticket accepted over a limit still counts).
    pub limit: Option<i64>,
}

/// What a ticket is registered with (seed 003): our side's particulars, filled from the
/// configured defaults when it is created, and the client's equipment it is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    pub company: String,
    pub department: String,
    /// The owner's email: a staff member (anyone else leaves the ticket without an owner).
    pub owner: Option<String>,
    pub category: String,
    pub priority: String,
    pub line: Option<i64>,
    pub support_level: String,
    pub equipment: Option<i64>,
}

/// A ticket waiting in line 1's "to register" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnregisteredTicket {
    pub ticket_id: TicketId,
    pub subject: String,
    pub service: String,
    pub client_code: String,
    pub requester_email: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    pub number: String,
    pub client_id: ClientId,
    pub contract_id: i64,
    pub period_start: Date,
    pub period_end: Date,
    pub tariff_amount: i64,
    pub extra_minutes: i64,
    pub extra_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: i64,
    pub number: String,
    pub client_id: ClientId,
    pub client_code: String,
    pub contract_id: i64,
    pub contract_number: String,
    pub period_start: Date,
    pub period_end: Date,
    pub tariff_amount: i64,
    pub extra_minutes: i64,
    pub extra_amount: i64,
    pub amount: i64,
    /// `draft`, `sent` or `paid`.
    pub status: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub paid_at: Option<Timestamp>,
}

/// Paid invoices of one month and client (the month of `paid_at`, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueRow {
    pub month: String,
    pub client_code: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquipmentInput {
    pub client_id: ClientId,
    pub site: String,
    pub kind: String,
    pub model: String,
    pub serial: String,
    pub warranty_until: Option<Date>,
    pub notes: String,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equipment {
    pub id: i64,
    pub client_code: String,
    pub item: EquipmentInput,
}

/// One interval of specialist work on a client's ticket, for reports and billing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkEntry {
    pub ticket_id: TicketId,
    pub subject: String,
    pub service: String,
    pub task_kind: Option<String>,
    pub user_name: String,
    pub started_at: Timestamp,
    pub stopped_at: Timestamp,
}

#[async_trait]
pub trait ContractStore: Send + Sync {
    /// Creates or updates a client; `true` when it was created.
    async fn upsert_client(&self, client: &ClientUpsert) -> Result<(ClientId, bool)>;
    async fn client_record(&self, id: ClientId) -> Result<Option<ClientRecord>>;
    /// Clients by code, after `after` (keyset).
    async fn client_records(&self, after: Option<&str>, limit: u32) -> Result<Vec<ClientRecord>>;

    /// Creates or updates a contact; `true` when it was created.
    async fn upsert_contact(&self, contact: &ContactUpsert) -> Result<(UserId, bool)>;
    async fn contacts(&self, client: ClientId) -> Result<Vec<Contact>>;

    /// Saves a contract: `id` updates that one, else it is found by external id or
    /// number, else created. Refuses (422 `starts_on`) a period overlapping another
    /// contract of the client for a common service, checked in the same transaction.
    async fn save_contract(
        &self,
        id: Option<i64>,
        terms: &ContractTerms,
        at: Timestamp,
    ) -> Result<(i64, bool)>;
    async fn contract(&self, id: i64) -> Result<Option<Contract>>;
    async fn contract_by_number(&self, number: &str) -> Result<Option<Contract>>;
    /// The contract the accounting system knows by `external_id`.
    async fn contract_by_external_id(&self, external_id: &str) -> Result<Option<Contract>>;
    /// The client the accounting system knows by `external_id`.
    async fn client_by_external_id(&self, external_id: &str) -> Result<Option<ClientRecord>>;
    /// Contracts of a client (all clients: `None`), newest first after `after` (keyset on id).
    async fn contracts(
        &self,
        client: Option<ClientId>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Contract>>;
    /// The client's contracts in force on some day of `from..=to`.
    async fn contracts_overlapping(
        &self,
        client: ClientId,
        from: Date,
        to: Date,
    ) -> Result<Vec<Contract>>;
    /// Every client's contracts with a monthly hours limit in force on some day of
    /// `from..=to` (what the deadline watch adds the month's hours up against).
    async fn hours_limited_contracts(&self, from: Date, to: Date) -> Result<Vec<Contract>>;
    /// Contracts starting (`starting`) or ending within `from..=to`.
    async fn contracts_between(
        &self,
        starting: bool,
        from: Date,
        to: Date,
    ) -> Result<Vec<Contract>>;

    async fn usage(&self, contract: i64, counter: &str) -> Result<i64>;
    /// Minutes logged on the client's tickets in `from..to` (running entries up to `now`).
    async fn client_minutes(
        &self,
        client: ClientId,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<i64>;
    /// The client's ticket most recently worked on in `from..to` (the one a used-up hours
    /// limit's alert is filed on).
    async fn last_worked_ticket(
        &self,
        client: ClientId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Option<TicketId>>;
    /// Specialist work on the client's tickets started in `from..to`, finished entries only.
    async fn work_entries(
        &self,
        client: ClientId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<WorkEntry>>;

    /// What the ticket was registered with (empty fields for tickets older than that).
    async fn ticket_registration(&self, ticket: TicketId) -> Result<Option<Registration>>;
    /// The limit a ticket was over when it arrived, if any.
    async fn ticket_over_limit(&self, ticket: TicketId) -> Result<Option<String>>;
    async fn unregistered_tickets(
        &self,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<UnregisteredTicket>>;
    /// Line 1 registers a ticket: its client and requester are set and it leaves the list.
    async fn register_ticket(
        &self,
        ticket: TicketId,
        client: ClientId,
        requester: UserId,
        by: UserId,
        at: Timestamp,
    ) -> Result<()>;

    /// Records a lifecycle step once and queues its outbox message in the same
    /// transaction; `false` when it was done before.
    async fn contract_event(
        &self,
        contract: i64,
        kind: &str,
        outbox: Option<(OutboxKind, serde_json::Value)>,
        at: Timestamp,
    ) -> Result<bool>;

    /// Queues a side effect on its own (a report to send, say).
    async fn enqueue_notice(
        &self,
        kind: OutboxKind,
        payload: serde_json::Value,
        at: Timestamp,
    ) -> Result<()>;

    /// A draft invoice, once per contract and period; `None` when it exists already.
    async fn create_invoice(&self, invoice: &NewInvoice, at: Timestamp) -> Result<Option<Invoice>>;
    async fn invoices(
        &self,
        client: Option<ClientId>,
        status: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Invoice>>;
    async fn invoice(&self, id: i64) -> Result<Option<Invoice>>;
    /// Moves an invoice forward: draft → sent → paid.
    async fn set_invoice_status(&self, id: i64, status: &str, at: Timestamp) -> Result<Invoice>;
    /// Paid amounts per month and client, months `from..to` (`YYYY-MM`, UTC).
    async fn revenue(&self, from: Timestamp, to: Timestamp) -> Result<Vec<RevenueRow>>;

    /// Creates (`id` None) or updates equipment; found by external id when given.
    async fn save_equipment(&self, id: Option<i64>, item: &EquipmentInput) -> Result<i64>;
    async fn equipment(&self, id: i64) -> Result<Option<Equipment>>;
    async fn client_equipment(&self, client: ClientId) -> Result<Vec<Equipment>>;
    /// Links a ticket to a piece of the same client's equipment.
    async fn link_equipment(
        &self,
        ticket: TicketId,
        equipment: i64,
        by: UserId,
        at: Timestamp,
    ) -> Result<()>;
    /// The equipment a ticket is about.
    async fn ticket_equipment(&self, ticket: TicketId) -> Result<Option<Equipment>>;
    /// Keys issued to the client before `before` (a contract's key limit counts from its start).
    async fn license_keys_before(&self, client: ClientId, before: Timestamp) -> Result<i64>;
    /// Tickets about the equipment, newest first.
    async fn equipment_tickets(&self, equipment: i64) -> Result<Vec<TicketId>>;
}
