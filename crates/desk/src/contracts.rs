//! Clients, contacts, contracts and limits (issue 6): what was promised and what was used.
//!
//! Input arrives as plain strings and numbers (API, import files) and is parsed here, once,
//! into the store's records; bad input is a 422 naming the field. Ticket admission
//! ([`Desk::admit`]) runs on the hot path of ticket creation: one indexed read for the
//! client's contracts in force, and only for contracts with ticket limits one write that
//! bumps the usage counters atomically.

use crate::{Desk, Result, viewer};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use okno_domain::policy::Action;
use okno_domain::*;
use okno_store::{
    ChangeStep, ClientRecord, ClientUpsert, Contact, ContactUpsert, Contract, ContractTerms,
    EquipmentInput, Limits, NewAlert, Registration, StoreError, UsageClaim,
};

/// The time zone days and months are counted in when a client has none.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Moscow";

/// What happens when a contract's limit is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReaction {
    /// The ticket is accepted and flagged for the manager.
    AcceptAndFlag,
    /// Accepted; the client gets an offer to extend, the manager an alert.
    OfferExtension,
    /// Accepted; its deadlines start in the next period, and the client is told.
    Defer,
    /// Not accepted, with a clear message.
    Refuse,
}

impl LimitReaction {
    pub const ALL: [&str; 4] = ["accept_and_flag", "offer_extension", "defer", "refuse"];

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "accept_and_flag" => Self::AcceptAndFlag,
            "offer_extension" => Self::OfferExtension,
            "defer" => Self::Defer,
            "refuse" => Self::Refuse,
            _ => return None,
        })
    }
}

/// A limit as given: `{value, unit, per}`, e.g. 3 tickets per contact_day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitInput {
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub per: Option<String>,
}

/// A client as given by the API or an import row.
#[derive(Debug, Clone, Default)]
pub struct ClientInput {
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

/// A contact as given by the API or an import row.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    pub client: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub telegram_id: Option<String>,
    pub sees_organization: bool,
    pub director: bool,
    pub external_id: Option<String>,
}

/// A contract as given by the API or an import row. Money in roubles.
#[derive(Debug, Clone, Default)]
pub struct ContractInput {
    pub number: String,
    pub client: String,
    pub starts_on: String,
    pub ends_on: String,
    pub support_level: Option<String>,
    pub services: Vec<String>,
    pub tariff: f64,
    pub hourly_rate: f64,
    pub after_hours_rate: f64,
    pub rounding_minutes: i64,
    pub billable_services: Vec<String>,
    pub limits: Vec<LimitInput>,
    pub limit_reaction: Option<String>,
    pub external_id: Option<String>,
}

/// A contract's use of its limits now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractUsage {
    pub contract: Contract,
    pub active: bool,
    /// Tickets counted against the contract this month.
    pub tickets_this_month: i64,
    pub minutes_this_month: i64,
    /// Minutes over the month's hour limit (0 when within it or without one).
    pub minutes_over_limit: i64,
    pub license_keys_used: i64,
}

/// How a new ticket is taken: decided from reads before it is written, carried out in the
/// ticket's own transaction ([`Admission::steps`]), and finished after it
/// ([`Desk::admitted`]).
#[derive(Debug, Clone, Default)]
pub struct Admission {
    contract: Option<AdmittedContract>,
    /// The usage counters the ticket bumps (capped while it is within its limits).
    claims: Vec<UsageClaim>,
    registered: bool,
    over_limit: Option<String>,
    message: Option<String>,
    /// The manager's alert: its text and its cause (one per client, limit and period).
    alert: Option<(String, okno_sla::AlertDecision)>,
    /// `defer`: the start of the next period, where the ticket's deadlines begin.
    deferred_to: Option<Timestamp>,
}

/// A monthly hours limit the client's logged time has reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedUpHours {
    pub client: ClientId,
    pub client_code: String,
    /// The contract's number.
    pub contract: String,
    /// The client's month, `2026-12`.
    pub period: String,
    pub limit_hours: i64,
    pub used_minutes: i64,
    /// The ticket last worked on, which the alert is filed on.
    pub ticket: TicketId,
}

/// What the over-limit path needs of the contract in force.
#[derive(Debug, Clone)]
struct AdmittedContract {
    id: i64,
    client: ClientId,
    /// Whose tickets the per-contact limit counts.
    requester: UserId,
    /// `ALFA (contract D-1)`, for the manager's alert.
    label: String,
    reaction: LimitReaction,
    support_level: Option<String>,
    zone: TimeZone,
    /// The client's day at arrival.
    today: Date,
}

impl Admission {
    /// The steps of the ticket's own change: the usage claims, and when not registered or
    /// over a limit the "to register" mark, the flag and the message the client gets.
    pub fn steps(&self) -> Vec<ChangeStep> {
        let mut steps = Vec::new();
        if let Some(contract) = &self.contract
            && !self.claims.is_empty()
        {
            steps.push(ChangeStep::ClaimUsage {
                contract: contract.id,
                claims: self.claims.clone(),
            });
        }
        if !self.registered || self.over_limit.is_some() {
            steps.push(ChangeStep::Admitted {
                registered: self.registered,
                over_limit: self.over_limit.clone(),
            });
        }
        steps.extend(self.message.clone().map(ChangeStep::PublicMessage));
        steps
    }

    /// Answers the ticket's write failing on a full counter: another ticket took the last
    /// place meanwhile, so this one is over that limit; the caller writes it again (once
    /// per limit at most: over a limit, nothing is capped). `refuse` ends here, with
    /// nothing written. Any other failure is handed back.
    pub(crate) fn retry_after(&mut self, failure: StoreError) -> Result<()> {
        match failure {
            StoreError::LimitReached { counter } if counter.starts_with("contact:") => {
                self.over("tickets_per_contact_day")
            }
            StoreError::LimitReached { .. } => self.over("tickets_per_month"),
            other => Err(other.into()),
        }
    }

    /// The ticket is over `limit`: the contract's reaction applies. `refuse` is an error
    /// naming `limit`; otherwise the ticket is accepted, counted without caps, flagged, and
    /// the client told (`defer` also moves its deadlines to the next period).
    fn over(&mut self, limit: &'static str) -> Result<()> {
        let Some(contract) = &self.contract else {
            return Ok(());
        };
        let today = contract.today;
        let next_period = if limit == "tickets_per_contact_day" {
            today.tomorrow().unwrap_or(today)
        } else {
            today.first_of_month().saturating_add(1.month())
        };
        let reaction = contract.reaction;
        if reaction == LimitReaction::Refuse {
            return Err(FieldError::new("limit", limit_text(limit, reaction, next_period)).into());
        }
        for claim in &mut self.claims {
            claim.limit = None;
        }
        self.over_limit = Some(match reaction {
            LimitReaction::Defer => format!("{limit}:defer:{next_period}"),
            LimitReaction::OfferExtension => format!("{limit}:offer_extension"),
            _ => limit.to_owned(),
        });
        let text = limit_text(limit, reaction, next_period);
        self.message = (!text.is_empty()).then_some(text);
        let period = match limit {
            "tickets_per_contact_day" => format!("{today}:contact:{}", contract.requester.0),
            _ => month_period(today),
        };
        self.alert = (reaction == LimitReaction::OfferExtension).then(|| {
            (
                format!("{}: {limit} used up", contract.label),
                okno_sla::limit_alert(contract.client.0, limit, &period),
            )
        });
        self.deferred_to =
            (reaction == LimitReaction::Defer).then(|| day_start(next_period, &contract.zone));
        Ok(())
    }
}

fn money(field: &'static str, roubles: f64) -> Result<i64> {
    if !roubles.is_finite() || roubles < 0.0 {
        return Err(FieldError::new(field, "must be a non-negative amount").into());
    }
    if roubles > 1e13 {
        return Err(FieldError::new(field, "is too large").into());
    }
    Ok((roubles * 100.0).round() as i64)
}

fn optional(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

pub fn parse_date(field: &'static str, text: &str) -> Result<Date> {
    text.trim()
        .parse()
        .map_err(|_| FieldError::new(field, "expected a date YYYY-MM-DD").into())
}

fn parse_code(field: &'static str, text: &str) -> Result<String> {
    let code = text.trim().to_uppercase();
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(FieldError::new(field, "1–32 letters, digits, '-' or '_'").into());
    }
    Ok(code)
}

/// The limits a list of `{value, unit, per}` sets; a limit without a unit or with an
/// unknown one is refused, naming `limits`.
pub fn parse_limits(items: &[LimitInput]) -> Result<Limits> {
    let mut limits = Limits::default();
    for item in items {
        let value = item
            .value
            .ok_or_else(|| FieldError::new("limits.value", "a limit needs a value"))?;
        if !value.is_finite() || value < 0.0 || value.fract() != 0.0 {
            return Err(
                FieldError::new("limits.value", "a limit is a whole non-negative number").into(),
            );
        }
        let value = value as i64;
        let unit = item
            .unit
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                FieldError::new(
                    "limits.unit",
                    "a limit needs a unit: tickets, hours or license_keys",
                )
            })?;
        let per = item.per.as_deref().map(str::trim).unwrap_or("");
        let slot = match (unit, per) {
            ("tickets", "contact_day") => &mut limits.tickets_per_contact_day,
            ("tickets", "month" | "") => &mut limits.tickets_per_month,
            ("hours", "month" | "") => &mut limits.hours_per_month,
            ("license_keys", "period" | "contract" | "") => &mut limits.license_keys,
            ("tickets" | "hours" | "license_keys", _) => {
                return Err(FieldError::new(
                    "limits.per",
                    format!("{unit} are counted per {}", per_of(unit)),
                )
                .into());
            }
            _ => {
                return Err(FieldError::new(
                    "limits.unit",
                    format!("unknown unit {unit:?}: tickets, hours or license_keys"),
                )
                .into());
            }
        };
        if slot.is_some() {
            return Err(FieldError::new("limits", "the same limit is given twice").into());
        }
        *slot = Some(value);
    }
    Ok(limits)
}

fn per_of(unit: &str) -> &'static str {
    match unit {
        "tickets" => "contact_day or month",
        "hours" => "month",
        _ => "period",
    }
}

/// The limits as `{value, unit, per}` again, for the API.
pub fn limit_items(limits: &Limits) -> Vec<(i64, &'static str, &'static str)> {
    [
        (limits.tickets_per_contact_day, "tickets", "contact_day"),
        (limits.tickets_per_month, "tickets", "month"),
        (limits.hours_per_month, "hours", "month"),
        (limits.license_keys, "license_keys", "period"),
    ]
    .into_iter()
    .filter_map(|(v, u, p)| v.map(|v| (v, u, p)))
    .collect()
}

/// The client's zone, falling back to the desk's default.
pub fn zone_of(time_zone: Option<&str>) -> TimeZone {
    time_zone
        .and_then(|z| TimeZone::get(z).ok())
        .or_else(|| TimeZone::get(DEFAULT_TIME_ZONE).ok())
        .unwrap_or(TimeZone::UTC)
}

/// The first and the day after the last instant of the month `day` falls in.
pub fn month_bounds(day: Date, zone: &TimeZone) -> (Timestamp, Timestamp) {
    let first = day.first_of_month();
    let next = first.saturating_add(1.month());
    (day_start(first, zone), day_start(next, zone))
}

/// The instant a day starts in the zone.
pub fn day_start(day: Date, zone: &TimeZone) -> Timestamp {
    day.to_datetime(jiff::civil::Time::midnight())
        .to_zoned_datetime(zone.clone())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The usage counters a ticket takes on a contract, with their limits.
pub fn claims_for(contract: &Contract, requester: UserId, day: Date) -> Vec<UsageClaim> {
    let limits = &contract.terms.limits;
    let mut claims = Vec::new();
    if let Some(limit) = limits.tickets_per_contact_day {
        claims.push(UsageClaim {
            counter: format!("contact:{}:{day}", requester.0),
            limit: Some(limit),
        });
    }
    if let Some(limit) = limits.tickets_per_month {
        claims.push(UsageClaim {
            counter: month_counter(day),
            limit: Some(limit),
        });
    }
    claims
}

/// A month as limits' periods name it: `2026-12`.
pub fn month_period(day: Date) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

pub fn month_counter(day: Date) -> String {
    format!("month:{:04}-{:02}", day.year(), day.month())
}

/// The text a client reads when a limit is used up (Russian first, then English).
fn limit_text(limit: &str, reaction: LimitReaction, next_period: Date) -> String {
    let (ru, en) = match limit {
        "tickets_per_contact_day" => (
            "исчерпан дневной лимит обращений на контактное лицо по договору",
            "the contract's daily limit of tickets per contact is used up",
        ),
        "tickets_per_month" => (
            "исчерпан месячный лимит обращений по договору",
            "the contract's monthly limit of tickets is used up",
        ),
        _ => (
            "исчерпан месячный лимит часов специалистов по договору",
            "the contract's monthly limit of specialist hours is used up",
        ),
    };
    match reaction {
        LimitReaction::Refuse => format!(
            "Обращение не принято: {ru}. Обратитесь к вашему менеджеру, чтобы расширить договор. / \
             The ticket was not accepted: {en}. Ask your manager to extend the contract."
        ),
        LimitReaction::OfferExtension => format!(
            "Обращение принято, но {ru}. Предлагаем расширить договор: ответьте в этом обращении, и менеджер \
             пришлёт предложение. / The ticket is accepted, but {en}. We offer to extend the contract: reply \
             here and your manager will send an offer."
        ),
        LimitReaction::Defer => format!(
            "Обращение принято, но {ru}: сроки по нему начнутся со следующего периода ({next_period}). / \
             The ticket is accepted, but {en}: its deadlines start in the next period ({next_period})."
        ),
        LimitReaction::AcceptAndFlag => String::new(),
    }
}

impl Desk {
    /// The policy's check, answered as "no such client" to those it refuses: a contact
    /// cannot probe which clients, contracts or equipment exist.
    fn authorize_unseen(&self, user: &User, action: Action) -> Result<()> {
        if okno_domain::policy::person_allows(user, action) {
            Ok(())
        } else {
            Err(DomainError::NotFound("client").into())
        }
    }

    /// A client by code, for staff (a client user reads only its own organization).
    pub async fn client_record(&self, user: &User, code: &str) -> Result<ClientRecord> {
        self.authorize_unseen(user, Action::ReadClients)?;
        let code = parse_code("client", code)?;
        let client = self
            .store
            .client_by_code(&code)
            .await?
            .ok_or(DomainError::NotFound("client"))?;
        if !viewer(user).is_staff() && user.client_id != Some(client.id) {
            return Err(DomainError::NotFound("client").into());
        }
        let mut record = self
            .store
            .client_record(client.id)
            .await?
            .ok_or(DomainError::NotFound("client"))?;
        if !viewer(user).is_staff() {
            // Notes and access notes are for staff only.
            record.notes.clear();
            record.access_notes.clear();
        }
        Ok(record)
    }

    pub async fn client_records(
        &self,
        user: &User,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientRecord>> {
        self.authorize_unseen(user, Action::LookUpCallers)?;
        Ok(self.store.client_records(after, limit).await?)
    }

    /// Creates or updates a client (idempotent by external id, else code).
    pub async fn save_client(
        &self,
        user: &User,
        input: ClientInput,
    ) -> Result<(ClientRecord, bool)> {
        crate::authorize(user, Action::ManageClients)?;
        self.upsert_client(input).await
    }

    pub(crate) async fn upsert_client(&self, input: ClientInput) -> Result<(ClientRecord, bool)> {
        let code = parse_code("code", &input.code)?;
        let name = parse_text("name", &input.name, 200, true)?;
        let time_zone = optional(input.time_zone);
        if let Some(zone) = &time_zone
            && TimeZone::get(zone).is_err()
        {
            return Err(FieldError::new("time_zone", "not an IANA time zone").into());
        }
        let calendar = optional(input.calendar);
        if let Some(calendar) = &calendar
            && self.sla().calendars.get(calendar).is_err()
        {
            return Err(FieldError::new("calendar", "unknown calendar").into());
        }
        let upsert = ClientUpsert {
            code,
            name,
            mail_domain: optional(input.mail_domain).map(|d| d.to_lowercase()),
            calendar,
            vip: input.vip,
            time_zone,
            notes: parse_text("notes", &input.notes, BODY_MAX_CHARS, false)?,
            access_notes: parse_text("access_notes", &input.access_notes, BODY_MAX_CHARS, false)?,
            external_id: optional(input.external_id),
        };
        let (id, created) = self.store.upsert_client(&upsert).await?;
        let record = self
            .store
            .client_record(id)
            .await?
            .ok_or(DomainError::NotFound("client"))?;
        Ok((record, created))
    }

    async fn client_id(&self, field: &'static str, code: &str) -> Result<ClientId> {
        let code = parse_code(field, code)?;
        Ok(self
            .store
            .client_by_code(&code)
            .await?
            .ok_or_else(|| FieldError::new(field, format!("unknown client {code}")))?
            .id)
    }

    pub async fn contacts(&self, user: &User, client: &str) -> Result<Vec<Contact>> {
        self.authorize_unseen(user, Action::LookUpCallers)?;
        let id = self.client_id("client", client).await?;
        Ok(self.store.contacts(id).await?)
    }

    pub async fn save_contact(&self, user: &User, input: ContactInput) -> Result<(Contact, bool)> {
        crate::authorize(user, Action::ManageClients)?;
        self.upsert_contact(input).await
    }

    pub(crate) async fn upsert_contact(&self, input: ContactInput) -> Result<(Contact, bool)> {
        let client_id = self.client_id("client", &input.client).await?;
        let email = Email::parse(input.email.trim())
            .map_err(|_| FieldError::new("email", "not an email address"))?;
        let upsert = ContactUpsert {
            client_id,
            email,
            name: parse_text("name", &input.name, 200, true)?,
            phone: optional(input.phone),
            telegram_id: optional(input.telegram_id),
            sees_organization: input.sees_organization,
            director: input.director,
            external_id: optional(input.external_id),
        };
        let (id, created) = self.store.upsert_contact(&upsert).await?;
        let contact = self
            .store
            .contacts(client_id)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(DomainError::NotFound("contact"))?;
        Ok((contact, created))
    }

    /// Parses a contract: a period that ends before it starts, a limit with no unit, a
    /// negative amount, an unknown service or reaction are 422 naming the field.
    pub async fn parse_contract(&self, input: ContractInput) -> Result<ContractTerms> {
        let number = parse_text("number", &input.number, 64, true)?;
        let client_id = self.client_id("client", &input.client).await?;
        let starts_on = parse_date("starts_on", &input.starts_on)?;
        let ends_on = parse_date("ends_on", &input.ends_on)?;
        if ends_on < starts_on {
            return Err(FieldError::new("ends_on", "the period ends before it starts").into());
        }
        let catalog = self.catalog();
        let services = |field: &'static str, list: Vec<String>| -> Result<Vec<String>> {
            let mut out: Vec<String> = Vec::new();
            for code in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                if catalog.service(code).is_none() {
                    return Err(FieldError::new(field, format!("unknown service {code:?}")).into());
                }
                if !out.iter().any(|s| s == code) {
                    out.push(code.to_owned());
                }
            }
            Ok(out)
        };
        let support_level = optional(input.support_level);
        if let Some(level) = &support_level
            && self.sla().level(level).is_none()
        {
            return Err(FieldError::new("support_level", "unknown support level").into());
        }
        let limit_reaction = match optional(input.limit_reaction) {
            Some(r) if LimitReaction::parse(&r).is_some() => r,
            Some(_) => {
                return Err(FieldError::new(
                    "limit_reaction",
                    "one of accept_and_flag, offer_extension, defer, refuse",
                )
                .into());
            }
            None => "accept_and_flag".into(),
        };
        if !(0..=24 * 60).contains(&input.rounding_minutes) {
            return Err(FieldError::new("rounding_minutes", "0 to 1440 minutes").into());
        }
        Ok(ContractTerms {
            number,
            client_id,
            starts_on,
            ends_on,
            support_level,
            services: services("services", input.services)?,
            tariff: money("tariff", input.tariff)?,
            hourly_rate: money("hourly_rate", input.hourly_rate)?,
            after_hours_rate: money("after_hours_rate", input.after_hours_rate)?,
            rounding_minutes: input.rounding_minutes,
            billable_services: services("billable_services", input.billable_services)?,
            limits: parse_limits(&input.limits)?,
            limit_reaction,
            external_id: optional(input.external_id),
        })
    }

    /// Creates or updates a contract (`id`, else by external id or number). Usage already
    /// counted stays with the contract whatever changes.
    pub async fn save_contract(
        &self,
        user: &User,
        id: Option<i64>,
        input: ContractInput,
    ) -> Result<(Contract, bool)> {
        crate::authorize(user, Action::ManageContracts)?;
        self.upsert_contract(id, input).await
    }

    pub(crate) async fn upsert_contract(
        &self,
        id: Option<i64>,
        input: ContractInput,
    ) -> Result<(Contract, bool)> {
        let terms = self.parse_contract(input).await?;
        let (id, created) = self.store.save_contract(id, &terms, self.now()).await?;
        let contract = self
            .store
            .contract(id)
            .await?
            .ok_or(DomainError::NotFound("contract"))?;
        self.sync_license_quota(&contract).await?;
        Ok((contract, created))
    }

    /// The key allowance of the route (kept on the client) follows the contract in force:
    /// keys issued before its start do not count against it.
    pub async fn sync_license_quota(&self, contract: &Contract) -> Result<()> {
        let zone = zone_of(contract.client_time_zone.as_deref());
        let today = self.now().to_zoned_datetime(zone.clone()).date();
        if !contract.active_on(today) {
            return Ok(());
        }
        let quota = match contract.terms.limits.license_keys {
            Some(limit) => {
                let start = day_start(contract.terms.starts_on, &zone);
                let before = self
                    .store
                    .license_keys_before(contract.terms.client_id, start)
                    .await?;
                Some(before + limit)
            }
            None => None,
        };
        self.store
            .set_license_key_quota(contract.terms.client_id, quota)
            .await?;
        Ok(())
    }

    pub async fn contract(&self, user: &User, id: i64) -> Result<Contract> {
        self.authorize_unseen(user, Action::ReadContracts)?;
        let contract = self
            .store
            .contract(id)
            .await?
            .ok_or(DomainError::NotFound("contract"))?;
        if !viewer(user).is_staff() && user.client_id != Some(contract.terms.client_id) {
            return Err(DomainError::NotFound("contract").into());
        }
        Ok(contract)
    }

    pub async fn contracts(
        &self,
        user: &User,
        client: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Contract>> {
        self.authorize_unseen(user, Action::ReadContracts)?;
        let client = match client {
            Some(code) => Some(self.client_id("client", code).await?),
            None => None,
        };
        let client = if viewer(user).is_staff() {
            client
        } else {
            // A contact sees its own organization's contracts only.
            match (client, user.client_id) {
                (Some(asked), Some(own)) if asked != own => return Ok(Vec::new()),
                (_, Some(own)) => Some(own),
                (_, None) => return Ok(Vec::new()),
            }
        };
        Ok(self.store.contracts(client, after, limit).await?)
    }

    /// Contracts in force whose monthly hours limit the client's logged time has reached
    /// this month (the client's month), with the ticket last worked on: what the deadline
    /// watch raises one alert for per client, limit and month.
    pub async fn used_up_hours(&self, now: Timestamp) -> Result<Vec<UsedUpHours>> {
        let utc_day = now.to_zoned_datetime(TimeZone::UTC).date();
        let contracts = self
            .store
            .hours_limited_contracts(
                utc_day.yesterday().unwrap_or(utc_day),
                utc_day.tomorrow().unwrap_or(utc_day),
            )
            .await?;
        let mut used_up = Vec::new();
        for contract in contracts {
            let Some(limit_hours) = contract.terms.limits.hours_per_month else {
                continue;
            };
            let zone = zone_of(contract.client_time_zone.as_deref());
            let today = now.to_zoned_datetime(zone.clone()).date();
            if !contract.active_on(today) {
                continue;
            }
            let client = contract.terms.client_id;
            let (from, to) = month_bounds(today, &zone);
            let minutes = self.store.client_minutes(client, from, to, now).await?;
            if minutes < limit_hours.saturating_mul(60) {
                continue;
            }
            let Some(ticket) = self.store.last_worked_ticket(client, from, to).await? else {
                continue;
            };
            used_up.push(UsedUpHours {
                client,
                client_code: contract.client_code.clone(),
                contract: contract.terms.number.clone(),
                period: month_period(today),
                limit_hours,
                used_minutes: minutes,
                ticket,
            });
        }
        Ok(used_up)
    }

    /// Each contract of the client with its usage this month.
    pub async fn client_usage(&self, user: &User, client: &str) -> Result<Vec<ContractUsage>> {
        self.authorize_unseen(user, Action::ReadContracts)?;
        let record = self.client_record(user, client).await?;
        let zone = zone_of(record.time_zone.as_deref());
        let now = self.now();
        let today = now.to_zoned_datetime(zone.clone()).date();
        let (from, to) = month_bounds(today, &zone);
        let minutes = self.store.client_minutes(record.id, from, to, now).await?;
        let mut out = Vec::new();
        for contract in self.store.contracts(Some(record.id), None, 100).await? {
            let active = contract.active_on(today);
            let tickets = self.store.usage(contract.id, &month_counter(today)).await?;
            let over = contract
                .terms
                .limits
                .hours_per_month
                .filter(|_| active)
                .map_or(0, |h| (minutes - h * 60).max(0));
            let keys = if active && contract.terms.limits.license_keys.is_some() {
                let start = day_start(contract.terms.starts_on, &zone);
                let before = self.store.license_keys_before(record.id, start).await?;
                self.store.license_keys_before(record.id, now).await? - before
            } else {
                0
            };
            out.push(ContractUsage {
                active,
                tickets_this_month: tickets,
                minutes_this_month: if active { minutes } else { 0 },
                minutes_over_limit: over,
                license_keys_used: keys,
                contract,
            });
        }
        Ok(out)
    }

    /// The client's contracts in force at `at` (on the client's own day) that cover `service`.
    pub(crate) async fn contracts_in_force(
        &self,
        client: ClientId,
        service: &str,
        at: Timestamp,
    ) -> Result<Vec<Contract>> {
        // The UTC day give or take one holds the client's day in any zone; the exact day
        // is known once the contract (with its client's zone) is read.
        let utc_day = at.to_zoned_datetime(TimeZone::UTC).date();
        let contracts = self
            .store
            .contracts_overlapping(
                client,
                utc_day.yesterday().unwrap_or(utc_day),
                utc_day.tomorrow().unwrap_or(utc_day),
            )
            .await?;
        Ok(contracts
            .into_iter()
            .filter(|c| {
                let day = at
                    .to_zoned_datetime(zone_of(c.client_time_zone.as_deref()))
                    .date();
                c.active_on(day) && c.covers(service)
            })
            .collect())
    }

    /// Decides how a new ticket is taken, from reads only: registered when the client has
    /// a contract in force covering the service (`in_force`, the first of
    /// [`Desk::contracts_in_force`]); its ticket limits become claims the
    /// ticket's own transaction makes (see [`Admission::retry_after`]); hours used up apply
    /// the contract's reaction now (`refuse` is an error naming `limit`).
    pub(crate) async fn admit(
        &self,
        client: ClientId,
        requester: UserId,
        in_force: Option<Contract>,
        at: Timestamp,
    ) -> Result<Admission> {
        let Some(contract) = in_force else {
            return Ok(Admission::default());
        };
        let zone = zone_of(contract.client_time_zone.as_deref());
        let today = at.to_zoned_datetime(zone.clone()).date();
        let mut admission = Admission {
            claims: claims_for(&contract, requester, today),
            registered: true,
            contract: Some(AdmittedContract {
                id: contract.id,
                client,
                requester,
                label: format!(
                    "{} (contract {})",
                    contract.client_code, contract.terms.number
                ),
                reaction: LimitReaction::parse(&contract.terms.limit_reaction)
                    .unwrap_or(LimitReaction::AcceptAndFlag),
                support_level: contract.terms.support_level.clone(),
                zone,
                today,
            }),
            ..Admission::default()
        };
        if let Some(hours) = contract.terms.limits.hours_per_month {
            let zone = zone_of(contract.client_time_zone.as_deref());
            let (from, to) = month_bounds(today, &zone);
            if self.store.client_minutes(client, from, to, at).await? >= hours * 60 {
                admission.over("hours_per_month")?;
            }
        }
        Ok(admission)
    }

    /// When the new ticket's deadlines start: now, or for a ticket deferred to the next
    /// period the first working minute of that period on the client's calendar.
    pub(crate) fn clock_start(
        &self,
        admission: &Admission,
        calendar: Option<&str>,
        now: Timestamp,
    ) -> Timestamp {
        let level = self.admitted_level(admission);
        match admission.deferred_to {
            Some(period) => crate::deadlines::SlaTerms::resolve(self.sla(), Some(level), calendar)
                .map_or(period, |terms| terms.calendar.next_working_moment(period)),
            None => now,
        }
    }

    /// The support level a new ticket is registered with, and whose norms its deadlines
    /// follow from then on: its contract's when that names one, else the configured
    /// registration default.
    pub(crate) fn admitted_level<'a>(&'a self, admission: &'a Admission) -> &'a str {
        admission
            .contract
            .as_ref()
            .and_then(|c| c.support_level.as_deref())
            .unwrap_or(&self.contract_settings.registration.support_level)
    }

    /// The particulars a new ticket is registered with (seed 003): the configured defaults,
    /// the support level of its contract when that has one, and as owner the configured
    /// one or else the staff member registering it.
    pub(crate) fn registration(
        &self,
        user: &User,
        admission: &Admission,
        equipment: Option<i64>,
    ) -> ChangeStep {
        let defaults = &self.contract_settings.registration;
        let owner = defaults.owner.clone().or_else(|| {
            viewer(user)
                .is_staff()
                .then(|| user.email.as_str().to_owned())
        });
        let support_level = self.admitted_level(admission).to_owned();
        ChangeStep::Register(Box::new(Registration {
            company: defaults.company.clone(),
            department: defaults.department.clone(),
            owner,
            category: defaults.category.clone(),
            priority: defaults.priority.clone(),
            line: Some(defaults.line),
            support_level,
            equipment,
        }))
    }

    /// Refuses (naming `equipment`) equipment that is not the client's: another client's
    /// answers exactly like equipment that does not exist.
    pub(crate) async fn check_equipment_of(&self, client: ClientId, equipment: i64) -> Result<()> {
        match self.store.equipment(equipment).await? {
            Some(found) if found.item.client_id == client => Ok(()),
            _ => {
                Err(FieldError::new("equipment", "no such equipment of the ticket's client").into())
            }
        }
    }

    /// What the ticket was registered with; staff only.
    pub async fn ticket_registration(&self, user: &User, id: TicketId) -> Result<Registration> {
        self.authorize_unseen(user, Action::LookUpCallers)?;
        let ticket = self.ticket(user, id).await?;
        self.store
            .ticket_registration(ticket.id)
            .await?
            .ok_or(DomainError::NotFound("ticket").into())
    }

    /// Tells the manager about the created ticket's used-up limit, when the contract asks.
    pub async fn admitted(
        &self,
        ticket: &Ticket,
        admission: Admission,
        at: Timestamp,
    ) -> Result<()> {
        // The first ticket over a limit raises the alert; the next ones in the same period
        // find their cause raised already.
        if let Some((detail, cause)) = admission.alert {
            self.store
                .raise_alert(
                    &NewAlert {
                        kind: cause.kind.code().into(),
                        ticket_id: ticket.id,
                        task_id: None,
                        cause_key: cause.cause_key,
                        title: Bilingual::new(
                            format!("Лимит договора исчерпан: {detail}"),
                            format!("Contract limit used up: {detail}"),
                        )
                        .to_stored(),
                        detail,
                        priority: 50,
                    },
                    at,
                )
                .await?;
        }
        Ok(())
    }

    /// Line 1's "to register" list: tickets without a client or contract in force.
    pub async fn to_register(
        &self,
        user: &User,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<okno_store::UnregisteredTicket>> {
        self.authorize_unseen(user, Action::LookUpCallers)?;
        Ok(self.store.unregistered_tickets(after, limit).await?)
    }

    /// Registers a ticket: sets its client and requester contact; it leaves the list.
    pub async fn register_ticket(
        &self,
        user: &User,
        ticket: TicketId,
        client: &str,
        requester_email: &str,
    ) -> Result<Ticket> {
        self.authorize_unseen(user, Action::RegisterTickets)?;
        let client_id = self.client_id("client", client).await?;
        let email = Email::parse(requester_email.trim())
            .map_err(|_| FieldError::new("requester", "not an email address"))?;
        let (requester, _) = self
            .store
            .user_by_email(&email)
            .await?
            .ok_or_else(|| FieldError::new("requester", "no such contact"))?;
        self.store
            .register_ticket(ticket, client_id, requester.id, user.id, self.now())
            .await?;
        self.ticket(user, ticket).await
    }

    /// The limit a ticket was over on arrival and the hours its client is over this month.
    pub async fn ticket_limits(&self, user: &User, id: TicketId) -> Result<(Option<String>, i64)> {
        let ticket = self.ticket(user, id).await?;
        self.authorize_unseen(user, Action::ReadTasks)?;
        let over = self.store.ticket_over_limit(ticket.id).await?;
        let record = self
            .store
            .client_record(ticket.client_id)
            .await?
            .ok_or(DomainError::NotFound("client"))?;
        let usage = self.client_usage(user, &record.code).await?;
        let minutes_over = usage
            .iter()
            .map(|u| u.minutes_over_limit)
            .max()
            .unwrap_or(0);
        Ok((over, minutes_over))
    }

    pub async fn save_equipment(
        &self,
        user: &User,
        id: Option<i64>,
        client: &str,
        mut item: EquipmentInput,
    ) -> Result<okno_store::Equipment> {
        self.authorize_unseen(user, Action::RegisterTickets)?;
        item.client_id = self.client_id("client", client).await?;
        item.kind = parse_text("kind", &item.kind, 100, true)?;
        item.site = parse_text("site", &item.site, 300, false)?;
        item.model = parse_text("model", &item.model, 200, false)?;
        item.serial = parse_text("serial", &item.serial, 200, false)?;
        item.notes = parse_text("notes", &item.notes, BODY_MAX_CHARS, false)?;
        let id = self.store.save_equipment(id, &item).await?;
        self.store
            .equipment(id)
            .await?
            .ok_or(DomainError::NotFound("equipment").into())
    }

    pub async fn client_equipment(
        &self,
        user: &User,
        client: &str,
    ) -> Result<Vec<okno_store::Equipment>> {
        self.authorize_unseen(user, Action::LookUpCallers)?;
        let id = self.client_id("client", client).await?;
        Ok(self.store.client_equipment(id).await?)
    }

    /// A piece of equipment and the tickets about it (newest first) the user may see.
    pub async fn equipment_history(
        &self,
        user: &User,
        id: i64,
    ) -> Result<(okno_store::Equipment, Vec<Ticket>)> {
        self.authorize_unseen(user, Action::LookUpCallers)?;
        let item = self
            .store
            .equipment(id)
            .await?
            .ok_or(DomainError::NotFound("equipment"))?;
        let mut tickets = Vec::new();
        for ticket in self.store.equipment_tickets(id).await? {
            if let Some(t) = self
                .store
                .ticket(viewer(user).ticket_scope(), ticket)
                .await?
            {
                tickets.push(t);
            }
        }
        Ok((item, tickets))
    }

    pub async fn link_equipment(
        &self,
        user: &User,
        ticket: TicketId,
        equipment: i64,
    ) -> Result<()> {
        self.authorize_unseen(user, Action::RegisterTickets)?;
        let ticket = self.ticket(user, ticket).await?;
        Ok(self
            .store
            .link_equipment(ticket.id, equipment, user.id, self.now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeskError;

    fn limit(value: Option<f64>, unit: Option<&str>, per: Option<&str>) -> LimitInput {
        LimitInput {
            value,
            unit: unit.map(Into::into),
            per: per.map(Into::into),
        }
    }

    fn field_of(result: Result<Limits>) -> &'static str {
        match result {
            Err(DeskError::Domain(DomainError::Invalid(e))) => e.field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn limits_read_value_unit_and_period() {
        let limits = parse_limits(&[
            limit(Some(3.0), Some("tickets"), Some("contact_day")),
            limit(Some(10.0), Some("hours"), Some("month")),
            limit(Some(5.0), Some("license_keys"), None),
        ])
        .unwrap();
        assert_eq!(limits.tickets_per_contact_day, Some(3));
        assert_eq!(limits.hours_per_month, Some(10));
        assert_eq!(limits.license_keys, Some(5));
        assert_eq!(limits.tickets_per_month, None);
        assert_eq!(limit_items(&limits).len(), 3);
    }

    #[test]
    fn a_limit_without_a_unit_is_refused_naming_the_field() {
        assert_eq!(
            field_of(parse_limits(&[limit(Some(3.0), None, None)])),
            "limits.unit"
        );
        assert_eq!(
            field_of(parse_limits(&[limit(Some(3.0), Some("  "), None)])),
            "limits.unit"
        );
        assert_eq!(
            field_of(parse_limits(&[limit(Some(3.0), Some("apples"), None)])),
            "limits.unit"
        );
        assert_eq!(
            field_of(parse_limits(&[limit(None, Some("tickets"), None)])),
            "limits.value"
        );
        assert_eq!(
            field_of(parse_limits(&[limit(Some(-1.0), Some("tickets"), None)])),
            "limits.value"
        );
        assert_eq!(
            field_of(parse_limits(&[limit(
                Some(1.0),
                Some("hours"),
                Some("day")
            )])),
            "limits.per"
        );
    }

    #[test]
    fn negative_money_is_refused() {
        assert!(money("tariff", -0.01).is_err());
        assert!(money("tariff", f64::NAN).is_err());
        assert_eq!(money("tariff", 1234.565).unwrap(), 123457);
    }

    #[test]
    fn months_are_counted_in_the_clients_zone() {
        let zone = zone_of(Some("Asia/Novosibirsk"));
        let (from, to) = month_bounds(jiff::civil::date(2026, 2, 14), &zone);
        assert_eq!(from.to_string(), "2026-01-31T17:00:00Z");
        assert_eq!(to.to_string(), "2026-02-28T17:00:00Z");
        assert_eq!(zone_of(Some("Nowhere/Else")), zone_of(None));
    }
}
