//! The channels' API (issue 20): the caller lookup and call events for PBXes, Mango Office
//! VPBX's notifications, the calls logged on a ticket. Thin handlers over
//! [`okno_desk::channels`].

use super::ticket_id;
use super::views::{TicketView, rfc3339};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use okno_desk::channels::telephony::{CallEvent, CallOutcome, CallerCard};
use okno_domain::channels::CallState;
use okno_store::CallRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of this module, merged into `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(telephony_event))
        .routes(routes!(mango_event))
        .routes(routes!(ticket_calls))
        .routes(routes!(telegram_webhook))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The caller's number in any usual writing: `8 (495) 111-22-33`, `+74951112233`,
    /// `74951112233`.
    phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientBrief {
    pub code: String,
    pub name: String,
    pub vip: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ContractBrief {
    pub number: String,
    pub active: bool,
    pub ends_on: String,
    pub tickets_this_month: i64,
    pub tickets_per_month: Option<i64>,
    pub minutes_this_month: i64,
    pub hours_per_month: Option<i64>,
}

/// Who is calling: the contact, its client and contracts, and the client's open tickets.
#[derive(Serialize, ToSchema)]
pub struct CallerView {
    /// The number in its canonical digits, `74951112233`.
    pub phone: String,
    pub contact: ContactView,
    pub client: ClientBrief,
    pub contracts: Vec<ContractBrief>,
    pub open_tickets: Vec<TicketView>,
}

impl From<CallerCard> for CallerView {
    fn from(card: CallerCard) -> Self {
        CallerView {
            phone: card.phone.key().to_owned(),
            contact: ContactView {
                id: card.contact.id.to_string(),
                name: card.contact.name,
                email: card.contact.email,
                phone: card.contact.phone,
            },
            client: ClientBrief {
                code: card.client.code,
                name: card.client.name,
                vip: card.client.vip,
            },
            contracts: card
                .contracts
                .into_iter()
                .map(|u| ContractBrief {
                    number: u.contract.terms.number,
                    active: u.active,
                    ends_on: u.contract.terms.ends_on.to_string(),
                    tickets_this_month: u.tickets_this_month,
                    tickets_per_month: u.contract.terms.limits.tickets_per_month,
                    minutes_this_month: u.minutes_this_month,
                    hours_per_month: u.contract.terms.limits.hours_per_month,
                })
                .collect(),
            open_tickets: card.open_tickets.into_iter().map(Into::into).collect(),
        }
    }
}

/// The caller behind a phone number (staff and integration tokens): 404 when the number is
/// nobody's, 422 naming `phone` when it is not a phone number.
#[utoipa::path(get, path = "/contacts/lookup", tag = "telephony", params(LookupQuery),
    responses((status = 200, body = CallerView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn lookup(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<LookupQuery>,
) -> Result<Json<CallerView>, ApiError> {
    let phone = q.phone.unwrap_or_default();
    let card = state.desk.channels().caller_card(&user, &phone).await?;
    Ok(Json(card.into()))
}

/// A call event in Okno's own JSON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelephonyEvent {
    /// `ringing`, `answered`, `ended` or `missed`.
    pub event: String,
    /// The PBX's id of the call; every event of one call carries the same.
    pub call_id: String,
    /// The caller's number.
    pub from: String,
    /// The number called.
    #[serde(default)]
    pub to: String,
    /// When it happened (RFC 3339); left out: now.
    pub at: Option<String>,
    /// The conversation's length in seconds (`ended`).
    pub duration_s: Option<i64>,
    /// A link to the recording (`ended`).
    pub recording_url: Option<String>,
    /// Who answered: the specialist's email or extension (`answered`).
    pub agent: Option<String>,
}

/// A call as the desk recorded it.
#[derive(Serialize, ToSchema)]
pub struct CallView {
    pub id: String,
    pub call_id: String,
    pub from: String,
    pub to: String,
    /// `ringing`, `answered`, `ended` or `missed`.
    pub state: String,
    /// The caller's user id when the number is a contact's.
    pub contact: Option<String>,
    pub agent: Option<String>,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_s: Option<i64>,
    pub recording_url: Option<String>,
    /// The ticket the call is logged on (its number).
    pub ticket: Option<String>,
    /// The caller's card for the specialist who answers.
    pub card_url: String,
}

impl From<CallRecord> for CallView {
    fn from(c: CallRecord) -> Self {
        CallView {
            card_url: format!("/calls/{}", c.id),
            id: c.id.to_string(),
            call_id: c.call_id,
            from: c.from_number,
            to: c.to_number,
            state: c.state.as_str().to_owned(),
            contact: c.contact_id.map(|c| c.to_string()),
            agent: c.agent,
            started_at: rfc3339(c.started_at),
            answered_at: c.answered_at.map(rfc3339),
            ended_at: c.ended_at.map(rfc3339),
            duration_s: c.duration_s,
            recording_url: c.recording_url,
            ticket: c
                .ticket_id
                .map(|t| okno_domain::TicketNumber(t.0).to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CallEventResult {
    pub call: CallView,
    /// The "call back" ticket a missed call from a contact opened.
    pub opened_ticket: Option<TicketView>,
}

impl From<CallOutcome> for CallEventResult {
    fn from(o: CallOutcome) -> Self {
        CallEventResult {
            call: o.call.into(),
            opened_ticket: o.opened.map(Into::into),
        }
    }
}

fn unprocessable(field: &str, message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        message.to_owned(),
    )
    .field(field)
}

/// A call event from a PBX (staff or integration token). A missed call from a known
/// contact opens a "call back" ticket for line 1 of the contact's client, once per call;
/// repeated and out-of-order events change nothing.
#[utoipa::path(post, path = "/telephony/events", tag = "telephony", request_body = TelephonyEvent,
    responses((status = 200, body = CallEventResult), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn telephony_event(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<TelephonyEvent>,
) -> Result<Json<CallEventResult>, ApiError> {
    let call_state = CallState::parse(req.event.trim())
        .ok_or_else(|| unprocessable("event", "one of ringing, answered, ended, missed"))?;
    let at = match req.at.as_deref() {
        Some(text) => Some(
            text.parse::<jiff::Timestamp>()
                .map_err(|_| unprocessable("at", "an RFC 3339 instant"))?,
        ),
        None => None,
    };
    let event = CallEvent {
        state: call_state,
        call_id: req.call_id,
        from: req.from,
        to: req.to,
        at,
        duration_s: req.duration_s,
        recording_url: req.recording_url,
        agent: req.agent,
    };
    let outcome = state.desk.channels().call_event(&user, event).await?;
    Ok(Json(outcome.into()))
}

/// A Mango Office VPBX notification as its API sends them: a form of `vpbx_api_key`,
/// `sign` (hex SHA-256 of key + json + salt) and `json`.
#[derive(Deserialize, ToSchema)]
pub struct MangoForm {
    #[serde(default)]
    pub vpbx_api_key: String,
    #[serde(default)]
    pub sign: String,
    #[serde(default)]
    pub json: String,
}

/// Mango Office VPBX notifications (`events/call`, `events/summary`; others are
/// acknowledged and ignored). Set the PBX's notification address to
/// `<desk>/api/v1/telephony/mango`. No token: the signature authenticates; a forged one
/// answers 401 and changes nothing.
#[utoipa::path(post, path = "/telephony/mango/events/{kind}", tag = "telephony", security(()),
    params(("kind" = String, Path, description = "`call`, `summary`, …")),
    request_body(content = MangoForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Taken"), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mango_event(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Form(form): Form<MangoForm>,
) -> Result<StatusCode, ApiError> {
    state
        .desk
        .channels()
        .mango_event(&kind, &form.vpbx_api_key, &form.sign, &form.json)
        .await?;
    Ok(StatusCode::OK)
}

/// Telegram's webhook (webhook mode, Admin → Channels). No token: the
/// `X-Telegram-Bot-Api-Secret-Token` header must carry the configured secret, or the answer
/// is 401 and nothing changes. The body is one Bot API `Update`.
#[utoipa::path(post, path = "/telegram/webhook", tag = "telegram", security(()),
    request_body(content = Object, description = "A Bot API Update"),
    responses((status = 200, description = "Taken"), (status = 401, body = ErrorBody)))]
async fn telegram_webhook(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Json(update): Json<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let secret = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok());
    state.desk.telegram_webhook(secret, &update).await?;
    Ok(Json(serde_json::json!({})))
}

/// The calls logged on a ticket (staff only).
#[utoipa::path(get, path = "/tickets/{id}/calls", tag = "telephony", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CallView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn ticket_calls(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<CallView>>, ApiError> {
    let calls = state
        .desk
        .channels()
        .ticket_calls(&user, ticket_id(&id)?)
        .await?;
    Ok(Json(calls.into_iter().map(Into::into).collect()))
}

/// The routes of outgoing webhooks, merged into `/api/v1`.
pub fn webhook_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(webhook_deliveries))
}

/// A subscription to ask for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed (http or https).
    pub url: String,
    /// Event codes: `ticket.created`, `ticket.status_changed`, `comment.created`,
    /// `task.created`, `task.completed`, `deadline.breached`, `rating.created`.
    pub events: Vec<String>,
    /// The signing secret (16–200 characters); left out: a random one, answered once.
    pub secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    pub id: String,
    /// Signs every delivery: `X-Okno-Signature: t=<unix seconds>,v1=<hex
    /// HMAC-SHA256(secret, "<t>." + body)>`.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// `false` once disabled after 10 failed deliveries in a row.
    pub active: bool,
    /// Failed deliveries in a row.
    pub failures: i64,
    pub created_at: String,
    pub disabled_at: Option<String>,
}

impl From<okno_store::Webhook> for WebhookView {
    fn from(w: okno_store::Webhook) -> Self {
        WebhookView {
            id: w.id.to_string(),
            url: w.url,
            events: w.events,
            active: w.active,
            failures: w.failures,
            created_at: rfc3339(w.created_at),
            disabled_at: w.disabled_at.map(rfc3339),
        }
    }
}

/// What changed, in a delivery's body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WebhookEventData {
    pub ticket_id: String,
    /// `OK-000123`.
    pub ticket_number: String,
    /// The ticket's client (code).
    pub client: String,
    /// Who made the change (a user id), when a person did.
    pub actor_id: Option<String>,
    /// As in the ticket history: the status before (`ticket.status_changed`).
    pub before: Option<String>,
    /// As in the ticket history: the new status, the comment's id (`comment.created`), the
    /// task's kind (`task.created`), `task: outcome` (`task.completed`), `breached: detail`
    /// (`deadline.breached`), the score (`rating.created`).
    pub after: Option<String>,
    /// An internal comment or task: never shown to the client.
    pub internal: bool,
}

/// The JSON body of every delivery: a POST with `Content-Type: application/json`,
/// `X-Okno-Event`, `X-Okno-Delivery` and `X-Okno-Signature: t=<unix seconds>,v1=<hex
/// HMAC-SHA256(secret, "<t>." + body)>`. Answer 2xx within 10 s; anything else is tried
/// again (10 s, doubling, up to 8 attempts). Reject a `t` older than 5 minutes.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WebhookEventBody {
    /// Unique per event (`evt_<n>`): the same event to two subscriptions has the same id.
    pub id: String,
    pub event: String,
    /// When it happened (RFC 3339).
    pub at: String,
    pub data: WebhookEventData,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    pub body: Option<WebhookEventBody>,
    pub created_at: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub delivered_at: Option<String>,
    /// Set when it was given up after its last attempt.
    pub given_up_at: Option<String>,
    /// The receiver's last HTTP status.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

impl From<okno_store::WebhookDelivery> for DeliveryView {
    fn from(d: okno_store::WebhookDelivery) -> Self {
        DeliveryView {
            id: d.id.to_string(),
            event: d.event,
            body: serde_json::from_str(&d.body).ok(),
            created_at: rfc3339(d.created_at),
            attempts: d.attempts,
            next_attempt_at: rfc3339(d.next_attempt_at),
            delivered_at: d.delivered_at.map(rfc3339),
            given_up_at: d.given_up_at.map(rfc3339),
            last_status: d.last_status,
            last_error: d.last_error,
        }
    }
}

fn webhook_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("webhook"))
}

/// The subscriptions (admins).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookView>), (status = 403, body = ErrorBody)))]
async fn list_webhooks(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let hooks = state.desk.channels().webhooks(&user).await?;
    Ok(Json(hooks.into_iter().map(Into::into).collect()))
}

/// Subscribes a URL to events (admins); the answer carries the signing secret.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookCreated), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let hook = state
        .desk
        .channels()
        .create_webhook(
            &user,
            okno_desk::channels::webhooks::WebhookInput {
                url: req.url,
                events: req.events,
                secret: req.secret,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            id: hook.id.to_string(),
            secret: hook.secret,
        }),
    ))
}

/// Ends a subscription (admins); its delivery log stays.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_webhook(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .desk
        .channels()
        .delete_webhook(&user, webhook_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `id` of the last delivery of the previous page.
    cursor: Option<String>,
}

/// A subscription's delivery log, newest first (admins).
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path), DeliveryQuery),
    responses((status = 200, body = Vec<DeliveryView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn webhook_deliveries(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let before = match q.cursor.as_deref() {
        Some(c) => Some(
            c.parse()
                .map_err(|_| unprocessable("cursor", "not a cursor from a previous page"))?,
        ),
        None => None,
    };
    let found = state
        .desk
        .channels()
        .webhook_deliveries(&user, webhook_id(&id)?, before, q.limit.unwrap_or(50))
        .await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}
