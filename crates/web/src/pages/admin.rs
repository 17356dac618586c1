//! The admin's pages (issue 8): services and workflows (edit a workflow's TOML, errors shown
//! at their lines), calendars and support levels, clients, contracts, users and skills.
//!
//! Every form carries the session's CSRF token; a refused form comes back with 422, what was
//! typed kept, and each error next to its field. The desk does the checking.

use super::figures::query_value;
use super::guard::{Page, PageError};
use super::messages::desk_message;
use super::templates::*;
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use okno_desk::DeskError;
use okno_desk::admin::{CalendarSummary, LevelSummary, UserInput};
use okno_desk::calendars::{Section, SlaFile};
use okno_desk::contracts::{ClientInput, ContractInput, LimitInput};
use okno_desk::production_calendar::CalendarImport;
use okno_domain::policy::Action;
use okno_domain::*;
use serde::Deserialize;

/// Rows per page of the admin lists.
const ADMIN_PAGE: u32 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/workflows", get(workflows))
        .route(
            "/admin/workflows/{code}",
            get(workflow_form).post(publish_workflow),
        )
        .route("/admin/calendars", get(calendars))
        .route("/admin/calendars/import", post(import_production_calendar))
        .route(
            "/admin/calendars/{name}",
            get(sla_form::<false>).post(publish_sla::<false>),
        )
        .route(
            "/admin/support-levels/{name}",
            get(sla_form::<true>).post(publish_sla::<true>),
        )
        .route("/admin/clients", get(clients).post(save_client))
        .route("/admin/clients/{code}", get(client_form))
        .route("/admin/contracts", get(contracts))
        .route(
            "/admin/contracts/{id}",
            get(contract_form).post(save_contract),
        )
        .route("/admin/users", get(users).post(add_user))
        .route("/admin/users/{id}", get(user_form).post(change_user))
        .route("/admin/skills", get(skills))
        .route("/admin/skills/users/{id}", post(save_user_skills))
        .route("/admin/skills/services/{code}", post(save_service_skills))
        .route("/admin/skills/priorities", post(save_priority))
}

/// The desk's check of the policy for the page's person: 403 when it refuses.
fn allowed(page: &Page, action: Action) -> Result<(), PageError> {
    okno_desk::authorize(&page.user, action).map_err(|_| PageError::FORBIDDEN)
}

/// Errors of one form: each next to its field, the rest above the form.
#[derive(Default)]
pub struct FormErrors {
    fields: Vec<(&'static str, String)>,
    pub other: Option<String>,
}

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The desk's error placed at the form field it names (`known` maps the desk's field
    /// names to the form's), or above the form.
    fn from_field(ctx: &Ctx, error: &FieldError, known: &[(&str, &'static str)]) -> FormErrors {
        let message = desk_message(ctx.lang, &error.message).unwrap_or_else(|| {
            // A reason the table does not know yet: as the desk gives it (an admin needs
            // the detail).
            format!("{} ({})", ctx.t("field-invalid"), error.message)
        });
        match known.iter().find(|(desk, _)| *desk == error.field) {
            Some((_, field)) => FormErrors {
                fields: vec![(field, message)],
                other: None,
            },
            None => FormErrors {
                fields: Vec::new(),
                other: Some(message),
            },
        }
    }

    fn other(message: String) -> FormErrors {
        FormErrors {
            fields: Vec::new(),
            other: Some(message),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.other.is_none()
    }

    /// A form shown with these errors: 200 when there are none, else 422.
    fn status(&self) -> StatusCode {
        if self.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// What a refused form becomes: the field errors, or the desk's other refusals.
fn refusal(
    ctx: &Ctx,
    error: DeskError,
    known: &[(&str, &'static str)],
) -> Result<FormErrors, PageError> {
    match error {
        DeskError::Domain(DomainError::Invalid(e)) => Ok(FormErrors::from_field(ctx, &e, known)),
        DeskError::Domain(DomainError::Conflict(message)) => {
            // The store's clashes read `field: message` (`number: another contract has
            // this number`): shown at that field, in the viewer's language.
            let (field, text) = message
                .split_once(": ")
                .filter(|(f, _)| f.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(("", message.as_str()));
            let shown = desk_message(ctx.lang, text).unwrap_or_else(|| message.clone());
            Ok(match known.iter().find(|(desk, _)| *desk == field) {
                Some((_, field)) => FormErrors {
                    fields: vec![(field, shown)],
                    other: None,
                },
                None => FormErrors::other(shown),
            })
        }
        DeskError::Domain(DomainError::NotFound(what)) => Ok(FormErrors::other(format!(
            "{}: {what}",
            ctx.t("field-invalid")
        ))),
        error => Err(error.into()),
    }
}

#[derive(Deserialize)]
pub struct AfterQuery {
    after: Option<String>,
}

// ---- The index ----

#[derive(Template)]
#[template(path = "admin_index.html")]
pub struct IndexTemplate {
    pub ctx: Ctx,
}

async fn index(page: Page) -> Result<Response, PageError> {
    allowed(&page, Action::ManageClients)?;
    Ok(render(StatusCode::OK, &IndexTemplate { ctx: page.ctx }))
}

// ---- Services and workflows ----

pub struct ServiceRow {
    pub code: String,
    pub name: String,
    pub workflow: String,
    pub version: u32,
    pub active: bool,
}

pub struct WorkflowRow {
    pub code: String,
    pub name: String,
    pub versions: String,
}

#[derive(Template)]
#[template(path = "admin_workflows.html")]
pub struct WorkflowsTemplate {
    pub ctx: Ctx,
    pub services: Vec<ServiceRow>,
    pub workflows: Vec<WorkflowRow>,
    pub pools: Vec<(String, String)>,
}

async fn workflows(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    allowed(&page, Action::Configure)?;
    let lang = page.ctx.lang.code();
    let catalog = state.desk.catalog();
    let services = catalog
        .services()
        .iter()
        .map(|s| ServiceRow {
            code: s.code.clone(),
            name: s.name.get(lang).to_owned(),
            workflow: s.workflow.clone(),
            version: catalog.latest(&s.workflow).map_or(0, |w| w.version),
            active: s.active,
        })
        .collect();
    let mut workflows: Vec<WorkflowRow> = Vec::new();
    for w in catalog.workflows() {
        match workflows.last_mut() {
            Some(last) if last.code == w.code => {
                last.versions.push_str(&format!(", {}", w.version));
                last.name = w.name.get(lang).to_owned();
            }
            _ => workflows.push(WorkflowRow {
                code: w.code.clone(),
                name: w.name.get(lang).to_owned(),
                versions: w.version.to_string(),
            }),
        }
    }
    let pools = catalog
        .pools()
        .iter()
        .map(|p| (p.code.clone(), p.name.get(lang).to_owned()))
        .collect();
    let view = WorkflowsTemplate {
        ctx: page.ctx,
        services,
        workflows,
        pools,
    };
    Ok(render(StatusCode::OK, &view))
}

/// One line of the file being edited, with the errors found on it.
pub struct SourceLine {
    pub number: usize,
    pub text: String,
    pub errors: Vec<String>,
}

/// A `file:line: message` error of the validator, its line picked out.
pub struct ConfigProblem {
    pub line: Option<usize>,
    pub message: String,
}

/// The validator's report, one problem a line. `file`: the file being edited, when the
/// report may name others too; their problems are shown whole, above the form.
fn config_problems(report: &str, file: Option<&str>) -> Vec<ConfigProblem> {
    report
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // `question.toml:12: message`: the line is the number between the colons.
            let located = l.split_once(": ").and_then(|(place, message)| {
                let (path, line) = place.rsplit_once(':')?;
                if file.is_some_and(|file| file != path) {
                    return None;
                }
                Some(ConfigProblem {
                    line: Some(line.parse().ok()?),
                    message: message.to_owned(),
                })
            });
            located.unwrap_or_else(|| ConfigProblem {
                line: None,
                message: l.to_owned(),
            })
        })
        .collect()
}

/// What is edited as a TOML file on its own page: a workflow, a calendar, a holiday list,
/// a support level. The messages that differ, as keys.
pub struct SourceKind {
    heading: &'static str,
    running: &'static str,
    saved: &'static str,
    text: &'static str,
    hint: &'static str,
    publish: &'static str,
    /// The page's own path, without the code.
    base: &'static str,
}

const WORKFLOW: SourceKind = SourceKind {
    heading: "admin-workflow-edit",
    running: "admin-workflow-running",
    saved: "admin-workflow-saved",
    text: "admin-workflow-text",
    hint: "admin-workflow-hint",
    publish: "admin-workflow-publish",
    base: "/admin/workflows",
};

const CALENDAR: SourceKind = SourceKind {
    heading: "admin-calendar-edit",
    running: "admin-file-running",
    saved: "admin-file-saved",
    text: "admin-calendar-text",
    hint: "admin-calendar-hint",
    publish: "admin-file-publish",
    base: "/admin/calendars",
};

const HOLIDAYS: SourceKind = SourceKind {
    heading: "admin-holidays-edit",
    running: "admin-file-running",
    saved: "admin-file-saved",
    text: "admin-holidays-text",
    hint: "admin-holidays-hint",
    publish: "admin-file-publish",
    base: "/admin/calendars",
};

const LEVEL: SourceKind = SourceKind {
    heading: "admin-level-edit",
    running: "admin-file-running",
    saved: "admin-file-saved",
    text: "admin-level-text",
    hint: "admin-level-hint",
    publish: "admin-file-publish",
    base: "/admin/support-levels",
};

/// The editor of one TOML file; on a refusal, the typed text numbered with each error at
/// its line.
#[derive(Template)]
#[template(path = "admin_source.html")]
pub struct SourceTemplate {
    pub ctx: Ctx,
    pub heading: String,
    pub code: String,
    /// Which version runs now.
    pub running: String,
    pub saved: Option<String>,
    pub action: String,
    pub text_label: String,
    pub hint: String,
    pub publish: String,
    pub text: String,
    pub problems: Vec<ConfigProblem>,
    /// The typed text, numbered, errors at their lines (only when there are errors).
    pub lines: Vec<SourceLine>,
}

impl SourceTemplate {
    fn new(
        ctx: Ctx,
        kind: &SourceKind,
        code: String,
        version: u32,
        text: String,
        problems: Vec<ConfigProblem>,
    ) -> Self {
        let lines = if problems.is_empty() {
            Vec::new()
        } else {
            text.lines()
                .enumerate()
                .map(|(i, l)| SourceLine {
                    number: i + 1,
                    text: l.to_owned(),
                    errors: problems
                        .iter()
                        .filter(|p| p.line == Some(i + 1))
                        .map(|p| p.message.clone())
                        .collect(),
                })
                .collect()
        };
        SourceTemplate {
            heading: ctx.t(kind.heading),
            running: ctx.with(kind.running, &version.to_string()),
            saved: None,
            action: format!("{}/{}", kind.base, query_value(&code)),
            text_label: ctx.t(kind.text),
            hint: ctx.t(kind.hint),
            publish: ctx.t(kind.publish),
            ctx,
            code,
            text,
            problems,
            lines,
        }
    }

    fn saved(mut self, kind: &SourceKind, saved: Option<u32>) -> Self {
        self.saved = saved.map(|v| self.ctx.with(kind.saved, &v.to_string()));
        self
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<u32>,
}

#[derive(Deserialize)]
pub struct SourceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// What a publication became: back to the page saying which version runs, or the typed
/// text again with the errors at their lines (`file`: see [`config_problems`]).
fn published(
    ctx: Ctx,
    kind: &SourceKind,
    code: String,
    running: u32,
    text: String,
    outcome: okno_desk::Result<u32>,
    file: Option<&str>,
) -> Result<Response, PageError> {
    let problems = match outcome {
        Ok(version) => {
            return Ok(Redirect::to(&format!(
                "{}/{}?saved={version}",
                kind.base,
                query_value(&code)
            ))
            .into_response());
        }
        Err(DeskError::Domain(DomainError::Invalid(e))) => config_problems(&e.message, file),
        Err(DeskError::Domain(DomainError::Conflict(message))) => config_problems(&message, file),
        Err(e) => return Err(e.into()),
    };
    let view = SourceTemplate::new(ctx, kind, code, running, text, problems);
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
}

async fn workflow_form(
    State(state): State<AppState>,
    page: Page,
    Path(code): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Result<Response, PageError> {
    allowed(&page, Action::Configure)?;
    let source = state
        .desk
        .workflow_source(&page.user, &code)
        .await?
        .ok_or(PageError::NOT_FOUND)?;
    let view = SourceTemplate::new(
        page.ctx,
        &WORKFLOW,
        code,
        source.version,
        source.text,
        Vec::new(),
    )
    .saved(&WORKFLOW, query.saved);
    Ok(render(StatusCode::OK, &view))
}

/// Publishes the typed file as a new version; any error leaves the running one as it was
/// and shows the file again with each error at its line.
async fn publish_workflow(
    State(state): State<AppState>,
    page: Page,
    Path(code): Path<String>,
    Form(form): Form<SourceForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::Configure)?;
    page.check_csrf(&form.csrf)?;
    let current = state
        .desk
        .workflow_source(&page.user, &code)
        .await?
        .ok_or(PageError::NOT_FOUND)?;
    let outcome = state
        .desk
        .publish_workflow(&page.user, &code, &form.text)
        .await;
    let version = current.version;
    published(page.ctx, &WORKFLOW, code, version, form.text, outcome, None)
}

// ---- Calendars, holiday lists and support levels ----

#[derive(Template)]
#[template(path = "admin_calendars.html")]
pub struct CalendarsTemplate {
    pub ctx: Ctx,
    pub calendars: Vec<CalendarSummary>,
    pub levels: Vec<LevelSummary>,
    /// Holiday-list files and their versions.
    pub holiday_lists: Vec<(String, u32)>,
    pub weekdays: Vec<String>,
    /// A production calendar just loaded from the form.
    pub imported: Option<CalendarImport>,
    /// Why the loaded file was refused: `file:line: message` lines.
    pub import_error: Option<String>,
}

impl CalendarsTemplate {
    pub fn name<'a>(&self, ru: &'a str, en: &'a str) -> &'a str {
        if self.ctx.lang.code() == "ru" { ru } else { en }
    }

    pub fn date(&self, date: &jiff::civil::Date) -> String {
        date.strftime("%d.%m.%Y").to_string()
    }

    /// Working minutes as hours and minutes, or "no deadline".
    pub fn minutes(&self, minutes: &Option<i64>) -> String {
        match minutes {
            Some(m) if m % 60 == 0 => self.ctx.with("admin-hours", &(m / 60).to_string()),
            Some(m) => self.ctx.with("minutes", &m.to_string()),
            None => self.ctx.t("admin-no-deadline"),
        }
    }
}

async fn calendars(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    allowed(&page, Action::Configure)?;
    calendars_page(&state, page, StatusCode::OK, None, None)
}

fn calendars_page(
    state: &AppState,
    page: Page,
    status: StatusCode,
    imported: Option<CalendarImport>,
    import_error: Option<String>,
) -> Result<Response, PageError> {
    let overview = state.desk.calendars_overview(&page.user)?;
    let weekdays = (1..=7)
        .map(|d| page.ctx.t(&format!("admin-weekday-{d}")))
        .collect();
    let view = CalendarsTemplate {
        ctx: page.ctx,
        calendars: overview.calendars,
        levels: overview.levels,
        holiday_lists: overview.holiday_lists,
        weekdays,
        imported,
        import_error,
    };
    Ok(render(status, &view))
}

/// Multipart: `csrf` and `file`, a production calendar in a public source's format
/// (xmlcalendar.ru XML, the data.gov.ru CSV). Loaded: the calendars page with each year's
/// figures; refused: 422 with the file's errors by the form, nothing changed.
async fn import_production_calendar(
    State(state): State<AppState>,
    page: Page,
    mut form: Multipart,
) -> Result<Response, PageError> {
    allowed(&page, Action::Configure)?;
    let (mut csrf, mut file) = (String::new(), None);
    while let Some(field) = form.next_field().await.map_err(|_| PageError::TOO_LARGE)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|_| PageError::INVALID)?,
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(|_| PageError::TOO_LARGE)?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    page.check_csrf(&csrf)?;
    let outcome = match &file {
        Some((name, bytes)) if !bytes.is_empty() => {
            let name = if name.is_empty() { "calendar" } else { name };
            state
                .desk
                .import_production_calendar(&page.user, name, bytes)
                .await
        }
        _ => Err(FieldError::new("file", page.ctx.t("admin-import-choose-file")).into()),
    };
    match outcome {
        Ok(loaded) => calendars_page(&state, page, StatusCode::OK, Some(loaded), None),
        Err(DeskError::Domain(DomainError::Invalid(e))) => calendars_page(
            &state,
            page,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(e.message),
        ),
        Err(e) => Err(e.into()),
    }
}

fn sla_kind(file: &SlaFile) -> &'static SourceKind {
    match file.section {
        Section::SupportLevels => &LEVEL,
        Section::Calendars if file.is_holiday_list() => &HOLIDAYS,
        Section::Calendars => &CALENDAR,
    }
}

/// The section a route serves: support levels when `LEVELS`, else calendars (one handler
/// for both pages).
fn section<const LEVELS: bool>() -> Section {
    if LEVELS {
        Section::SupportLevels
    } else {
        Section::Calendars
    }
}

async fn sla_form<const LEVELS: bool>(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Result<Response, PageError> {
    allowed(&page, Action::Configure)?;
    let file = state
        .desk
        .sla_file(&page.user, section::<LEVELS>(), &name)?;
    let kind = sla_kind(&file);
    let view = SourceTemplate::new(page.ctx, kind, name, file.version, file.text, Vec::new())
        .saved(kind, query.saved);
    Ok(render(StatusCode::OK, &view))
}

/// Saves the typed file as a new version; new deadlines count by it at once. Any error
/// leaves the running one as it was and shows the file again with each error at its line
/// (errors in the files it works with, above the form).
async fn publish_sla<const LEVELS: bool>(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
    Form(form): Form<SourceForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::Configure)?;
    page.check_csrf(&form.csrf)?;
    let section = section::<LEVELS>();
    let current = state.desk.sla_file(&page.user, section, &name)?;
    let outcome = state
        .desk
        .publish_sla_file(&page.user, section, &name, &form.text)
        .await;
    let kind = sla_kind(&current);
    let path = current.path();
    let running = current.version;
    published(
        page.ctx,
        kind,
        name,
        running,
        form.text,
        outcome,
        Some(path.as_str()),
    )
}

// ---- Clients ----

/// The client form's fields, as typed.
#[derive(Deserialize, Default)]
pub struct ClientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mail_domain: String,
    #[serde(default)]
    pub calendar: String,
    #[serde(default)]
    pub time_zone: String,
    vip: Option<String>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub access_notes: String,
    /// Set when editing: the code cannot change.
    #[serde(default)]
    pub existing: String,
}

impl ClientForm {
    pub fn vip(&self) -> bool {
        self.vip.is_some()
    }
}

const CLIENT_FIELDS: &[(&str, &str)] = &[
    ("code", "code"),
    ("name", "name"),
    ("mail_domain", "mail_domain"),
    ("calendar", "calendar"),
    ("time_zone", "time_zone"),
    ("notes", "notes"),
    ("access_notes", "access_notes"),
];

pub struct ClientRow {
    pub code: String,
    pub name: String,
    pub mail_domain: String,
    pub vip: bool,
}

#[derive(Template)]
#[template(path = "admin_clients.html")]
pub struct ClientsTemplate {
    pub ctx: Ctx,
    pub rows: Vec<ClientRow>,
    pub next_page: Option<String>,
}

async fn clients(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<AfterQuery>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageClients)?;
    let records = state
        .desk
        .client_records(&page.user, query.after.as_deref(), ADMIN_PAGE)
        .await?;
    let next_page = (records.len() == ADMIN_PAGE as usize).then(|| {
        format!(
            "/admin/clients?after={}",
            query_value(&records[records.len() - 1].code)
        )
    });
    let rows = records
        .into_iter()
        .map(|c| ClientRow {
            code: c.code,
            name: c.name,
            mail_domain: c.mail_domain.unwrap_or_default(),
            vip: c.vip,
        })
        .collect();
    let view = ClientsTemplate {
        ctx: page.ctx,
        rows,
        next_page,
    };
    Ok(render(StatusCode::OK, &view))
}

#[derive(Template)]
#[template(path = "admin_client.html")]
pub struct ClientTemplate {
    pub ctx: Ctx,
    pub form: ClientForm,
    pub errors: FormErrors,
}

async fn client_form(
    State(state): State<AppState>,
    page: Page,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageClients)?;
    let form = if code == "new" {
        ClientForm::default()
    } else {
        let c = state.desk.client_record(&page.user, &code).await?;
        ClientForm {
            existing: c.code.clone(),
            code: c.code,
            name: c.name,
            mail_domain: c.mail_domain.unwrap_or_default(),
            calendar: c.calendar.unwrap_or_default(),
            time_zone: c.time_zone.unwrap_or_default(),
            vip: c.vip.then(String::new),
            notes: c.notes,
            access_notes: c.access_notes,
            csrf: String::new(),
        }
    };
    client_page(page, form, FormErrors::default())
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn save_client(
    State(state): State<AppState>,
    page: Page,
    Form(mut form): Form<ClientForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageClients)?;
    page.check_csrf(&form.csrf)?;
    if !form.existing.is_empty() {
        form.code = form.existing.clone();
    }
    let input = ClientInput {
        code: form.code.clone(),
        name: form.name.clone(),
        mail_domain: optional(&form.mail_domain),
        calendar: optional(&form.calendar),
        vip: form.vip(),
        time_zone: optional(&form.time_zone),
        notes: form.notes.clone(),
        access_notes: form.access_notes.clone(),
        external_id: None,
    };
    // A new client must not overwrite one with the same code.
    if form.existing.is_empty()
        && state
            .desk
            .client_record(&page.user, &form.code)
            .await
            .is_ok()
    {
        let errors = FormErrors {
            fields: vec![("code", page.ctx.t("admin-code-taken"))],
            other: None,
        };
        return client_page(page, form, errors);
    }
    match state.desk.save_client(&page.user, input).await {
        Ok((client, _)) => Ok(Redirect::to(&format!(
            "/admin/clients/{}?saved=1",
            query_value(&client.code)
        ))
        .into_response()),
        Err(e) => {
            let errors = refusal(&page.ctx, e, CLIENT_FIELDS)?;
            client_page(page, form, errors)
        }
    }
}

/// The client form, with the errors of a refused save (422) or none (200).
fn client_page(page: Page, form: ClientForm, errors: FormErrors) -> Result<Response, PageError> {
    let status = errors.status();
    let view = ClientTemplate {
        ctx: page.ctx,
        form,
        errors,
    };
    Ok(render(status, &view))
}

// ---- Contracts ----

/// The contract form's fields, as typed (money in roubles, limits as numbers).
#[derive(Deserialize, Default)]
pub struct ContractForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub starts_on: String,
    #[serde(default)]
    pub ends_on: String,
    #[serde(default)]
    pub support_level: String,
    #[serde(default)]
    pub services: String,
    #[serde(default)]
    pub tariff: String,
    #[serde(default)]
    pub hourly_rate: String,
    #[serde(default)]
    pub tickets_per_month: String,
    #[serde(default)]
    pub hours_per_month: String,
    #[serde(default)]
    pub tickets_per_contact_day: String,
    #[serde(default)]
    pub license_keys: String,
    #[serde(default)]
    pub limit_reaction: String,
}

const CONTRACT_FIELDS: &[(&str, &str)] = &[
    ("number", "number"),
    ("client", "client"),
    ("starts_on", "starts_on"),
    ("ends_on", "ends_on"),
    ("support_level", "support_level"),
    ("services", "services"),
    ("tariff", "tariff"),
    ("hourly_rate", "hourly_rate"),
    ("limit_reaction", "limit_reaction"),
    ("limits", "limits"),
    ("limits.value", "limits"),
    ("limits.unit", "limits"),
    ("limits.per", "limits"),
];

/// The limit reactions a contract may choose.
pub const REACTIONS: [&str; 4] = ["accept_and_flag", "offer_extension", "defer", "refuse"];

impl ContractForm {
    /// The form as the desk's input; a number that does not parse is a field error.
    fn input(&self) -> Result<ContractInput, FieldError> {
        let money = |field: &'static str, text: &str| -> Result<f64, FieldError> {
            let text = text.trim().replace(',', ".").replace(' ', "");
            if text.is_empty() {
                return Ok(0.0);
            }
            text.parse()
                .map_err(|_| FieldError::new(field, "must be a number"))
        };
        let limit = |field: &'static str, text: &str, unit: &str, per: &str| {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            let value: f64 = text
                .parse()
                .map_err(|_| FieldError::new(field, "must be a number"))?;
            Ok::<_, FieldError>(Some(LimitInput {
                value: Some(value),
                unit: Some(unit.to_owned()),
                per: Some(per.to_owned()),
            }))
        };
        let limits = [
            limit(
                "tickets_per_month",
                &self.tickets_per_month,
                "tickets",
                "month",
            )?,
            limit("hours_per_month", &self.hours_per_month, "hours", "month")?,
            limit(
                "tickets_per_contact_day",
                &self.tickets_per_contact_day,
                "tickets",
                "contact_day",
            )?,
            limit("license_keys", &self.license_keys, "license_keys", "period")?,
        ];
        let list = |text: &str| -> Vec<String> {
            text.split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Ok(ContractInput {
            number: self.number.clone(),
            client: self.client.clone(),
            starts_on: self.starts_on.clone(),
            ends_on: self.ends_on.clone(),
            support_level: optional(&self.support_level),
            services: list(&self.services),
            tariff: money("tariff", &self.tariff)?,
            hourly_rate: money("hourly_rate", &self.hourly_rate)?,
            after_hours_rate: 0.0,
            rounding_minutes: 0,
            billable_services: Vec::new(),
            limits: limits.into_iter().flatten().collect(),
            limit_reaction: optional(&self.limit_reaction),
            external_id: None,
        })
    }

    fn from_contract(c: &okno_store::Contract) -> ContractForm {
        let t = &c.terms;
        let number = |v: Option<i64>| v.map_or_else(String::new, |v| v.to_string());
        let roubles = |kopecks: i64| {
            if kopecks % 100 == 0 {
                (kopecks / 100).to_string()
            } else {
                format!("{}.{:02}", kopecks / 100, kopecks % 100)
            }
        };
        ContractForm {
            csrf: String::new(),
            number: t.number.clone(),
            client: c.client_code.clone(),
            starts_on: t.starts_on.to_string(),
            ends_on: t.ends_on.to_string(),
            support_level: t.support_level.clone().unwrap_or_default(),
            services: t.services.join(", "),
            tariff: roubles(t.tariff),
            hourly_rate: roubles(t.hourly_rate),
            tickets_per_month: number(t.limits.tickets_per_month),
            hours_per_month: number(t.limits.hours_per_month),
            tickets_per_contact_day: number(t.limits.tickets_per_contact_day),
            license_keys: number(t.limits.license_keys),
            limit_reaction: t.limit_reaction.clone(),
        }
    }
}

pub struct ContractRow {
    pub href: String,
    pub number: String,
    pub client: String,
    pub period: String,
    pub level: String,
}

#[derive(Template)]
#[template(path = "admin_contracts.html")]
pub struct ContractsTemplate {
    pub ctx: Ctx,
    pub rows: Vec<ContractRow>,
    pub next_page: Option<String>,
}

async fn contracts(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<AfterQuery>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageContracts)?;
    let after = query.after.as_deref().and_then(|a| a.parse().ok());
    let items = state
        .desk
        .contracts(&page.user, None, after, ADMIN_PAGE)
        .await?;
    let next_page = (items.len() == ADMIN_PAGE as usize)
        .then(|| format!("/admin/contracts?after={}", items[items.len() - 1].id));
    let rows = items
        .iter()
        .map(|c| ContractRow {
            href: format!("/admin/contracts/{}", c.id),
            number: c.terms.number.clone(),
            client: c.client_code.clone(),
            period: format!("{} — {}", c.terms.starts_on, c.terms.ends_on),
            level: c.terms.support_level.clone().unwrap_or_default(),
        })
        .collect();
    let view = ContractsTemplate {
        ctx: page.ctx,
        rows,
        next_page,
    };
    Ok(render(StatusCode::OK, &view))
}

#[derive(Template)]
#[template(path = "admin_contract.html")]
pub struct ContractTemplate {
    pub ctx: Ctx,
    /// `new` or the contract's id.
    pub id: String,
    pub form: ContractForm,
    pub errors: FormErrors,
    pub reactions: [&'static str; 4],
}

/// `new` or a contract id.
fn contract_id(raw: &str) -> Result<Option<i64>, PageError> {
    if raw == "new" {
        Ok(None)
    } else {
        raw.parse().map(Some).map_err(|_| PageError::NOT_FOUND)
    }
}

async fn contract_form(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageContracts)?;
    let form = match contract_id(&id)? {
        None => ContractForm::default(),
        Some(id) => ContractForm::from_contract(&state.desk.contract(&page.user, id).await?),
    };
    Ok(contract_page(page.ctx, id, form, FormErrors::default()))
}

/// The contract form, with the errors of a refused save (422) or none (200).
fn contract_page(ctx: Ctx, id: String, form: ContractForm, errors: FormErrors) -> Response {
    let status = errors.status();
    let view = ContractTemplate {
        ctx,
        id,
        form,
        errors,
        reactions: REACTIONS,
    };
    render(status, &view)
}

async fn save_contract(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<ContractForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageContracts)?;
    page.check_csrf(&form.csrf)?;
    let existing = contract_id(&id)?;
    let outcome = match form.input() {
        Ok(input) => state.desk.save_contract(&page.user, existing, input).await,
        Err(e) => Err(e.into()),
    };
    let errors = match outcome {
        Ok((contract, _)) => {
            return Ok(
                Redirect::to(&format!("/admin/contracts/{}?saved=1", contract.id)).into_response(),
            );
        }
        Err(DeskError::Domain(DomainError::Invalid(e))) => {
            // The form's own number fields name themselves.
            let own: &[(&str, &str)] = &[
                ("tickets_per_month", "tickets_per_month"),
                ("hours_per_month", "hours_per_month"),
                ("tickets_per_contact_day", "tickets_per_contact_day"),
                ("license_keys", "license_keys"),
            ];
            let known: Vec<(&str, &'static str)> =
                CONTRACT_FIELDS.iter().chain(own).copied().collect();
            FormErrors::from_field(&page.ctx, &e, &known)
        }
        Err(e) => refusal(&page.ctx, e, CONTRACT_FIELDS)?,
    };
    Ok(contract_page(page.ctx, id, form, errors))
}

// ---- Users ----

/// The user form's fields, as typed.
#[derive(Deserialize, Default)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub lines: String,
    #[serde(default)]
    pub pools: String,
    #[serde(default)]
    pub password: String,
    active: Option<String>,
}

impl UserForm {
    pub fn active(&self) -> bool {
        self.active.is_some()
    }

    fn input(&self) -> UserInput {
        UserInput {
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            client: self.client.clone(),
            lines: self.lines.clone(),
            pools: self.pools.clone(),
            password: self.password.clone(),
            active: self.active(),
        }
    }
}

const USER_FIELDS: &[(&str, &str)] = &[
    ("email", "email"),
    ("name", "name"),
    ("role", "role"),
    ("client", "client"),
    ("lines", "lines"),
    ("pools", "pools"),
    ("password", "password"),
];

pub const ROLES: [&str; 4] = ["client", "specialist", "manager", "admin"];

pub struct UserRow {
    pub href: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub client: String,
    pub lines: String,
    pub pools: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct UsersTemplate {
    pub ctx: Ctx,
    pub rows: Vec<UserRow>,
    pub next_page: Option<String>,
    pub form: UserForm,
    pub errors: FormErrors,
    pub roles: [&'static str; 4],
}

async fn users_view(
    state: &AppState,
    page: Page,
    after: Option<i64>,
    form: UserForm,
    errors: FormErrors,
) -> Result<UsersTemplate, PageError> {
    let records = state
        .desk
        .user_records(&page.user, after.map(UserId), ADMIN_PAGE)
        .await?;
    let next_page = (records.len() == ADMIN_PAGE as usize).then(|| {
        format!(
            "/admin/users?after={}",
            records[records.len() - 1].user.id.0
        )
    });
    let rows = records
        .into_iter()
        .map(|r| UserRow {
            href: format!("/admin/users/{}", r.user.id.0),
            email: r.user.email.to_string(),
            name: r.user.name.clone(),
            role: page.ctx.t(&format!("role-{}", r.user.role.as_str())),
            client: r.client_code.unwrap_or_default(),
            lines: lines_to_text(&r.user.lines),
            pools: r.pools.join(", "),
            active: r.active,
        })
        .collect();
    Ok(UsersTemplate {
        ctx: page.ctx,
        rows,
        next_page,
        form,
        errors,
        roles: ROLES,
    })
}

async fn users(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<AfterQuery>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageUsers)?;
    let after = query.after.as_deref().and_then(|a| a.parse().ok());
    let form = UserForm {
        role: "specialist".into(),
        active: Some(String::new()),
        ..UserForm::default()
    };
    let view = users_view(&state, page, after, form, FormErrors::default()).await?;
    Ok(render(StatusCode::OK, &view))
}

async fn add_user(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageUsers)?;
    page.check_csrf(&form.csrf)?;
    match state.desk.add_user(&page.user, &form.input()).await {
        Ok(id) => Ok(Redirect::to(&format!("/admin/users/{}?saved=1", id.0)).into_response()),
        Err(e) => {
            let errors = match e {
                // The only clash on creation: the e-mail is someone's login already.
                DeskError::Domain(DomainError::Conflict(_)) => FormErrors {
                    fields: vec![("email", page.ctx.t("admin-email-taken"))],
                    other: None,
                },
                e => refusal(&page.ctx, e, USER_FIELDS)?,
            };
            let form = UserForm {
                password: String::new(),
                ..form
            };
            let view = users_view(&state, page, None, form, errors).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
        }
    }
}

#[derive(Template)]
#[template(path = "admin_user.html")]
pub struct UserTemplate {
    pub ctx: Ctx,
    pub id: i64,
    pub form: UserForm,
    pub errors: FormErrors,
    pub roles: [&'static str; 4],
}

fn user_id(raw: &str) -> Result<UserId, PageError> {
    raw.parse().map(UserId).map_err(|_| PageError::NOT_FOUND)
}

async fn user_form(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageUsers)?;
    let id = user_id(&id)?;
    let record = state.desk.user_record(&page.user, id).await?;
    let form = UserForm {
        csrf: String::new(),
        email: record.user.email.to_string(),
        name: record.user.name.clone(),
        role: record.user.role.as_str().to_owned(),
        client: record.client_code.clone().unwrap_or_default(),
        lines: lines_to_text(&record.user.lines),
        pools: record.pools.join(", "),
        password: String::new(),
        active: record.active.then(String::new),
    };
    Ok(user_page(page.ctx, id, form, FormErrors::default()))
}

/// A user's form, with the errors of a refused save (422) or none (200).
fn user_page(ctx: Ctx, id: UserId, form: UserForm, errors: FormErrors) -> Response {
    let status = errors.status();
    let view = UserTemplate {
        ctx,
        id: id.0,
        form,
        errors,
        roles: ROLES,
    };
    render(status, &view)
}

async fn change_user(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageUsers)?;
    page.check_csrf(&form.csrf)?;
    let id = user_id(&id)?;
    match state.desk.change_user(&page.user, id, &form.input()).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users/{}?saved=1", id.0)).into_response()),
        Err(e) => {
            let errors = refusal(&page.ctx, e, USER_FIELDS)?;
            Ok(user_page(page.ctx, id, form, errors))
        }
    }
}

// ---- Skills and service priorities ----

pub struct SpecialistRow {
    pub id: i64,
    pub name: String,
    pub lines: String,
    pub skills: String,
}

pub struct PriorityRow {
    pub user: i64,
    pub name: String,
    pub priority: String,
    pub comment: String,
}

pub struct ServiceSkillsRow {
    pub code: String,
    pub name: String,
    pub skills: String,
    pub priorities: Vec<PriorityRow>,
}

#[derive(Template)]
#[template(path = "admin_skills.html")]
pub struct SkillsTemplate {
    pub ctx: Ctx,
    pub specialists: Vec<SpecialistRow>,
    pub services: Vec<ServiceSkillsRow>,
    pub error: Option<String>,
}

async fn skills_view(
    state: &AppState,
    page: Page,
    error: Option<String>,
) -> Result<SkillsTemplate, PageError> {
    let overview = state.desk.skills_overview(&page.user).await?;
    let lang = page.ctx.lang.code();
    // Every candidate list holds every active staff member; the first one names them.
    let specialists = overview
        .first()
        .map(|s| {
            s.candidates
                .iter()
                .map(|c| SpecialistRow {
                    id: c.user.0,
                    name: c.name.clone(),
                    lines: lines_to_text(&c.lines),
                    skills: c.skills.join(", "),
                })
                .collect()
        })
        .unwrap_or_default();
    let services = overview
        .into_iter()
        .map(|s| ServiceSkillsRow {
            name: s.name.get(lang).to_owned(),
            skills: s.skills.join(", "),
            priorities: s
                .candidates
                .iter()
                .map(|c| PriorityRow {
                    user: c.user.0,
                    name: c.name.clone(),
                    priority: c
                        .service_priority
                        .map_or_else(String::new, |p| p.to_string()),
                    comment: c.comment.clone(),
                })
                .collect(),
            code: s.code,
        })
        .collect();
    Ok(SkillsTemplate {
        ctx: page.ctx,
        specialists,
        services,
        error,
    })
}

async fn skills(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    allowed(&page, Action::ManageTeam)?;
    let view = skills_view(&state, page, None).await?;
    Ok(render(StatusCode::OK, &view))
}

#[derive(Deserialize)]
pub struct SkillsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    skills: String,
}

fn skill_list(text: &str) -> Vec<String> {
    text.split(',').map(str::to_owned).collect()
}

/// Back to the skills page, or the page again with the refusal on top.
async fn skills_done(
    state: &AppState,
    page: Page,
    outcome: okno_desk::Result<()>,
) -> Result<Response, PageError> {
    match outcome {
        Ok(()) => Ok(Redirect::to("/admin/skills?saved=1").into_response()),
        Err(e) => {
            let errors = refusal(&page.ctx, e, &[])?;
            let view = skills_view(state, page, errors.other).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
        }
    }
}

async fn save_user_skills(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<SkillsForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageTeam)?;
    page.check_csrf(&form.csrf)?;
    let who = user_id(&id)?;
    let outcome = state
        .desk
        .set_skills(&page.user, who, &skill_list(&form.skills))
        .await;
    skills_done(&state, page, outcome).await
}

async fn save_service_skills(
    State(state): State<AppState>,
    page: Page,
    Path(code): Path<String>,
    Form(form): Form<SkillsForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageTeam)?;
    page.check_csrf(&form.csrf)?;
    let outcome = state
        .desk
        .set_service_skills(&page.user, &code, &skill_list(&form.skills))
        .await;
    skills_done(&state, page, outcome).await
}

#[derive(Deserialize)]
pub struct PriorityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    comment: String,
}

async fn save_priority(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<PriorityForm>,
) -> Result<Response, PageError> {
    allowed(&page, Action::ManageTeam)?;
    page.check_csrf(&form.csrf)?;
    let who = user_id(&form.user)?;
    let priority = match form.priority.trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| FieldError::new("priority", "a priority is 1 (first) to 99").into()),
    };
    let outcome = match priority {
        Ok(priority) => {
            state
                .desk
                .set_specialist_priority(&page.user, who, &form.service, priority, &form.comment)
                .await
        }
        Err(e) => Err(e),
    };
    skills_done(&state, page, outcome).await
}
