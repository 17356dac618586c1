//! The `okno calendar due` command, from its string arguments to its output line.

use jiff::Timestamp;

use crate::config::{CalendarCatalog, UnknownCalendar};

/// What is wrong with the arguments of `okno calendar due`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DueCommandError {
    /// `--calendar` names no known calendar.
    #[error("--calendar: {0}")]
    UnknownCalendar(#[from] UnknownCalendar),
    /// `--from` is not an RFC 3339 instant.
    #[error(
        "--from: `{0}` is not an RFC 3339 instant with an offset, e.g. 2025-05-02T17:30:00+03:00 or 2025-05-02T14:30:00Z"
    )]
    BadFrom(String),
    /// `--minutes` is not a whole non-negative number.
    #[error("--minutes: `{0}` is not a whole number of minutes (0 or more)")]
    BadMinutes(String),
    /// `--minutes` or `--from` reach beyond any year a deadline can fall in.
    #[error(
        "--minutes: {0} working minutes from {1} fall beyond the years a deadline can fall in ({MAX_DUE_MINUTES} minutes and the years {FIRST_YEAR}–{LAST_YEAR} at most)"
    )]
    TooFar(i64, String),
}

/// Ten years of minutes: no support norm is longer.
pub const MAX_DUE_MINUTES: i64 = 10 * 366 * 24 * 60;
/// The years `--from` and the deadline may fall in.
pub const FIRST_YEAR: i16 = 1970;
pub const LAST_YEAR: i16 = 2199;

fn in_years(at: Timestamp) -> bool {
    let year = at.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

/// Runs `okno calendar due --calendar CODE --from RFC3339 --minutes N`: the instant
/// when N working minutes after FROM elapse, as UTC RFC 3339 with a `Z` suffix
/// (e.g. `2025-05-05T07:30:00Z`), ready to print.
pub fn due_command(
    catalog: &CalendarCatalog,
    calendar: &str,
    from: &str,
    minutes: &str,
) -> Result<String, DueCommandError> {
    let calendar = catalog.get(calendar)?;
    let from: Timestamp = from
        .trim()
        .parse()
        .map_err(|_| DueCommandError::BadFrom(from.to_string()))?;
    let minutes: i64 = minutes
        .trim()
        .parse()
        .ok()
        .filter(|&n| n >= 0)
        .ok_or_else(|| DueCommandError::BadMinutes(minutes.to_string()))?;
    if minutes > MAX_DUE_MINUTES || !in_years(from) {
        return Err(DueCommandError::TooFar(minutes, from.to_string()));
    }
    let due = calendar.due(from, minutes);
    if !in_years(due) {
        return Err(DueCommandError::TooFar(minutes, from.to_string()));
    }
    Ok(due.to_string())
}
