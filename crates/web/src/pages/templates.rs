//! The page templates (askama, auto-escaped: `crates/web/templates/*.html`) and the plain
//! view rows they show, built from domain values in the viewer's language and zone.

use super::i18n::Lang;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use fluent_templates::fluent_bundle::FluentValue;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use okno_domain::*;

/// What every template knows: language, zone, the viewer (if logged in) and the CSRF token.
#[derive(Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub zone: TimeZone,
    /// The desk's clock at the request ("today", "within the week").
    pub now: Timestamp,
    pub path: String,
    /// The page's query string without `lang=` (kept by the language switch).
    pub query: String,
    pub user: Option<User>,
    pub csrf: String,
    /// What the last action did, shown once at the top of the page.
    pub flash: Option<String>,
}

impl Ctx {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    pub fn count(&self, key: &str, count: usize) -> String {
        self.lang.count(key, count as i64)
    }

    /// A message with one text argument `$value`.
    pub fn with(&self, key: &str, value: &str) -> String {
        self.lang
            .t_args(key, &[("value", FluentValue::from(value.to_owned()))])
    }

    pub fn when(&self, at: Option<Timestamp>) -> String {
        match at {
            Some(at) => format!(
                "{}{}",
                self.lang.instant(at, &self.zone),
                self.zone_mark(at)
            ),
            None => "—".to_owned(),
        }
    }

    /// ` UTC+7` when the viewer's zone is not the firm's at `at`; empty otherwise.
    pub fn zone_mark(&self, at: Timestamp) -> String {
        let offset = self.zone.to_offset(at);
        if offset == super::i18n::firm_zone().to_offset(at) {
            return String::new();
        }
        let seconds = offset.seconds();
        let sign = if seconds < 0 { '-' } else { '+' };
        let (hours, minutes) = (seconds.abs() / 3600, seconds.abs() % 3600 / 60);
        if minutes == 0 {
            format!(" UTC{sign}{hours}")
        } else {
            format!(" UTC{sign}{hours}:{minutes:02}")
        }
    }

    pub fn status(&self, status: TicketStatus) -> String {
        self.t(&format!("status-{}", status.as_str()))
    }

    pub fn is_staff(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.is_staff())
    }

    pub fn is_manager(&self) -> bool {
        self.may("read_reports")
    }

    /// Whether the signed-in person may do the policy's action named `code` (what a page
    /// offers follows the same rule the desk enforces).
    pub fn may(&self, code: &str) -> bool {
        let action = okno_domain::policy::Action::parse(code);
        match (&self.user, action) {
            (Some(user), Some(action)) => okno_domain::policy::person_allows(user, action),
            _ => false,
        }
    }

    pub fn user_name(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.name.as_str())
    }

    pub fn role(&self) -> String {
        self.user
            .as_ref()
            .map(|u| self.t(&format!("role-{}", u.role.as_str())))
            .unwrap_or_default()
    }

    /// This page in the other language.
    pub fn switch_href(&self) -> String {
        let other = self.lang.other().code();
        if self.query.is_empty() {
            format!("{}?lang={other}", self.path)
        } else {
            format!("{}?{}&lang={other}", self.path, self.query)
        }
    }

    pub fn other_lang(&self) -> &'static str {
        match self.lang.other() {
            Lang::Ru => "Русский",
            Lang::En => "English",
        }
    }
}

/// Renders a template; a template bug answers 500 rather than half a page.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// A user's field error in the viewer's language (the domain's messages are English).
pub fn field_message(ctx: &Ctx, error: &FieldError) -> String {
    if error.message == "must not be empty" {
        return ctx.t("field-required");
    }
    if let Some(max) = error
        .message
        .strip_prefix("at most ")
        .and_then(|rest| rest.strip_suffix(" characters"))
    {
        return ctx.with("field-too-long", max);
    }
    match error.field {
        "client" => ctx.t("field-client"),
        "requester" => ctx.t("field-requester"),
        "service" => ctx.t("field-service"),
        _ => ctx.t("field-invalid"),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorTemplate {
    pub ctx: Ctx,
    pub title: String,
    pub message: String,
}

impl ErrorTemplate {
    pub fn new(ctx: Ctx, title: &str, message: &str) -> Self {
        ErrorTemplate {
            title: ctx.t(title),
            message: ctx.t(message),
            ctx,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginTemplate {
    pub ctx: Ctx,
    pub email: String,
    pub error: Option<String>,
    /// The login form's own CSRF token (there is no session yet).
    pub token: String,
    /// The page to return to after logging in.
    pub next: String,
}

/// The login's second step: the code from the authenticator app (or a recovery code).
#[derive(Template)]
#[template(path = "login_code.html")]
pub struct LoginCodeTemplate {
    pub ctx: Ctx,
    pub error: Option<String>,
    pub token: String,
    pub next: String,
}

/// One line of the ticket list.
pub struct TicketRow {
    pub href: String,
    pub number: String,
    pub subject: String,
    pub status: &'static str,
    pub status_label: String,
    pub client: String,
    pub requester: String,
    pub next_step: String,
    pub updated: String,
    /// Greyed: the ticket waits on us but its calendar is not running now (003).
    pub paused: bool,
}

impl TicketRow {
    pub fn new(ctx: &Ctx, t: &Ticket, calendar_idle: bool) -> Self {
        TicketRow {
            href: format!("/tickets/{}", t.number()),
            number: t.number().to_string(),
            subject: t.subject.clone(),
            status: t.status.as_str(),
            status_label: ctx.status(t.status),
            client: t.client_code.clone(),
            requester: t.requester_name.clone(),
            next_step: ctx.when(t.next_step_at),
            updated: ctx.when(Some(t.updated_at)),
            paused: calendar_idle
                && matches!(t.status, TicketStatus::New | TicketStatus::InProgress),
        }
    }
}

pub struct Link {
    pub href: String,
    pub label: String,
    pub active: bool,
}

pub struct ServiceLink {
    pub href: String,
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomeTemplate {
    pub ctx: Ctx,
    pub rows: Vec<TicketRow>,
    pub filters: Vec<Link>,
    pub services: Vec<ServiceLink>,
    pub next_page: Option<String>,
    pub first_page: Option<String>,
    pub feed: Vec<super::workplaces::FeedRow>,
    pub panels: super::portal::PortalPanels,
}

impl HomeTemplate {
    #[allow(clippy::too_many_arguments)] // one per part of the page
    pub fn new(
        ctx: Ctx,
        tickets: &[Ticket],
        status: Option<TicketStatus>,
        next_cursor: Option<TicketId>,
        paged: bool,
        services: Vec<ServiceLink>,
        calendar_idle: bool,
        feed: Vec<super::workplaces::FeedRow>,
        panels: super::portal::PortalPanels,
    ) -> Self {
        let status_query = |s: Option<TicketStatus>| match s {
            Some(s) => format!("?status={}", s.as_str()),
            None => String::new(),
        };
        let mut filters = vec![Link {
            href: "/".into(),
            label: ctx.t("filter-all"),
            active: status.is_none(),
        }];
        filters.extend(TicketStatus::ALL.iter().map(|&s| Link {
            href: format!("/{}", status_query(Some(s))),
            label: ctx.status(s),
            active: status == Some(s),
        }));
        let next_page = next_cursor.map(|cursor| {
            let sep = if status.is_some() { '&' } else { '?' };
            format!("/{}{sep}cursor={cursor}", status_query(status))
        });
        HomeTemplate {
            rows: tickets
                .iter()
                .map(|t| TicketRow::new(&ctx, t, calendar_idle))
                .collect(),
            first_page: paged.then(|| format!("/{}", status_query(status))),
            filters,
            services,
            next_page,
            feed,
            panels,
            ctx,
        }
    }
}

pub struct CommentRow {
    pub anchor: String,
    pub author: String,
    pub at: String,
    pub body: String,
    pub internal: bool,
    pub mine: bool,
}

/// The conversation's rows, for the ticket page and its live fragment alike.
pub fn comment_rows(ctx: &Ctx, comments: &[Comment]) -> Vec<CommentRow> {
    let me = ctx.user.as_ref().map(|u| u.id);
    comments
        .iter()
        .map(|c| CommentRow {
            anchor: format!("comment-{}", c.id),
            author: c.author_name.clone(),
            at: ctx.when(Some(c.created_at)),
            body: c.body.clone(),
            internal: c.internal,
            mine: c.author_id.is_some() && c.author_id == me,
        })
        .collect()
}

pub struct AttachmentRow {
    pub href: String,
    pub name: String,
    pub size: String,
    pub at: String,
}

pub struct HistoryRow {
    pub at: String,
    pub actor: String,
    pub text: String,
    pub internal: bool,
}

pub struct TaskRow {
    pub href: String,
    pub title: String,
    pub line: String,
    pub due: String,
    pub state: String,
    pub open: bool,
}

/// Everything the ticket page shows, gathered through the desk's visibility rules.
pub struct TicketData {
    pub ticket: Ticket,
    pub client_name: String,
    pub service_name: String,
    pub comments: Vec<Comment>,
    pub attachments: Vec<Attachment>,
    pub history: Vec<HistoryEvent>,
    pub tasks: Vec<Task>,
    pub rating: Option<okno_store::Rating>,
    /// The largest file the desk takes, in bytes (checked in the browser before sending).
    pub upload_limit: u64,
    /// The ticket's promise in the words and zone of the desk's messages to the client.
    pub promise: Option<String>,
}

/// What the viewer typed into the ticket page's forms, kept when it is shown again.
#[derive(Default)]
pub struct TicketForms {
    pub comment: String,
    pub internal: bool,
    pub comment_error: Option<String>,
    pub upload_error: Option<String>,
}

#[derive(Template)]
#[template(path = "ticket.html")]
pub struct TicketTemplate {
    pub ctx: Ctx,
    pub href: String,
    pub number: String,
    pub subject: String,
    pub description: String,
    pub status: &'static str,
    pub status_label: String,
    pub is_draft: bool,
    pub may_submit: bool,
    pub service: String,
    pub client: String,
    pub requester: String,
    pub next_step: String,
    pub created: String,
    pub comments: Vec<CommentRow>,
    pub attachments: Vec<AttachmentRow>,
    pub history: Vec<HistoryRow>,
    pub tasks: Vec<TaskRow>,
    pub forms: TicketForms,
    /// "We will answer by Tue 14:00", while the next step is ours.
    pub promise: Option<String>,
    /// The client may rate it (solved, and the viewer is a client).
    pub may_rate: bool,
    pub rating: Option<i64>,
    /// The conversation's version, for its live refresh.
    pub stamp: String,
    pub upload: UploadLimit,
    /// Staff: the running timer, as on the desk and the task page.
    pub timer: Option<super::specialist::TimerView>,
}

impl TicketTemplate {
    pub fn new(ctx: Ctx, data: TicketData, forms: TicketForms) -> Self {
        let t = &data.ticket;
        let me = ctx.user.as_ref().map(|u| u.id);
        let comments = comment_rows(&ctx, &data.comments);
        let attachments = data
            .attachments
            .iter()
            .map(|a| AttachmentRow {
                href: format!("/api/v1/tickets/{}/attachments/{}", a.ticket_id, a.id),
                name: a.file_name.clone(),
                size: file_size(a.size),
                at: ctx.when(Some(a.created_at)),
            })
            .collect();
        let history = data
            .history
            .iter()
            .map(|h| HistoryRow {
                at: ctx.when(Some(h.at)),
                actor: h
                    .actor_name
                    .clone()
                    .unwrap_or_else(|| ctx.t("actor-system")),
                text: history_text(&ctx, h),
                internal: !h.public,
            })
            .collect();
        let tasks = data
            .tasks
            .iter()
            .map(|task| TaskRow {
                href: format!("/tasks/{}", task.id.0),
                title: task.title_in(ctx.lang.code()).to_owned(),
                line: task
                    .line
                    .map(|l| ctx.with("task-line", &l.get().to_string()))
                    .or_else(|| task.pool.clone())
                    .unwrap_or_default(),
                due: ctx.when(task.due_at),
                state: ctx.t(&format!("task-state-{}", task.state.as_str())),
                open: task.state == TaskState::Open,
            })
            .collect();
        TicketTemplate {
            href: format!("/tickets/{}", t.number()),
            number: t.number().to_string(),
            subject: t.subject.clone(),
            description: t.description.clone(),
            status: t.status.as_str(),
            status_label: ctx.status(t.status),
            is_draft: t.status == TicketStatus::Draft,
            may_submit: t.status == TicketStatus::Draft && Some(t.requester_id) == me,
            service: data.service_name.clone(),
            client: format!("{} ({})", data.client_name, t.client_code),
            requester: t.requester_name.clone(),
            next_step: ctx.when(t.next_step_at),
            created: ctx.when(Some(t.created_at)),
            promise: data
                .promise
                .as_ref()
                .map(|when| ctx.with("ticket-promise", when)),
            may_rate: !ctx.is_staff()
                && matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed),
            rating: data.rating.as_ref().map(|r| r.score),
            stamp: super::portal::conversation_stamp(t),
            upload: UploadLimit::new(&ctx, data.upload_limit),
            timer: None,
            comments,
            attachments,
            history,
            tasks,
            forms,
            ctx,
        }
    }
}

/// A code from a workflow file or the desk (`outcome`, `classification`, `task-kind`) in
/// the viewer's language: its message `{prefix}-{code}`; a code an admin's own workflow
/// brought without a message reads as words, never as `snake_case`.
pub fn code_label(ctx: &Ctx, prefix: &str, code: &str) -> String {
    ctx.lang
        .try_t(&format!("{prefix}-{code}"))
        .unwrap_or_else(|| {
            let words = code.replace(['_', '-'], " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
}

pub(super) fn history_text(ctx: &Ctx, h: &HistoryEvent) -> String {
    let status = |code: &Option<String>| {
        code.as_deref()
            .and_then(TicketStatus::parse)
            .map(|s| ctx.status(s))
            .unwrap_or_default()
    };
    let after = h.after.clone().unwrap_or_default();
    match h.kind.as_str() {
        "created" if h.after.as_deref() == Some("draft") => ctx.t("history-draft-created"),
        "created" => ctx.t("history-created"),
        "status" => ctx.lang.t_args(
            "history-status",
            &[
                ("before", FluentValue::from(status(&h.before))),
                ("after", FluentValue::from(status(&h.after))),
            ],
        ),
        "comment" if h.public => ctx.t("history-comment"),
        "comment" => ctx.t("history-internal-comment"),
        "attachment" => ctx.with("history-attachment", &after),
        "task_created" => ctx.with(
            "history-task-created",
            &code_label(ctx, "task-kind", &after),
        ),
        "task_completed" => {
            // Stored as `task id: outcome`.
            let outcome = after.split_once(": ").map_or(after.as_str(), |(_, o)| o);
            ctx.with(
                "history-task-completed",
                &code_label(ctx, "outcome", outcome),
            )
        }
        "classification" => ctx.with(
            "history-classification",
            &code_label(ctx, "classification", &after),
        ),
        "watcher_added" => ctx.t("history-watcher-added"),
        "transferred" => {
            // Stored as `line N: reason`.
            let (line, reason) = after.split_once(": ").unwrap_or((after.as_str(), ""));
            ctx.lang.t_args(
                "history-transferred",
                &[
                    (
                        "line",
                        FluentValue::from(line.trim_start_matches("line ").to_owned()),
                    ),
                    ("reason", FluentValue::from(reason.to_owned())),
                ],
            )
        }
        "draft_edited" => ctx.t("history-draft-edited"),
        "imported" => ctx.with("history-imported", &after),
        "field" => ctx.with("history-field", &after),
        "rated" => ctx.with("history-rated", &after),
        other => ctx
            .lang
            .try_t(&format!("history-kind-{other}"))
            .unwrap_or_else(|| ctx.t("history-other")),
    }
}

fn file_size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// The new-ticket form: what was typed, and what is wrong with it.
#[derive(Default)]
pub struct TicketFormInput {
    pub service: String,
    pub subject: String,
    pub description: String,
    pub client: String,
    /// The contact a staff member registers the ticket for (email or user id).
    pub requester: String,
    pub draft: bool,
    pub nonce: String,
    /// The call the ticket is opened from (the caller's card), logged on it once opened.
    pub call: String,
}

#[derive(Default)]
pub struct TicketFormErrors {
    pub service: Option<String>,
    pub subject: Option<String>,
    pub description: Option<String>,
    pub client: Option<String>,
    pub requester: Option<String>,
    pub files: Option<String>,
    pub other: Option<String>,
}

#[derive(Template)]
#[template(path = "new_ticket.html")]
pub struct NewTicketTemplate {
    pub ctx: Ctx,
    pub service_name: String,
    pub service_description: String,
    pub input: TicketFormInput,
    pub errors: TicketFormErrors,
    pub upload: UploadLimit,
    /// Where the browser keeps the unsent text (per person and service).
    pub autosave_key: String,
}

/// Files a new ticket may carry.
pub const MAX_FILES: usize = 5;

/// The desk's upload limit, rendered into the page so the browser says "too large" before
/// sending; the server still refuses a larger body with 413.
pub struct UploadLimit {
    pub bytes: u64,
    pub max_files: usize,
    /// "up to 25.0 MB a file, 5 files at most".
    pub hint: String,
    pub too_large: String,
    pub too_many: String,
}

impl UploadLimit {
    pub fn new(ctx: &Ctx, bytes: u64) -> Self {
        let size = file_size(i64::try_from(bytes).unwrap_or(i64::MAX));
        UploadLimit {
            bytes,
            max_files: MAX_FILES,
            hint: ctx.lang.t_args(
                "upload-limit-hint",
                &[
                    ("size", FluentValue::from(size.clone())),
                    ("count", FluentValue::from(MAX_FILES as i64)),
                ],
            ),
            too_large: ctx.with("upload-too-large", &size),
            too_many: ctx.count("upload-too-many", MAX_FILES),
        }
    }
}
