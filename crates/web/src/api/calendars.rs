//! `/api/v1/calendars` and `/api/v1/support-levels`: the calendar, holiday-list and
//! support-level files the desk runs with, read and published by admins (like workflows).
//! Thin handlers over the desk (`okno_desk::calendars`).

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::extract::Query;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use okno_desk::calendars::{Section, SlaFile};
use okno_desk::production_calendar::CalendarImport;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calendars))
        .routes(routes!(import_production_calendar))
        .routes(routes!(get_calendar, put_calendar))
        .routes(routes!(list_support_levels))
        .routes(routes!(get_support_level, put_support_level))
}

/// One configuration file as the desk runs with it.
#[derive(Serialize, ToSchema)]
pub struct SlaFileView {
    /// The file's name without `.toml` (`ru-standard`, `holidays-ru`, `standard`).
    pub name: String,
    /// `calendar`, `holidays` (a holiday list) or `support_level`.
    pub kind: &'static str,
    /// The calendar's or level's code; none for a holiday list.
    pub code: Option<String>,
    /// 1: the configuration's own file; each publication adds one.
    pub version: u32,
    /// The TOML text (only when one file is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl SlaFileView {
    fn new(file: SlaFile, with_text: bool) -> Self {
        SlaFileView {
            kind: match file.section {
                Section::SupportLevels => "support_level",
                Section::Calendars if file.is_holiday_list() => "holidays",
                Section::Calendars => "calendar",
            },
            code: file.code(),
            name: file.name,
            version: file.version,
            text: with_text.then_some(file.text),
        }
    }
}

/// What a publication answers.
#[derive(Serialize, ToSchema)]
pub struct PublishedFile {
    pub name: String,
    pub version: u32,
}

fn list(
    state: &AppState,
    user: &okno_domain::User,
    section: Section,
) -> Result<Json<Vec<SlaFileView>>, ApiError> {
    let files = state.desk.sla_files(user)?;
    Ok(Json(
        files
            .into_iter()
            .filter(|f| f.section == section)
            .map(|f| SlaFileView::new(f, false))
            .collect(),
    ))
}

async fn publish(
    state: &AppState,
    user: &okno_domain::User,
    section: Section,
    name: String,
    body: &str,
) -> Result<(StatusCode, Json<PublishedFile>), ApiError> {
    let version = state
        .desk
        .publish_sla_file(user, section, &name, body)
        .await?;
    Ok((StatusCode::CREATED, Json(PublishedFile { name, version })))
}

#[utoipa::path(get, path = "/calendars", tag = "catalog",
    responses((status = 200, body = Vec<SlaFileView>), (status = 403, body = ErrorBody)))]
async fn list_calendars(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Vec<SlaFileView>>, ApiError> {
    list(&state, &user, Section::Calendars)
}

#[utoipa::path(get, path = "/calendars/{name}", tag = "catalog",
    params(("name" = String, Path, description = "The file's name without `.toml`: `ru-standard`, `holidays-ru`")),
    responses((status = 200, body = SlaFileView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_calendar(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(name): Path<String>,
) -> Result<Json<SlaFileView>, ApiError> {
    let file = state.desk.sla_file(&user, Section::Calendars, &name)?;
    Ok(Json(SlaFileView::new(file, true)))
}

/// The body is the calendar's (or holiday list's) TOML file. It is checked with every
/// other calendar and level; errors come back as `file:line: message`, one per line, and
/// leave the running configuration unchanged. New deadlines count by it at once.
#[utoipa::path(put, path = "/calendars/{name}", tag = "catalog", params(("name" = String, Path)),
    request_body(content = String, content_type = "application/toml", description = "The calendar file"),
    responses((status = 201, body = PublishedFile), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_calendar(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(name): Path<String>,
    body: String,
) -> Result<(StatusCode, Json<PublishedFile>), ApiError> {
    publish(&state, &user, Section::Calendars, name, &body).await
}

#[utoipa::path(get, path = "/support-levels", tag = "catalog",
    responses((status = 200, body = Vec<SlaFileView>), (status = 403, body = ErrorBody)))]
async fn list_support_levels(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Vec<SlaFileView>>, ApiError> {
    list(&state, &user, Section::SupportLevels)
}

#[utoipa::path(get, path = "/support-levels/{name}", tag = "catalog",
    params(("name" = String, Path, description = "The file's name without `.toml`: `standard`")),
    responses((status = 200, body = SlaFileView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_support_level(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(name): Path<String>,
) -> Result<Json<SlaFileView>, ApiError> {
    let file = state.desk.sla_file(&user, Section::SupportLevels, &name)?;
    Ok(Json(SlaFileView::new(file, true)))
}

/// The body is the support level's TOML file (reaction and solution norms); checked and
/// answered like a calendar's.
#[utoipa::path(put, path = "/support-levels/{name}", tag = "catalog", params(("name" = String, Path)),
    request_body(content = String, content_type = "application/toml", description = "The support level file"),
    responses((status = 201, body = PublishedFile), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_support_level(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(name): Path<String>,
    body: String,
) -> Result<(StatusCode, Json<PublishedFile>), ApiError> {
    publish(&state, &user, Section::SupportLevels, name, &body).await
}

/// One year of a loaded production calendar, to check against the official figures.
#[derive(Serialize, ToSchema)]
pub struct ImportedYear {
    pub year: i16,
    /// Working days of a five-day week.
    pub working_days: u16,
    /// Shortened pre-holiday days among them.
    pub short_days: u16,
    /// Working hours of a 40-hour week.
    pub hours_40: u32,
}

/// What loading a production calendar changed.
#[derive(Serialize, ToSchema)]
pub struct ImportedCalendar {
    /// The holiday list loaded into (`holidays-ru`).
    pub list: String,
    /// Its new version.
    pub version: u32,
    /// `xmlcalendar` or `datagov_csv`.
    pub format: &'static str,
    pub years: Vec<ImportedYear>,
    /// The calendars counting by the list (`ru-standard`, `nsk-standard`).
    pub calendars: Vec<String>,
}

impl From<CalendarImport> for ImportedCalendar {
    fn from(loaded: CalendarImport) -> Self {
        ImportedCalendar {
            format: match loaded.format {
                okno_desk::production_calendar::SourceFormat::XmlCalendar => "xmlcalendar",
                okno_desk::production_calendar::SourceFormat::DataGovCsv => "datagov_csv",
            },
            years: loaded
                .years
                .iter()
                .map(|y| ImportedYear {
                    year: y.year,
                    working_days: y.working_days,
                    short_days: y.short_days,
                    hours_40: y.hours_40,
                })
                .collect(),
            list: loaded.list,
            version: loaded.version,
            calendars: loaded.calendars,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// The file's name, for error messages (`calendar.xml`).
    file_name: Option<String>,
}

/// Loads a newer production calendar (admins): the body is xmlcalendar.ru's XML or the
/// data.gov.ru CSV. Its years replace those of the holiday list (a new version); new
/// deadlines of every calendar using the list follow at once. A bad file is a 422 in the
/// field `file` with `file:line: message` lines, and changes nothing.
#[utoipa::path(post, path = "/calendars/import", tag = "catalog", params(ImportQuery),
    request_body(content = String, content_type = "application/octet-stream", description = "The production calendar file"),
    responses((status = 201, body = ImportedCalendar), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_production_calendar(
    State(state): State<AppState>,
    Caller(user): Caller,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportedCalendar>), ApiError> {
    let file_name = query
        .file_name
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "calendar".to_owned());
    let loaded = state
        .desk
        .import_production_calendar(&user, &file_name, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(loaded.into())))
}
