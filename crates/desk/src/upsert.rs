//! Upserts from systems that know only part of a record — the accounting system syncing
//! what it has, an import file with some of the columns: a field left out keeps its
//! stored value, and only a field that is sent (even empty) changes it. Absent is not
//! null: a client's VIP flag or a contract's limits and rounding are never wiped by a
//! sync that does not mention them.

use crate::contracts::{ClientInput, ContractInput, LimitInput};
use crate::{Desk, Result};
use okno_domain::User;
use okno_store::{ClientRecord, Contract, Limits};
use std::collections::BTreeSet;

/// The fields an upsert carries: the keys of an API body, or the columns of an import
/// file. A contract's limits are given all together (`limits`) or one by one by their
/// import columns (`tickets_per_contact_day`, `tickets_per_month`, `hours_per_month`,
/// `license_keys`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given(BTreeSet<String>);

impl Given {
    pub fn of<S: Into<String>>(fields: impl IntoIterator<Item = S>) -> Self {
        Given(fields.into_iter().map(Into::into).collect())
    }

    /// Every field: the record is replaced as a whole (forms that show every field).
    pub fn all() -> Self {
        Given::of(["*"])
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains("*") || self.0.contains(field)
    }
}

/// The limit kinds: their import column, unit and period.
pub const LIMIT_COLUMNS: [(&str, &str, &str); 4] = [
    ("tickets_per_contact_day", "tickets", "contact_day"),
    ("tickets_per_month", "tickets", "month"),
    ("hours_per_month", "hours", "month"),
    ("license_keys", "license_keys", "period"),
];

fn limit_slot<'a>(limits: &'a mut Limits, column: &str) -> Option<&'a mut Option<i64>> {
    Some(match column {
        "tickets_per_contact_day" => &mut limits.tickets_per_contact_day,
        "tickets_per_month" => &mut limits.tickets_per_month,
        "hours_per_month" => &mut limits.hours_per_month,
        "license_keys" => &mut limits.license_keys,
        _ => return None,
    })
}

fn limit_inputs(limits: &Limits) -> Vec<LimitInput> {
    let mut limits = *limits;
    LIMIT_COLUMNS
        .iter()
        .filter_map(|(column, unit, per)| {
            let value = (*limit_slot(&mut limits, column)?)?;
            Some(LimitInput {
                value: Some(value as f64),
                unit: Some((*unit).into()),
                per: Some((*per).into()),
            })
        })
        .collect()
}

fn roubles(kopecks: i64) -> f64 {
    kopecks as f64 / 100.0
}

/// The client's input with every field not given taken from the stored record.
pub fn keep_client_fields(
    mut input: ClientInput,
    given: &Given,
    stored: &ClientRecord,
) -> ClientInput {
    if !given.has("name") {
        input.name = stored.name.clone();
    }
    if !given.has("mail_domain") {
        input.mail_domain = stored.mail_domain.clone();
    }
    if !given.has("calendar") {
        input.calendar = stored.calendar.clone();
    }
    if !given.has("vip") {
        input.vip = stored.vip;
    }
    if !given.has("time_zone") {
        input.time_zone = stored.time_zone.clone();
    }
    if !given.has("notes") {
        input.notes = stored.notes.clone();
    }
    if !given.has("access_notes") {
        input.access_notes = stored.access_notes.clone();
    }
    if !given.has("external_id") {
        input.external_id = stored.external_id.clone();
    }
    input
}

/// The contract's input with every field not given taken from the stored contract; a
/// limit column not given keeps that limit.
pub fn keep_contract_fields(
    mut input: ContractInput,
    given: &Given,
    stored: &Contract,
) -> ContractInput {
    let t = &stored.terms;
    if !given.has("client") {
        input.client = stored.client_code.clone();
    }
    if !given.has("starts_on") {
        input.starts_on = t.starts_on.to_string();
    }
    if !given.has("ends_on") {
        input.ends_on = t.ends_on.to_string();
    }
    if !given.has("support_level") {
        input.support_level = t.support_level.clone();
    }
    if !given.has("services") {
        input.services = t.services.clone();
    }
    if !given.has("tariff") {
        input.tariff = roubles(t.tariff);
    }
    if !given.has("hourly_rate") {
        input.hourly_rate = roubles(t.hourly_rate);
    }
    if !given.has("after_hours_rate") {
        input.after_hours_rate = roubles(t.after_hours_rate);
    }
    if !given.has("rounding_minutes") {
        input.rounding_minutes = t.rounding_minutes;
    }
    if !given.has("billable_services") {
        input.billable_services = t.billable_services.clone();
    }
    if !given.has("limit_reaction") {
        input.limit_reaction = Some(t.limit_reaction.clone());
    }
    if !given.has("external_id") {
        input.external_id = t.external_id.clone();
    }
    if !given.has("limits") {
        // Column by column: a given column sets (or, empty, clears) its limit only. Limits
        // that do not parse are left as sent, for the desk to refuse naming them.
        if let Ok(mut sent) = crate::contracts::parse_limits(&input.limits) {
            let mut merged = t.limits;
            for (column, _, _) in LIMIT_COLUMNS {
                if given.has(column)
                    && let (Some(to), Some(from)) = (
                        limit_slot(&mut merged, column),
                        limit_slot(&mut sent, column),
                    )
                {
                    *to = *from;
                }
            }
            input.limits = limit_inputs(&merged);
        }
    }
    input
}

impl Desk {
    /// Creates or updates a client from the fields given; the others keep their values.
    pub async fn save_client_given(
        &self,
        user: &User,
        input: ClientInput,
        given: &Given,
    ) -> Result<(ClientRecord, bool)> {
        crate::authorize(user, okno_domain::policy::Action::ManageClients)?;
        self.upsert_client_given(input, given).await
    }

    pub(crate) async fn upsert_client_given(
        &self,
        input: ClientInput,
        given: &Given,
    ) -> Result<(ClientRecord, bool)> {
        let by_external = match input.external_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => self.store.client_by_external_id(id).await?,
            _ => None,
        };
        let stored = match by_external {
            Some(record) => Some(record),
            None => match self
                .store
                .client_by_code(&input.code.trim().to_uppercase())
                .await?
            {
                Some(client) => self.store.client_record(client.id).await?,
                None => None,
            },
        };
        let input = match &stored {
            Some(stored) => keep_client_fields(input, given, stored),
            None => input,
        };
        self.upsert_client(input).await
    }

    /// Creates or updates a contract from the fields given; the others keep their values.
    pub async fn save_contract_given(
        &self,
        user: &User,
        id: Option<i64>,
        input: ContractInput,
        given: &Given,
    ) -> Result<(Contract, bool)> {
        crate::authorize(user, okno_domain::policy::Action::ManageContracts)?;
        self.upsert_contract_given(id, input, given).await
    }

    pub(crate) async fn upsert_contract_given(
        &self,
        id: Option<i64>,
        input: ContractInput,
        given: &Given,
    ) -> Result<(Contract, bool)> {
        let stored = match id {
            Some(id) => self.store.contract(id).await?,
            None => {
                let by_external = match input.external_id.as_deref().map(str::trim) {
                    Some(e) if !e.is_empty() => self.store.contract_by_external_id(e).await?,
                    _ => None,
                };
                match by_external {
                    Some(c) => Some(c),
                    None => self.store.contract_by_number(input.number.trim()).await?,
                }
            }
        };
        let input = match &stored {
            Some(stored) => keep_contract_fields(input, given, stored),
            None => input,
        };
        self.upsert_contract(id, input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_fields_are_named_or_all() {
        let given = Given::of(["vip", "tickets_per_month"]);
        assert!(given.has("vip"));
        assert!(!given.has("notes"));
        assert!(Given::all().has("notes"));
    }

    #[test]
    fn limits_round_trip_through_inputs() {
        let limits = Limits {
            tickets_per_month: Some(30),
            hours_per_month: Some(8),
            ..Limits::default()
        };
        let back = crate::contracts::parse_limits(&limit_inputs(&limits)).unwrap();
        assert_eq!(back, limits);
    }
}
