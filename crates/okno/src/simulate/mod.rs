//! `okno simulate`: a support firm run for weeks or months of manual-clock time through the
//! real desk, its jobs, the mail pipeline and the HTTP API, checking after every step the
//! promises that cross capabilities (see [`invariants`]).
//!
//! The run is deterministic for a seed: arrivals, choices and delays come from one seeded
//! generator, and time moves only when the simulation moves the desk's [`ManualClock`].
//! Steps are 15 minutes while anyone works (05:00–19:00 Moscow time covers Novosibirsk's
//! and Moscow's working days) and an hour otherwise; every step runs each due job once, as
//! a server's scheduler would, and delivers the outbox to an in-process mail sink.

mod firm;
mod invariants;
mod people;

use anyhow::Context;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use okno_desk::{Desk, Settings};
use okno_domain::{ManualClock, TicketNumber};
use okno_jobs::{Job, JobSettings, Scheduler};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub use invariants::Violation;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Working days of the firm's (Moscow) calendar to run.
    pub days: u32,
    pub seed: u64,
    pub specialists: u32,
    pub tickets_per_month: u32,
    /// The first day (a working day is not required: the run starts at its midnight).
    pub start: Date,
    /// SQLite path or `postgres://…` of an empty database.
    pub database: String,
    pub data: PathBuf,
}

/// What a run did and found.
#[derive(Debug, Default)]
pub struct Report {
    pub working_days: u32,
    pub wall_seconds: f64,
    pub invariants_checked: u64,
    pub violations: Vec<Violation>,
    pub counts: people::Counts,
}

impl Report {
    pub fn days_per_minute(&self) -> f64 {
        f64::from(self.working_days) * 60.0 / self.wall_seconds.max(1e-9)
    }
}

/// The firm's home zone: steps and working days are counted in Moscow time.
fn moscow() -> TimeZone {
    TimeZone::get("Europe/Moscow").unwrap_or(TimeZone::UTC)
}

/// Runs the firm and returns what it saw; `progress` gets one line per simulated day.
pub async fn run(options: &Options, mut progress: impl FnMut(&str)) -> anyhow::Result<Report> {
    let started = Instant::now();
    let zone = moscow();
    let begin = midnight(options.start, &zone)?;
    let clock = Arc::new(ManualClock::new(begin));
    std::fs::create_dir_all(&options.data)
        .with_context(|| format!("cannot create {}", options.data.display()))?;
    let store = okno_store::open_with_clock(&options.database, clock.clone())
        .await
        .with_context(|| format!("cannot open the database {}", options.database))?;
    let mut settings = Settings::new(options.data.clone());
    settings.clock = clock.clone();
    // The index catches up in the background on a wall-clock timer; the simulation reads
    // no search results, so it only costs time here.
    settings.search_indexer = false;
    settings.mail = people::mail_settings();
    let desk = Desk::start(store, settings).await?;
    let api = people::Api::start(desk.clone()).await?;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(options.seed);
    let firm = firm::build(&desk, options, &mut rng).await?;
    let jobs = Scheduler::new(desk.clone(), JobSettings::default());
    let mut world = people::World::new(desk.clone(), firm, api, options, rng);
    world.link_telegram().await?;
    let mut checks = invariants::Checks::new()?;
    let calendar = desk
        .sla()
        .calendars
        .get("ru-standard")
        .context("the firm's calendar ru-standard")?
        .clone();

    let mut report = Report::default();
    let mut now = begin;
    let mut day = options.start;
    while report.working_days < options.days {
        let day_end = midnight(day.tomorrow().context("calendar end")?, &zone)?;
        let working = calendar.working_seconds_between(midnight(day, &zone)?, day_end) > 0;
        while now < day_end {
            clock.set(now);
            let step_started = now;
            world.step(now, working).await?;
            for job in Job::ALL {
                if let Err(error) = jobs.tick(job).await {
                    checks.job_failed(job, &error.to_string());
                }
            }
            world.deliver_mail().await?;
            checks
                .after_step(&desk, &world, step_started)
                .await
                .context("checking invariants")?;
            now = (now + step_length(now, &zone, working)).min(day_end);
        }
        checks.after_day(&desk, day, working).await?;
        if working {
            report.working_days += 1;
            progress(&format!(
                "day {:>3} {day}: {} tickets, {} violations",
                report.working_days,
                world.counts.tickets,
                checks.violations.len()
            ));
        }
        day = day.tomorrow().context("calendar end")?;
    }
    checks.at_end(&desk, &world).await?;
    report.invariants_checked = checks.checked;
    report.violations = std::mem::take(&mut checks.violations);
    report.counts = world.counts.clone();
    report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn midnight(day: Date, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    Ok(day
        .to_datetime(Time::midnight())
        .to_zoned_datetime(zone.clone())?
        .timestamp())
}

/// 15 minutes while someone in Moscow or Novosibirsk may be at work, an hour otherwise.
fn step_length(now: Timestamp, zone: &TimeZone, working: bool) -> SignedDuration {
    let local = now.to_zoned_datetime(zone.clone()).time();
    let busy =
        working && local >= Time::constant(5, 0, 0, 0) && local < Time::constant(19, 0, 0, 0);
    SignedDuration::from_mins(if busy { 15 } else { 60 })
}

/// `OK-000123`, or `-` for a violation of no single ticket.
pub fn ticket_label(ticket: Option<okno_domain::TicketId>) -> String {
    ticket.map_or_else(|| "-".to_owned(), |t| TicketNumber(t.0).to_string())
}
