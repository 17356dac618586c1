//! `/admin/mail`: what the desk could not take in or send. The quarantine (each message with
//! its reason, and "take in again" through the same pipeline) and the outbox's problems
//! (failing or given up, and "send again"). The API has the same under `/api/v1/mail`.

use super::CsrfForm;
use super::guard::{Page, PageError, flash_redirect};
use super::templates::{Ctx, render};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use okno_desk::mail::{IngestOutcome, UNCERTAIN_HANDOFF};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/mail", get(mail_page))
        .route("/admin/mail/quarantine/{id}/retry", post(retry_quarantined))
        .route("/admin/mail/outbox/{id}/retry", post(retry_outbox))
}

/// Quarantined messages per page.
const QUARANTINE_PAGE: u32 = 100;

pub struct QuarantineRow {
    pub id: i64,
    pub received: String,
    pub mailbox: String,
    pub sender: String,
    pub subject: String,
    pub reason: String,
    pub attempts: i64,
}

pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub created: String,
    pub attempts: i64,
    pub error: String,
    /// The next attempt, or "given up".
    pub next: String,
    /// Handed to the mail server with no answer recorded: it may have been delivered.
    pub uncertain: bool,
}

#[derive(Template)]
#[template(path = "admin_mail.html")]
pub struct MailTemplate {
    pub ctx: Ctx,
    pub quarantine: Vec<QuarantineRow>,
    pub outbox: Vec<OutboxRow>,
}

async fn mail_page(State(state): State<AppState>, p: Page) -> Result<Response, PageError> {
    let quarantined = state
        .desk
        .quarantine(&p.user, None, QUARANTINE_PAGE)
        .await?;
    let problems = state.desk.outbox_problems(&p.user).await?;
    let ctx = p.ctx;
    let quarantine = quarantined
        .into_iter()
        .map(|q| QuarantineRow {
            id: q.id,
            received: ctx.when(Some(q.received_at)),
            mailbox: q.mailbox,
            sender: q.sender.unwrap_or_default(),
            subject: q.subject.unwrap_or_default(),
            reason: q.reason,
            attempts: q.attempts,
        })
        .collect();
    let outbox = problems
        .into_iter()
        .map(|r| {
            let error = r.last_error.unwrap_or_default();
            OutboxRow {
                id: r.id,
                uncertain: error.starts_with(UNCERTAIN_HANDOFF),
                kind: r.kind,
                created: ctx.when(Some(r.created_at)),
                attempts: r.attempts,
                next: r
                    .next_attempt_at
                    .map_or_else(|| ctx.t("mail-admin-given-up"), |at| ctx.when(Some(at))),
                error,
            }
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &MailTemplate {
            ctx,
            quarantine,
            outbox,
        },
    ))
}

async fn retry_quarantined(
    State(state): State<AppState>,
    p: Page,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    p.check_csrf(&form.csrf)?;
    let id = id.parse().map_err(|_| PageError::NOT_FOUND)?;
    let outcome = state.desk.retry_quarantine(&p.user, id).await?;
    let key = match outcome {
        IngestOutcome::Quarantined(_) => "flash-mail-still-quarantined",
        _ => "flash-mail-taken-in",
    };
    Ok(flash_redirect("/admin/mail", key))
}

async fn retry_outbox(
    State(state): State<AppState>,
    p: Page,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    p.check_csrf(&form.csrf)?;
    let id = id.parse().map_err(|_| PageError::NOT_FOUND)?;
    state.desk.retry_outbox(&p.user, id).await?;
    Ok(flash_redirect("/admin/mail", "flash-mail-send-again"))
}
