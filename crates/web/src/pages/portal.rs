//! The client portal's panels and the live parts of the pages (issue 8): quota usage of
//! the client's contracts (also the contract part of the task page's 360°), the client's
//! knowledge-base articles, and the fragments htmx polls so the conversation and the feed
//! refresh without a reload. A poll of an unchanged conversation costs one indexed read and
//! answers 204, which htmx leaves alone.

use super::guard::{Page, PageError, flash_redirect};
use super::specialist::{ArticleLink, hours, kb_links};
use super::templates::*;
use super::ticket_id;
use super::workplaces::{FeedRow, feed_rows};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use okno_desk::contracts::ContractUsage;
use okno_desk::{Desk, DeskError};
use okno_domain::*;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets/{id}/conversation", get(conversation_fragment))
        .route("/tickets/{id}/edit", get(draft_form).post(save_draft))
        .route("/feed", get(feed_fragment))
}

/// One limit of a contract and how much of it is used this month.
pub struct UsageLine {
    pub label: String,
    pub used: String,
    pub limit: String,
    /// Used share in percent, for the bar (capped at 100).
    pub percent: i64,
    pub over: bool,
}

pub struct ContractRow {
    pub number: String,
    pub period: String,
    pub active: bool,
    pub usage: Vec<UsageLine>,
}

fn usage_line(ctx: &Ctx, key: &str, used: i64, limit: i64, show: fn(i64) -> String) -> UsageLine {
    UsageLine {
        label: ctx.t(key),
        used: show(used),
        limit: show(limit),
        percent: if limit > 0 {
            (used * 100 / limit).clamp(0, 100)
        } else {
            100
        },
        over: used > limit,
    }
}

/// Contracts with their limits' use this month, in force first. One piece serves the
/// client's quota panel and the specialist's 360°.
pub fn contract_rows(ctx: &Ctx, usage: &[ContractUsage]) -> Vec<ContractRow> {
    let mut rows: Vec<ContractRow> = usage
        .iter()
        .map(|u| {
            let terms = &u.contract.terms;
            let limits = &terms.limits;
            let mut lines = Vec::new();
            if let Some(limit) = limits.tickets_per_month {
                lines.push(usage_line(
                    ctx,
                    "quota-tickets-month",
                    u.tickets_this_month,
                    limit,
                    |n| n.to_string(),
                ));
            }
            if let Some(limit_hours) = limits.hours_per_month {
                lines.push(usage_line(
                    ctx,
                    "quota-hours-month",
                    u.minutes_this_month,
                    limit_hours * 60,
                    hours,
                ));
            }
            if let Some(keys) = limits.license_keys {
                lines.push(usage_line(
                    ctx,
                    "quota-license-keys",
                    u.license_keys_used,
                    keys,
                    |n| n.to_string(),
                ));
            }
            if let Some(per_day) = limits.tickets_per_contact_day {
                lines.push(UsageLine {
                    label: ctx.t("quota-tickets-contact-day"),
                    used: String::new(),
                    limit: per_day.to_string(),
                    percent: 0,
                    over: false,
                });
            }
            ContractRow {
                number: terms.number.clone(),
                period: format!("{} – {}", terms.starts_on, terms.ends_on),
                active: u.active,
                usage: lines,
            }
        })
        .collect();
    rows.sort_by_key(|r| !r.active);
    rows
}

/// The client's contracts in force and their use, for the portal's quota panel.
pub async fn client_quota(
    desk: &Desk,
    ctx: &Ctx,
    user: &User,
) -> Result<Vec<ContractRow>, PageError> {
    let Some(client) = user.client_id else {
        return Ok(Vec::new());
    };
    let Some(client) = desk
        .store
        .client(client)
        .await
        .map_err(okno_desk::DeskError::from)?
    else {
        return Ok(Vec::new());
    };
    let usage = desk.client_usage(user, &client.code).await?;
    let mut rows = contract_rows(ctx, &usage);
    rows.retain(|r| r.active);
    Ok(rows)
}

/// The portal's side panels: quota and knowledge base (clients only).
pub struct PortalPanels {
    pub quota: Vec<ContractRow>,
    pub kb: Vec<ArticleLink>,
}

pub async fn portal_panels(desk: &Desk, ctx: &Ctx, user: &User) -> Result<PortalPanels, PageError> {
    if user.role.is_staff() {
        return Ok(PortalPanels {
            quota: Vec::new(),
            kb: Vec::new(),
        });
    }
    Ok(PortalPanels {
        quota: client_quota(desk, ctx, user).await?,
        kb: kb_links(desk, user, "").await?,
    })
}

// ---- Live fragments ----

/// What changes when the conversation changes: a new comment touches the ticket.
pub fn conversation_stamp(ticket: &Ticket) -> String {
    ticket.updated_at.as_millisecond().to_string()
}

#[derive(Template)]
#[template(path = "_conversation.html")]
pub struct ConversationTemplate {
    pub ctx: Ctx,
    pub href: String,
    pub stamp: String,
    pub comments: Vec<CommentRow>,
}

#[derive(Deserialize)]
pub struct StampQuery {
    #[serde(default)]
    v: String,
}

/// The conversation alone: 204 while the ticket is unchanged since `v`, else the list.
async fn conversation_fragment(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Query(query): Query<StampQuery>,
) -> Result<Response, PageError> {
    let ticket = state.desk.ticket(&page.user, ticket_id(&id)?).await?;
    let stamp = conversation_stamp(&ticket);
    if stamp == query.v {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let comments = state.desk.comments(&page.user, ticket.id).await?;
    let view = ConversationTemplate {
        href: format!("/tickets/{}", ticket.number()),
        stamp,
        comments: comment_rows(&page.ctx, &comments),
        ctx: page.ctx,
    };
    Ok(render(StatusCode::OK, &view))
}

#[derive(Template)]
#[template(path = "_feed_live.html")]
pub struct FeedTemplate {
    pub ctx: Ctx,
    pub feed: Vec<FeedRow>,
}

/// The feed alone, refreshed in place on the portal and the desk.
async fn feed_fragment(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let feed = feed_rows(&state.desk, &page.ctx, &page.user).await?;
    let view = FeedTemplate {
        ctx: page.ctx,
        feed,
    };
    Ok(render(StatusCode::OK, &view))
}

// ---- A saved draft opened again ----

#[derive(Template)]
#[template(path = "edit_draft.html")]
pub struct DraftTemplate {
    pub ctx: Ctx,
    pub href: String,
    pub number: String,
    pub service: String,
    pub subject: String,
    pub description: String,
    pub errors: TicketFormErrors,
}

impl DraftTemplate {
    fn new(ctx: Ctx, desk: &Desk, ticket: &Ticket, subject: String, description: String) -> Self {
        DraftTemplate {
            href: format!("/tickets/{}", ticket.number()),
            number: ticket.number().to_string(),
            service: super::service_text(desk, &ticket.service, ctx.lang)
                .map(|(name, _)| name)
                .unwrap_or_default(),
            subject,
            description,
            errors: TicketFormErrors::default(),
            ctx,
        }
    }
}

/// The draft, if the viewer wrote it and it is still a draft; else where to go instead.
async fn own_draft(
    desk: &Desk,
    page: &Page,
    raw: &str,
) -> Result<Result<Ticket, Response>, PageError> {
    let ticket = desk.ticket(&page.user, ticket_id(raw)?).await?;
    if ticket.requester_id != page.user.id {
        return Err(PageError::FORBIDDEN);
    }
    if ticket.status != TicketStatus::Draft {
        // Sent meanwhile (another tab): its page says what became of it.
        let href = format!("/tickets/{}", ticket.number());
        return Ok(Err(Redirect::to(&href).into_response()));
    }
    Ok(Ok(ticket))
}

async fn draft_form(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let ticket = match own_draft(&state.desk, &page, &id).await? {
        Ok(ticket) => ticket,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let (subject, description) = (ticket.subject.clone(), ticket.description.clone());
    let view = DraftTemplate::new(page.ctx, &state.desk, &ticket, subject, description);
    Ok(render(StatusCode::OK, &view))
}

#[derive(Deserialize)]
pub struct DraftForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    description: String,
    /// Present when "send" was pressed rather than "save".
    send: Option<String>,
}

/// Saves the changed draft, and sends it when asked; a mistake shows the form again with
/// what was typed and the error next to its field.
async fn save_draft(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<DraftForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let ticket = match own_draft(&state.desk, &page, &id).await? {
        Ok(ticket) => ticket,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let saved = state
        .desk
        .update_draft(&page.user, ticket.id, &form.subject, &form.description)
        .await;
    let error = match saved {
        Ok(saved) => {
            if form.send.is_some() {
                state.desk.submit_draft(&page.user, saved.id).await?;
            }
            let key = if form.send.is_some() {
                "flash-ticket-sent"
            } else {
                "flash-draft-saved"
            };
            return Ok(flash_redirect(&format!("/tickets/{}", saved.number()), key));
        }
        Err(DeskError::Domain(DomainError::Invalid(error))) => error,
        Err(error) => return Err(error.into()),
    };
    let mut view = DraftTemplate::new(
        page.ctx,
        &state.desk,
        &ticket,
        form.subject,
        form.description,
    );
    let message = Some(field_message(&view.ctx, &error));
    match error.field {
        "subject" => view.errors.subject = message,
        "description" => view.errors.description = message,
        _ => view.errors.other = message,
    }
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
}
