//! The three workplaces (issue 8): the specialist's desk (queue, task page, own figures),
//! the manager's dashboard (figures, charts, the "whose side is the ball" board, alerts,
//! announcements) and the client portal's additions (feed, rating). Views are built here;
//! the figures come from `okno_desk::dashboard`, the queue from `okno_desk::tasks`.

use super::figures::{query_value, tasks_href, tickets_href};
use super::guard::{Page, PageError, flash_redirect};
use super::specialist::{
    ArticleLink, PlanForm, Ticket360, TimerView, kb_links, ticket_360, timer_view,
};
use super::templates::*;
use super::{CsrfForm, ticket_id};
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use okno_desk::dashboard::{CHART_DAYS, Dashboard};
use okno_desk::tasks::TaskCard;
use okno_desk::{Desk, DeskError};
use okno_domain::*;
use okno_store::{Announcement, QueueCursor};
use serde::Deserialize;

/// Tasks per queue page.
const QUEUE_SIZE: u32 = 30;

/// One task of the queue, with why it is where it is.
pub struct QueueRow {
    pub href: String,
    pub title: String,
    pub ticket: String,
    /// The ticket's client and subject: seven "classify" rows must be told apart.
    pub client: String,
    pub subject: String,
    pub priority: &'static str,
    pub priority_label: String,
    pub due: String,
    pub overdue: bool,
    pub mine: bool,
    pub why: String,
}

fn priority_code(priority: i32) -> &'static str {
    match priority {
        p if p >= 100 => "critical",
        p if p >= 75 => "high",
        p if p >= 50 => "normal",
        _ => "low",
    }
}

impl QueueRow {
    fn new(
        ctx: &Ctx,
        card: &TaskCard,
        brief: Option<&okno_store::TicketBrief>,
        now: Timestamp,
    ) -> Self {
        let t = &card.task;
        let priority = priority_code(t.priority);
        let overdue = t.due_at.is_some_and(|d| d < now);
        let mine = ctx
            .user
            .as_ref()
            .is_some_and(|u| t.assignee_id == Some(u.id));
        // Why it is here: priority first, then the deadline, as the queue sorts.
        let why = match (t.due_at, overdue) {
            (Some(_), true) => ctx.with("why-overdue", &ctx.t(&format!("priority-{priority}"))),
            (Some(due), false) => ctx.lang.t_args(
                "why-due",
                &[
                    ("priority", ctx.t(&format!("priority-{priority}")).into()),
                    ("due", ctx.when(Some(due)).into()),
                ],
            ),
            (None, _) => ctx.with("why-no-due", &ctx.t(&format!("priority-{priority}"))),
        };
        QueueRow {
            href: format!("/tasks/{}", t.id.0),
            title: card.title.clone(),
            ticket: TicketNumber(t.ticket_id.0).to_string(),
            client: brief.map_or_else(String::new, |b| {
                format!("{} ({})", b.client_name, b.client_code)
            }),
            subject: brief.map_or_else(String::new, |b| b.subject.clone()),
            priority,
            priority_label: ctx.t(&format!("priority-{priority}")),
            due: ctx.when(t.due_at),
            overdue,
            mine,
            why,
        }
    }
}

pub struct FeedRow {
    pub title: String,
    pub body: String,
    pub at: String,
}

fn feed(ctx: &Ctx, items: &[Announcement]) -> Vec<FeedRow> {
    items
        .iter()
        .map(|a| FeedRow {
            title: a.title.clone(),
            body: a.body.clone(),
            at: ctx.when(Some(a.created_at)),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "desk.html")]
pub struct DeskTemplate {
    pub ctx: Ctx,
    pub rows: Vec<QueueRow>,
    pub next_page: Option<String>,
    pub open_mine: i64,
    pub done_month: i64,
    pub feed: Vec<FeedRow>,
    pub timer: TimerView,
    pub kb: Vec<ArticleLink>,
    /// The daily review waiting for a manager.
    pub review: Option<super::reviews::WaitingReview>,
}

#[derive(Template)]
#[template(path = "_queue.html")]
pub struct QueueTemplate {
    pub ctx: Ctx,
    pub rows: Vec<QueueRow>,
    pub next_page: Option<String>,
}

#[derive(Deserialize)]
pub struct QueuePage {
    cursor: Option<String>,
}

async fn queue_rows(
    desk: &Desk,
    page: &Page,
    cursor: Option<&str>,
) -> Result<(Vec<QueueRow>, Option<String>), PageError> {
    let after = cursor.and_then(QueueCursor::parse);
    let mut entries = desk.work_queue(&page.user, after, QUEUE_SIZE + 1).await?;
    let next_page = (entries.len() > QUEUE_SIZE as usize).then(|| {
        entries.truncate(QUEUE_SIZE as usize);
        format!(
            "/desk?cursor={}",
            entries[entries.len() - 1].cursor.encode()
        )
    });
    let cards: Vec<_> = entries.into_iter().map(|e| e.card).collect();
    let tickets: Vec<_> = cards.iter().map(|c| c.task.ticket_id).collect();
    let briefs = desk.queue_briefs(&page.user, &tickets).await?;
    let now = page.ctx.now;
    let rows = cards
        .iter()
        .map(|c| QueueRow::new(&page.ctx, c, briefs.get(&c.task.ticket_id), now))
        .collect();
    Ok((rows, next_page))
}

/// The specialist's operational page: the queue (top task first), own figures, the feed.
pub async fn desk_page(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<QueuePage>,
) -> Result<Response, PageError> {
    if !okno_domain::policy::person_allows(&page.user, okno_domain::policy::Action::ReadTasks) {
        return Ok(Redirect::to("/").into_response());
    }
    let (rows, next_page) = queue_rows(&state.desk, &page, query.cursor.as_deref()).await?;
    let (open_mine, done_month) = state
        .desk
        .my_figures(&page.user, &page.ctx.zone, page.ctx.now)
        .await?;
    let feed = feed(&page.ctx, &state.desk.announcements(&page.user).await?);
    let timer = timer_view(&state.desk, &page, None).await?;
    let kb = kb_links(&state.desk, &page.user, "").await?;
    let review = super::reviews::waiting(&state.desk, &page).await?;
    let view = DeskTemplate {
        ctx: page.ctx,
        review,
        rows,
        next_page,
        open_mine,
        done_month,
        feed,
        timer,
        kb,
    };
    Ok(render(StatusCode::OK, &view))
}

/// The queue alone, for htmx to refresh in place.
pub async fn queue_fragment(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    let (rows, next_page) = queue_rows(&state.desk, &page, None).await?;
    let view = QueueTemplate {
        ctx: page.ctx,
        rows,
        next_page,
    };
    Ok(render(StatusCode::OK, &view))
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "task.html")]
pub struct TaskTemplate {
    pub ctx: Ctx,
    pub id: i64,
    pub title: String,
    /// Sanitized HTML (ammonia) of the workflow's Markdown, in the viewer's language.
    pub instructions: String,
    pub ticket_href: String,
    pub ticket_number: String,
    pub subject: String,
    pub description: String,
    pub client: String,
    pub status_label: String,
    pub status: &'static str,
    pub line: u8,
    pub summary: String,
    pub due: String,
    pub priority_label: String,
    pub open: bool,
    pub assigned: bool,
    pub mine: bool,
    pub outcomes: Vec<Choice>,
    pub lines: Vec<u8>,
    pub error: Option<String>,
    pub typed_summary: String,
    pub timer: TimerView,
    /// The ticket 360°: client, contract and limits, history, time, linked articles.
    pub panel: Ticket360,
    pub plan: PlanForm,
}

async fn task_view(
    desk: &Desk,
    page: &Page,
    id: TaskId,
    error: Option<String>,
    typed_summary: String,
) -> Result<TaskTemplate, PageError> {
    task_view_with(
        desk,
        page,
        id,
        error,
        typed_summary,
        PlanForm::suggested(desk),
    )
    .await
}

/// The task page with what was typed into its forms and what was wrong with it.
pub(super) async fn task_view_with(
    desk: &Desk,
    page: &Page,
    id: TaskId,
    error: Option<String>,
    typed_summary: String,
    plan: PlanForm,
) -> Result<TaskTemplate, PageError> {
    let card = desk.task(&page.user, id).await?;
    let ticket = desk.ticket(&page.user, card.task.ticket_id).await?;
    let panel = ticket_360(desk, &page.ctx, &page.user, &ticket).await?;
    let timer = timer_view(desk, page, Some((&card.task, &card.title))).await?;
    let client = format!("{} ({})", panel.client_name, panel.client_code);
    let ctx = &page.ctx;
    let t = &card.task;
    let priority = priority_code(t.priority);
    Ok(TaskTemplate {
        ctx: ctx.clone(),
        id: t.id.0,
        title: card.title.clone(),
        instructions: card
            .instructions
            .as_deref()
            .map(okno_desk::kb::render_markdown)
            .unwrap_or_default(),
        ticket_href: format!("/tickets/{}", ticket.number()),
        ticket_number: ticket.number().to_string(),
        subject: ticket.subject.clone(),
        description: ticket.description.clone(),
        client,
        status_label: ctx.status(ticket.status),
        status: ticket.status.as_str(),
        line: t.line.map_or(0, |l| l.get()),
        summary: t.summary.clone().unwrap_or_default(),
        due: ctx.when(t.due_at),
        priority_label: ctx.t(&format!("priority-{priority}")),
        open: t.state == TaskState::Open,
        assigned: t.assignee_id.is_some(),
        mine: t.assignee_id == Some(page.user.id),
        outcomes: card
            .outcomes
            .iter()
            .map(|o| Choice {
                value: o.clone(),
                label: code_label(ctx, "outcome", o),
            })
            .collect(),
        // Every line, the vendor's (4) too; not the one the task already waits in.
        lines: (1..=4)
            .filter(|l| Some(*l) != t.line.map(|l| l.get()))
            .collect(),
        error,
        typed_summary,
        timer,
        panel,
        plan,
    })
}

use super::specialist::task_id;

pub async fn task_page(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let view = task_view(&state.desk, &page, task_id(&id)?, None, String::new()).await?;
    Ok(render(StatusCode::OK, &view))
}

pub async fn take(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id = task_id(&id)?;
    state.desk.take_task(&page.user, id).await?;
    Ok(flash_redirect(
        &format!("/tasks/{}", id.0),
        "flash-task-taken",
    ))
}

#[derive(Deserialize)]
pub struct CompleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    summary: String,
}

pub async fn complete(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<CompleteForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id = task_id(&id)?;
    let summary = Some(form.summary.as_str()).filter(|s| !s.trim().is_empty());
    match state
        .desk
        .complete_task(&page.user, id, &form.outcome, summary)
        .await
    {
        Ok(ticket) => Ok(flash_redirect(
            &format!("/tickets/{}", ticket.number()),
            "flash-task-completed",
        )),
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            let message = field_message(&page.ctx, &e);
            let view = task_view(&state.desk, &page, id, Some(message), form.summary).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
        }
        Err(DeskError::Domain(DomainError::Conflict(e))) => {
            let view = task_view(&state.desk, &page, id, Some(e), form.summary).await?;
            Ok(render(StatusCode::CONFLICT, &view))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    line: String,
    #[serde(default)]
    reason: String,
}

pub async fn transfer(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<TransferForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id = task_id(&id)?;
    let line = form.line.parse::<u8>().unwrap_or(0);
    match state
        .desk
        .transfer_task(&page.user, id, line, &form.reason)
        .await
    {
        Ok(_) => Ok(flash_redirect("/desk", "flash-task-transferred")),
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            let message = field_message(&page.ctx, &e);
            let view = task_view(&state.desk, &page, id, Some(message), String::new()).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
        }
        Err(e) => Err(e.into()),
    }
}

/// A bar of a chart, in SVG user units, with the list behind it.
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub fill: &'static str,
    pub title: String,
    pub href: String,
}

pub struct AxisLabel {
    pub x: i64,
    pub text: String,
}

pub struct Legend {
    pub fill: &'static str,
    pub label: String,
}

pub struct Figure {
    pub label: String,
    pub value: String,
    pub href: String,
    pub bad: bool,
}

pub struct AlertRow {
    pub kind: String,
    pub ticket: String,
    pub href: String,
    pub at: String,
}

pub struct BoardCard {
    pub href: String,
    pub number: String,
    pub subject: String,
    pub client: String,
    pub status_label: String,
    pub next_step: String,
}

pub struct WorkRow {
    pub name: String,
    pub y: i64,
    pub spans: Vec<Bar>,
}

#[derive(Template)]
#[template(path = "manager.html")]
pub struct ManagerTemplate {
    pub ctx: Ctx,
    /// The daily review waiting for a manager.
    pub review: Option<super::reviews::WaitingReview>,
    pub alerts: Vec<AlertRow>,
    pub figures: Vec<Figure>,
    pub new_bars: Vec<Bar>,
    pub time_bars: Vec<Bar>,
    pub legend: Vec<Legend>,
    pub day_labels: Vec<AxisLabel>,
    pub work: Vec<WorkRow>,
    pub hour_labels: Vec<AxisLabel>,
    pub work_height: i64,
    pub ours: Vec<BoardCard>,
    pub theirs: Vec<BoardCard>,
    pub ours_total: i64,
    pub theirs_total: i64,
    pub announcement_error: Option<String>,
    pub feed: Vec<FeedRow>,
}

const PALETTE: [&str; 6] = [
    "#2f6fb3", "#d9822b", "#3a9d5d", "#8e5ea2", "#c23b3b", "#6b7b8c",
];
/// Chart area: 14 day slots of 40 units, bars up to 120 units tall.
const SLOT: i64 = 40;
const CHART_H: i64 = 120;

fn day_label(day: i64) -> String {
    let date = jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(day))
        .unwrap_or_default();
    format!("{:02}.{:02}", date.day(), date.month())
}

fn manager_view(
    ctx: Ctx,
    d: &Dashboard,
    feed: Vec<FeedRow>,
    error: Option<String>,
    review: Option<super::reviews::WaitingReview>,
) -> ManagerTemplate {
    let first = d.today - (CHART_DAYS - 1);
    let f = &d.figures;
    let figure = |key: &str, value: String, href: &str, bad: bool| Figure {
        label: ctx.t(key),
        value,
        href: href.to_owned(),
        bad,
    };
    let figures = vec![
        figure(
            "fig-plan-today",
            format!("{} / {}", f.fact_today, f.plan_today),
            &tasks_href("today"),
            f.fact_today < f.plan_today,
        ),
        figure(
            "fig-plan-week",
            format!("{} / {}", f.fact_week, f.plan_week),
            &tasks_href("week"),
            false,
        ),
        figure(
            "fig-overdue-development",
            f.overdue_development.to_string(),
            &tasks_href("development"),
            f.overdue_development > 0,
        ),
        figure("fig-bugs", f.bugs.to_string(), &tickets_href("bugs"), false),
        figure(
            "fig-in-progress",
            f.in_progress.to_string(),
            &tickets_href("ours"),
            false,
        ),
        figure(
            "fig-overdue-tickets",
            f.overdue_tickets.to_string(),
            &tickets_href("overdue"),
            f.overdue_tickets > 0,
        ),
    ];
    let max_new = d
        .new_tickets
        .iter()
        .map(|c| c.count)
        .max()
        .unwrap_or(0)
        .max(1);
    let new_bars = d
        .new_tickets
        .iter()
        .filter(|c| c.day >= first)
        .map(|c| {
            let h = c.count * CHART_H / max_new;
            Bar {
                x: (c.day - first) * SLOT + 6,
                y: CHART_H - h,
                w: SLOT - 12,
                h: h.max(1),
                fill: PALETTE[0],
                title: format!("{}: {}", day_label(c.day), c.count),
                href: format!("{}&day={}", tickets_href("created"), c.day),
            }
        })
        .collect();
    // Stacked bars: minutes per client per day.
    let mut clients: Vec<&str> = d
        .client_minutes
        .iter()
        .map(|c| c.client_code.as_str())
        .collect();
    clients.sort_unstable();
    clients.dedup();
    let mut per_day = std::collections::BTreeMap::<i64, i64>::new();
    for c in &d.client_minutes {
        *per_day.entry(c.day).or_default() += c.minutes;
    }
    let max_day = per_day.values().copied().max().unwrap_or(0).max(1);
    let mut stacked = std::collections::BTreeMap::<i64, i64>::new();
    let time_bars = d
        .client_minutes
        .iter()
        .filter(|c| c.day >= first)
        .map(|c| {
            let below = stacked.entry(c.day).or_default();
            let h = c.minutes * CHART_H / max_day;
            let colour = clients
                .iter()
                .position(|x| *x == c.client_code)
                .unwrap_or(0);
            let bar = Bar {
                x: (c.day - first) * SLOT + 6,
                y: CHART_H - *below - h,
                w: SLOT - 12,
                h: h.max(1),
                fill: PALETTE[colour % PALETTE.len()],
                title: format!(
                    "{} · {}: {}",
                    day_label(c.day),
                    c.client_code,
                    ctx.with("minutes", &c.minutes.to_string())
                ),
                href: format!(
                    "{}&day={}&client={}",
                    tickets_href("worked"),
                    c.day,
                    query_value(&c.client_code)
                ),
            };
            *below += h;
            bar
        })
        .collect();
    let legend = clients
        .iter()
        .enumerate()
        .map(|(i, c)| Legend {
            fill: PALETTE[i % PALETTE.len()],
            label: (*c).to_owned(),
        })
        .collect();
    let day_labels = (0..CHART_DAYS)
        .step_by(2)
        .map(|i| AxisLabel {
            x: i * SLOT + SLOT / 2,
            text: day_label(first + i),
        })
        .collect();
    // The day map: 08:00–20:00 over 600 units, one row per specialist.
    let start = d.day_start + SignedDuration::from_hours(8);
    let to_x =
        |at: Timestamp| -> i64 { ((at - start).as_secs() * 600 / (12 * 3600)).clamp(0, 600) + 120 };
    let mut work: Vec<WorkRow> = Vec::new();
    for span in &d.work {
        if work.last().is_none_or(|w| w.name != span.user_name) {
            let y = work.len() as i64 * 28;
            work.push(WorkRow {
                name: span.user_name.clone(),
                y,
                spans: Vec::new(),
            });
        }
        let row = work.last_mut().expect("pushed above");
        let stop = span.stopped_at.unwrap_or(ctx.now);
        let x = to_x(span.started_at);
        row.spans.push(Bar {
            x,
            y: row.y + 4,
            w: (to_x(stop) - x).max(2),
            h: 18,
            fill: PALETTE[0],
            title: format!(
                "{} {}–{}",
                TicketNumber(span.ticket_id.0),
                ctx.when(Some(span.started_at)),
                span.stopped_at
                    .map_or_else(String::new, |s| ctx.when(Some(s)))
            ),
            href: format!("/tickets/{}", TicketNumber(span.ticket_id.0)),
        });
    }
    let hour_labels = (8..=20)
        .step_by(2)
        .map(|h| AxisLabel {
            x: 120 + (h - 8) * 50,
            text: format!("{h}:00"),
        })
        .collect();
    let card = |b: &okno_store::BoardRow| BoardCard {
        href: format!("/tickets/{}", TicketNumber(b.ticket_id.0)),
        number: TicketNumber(b.ticket_id.0).to_string(),
        subject: b.subject.clone(),
        client: b.client_code.clone(),
        status_label: ctx.status(b.status),
        next_step: ctx.when(b.next_step_at),
    };
    let ours = d
        .board
        .iter()
        .filter(|b| !b.ball_on_client())
        .map(card)
        .collect();
    let theirs = d
        .board
        .iter()
        .filter(|b| b.ball_on_client())
        .map(card)
        .collect();
    let alerts = d
        .alerts
        .iter()
        .map(|a| AlertRow {
            kind: code_label(&ctx, "alert", &a.kind),
            ticket: TicketNumber(a.ticket_id.0).to_string(),
            href: format!("/tickets/{}", TicketNumber(a.ticket_id.0)),
            at: ctx.when(Some(a.raised_at)),
        })
        .collect();
    ManagerTemplate {
        alerts,
        figures,
        new_bars,
        time_bars,
        legend,
        day_labels,
        work_height: (work.len() as i64 * 28).max(28) + 20,
        work,
        hour_labels,
        ours,
        theirs,
        ours_total: d.ours,
        theirs_total: d.theirs,
        announcement_error: error,
        feed,
        review,
        ctx,
    }
}

async fn manager_response(
    desk: &Desk,
    page: Page,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let dashboard = desk
        .dashboard(&page.user, &page.ctx.zone, page.ctx.now)
        .await?;
    let feed = feed(&page.ctx, &desk.announcements(&page.user).await?);
    let review = super::reviews::waiting(desk, &page).await?;
    let view = manager_view(page.ctx, &dashboard, feed, error, review);
    Ok(render(status, &view))
}

/// The manager's dashboard: alerts first, then the figures, charts and the board.
pub async fn manager_page(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    manager_response(&state.desk, page, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct AnnouncementForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    clients: String,
    by_mail: Option<String>,
}

pub async fn announce(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<AnnouncementForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let clients: Vec<String> = form
        .clients
        .split([',', ' '])
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    match state
        .desk
        .announce(
            &page.user,
            &form.title,
            &form.body,
            &clients,
            form.by_mail.is_some(),
        )
        .await
    {
        Ok(_) => Ok(flash_redirect("/manager#feed", "flash-announced")),
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            let message = format!("{}: {}", e.field, field_message(&page.ctx, &e));
            manager_response(
                &state.desk,
                page,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

pub async fn rate(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<RateForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id = ticket_id(&id)?;
    let score = form.score.parse().unwrap_or(0);
    match state
        .desk
        .rate_ticket(&page.user, id, score, &form.comment)
        .await
    {
        Ok(_) | Err(DeskError::Domain(DomainError::Invalid(_))) => Ok(flash_redirect(
            &format!("/tickets/{}#rating", TicketNumber(id.0)),
            "flash-rated",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The feed of announcements the user may read (the portal's, the desk's).
pub async fn feed_rows(desk: &Desk, ctx: &Ctx, user: &User) -> Result<Vec<FeedRow>, PageError> {
    Ok(feed(ctx, &desk.announcements(user).await?))
}

/// The client's feed on the portal's landing page.
pub async fn client_feed(desk: &Desk, ctx: &Ctx, user: &User) -> Result<Vec<FeedRow>, PageError> {
    if user.role.is_staff() {
        return Ok(Vec::new());
    }
    Ok(feed(ctx, &desk.announcements(user).await?))
}
