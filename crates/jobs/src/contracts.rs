//! Contract lifecycle (issue 6; seed 001): notices to the client's contacts N days before a
//! contract starts and ends, a notice when it has ended (support then switches off by itself:
//! new tickets without a contract in force land in the "to register" list), a manager alert
//! for an ending contract with no successor, renewal invoice drafts, and the key allowance
//! following the contract in force.
//!
//! Every step is recorded once per contract (`contract_events`) in the same transaction as
//! its outbox message, so runs repeated or overlapping do nothing twice. Notices go to the
//! outbox as `contract_notice`, alerts as `contract_alert` (the mail worker sends
//! notices to the contacts and alerts to the managers).

use crate::Result;
use jiff::{Timestamp, ToSpan};
use okno_desk::Desk;
use okno_desk::contracts::zone_of;
use okno_domain::OutboxKind;
use okno_store::Contract;
use serde_json::json;

/// How far ahead the lifecycle looks: `[lifecycle]` of `contracts.toml`, read with the
/// desk's configuration.
pub use okno_desk::contract_settings::LifecycleSettings;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    pub notices: usize,
    pub alerts: usize,
    pub invoices: usize,
    pub started: usize,
    pub ended: usize,
}

async fn notice_payload(
    desk: &Desk,
    contract: &Contract,
    event: &str,
    days: i64,
) -> Result<serde_json::Value> {
    let contacts: Vec<String> = desk
        .store
        .contacts(contract.terms.client_id)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .map(|c| c.email)
        .collect();
    Ok(json!({
        "event": event,
        "days": days,
        "client": contract.client_code,
        "contract": contract.terms.number,
        "starts_on": contract.terms.starts_on.to_string(),
        "ends_on": contract.terms.ends_on.to_string(),
        "contacts": contacts,
    }))
}

/// One pass of the lifecycle at `now`.
pub async fn contract_lifecycle(
    desk: &Desk,
    settings: &LifecycleSettings,
    now: Timestamp,
) -> Result<LifecycleReport> {
    let today = now.to_zoned_datetime(zone_of(None)).date();
    let mut report = LifecycleReport::default();
    let ahead = |days: i64| today.saturating_add(days.days());
    let store = &desk.store;

    for contract in store
        .contracts_between(true, today, ahead(settings.notice_before_start_days))
        .await?
    {
        let days = (contract.terms.starts_on - today).get_days().into();
        let payload = notice_payload(desk, &contract, "starts", days).await?;
        if store
            .contract_event(
                contract.id,
                "starts_notice",
                Some((OutboxKind::ContractNotice, payload)),
                now,
            )
            .await?
        {
            report.notices += 1;
        }
    }

    // Started within the last month: the key allowance follows the new contract.
    for contract in store
        .contracts_between(true, today.saturating_sub(31.days()), today)
        .await?
    {
        if store
            .contract_event(contract.id, "started", None, now)
            .await?
        {
            desk.sync_license_quota(&contract).await?;
            report.started += 1;
        }
    }

    let horizon = settings
        .notice_before_end_days
        .max(settings.invoice_before_end_days);
    for contract in store
        .contracts_between(false, today, ahead(horizon))
        .await?
    {
        let days: i64 = (contract.terms.ends_on - today).get_days().into();
        if days <= settings.notice_before_end_days {
            let payload = notice_payload(desk, &contract, "ends", days).await?;
            if store
                .contract_event(
                    contract.id,
                    "ends_notice",
                    Some((OutboxKind::ContractNotice, payload)),
                    now,
                )
                .await?
            {
                report.notices += 1;
            }
            let next_day = contract
                .terms
                .ends_on
                .tomorrow()
                .unwrap_or(contract.terms.ends_on);
            let successors = store
                .contracts_overlapping(contract.terms.client_id, next_day, next_day)
                .await?;
            let has_successor = successors.iter().any(|s| {
                s.id != contract.id
                    && (s.terms.services.is_empty()
                        || contract.terms.services.is_empty()
                        || s.terms.services.iter().any(|x| contract.covers(x)))
            });
            if !has_successor {
                let alert = json!({
                    "kind": "contract_without_successor",
                    "client": contract.client_code,
                    "contract": contract.terms.number,
                    "ends_on": contract.terms.ends_on.to_string(),
                    "days": days,
                    "text": format!(
                        "Договор {} клиента {} заканчивается {} и не продлён / Contract {} of {} ends on {} with no successor",
                        contract.terms.number, contract.client_code, contract.terms.ends_on,
                        contract.terms.number, contract.client_code, contract.terms.ends_on
                    ),
                });
                if store
                    .contract_event(
                        contract.id,
                        "no_successor",
                        Some((OutboxKind::ContractAlert, alert)),
                        now,
                    )
                    .await?
                {
                    report.alerts += 1;
                }
            }
        }
        if days <= settings.invoice_before_end_days
            && contract.terms.tariff > 0
            && desk.draft_invoice(&contract, now).await?.is_some()
        {
            report.invoices += 1;
        }
    }

    // Ended within the last month: the contacts are told support has ended.
    for contract in store
        .contracts_between(
            false,
            today.saturating_sub(31.days()),
            today.yesterday().unwrap_or(today),
        )
        .await?
    {
        let payload = notice_payload(desk, &contract, "ended", 0).await?;
        if store
            .contract_event(
                contract.id,
                "ended",
                Some((OutboxKind::ContractNotice, payload)),
                now,
            )
            .await?
        {
            report.ended += 1;
        }
    }
    Ok(report)
}
