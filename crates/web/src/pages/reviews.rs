//! The daily review in the manager's workplace: waiting on the dashboard and the desk until
//! a manager has gone through it, a page of its own read in the manager's language and
//! zone, and the list of past reviews.

use super::guard::{Page, PageError};
use super::templates::*;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use fluent_templates::fluent_bundle::FluentValue;
use okno_desk::Desk;
use okno_desk::reviews::Review;
use okno_domain::review::Ball;
use okno_domain::*;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/manager/reviews", get(list_page))
        .route("/manager/reviews/{id}", get(review_page))
        .route("/manager/reviews/{id}/done", post(finish))
}

/// The waiting review as a workplace shows it: a link and the day.
pub struct WaitingReview {
    pub href: String,
    pub title: String,
}

/// The review waiting for `page`'s user (managers only), as a line in their workplace.
pub async fn waiting(desk: &Desk, page: &Page) -> Result<Option<WaitingReview>, PageError> {
    let review = desk.reviews().waiting(&page.user).await?;
    Ok(review.map(|r| WaitingReview {
        href: format!("/manager/reviews/{}", r.id),
        title: page.ctx.with("review-waiting", &r.day),
    }))
}

pub struct ReviewRow {
    pub href: String,
    pub day: String,
    pub ours: String,
    pub theirs: String,
    pub done: String,
}

#[derive(Template)]
#[template(path = "reviews.html")]
pub struct ListTemplate {
    pub ctx: Ctx,
    pub rows: Vec<ReviewRow>,
}

/// Totals on each side, or a dash for an old text review.
fn totals(review: &Review) -> (String, String) {
    match &review.content {
        Ok(s) => (s.ours_total.to_string(), s.theirs_total.to_string()),
        Err(_) => ("—".to_owned(), "—".to_owned()),
    }
}

async fn list_page(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let reviews = state.desk.reviews().list(&page.user, 60).await?;
    let rows = reviews
        .iter()
        .map(|r| {
            let (ours, theirs) = totals(r);
            ReviewRow {
                href: format!("/manager/reviews/{}", r.id),
                day: r.day.clone(),
                ours,
                theirs,
                done: match r.done_at {
                    Some(at) => page.ctx.when(Some(at)),
                    None => page.ctx.t("review-not-done"),
                },
            }
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ListTemplate {
            ctx: page.ctx,
            rows,
        },
    ))
}

pub struct ItemRow {
    pub href: String,
    pub number: String,
    pub client: String,
    pub subject: String,
    pub status: String,
    pub next_step: String,
}

pub struct Side {
    pub heading: String,
    pub rows: Vec<ItemRow>,
    /// "… and N more" when the list leaves some out.
    pub more: Option<String>,
}

#[derive(Template)]
#[template(path = "review.html")]
pub struct ReviewTemplate {
    pub ctx: Ctx,
    pub id: i64,
    pub title: String,
    pub summary: String,
    pub sides: Vec<Side>,
    /// A review kept as text before reviews were data.
    pub text: Option<String>,
    /// "Done at …" once a manager went through it.
    pub done: Option<String>,
}

fn review_view(ctx: Ctx, review: Review) -> ReviewTemplate {
    let title = ctx.with("review-title", &review.day);
    let done = review
        .done_at
        .map(|at| ctx.with("review-done-at", &ctx.when(Some(at))));
    let (summary, sides, text) = match review.content {
        Ok(snapshot) => {
            let summary = ctx.lang.t_args(
                "review-summary",
                &[
                    ("ours", FluentValue::from(snapshot.ours_total)),
                    ("theirs", FluentValue::from(snapshot.theirs_total)),
                ],
            );
            let sides = [Ball::Ours, Ball::Theirs]
                .into_iter()
                .map(|ball| Side {
                    heading: ctx.t(&format!("review-side-{}", ball.as_str())),
                    rows: snapshot
                        .side(ball)
                        .map(|item| ItemRow {
                            href: format!("/tickets/{}", TicketNumber(item.ticket.0)),
                            number: TicketNumber(item.ticket.0).to_string(),
                            client: item.client_code.clone(),
                            subject: item.subject.clone(),
                            status: ctx.status(item.status),
                            next_step: ctx.when(item.next_step_at()),
                        })
                        .collect(),
                    more: match snapshot.not_listed(ball) {
                        0 => None,
                        n => Some(ctx.count("review-more", n as usize)),
                    },
                })
                .collect();
            (summary, sides, None)
        }
        Err(text) => (String::new(), Vec::new(), Some(text)),
    };
    ReviewTemplate {
        ctx,
        id: review.id,
        title,
        summary,
        sides,
        text,
        done,
    }
}

fn review_id(raw: &str) -> Result<i64, PageError> {
    raw.parse().map_err(|_| PageError::NOT_FOUND)
}

async fn review_page(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let review = state
        .desk
        .reviews()
        .get(&page.user, review_id(&id)?)
        .await?;
    Ok(render(StatusCode::OK, &review_view(page.ctx, review)))
}

#[derive(Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    csrf: String,
}

async fn finish(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<DoneForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id = review_id(&id)?;
    state.desk.reviews().finish(&page.user, id).await?;
    Ok(Redirect::to(&format!("/manager/reviews/{id}")).into_response())
}
