//! The channels' pages (issue 20): the recent calls and the caller's card for the
//! specialist who answers (client, contracts and limits, open tickets, "new ticket from this
//! call"), and the admin's channel settings.

use super::CsrfForm;
use super::guard::{Page, PageError};
use super::templates::*;
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use okno_desk::channels::setting;
use okno_desk::channels::telephony::CallerCard;
use okno_domain::policy::Action;
use okno_domain::*;
use okno_store::CallRecord;
use serde::Deserialize;

/// Calls shown on the calls page: the last day's, at most this many.
const RECENT_CALLS: u32 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/calls", get(calls))
        .route("/calls/{id}", get(call_card))
        .route("/admin/channels", get(admin_channels).post(save_channels))
        .route("/admin/channels/webhooks", post(create_webhook))
        .route("/admin/channels/webhooks/{id}", get(webhook_log))
        .route("/admin/channels/webhooks/{id}/delete", post(delete_webhook))
}

/// Calls are the team's: the desk's check of the policy, 403 when it refuses.
fn staff_only(page: &Page) -> Result<(), PageError> {
    okno_desk::authorize(&page.user, Action::LookUpCallers).map_err(|_| PageError::FORBIDDEN)
}

/// A call as a row of a page: its texts already in the viewer's language and zone.
pub struct CallRow {
    pub href: String,
    pub from: String,
    pub state: String,
    pub started: String,
    pub duration: String,
    pub agent: String,
    pub recording_url: String,
    pub ticket: String,
    pub ticket_href: String,
}

fn call_row(ctx: &Ctx, c: &CallRecord) -> CallRow {
    let ticket = c.ticket_id.map(|t| TicketNumber(t.0).to_string());
    CallRow {
        href: format!("/calls/{}", c.id),
        from: c.from_number.clone(),
        state: ctx.t(&format!("call-state-{}", c.state.as_str())),
        started: ctx.when(Some(c.started_at)),
        duration: c
            .duration_s
            .map(|s| format!("{}:{:02}", s / 60, s % 60))
            .unwrap_or_default(),
        agent: c.agent.clone().unwrap_or_default(),
        recording_url: c.recording_url.clone().unwrap_or_default(),
        ticket_href: ticket
            .as_ref()
            .map(|n| format!("/tickets/{n}"))
            .unwrap_or_default(),
        ticket: ticket.unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "calls.html")]
pub struct CallsTemplate {
    pub ctx: Ctx,
    pub calls: Vec<CallRow>,
}

async fn calls(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    staff_only(&page)?;
    let found = state
        .desk
        .channels()
        .recent_calls(&page.user, 24, RECENT_CALLS)
        .await?;
    let calls = found.iter().map(|c| call_row(&page.ctx, c)).collect();
    Ok(render(
        StatusCode::OK,
        &CallsTemplate {
            ctx: page.ctx,
            calls,
        },
    ))
}

pub struct ContractRow {
    pub number: String,
    pub active: bool,
    pub ends_on: String,
    pub tickets: String,
    pub hours: String,
}

pub struct OpenTicketRow {
    pub number: String,
    pub subject: String,
    pub status: String,
    pub requester: String,
}

#[derive(Template)]
#[template(path = "call_card.html")]
pub struct CallCardTemplate {
    pub ctx: Ctx,
    pub call: CallRow,
    /// Empty when the number is nobody's.
    pub contact_name: String,
    pub contact_email: String,
    pub phone: String,
    pub client_name: String,
    pub client_code: String,
    pub vip: bool,
    pub client_notes: String,
    pub contracts: Vec<ContractRow>,
    pub tickets: Vec<OpenTicketRow>,
    /// "New ticket from this call", prefilled.
    pub new_ticket_href: String,
}

fn limit_text(used: i64, limit: Option<i64>) -> String {
    match limit {
        Some(limit) => format!("{used} / {limit}"),
        None => used.to_string(),
    }
}

fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn call_card(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff_only(&page)?;
    let id: i64 = id.parse().map_err(|_| PageError::NOT_FOUND)?;
    let (call, card) = state.desk.channels().call_card(&page.user, id).await?;
    let row = call_row(&page.ctx, &call);
    let service = &state.desk.contract_settings.registration.service;
    let view = match card {
        Some(CallerCard {
            phone,
            contact,
            client,
            contracts,
            open_tickets,
        }) => {
            let subject = page.ctx.with("call-ticket-subject", &phone.to_string());
            CallCardTemplate {
                new_ticket_href: format!(
                    "/tickets/new?service={}&client={}&requester={}&subject={}&call={}",
                    query_escape(service),
                    query_escape(&client.code),
                    query_escape(&contact.email),
                    query_escape(&subject),
                    call.id
                ),
                call: row,
                contact_name: contact.name,
                contact_email: contact.email,
                phone: phone.to_string(),
                client_name: client.name,
                client_code: client.code,
                vip: client.vip,
                client_notes: client.notes,
                contracts: contracts
                    .into_iter()
                    .map(|u| ContractRow {
                        number: u.contract.terms.number.clone(),
                        active: u.active,
                        ends_on: u.contract.terms.ends_on.to_string(),
                        tickets: limit_text(
                            u.tickets_this_month,
                            u.contract.terms.limits.tickets_per_month,
                        ),
                        hours: limit_text(
                            u.minutes_this_month / 60,
                            u.contract.terms.limits.hours_per_month,
                        ),
                    })
                    .collect(),
                tickets: open_tickets
                    .into_iter()
                    .map(|t| OpenTicketRow {
                        number: t.number().to_string(),
                        status: page.ctx.status(t.status),
                        subject: t.subject,
                        requester: t.requester_name,
                    })
                    .collect(),
                ctx: page.ctx,
            }
        }
        None => CallCardTemplate {
            new_ticket_href: format!(
                "/tickets/new?service={}&call={}",
                query_escape(service),
                call.id
            ),
            call: row,
            contact_name: String::new(),
            contact_email: String::new(),
            phone: call.from_number.clone(),
            client_name: String::new(),
            client_code: String::new(),
            vip: false,
            client_notes: String::new(),
            contracts: Vec::new(),
            tickets: Vec::new(),
            ctx: page.ctx,
        },
    };
    Ok(render(StatusCode::OK, &view))
}

pub struct SettingRow {
    pub name: String,
    pub label: String,
    pub value: String,
}

pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub active: bool,
    pub failures: i64,
    pub disabled_at: String,
}

pub struct EventChoice {
    pub code: &'static str,
    pub label: String,
}

#[derive(Template)]
#[template(path = "admin_channels.html")]
pub struct AdminChannelsTemplate {
    pub ctx: Ctx,
    pub settings: Vec<SettingRow>,
    pub saved: bool,
    pub error: Option<String>,
    pub webhooks: Vec<WebhookRow>,
    /// Subscriptions disabled after repeated failures: the admin's alert.
    pub disabled: usize,
    pub events: Vec<EventChoice>,
    /// The secret of a subscription just made, shown once.
    pub new_secret: Option<String>,
    pub telegram: TelegramStatusView,
}

/// The Telegram bot's status lines.
pub struct TelegramStatusView {
    /// `None`: no token, the bot is off; else its mode.
    pub mode: Option<&'static str>,
    pub last_update: Option<String>,
    pub last_error: Option<String>,
    pub webhook_set: bool,
}

async fn channels_view(
    state: &AppState,
    page: Page,
    saved: bool,
    error: Option<String>,
    new_secret: Option<String>,
) -> Result<AdminChannelsTemplate, PageError> {
    let webhooks: Vec<WebhookRow> = state
        .desk
        .channels()
        .webhooks(&page.user)
        .await?
        .into_iter()
        .map(|w| WebhookRow {
            id: w.id,
            url: w.url,
            events: w.events.join(", "),
            active: w.active,
            failures: w.failures,
            disabled_at: w
                .disabled_at
                .map(|t| page.ctx.when(Some(t)))
                .unwrap_or_default(),
        })
        .collect();
    let disabled = webhooks.iter().filter(|w| !w.active).count();
    let events = okno_desk::channels::webhooks::event_codes()
        .into_iter()
        .map(|code| EventChoice {
            code,
            label: page
                .ctx
                .t(&format!("webhook-event-{}", code.replace('.', "-"))),
        })
        .collect();
    let settings = state
        .desk
        .channels()
        .settings(&page.user)
        .await?
        .into_iter()
        .map(|(name, value)| SettingRow {
            label: page
                .ctx
                .t(&format!("channel-setting-{}", name.replace('.', "-"))),
            name: name.to_owned(),
            value,
        })
        .collect();
    let status = state.desk.channels().telegram_status(&page.user).await?;
    let mode = state.desk.telegram_config().await?.map(|c| match c.mode {
        okno_desk::channels::telegram::Mode::Polling => "polling",
        okno_desk::channels::telegram::Mode::Webhook => "webhook",
    });
    let telegram = TelegramStatusView {
        mode,
        last_update: status.last_update_at.map(|t| page.ctx.when(Some(t))),
        last_error: status
            .last_error
            .map(|(at, text)| format!("{} — {text}", page.ctx.when(Some(at)))),
        webhook_set: status.webhook_set,
    };
    Ok(AdminChannelsTemplate {
        ctx: page.ctx,
        telegram,
        settings,
        saved,
        error,
        webhooks,
        disabled,
        events,
        new_secret,
    })
}

async fn admin_channels(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Result<Response, PageError> {
    okno_desk::authorize(&page.user, Action::ReadChannels).map_err(|_| PageError::FORBIDDEN)?;
    let view = channels_view(&state, page, q.saved.is_some(), None, None).await?;
    Ok(render(StatusCode::OK, &view))
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

/// The settings form: `csrf` and one field per setting, named as the setting.
async fn save_channels(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    okno_desk::authorize(&page.user, Action::ManageChannels).map_err(|_| PageError::FORBIDDEN)?;
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    page.check_csrf(csrf)?;
    for name in setting::ALL {
        if let Some((_, value)) = form.iter().find(|(k, _)| k == name)
            && let Err(e) = state
                .desk
                .channels()
                .set_setting(&page.user, name, value)
                .await
        {
            let message = super::messages::desk_message(page.ctx.lang, &e.to_string())
                .unwrap_or_else(|| page.ctx.t("channel-setting-refused"));
            let view = channels_view(&state, page, false, Some(message), None).await?;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view));
        }
    }
    Ok(Redirect::to("/admin/channels?saved=1").into_response())
}

/// The new-subscription form: `url`, `secret` (optional) and one `events` field per event.
async fn create_webhook(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    okno_desk::authorize(&page.user, Action::ManageChannels).map_err(|_| PageError::FORBIDDEN)?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    page.check_csrf(&field("csrf"))?;
    let input = okno_desk::channels::webhooks::WebhookInput {
        url: field("url"),
        events: form
            .iter()
            .filter(|(k, _)| k == "events")
            .map(|(_, v)| v.clone())
            .collect(),
        secret: Some(field("secret")).filter(|s| !s.trim().is_empty()),
    };
    match state
        .desk
        .channels()
        .create_webhook(&page.user, input)
        .await
    {
        Ok(hook) => {
            let view = channels_view(&state, page, true, None, Some(hook.secret)).await?;
            Ok(render(StatusCode::CREATED, &view))
        }
        Err(e) => {
            let message = match &e {
                okno_desk::DeskError::Domain(DomainError::Invalid(f)) => {
                    page.ctx.with("webhook-refused", f.field)
                }
                _ => return Err(e.into()),
            };
            let view = channels_view(&state, page, false, Some(message), None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
        }
    }
}

async fn delete_webhook(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id: i64 = id.parse().map_err(|_| PageError::NOT_FOUND)?;
    state.desk.channels().delete_webhook(&page.user, id).await?;
    Ok(Redirect::to("/admin/channels?saved=1").into_response())
}

pub struct DeliveryRow {
    pub event: String,
    pub created: String,
    pub attempts: i64,
    pub outcome: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin_webhook.html")]
pub struct WebhookLogTemplate {
    pub ctx: Ctx,
    pub url: String,
    pub deliveries: Vec<DeliveryRow>,
}

async fn webhook_log(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::NOT_FOUND)?;
    let channels = state.desk.channels();
    let hook = channels
        .webhooks(&page.user)
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or(PageError::NOT_FOUND)?;
    let deliveries = channels
        .webhook_deliveries(&page.user, id, None, 100)
        .await?
        .into_iter()
        .map(|d| DeliveryRow {
            outcome: if let Some(at) = d.delivered_at {
                page.ctx.with("webhook-delivered", &page.ctx.when(Some(at)))
            } else if d.given_up_at.is_some() {
                page.ctx.t("webhook-given-up")
            } else {
                page.ctx
                    .with("webhook-retry", &page.ctx.when(Some(d.next_attempt_at)))
            },
            event: d.event,
            created: page.ctx.when(Some(d.created_at)),
            attempts: d.attempts,
            error: d.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &WebhookLogTemplate {
            ctx: page.ctx,
            url: hook.url,
            deliveries,
        },
    ))
}
