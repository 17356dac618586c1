//! The specialist's side of the desk beyond the queue (issue 8): the running timer shown on
//! every desk page, the ticket 360° on the task page, the staff knowledge-base panel and
//! the planning calendar with personal figures. Views are built here from the desk's use
//! cases (`timesheet`, `planning`, `contracts`, `kb`); each panel costs a few indexed reads.

use super::guard::{Page, PageError, flash_redirect, safe_next};
use super::portal::{ContractRow, contract_rows};
use super::templates::*;
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::civil::{Date, Time};
use jiff::{Timestamp, ToSpan};
use okno_desk::planning::day_bounds;
use okno_desk::{Desk, DeskError};
use okno_domain::*;
use okno_store::PersonalCounts;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks/{id}/timer", post(start_timer))
        .route("/timer/stop", post(stop_timer))
        .route("/tasks/{id}/plan", post(plan_task))
        .route("/planning", get(planning_page))
        .route("/desk/kb", get(kb_fragment))
}

pub(super) fn task_id(raw: &str) -> Result<TaskId, PageError> {
    raw.parse().map(TaskId).map_err(|_| PageError::NOT_FOUND)
}

/// `1:05:09`: hours, minutes and seconds of a running timer or of time spent.
pub fn clock(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// The running timer, shown on every desk page (`_timer.html`).
pub struct TimerView {
    pub running: bool,
    /// `OK-000123 · Classify the request`.
    pub label: String,
    pub href: String,
    /// When it started, in Unix milliseconds (the page's script keeps the clock ticking).
    pub started_ms: i64,
    pub elapsed: String,
    /// The open task this page shows, when the timer is not already on it.
    pub start_task: Option<i64>,
    /// The page to come back to after start or stop.
    pub back: String,
}

/// The viewer's running timer; `here` is the open task the page shows, if any.
pub async fn timer_view(
    desk: &Desk,
    page: &Page,
    here: Option<(&Task, &str)>,
) -> Result<TimerView, PageError> {
    let running = desk.running_timer(&page.user).await?;
    let back = page.ctx.path.clone();
    let start_task = here
        .filter(|(task, _)| task.state == TaskState::Open)
        .filter(|(task, _)| running.as_ref().is_none_or(|r| r.task != Some(task.id)))
        .map(|(task, _)| task.id.0);
    let Some(entry) = running else {
        return Ok(TimerView {
            running: false,
            label: String::new(),
            href: String::new(),
            started_ms: 0,
            elapsed: String::new(),
            start_task,
            back,
        });
    };
    // The task's title: the page's own task, or one read of the running one.
    let title = match (entry.task, here) {
        (Some(id), Some((task, title))) if task.id == id => title.to_owned(),
        (Some(id), _) => match desk.task(&page.user, id).await {
            Ok(card) => card.title,
            Err(DeskError::Domain(DomainError::NotFound(_))) => String::new(),
            Err(e) => return Err(e.into()),
        },
        (None, _) => String::new(),
    };
    let number = TicketNumber(entry.ticket.0);
    Ok(TimerView {
        running: true,
        label: if title.is_empty() {
            number.to_string()
        } else {
            format!("{number} · {title}")
        },
        href: entry.task.map_or_else(
            || format!("/tickets/{number}"),
            |t| format!("/tasks/{}", t.0),
        ),
        started_ms: entry.started_at.as_millisecond(),
        elapsed: clock(entry.seconds(page.ctx.now)),
        start_task,
        back,
    })
}

#[derive(Deserialize)]
pub struct BackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

async fn start_timer(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<BackForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id = task_id(&id)?;
    state.desk.start_timer(&page.user, id).await?;
    let back = match safe_next(&form.back) {
        "/" => format!("/tasks/{}", id.0),
        back => back.to_owned(),
    };
    Ok(flash_redirect(&back, "flash-timer-started"))
}

async fn stop_timer(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<BackForm>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    match state.desk.stop_timer(&page.user).await {
        // Already stopped (in another tab): the page shows it stopped either way.
        Ok(_) | Err(DeskError::Domain(DomainError::Conflict(_))) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(flash_redirect(safe_next(&form.back), "flash-timer-stopped"))
}

pub struct ArticleLink {
    pub href: String,
    pub title: String,
}

pub struct HistoryLine {
    pub at: String,
    pub actor: String,
    pub text: String,
}

/// The ticket 360° on the task page: who the client is, what the contract allows and how
/// much of it is used, what happened, how much time went in, which articles are linked.
pub struct Ticket360 {
    pub client_name: String,
    pub client_code: String,
    pub vip: bool,
    pub access_notes: String,
    pub contracts: Vec<ContractRow>,
    pub history: Vec<HistoryLine>,
    /// "The whole history: 23 events", when the panel shows only the latest.
    pub history_all: Option<String>,
    pub time_spent: String,
    pub articles: Vec<ArticleLink>,
}

/// History lines shown in the 360° panel (the ticket page has all of them).
const HISTORY_SHOWN: usize = 8;

pub async fn ticket_360(
    desk: &Desk,
    ctx: &Ctx,
    user: &User,
    ticket: &Ticket,
) -> Result<Ticket360, PageError> {
    let record = desk.client_record(user, &ticket.client_code).await?;
    let usage = desk.client_usage(user, &ticket.client_code).await?;
    let history = desk.history(user, ticket.id).await?;
    let seconds = desk.ticket_seconds(user, ticket.id).await?;
    let articles = desk.ticket_articles(user, ticket.id).await?;
    Ok(Ticket360 {
        client_name: record.name,
        client_code: record.code,
        vip: record.vip,
        access_notes: record.access_notes,
        contracts: contract_rows(ctx, &usage),
        history_all: (history.len() > HISTORY_SHOWN)
            .then(|| ctx.count("t360-history-all", history.len())),
        history: history
            .iter()
            .rev()
            .take(HISTORY_SHOWN)
            .map(|h| HistoryLine {
                at: ctx.when(Some(h.at)),
                actor: h
                    .actor_name
                    .clone()
                    .unwrap_or_else(|| ctx.t("actor-system")),
                text: history_text(ctx, h),
            })
            .collect(),
        time_spent: clock(seconds),
        articles: articles
            .into_iter()
            .map(|a| ArticleLink {
                href: format!("/kb/{}", a.slug),
                title: a.title,
            })
            .collect(),
    })
}

/// The plan form on the task page: what was typed, and what was wrong with it.
#[derive(Default)]
pub struct PlanForm {
    pub date: String,
    pub time: String,
    pub minutes: String,
    pub error: Option<String>,
    /// The field the error is about: `planned_at` or `minutes`.
    pub field: &'static str,
}

impl PlanForm {
    /// Today at the next full hour, for an hour.
    pub fn suggested(desk: &Desk) -> Self {
        let now = desk.now().to_zoned_datetime(desk.desk_zone());
        let next_hour = now.hour().saturating_add(1).min(23);
        PlanForm {
            date: now.date().to_string(),
            time: format!("{next_hour:02}:00"),
            minutes: "60".into(),
            ..PlanForm::default()
        }
    }
}

#[derive(Deserialize)]
pub struct PlanFormInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    minutes: String,
    unplan: Option<String>,
}

/// `2026-12-04` and `14:30` in the desk's zone.
fn planned_instant(desk: &Desk, date: &str, time: &str) -> Option<Timestamp> {
    let date: Date = date.trim().parse().ok()?;
    let time: Time = time.trim().parse().ok()?;
    date.to_datetime(time)
        .to_zoned_datetime(desk.desk_zone())
        .ok()
        .map(|z| z.timestamp())
}

async fn plan_task(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<PlanFormInput>,
) -> Result<Response, PageError> {
    page.check_csrf(&form.csrf)?;
    let id = task_id(&id)?;
    let desk = &state.desk;
    let refused = |field: &'static str, message: String| PlanForm {
        date: form.date.clone(),
        time: form.time.clone(),
        minutes: form.minutes.clone(),
        error: Some(message),
        field,
    };
    let plan = if form.unplan.is_some() {
        None
    } else {
        let Some(at) = planned_instant(desk, &form.date, &form.time) else {
            let plan = refused("planned_at", page.ctx.t("plan-bad-date"));
            return task_again(desk, &page, id, plan).await;
        };
        let Some(minutes) = form
            .minutes
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|m| PlanMinutes::parse(m).ok())
        else {
            let plan = refused("minutes", page.ctx.t("plan-bad-minutes"));
            return task_again(desk, &page, id, plan).await;
        };
        Some((at, minutes))
    };
    match desk.plan_task(&page.user, id, plan).await {
        Ok(()) => {
            let week = plan.map_or_else(String::new, |(at, _)| {
                let day = at.to_zoned_datetime(desk.desk_zone()).date();
                format!("?week={day}")
            });
            Ok(flash_redirect(&format!("/planning{week}"), "flash-planned"))
        }
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            let field = if e.field == "minutes" {
                "minutes"
            } else {
                "planned_at"
            };
            let message = match e.field {
                "minutes" if e.message.contains("do not fit") => page.ctx.t("plan-does-not-fit"),
                "minutes" => page.ctx.t("plan-bad-minutes"),
                _ => page.ctx.t("plan-no-working-hours"),
            };
            task_again(desk, &page, id, refused(field, message)).await
        }
        Err(DeskError::Domain(DomainError::Forbidden(_))) => {
            let plan = refused("planned_at", page.ctx.t("plan-take-first"));
            task_again(desk, &page, id, plan).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn task_again(
    desk: &Desk,
    page: &Page,
    id: TaskId,
    plan: PlanForm,
) -> Result<Response, PageError> {
    let view = super::workplaces::task_view_with(desk, page, id, None, String::new(), plan).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
}

// ---- The staff knowledge base panel ----

#[derive(Deserialize)]
pub struct KbQuery {
    #[serde(default)]
    q: String,
}

/// Articles shown in a knowledge-base panel before anything is searched.
pub const KB_PANEL_SIZE: u32 = 6;

#[derive(Template)]
#[template(path = "_kb_results.html")]
pub struct KbResultsTemplate {
    pub ctx: Ctx,
    pub kb: Vec<ArticleLink>,
    pub searched: bool,
}

/// The newest articles the user may read, or those matching `query`.
pub async fn kb_links(
    desk: &Desk,
    user: &User,
    query: &str,
) -> Result<Vec<ArticleLink>, PageError> {
    let query: String = query.chars().take(okno_search::MAX_QUERY_CHARS).collect();
    if query.trim().is_empty() {
        let articles = desk.articles(Some(user), None, None, KB_PANEL_SIZE).await?;
        return Ok(articles
            .into_iter()
            .map(|a| ArticleLink {
                href: format!("/kb/{}", a.slug),
                title: a.title,
            })
            .collect());
    }
    let hits = desk
        .search_articles(Some(user), &query, None, true, KB_PANEL_SIZE as usize)
        .await?;
    Ok(hits
        .into_iter()
        .map(|h| ArticleLink {
            href: format!("/kb/{}", h.slug),
            title: h.title,
        })
        .collect())
}

/// The panel's results, for htmx to swap in as the specialist types.
async fn kb_fragment(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<KbQuery>,
) -> Result<Response, PageError> {
    if !okno_domain::policy::person_allows(&page.user, okno_domain::policy::Action::ReadTasks) {
        return Err(PageError::NOT_FOUND);
    }
    let kb = kb_links(&state.desk, &page.user, &query.q).await?;
    let view = KbResultsTemplate {
        ctx: page.ctx,
        kb,
        searched: !query.q.trim().is_empty(),
    };
    Ok(render(StatusCode::OK, &view))
}

// ---- The planning calendar ----

pub struct PlannedRow {
    pub href: String,
    pub time: String,
    pub minutes: i64,
    pub title: String,
    pub ticket: String,
    pub done: bool,
}

pub struct DayColumn {
    pub label: String,
    pub today: bool,
    pub load: String,
    pub over: bool,
    pub tasks: Vec<PlannedRow>,
}

pub struct FigureRow {
    pub label: String,
    pub today: String,
    pub week: String,
    pub bad: bool,
}

#[derive(Template)]
#[template(path = "planning.html")]
pub struct PlanningTemplate {
    pub ctx: Ctx,
    pub timer: TimerView,
    pub week_label: String,
    pub days: Vec<DayColumn>,
    pub previous: String,
    pub next: String,
    pub this_week: String,
    pub figures: Vec<FigureRow>,
}

#[derive(Deserialize)]
pub struct WeekQuery {
    week: Option<String>,
}

/// `2:15`: hours and minutes.
pub fn hours(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

fn figure_rows(ctx: &Ctx, today: &PersonalCounts, week: &PersonalCounts) -> Vec<FigureRow> {
    let planned = |c: &PersonalCounts| {
        format!(
            "{} / {} ({} / {})",
            c.planned_done_tasks,
            c.planned_tasks,
            hours(c.planned_done_minutes),
            hours(c.planned_minutes)
        )
    };
    let row = |key: &str, f: &dyn Fn(&PersonalCounts) -> String, bad: bool| FigureRow {
        label: ctx.t(key),
        today: f(today),
        week: f(week),
        bad,
    };
    vec![
        row("plan-fig-planned", &planned, false),
        row("plan-fig-closed", &|c| c.closed.to_string(), false),
        row(
            "plan-fig-overdue",
            &|c| c.overdue.to_string(),
            today.overdue > 0,
        ),
        row(
            "plan-fig-reopened",
            &|c| c.reopened.to_string(),
            week.reopened > 0,
        ),
        row("plan-fig-hours", &|c| clock(c.logged_seconds), false),
    ]
}

/// The specialist's week: planned tasks per day against the day's working time, and the
/// personal figures for today and this week.
async fn planning_page(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<WeekQuery>,
) -> Result<Response, PageError> {
    if !okno_domain::policy::person_allows(&page.user, okno_domain::policy::Action::ReadTasks) {
        return Ok(Redirect::to("/").into_response());
    }
    let desk = &state.desk;
    let zone = desk.desk_zone();
    let now = desk.now();
    let today = now.to_zoned_datetime(zone.clone()).date();
    let asked = query
        .week
        .as_deref()
        .and_then(|w| w.parse::<Date>().ok())
        .unwrap_or(today);
    let monday = asked
        .checked_sub(i64::from(asked.weekday().to_monday_zero_offset()).days())
        .unwrap_or(asked);
    let start = monday
        .to_zoned_datetime(zone.clone())
        .map_err(|_| PageError::INVALID)?
        .timestamp();
    let load = desk.load(&page.user, None, start, 7).await?;
    let (_, until) = day_bounds(
        &zone,
        start
            .checked_add(jiff::SignedDuration::from_hours(6 * 24 + 12))
            .unwrap_or(start),
    );
    let planned = desk.my_plan(&page.user, start, until).await?;
    let figures = desk.personal_figures(&page.user, None).await?;
    let ctx = &page.ctx;
    let days = (0..7)
        .filter_map(|i| monday.checked_add(i.days()).ok())
        .map(|day| {
            let day_load = load.iter().find(|l| l.day == day);
            let (planned_minutes, working) =
                day_load.map_or((0, 0), |l| (l.planned_minutes, l.working_minutes));
            DayColumn {
                label: format!(
                    "{} {:02}.{:02}",
                    ctx.t(&format!("weekday-{}", day.weekday().to_monday_one_offset())),
                    day.day(),
                    day.month()
                ),
                today: day == today,
                load: ctx.lang.t_args(
                    "plan-day-load",
                    &[
                        ("planned", hours(planned_minutes).into()),
                        ("working", hours(working).into()),
                    ],
                ),
                over: planned_minutes > working,
                tasks: planned
                    .iter()
                    .filter(|p| p.planned_at.to_zoned_datetime(zone.clone()).date() == day)
                    .map(|p| {
                        let local = p.planned_at.to_zoned_datetime(zone.clone());
                        PlannedRow {
                            href: format!("/tasks/{}", p.task.0),
                            time: format!("{:02}:{:02}", local.hour(), local.minute()),
                            minutes: p.minutes,
                            title: p.title.clone(),
                            ticket: TicketNumber(p.ticket.0).to_string(),
                            done: p.state != TaskState::Open,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let week_href = |d: Option<Date>| {
        d.map_or_else(|| "/planning".to_owned(), |d| format!("/planning?week={d}"))
    };
    let sunday = monday.checked_add(6.days()).unwrap_or(monday);
    let view = PlanningTemplate {
        timer: timer_view(desk, &page, None).await?,
        week_label: format!(
            "{:02}.{:02} – {:02}.{:02}.{}",
            monday.day(),
            monday.month(),
            sunday.day(),
            sunday.month(),
            sunday.year()
        ),
        days,
        previous: week_href(monday.checked_sub(7.days()).ok()),
        next: week_href(monday.checked_add(7.days()).ok()),
        this_week: week_href(None),
        figures: figure_rows(ctx, &figures.today, &figures.week),
        ctx: page.ctx.clone(),
    };
    Ok(render(StatusCode::OK, &view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_shows_hours_minutes_and_seconds() {
        assert_eq!(clock(0), "0:00:00");
        assert_eq!(clock(3909), "1:05:09");
        assert_eq!(clock(-5), "0:00:00");
        assert_eq!(hours(135), "2:15");
    }
}
