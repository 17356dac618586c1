//! The desk's homeostasis (004): jobs that keep the process alive without anyone asking.
//!
//! - [`deadline_watch`] (every minute, after [`sync_clocks`] stops or restarts the deadline
//!   clocks of tickets whose ball changed sides): deadlines breached, deadlines at 80% of their working
//!   time with no progress, tickets over the specialist-hours limit, used-up client
//!   allowances — each raised at once as an alert with a manager task, once per cause.
//! - [`daily_review`] (at 09:30 on the desk calendar's working days): a task for the manager
//!   pool listing every open ticket with its status and whose side the ball is on.
//! - [`auto_close`] (every ten minutes): tickets waiting on the client with no answer for 3
//!   working days after our last message get a public message and close.
//!
//! - [`contracts::contract_lifecycle`] (hourly): contract notices, switch-off notices,
//!   manager alerts for contracts ending with no successor, renewal invoice drafts.
//! - reports (every ten minutes): closed tickets settled into the reports' facts
//!   ([`okno_desk::reports::Reports::settle`]) and the subscribed reports that are due
//!   mailed as XLSX through the outbox.
//! - resume actions (every minute): automatic route steps (a key to generate) that a
//!   stopped process left unrun for [`ACTION_IDLE`] run now ([`Desk::resume_actions`]).
//!
//! Each job is a plain async function of the desk, its settings and `now`, so tests call it
//! with a fixed instant. The [`Scheduler`] only decides when: one tokio loop per job polls
//! the `jobs` table, and a run happens in the one process that claims the job's lease
//! ([`okno_store::JobStore::claim_job`]), so several `okno serve` processes can share a
//! database. Time is the desk's clock ([`Desk::now`]), moved by hand in tests.

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use okno_desk::deadlines::{SlaTerms, format_instant};
use okno_desk::{Desk, DeskError};
use okno_domain::review::{ReviewItem, ReviewSnapshot};
use okno_domain::{Bilingual, TicketId, TicketNumber, TicketStatus};
use okno_sla::{AlertDecision, AlertKind, DeadlineSnapshot, WatchRules, Watched};
use okno_store::{ChangeStep, DailyReview, MANAGER_POOL, NewAlert, StoreError, TicketChange};
use std::collections::BTreeMap;
use std::sync::Arc;

pub mod contracts;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ticket {ticket}: route state: {message}")]
    Route { ticket: TicketId, message: String },
}

pub type Result<T, E = JobError> = std::result::Result<T, E>;

pub use okno_domain::{Clock, ManualClock, SystemClock};

/// How the jobs behave.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub watch: WatchRules,
    pub watch_every: SignedDuration,
    /// Local time of the daily review on the review calendar's working days.
    pub review_at: Time,
    /// Calendar code of the daily review (`None`: the default support level's).
    pub review_calendar: Option<String>,
    /// Working minutes of silence after our last message before a ticket waiting on the
    /// client closes (default 3 working days).
    pub auto_close_after_minutes: i64,
    pub auto_close_every: SignedDuration,
    /// How long a claimed run may take before another process may take the job over.
    pub lease: SignedDuration,
    /// How often each loop looks at its job's row.
    pub poll: std::time::Duration,
    /// The daily review lists at most this many tickets on each side of the ball (the
    /// oldest); totals are always exact.
    pub review_limit: u32,
    pub contracts_every: SignedDuration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            watch: WatchRules::default(),
            watch_every: SignedDuration::from_secs(60),
            review_at: Time::constant(9, 30, 0, 0),
            review_calendar: None,
            auto_close_after_minutes: 3 * okno_sla::WORKING_DAY_MINUTES,
            auto_close_every: SignedDuration::from_mins(10),
            review_limit: 500,
            lease: SignedDuration::from_mins(5),
            poll: std::time::Duration::from_secs(15),
            contracts_every: SignedDuration::from_hours(1),
        }
    }
}

/// The recurring jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    DeadlineWatch,
    DailyReview,
    AutoClose,
    ContractLifecycle,
    ResumeActions,
    Reports,
}

/// How long a route waits for its automatic action before the job runs it: a running
/// process finishes one in milliseconds, so by then nobody else is about to.
pub const ACTION_IDLE: SignedDuration = SignedDuration::from_mins(2);

impl Job {
    pub const ALL: [Job; 6] = [
        Job::DeadlineWatch,
        Job::DailyReview,
        Job::AutoClose,
        Job::ContractLifecycle,
        Job::ResumeActions,
        Job::Reports,
    ];

    /// Its row's name in the `jobs` table.
    pub fn name(self) -> &'static str {
        match self {
            Job::DeadlineWatch => "deadline_watch",
            Job::DailyReview => "daily_review",
            Job::AutoClose => "auto_close",
            Job::ContractLifecycle => "contract_lifecycle",
            Job::ResumeActions => "resume_actions",
            Job::Reports => "reports",
        }
    }
}

fn later(at: Timestamp, by: SignedDuration) -> Timestamp {
    at.saturating_add(by).unwrap_or(Timestamp::MAX)
}

fn terms<'a>(desk: &'a Desk, calendar: Option<&str>) -> Result<SlaTerms<'a>> {
    Ok(desk.sla_terms(None, calendar)?)
}

/// The terms of one ticket, remembered per (calendar, support level) for one pass.
type TermsCache<'a> = BTreeMap<(Option<String>, Option<String>), SlaTerms<'a>>;

fn ticket_terms<'a, 'c>(
    desk: &'a Desk,
    cache: &'c mut TermsCache<'a>,
    calendar: &Option<String>,
    level: &Option<String>,
) -> Result<&'c SlaTerms<'a>> {
    let key = (calendar.clone(), level.clone());
    if !cache.contains_key(&key) {
        let found = desk.sla_terms(level.as_deref(), calendar.as_deref())?;
        cache.insert(key.clone(), found);
    }
    Ok(&cache[&key])
}

/// The first instant after `after` that is `at` local time on a working day of `calendar`.
pub fn next_review(calendar: &okno_sla::Calendar, at: Time, after: Timestamp) -> Timestamp {
    let zone = calendar.time_zone().clone();
    let mut day = after.to_zoned_datetime(zone.clone()).date();
    for _ in 0..800 {
        if let Ok(local) = day.to_datetime(at).to_zoned_datetime(zone.clone()) {
            let candidate = local.timestamp();
            if candidate > after && calendar.is_working(candidate) {
                return candidate;
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    later(after, SignedDuration::from_hours(24))
}

/// The day whose review is due at `now`: today in `calendar`'s zone when today is a
/// working day and its review time `at` has come; `None` otherwise. A server that was down
/// over a weekend and starts on Sunday makes no review for Sunday: the next is Monday's.
pub fn review_day(calendar: &okno_sla::Calendar, at: Time, now: Timestamp) -> Option<Date> {
    let zone = calendar.time_zone().clone();
    let today = now.to_zoned_datetime(zone.clone()).date();
    let review = today
        .to_datetime(at)
        .to_zoned_datetime(zone)
        .ok()?
        .timestamp();
    (review <= now && calendar.is_working(review)).then_some(today)
}

/// Stops and restarts deadline clocks to match ticket statuses, at the instant each status
/// changed: waiting on the client stops the clock; back on our side, the next-step date
/// and open tasks' deadlines move by the working time spent waiting. Runs before every
/// deadline watch, so it works whichever way the status changed. Returns how many
/// tickets it touched.
pub async fn sync_clocks(desk: &Desk) -> Result<usize> {
    let mismatches = desk.store.clock_mismatches().await?;
    for ticket in &mismatches {
        match ticket.paused_at {
            None => {
                desk.pause_clock(ticket.ticket_id, ticket.changed_at)
                    .await?
            }
            Some(paused)
                if matches!(ticket.status, TicketStatus::New | TicketStatus::InProgress) =>
            {
                desk.resume_clock(ticket.ticket_id, ticket.changed_at.max(paused))
                    .await?
            }
            // Resolved or closed: nothing left to move.
            Some(_) => {
                desk.store
                    .resume_ticket_clock(ticket.ticket_id, ticket.changed_at)
                    .await?;
            }
        }
    }
    Ok(mismatches.len())
}

/// What one deadline-watch run raised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchReport {
    /// Alerts newly raised, by cause key.
    pub raised: Vec<String>,
    /// Causes found again (raised by an earlier run or another process).
    pub known: usize,
}

/// Looks at every running deadline, the specialist hours and the client allowances, and
/// raises what needs the manager, each cause once.
pub async fn deadline_watch(
    desk: &Desk,
    rules: &WatchRules,
    now: Timestamp,
) -> Result<WatchReport> {
    let mut report = WatchReport::default();
    let mut cache = TermsCache::new();
    for task in desk.store.watched_tasks().await? {
        let terms = *ticket_terms(desk, &mut cache, &task.calendar, &task.support_level)?;
        let snapshot = DeadlineSnapshot {
            subject: Watched::Task(task.task_id.0),
            started: task.created_at,
            due: task.due_at,
            progressed: task.progressed,
        };
        let Some(decision) = okno_sla::deadline_alert(rules, terms.calendar, &snapshot, now) else {
            continue;
        };
        if decision.kind == AlertKind::AtRisk && task.at_risk_alerted {
            report.known += 1;
            continue;
        }
        let zone = terms.calendar.time_zone();
        let (due_ru, due_en) = (
            format_instant(task.due_at, zone, "ru"),
            format_instant(task.due_at, zone, "en"),
        );
        let number = TicketNumber(task.ticket_id.0);
        let (task_ru, task_en) = (
            Bilingual::read(&task.title, "ru", false),
            Bilingual::read(&task.title, "en", false),
        );
        let (title, priority) = match decision.kind {
            AlertKind::Breached => (
                Bilingual::new(
                    format!("Срок нарушен: задача «{task_ru}» ({number}), срок был {due_ru}"),
                    format!("Deadline breached: task “{task_en}” ({number}) was due {due_en}"),
                ),
                100,
            ),
            _ => (
                Bilingual::new(
                    format!(
                        "Срок под угрозой: задача «{task_ru}» ({number}) без движения, срок {due_ru}"
                    ),
                    format!(
                        "Deadline at risk: task “{task_en}” ({number}) has not moved, due {due_en}"
                    ),
                ),
                75,
            ),
        };
        let detail = format!("task {} due {}", task.task_id, task.due_at);
        raise(
            desk,
            &mut report,
            decision,
            task.ticket_id,
            Some(task.task_id),
            detail,
            title,
            priority,
            now,
        )
        .await?;
    }
    for ticket in desk.store.overdue_tickets(now).await? {
        let terms = *ticket_terms(desk, &mut cache, &ticket.calendar, &ticket.support_level)?;
        let snapshot = DeadlineSnapshot {
            subject: Watched::Ticket(ticket.ticket_id.0),
            started: ticket.next_step_at,
            due: ticket.next_step_at,
            progressed: true,
        };
        let Some(decision) = okno_sla::deadline_alert(rules, terms.calendar, &snapshot, now) else {
            continue;
        };
        let zone = terms.calendar.time_zone();
        let number = TicketNumber(ticket.ticket_id.0);
        let title = Bilingual::new(
            format!(
                "Нарушен срок, обещанный клиенту: {number} «{}», срок был {}",
                ticket.subject,
                format_instant(ticket.next_step_at, zone, "ru")
            ),
            format!(
                "The date promised to the client is missed: {number} “{}” was due {}",
                ticket.subject,
                format_instant(ticket.next_step_at, zone, "en")
            ),
        );
        let detail = format!("next step due {}", ticket.next_step_at);
        raise(
            desk,
            &mut report,
            decision,
            ticket.ticket_id,
            None,
            detail,
            title,
            100,
            now,
        )
        .await?;
    }
    for work in desk
        .store
        .tickets_over_work(rules.over_minutes, now)
        .await?
    {
        let Some(decision) = okno_sla::hours_alert(rules, work.ticket_id.0, work.minutes) else {
            continue;
        };
        let (over, number) = (rules.over_minutes / 60, TicketNumber(work.ticket_id.0));
        let (h, min) = (work.minutes / 60, work.minutes % 60);
        let title = Bilingual::new(
            format!("Больше {over} ч работы специалистов по тикету {number}: {h} ч {min} мин"),
            format!("Over {over} h of specialists' work on {number}: {h} h {min} min"),
        );
        let detail = format!("{} minutes logged", work.minutes);
        raise(
            desk,
            &mut report,
            decision,
            work.ticket_id,
            None,
            detail,
            title,
            75,
            now,
        )
        .await?;
    }
    for quota in desk.store.used_up_quotas().await? {
        let Some(decision) =
            okno_sla::quota_alert(quota.client_id.0, &quota.quota, quota.used, quota.limit)
        else {
            continue;
        };
        let title = Bilingual::new(
            format!(
                "Исчерпан лимит клиента {}: {} — {} из {}",
                quota.client_code, quota.quota, quota.used, quota.limit
            ),
            format!(
                "Client {}'s limit is used up: {} — {} of {}",
                quota.client_code, quota.quota, quota.used, quota.limit
            ),
        );
        let detail = format!("{} {} of {}", quota.quota, quota.used, quota.limit);
        raise(
            desk,
            &mut report,
            decision,
            quota.last_ticket_id,
            None,
            detail,
            title,
            50,
            now,
        )
        .await?;
    }
    for hours in desk.used_up_hours(now).await? {
        let Some(decision) = okno_sla::hours_limit_alert(
            hours.client.0,
            &hours.period,
            hours.used_minutes,
            hours.limit_hours,
        ) else {
            continue;
        };
        let (h, min, limit) = (
            hours.used_minutes / 60,
            hours.used_minutes % 60,
            hours.limit_hours,
        );
        let (client, contract, period) = (&hours.client_code, &hours.contract, &hours.period);
        let title = Bilingual::new(
            format!(
                "Исчерпан лимит часов клиента {client} по договору {contract} за {period}: \
                 {h} ч {min:02} мин из {limit} ч"
            ),
            format!(
                "Client {client}'s hours limit under contract {contract} is used up for \
                 {period}: {h} h {min:02} min of {limit} h"
            ),
        );
        let detail = format!(
            "hours_per_month {} of {} minutes in {}",
            hours.used_minutes,
            hours.limit_hours * 60,
            hours.period
        );
        raise(
            desk,
            &mut report,
            decision,
            hours.ticket,
            None,
            detail,
            title,
            50,
            now,
        )
        .await?;
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)] // one alert's parts, straight into its row
async fn raise(
    desk: &Desk,
    report: &mut WatchReport,
    decision: AlertDecision,
    ticket: TicketId,
    task: Option<okno_domain::TaskId>,
    detail: String,
    title: Bilingual,
    priority: i32,
    now: Timestamp,
) -> Result<()> {
    let alert = NewAlert {
        kind: decision.kind.code().to_owned(),
        ticket_id: ticket,
        task_id: task,
        cause_key: decision.cause_key,
        detail,
        title: title.to_stored(),
        priority,
    };
    match desk.store.raise_alert(&alert, now).await? {
        Some(raised) => {
            tracing::info!(cause = %raised.cause_key, ticket = %ticket, "alert raised");
            report.raised.push(raised.cause_key);
        }
        None => report.known += 1,
    }
    Ok(())
}

/// Creates today's review (in the review calendar's zone) for the manager pool: every open
/// ticket with its status and whose side the ball is on. `None`: no review is due today
/// ([`review_day`]: a day off, or before the review time) or today has one already.
pub async fn daily_review(
    desk: &Desk,
    settings: &JobSettings,
    now: Timestamp,
) -> Result<Option<DailyReview>> {
    let terms = terms(desk, settings.review_calendar.as_deref())?;
    let Some(day) = review_day(terms.calendar, settings.review_at, now) else {
        return Ok(None);
    };
    let day = day.to_string();
    let board = desk.store.open_ticket_board(settings.review_limit).await?;
    let (ours_total, theirs_total) = desk.store.open_ticket_counts().await?;
    let snapshot = ReviewSnapshot {
        ours_total,
        theirs_total,
        items: board
            .into_iter()
            .map(|row| ReviewItem {
                ticket: row.ticket_id,
                client_code: row.client_code,
                subject: row.subject,
                status: row.status,
                next_step_at_ms: row.next_step_at.map(|at| at.as_millisecond()),
            })
            .collect(),
    };
    let body = snapshot.to_stored();
    Ok(desk
        .store
        .create_daily_review(&day, MANAGER_POOL, &body, now)
        .await?)
}

fn working_days_ru(days: i64) -> String {
    let word = if days % 10 == 1 && days % 100 != 11 {
        "рабочего дня"
    } else {
        "рабочих дней"
    };
    format!("{days} {word}")
}

/// The public message of an auto-closed ticket, in the requester's language.
pub fn auto_close_message(after_minutes: i64, lang: &str) -> String {
    let days = (after_minutes / okno_sla::WORKING_DAY_MINUTES).max(1);
    if lang.starts_with("en") {
        let unit = if days == 1 { "day" } else { "days" };
        format!(
            "We have not heard from you for {days} working {unit}, so we are closing this \
             ticket. If the question is still open, write to us and we will help."
        )
    } else {
        format!(
            "Мы не получили от вас ответа в течение {} и закрываем обращение. \
             Если вопрос остался, напишите нам — мы поможем.",
            working_days_ru(days)
        )
    }
}

/// Closes tickets waiting on the client whose silence after our last public message has
/// lasted `settings.auto_close_after_minutes` working minutes: a public message, status
/// closed, open tasks cancelled, through the workflow engine's `close` and one store
/// transaction. Returns the tickets closed.
pub async fn auto_close(
    desk: &Desk,
    settings: &JobSettings,
    now: Timestamp,
) -> Result<Vec<TicketId>> {
    let after = settings.auto_close_after_minutes;
    // Working time never outruns wall time, so this bound misses no candidate.
    let before = later(now, SignedDuration::from_mins(-after));
    let mut closed = Vec::new();
    for waiting in desk.store.waiting_tickets(before).await? {
        let terms = terms(desk, waiting.calendar.as_deref())?;
        let silent = terms
            .calendar
            .working_minutes_between(waiting.our_last_message_at, now);
        if silent < after {
            continue;
        }
        let Some(okno_store::RoutedTicket {
            ticket,
            route,
            requester_locale: locale,
            ..
        }) = desk.store.routed_ticket(waiting.ticket_id).await?
        else {
            continue;
        };
        if ticket.status != TicketStatus::WaitingClient {
            continue;
        }
        let change = TicketChange {
            actor: None,
            at: now,
            route: closed_route(desk, ticket.id, &route)?,
            from_route: route,
            complete: None,
            steps: vec![
                ChangeStep::PublicMessage(auto_close_message(after, &locale)),
                ChangeStep::SetStatus(TicketStatus::Closed),
                ChangeStep::Close,
                ChangeStep::Event {
                    kind: "auto_closed".into(),
                    detail: format!("no answer for {silent} working minutes"),
                    public: false,
                },
            ],
            next_step_at: Some(None),
            // Closing leaves no task open to rank.
            rank: None,
        };
        // `None`: the ticket moved (the client answered) since we read it; leave it.
        if desk.store.apply_change(ticket.id, &change).await?.is_some() {
            tracing::info!(ticket = %ticket.id, "auto-closed after the client's silence");
            closed.push(ticket.id);
        }
    }
    Ok(closed)
}

/// The route state after closing it with the workflow engine (a ticket without a route,
/// `{}`, keeps it; one whose workflow version is gone is closed by hand).
fn closed_route(desk: &Desk, ticket: TicketId, route: &str) -> Result<String> {
    let parsed = serde_json::from_str::<serde_json::Value>(route)
        .ok()
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()));
    if parsed.is_none() {
        return Ok(route.to_owned());
    }
    let invalid = |e: serde_json::Error| JobError::Route {
        ticket,
        message: e.to_string(),
    };
    let mut state: okno_workflow::RouteState = serde_json::from_str(route).map_err(invalid)?;
    state = match desk.catalog().workflow_of(&state) {
        Ok(workflow) => okno_workflow::close(workflow, &state).state,
        Err(_) => {
            state.stage = None;
            state.open_tasks.clear();
            state.awaiting_action = None;
            state.status = okno_workflow::Status::Closed;
            state
        }
    };
    serde_json::to_string(&state).map_err(invalid)
}

/// Runs the jobs on their schedules: one tokio loop per job, each run claimed through the
/// database first.
pub struct Scheduler {
    desk: Arc<Desk>,
    settings: JobSettings,
    worker: String,
}

impl Scheduler {
    /// Jobs on `desk`'s clock.
    pub fn new(desk: Arc<Desk>, settings: JobSettings) -> Self {
        // Unique among processes and schedulers sharing a database, whatever the clock says.
        let salt = {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        };
        Scheduler {
            desk,
            settings,
            worker: format!("pid{}-{:08x}", std::process::id(), salt as u32),
        }
    }

    /// This process's name in job leases.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    pub fn settings(&self) -> &JobSettings {
        &self.settings
    }

    fn review_calendar(&self) -> Result<SlaTerms<'_>> {
        terms(&self.desk, self.settings.review_calendar.as_deref())
    }

    /// When a job runs first if its row does not exist yet.
    fn first_run(&self, job: Job, now: Timestamp) -> Result<Timestamp> {
        Ok(match job {
            Job::DeadlineWatch
            | Job::AutoClose
            | Job::ContractLifecycle
            | Job::ResumeActions
            | Job::Reports => now,
            // Today's review if today is a working day (a fresh server at 11:00 still
            // makes it; the day's review is unique anyway).
            Job::DailyReview => {
                let calendar = self.review_calendar()?.calendar;
                let zone = calendar.time_zone().clone();
                let midnight = now
                    .to_zoned_datetime(zone)
                    .start_of_day()
                    .map(|z| z.timestamp())
                    .unwrap_or(now);
                next_review(
                    calendar,
                    self.settings.review_at,
                    later(midnight, SignedDuration::from_secs(-1)),
                )
            }
        })
    }

    /// When a job runs next after a successful run at `now`.
    fn next_run(&self, job: Job, now: Timestamp) -> Result<Timestamp> {
        Ok(match job {
            Job::DeadlineWatch | Job::ResumeActions => later(now, self.settings.watch_every),
            Job::AutoClose | Job::Reports => later(now, self.settings.auto_close_every),
            Job::ContractLifecycle => later(now, self.settings.contracts_every),
            Job::DailyReview => next_review(
                self.review_calendar()?.calendar,
                self.settings.review_at,
                now,
            ),
        })
    }

    /// Runs `job` if it is due at the clock's now and this process wins its lease.
    /// `Ok(None)`: not due, or another process has it.
    pub async fn tick(&self, job: Job) -> Result<Option<String>> {
        let now = self.desk.now();
        let first = self.first_run(job, now)?;
        let Some(claimed) = self
            .desk
            .store
            .claim_job(job.name(), &self.worker, now, self.settings.lease, first)
            .await?
        else {
            return Ok(None);
        };
        let outcome = self.run(job, now).await;
        let store = &self.desk.store;
        match outcome {
            Ok(summary) => {
                let next = self.next_run(job, now)?;
                store
                    .finish_job(job.name(), &self.worker, now, next, None)
                    .await?;
                Ok(Some(summary))
            }
            Err(error) => {
                // Back off: 1, 2, 4 … 64 minutes between failed attempts.
                let backoff = SignedDuration::from_mins(1 << claimed.attempts.clamp(0, 6));
                store
                    .finish_job(
                        job.name(),
                        &self.worker,
                        now,
                        later(now, backoff),
                        Some(&error.to_string()),
                    )
                    .await?;
                Err(error)
            }
        }
    }

    async fn run(&self, job: Job, now: Timestamp) -> Result<String> {
        let desk = &self.desk;
        Ok(match job {
            Job::DeadlineWatch => {
                sync_clocks(desk).await?;
                let report = deadline_watch(desk, &self.settings.watch, now).await?;
                format!(
                    "{} alerts raised, {} known",
                    report.raised.len(),
                    report.known
                )
            }
            Job::DailyReview => match daily_review(desk, &self.settings, now).await? {
                Some(review) => format!("review {} created", review.day),
                None => "no review due (a day off, or today's exists)".into(),
            },
            Job::AutoClose => {
                let closed = auto_close(desk, &self.settings, now).await?;
                format!("{} tickets closed", closed.len())
            }
            Job::ContractLifecycle => {
                let r = contracts::contract_lifecycle(desk, &desk.contract_settings.lifecycle, now)
                    .await?;
                format!(
                    "{} notices, {} alerts, {} invoices, {} started, {} ended",
                    r.notices, r.alerts, r.invoices, r.started, r.ended
                )
            }
            Job::ResumeActions => {
                let resumed = desk.resume_actions(later(now, -ACTION_IDLE)).await?;
                format!("{resumed} automatic steps resumed")
            }
            Job::Reports => {
                let reports = desk.reports();
                let settled = reports.settle(u32::MAX).await?;
                let sent = reports.send_due(now).await?;
                format!("{settled} tickets settled, {sent} subscribed reports queued")
            }
        })
    }

    /// Starts one loop per job; they run until the runtime stops or the handles are
    /// aborted. A failed run is logged and retried with back-off.
    pub fn spawn(self: Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        Job::ALL
            .into_iter()
            .map(|job| {
                let scheduler = Arc::clone(&self);
                tokio::spawn(async move {
                    let mut interval = tokio::time::interval(scheduler.settings.poll);
                    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        interval.tick().await;
                        // Calendars and levels an admin published in another process.
                        if job == Job::DeadlineWatch
                            && let Err(error) = scheduler.desk.load_published_sla().await
                        {
                            tracing::warn!(%error, "published calendars not loaded");
                        }
                        match scheduler.tick(job).await {
                            Ok(Some(summary)) => {
                                tracing::debug!(job = job.name(), %summary, "job ran")
                            }
                            Ok(None) => {}
                            Err(error) => tracing::warn!(job = job.name(), %error, "job failed"),
                        }
                    }
                })
            })
            .collect()
    }
}
