//! Working-time deadlines for Okno: calendars (weekly schedules with lunch breaks,
//! time zones, holidays, transferred working days, night shifts, 24/7), support
//! levels (reaction/solution norms per classification and per stage) and their TOML
//! configuration.
//!
//! Pure: no I/O, no async. Parsers take `(file_name, text)` pairs; every instant is a
//! UTC [`jiff::Timestamp`]. Deadline queries are answered from working time laid out
//! in advance as sorted intervals with running totals (two binary searches per
//! query); instants outside the precomputed years are laid out on the fly, with the
//! same answers.
//!
//! ```
//! let config = okno_sla::shipped::config().unwrap();
//! let calendar = config.calendars.get("ru-standard").unwrap();
//! let friday_evening: jiff::Timestamp = "2025-04-25T17:30:00+03:00".parse().unwrap();
//! // 30 minutes on Friday, 90 on Monday morning.
//! assert_eq!(calendar.due(friday_evening, 120).to_string(), "2025-04-28T07:30:00Z");
//! ```

mod calendar;
mod cli;
mod config;
mod interval;
mod level;
mod norm;
mod production;
mod report;
mod timeline;
mod watch;

pub mod bench;
pub mod shipped;

pub use calendar::{Calendar, DEFAULT_PRECOMPUTED_YEARS, Schedule, ScheduleError, SpecialDays};
pub use cli::{DueCommandError, due_command};
pub use config::{
    CalendarCatalog, CalendarEntry, ConfigError, ConfigErrors, SlaConfig, UnknownCalendar,
    is_holiday_list,
};
pub use interval::{DailyInterval, IntervalError};
pub use level::{
    Classification, ClassificationNorms, Deadline, Fraction, NormKind, SupportLevel,
    UnknownClassification,
};
pub use norm::{NormError, WORKING_DAY_MINUTES, parse_norm_minutes};
pub use production::{
    MAX_FILE_BYTES, MAX_WORKING_WEEKEND_DAYS, MAX_YEARS, ProductionCalendar, SourceFormat, YEARS,
    YearSummary, summarize,
};
pub use report::{Pause, StageTime, StageVisit, stage_times};
pub use watch::{
    AlertDecision, AlertKind, DeadlineSnapshot, WatchRules, Watched, deadline_alert, hours_alert,
    hours_limit_alert, limit_alert, quota_alert, share_instant,
};
