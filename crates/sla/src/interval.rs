//! Working intervals of one day, written as local wall-clock times.

use std::fmt;
use std::str::FromStr;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// A working interval of one local day, e.g. `09:00-13:00`.
///
/// An interval whose end is not after its start (`22:00-06:00`) crosses midnight: it
/// starts on its own day and ends on the next one. `24:00` is accepted as an end and
/// means the following midnight, so `00:00-24:00` is a whole day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DailyInterval {
    start: u16,
    end: u16,
}

/// Why an interval could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    /// The text is not `HH:MM-HH:MM`.
    #[error("bad interval `{0}`: expected HH:MM-HH:MM, e.g. 09:00-13:00")]
    Syntax(String),
    /// Start and end are the same time of day: it is ambiguous (nothing or all day).
    #[error(
        "interval `{0}` is empty: its end equals its start (write 00:00-24:00 for a whole day)"
    )]
    Empty(String),
}

impl DailyInterval {
    /// An interval from `start` to `end`, both in minutes after local midnight
    /// (`end` may be 1440 for 24:00).
    pub fn new(start: u16, end: u16) -> Result<DailyInterval, IntervalError> {
        let interval = DailyInterval { start, end };
        if start >= MINUTES_PER_DAY || end > MINUTES_PER_DAY {
            return Err(IntervalError::Syntax(interval.to_string()));
        }
        if start == end {
            return Err(IntervalError::Empty(interval.to_string()));
        }
        Ok(interval)
    }

    /// Minutes after local midnight at which the interval starts.
    pub fn start_minute(self) -> u16 {
        self.start
    }

    /// Minutes after the start day's midnight at which the interval ends; above 1440
    /// when it crosses midnight.
    pub fn end_minute(self) -> u16 {
        if self.end <= self.start {
            self.end + MINUTES_PER_DAY
        } else {
            self.end
        }
    }

    /// Whether the interval ends on the next day.
    pub fn crosses_midnight(self) -> bool {
        self.end_minute() > MINUTES_PER_DAY
    }

    /// Length in minutes.
    pub fn minutes(self) -> u16 {
        self.end_minute() - self.start
    }
}

impl FromStr for DailyInterval {
    type Err = IntervalError;

    /// Parses `HH:MM-HH:MM` (an en dash is accepted too; spaces around it are ignored).
    fn from_str(text: &str) -> Result<DailyInterval, IntervalError> {
        let syntax = || IntervalError::Syntax(text.to_string());
        let (start, end) = text
            .split_once('-')
            .or_else(|| text.split_once('–'))
            .ok_or_else(syntax)?;
        let start = parse_clock(start.trim(), false).ok_or_else(syntax)?;
        let end = parse_clock(end.trim(), true).ok_or_else(syntax)?;
        DailyInterval::new(start, end)
    }
}

/// `HH:MM` (or `H:MM`) as minutes after midnight; `24:00` only where an end is meant.
fn parse_clock(text: &str, is_end: bool) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || hours.len() > 2 || !all_digits(minutes) || minutes.len() != 2 {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    match (hours, minutes) {
        (24, 0) if is_end => Some(MINUTES_PER_DAY),
        (0..=23, 0..=59) => Some(hours * 60 + minutes),
        _ => None,
    }
}

impl fmt::Display for DailyInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", clock(self.start), clock(self.end))
    }
}

/// The first pair of intervals (by index) that overlap in time within one day.
pub(crate) fn first_overlap(intervals: &[DailyInterval]) -> Option<(usize, usize)> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by_key(|&i| intervals[i].start);
    order.windows(2).find_map(|pair| {
        let (earlier, later) = (intervals[pair[0]], intervals[pair[1]]);
        (later.start < earlier.end_minute()).then(|| (pair[0].min(pair[1]), pair[0].max(pair[1])))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let lunch_break: DailyInterval = "09:00-13:00".parse().unwrap();
        assert_eq!(
            (lunch_break.start_minute(), lunch_break.end_minute()),
            (540, 780)
        );
        assert_eq!(lunch_break.to_string(), "09:00-13:00");
        let night: DailyInterval = "22:00 – 06:00".parse().unwrap();
        assert!(night.crosses_midnight());
        assert_eq!(night.minutes(), 8 * 60);
        let whole_day: DailyInterval = "00:00-24:00".parse().unwrap();
        assert!(!whole_day.crosses_midnight());
        assert_eq!(whole_day.minutes(), 1440);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "9-13",
            "09:00",
            "25:00-26:00",
            "09:60-10:00",
            "24:00-01:00",
            "a:bc-10:00",
        ] {
            assert!(
                matches!(bad.parse::<DailyInterval>(), Err(IntervalError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "10:00-10:00".parse::<DailyInterval>(),
            Err(IntervalError::Empty(_))
        ));
    }

    #[test]
    fn finds_overlaps() {
        let day = |items: &[&str]| -> Vec<DailyInterval> {
            items.iter().map(|s| s.parse().unwrap()).collect()
        };
        assert_eq!(first_overlap(&day(&["09:00-13:00", "14:00-18:00"])), None);
        assert_eq!(
            first_overlap(&day(&["14:00-18:00", "09:00-14:30"])),
            Some((0, 1))
        );
        assert_eq!(first_overlap(&day(&["01:00-05:00", "22:00-06:00"])), None);
        assert_eq!(
            first_overlap(&day(&["20:00-02:00", "23:00-23:30"])),
            Some((0, 1))
        );
    }
}
