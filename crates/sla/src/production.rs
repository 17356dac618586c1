//! Production calendars from public sources, loaded into a holiday list without a release.
//!
//! Two published formats are read:
//!
//! - **xmlcalendar.ru XML** (one year per file):
//!   `<calendar year="2027" lang="ru" date="2026.09.02" country="ru">` with
//!   `<days><day d="02.20" t="2"/>…</days>`: `d` is `MM.DD`; `t="1"` a day off, `t="2"` a
//!   shortened working day (on a Saturday or Sunday also a working day), `t="3"` a Saturday or
//!   Sunday made a working day. Saturdays and Sundays not listed rest.
//! - **data.gov.ru CSV** (the Government's open-data production calendar, several years per
//!   file): a header `Год/Месяц,Январь,…,Декабрь,Всего рабочих дней,…` and one row per year
//!   whose month cells list the days that do not work (`"1,2,3,4,5,6,7,8,9+,10,11,17,18,24,25,31"`):
//!   `*` marks a shortened working day (listed, yet it works), `+` a day off moved there.
//!   Saturdays and Sundays not listed work. The CSV does not say which listed weekend days are
//!   public holidays, so the fixed holidays of ТК РФ ст. 112 falling on a weekend are taken as
//!   holidays, as the XML lists them.
//!
//! Parsing is bounded ([`MAX_FILE_BYTES`], [`MAX_YEARS`], [`YEARS`], at most one entry per
//! date) and answers any input with either the days or errors naming the file and line; it
//! never panics. [`ProductionCalendar::merge_into`] lays the years read over a holiday list's
//! TOML text (see [`SpecialDays::parse`]), replacing those years whole and keeping the others.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use jiff::civil::{Date, Weekday};
use quick_xml::events::{BytesStart, Event};

use crate::calendar::SpecialDays;
use crate::config::{ConfigError, ConfigErrors, line_of};

/// The largest file read (the data.gov.ru file with every year since 1999 is about 10 KB).
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// The most years one file may carry.
pub const MAX_YEARS: usize = 100;
/// The years a production calendar may describe.
pub const YEARS: RangeInclusive<i16> = 1990..=2100;
/// The most Saturdays and Sundays of one year a CSV row may leave out (each one a working
/// day by transfer; no decree has made more than three). More means a damaged row.
pub const MAX_WORKING_WEEKEND_DAYS: usize = 8;

/// Which public format a file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    /// xmlcalendar.ru's XML.
    XmlCalendar,
    /// The data.gov.ru CSV.
    DataGovCsv,
}

impl SourceFormat {
    /// How the format is named to people.
    pub fn label(self) -> &'static str {
        match self {
            SourceFormat::XmlCalendar => "xmlcalendar.ru XML",
            SourceFormat::DataGovCsv => "data.gov.ru CSV",
        }
    }
}

/// The special days of one or more years, read from a published production calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductionCalendar {
    /// The format the file was in.
    pub format: SourceFormat,
    /// The country the file says it is for (`ru`), when it says.
    pub country: Option<String>,
    /// The date the file says it was made (`2026.09.02`), when it says.
    pub dated: Option<String>,
    /// The days of each year the file describes.
    pub years: BTreeMap<i16, SpecialDays>,
}

/// One year of a production calendar in figures an admin can check against the official
/// ones (for a five-day, 40-hour week).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YearSummary {
    /// The year.
    pub year: i16,
    /// Working days Monday to Friday less days off, plus weekend days made working.
    pub working_days: u16,
    /// Days off other than Saturdays and Sundays.
    pub weekday_days_off: u16,
    /// Saturdays and Sundays made working days.
    pub working_weekend_days: u16,
    /// Shortened pre-holiday days.
    pub short_days: u16,
    /// Working hours of a 40-hour week: 8 a working day, 7 on a short one.
    pub hours_40: u32,
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The fixed public holidays of ТК РФ ст. 112 (month, day).
fn is_public_holiday(date: Date) -> bool {
    matches!(
        (date.month(), date.day()),
        (1, 1..=8) | (2, 23) | (3, 8) | (5, 1) | (5, 9) | (6, 12) | (11, 4)
    )
}

/// Sums up one year's days.
pub fn summarize(year: i16, days: &SpecialDays) -> YearSummary {
    let in_year = |set: &BTreeSet<Date>| -> Vec<Date> {
        set.iter().copied().filter(|d| d.year() == year).collect()
    };
    let holidays = in_year(&days.holidays);
    let working = in_year(&days.working_days);
    let weekday_days_off = holidays.iter().filter(|d| !is_weekend(**d)).count() as u16;
    let working_weekend_days = working.iter().filter(|d| is_weekend(**d)).count() as u16;
    let mut weekdays = 0u16;
    let mut date = Date::new(year, 1, 1).unwrap_or(Date::MIN);
    while date.year() == year {
        weekdays += u16::from(!is_weekend(date));
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    let working_days = weekdays - weekday_days_off.min(weekdays) + working_weekend_days;
    let short_days = in_year(&days.short_days).len() as u16;
    YearSummary {
        year,
        working_days,
        weekday_days_off,
        working_weekend_days,
        short_days,
        hours_40: u32::from(working_days) * 8 - u32::from(short_days.min(working_days)),
    }
}

/// Collects the errors of one file.
struct Errors<'a> {
    file: &'a str,
    text: &'a str,
    list: Vec<ConfigError>,
}

impl Errors<'_> {
    fn at_line(&mut self, line: usize, message: impl Into<String>) {
        self.list.push(ConfigError {
            file: self.file.to_string(),
            line,
            message: message.into(),
        });
    }

    fn at(&mut self, offset: usize, message: impl Into<String>) {
        let line = line_of(self.text, offset);
        self.at_line(line, message);
    }

    /// Parsing stops at this many: the rest would repeat the same damage.
    fn too_many(&self) -> bool {
        self.list.len() >= 50
    }
}

impl ProductionCalendar {
    /// Reads a published production calendar: XML when the text starts with `<`, else the
    /// data.gov.ru CSV. UTF-8 (with or without a byte-order mark) or Windows-1251 text.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<ProductionCalendar, ConfigErrors> {
        let refuse = |line: usize, message: String| {
            Err(ConfigErrors(vec![ConfigError {
                file: file.to_string(),
                line,
                message,
            }]))
        };
        if bytes.len() > MAX_FILE_BYTES {
            return refuse(
                1,
                format!(
                    "the file has {} bytes; a production calendar is at most {MAX_FILE_BYTES}",
                    bytes.len()
                ),
            );
        }
        let text = decode(bytes);
        let text = text.trim_start_matches('\u{feff}');
        if text.trim().is_empty() {
            return refuse(
                1,
                "the file is empty: expected xmlcalendar.ru XML or the data.gov.ru CSV".into(),
            );
        }
        let mut errors = Errors {
            file,
            text,
            list: Vec::new(),
        };
        let parsed = if text.trim_start().starts_with('<') {
            parse_xml(&mut errors)
        } else {
            parse_csv(&mut errors)
        };
        match parsed {
            Some(calendar) if errors.list.is_empty() => Ok(calendar),
            _ => Err(ConfigErrors(errors.list)),
        }
    }

    /// Each year's figures, in order.
    pub fn summaries(&self) -> Vec<YearSummary> {
        self.years
            .iter()
            .map(|(year, days)| summarize(*year, days))
            .collect()
    }

    /// The holiday list `list_text` (a `holidays-*.toml` file named `list_file`) with this
    /// calendar's years in place of its own, each marked with `note` (say where the days came
    /// from); other years are kept as written. Errors are the list's own.
    pub fn merge_into(
        &self,
        list_file: &str,
        list_text: &str,
        note: &str,
    ) -> Result<String, ConfigErrors> {
        let current = SpecialDays::parse(list_file, list_text)?;
        let mut expected = SpecialDays::default();
        let kept = |date: &&Date| !self.years.contains_key(&date.year());
        expected
            .holidays
            .extend(current.holidays.iter().filter(kept));
        expected
            .working_days
            .extend(current.working_days.iter().filter(kept));
        expected
            .short_days
            .extend(current.short_days.iter().filter(kept));
        for days in self.years.values() {
            expected.extend(days);
        }
        let note = one_line(note);
        let spliced = splice(list_text, &self.years, &note);
        if SpecialDays::parse(list_file, &spliced).is_ok_and(|days| days == expected) {
            return Ok(spliced);
        }
        // A list written in another layout: write it out anew.
        Ok(render_list(&expected, &self.years, &note))
    }
}

/// UTF-8 if it is, else Windows-1251 (the other encoding Russian open data comes in).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1251.decode(bytes).0.into_owned(),
    }
}

/// A note fit for one TOML comment line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

// ---------------------------------------------------------------- XML

fn parse_xml(errors: &mut Errors<'_>) -> Option<ProductionCalendar> {
    let mut reader = quick_xml::Reader::from_str(errors.text);
    reader.config_mut().trim_text(true);
    let mut calendar: Option<(i16, ProductionCalendar)> = None;
    let mut seen: BTreeSet<Date> = BTreeSet::new();
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                errors.at(at, format!("not well-formed XML: {error}"));
                return None;
            }
        };
        // The element's last byte: its line is the line errors name.
        let start = usize::try_from(reader.buffer_position())
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        let element = match &event {
            Event::Eof => break,
            Event::Start(element) | Event::Empty(element) => element,
            _ => continue,
        };
        match element.name().as_ref() {
            b"calendar" => {
                if calendar.is_some() {
                    errors.at(start, "a second <calendar>: one year per file");
                    return None;
                }
                calendar = Some(read_calendar_element(errors, &reader, element, start)?);
            }
            b"day" => {
                let Some((year, into)) = calendar.as_mut() else {
                    errors.at(start, "<day> outside <calendar year=\"…\">");
                    return None;
                };
                read_day(errors, &reader, element, start, *year, &mut seen, into);
                if errors.too_many() {
                    return None;
                }
            }
            _ => {}
        }
    }
    match calendar {
        Some((_, calendar)) => Some(calendar),
        None => {
            errors.at_line(
                1,
                "no <calendar year=\"…\"> element: not an xmlcalendar.ru production calendar",
            );
            None
        }
    }
}

/// The attributes of an element as (name, value) pairs; errors name the element's line.
fn attributes(
    errors: &mut Errors<'_>,
    reader: &quick_xml::Reader<&[u8]>,
    element: &BytesStart<'_>,
    at: usize,
) -> Option<Vec<(Vec<u8>, String)>> {
    let mut out = Vec::new();
    for attribute in element.attributes() {
        let value = attribute.map_err(|e| e.to_string()).and_then(|a| {
            let value = a
                .decode_and_unescape_value(reader.decoder())
                .map_err(|e| e.to_string())?;
            Ok((a.key.as_ref().to_vec(), value.into_owned()))
        });
        match value {
            Ok(pair) => out.push(pair),
            Err(message) => {
                errors.at(at, format!("bad attribute: {message}"));
                return None;
            }
        }
    }
    Some(out)
}

fn attribute<'v>(attributes: &'v [(Vec<u8>, String)], name: &str) -> Option<&'v str> {
    attributes
        .iter()
        .find(|(key, _)| key == name.as_bytes())
        .map(|(_, value)| value.as_str())
}

fn read_calendar_element(
    errors: &mut Errors<'_>,
    reader: &quick_xml::Reader<&[u8]>,
    element: &BytesStart<'_>,
    at: usize,
) -> Option<(i16, ProductionCalendar)> {
    let attributes = attributes(errors, reader, element, at)?;
    let Some(year) = attribute(&attributes, "year") else {
        errors.at(at, "<calendar> has no year=\"…\"");
        return None;
    };
    let Some(year) = year
        .trim()
        .parse::<i16>()
        .ok()
        .filter(|y| YEARS.contains(y))
    else {
        errors.at(
            at,
            format!(
                "year=\"{year}\" is not a year from {} to {}",
                YEARS.start(),
                YEARS.end()
            ),
        );
        return None;
    };
    let text = |name| attribute(&attributes, name).map(|value| one_line(value.trim()));
    let calendar = ProductionCalendar {
        format: SourceFormat::XmlCalendar,
        country: text("country").filter(|c| !c.is_empty()),
        dated: text("date").filter(|d| !d.is_empty()),
        years: BTreeMap::from([(year, SpecialDays::default())]),
    };
    Some((year, calendar))
}

fn read_day(
    errors: &mut Errors<'_>,
    reader: &quick_xml::Reader<&[u8]>,
    element: &BytesStart<'_>,
    at: usize,
    year: i16,
    seen: &mut BTreeSet<Date>,
    calendar: &mut ProductionCalendar,
) {
    let Some(attributes) = attributes(errors, reader, element, at) else {
        return;
    };
    let Some(d) = attribute(&attributes, "d") else {
        errors.at(at, "<day> has no d=\"MM.DD\"");
        return;
    };
    let date = d.split_once('.').and_then(|(month, day)| {
        let (month, day) = (month.parse::<i8>().ok()?, day.parse::<i8>().ok()?);
        Date::new(year, month, day).ok()
    });
    let Some(date) = date.filter(|_| d.len() == 5) else {
        errors.at(
            at,
            format!("d=\"{d}\" is not a date of {year}: write MM.DD, e.g. 02.23"),
        );
        return;
    };
    if !seen.insert(date) {
        errors.at(at, format!("{date} is listed twice"));
        return;
    }
    let days = calendar.years.entry(year).or_default();
    match attribute(&attributes, "t").map(str::trim) {
        Some("1") => _ = days.holidays.insert(date),
        Some("2") => {
            days.short_days.insert(date);
            if is_weekend(date) {
                days.working_days.insert(date);
            }
        }
        Some("3") => _ = days.working_days.insert(date),
        other => errors.at(
            at,
            format!(
                "t=\"{}\" on {date}: the type is 1 (a day off), 2 (a shortened working day) or 3 (a working day)",
                other.unwrap_or("")
            ),
        ),
    }
}

// ---------------------------------------------------------------- CSV

const MONTHS: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];

/// How a CSV month cell marks a day.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    DayOff,
    Short,
    Moved,
}

fn parse_csv(errors: &mut Errors<'_>) -> Option<ProductionCalendar> {
    let first_line = errors.text.lines().next().unwrap_or("");
    let delimiter = match (first_line.find(';'), first_line.find(',')) {
        (Some(semicolon), Some(comma)) if semicolon < comma => b';',
        (Some(_), None) => b';',
        _ => b',',
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(errors.text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(error)) => {
            errors.at_line(1, format!("not a CSV file: {error}"));
            return None;
        }
        None => {
            errors.at_line(1, "the file is empty");
            return None;
        }
    };
    let mut month_columns = [usize::MAX; 12];
    for (column, name) in header.iter().enumerate() {
        let name = name.trim().to_lowercase();
        if let Some(month) = MONTHS.iter().position(|m| *m == name) {
            month_columns[month] = column;
        }
    }
    let year_header = header.get(0).unwrap_or("").trim().to_lowercase();
    if !year_header.starts_with("год") || month_columns.contains(&usize::MAX) {
        errors.at_line(
            1,
            "the header must be `Год/Месяц,Январь,Февраль,…,Декабрь`, as in the data.gov.ru production calendar (or start with `<calendar` for xmlcalendar.ru XML)",
        );
        return None;
    }
    let mut calendar = ProductionCalendar {
        format: SourceFormat::DataGovCsv,
        country: None,
        dated: None,
        years: BTreeMap::new(),
    };
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(1, |p| p.line() as usize);
                errors.at_line(line, format!("not a CSV row: {error}"));
                return None;
            }
        };
        let line = record.position().map_or(1, |p| p.line() as usize);
        let year_cell = record.get(0).unwrap_or("").trim();
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let Some(year) = year_cell.parse::<i16>().ok().filter(|y| YEARS.contains(y)) else {
            errors.at_line(
                line,
                format!(
                    "`{year_cell}` is not a year from {} to {}",
                    YEARS.start(),
                    YEARS.end()
                ),
            );
            continue;
        };
        if calendar.years.contains_key(&year) {
            errors.at_line(line, format!("{year} is listed twice"));
            continue;
        }
        if calendar.years.len() >= MAX_YEARS {
            errors.at_line(line, format!("more than {MAX_YEARS} years in one file"));
            return None;
        }
        if let Some(days) = read_csv_year(errors, line, year, &record, &month_columns) {
            calendar.years.insert(year, days);
        }
        if errors.too_many() {
            return None;
        }
    }
    if calendar.years.is_empty() && errors.list.is_empty() {
        errors.at_line(1, "no year rows under the header");
        return None;
    }
    Some(calendar)
}

fn read_csv_year(
    errors: &mut Errors<'_>,
    line: usize,
    year: i16,
    record: &csv::StringRecord,
    month_columns: &[usize; 12],
) -> Option<SpecialDays> {
    let error_count = errors.list.len();
    let mut listed: BTreeMap<Date, Listed> = BTreeMap::new();
    for (month_index, column) in month_columns.iter().enumerate() {
        let month = month_index as i8 + 1;
        let cell = record.get(*column).unwrap_or("");
        for token in cell.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (number, kind) = match token.strip_suffix('*') {
                Some(number) => (number, Listed::Short),
                None => match token.strip_suffix('+') {
                    Some(number) => (number, Listed::Moved),
                    None => (token, Listed::DayOff),
                },
            };
            let date = number
                .parse::<i8>()
                .ok()
                .and_then(|day| Date::new(year, month, day).ok());
            let Some(date) = date else {
                errors.at_line(
                    line,
                    format!(
                        "{}: `{token}` is not a day of {month:02}.{year} (a day number, `*` after a shortened day, `+` after a moved day off)",
                        MONTHS[month_index]
                    ),
                );
                continue;
            };
            if listed.insert(date, kind).is_some() {
                errors.at_line(line, format!("{date} is listed twice"));
            }
        }
    }
    if errors.list.len() > error_count {
        return None;
    }
    let mut days = SpecialDays::default();
    let mut date = Date::new(year, 1, 1).ok()?;
    while date.year() == year {
        match (listed.get(&date), is_weekend(date)) {
            (Some(Listed::Short), weekend) => {
                days.short_days.insert(date);
                if weekend {
                    days.working_days.insert(date);
                }
            }
            (Some(Listed::Moved), _) => _ = days.holidays.insert(date),
            (Some(Listed::DayOff), false) => _ = days.holidays.insert(date),
            (Some(Listed::DayOff), true) if is_public_holiday(date) => {
                _ = days.holidays.insert(date)
            }
            (Some(Listed::DayOff), true) => {}
            (None, true) => _ = days.working_days.insert(date),
            (None, false) => {}
        }
        date = date.tomorrow().ok()?;
    }
    let working_weekend = days.working_days.iter().filter(|d| is_weekend(**d)).count();
    if working_weekend > MAX_WORKING_WEEKEND_DAYS {
        errors.at_line(
            line,
            format!(
                "{year}: {working_weekend} Saturdays and Sundays are not listed, so they would all work; list every day that does not work"
            ),
        );
        return None;
    }
    Some(days)
}

// ---------------------------------------------------------------- writing the list

/// A `[YYYY]` table header line's year.
fn header_year(line: &str) -> Option<i16> {
    let line = line.split('#').next().unwrap_or("").trim();
    let year = line.strip_prefix('[')?.strip_suffix(']')?.trim();
    year.parse().ok()
}

fn render_dates(out: &mut String, key: &str, dates: &BTreeSet<Date>) {
    if dates.len() <= 4 {
        let list: Vec<String> = dates.iter().map(|d| format!("\"{d}\"")).collect();
        out.push_str(&format!("{key} = [{}]\n", list.join(", ")));
        return;
    }
    out.push_str(&format!("{key} = [\n"));
    let all: Vec<&Date> = dates.iter().collect();
    for row in all.chunks(4) {
        let row: Vec<String> = row.iter().map(|d| format!("\"{d}\"")).collect();
        out.push_str(&format!("  {},\n", row.join(", ")));
    }
    out.push_str("]\n");
}

fn render_year(year: i16, days: &SpecialDays, note: &str) -> String {
    let mut out = format!("[{year}]\n");
    if !note.is_empty() {
        out.push_str(&format!("# {note}\n"));
    }
    let of_year = |set: &BTreeSet<Date>| -> BTreeSet<Date> {
        set.iter().copied().filter(|d| d.year() == year).collect()
    };
    render_dates(&mut out, "holidays", &of_year(&days.holidays));
    render_dates(&mut out, "working_days", &of_year(&days.working_days));
    render_dates(&mut out, "short_days", &of_year(&days.short_days));
    out
}

/// The list's text with each imported year's table replaced (or inserted in year order).
fn splice(text: &str, years: &BTreeMap<i16, SpecialDays>, note: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // (year, first line, end line exclusive) of every `[YYYY]` table.
    let headers: Vec<(i16, usize)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| Some((header_year(line)?, i)))
        .collect();
    let mut sections: Vec<(i16, usize, usize)> = Vec::new();
    for (n, (year, start)) in headers.iter().enumerate() {
        let end = headers.get(n + 1).map_or(lines.len(), |(_, next)| *next);
        sections.push((*year, *start, end));
    }
    let preamble_end = sections.first().map_or(lines.len(), |s| s.1);
    let mut out = String::new();
    for line in &lines[..preamble_end] {
        out.push_str(line);
        out.push('\n');
    }
    let mut pending = years.iter().peekable();
    let push_section = |out: &mut String, section: String| {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&section);
    };
    for (year, start, end) in &sections {
        while let Some((new_year, days)) = pending.next_if(|(y, _)| **y < *year) {
            push_section(&mut out, render_year(*new_year, days, note));
        }
        if let Some((_, days)) = pending.next_if(|(y, _)| **y == *year) {
            push_section(&mut out, render_year(*year, days, note));
            continue;
        }
        let mut kept = String::new();
        for line in &lines[*start..*end] {
            kept.push_str(line);
            kept.push('\n');
        }
        push_section(&mut out, kept.trim_end().to_owned() + "\n");
    }
    for (year, days) in pending {
        push_section(&mut out, render_year(*year, days, note));
    }
    out
}

/// A whole holiday list written anew.
fn render_list(days: &SpecialDays, imported: &BTreeMap<i16, SpecialDays>, note: &str) -> String {
    let years: BTreeSet<i16> = days
        .holidays
        .iter()
        .chain(&days.working_days)
        .chain(&days.short_days)
        .map(|d| d.year())
        .chain(imported.keys().copied())
        .collect();
    let mut out = String::from(
        "# Производственный календарь / production calendar: one table per year with\n\
         # `holidays`, `working_days` and `short_days` (\"YYYY-MM-DD\").\n",
    );
    for year in years {
        out.push('\n');
        let year_note = if imported.contains_key(&year) {
            note
        } else {
            ""
        };
        out.push_str(&render_year(year, days, year_note));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    const XML_2027: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<calendar year="2027" lang="ru" date="2026.09.02" country="ru">
    <holidays>
        <holiday id="3" title="День защитника Отечества"/>
    </holidays>
    <days>
        <day d="02.20" t="2"/>
        <day d="02.22" t="1" f="02.20"/>
        <day d="02.23" t="1" h="3"/>
    </days>
</calendar>"#;

    #[test]
    fn xml_days_by_type() {
        let calendar = ProductionCalendar::parse("c.xml", XML_2027.as_bytes()).unwrap();
        assert_eq!(calendar.format, SourceFormat::XmlCalendar);
        assert_eq!(calendar.country.as_deref(), Some("ru"));
        assert_eq!(calendar.dated.as_deref(), Some("2026.09.02"));
        let days = &calendar.years[&2027];
        assert_eq!(
            days.holidays,
            BTreeSet::from([date("2027-02-22"), date("2027-02-23")])
        );
        assert_eq!(days.working_days, BTreeSet::from([date("2027-02-20")]));
        assert_eq!(days.short_days, BTreeSet::from([date("2027-02-20")]));
    }

    #[test]
    fn csv_days_by_mark() {
        let csv = "Год/Месяц,Январь,Февраль,Март,Апрель,Май,Июнь,Июль,Август,Сентябрь,Октябрь,Ноябрь,Декабрь,Всего рабочих дней\n\
                   2027,\"1,2,3,4,5,6,7,8,9,10,16,17,23,24,30,31\",\"6,7,13,14,20*,21,22+,23,27,28\",\"6,7,8,13,14,20,21,27,28\",\"3,4,10,11,17,18,24,25,30*\",\"1,2,3+,8,9,10+,15,16,22,23,29,30\",\"5,6,11*,12,13,14+,19,20,26,27\",\"3,4,10,11,17,18,24,25,31\",\"1,7,8,14,15,21,22,28,29\",\"4,5,11,12,18,19,25,26\",\"2,3,9,10,16,17,23,24,30,31\",\"3*,4,5+,6,7,13,14,20,21,27,28\",\"4,5,11,12,18,19,25,26,31+\",247\n";
        let calendar = ProductionCalendar::parse("c.csv", csv.as_bytes()).unwrap();
        assert_eq!(calendar.format, SourceFormat::DataGovCsv);
        let days = &calendar.years[&2027];
        assert!(
            days.holidays.contains(&date("2027-01-02")),
            "a holiday on a Saturday"
        );
        assert!(
            !days.holidays.contains(&date("2027-01-09")),
            "a plain Saturday"
        );
        assert!(days.holidays.contains(&date("2027-02-22")));
        assert_eq!(days.working_days, BTreeSet::from([date("2027-02-20")]));
        let summary = calendar.summaries()[0];
        assert_eq!((summary.working_days, summary.hours_40), (247, 1972));
    }

    #[test]
    fn errors_name_the_line() {
        let bad = XML_2027.replace("d=\"02.22\"", "d=\"02.30\"");
        let errors = ProductionCalendar::parse("c.xml", bad.as_bytes()).unwrap_err();
        assert_eq!(errors.0[0].line, 8, "{errors}");
        assert!(
            errors.to_string().starts_with("c.xml:8: d=\"02.30\""),
            "{errors}"
        );

        let bad = XML_2027.replace("t=\"2\"", "t=\"7\"");
        let errors = ProductionCalendar::parse("c.xml", bad.as_bytes()).unwrap_err();
        assert!(
            errors.to_string().starts_with("c.xml:7: t=\"7\""),
            "{errors}"
        );

        let csv = "Год/Месяц,Январь,Февраль,Март,Апрель,Май,Июнь,Июль,Август,Сентябрь,Октябрь,Ноябрь,Декабрь\n2027,\"1,2,40\",,,,,,,,,,\n";
        let errors = ProductionCalendar::parse("c.csv", csv.as_bytes()).unwrap_err();
        assert!(
            errors.to_string().starts_with("c.csv:2: январь: `40`"),
            "{errors}"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let samples: Vec<Vec<u8>> = vec![
            vec![],
            b"   ".to_vec(),
            vec![0xff, 0xfe, 0x00, 0x3c],
            b"<".to_vec(),
            b"<calendar".to_vec(),
            b"<calendar year=\"99999\"/>".to_vec(),
            b"<calendar year=\"2027\"><day d=\"\" t=\"1\"/></calendar>".to_vec(),
            b"<calendar year=\"2027\"><day d=\"1.1\"/></calendar>".to_vec(),
            b"<calendar year=\"2027\"><day d=\"\xd0\xb9\xd0\xb9.01\" t=\"1\"/></calendar>".to_vec(),
            b"<calendar year=\"2027\"><day d=\"01.01\" t=\"1\" t=\"2\"/></calendar>".to_vec(),
            b"<calendar year=\"2027\"><calendar year=\"2028\"/></calendar>".to_vec(),
            b"<day d=\"01.01\" t=\"1\"/>".to_vec(),
            b"<a><b></a>".to_vec(),
            b"<calendar year='2027'>&bogus;<day d='01.01' t='1'/></calendar>".to_vec(),
            b"\xef\xbb\xbf".to_vec(),
            "Год/Месяц".as_bytes().to_vec(),
            "Год/Месяц,Январь\n2027,\"1".as_bytes().to_vec(),
            "Год/Месяц,Январь,Февраль,Март,Апрель,Май,Июнь,Июль,Август,Сентябрь,Октябрь,Ноябрь,Декабрь\n".as_bytes().to_vec(),
            "Год/Месяц,Январь,Февраль,Март,Апрель,Май,Июнь,Июль,Август,Сентябрь,Октябрь,Ноябрь,Декабрь\n-32768,,,,,,,,,,,,\n".as_bytes().to_vec(),
            "Год/Месяц,Январь,Февраль,Март,Апрель,Май,Июнь,Июль,Август,Сентябрь,Октябрь,Ноябрь,Декабрь\n2027,,,,,,,,,,,,\n".as_bytes().to_vec(),
            "Год/Месяц,Январь,Февраль,Март,Апрель,Май,Июнь,Июль,Август,Сентябрь,Октябрь,Ноябрь,Декабрь\n2027,\"1**,+,*,-1,0,127,128,99999999999\"\n".as_bytes().to_vec(),
            "Год/Месяц;Январь;Февраль\n2027;\"1,2\"".as_bytes().to_vec(),
            vec![b'<'; 10_000],
            vec![b'a'; MAX_FILE_BYTES + 1],
        ];
        for sample in samples {
            let result = ProductionCalendar::parse("g", &sample);
            if let Err(errors) = &result {
                assert!(!errors.0.is_empty(), "{sample:?}: refused without a reason");
                assert!(errors.0.iter().all(|e| e.line >= 1 && e.file == "g"));
            }
        }
        let result = ProductionCalendar::parse("g", b"<calendar year=\"2027\"/>");
        assert!(result.is_ok_and(|c| c.years[&2027] == SpecialDays::default()));
    }

    #[test]
    fn empty_rows_are_refused_rather_than_read_as_working_weekends() {
        let mut csv = String::from(
            "Год/Месяц,Январь,Февраль,Март,Апрель,Май,Июнь,Июль,Август,Сентябрь,Октябрь,Ноябрь,Декабрь\n",
        );
        for year in 1990..=2100 {
            csv.push_str(&format!("{year},,,,,,,,,,,,\n"));
        }
        let errors = ProductionCalendar::parse("c.csv", csv.as_bytes()).unwrap_err();
        assert!(
            errors
                .to_string()
                .contains("Saturdays and Sundays are not listed"),
            "{errors}"
        );
    }

    #[test]
    fn merging_replaces_whole_years_and_keeps_the_rest() {
        let list = "# my list\n\n[2026]\nholidays = [\"2026-01-01\"] # kept\n\n[2027]\nholidays = [\"2027-01-01\", \"2027-11-05\"]\nworking_days = [\"2027-11-13\"]\n";
        let calendar = ProductionCalendar::parse("c.xml", XML_2027.as_bytes()).unwrap();
        let merged = calendar
            .merge_into("holidays-ru.toml", list, "from c.xml\nwith a newline")
            .unwrap();
        assert!(merged.starts_with("# my list\n\n[2026]\nholidays = [\"2026-01-01\"] # kept\n"));
        assert!(merged.contains("# from c.xml with a newline\n"), "{merged}");
        let days = SpecialDays::parse("holidays-ru.toml", &merged).unwrap();
        assert!(days.holidays.contains(&date("2026-01-01")));
        assert!(!days.holidays.contains(&date("2027-11-05")));
        assert_eq!(days.working_days, BTreeSet::from([date("2027-02-20")]));

        let dotted = "\"2027\".holidays = [\"2027-01-01\"]\n\"2028\".holidays = [\"2028-01-03\"]\n";
        let merged = calendar
            .merge_into("holidays-ru.toml", dotted, "n")
            .unwrap();
        let days = SpecialDays::parse("holidays-ru.toml", &merged).unwrap();
        assert!(days.holidays.contains(&date("2028-01-03")), "{merged}");
        assert!(!days.holidays.contains(&date("2027-01-01")), "{merged}");

        let before = "[2028]\nholidays = [\"2028-01-03\"]\n";
        let merged = calendar
            .merge_into("holidays-ru.toml", before, "n")
            .unwrap();
        assert!(merged.find("[2027]") < merged.find("[2028]"), "{merged}");

        assert!(
            calendar
                .merge_into("holidays-ru.toml", "[oops", "n")
                .is_err()
        );
    }
}
