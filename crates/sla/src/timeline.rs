//! Working time of a range of days laid out as sorted instants with running totals, so
//! that deadline questions become two binary searches instead of a walk over days.

use jiff::ToSpan;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

use crate::calendar::Schedule;

/// Working spans (unix seconds, half-open) generated from the days `first..=last`.
///
/// Only instants in `valid_from..valid_until` are answered: before `valid_from` a
/// night shift of the day before `first` may be missing, and from `valid_until` on the
/// days after `last` are.
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    spans: Vec<[i64; 2]>,
    /// `worked_before[i]` = working seconds in `spans[..i]`; one longer than `spans`.
    worked_before: Vec<i64>,
    pub(crate) valid_from: i64,
    pub(crate) valid_until: i64,
}

impl Timeline {
    /// Lays out the days `first..=last`; `None` when the days run off jiff's range.
    pub(crate) fn build(schedule: &Schedule, first: Date, last: Date) -> Option<Timeline> {
        let tz = &schedule.time_zone;
        let valid_from = local_instant(tz, first.checked_add(1.day()).ok()?, 0)?;
        let valid_until = local_instant(tz, last.checked_add(1.day()).ok()?, 0)?;
        let mut spans: Vec<[i64; 2]> = Vec::new();
        let mut day = first;
        while day <= last {
            for interval in schedule.intervals_on(day).iter() {
                let start = local_instant(tz, day, interval.start_minute())?;
                let end = local_instant(tz, day, interval.end_minute())?;
                push_merged(&mut spans, start, end);
            }
            day = day.tomorrow().ok()?;
        }
        let mut worked_before = Vec::with_capacity(spans.len() + 1);
        let mut total = 0;
        worked_before.push(total);
        for [start, end] in &spans {
            total += end - start;
            worked_before.push(total);
        }
        Some(Timeline {
            spans,
            worked_before,
            valid_from,
            valid_until,
        })
    }

    pub(crate) fn covers(&self, at: i64) -> bool {
        (self.valid_from..self.valid_until).contains(&at)
    }

    /// Index of the first span that ends after `at` (it may start after `at` too).
    fn span_after(&self, at: i64) -> usize {
        self.spans.partition_point(|&[_, end]| end <= at)
    }

    /// Working seconds from the first span up to `at`.
    pub(crate) fn worked_until(&self, at: i64) -> i64 {
        let i = self.span_after(at);
        match self.spans.get(i) {
            Some(&[start, _]) if start < at => self.worked_before[i] + (at - start),
            _ => self.worked_before[i],
        }
    }

    pub(crate) fn is_working(&self, at: i64) -> bool {
        matches!(self.spans.get(self.span_after(at)), Some(&[start, _]) if start <= at)
    }

    /// The first working instant at or after `at`, if it lies before `valid_until`.
    pub(crate) fn next_working(&self, at: i64) -> Option<i64> {
        let &[start, _] = self.spans.get(self.span_after(at))?;
        Some(start.max(at)).filter(|&moment| moment < self.valid_until)
    }

    /// The instant at which `seconds` of working time have passed since `at`, or the
    /// working seconds this timeline could still give (when that is not enough).
    pub(crate) fn due(&self, at: i64, seconds: i64) -> Result<i64, i64> {
        if seconds <= 0 {
            return Ok(at);
        }
        let already = self.worked_until(at);
        let available = self.worked_until(self.valid_until) - already;
        if seconds > available {
            return Err(available);
        }
        let target = already + seconds;
        // The span in which the running total reaches the target: a deadline that
        // uses up a span exactly is that span's end, not the next span's start.
        let i = self.worked_before[1..].partition_point(|&total| total < target);
        Ok(self.spans[i][0] + (target - self.worked_before[i]))
    }
}

/// The instant of a local time `minute` minutes after `day`'s midnight (it may be on a
/// later day). Times that do not exist or repeat are resolved the way jiff's
/// `compatible` disambiguation does: a time in a gap moves forward by the gap, a
/// repeated time takes its first occurrence.
fn local_instant(tz: &TimeZone, day: Date, minute: u16) -> Option<i64> {
    let day = day.checked_add(i64::from(minute / 1440).days()).ok()?;
    let minute = minute % 1440;
    let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
    let local = DateTime::from_parts(day, time);
    tz.to_timestamp(local).ok().map(|t| t.as_second())
}

/// Appends a span, joining it with the previous one when they touch or overlap
/// (a night shift running into the next morning, or a 24/7 week).
fn push_merged(spans: &mut Vec<[i64; 2]>, start: i64, end: i64) {
    if end <= start {
        return;
    }
    match spans.last_mut() {
        Some(last) if start <= last[1] => last[1] = last[1].max(end),
        _ => spans.push([start, end]),
    }
}
