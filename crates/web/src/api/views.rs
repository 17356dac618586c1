//! The API's JSON shapes (the contract in CONTRACT.md), built from domain values.

use jiff::Timestamp;
use okno_domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.to_string()
}

#[derive(Serialize, ToSchema)]
pub struct TicketView {
    /// The ticket's id (a string of digits).
    pub id: String,
    /// Human-readable number, `OK-000123`.
    pub number: String,
    pub service: String,
    pub subject: String,
    pub description: String,
    /// Client-facing status: draft, new, in_progress, waiting_client, resolved, closed.
    pub status: String,
    /// The client organization's code.
    pub client: String,
    pub requester: String,
    pub classification: Option<String>,
    /// When something will next happen with the ticket (RFC 3339, UTC).
    pub next_step_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Ticket> for TicketView {
    fn from(t: Ticket) -> Self {
        TicketView {
            id: t.id.to_string(),
            number: t.number().to_string(),
            service: t.service,
            subject: t.subject,
            description: t.description,
            status: t.status.to_string(),
            client: t.client_code,
            requester: t.requester_name,
            classification: t.classification.map(|c| c.to_string()),
            next_step_at: t.next_step_at.map(rfc3339),
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TicketPage {
    pub items: Vec<TicketView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// A service code from `GET /api/v1/services`, e.g. `question`; left out: the
    /// configured default service (`contracts.toml`).
    #[serde(default)]
    pub service: String,
    pub subject: String,
    #[serde(default)]
    pub description: String,
    /// Client code; contacts may omit it (their own organization), staff must give it.
    pub client: Option<String>,
    /// Staff registering a ticket for a client (say, by phone): the contact's email or user
    /// id; the contact must belong to `client`, and the ticket is then the contact's own.
    pub requester: Option<String>,
    /// Save as a draft, to send later with `POST /tickets/{id}/submit`.
    #[serde(default)]
    pub draft: bool,
    /// The client's URGENT mark: the ticket counts as critical in the queues.
    #[serde(default)]
    pub urgent: bool,
    /// The id of the client's equipment the ticket is about (`GET /clients/{code}/equipment`).
    pub equipment: Option<String>,
}

/// A saved draft's new text; only its author changes it, only while it is a draft.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDraft {
    pub subject: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub id: String,
    pub ticket_id: String,
    pub author: String,
    pub body: String,
    pub internal: bool,
    pub created_at: String,
    /// On a client's comment just posted to a closed ticket: `true` when it reopened it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reopened: Option<bool>,
    /// On a client's comment just posted to a ticket closed too long ago: the number of
    /// the new ticket it opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<String>,
}

impl From<okno_desk::tickets::Posted> for CommentView {
    fn from(posted: okno_desk::tickets::Posted) -> Self {
        let mut view = CommentView::from(posted.comment);
        match posted.outcome {
            Some(okno_desk::closed::ClosedOutcome::Reopened(_)) => view.reopened = Some(true),
            Some(okno_desk::closed::ClosedOutcome::FollowUp(new)) => {
                view.reopened = Some(false);
                view.follow_up = Some(new.number().to_string());
            }
            None => {}
        }
        view
    }
}

impl From<Comment> for CommentView {
    fn from(c: Comment) -> Self {
        CommentView {
            id: c.id.to_string(),
            ticket_id: c.ticket_id.to_string(),
            author: c.author_name,
            body: c.body,
            internal: c.internal,
            created_at: rfc3339(c.created_at),
            reopened: None,
            follow_up: None,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComment {
    pub body: String,
    /// Staff only: a note the client never sees.
    #[serde(default)]
    pub internal: bool,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    pub id: String,
    pub at: String,
    pub actor: Option<String>,
    pub kind: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub public: bool,
}

impl From<HistoryEvent> for HistoryView {
    fn from(h: HistoryEvent) -> Self {
        HistoryView {
            id: h.id.to_string(),
            at: rfc3339(h.at),
            actor: h.actor_name,
            kind: h.kind,
            before: h.before,
            after: h.after,
            public: h.public,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: String,
    pub ticket_id: String,
    pub comment_id: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: String,
    /// Where to download it.
    pub url: String,
}

impl From<Attachment> for AttachmentView {
    fn from(a: Attachment) -> Self {
        AttachmentView {
            url: format!("/api/v1/tickets/{}/attachments/{}", a.ticket_id, a.id),
            id: a.id.to_string(),
            ticket_id: a.ticket_id.to_string(),
            comment_id: a.comment_id.map(|c| c.to_string()),
            file_name: a.file_name,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            created_at: rfc3339(a.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    pub ticket_id: String,
    pub kind: String,
    pub title: String,
    pub line: Option<u8>,
    pub pool: Option<String>,
    pub assignee: Option<String>,
    pub due_at: Option<String>,
    pub priority: i32,
    pub state: String,
}

impl TaskView {
    /// The task with its title in the reader's language.
    pub fn of(t: Task, locale: &str) -> Self {
        TaskView {
            id: t.id.to_string(),
            ticket_id: t.ticket_id.to_string(),
            title: t.title_in(locale).to_owned(),
            kind: t.kind,
            line: t.line.map(Line::get),
            pool: t.pool,
            assignee: t.assignee_id.map(|a| a.to_string()),
            due_at: t.due_at.map(rfc3339),
            priority: t.priority,
            state: t.state.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceView {
    pub code: String,
    pub name: String,
    pub description: String,
    /// The workflow new tickets of this service follow.
    pub workflow: String,
    /// Extra fields of the service's ticket form.
    pub fields: Vec<FormFieldView>,
}

impl ServiceView {
    pub fn new(s: &okno_workflow::Service, lang: &str) -> Self {
        ServiceView {
            code: s.code.clone(),
            name: s.name.get(lang).to_owned(),
            description: s.description.get(lang).to_owned(),
            workflow: s.workflow.clone(),
            fields: s
                .fields
                .iter()
                .map(|f| FormFieldView {
                    code: f.code.clone(),
                    label: f.label.get(lang).to_owned(),
                    kind: serde_json::to_value(f.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    required: f.required,
                    options: f.options.clone(),
                })
                .collect(),
        }
    }
}

/// A field of a service's ticket form.
#[derive(Serialize, ToSchema)]
pub struct FormFieldView {
    pub code: String,
    pub label: String,
    /// `text`, `number`, `select`, `date` or `bool`.
    pub kind: String,
    pub required: bool,
    /// The choices of a `select` field.
    pub options: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub client: Option<String>,
    pub lines: Vec<u8>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The second factor's code (or a recovery code), for accounts that have one.
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// A bearer token for `Authorization: Bearer <token>`.
    pub token: String,
}
