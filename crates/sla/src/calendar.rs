//! Working calendars: a weekly schedule in a time zone, with holidays, transferred
//! working days and shortened pre-holiday days, answering deadline questions.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::sync::Arc;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::interval::{DailyInterval, first_overlap};
use crate::timeline::Timeline;

/// Years laid out in advance by [`Calendar::new`]; instants outside them are still
/// answered exactly, only more slowly (see [`Calendar::with_precomputed_years`]).
pub const DEFAULT_PRECOMPUTED_YEARS: RangeInclusive<i16> = 2020..=2040;

/// Dates that differ from the weekly schedule, e.g. a country's production calendar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecialDays {
    /// Non-working dates (public holidays and days off moved onto weekdays).
    pub holidays: BTreeSet<Date>,
    /// Dates that work although the weekly schedule rests (a Saturday made a working
    /// day by a transfer). They follow the schedule's usual working day.
    pub working_days: BTreeSet<Date>,
    /// Working dates shortened by the schedule's `shortening_minutes` (pre-holiday days).
    pub short_days: BTreeSet<Date>,
}

impl SpecialDays {
    /// Adds all dates of `other`.
    pub fn extend(&mut self, other: &SpecialDays) {
        self.holidays.extend(&other.holidays);
        self.working_days.extend(&other.working_days);
        self.short_days.extend(&other.short_days);
    }

    fn years(&self) -> impl Iterator<Item = i16> + '_ {
        let dates = self
            .holidays
            .iter()
            .chain(&self.working_days)
            .chain(&self.short_days);
        dates.map(|date| date.year())
    }
}

/// Everything that defines working time: the rules a [`Calendar`] is built from.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The zone in which the schedule's wall-clock times are read.
    pub time_zone: TimeZone,
    /// Working intervals per weekday, Monday first.
    pub week: [Vec<DailyInterval>; 7],
    /// Holidays, transferred working days and short days.
    pub special_days: SpecialDays,
    /// How much shorter a short day is, in minutes, taken off the end of its last
    /// intervals (Russian pre-holiday days are one hour shorter).
    pub shortening_minutes: u16,
}

/// Why a schedule cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Two intervals of one weekday overlap.
    #[error("{weekday:?}: intervals {first} and {second} overlap")]
    Overlap {
        /// The weekday.
        weekday: Weekday,
        /// The earlier-listed interval.
        first: DailyInterval,
        /// The later-listed interval.
        second: DailyInterval,
    },
    /// No weekday has any working interval, so no deadline could ever be reached.
    #[error("the week has no working time")]
    NoWorkingTime,
}

impl Schedule {
    /// A schedule working the same `intervals` Monday to Friday.
    pub fn weekdays(time_zone: TimeZone, intervals: &[DailyInterval]) -> Schedule {
        let mut week: [Vec<DailyInterval>; 7] = Default::default();
        for day in &mut week[..5] {
            day.extend_from_slice(intervals);
        }
        Schedule {
            time_zone,
            week,
            special_days: SpecialDays::default(),
            shortening_minutes: 0,
        }
    }

    /// A schedule where every minute counts (24/7).
    pub fn around_the_clock(time_zone: TimeZone) -> Schedule {
        let whole_day = DailyInterval::new(0, 24 * 60).expect("00:00-24:00 is a valid interval");
        let week = std::array::from_fn(|_| vec![whole_day]);
        Schedule {
            time_zone,
            week,
            special_days: SpecialDays::default(),
            shortening_minutes: 0,
        }
    }

    /// Checks the rules a calendar relies on.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        for (index, intervals) in self.week.iter().enumerate() {
            if let Some((a, b)) = first_overlap(intervals) {
                let weekday = Weekday::from_monday_zero_offset(index as i8).expect("index < 7");
                return Err(ScheduleError::Overlap {
                    weekday,
                    first: intervals[a],
                    second: intervals[b],
                });
            }
        }
        if self.week.iter().all(Vec::is_empty) {
            return Err(ScheduleError::NoWorkingTime);
        }
        Ok(())
    }

    /// The intervals a transferred working day follows: Monday's, or the first
    /// weekday's that has any (a transfer decree says "work Saturday like Monday").
    fn usual_working_day(&self) -> &[DailyInterval] {
        self.week
            .iter()
            .find(|day| !day.is_empty())
            .map_or(&[], Vec::as_slice)
    }

    /// The working intervals of `date`, after holidays, transfers and shortening.
    pub(crate) fn intervals_on(&self, date: Date) -> Cow<'_, [DailyInterval]> {
        let days = &self.special_days;
        let intervals: &[DailyInterval] = if days.working_days.contains(&date) {
            self.usual_working_day()
        } else if days.holidays.contains(&date) {
            &[]
        } else {
            &self.week[date.weekday().to_monday_zero_offset() as usize]
        };
        if self.shortening_minutes == 0 || !days.short_days.contains(&date) {
            return Cow::Borrowed(intervals);
        }
        Cow::Owned(shorten(intervals, self.shortening_minutes))
    }
}

/// Takes `minutes` off the end of the day, dropping intervals that it uses up.
fn shorten(intervals: &[DailyInterval], minutes: u16) -> Vec<DailyInterval> {
    let mut sorted = intervals.to_vec();
    sorted.sort();
    let mut left_to_cut = minutes;
    while let Some(last) = sorted.pop() {
        if last.minutes() > left_to_cut {
            let end = (last.end_minute() - left_to_cut) % (24 * 60);
            sorted.push(DailyInterval::new(last.start_minute(), end).expect("shorter, not empty"));
            break;
        }
        left_to_cut -= last.minutes();
    }
    sorted
}

/// A working calendar: answers "when is N working minutes after this instant" and
/// "how much working time lies between these instants".
///
/// All instants are UTC [`Timestamp`]s. Computations use whole seconds: a sub-second
/// part of an input is dropped (floored). Cloning is cheap (the precomputed layout is
/// shared).
#[derive(Clone, Debug)]
pub struct Calendar {
    code: String,
    schedule: Arc<Schedule>,
    table: Arc<Timeline>,
}

impl Calendar {
    /// A calendar with the [`DEFAULT_PRECOMPUTED_YEARS`] (widened to the years of its
    /// special days) laid out in advance.
    pub fn new(code: impl Into<String>, schedule: Schedule) -> Result<Calendar, ScheduleError> {
        let (mut first, mut last) = DEFAULT_PRECOMPUTED_YEARS.into_inner();
        for year in schedule.special_days.years() {
            (first, last) = (first.min(year), last.max(year));
        }
        Calendar::with_precomputed_years(code, schedule, first..=last)
    }

    /// A calendar with working time laid out in advance for `years` (local years of
    /// the calendar's zone). Queries inside them cost two binary searches; outside
    /// them the needed years are laid out on the fly, so answers are the same.
    pub fn with_precomputed_years(
        code: impl Into<String>,
        schedule: Schedule,
        years: RangeInclusive<i16>,
    ) -> Result<Calendar, ScheduleError> {
        schedule.validate()?;
        let clamp = |year: i16| year.clamp(-9998, 9998);
        let first = Date::new(clamp(*years.start()), 1, 1).expect("clamped year");
        let last = Date::new(clamp(*years.end()).max(clamp(*years.start())), 12, 31)
            .expect("clamped year");
        // Start a day early so the first day's instants are covered (see `Timeline`).
        let first = first.yesterday().expect("clamped year");
        let table = Timeline::build(&schedule, first, last).expect("clamped years are in range");
        Ok(Calendar {
            code: code.into(),
            schedule: Arc::new(schedule),
            table: Arc::new(table),
        })
    }

    /// The calendar's code, e.g. `ru-standard`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The rules this calendar was built from.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The zone the schedule is read in.
    pub fn time_zone(&self) -> &TimeZone {
        &self.schedule.time_zone
    }

    /// The earliest instant at which `minutes` working minutes have passed since
    /// `from`. The clock starts at the next working moment when `from` is in
    /// non-working time, and a deadline that uses up an interval exactly is that
    /// interval's end (18:00), not the next interval's start.
    ///
    /// `minutes <= 0` returns `from` unchanged. Past the end of jiff's range (year
    /// 9999) the answer is [`Timestamp::MAX`].
    pub fn due(&self, from: Timestamp, minutes: i64) -> Timestamp {
        if minutes <= 0 {
            return from;
        }
        self.due_after_seconds(whole_seconds(from), minutes.saturating_mul(60))
    }

    /// Like [`Calendar::due`] with a number of working seconds (`from` when `<= 0`).
    pub fn due_after_seconds(&self, from: i64, seconds: i64) -> Timestamp {
        let (mut at, mut remaining) = (from, seconds.max(0));
        loop {
            let Some(chunk) = self.timeline_at(at) else {
                return Timestamp::MAX;
            };
            match chunk.due(at, remaining) {
                Ok(due) => return timestamp(due),
                Err(used) => {
                    remaining -= used;
                    at = chunk.valid_until;
                }
            }
        }
    }

    /// Working seconds in `[a, b)`; negative when `b` is before `a`.
    pub fn working_seconds_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        let (a, b) = (whole_seconds(a), whole_seconds(b));
        if b < a {
            return -self.working_seconds_in(b, a);
        }
        self.working_seconds_in(a, b)
    }

    /// Whole working minutes in `[a, b)` (truncated toward zero); negative when `b`
    /// is before `a`.
    pub fn working_minutes_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        self.working_seconds_between(a, b) / 60
    }

    fn working_seconds_in(&self, from: i64, until: i64) -> i64 {
        let (mut at, mut total) = (from, 0);
        while at < until {
            let Some(chunk) = self.timeline_at(at) else {
                break;
            };
            let end = until.min(chunk.valid_until);
            total += chunk.worked_until(end) - chunk.worked_until(at);
            at = end;
        }
        total
    }

    /// Whether `at` is working time (intervals include their start, not their end).
    pub fn is_working(&self, at: Timestamp) -> bool {
        let at = whole_seconds(at);
        self.timeline_at(at)
            .is_some_and(|chunk| chunk.is_working(at))
    }

    /// `at` itself when it is working time, otherwise the start of the next working
    /// interval ([`Timestamp::MAX`] if there is none before the end of jiff's range).
    pub fn next_working_moment(&self, at: Timestamp) -> Timestamp {
        if self.is_working(at) {
            return at;
        }
        let mut at = whole_seconds(at);
        loop {
            let Some(chunk) = self.timeline_at(at) else {
                return Timestamp::MAX;
            };
            if let Some(moment) = chunk.next_working(at) {
                return timestamp(moment);
            }
            at = chunk.valid_until;
        }
    }

    /// The precomputed layout when it covers `at`, otherwise a year laid out from
    /// the local day of `at` (the day before is included for its night shift).
    fn timeline_at(&self, at: i64) -> Option<Cow<'_, Timeline>> {
        if self.table.covers(at) {
            return Some(Cow::Borrowed(&self.table));
        }
        let day = self
            .schedule
            .time_zone
            .to_datetime(Timestamp::from_second(at).ok()?)
            .date();
        let last = day
            .checked_add(366.days())
            .ok()?
            .min(Date::MAX.yesterday().ok()?);
        let chunk = Timeline::build(&self.schedule, day.yesterday().ok()?, last)?;
        // Guard against a layout that would not move the search forward.
        chunk.covers(at).then_some(Cow::Owned(chunk))
    }
}

/// Seconds since the Unix epoch, rounded down.
pub(crate) fn whole_seconds(at: Timestamp) -> i64 {
    at.as_second() - i64::from(at.subsec_nanosecond() < 0)
}

fn timestamp(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::MAX)
}
