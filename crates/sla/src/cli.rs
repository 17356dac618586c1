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
    Ok(calendar.due(from, minutes).to_string())
}
