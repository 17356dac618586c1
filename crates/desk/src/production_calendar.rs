//! Loading a newer production calendar without a release: an admin hands the desk a file in
//! a public source's format (xmlcalendar.ru XML, the data.gov.ru CSV; see
//! `okno_sla::ProductionCalendar`), and its years replace those of the holiday list
//! (`calendars/holidays-ru`), published as a new version of that list like any admin edit
//! (calendars.rs). Every calendar naming the list — ru-standard, nsk-standard — counts new
//! deadlines by it at once, in this process and, through the jobs' loop, in every other one;
//! deadlines already set stay as they were and tickets under way carry on.

use crate::calendars::Section;
use crate::{Desk, Result};
use okno_domain::*;
use okno_sla::ProductionCalendar;
pub use okno_sla::{SourceFormat, YearSummary};

/// The holiday list a production calendar without a country loads into.
pub const DEFAULT_LIST: &str = "holidays-ru";

/// What a loaded production calendar changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarImport {
    /// The holiday list it was loaded into (`holidays-ru`).
    pub list: String,
    /// The list's new version.
    pub version: u32,
    /// The format the file was in.
    pub format: SourceFormat,
    /// The years loaded, with their working days and hours to check against the official ones.
    pub years: Vec<YearSummary>,
    /// The codes of the calendars that count by the list.
    pub calendars: Vec<String>,
}

impl Desk {
    /// Loads a production calendar file (admins only). Errors name the field `file`, with
    /// `file:line: message` lines; nothing changes then.
    pub async fn import_production_calendar(
        &self,
        user: &User,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<CalendarImport> {
        crate::authorize(user, okno_domain::policy::Action::Configure)?;
        self.load_production_calendar(Some(user.id), file_name, bytes)
            .await
    }

    /// Loads a production calendar file from the command line (`okno calendar import`):
    /// whoever runs `okno` on the data directory administers it.
    pub async fn import_production_calendar_from_console(
        &self,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<CalendarImport> {
        self.load_production_calendar(None, file_name, bytes).await
    }

    async fn load_production_calendar(
        &self,
        author: Option<UserId>,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<CalendarImport> {
        let calendar = ProductionCalendar::parse(file_name, bytes)
            .map_err(|errors| FieldError::new("file", errors.to_string()))?;
        let list = match calendar.country.as_deref() {
            None => DEFAULT_LIST.to_owned(),
            Some(country) => format!("holidays-{}", country.to_lowercase()),
        };
        let lists: Vec<String> = self
            .current_sla_files()
            .into_iter()
            .filter(|f| f.is_holiday_list())
            .map(|f| f.name)
            .collect();
        if !lists.contains(&list) {
            return Err(FieldError::new(
                "file",
                format!(
                    "{file_name}: the file is the production calendar of `{}`, and the desk has no holiday list {list} (it has {})",
                    calendar.country.as_deref().unwrap_or(""),
                    lists.join(", ")
                ),
            )
            .into());
        }
        let dated = calendar
            .dated
            .as_deref()
            .map(|date| format!(", dated {date}"))
            .unwrap_or_default();
        let base_name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        let note = format!(
            "Imported from {base_name} ({}{dated}) on {}.",
            calendar.format.label(),
            jiff::tz::TimeZone::UTC.to_datetime(self.now()).date()
        );
        let version = self
            .publish_sla_edit(author, Section::Calendars, &list, |current| {
                calendar
                    .merge_into(&current.path(), &current.text, &note)
                    .map_err(|errors| FieldError::new("file", errors.to_string()).into())
            })
            .await?;
        let list_file = format!("{list}.toml");
        let calendars = self
            .current_sla_files()
            .into_iter()
            .filter(|f| f.section == Section::Calendars && !f.is_holiday_list())
            .filter(|f| names_list(&f.text, &list_file))
            .filter_map(|f| f.code())
            .collect();
        Ok(CalendarImport {
            list,
            version,
            format: calendar.format,
            years: calendar.summaries(),
            calendars,
        })
    }
}

/// Whether a calendar file's `holidays = [...]` names the list.
fn names_list(calendar_text: &str, list_file: &str) -> bool {
    let Ok(table) = toml::from_str::<toml::Table>(calendar_text) else {
        return false;
    };
    table
        .get("holidays")
        .and_then(|h| h.as_array())
        .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(list_file)))
}
