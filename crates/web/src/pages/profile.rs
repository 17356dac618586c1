//! The person's own page (issue 19): the time zone every time on their pages shows in; and
//! the ticket search page.

use super::guard::{Page, PageError, flash_redirect};
use super::messages::desk_message;
use super::templates::{Ctx, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use okno_desk::DeskError;
use okno_domain::DomainError;
use serde::Deserialize;

/// Zones offered while typing: Russia's, west to east, and UTC; any IANA name is taken.
const ZONES: &[&str] = &[
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
    "UTC",
];

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfileTemplate {
    pub ctx: Ctx,
    /// The zone the person chose (empty: the default).
    pub zone: String,
    pub zones: &'static [&'static str],
    /// What the default is, and which zone the page uses now.
    pub hint: String,
    /// The desk's clock in the zone the page uses.
    pub now: String,
    pub error: Option<String>,
    /// "Connect Telegram": when the account was linked, if it is.
    pub telegram_linked: Option<String>,
    /// A link code just made, and until when it works.
    pub telegram_code: Option<(String, String)>,
}

async fn view(
    state: &AppState,
    page: &Page,
    typed: Option<String>,
    error: Option<String>,
) -> Result<ProfileTemplate, PageError> {
    view_with_code(state, page, typed, error, None).await
}

async fn view_with_code(
    state: &AppState,
    page: &Page,
    typed: Option<String>,
    error: Option<String>,
    code: Option<(String, jiff::Timestamp)>,
) -> Result<ProfileTemplate, PageError> {
    let telegram_linked = state
        .desk
        .channels()
        .telegram_link(&page.user)
        .await?
        .map(|link| page.ctx.when(Some(link.linked_at)));
    let chosen = state.desk.preferences().chosen_zone(&page.user).await?;
    let ctx = page.ctx.clone();
    let current = ctx.zone.iana_name().unwrap_or("UTC").to_owned();
    let hint = if chosen.is_some() {
        ctx.with("profile-zone-chosen", &current)
    } else {
        ctx.with("profile-zone-default", &current)
    };
    Ok(ProfileTemplate {
        zone: typed.or(chosen).unwrap_or_default(),
        zones: ZONES,
        hint,
        now: ctx.when(Some(ctx.now)),
        error,
        telegram_linked,
        telegram_code: code.map(|(code, until)| (code, ctx.when(Some(until)))),
        ctx,
    })
}

pub async fn profile_page(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    let view = view(&state, &page, None, None).await?;
    Ok(render(StatusCode::OK, &view))
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn save_profile(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<ProfileForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    match state
        .desk
        .preferences()
        .set_zone(&page.user, &form.time_zone)
        .await
    {
        Ok(()) => Ok(flash_redirect("/profile", "flash-profile-saved")),
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            let message = desk_message(page.ctx.lang, &e.message)
                .unwrap_or_else(|| page.ctx.t("field-invalid"));
            let typed: String = form.time_zone.chars().take(64).collect();
            let view = view(&state, &page, Some(typed), Some(message)).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TelegramForm {
    #[serde(default)]
    csrf: String,
    /// `code` (a new one-time link code) or `unlink`.
    #[serde(default)]
    action: String,
}

/// "Connect Telegram" on the profile: a one-time code to send the bot, or unlinking.
pub async fn profile_telegram(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<TelegramForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let channels = state.desk.channels();
    if form.action == "unlink" {
        channels.unlink_telegram(&page.user).await?;
        return Ok(flash_redirect("/profile", "flash-telegram-unlinked"));
    }
    let code = channels.telegram_code(&page.user).await?;
    let view = view_with_code(&state, &page, None, None, Some(code)).await?;
    Ok(render(StatusCode::OK, &view))
}

/// Tickets found per search page.
const SEARCH_LIMIT: usize = 50;

pub struct SearchHit {
    pub href: String,
    pub number: String,
    /// Escaped by the index, with `<b>` around the matched words.
    pub subject_html: String,
    pub snippet_html: String,
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchTemplate {
    pub ctx: Ctx,
    pub q: String,
    pub hits: Vec<SearchHit>,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Ticket search (subject, description, comments; internal ones for staff), within what the
/// viewer may see.
pub async fn search_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Query(query): axum::extract::Query<SearchQuery>,
) -> Result<Response, PageError> {
    let q: String = query.q.trim().chars().take(256).collect();
    let hits = if q.is_empty() {
        Vec::new()
    } else {
        state
            .desk
            .search_tickets(&page.user, &q, SEARCH_LIMIT)
            .await?
            .into_iter()
            .map(|h| {
                let number = okno_domain::TicketNumber(h.id).to_string();
                SearchHit {
                    href: format!("/tickets/{number}"),
                    number,
                    subject_html: h.subject_html,
                    snippet_html: h.snippet_html,
                }
            })
            .collect()
    };
    let view = SearchTemplate {
        ctx: page.ctx,
        q,
        hits,
    };
    Ok(render(StatusCode::OK, &view))
}
