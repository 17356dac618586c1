//! The specialist's day (issue 5): take the top task, timers and time entries, totals and
//! the workday map, planning and load, the iCalendar feed, personal figures, distribution,
//! and the flags priority rules read (urgent, VIP, director). Thin handlers over the desk.

use super::tasks::{QueueEntryView, task_id, user_ref};
use super::ticket_id;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use okno_desk::DeskError;
use okno_desk::planning::{DayLoad, PersonalFigures};
use okno_desk::queue::Suggestion;
use okno_desk::timesheet::Workday;
use okno_domain::*;
use okno_store::{PersonalCounts, TimeEntry, TimeEntryChange, TimeFilter, TimeGroup};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of this module, merged into `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(take_next))
        .routes(routes!(start_timer))
        .routes(routes!(running_timer, stop_timer))
        .routes(routes!(add_entry))
        .routes(routes!(correct_entry))
        .routes(routes!(entry_history))
        .routes(routes!(totals))
        .routes(routes!(per_day))
        .routes(routes!(workday))
        .routes(routes!(plan, unplan))
        .routes(routes!(load))
        .routes(routes!(new_feed))
        .routes(routes!(feed))
        .routes(routes!(figures))
        .routes(routes!(candidates))
        .routes(routes!(assign))
        .routes(routes!(set_urgent))
        .routes(routes!(set_vip))
        .routes(routes!(set_director))
        .routes(routes!(set_skills))
        .routes(routes!(set_line_lead))
        .routes(routes!(set_service_skills))
        .routes(routes!(set_service_priority))
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
}

fn instant(raw: &str, field: &str) -> Result<Timestamp, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| invalid(field, "an RFC 3339 instant, e.g. 2026-11-25T09:30:00Z"))
}

fn opt_instant(raw: Option<&str>, field: &str) -> Result<Option<Timestamp>, ApiError> {
    raw.map(|r| instant(r, field)).transpose()
}

fn id_of(raw: &str, field: &str) -> Result<i64, ApiError> {
    raw.trim().parse().map_err(|_| invalid(field, "not an id"))
}

/// An interval of work on a task.
#[derive(Serialize, ToSchema)]
pub struct TimeEntryView {
    pub id: String,
    pub user: String,
    pub ticket_id: String,
    pub task_id: Option<String>,
    pub started_at: String,
    /// Absent while the timer runs.
    pub stopped_at: Option<String>,
    /// Seconds so far.
    pub seconds: i64,
    /// Typed in by hand rather than from the timer.
    pub manual: bool,
    pub note: String,
}

impl TimeEntryView {
    /// The entry as it reads at `now` (a running timer's seconds so far).
    fn at(e: TimeEntry, now: Timestamp) -> Self {
        TimeEntryView {
            id: e.id.to_string(),
            user: e.user.to_string(),
            ticket_id: e.ticket.to_string(),
            task_id: e.task.map(|t| t.to_string()),
            started_at: e.started_at.to_string(),
            stopped_at: e.stopped_at.map(|s| s.to_string()),
            seconds: e.seconds(now),
            manual: e.manual,
            note: e.note,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TimerView {
    pub started: TimeEntryView,
    /// The timer that was running and stopped now, if any.
    pub stopped: Option<TimeEntryView>,
}

#[derive(Serialize, ToSchema)]
pub struct TimeEntryChangeView {
    pub by: String,
    pub at: String,
    pub before_started_at: Option<String>,
    pub before_stopped_at: Option<String>,
    pub started_at: String,
    pub stopped_at: String,
    pub reason: String,
}

impl From<TimeEntryChange> for TimeEntryChangeView {
    fn from(c: TimeEntryChange) -> Self {
        TimeEntryChangeView {
            by: c.by.to_string(),
            at: c.at.to_string(),
            before_started_at: c.before.0.map(|t| t.to_string()),
            before_stopped_at: c.before.1.map(|t| t.to_string()),
            started_at: c.after.0.to_string(),
            stopped_at: c.after.1.to_string(),
            reason: c.reason,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTimeEntry {
    pub task: String,
    /// RFC 3339; not in the future.
    pub started_at: String,
    /// RFC 3339; after `started_at`, not in the future.
    pub stopped_at: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectTimeEntry {
    pub started_at: String,
    pub stopped_at: String,
    /// Why: kept in the entry's history.
    pub reason: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct TotalsQuery {
    /// `task`, `ticket`, `client` or `user`.
    by: String,
    user: Option<String>,
    ticket: Option<String>,
    client: Option<String>,
    task: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TotalView {
    /// The id of the task, ticket, client or user.
    pub key: String,
    pub seconds: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RangeQuery {
    /// A user id (managers; others always see their own).
    user: Option<String>,
    from: String,
    until: String,
}

#[derive(Serialize, ToSchema)]
pub struct DayTotalView {
    /// `YYYY-MM-DD` in the desk's time zone.
    pub day: String,
    pub seconds: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct WorkdayQuery {
    user: Option<String>,
    /// `YYYY-MM-DD` (default: today).
    day: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IntervalView {
    pub from: String,
    pub until: String,
}

#[derive(Serialize, ToSchema)]
pub struct WorkdayRowView {
    pub task_id: Option<String>,
    pub ticket_id: String,
    pub intervals: Vec<IntervalView>,
    pub seconds: i64,
}

#[derive(Serialize, ToSchema)]
pub struct WorkdayView {
    pub user: String,
    pub from: String,
    pub until: String,
    pub rows: Vec<WorkdayRowView>,
    pub seconds: i64,
}

impl From<Workday> for WorkdayView {
    fn from(w: Workday) -> Self {
        WorkdayView {
            user: w.user.to_string(),
            from: w.from.to_string(),
            until: w.until.to_string(),
            seconds: w.seconds,
            rows: w
                .rows
                .into_iter()
                .map(|r| WorkdayRowView {
                    task_id: r.task.map(|t| t.to_string()),
                    ticket_id: r.ticket.to_string(),
                    seconds: r.seconds,
                    intervals: r
                        .intervals
                        .into_iter()
                        .map(|(f, u)| IntervalView {
                            from: f.to_string(),
                            until: u.to_string(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanTask {
    /// RFC 3339 planned start.
    pub planned_at: String,
    /// Planned duration in minutes, 1 to 1440; the day's plans must fit its working hours.
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct LoadQuery {
    /// A user id (managers; default: everyone with a plan; others see their own).
    user: Option<String>,
    /// Any instant of the first day (default: now).
    from: Option<String>,
    /// 1–62 (default 7).
    days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct DayLoadView {
    pub user: String,
    pub name: String,
    pub day: String,
    pub planned_minutes: i64,
    pub working_minutes: i64,
    pub planned_tasks: usize,
}

impl From<DayLoad> for DayLoadView {
    fn from(d: DayLoad) -> Self {
        DayLoadView {
            user: d.user.to_string(),
            name: d.name,
            day: d.day.to_string(),
            planned_minutes: d.planned_minutes,
            working_minutes: d.working_minutes,
            planned_tasks: d.planned_tasks,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FeedView {
    /// The feed's path (append it to the desk's address); shown once, a new one replaces it.
    pub path: String,
}

#[derive(Serialize, ToSchema)]
pub struct CountsView {
    pub planned_tasks: i64,
    pub planned_minutes: i64,
    pub planned_done_tasks: i64,
    pub planned_done_minutes: i64,
    pub closed: i64,
    pub overdue: i64,
    /// Tickets they worked on that came back after being resolved or closed ("errors").
    pub reopened: i64,
    pub logged_seconds: i64,
}

impl From<PersonalCounts> for CountsView {
    fn from(c: PersonalCounts) -> Self {
        CountsView {
            planned_tasks: c.planned_tasks,
            planned_minutes: c.planned_minutes,
            planned_done_tasks: c.planned_done_tasks,
            planned_done_minutes: c.planned_done_minutes,
            closed: c.closed,
            overdue: c.overdue,
            reopened: c.reopened,
            logged_seconds: c.logged_seconds,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FiguresView {
    pub today: CountsView,
    pub week: CountsView,
}

impl From<PersonalFigures> for FiguresView {
    fn from(f: PersonalFigures) -> Self {
        FiguresView {
            today: f.today.into(),
            week: f.week.into(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct WhoQuery {
    /// A user id (managers; default: the caller).
    user: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CandidateView {
    pub user: String,
    pub name: String,
    /// Has every skill the ticket's service needs (seed 003's second column).
    pub skills_match: bool,
    pub missing_skills: Vec<String>,
    /// Works in the line of one of the ticket's open tasks.
    pub in_line: bool,
    /// Their priority for the ticket's service, 1 first (seed 003's third column).
    pub service_priority: Option<i32>,
    /// A comment about them for this service (the fourth column).
    pub comment: String,
    pub open_tasks: i64,
    /// Minutes planned today.
    pub planned_minutes: i64,
}

impl From<Suggestion> for CandidateView {
    fn from(s: Suggestion) -> Self {
        CandidateView {
            skills_match: s.skills_match(),
            user: s.candidate.user.to_string(),
            name: s.candidate.name,
            missing_skills: s.missing_skills,
            in_line: s.in_line,
            service_priority: s.candidate.service_priority,
            comment: s.candidate.comment,
            open_tasks: s.candidate.open_tasks,
            planned_minutes: s.candidate.planned_minutes,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// Ticket ids or numbers.
    pub tickets: Vec<String>,
    /// User ids or e-mails: the first takes unassigned tasks, the others join them.
    pub specialists: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Assigned {
    /// The tasks given to the chosen specialists.
    pub tasks: Vec<String>,
    /// The open tasks none of the chosen specialists may do (e.g. a manager's alert task),
    /// left as they were.
    pub skipped: Vec<SkippedTask>,
}

#[derive(Serialize, ToSchema)]
pub struct SkippedTask {
    pub task: String,
    /// The ticket's number.
    pub ticket: String,
    /// Why (Russian, then English).
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    pub value: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Skills {
    pub skills: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePriority {
    /// 1 (first) to 99; absent clears it.
    pub priority: Option<i32>,
    #[serde(default)]
    pub comment: String,
}

#[utoipa::path(post, path = "/tasks/next", tag = "tasks",
    responses((status = 200, body = QueueEntryView, description = "The top of the caller's queue, taken"),
              (status = 204, description = "The queue is empty"), (status = 404, body = ErrorBody)))]
pub(super) async fn take_next(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Response, ApiError> {
    Ok(match state.desk.take_next(&user).await? {
        Some(entry) => Json(QueueEntryView::from(entry)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

#[utoipa::path(post, path = "/tasks/{id}/timer", tag = "time", params(("id" = String, Path)),
    responses((status = 200, body = TimerView, description = "Started; a timer running on another task stopped"),
              (status = 404, body = ErrorBody)))]
pub(super) async fn start_timer(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<TimerView>, ApiError> {
    let started = state.desk.start_timer(&user, task_id(&id)?).await?;
    let now = state.desk.now();
    Ok(Json(TimerView {
        started: TimeEntryView::at(started.started, now),
        stopped: started.stopped.map(|e| TimeEntryView::at(e, now)),
    }))
}

#[utoipa::path(get, path = "/timer", tag = "time",
    responses((status = 200, body = Option<TimeEntryView>, description = "The running timer, or null")))]
pub(super) async fn running_timer(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Option<TimeEntryView>>, ApiError> {
    let running = state.desk.running_timer(&user).await?;
    Ok(Json(
        running.map(|e| TimeEntryView::at(e, state.desk.now())),
    ))
}

#[utoipa::path(delete, path = "/timer", tag = "time",
    responses((status = 200, body = TimeEntryView, description = "The stopped entry"),
              (status = 409, body = ErrorBody, description = "No timer is running")))]
pub(super) async fn stop_timer(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<TimeEntryView>, ApiError> {
    let stopped = state.desk.stop_timer(&user).await?;
    Ok(Json(TimeEntryView::at(stopped, state.desk.now())))
}

#[utoipa::path(post, path = "/time-entries", tag = "time", request_body = NewTimeEntry,
    responses((status = 201, body = TimeEntryView),
              (status = 422, body = ErrorBody, description = "In the future, negative, or overlapping another entry (the field is named)")))]
pub(super) async fn add_entry(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<NewTimeEntry>,
) -> Result<(StatusCode, Json<TimeEntryView>), ApiError> {
    let task = req
        .task
        .trim()
        .parse()
        .map(TaskId)
        .map_err(|_| invalid("task", "not a task id"))?;
    let started = instant(&req.started_at, "started_at")?;
    let stopped = instant(&req.stopped_at, "stopped_at")?;
    let entry = state
        .desk
        .add_time_entry(&user, task, started, stopped, &req.note)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TimeEntryView::at(entry, state.desk.now())),
    ))
}

#[utoipa::path(put, path = "/time-entries/{id}", tag = "time", params(("id" = String, Path)),
    request_body = CorrectTimeEntry,
    responses((status = 200, body = TimeEntryView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The timer still runs"),
              (status = 422, body = ErrorBody)))]
pub(super) async fn correct_entry(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CorrectTimeEntry>,
) -> Result<Json<TimeEntryView>, ApiError> {
    let id = id.parse().map_err(|_| ApiError::not_found("time entry"))?;
    let started = instant(&req.started_at, "started_at")?;
    let stopped = instant(&req.stopped_at, "stopped_at")?;
    let entry = state
        .desk
        .correct_time_entry(&user, id, started, stopped, &req.reason)
        .await?;
    Ok(Json(TimeEntryView::at(entry, state.desk.now())))
}

#[utoipa::path(get, path = "/time-entries/{id}/history", tag = "time", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TimeEntryChangeView>), (status = 404, body = ErrorBody)))]
pub(super) async fn entry_history(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TimeEntryChangeView>>, ApiError> {
    let id = id.parse().map_err(|_| ApiError::not_found("time entry"))?;
    let changes = state.desk.time_entry_history(&user, id).await?;
    Ok(Json(changes.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/time/totals", tag = "time", params(TotalsQuery),
    responses((status = 200, body = Vec<TotalView>), (status = 422, body = ErrorBody)))]
pub(super) async fn totals(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<TotalsQuery>,
) -> Result<Json<Vec<TotalView>>, ApiError> {
    let group = match q.by.as_str() {
        "task" => TimeGroup::Task,
        "ticket" => TimeGroup::Ticket,
        "client" => TimeGroup::Client,
        "user" => TimeGroup::User,
        _ => return Err(invalid("by", "one of task, ticket, client, user")),
    };
    let filter = TimeFilter {
        user: q
            .user
            .as_deref()
            .map(|u| id_of(u, "user").map(UserId))
            .transpose()?,
        ticket: q.ticket.as_deref().map(ticket_id).transpose()?,
        client: q
            .client
            .as_deref()
            .map(|c| id_of(c, "client").map(ClientId))
            .transpose()?,
        task: q
            .task
            .as_deref()
            .map(|t| id_of(t, "task").map(TaskId))
            .transpose()?,
        from: opt_instant(q.from.as_deref(), "from")?,
        until: opt_instant(q.until.as_deref(), "until")?,
    };
    let totals = state.desk.time_totals(&user, group, filter).await?;
    Ok(Json(
        totals
            .into_iter()
            .map(|(key, seconds)| TotalView {
                key: key.to_string(),
                seconds,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/time/days", tag = "time", params(RangeQuery),
    responses((status = 200, body = Vec<DayTotalView>), (status = 422, body = ErrorBody)))]
pub(super) async fn per_day(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Vec<DayTotalView>>, ApiError> {
    let who = match q.user.as_deref() {
        Some(u) => UserId(id_of(u, "user")?),
        None => user.id,
    };
    let from = instant(&q.from, "from")?;
    let until = instant(&q.until, "until")?;
    if until <= from || until.as_second() - from.as_second() > 366 * 86_400 {
        return Err(invalid("until", "after `from`, at most a year later"));
    }
    let days = state.desk.time_per_day(&user, who, from, until).await?;
    Ok(Json(
        days.into_iter()
            .map(|(day, seconds)| DayTotalView {
                day: day.to_string(),
                seconds,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/time/workday", tag = "time", params(WorkdayQuery),
    responses((status = 200, body = WorkdayView), (status = 422, body = ErrorBody)))]
pub(super) async fn workday(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<WorkdayQuery>,
) -> Result<Json<WorkdayView>, ApiError> {
    let who = match q.user.as_deref() {
        Some(u) => UserId(id_of(u, "user")?),
        None => user.id,
    };
    let day = match q.day.as_deref() {
        Some(d) => d
            .trim()
            .parse()
            .map_err(|_| invalid("day", "a date, YYYY-MM-DD"))?,
        None => state
            .desk
            .now()
            .to_zoned_datetime(state.desk.desk_zone())
            .date(),
    };
    Ok(Json(state.desk.workday(&user, who, day).await?.into()))
}

#[utoipa::path(put, path = "/tasks/{id}/plan", tag = "planning", params(("id" = String, Path)),
    request_body = PlanTask,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "Beyond the day's working hours (`minutes`), bad instant (`planned_at`)")))]
pub(super) async fn plan(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PlanTask>,
) -> Result<StatusCode, ApiError> {
    let at = instant(&req.planned_at, "planned_at")?;
    let minutes = PlanMinutes::parse(req.minutes).map_err(okno_desk::DeskError::from)?;
    state
        .desk
        .plan_task(&user, task_id(&id)?, Some((at, minutes)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/tasks/{id}/plan", tag = "planning", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(super) async fn unplan(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.desk.plan_task(&user, task_id(&id)?, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/planning/load", tag = "planning", params(LoadQuery),
    responses((status = 200, body = Vec<DayLoadView>), (status = 422, body = ErrorBody)))]
pub(super) async fn load(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<LoadQuery>,
) -> Result<Json<Vec<DayLoadView>>, ApiError> {
    let who = q
        .user
        .as_deref()
        .map(|u| id_of(u, "user").map(UserId))
        .transpose()?;
    let from = opt_instant(q.from.as_deref(), "from")?.unwrap_or_else(|| state.desk.now());
    let rows = state
        .desk
        .load(&user, who, from, q.days.unwrap_or(7))
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/planning/feed", tag = "planning",
    responses((status = 201, body = FeedView, description = "A new secret feed URL; the old one stops working")))]
pub(super) async fn new_feed(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<(StatusCode, Json<FeedView>), ApiError> {
    let secret = state.desk.new_calendar_feed(&user).await?;
    Ok((
        StatusCode::CREATED,
        Json(FeedView {
            path: format!("/api/v1/calendar/{secret}.ics"),
        }),
    ))
}

#[utoipa::path(get, path = "/calendar/{feed}", tag = "planning", params(("feed" = String, Path, description = "`<secret>.ics`")),
    security(()),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = ErrorBody)))]
pub(super) async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(feed): Path<String>,
) -> Result<Response, ApiError> {
    let secret = feed.strip_suffix(".ics").unwrap_or(&feed);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(':').next())
        .filter(|h| !h.is_empty())
        .unwrap_or("okno");
    let body = state.desk.calendar_feed(secret, host).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response())
}

#[utoipa::path(get, path = "/me/figures", tag = "planning", params(WhoQuery),
    responses((status = 200, body = FiguresView)))]
pub(super) async fn figures(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(q): Query<WhoQuery>,
) -> Result<Json<FiguresView>, ApiError> {
    let who = q
        .user
        .as_deref()
        .map(|u| id_of(u, "user").map(UserId))
        .transpose()?;
    Ok(Json(state.desk.personal_figures(&user, who).await?.into()))
}

#[utoipa::path(get, path = "/tickets/{id}/candidates", tag = "distribution", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CandidateView>, description = "Best first: skills, service priority, load"),
              (status = 404, body = ErrorBody)))]
pub(super) async fn candidates(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<CandidateView>>, ApiError> {
    let list = state
        .desk
        .suggest_specialists(&user, ticket_id(&id)?)
        .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/distribution/assign", tag = "distribution", request_body = Assign,
    responses((status = 200, body = Assigned), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn assign(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(req): ApiJson<Assign>,
) -> Result<Json<Assigned>, ApiError> {
    let tickets = req
        .tickets
        .iter()
        .map(|t| {
            TicketNumber::parse(t)
                .map(|n| TicketId(n.0))
                .ok_or_else(|| invalid("tickets", format!("not a ticket: {t}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut specialists = Vec::new();
    for s in &req.specialists {
        specialists.push(user_ref(&state, s, "specialists").await?);
    }
    let done = state
        .desk
        .assign_tickets(&user, &tickets, &specialists)
        .await?;
    Ok(Json(Assigned {
        tasks: done.assigned.into_iter().map(|t| t.to_string()).collect(),
        skipped: done
            .skipped
            .into_iter()
            .map(|s| SkippedTask {
                task: s.task.to_string(),
                ticket: TicketNumber(s.ticket.0).to_string(),
                reason: s.reason,
            })
            .collect(),
    }))
}

#[utoipa::path(put, path = "/tickets/{id}/urgent", tag = "tickets", params(("id" = String, Path)),
    request_body = Flag, responses((status = 204), (status = 404, body = ErrorBody)))]
pub(super) async fn set_urgent(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Flag>,
) -> Result<StatusCode, ApiError> {
    state
        .desk
        .mark_urgent(&user, ticket_id(&id)?, req.value)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/clients/{code}/vip", tag = "distribution", params(("code" = String, Path)),
    request_body = Flag, responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn set_vip(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
    ApiJson(req): ApiJson<Flag>,
) -> Result<StatusCode, ApiError> {
    okno_desk::authorize(&user, okno_domain::policy::Action::ManageClients)?;
    let client = state
        .desk
        .store
        .client_by_code(code.trim())
        .await
        .map_err(DeskError::from)?
        .ok_or_else(|| ApiError::not_found("client"))?;
    state
        .desk
        .set_client_vip(&user, client.id, req.value)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/users/{id}/director", tag = "distribution", params(("id" = String, Path)),
    request_body = Flag, responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn set_director(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Flag>,
) -> Result<StatusCode, ApiError> {
    let who = user_ref(&state, &id, "user").await?;
    state.desk.set_director(&user, who, req.value).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/users/{id}/skills", tag = "distribution", params(("id" = String, Path)),
    request_body = Skills, responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn set_skills(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Skills>,
) -> Result<StatusCode, ApiError> {
    let who = user_ref(&state, &id, "user").await?;
    state.desk.set_skills(&user, who, &req.skills).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/users/{id}/line-lead", tag = "distribution", params(("id" = String, Path)),
    request_body = Flag, responses((status = 204), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn set_line_lead(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Flag>,
) -> Result<StatusCode, ApiError> {
    let who = user_ref(&state, &id, "user").await?;
    state.desk.set_line_lead(&user, who, req.value).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/services/{code}/skills", tag = "distribution", params(("code" = String, Path)),
    request_body = Skills, responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn set_service_skills(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(code): Path<String>,
    ApiJson(req): ApiJson<Skills>,
) -> Result<StatusCode, ApiError> {
    state
        .desk
        .set_service_skills(&user, code.trim(), &req.skills)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/users/{id}/service-priorities/{service}", tag = "distribution",
    params(("id" = String, Path), ("service" = String, Path)), request_body = ServicePriority,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn set_service_priority(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((id, service)): Path<(String, String)>,
    ApiJson(req): ApiJson<ServicePriority>,
) -> Result<StatusCode, ApiError> {
    let who = user_ref(&state, &id, "user").await?;
    state
        .desk
        .set_specialist_priority(&user, who, service.trim(), req.priority, &req.comment)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
