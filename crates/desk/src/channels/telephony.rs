//! Telephony: who is calling (a PBX's lookup and the specialist's caller card), and what a
//! call's events do — decided by [`decide_call`], recorded in the `calls` table, and a
//! missed call from a known contact opens one "call back" ticket for line 1.
//!
//! Two ways in: our own JSON (`POST /api/v1/telephony/events`, a staff or integration
//! token) and Mango Office VPBX's documented notifications (`/events/call`,
//! `/events/summary`: a form with `vpbx_api_key`, `sign` and `json`, where `sign` is the hex
//! SHA-256 of key + json + salt), authenticated by that signature alone.

use super::{Channels, setting};
use crate::contracts::ContractUsage;
use crate::tickets::TicketInput;
use crate::{DeskError, Result};
use jiff::Timestamp;
use okno_domain::channels::{CallDecision, CallFacts, CallState, PhoneNumber, decide_call};
use okno_domain::*;
use okno_store::{CallMove, CallRecord, ClientRecord, Contact, NewCall, TicketFilter};
use sha2::{Digest, Sha256};

/// The PBX id, number and link lengths taken in; longer is refused naming the field.
const CALL_ID_MAX: usize = 200;
const NUMBER_MAX: usize = 40;
const URL_MAX: usize = 2000;
/// A call longer than a day is a PBX's mistake.
const DURATION_MAX_S: i64 = 86_400;
/// Open tickets shown on a caller's card.
const CARD_TICKETS: usize = 20;
/// How often a call event is tried again when another event of the call moved it first.
const MOVE_ATTEMPTS: usize = 8;

/// One event of a call, as a PBX reports it (already read from its wire format).
#[derive(Debug, Clone)]
pub struct CallEvent {
    pub state: CallState,
    pub call_id: String,
    pub from: String,
    pub to: String,
    /// When it happened; `None`: now.
    pub at: Option<Timestamp>,
    pub duration_s: Option<i64>,
    pub recording_url: Option<String>,
    /// Who answered (an extension or an email), when the PBX says.
    pub agent: Option<String>,
}

/// What a call event came to.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub call: CallRecord,
    /// The "call back" ticket this event opened.
    pub opened: Option<Ticket>,
}

/// Everything a specialist answering a call sees about the caller.
#[derive(Debug, Clone)]
pub struct CallerCard {
    pub phone: PhoneNumber,
    pub contact: Contact,
    pub client: ClientRecord,
    /// The client's contracts with this month's usage.
    pub contracts: Vec<ContractUsage>,
    /// The client's open tickets, newest first.
    pub open_tickets: Vec<Ticket>,
}

fn bounded(field: &'static str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(FieldError::new(field, format!("at most {max} characters")).into());
    }
    Ok(text.to_owned())
}

impl CallEvent {
    /// Checks the event's fields (lengths, a non-empty call id, an http(s) recording link, a
    /// plausible duration), each refusal naming its field.
    fn checked(mut self) -> Result<CallEvent> {
        self.call_id = bounded("call_id", &self.call_id, CALL_ID_MAX)?;
        if self.call_id.is_empty() {
            return Err(FieldError::new("call_id", "a call id is required").into());
        }
        self.from = bounded("from", &self.from, NUMBER_MAX)?;
        self.to = bounded("to", &self.to, NUMBER_MAX)?;
        if let Some(url) = &self.recording_url {
            let url = bounded("recording_url", url, URL_MAX)?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(FieldError::new("recording_url", "an http(s) link").into());
            }
            self.recording_url = Some(url);
        }
        if let Some(d) = self.duration_s
            && !(0..=DURATION_MAX_S).contains(&d)
        {
            return Err(FieldError::new("duration_s", "0 to 86400 seconds").into());
        }
        if let Some(agent) = &self.agent {
            self.agent = Some(bounded("agent", agent, 200)?).filter(|a| !a.is_empty());
        }
        Ok(self)
    }
}

impl Channels<'_> {
    /// The caller behind a phone number, for a PBX or a specialist: the contact, its client,
    /// contracts and open tickets. Garbage is refused naming `phone`; a number nobody has
    /// is "contact not found".
    pub async fn caller_card(&self, user: &User, phone: &str) -> Result<CallerCard> {
        self.require(user, okno_domain::policy::Action::LookUpCallers)?;
        let phone = PhoneNumber::parse(phone)?;
        let contact = self
            .desk
            .store
            .contact_by_phone(phone.key())
            .await?
            .ok_or(DomainError::NotFound("contact"))?;
        self.card_of(user, phone, contact).await
    }

    async fn card_of(
        &self,
        user: &User,
        phone: PhoneNumber,
        contact: Contact,
    ) -> Result<CallerCard> {
        let client = self
            .desk
            .store
            .client_record(contact.client_id)
            .await?
            .ok_or(DomainError::NotFound("client"))?;
        let contracts = self.desk.client_usage(user, &client.code).await?;
        let mut open_tickets = Vec::new();
        for status in TicketStatus::ALL.iter().filter(|s| s.is_open()) {
            let filter = TicketFilter {
                status: Some(*status),
                client: Some(client.id),
                after: None,
                limit: CARD_TICKETS as u32,
                drafts_of: None,
            };
            open_tickets.extend(self.desk.tickets(user, &filter).await?);
        }
        open_tickets.sort_by_key(|t| std::cmp::Reverse(t.id));
        open_tickets.truncate(CARD_TICKETS);
        Ok(CallerCard {
            phone,
            contact,
            client,
            contracts,
            open_tickets,
        })
    }

    /// The card of a recorded call's caller; `None` when the number is nobody's.
    pub async fn call_card(
        &self,
        user: &User,
        call: i64,
    ) -> Result<(CallRecord, Option<CallerCard>)> {
        self.require(user, okno_domain::policy::Action::LookUpCallers)?;
        let call = self
            .desk
            .store
            .call(call)
            .await?
            .ok_or(DomainError::NotFound("call"))?;
        let card = match (&call.from_key, call.contact_id) {
            (Some(key), Some(contact)) => {
                let contact = self
                    .desk
                    .store
                    .contact_by_phone(key)
                    .await?
                    .filter(|c| c.id == contact);
                match contact {
                    Some(contact) => Some(
                        self.card_of(user, PhoneNumber::from_key(key.clone()), contact)
                            .await?,
                    ),
                    None => None,
                }
            }
            _ => None,
        };
        Ok((call, card))
    }

    /// Calls of the last `hours` hours, newest first (staff).
    pub async fn recent_calls(
        &self,
        user: &User,
        hours: i64,
        limit: u32,
    ) -> Result<Vec<CallRecord>> {
        self.require(user, okno_domain::policy::Action::LookUpCallers)?;
        let since = self.desk.now() - jiff::SignedDuration::from_hours(hours);
        Ok(self.desk.store.recent_calls(since, limit).await?)
    }

    /// The calls logged on a ticket (staff only: a client never sees call records).
    pub async fn ticket_calls(&self, user: &User, ticket: TicketId) -> Result<Vec<CallRecord>> {
        self.require(user, okno_domain::policy::Action::LookUpCallers)?;
        self.desk.ticket(user, ticket).await?;
        Ok(self.desk.store.ticket_calls(ticket).await?)
    }

    /// Logs an answered call on the ticket a specialist opened from it ("new ticket from
    /// this call"); a call logged already keeps its ticket.
    pub async fn log_call(&self, user: &User, call: i64, ticket: TicketId) -> Result<bool> {
        self.require(user, okno_domain::policy::Action::RegisterTickets)?;
        self.desk.ticket(user, ticket).await?;
        self.desk
            .store
            .call(call)
            .await?
            .ok_or(DomainError::NotFound("call"))?;
        Ok(self.desk.store.log_call(call, ticket).await?)
    }

    /// A call event in our own JSON, from a staff or integration token.
    pub async fn call_event(&self, user: &User, event: CallEvent) -> Result<CallOutcome> {
        self.require(user, okno_domain::policy::Action::ReportCalls)?;
        self.take_call_event("generic", event).await
    }

    /// Takes one event of a call: records it (a repeated or late event changes nothing) and,
    /// for a missed call from a known contact, opens exactly one "call back" ticket.
    async fn take_call_event(&self, provider: &str, event: CallEvent) -> Result<CallOutcome> {
        let event = event.checked()?;
        let store = &self.desk.store;
        let at = event.at.unwrap_or_else(|| self.desk.now());
        let from_key = PhoneNumber::parse_field("from", &event.from).ok();
        let contact = match &from_key {
            Some(key) => store.contact_by_phone(key.key()).await?,
            None => None,
        };
        let mut call = store
            .open_call(&NewCall {
                provider: provider.to_owned(),
                call_id: event.call_id.clone(),
                from_number: event.from.clone(),
                to_number: event.to.clone(),
                from_key: from_key.as_ref().map(|k| k.key().to_owned()),
                contact_id: contact.as_ref().map(|c| c.id),
                client_id: contact.as_ref().map(|c| c.client_id),
                at,
            })
            .await?;
        for _ in 0..MOVE_ATTEMPTS {
            let decision = decide_call(CallFacts {
                before: Some(call.state),
                event: event.state,
                known_caller: call.contact_id.is_some(),
                has_ticket: call.ticket_id.is_some(),
            });
            let to = match decision {
                CallDecision::Ignore => {
                    // A late event may still bring what the call lacked (a recording link,
                    // the duration).
                    if event.duration_s.is_some() || event.recording_url.is_some() {
                        store
                            .complete_call(
                                call.id,
                                event.duration_s,
                                event.recording_url.as_deref(),
                            )
                            .await?;
                    }
                    return Ok(CallOutcome {
                        call: store.call(call.id).await?.unwrap_or(call),
                        opened: None,
                    });
                }
                CallDecision::Record(to) => to,
                CallDecision::RecordAndOpenCallback => CallState::Missed,
            };
            let moved = store
                .move_call(&CallMove {
                    id: call.id,
                    from: call.state,
                    to,
                    at,
                    agent: event.agent.clone(),
                    duration_s: event.duration_s,
                    recording_url: event.recording_url.clone(),
                })
                .await?;
            if !moved {
                call = store
                    .call(call.id)
                    .await?
                    .ok_or(DomainError::NotFound("call"))?;
                continue;
            }
            let opened = match decision {
                CallDecision::RecordAndOpenCallback => self.open_callback(&call).await?,
                _ => None,
            };
            return Ok(CallOutcome {
                call: store.call(call.id).await?.unwrap_or(call),
                opened,
            });
        }
        Err(DomainError::Conflict("the call keeps changing; send the event again".into()).into())
    }

    /// The "call back" ticket of a missed call, in the caller's own name (so the contract's
    /// limits and the route apply as to any ticket of theirs). A contract refusing it leaves
    /// the missed call recorded without a ticket.
    async fn open_callback(&self, call: &CallRecord) -> Result<Option<Ticket>> {
        let Some(contact) = call.contact_id else {
            return Ok(None);
        };
        let Some(caller) = self.desk.store.user(contact).await? else {
            return Ok(None);
        };
        let number = call
            .from_key
            .clone()
            .map(PhoneNumber::from_key)
            .map_or_else(|| call.from_number.clone(), |n| n.to_string());
        let (subject, description) = if caller.locale.starts_with("en") {
            (
                format!("Missed call from {number}: call back"),
                format!(
                    "{} called {number} and nobody answered. Call them back.",
                    caller.name
                ),
            )
        } else {
            (
                format!("Пропущенный звонок с {number}: перезвонить"),
                format!(
                    "{} звонил(а) с номера {number}, никто не ответил. Перезвоните.",
                    caller.name
                ),
            )
        };
        let input = TicketInput {
            service: String::new(),
            subject,
            description,
            ..TicketInput::default()
        };
        match self.desk.open_ticket(&caller, input).await {
            Ok(ticket) => {
                self.desk.store.log_call(call.id, ticket.id).await?;
                Ok(Some(ticket))
            }
            Err(DeskError::Domain(DomainError::Invalid(_) | DomainError::Forbidden(_))) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// A Mango Office VPBX notification (`kind` is the path after `/events/`: `call` or
    /// `summary`), authenticated by its signature. Other notifications are acknowledged and
    /// change nothing (`Ok(None)`).
    pub async fn mango_event(
        &self,
        kind: &str,
        api_key: &str,
        sign: &str,
        json: &str,
    ) -> Result<Option<CallOutcome>> {
        let store = &self.desk.store;
        let key = store
            .channel_setting(setting::MANGO_API_KEY)
            .await?
            .unwrap_or_default();
        let salt = store
            .channel_setting(setting::MANGO_API_SALT)
            .await?
            .unwrap_or_default();
        if key.is_empty() || salt.is_empty() {
            return Err(DeskError::Unauthorized(
                "the Mango Office PBX is not configured",
            ));
        }
        if !mango_signature_holds(&key, &salt, api_key, sign, json) {
            return Err(DeskError::Unauthorized("the signature does not match"));
        }
        let Some(event) = mango_call_event(kind, json)? else {
            return Ok(None);
        };
        self.take_call_event("mango", event).await.map(Some)
    }
}

/// Mango's signature: `sign` = hex SHA-256 of `vpbx_api_key + json + vpbx_api_salt`, and the
/// key must be this PBX's. Compared in constant time.
pub fn mango_signature_holds(key: &str, salt: &str, api_key: &str, sign: &str, json: &str) -> bool {
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update(json.as_bytes());
    hasher.update(salt.as_bytes());
    let expected = hex::encode(hasher.finalize());
    let given = sign.trim().to_ascii_lowercase();
    constant_time_eq(api_key.as_bytes(), key.as_bytes())
        & constant_time_eq(given.as_bytes(), expected.as_bytes())
}

/// Compares two secrets without stopping at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a Mango notification's JSON into a call event. `call` (`call_state` `Appeared` →
/// ringing, `Connected` → answered; `Disconnected` waits for the summary, which knows
/// whether anyone answered) and `summary` (`entry_result` 1: ended after `end_time -
/// talk_time` seconds, 0: missed). Calls are keyed by `entry_id`, which all legs share.
/// Outgoing and internal calls (`call_direction` ≠ 1) are not the desk's business.
fn mango_call_event(kind: &str, json: &str) -> Result<Option<CallEvent>> {
    let invalid = |message: &str| DeskError::from(FieldError::new("json", message.to_owned()));
    if json.len() > 64 * 1024 {
        return Err(invalid("larger than 64 KiB"));
    }
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| invalid(&format!("not JSON: {e}")))?;
    let text = |v: &serde_json::Value, path: &[&str]| -> Option<String> {
        let mut at = v;
        for p in path {
            at = at.get(p)?;
        }
        match at {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let number = |v: &serde_json::Value, path: &[&str]| -> Option<i64> {
        let mut at = v;
        for p in path {
            at = at.get(p)?;
        }
        at.as_i64().or_else(|| at.as_str()?.parse().ok())
    };
    let entry = text(&value, &["entry_id"]).ok_or_else(|| invalid("no entry_id"))?;
    let from = text(&value, &["from", "number"]).unwrap_or_default();
    let to = text(&value, &["to", "number"]).unwrap_or_default();
    let agent = text(&value, &["to", "extension"]);
    let at_second =
        |field: &str| number(&value, &[field]).and_then(|s| Timestamp::from_second(s).ok());
    let event = |state, at, duration_s| CallEvent {
        state,
        call_id: entry.clone(),
        from: from.clone(),
        to: to.clone(),
        at,
        duration_s,
        recording_url: None,
        agent: agent.clone(),
    };
    match kind {
        "call" => {
            let state = match text(&value, &["call_state"]).as_deref() {
                Some("Appeared") => CallState::Ringing,
                Some("Connected") => CallState::Answered,
                Some(_) => return Ok(None),
                None => return Err(invalid("no call_state")),
            };
            if from.is_empty() {
                return Err(invalid("no from.number"));
            }
            Ok(Some(event(state, at_second("timestamp"), None)))
        }
        "summary" => {
            if number(&value, &["call_direction"]) != Some(1) {
                return Ok(None);
            }
            let end = number(&value, &["end_time"]).ok_or_else(|| invalid("no end_time"))?;
            let talk = number(&value, &["talk_time"]).unwrap_or(0);
            let answered = number(&value, &["entry_result"]) == Some(1) && talk > 0;
            let (state, duration) = if answered {
                (CallState::Ended, Some((end - talk).max(0)))
            } else {
                (CallState::Missed, None)
            };
            Ok(Some(event(
                state,
                Timestamp::from_second(end).ok(),
                duration,
            )))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mango_signature_is_sha256_of_key_json_salt() {
        let json = r#"{"entry_id":"1"}"#;
        let sign = hex::encode(Sha256::digest(format!("KEY{json}SALT")));
        assert!(mango_signature_holds("KEY", "SALT", "KEY", &sign, json));
        assert!(!mango_signature_holds(
            "KEY",
            "SALT",
            "KEY",
            &sign,
            r#"{"entry_id":"2"}"#
        ));
        assert!(!mango_signature_holds("KEY", "SALT", "OTHER", &sign, json));
        assert!(!mango_signature_holds("KEY", "PEPPER", "KEY", &sign, json));
    }

    #[test]
    fn mango_summaries_become_ended_or_missed_calls() {
        let answered = r#"{"entry_id":"E1","call_direction":1,"from":{"number":"74951112233"},
            "to":{"number":"74950000000","extension":"101"},"create_time":1000,"forward_time":1002,
            "talk_time":1010,"end_time":1100,"entry_result":1,"disconnect_reason":1110}"#;
        let event = mango_call_event("summary", answered).unwrap().unwrap();
        assert_eq!(event.state, CallState::Ended);
        assert_eq!(event.duration_s, Some(90));
        assert_eq!(event.call_id, "E1");
        assert_eq!(event.agent.as_deref(), Some("101"));
        let missed = answered
            .replace("\"entry_result\":1", "\"entry_result\":0")
            .replace("\"talk_time\":1010", "\"talk_time\":0");
        assert_eq!(
            mango_call_event("summary", &missed).unwrap().unwrap().state,
            CallState::Missed
        );
        let outgoing = answered.replace("\"call_direction\":1", "\"call_direction\":2");
        assert!(mango_call_event("summary", &outgoing).unwrap().is_none());
        assert!(mango_call_event("summary", "{oops").is_err());
        assert!(mango_call_event("summary", r#"{"call_direction":1}"#).is_err());
    }

    #[test]
    fn mango_call_states_map_to_ringing_and_answered() {
        let ev = |state: &str| {
            mango_call_event(
                "call",
                &format!(r#"{{"entry_id":"E","call_id":"C","timestamp":1000,"seq":1,"call_state":"{state}","location":"abonent","from":{{"number":"84951112233"}},"to":{{"extension":"101"}}}}"#),
            )
            .unwrap()
            .map(|e| e.state)
        };
        assert_eq!(ev("Appeared"), Some(CallState::Ringing));
        assert_eq!(ev("Connected"), Some(CallState::Answered));
        assert_eq!(ev("Disconnected"), None);
    }
}
