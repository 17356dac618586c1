//! Reading calendars, holiday lists and support levels from TOML text.
//!
//! Parsers take `(file_name, text)` pairs and never touch the file system. Every
//! problem found is reported, each as a [`ConfigError`] printed `file:line: message`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;

use crate::calendar::{Calendar, Schedule, SpecialDays};
use crate::interval::{DailyInterval, first_overlap};
use crate::level::{
    Classification, ClassificationNorms, Deadline, Fraction, NormKind, SupportLevel,
};
use crate::norm::parse_norm_minutes;

/// One configuration problem, displayed as `file:line: message` (lines are 1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    /// The file name as given to the parser.
    pub file: String,
    /// 1-based line of the offending text.
    pub line: usize,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

/// All problems found in a set of files, one per line when displayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A calendar code that the catalog does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown calendar `{code}` (known: {known})")]
pub struct UnknownCalendar {
    /// The code asked for.
    pub code: String,
    /// The known codes, comma-separated.
    pub known: String,
}

/// Collects errors of one file, turning byte spans into line numbers.
struct FileErrors<'a> {
    file: &'a str,
    text: &'a str,
    errors: &'a mut Vec<ConfigError>,
}

impl FileErrors<'_> {
    fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = line_of(self.text, span.start);
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            message: message.into(),
        });
    }

    fn parse<T: DeserializeOwned>(&mut self) -> Option<T> {
        toml::from_str(self.text)
            .map_err(|error| self.at(error.span().unwrap_or(0..0), error.message().trim_end()))
            .ok()
    }
}

/// The 1-based line holding byte `offset`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The last path component: holiday lists are referred to by it.
fn base_name(file: &str) -> &str {
    file.rsplit(['/', '\\']).next().unwrap_or(file)
}

/// Whether a calendar-directory file is a holiday list (`holidays-*.toml`) rather
/// than a calendar.
pub fn is_holiday_list(file: &str) -> bool {
    base_name(file).starts_with("holidays")
}

// ---------------------------------------------------------------- holiday lists

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    #[serde(default)]
    working_days: Vec<Spanned<String>>,
    #[serde(default)]
    short_days: Vec<Spanned<String>>,
}

impl SpecialDays {
    /// Reads a holiday list: one table per year, each with `holidays`,
    /// `working_days` and `short_days` arrays of `"YYYY-MM-DD"` dates:
    ///
    /// ```toml
    /// [2025]
    /// holidays = ["2025-01-01", "2025-05-01"]
    /// working_days = ["2025-11-01"]
    /// short_days = ["2025-04-30"]
    /// ```
    pub fn parse(file: &str, text: &str) -> Result<SpecialDays, ConfigErrors> {
        let mut errors = Vec::new();
        let days = parse_special_days(&mut FileErrors {
            file,
            text,
            errors: &mut errors,
        });
        match days {
            Some(days) if errors.is_empty() => Ok(days),
            _ => Err(ConfigErrors(errors)),
        }
    }
}

fn parse_special_days(errors: &mut FileErrors<'_>) -> Option<SpecialDays> {
    let years: BTreeMap<Spanned<String>, YearFile> = errors.parse()?;
    let mut days = SpecialDays::default();
    for (year, lists) in years {
        let Ok(year_number) = year.get_ref().parse::<i16>() else {
            errors.at(
                year.span(),
                format!(
                    "`[{}]` is not a year: tables are years, e.g. [2025]",
                    year.get_ref()
                ),
            );
            continue;
        };
        let mut read = |dates: &[Spanned<String>], into: &mut BTreeSet<Date>| {
            for date in dates {
                match parse_date(date.get_ref()) {
                    Some(d) if d.year() == year_number => _ = into.insert(d),
                    Some(_) => errors.at(
                        date.span(),
                        format!("{} is listed under [{year_number}]", date.get_ref()),
                    ),
                    None => errors.at(
                        date.span(),
                        format!("bad date `{}`: write YYYY-MM-DD", date.get_ref()),
                    ),
                }
            }
        };
        read(&lists.holidays, &mut days.holidays);
        read(&lists.working_days, &mut days.working_days);
        read(&lists.short_days, &mut days.short_days);
        for date in &lists.working_days {
            if parse_date(date.get_ref()).is_some_and(|d| days.holidays.contains(&d)) {
                errors.at(
                    date.span(),
                    format!("{} is both a holiday and a working day", date.get_ref()),
                );
            }
        }
    }
    Some(days)
}

/// A strict `YYYY-MM-DD` date.
fn parse_date(text: &str) -> Option<Date> {
    let shape_ok = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    shape_ok.then(|| text.parse().ok()).flatten()
}

// ---------------------------------------------------------------- calendars

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    code: Spanned<String>,
    name_ru: String,
    name_en: String,
    time_zone: Spanned<String>,
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    #[serde(default)]
    pre_holiday_shortening: Option<Spanned<String>>,
    #[serde(default)]
    teams: Vec<Spanned<String>>,
    week: Spanned<WeekFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeekFile {
    #[serde(default)]
    monday: Vec<Spanned<String>>,
    #[serde(default)]
    tuesday: Vec<Spanned<String>>,
    #[serde(default)]
    wednesday: Vec<Spanned<String>>,
    #[serde(default)]
    thursday: Vec<Spanned<String>>,
    #[serde(default)]
    friday: Vec<Spanned<String>>,
    #[serde(default)]
    saturday: Vec<Spanned<String>>,
    #[serde(default)]
    sunday: Vec<Spanned<String>>,
}

impl WeekFile {
    fn days(&self) -> [&[Spanned<String>]; 7] {
        [
            &self.monday,
            &self.tuesday,
            &self.wednesday,
            &self.thursday,
            &self.friday,
            &self.saturday,
            &self.sunday,
        ]
    }
}

/// A calendar with the names shown to people.
#[derive(Clone, Debug)]
pub struct CalendarEntry {
    /// The calendar itself.
    pub calendar: Calendar,
    /// Name in Russian.
    pub name_ru: String,
    /// Name in English.
    pub name_en: String,
    /// The teams — support lines (`line-3`) and role pools (`engineer`) — whose tasks count
    /// their internal deadlines in this calendar rather than the client's.
    pub teams: Vec<String>,
}

/// The calendars of a configuration, by code.
#[derive(Clone, Debug, Default)]
pub struct CalendarCatalog {
    entries: BTreeMap<String, CalendarEntry>,
    /// Team → the code of the calendar its work counts in.
    teams: BTreeMap<String, String>,
}

impl CalendarCatalog {
    /// Reads the files of a calendar directory. Files named `holidays-*.toml` are
    /// holiday lists (see [`SpecialDays::parse`]) that calendars name in their
    /// `holidays` field; all others are calendars. Every error of every file is
    /// returned.
    pub fn load<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<CalendarCatalog, ConfigErrors> {
        let mut errors = Vec::new();
        let catalog = load_calendars(files, &mut errors);
        if errors.is_empty() {
            Ok(catalog)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Adds (or replaces) a calendar built in code.
    pub fn insert(&mut self, entry: CalendarEntry) {
        for team in &entry.teams {
            self.teams
                .insert(team.clone(), entry.calendar.code().to_string());
        }
        self.entries
            .insert(entry.calendar.code().to_string(), entry);
    }

    /// The calendar a team (`line-N` or a role pool's code) works by, if it has its own.
    pub fn team_calendar(&self, team: &str) -> Option<&Calendar> {
        self.teams.get(team).and_then(|code| self.get(code).ok())
    }

    /// The calendar with this code.
    pub fn get(&self, code: &str) -> Result<&Calendar, UnknownCalendar> {
        self.entry(code).map(|entry| &entry.calendar)
    }

    /// The calendar with this code, with its names.
    pub fn entry(&self, code: &str) -> Result<&CalendarEntry, UnknownCalendar> {
        self.entries.get(code).ok_or_else(|| UnknownCalendar {
            code: code.to_string(),
            known: self.entries.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// All calendars, by code.
    pub fn iter(&self) -> impl Iterator<Item = &CalendarEntry> {
        self.entries.values()
    }
}

fn load_calendars<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
    errors: &mut Vec<ConfigError>,
) -> CalendarCatalog {
    let (holiday_files, calendar_files): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|(file, _)| is_holiday_list(file));
    let mut holiday_lists = BTreeMap::new();
    for (file, text) in holiday_files {
        if let Some(days) = parse_special_days(&mut FileErrors { file, text, errors }) {
            holiday_lists.insert(base_name(file), days);
        }
    }
    let mut catalog = CalendarCatalog::default();
    let mut defined_at: BTreeMap<String, String> = BTreeMap::new();
    for (file, text) in calendar_files {
        let mut file_errors = FileErrors { file, text, errors };
        let Some(entry) = parse_calendar(&mut file_errors, &holiday_lists) else {
            continue;
        };
        let code = entry.calendar.code().to_string();
        let span = code_span(text);
        let here = format!("{file}:{}", line_of(text, span.start));
        if let Some(first) = defined_at.get(&code) {
            file_errors.at(
                span,
                format!("calendar code `{code}` is already defined at {first}"),
            );
            continue;
        }
        defined_at.insert(code.clone(), here);
        for team in team_spans(text) {
            if let Some(other) = catalog.teams.get(team.get_ref()) {
                file_errors.at(
                    team.span(),
                    format!(
                        "team `{}` already works by calendar `{other}`",
                        team.get_ref()
                    ),
                );
            }
        }
        catalog.insert(entry);
    }
    catalog
}

/// The `teams = [...]` entries of a calendar file, with where each stands.
fn team_spans(text: &str) -> Vec<Spanned<String>> {
    #[derive(Deserialize)]
    struct TeamsOnly {
        #[serde(default)]
        teams: Vec<Spanned<String>>,
    }
    toml::from_str::<TeamsOnly>(text)
        .map(|t| t.teams)
        .unwrap_or_default()
}

/// Where the `code = ...` line of a file is (for errors about the code as a whole).
fn code_span(text: &str) -> Range<usize> {
    #[derive(Deserialize)]
    struct CodeOnly {
        code: Spanned<String>,
    }
    toml::from_str::<CodeOnly>(text)
        .map(|c| c.code.span())
        .unwrap_or(0..0)
}

fn parse_calendar(
    errors: &mut FileErrors<'_>,
    holiday_lists: &BTreeMap<&str, SpecialDays>,
) -> Option<CalendarEntry> {
    let error_count = errors.errors.len();
    let file: CalendarFile = errors.parse()?;
    let time_zone = TimeZone::get(file.time_zone.get_ref())
        .map_err(|_| {
            let message = format!(
                "unknown time zone `{}`: use an IANA name such as Europe/Moscow",
                file.time_zone.get_ref()
            );
            errors.at(file.time_zone.span(), message)
        })
        .ok();
    let mut week: [Vec<DailyInterval>; 7] = Default::default();
    for (intervals, texts) in week.iter_mut().zip(file.week.get_ref().days()) {
        let mut spans = Vec::new();
        for text in texts {
            match text.get_ref().parse::<DailyInterval>() {
                Ok(interval) => {
                    intervals.push(interval);
                    spans.push(text.span());
                }
                Err(error) => errors.at(text.span(), error.to_string()),
            }
        }
        if let Some((a, b)) = first_overlap(intervals) {
            errors.at(
                spans[b].clone(),
                format!("intervals {} and {} overlap", intervals[a], intervals[b]),
            );
        }
    }
    if week.iter().all(Vec::is_empty) && errors.errors.len() == error_count {
        errors.at(file.week.span(), "the week has no working intervals");
    }
    let mut special_days = SpecialDays::default();
    for name in &file.holidays {
        match holiday_lists.get(name.get_ref().as_str()) {
            Some(days) => special_days.extend(days),
            None => errors.at(
                name.span(),
                format!("no holiday list `{}` among the files (holiday lists are named holidays-*.toml)", name.get_ref()),
            ),
        }
    }
    let shortening_minutes = match &file.pre_holiday_shortening {
        None => 0,
        Some(text) => match parse_norm_minutes(text.get_ref()) {
            Ok(minutes) if minutes < 24 * 60 => minutes as u16,
            Ok(_) => {
                errors.at(
                    text.span(),
                    "pre_holiday_shortening must be shorter than a day",
                );
                0
            }
            Err(error) => {
                errors.at(text.span(), error.to_string());
                0
            }
        },
    };
    for team in &file.teams {
        let code = team.get_ref();
        let valid = !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && (!code.starts_with("line-")
                || matches!(code.as_str(), "line-1" | "line-2" | "line-3" | "line-4"));
        if !valid {
            errors.at(
                team.span(),
                format!("team `{code}` is neither `line-1`…`line-4` nor a role pool code"),
            );
        }
    }
    if errors.errors.len() > error_count {
        return None;
    }
    let schedule = Schedule {
        time_zone: time_zone?,
        week,
        special_days,
        shortening_minutes,
    };
    let calendar = Calendar::new(file.code.get_ref().as_str(), schedule)
        .map_err(|error| errors.at(file.week.span(), error.to_string()))
        .ok()?;
    Some(CalendarEntry {
        calendar,
        name_ru: file.name_ru,
        name_en: file.name_en,
        teams: file.teams.into_iter().map(|t| t.into_inner()).collect(),
    })
}

// ---------------------------------------------------------------- support levels

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelFile {
    code: Spanned<String>,
    name_ru: String,
    name_en: String,
    calendar: Spanned<String>,
    #[serde(default)]
    default: Option<Spanned<bool>>,
    #[serde(default)]
    internal_target: Option<Spanned<String>>,
    #[serde(default)]
    classifications: ClassificationsFile,
    #[serde(default)]
    stages: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClassificationsFile {
    question: Option<NormsFile>,
    bug: Option<NormsFile>,
    critical: Option<NormsFile>,
    improvement: Option<NormsFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormsFile {
    reaction: Option<Spanned<String>>,
    solution: Option<Spanned<String>>,
}

/// Calendars and support levels: everything needed to set deadlines.
#[derive(Clone, Debug, Default)]
pub struct SlaConfig {
    /// The calendars.
    pub calendars: CalendarCatalog,
    levels: BTreeMap<String, SupportLevel>,
    default_level: Option<String>,
}

impl SlaConfig {
    /// Reads a calendar directory's files (see [`CalendarCatalog::load`]) and a
    /// support-level directory's files, checking that levels name known calendars,
    /// codes are unique and at most one level is the default.
    pub fn load<'a>(
        calendar_files: impl IntoIterator<Item = (&'a str, &'a str)>,
        level_files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<SlaConfig, ConfigErrors> {
        let mut errors = Vec::new();
        let calendars = load_calendars(calendar_files, &mut errors);
        let mut config = SlaConfig {
            calendars,
            ..SlaConfig::default()
        };
        let mut default_at: Option<String> = None;
        let mut defined_at: BTreeMap<String, String> = BTreeMap::new();
        for (file, text) in level_files {
            let mut file_errors = FileErrors {
                file,
                text,
                errors: &mut errors,
            };
            let Some((level, raw)) = parse_level(&mut file_errors, &config.calendars) else {
                continue;
            };
            let here = format!("{file}:{}", line_of(text, raw.code.span().start));
            if let Some(first) = defined_at.get(&level.code) {
                file_errors.at(
                    raw.code.span(),
                    format!(
                        "support level code `{}` is already defined at {first}",
                        level.code
                    ),
                );
                continue;
            }
            if let Some(default) = raw.default.filter(|default| *default.get_ref()) {
                match &default_at {
                    Some(first) => file_errors.at(
                        default.span(),
                        format!("only one support level may be the default; {first} already is"),
                    ),
                    None => {
                        default_at =
                            Some(format!("{file}:{}", line_of(text, default.span().start)));
                        config.default_level = Some(level.code.clone());
                    }
                }
            }
            defined_at.insert(level.code.clone(), here);
            config.levels.insert(level.code.clone(), level);
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// The support level with this code.
    pub fn level(&self, code: &str) -> Option<&SupportLevel> {
        self.levels.get(code)
    }

    /// All support levels, by code.
    pub fn levels(&self) -> impl Iterator<Item = &SupportLevel> {
        self.levels.values()
    }

    /// The level marked `default = true`, used when a contract names none.
    pub fn default_level(&self) -> Option<&SupportLevel> {
        self.levels.get(self.default_level.as_deref()?)
    }

    /// The calendar a level counts its norms in.
    pub fn calendar_of(&self, level: &SupportLevel) -> Result<&Calendar, UnknownCalendar> {
        self.calendars.get(&level.calendar)
    }

    /// The deadlines of a norm of a level, counted from `start` in the level's
    /// calendar; `None` when the norm has no deadline or the level's calendar is not
    /// in this configuration.
    pub fn deadline(
        &self,
        level: &SupportLevel,
        start: Timestamp,
        kind: NormKind<'_>,
    ) -> Option<Deadline> {
        level.deadline(self.calendar_of(level).ok()?, start, kind)
    }
}

/// The fields of a level file whose positions later checks need.
struct LevelSpans {
    code: Spanned<String>,
    default: Option<Spanned<bool>>,
}

fn parse_level(
    errors: &mut FileErrors<'_>,
    calendars: &CalendarCatalog,
) -> Option<(SupportLevel, LevelSpans)> {
    let error_count = errors.errors.len();
    let file: LevelFile = errors.parse()?;
    if let Err(unknown) = calendars.get(file.calendar.get_ref()) {
        errors.at(file.calendar.span(), unknown.to_string());
    }
    let mut norm = |text: Option<&Spanned<String>>| -> Option<i64> {
        let text = text?;
        parse_norm_minutes(text.get_ref())
            .map_err(|error| errors.at(text.span(), error.to_string()))
            .ok()
    };
    let mut classifications = BTreeMap::new();
    let tables = &file.classifications;
    for (classification, norms) in Classification::ALL.into_iter().zip([
        &tables.question,
        &tables.bug,
        &tables.critical,
        &tables.improvement,
    ]) {
        if let Some(norms) = norms {
            let norms = ClassificationNorms {
                reaction: norm(norms.reaction.as_ref()),
                solution: norm(norms.solution.as_ref()),
            };
            classifications.insert(classification, norms);
        }
    }
    let stages = file
        .stages
        .iter()
        .filter_map(|(stage, text)| Some((stage.clone(), norm(Some(text))?)))
        .collect();
    let internal_target = match &file.internal_target {
        None => Fraction::default(),
        Some(text) => text.get_ref().parse().unwrap_or_else(|message: String| {
            errors.at(text.span(), message);
            Fraction::default()
        }),
    };
    if errors.errors.len() > error_count {
        return None;
    }
    let level = SupportLevel {
        code: file.code.get_ref().clone(),
        name_ru: file.name_ru,
        name_en: file.name_en,
        calendar: file.calendar.get_ref().clone(),
        internal_target,
        classifications,
        stages,
    };
    Some((
        level,
        LevelSpans {
            code: file.code,
            default: file.default,
        },
    ))
}
