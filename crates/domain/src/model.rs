//! The desk's nouns: people, organizations, tickets, tasks, comments, history.
//!
//! Instants are `jiff::Timestamp` (UTC); the store keeps them as unix milliseconds.

use crate::FieldError;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }
    )*};
}

id_type!(UserId, ClientId, TicketId, TaskId, CommentId, AttachmentId);

/// Declares a closed set of codes stored and shown as lowercase text.
macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            /// Parses a stored or submitted code; `None` for anything else.
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

code_enum!(
    /// What a user is to the desk.
    Role { Client = "client", Specialist = "specialist", Manager = "manager", Admin = "admin" }
);

code_enum!(
    /// The status the client sees. Internal progress lives in tasks, not here.
    TicketStatus {
        Draft = "draft",
        New = "new",
        InProgress = "in_progress",
        WaitingClient = "waiting_client",
        Resolved = "resolved",
        Closed = "closed",
    }
);

code_enum!(
    /// What line 1 decides a question is (004): it drives deadlines and the route.
    Classification { Question = "question", Bug = "bug", Critical = "critical", Improvement = "improvement" }
);

code_enum!(
    TaskState { Open = "open", Done = "done", Cancelled = "cancelled" }
);

impl Role {
    pub fn is_staff(self) -> bool {
        self != Role::Client
    }
}

impl TicketStatus {
    pub fn is_open(self) -> bool {
        !matches!(self, TicketStatus::Closed | TicketStatus::Draft)
    }
}

/// A support line: 1 consultants, 2 experienced specialists, 3 developers, 4 vendors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Line(u8);

impl Line {
    pub fn new(n: u8) -> Result<Self, FieldError> {
        if (1..=4).contains(&n) {
            Ok(Line(n))
        } else {
            Err(FieldError::new(
                "line",
                format!("a line is 1 to 4, not {n}"),
            ))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Line {
    type Error = FieldError;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Line::new(n)
    }
}

impl From<Line> for u8 {
    fn from(line: Line) -> u8 {
        line.0
    }
}

/// Lines as stored: a compact `"1,2"`.
pub fn lines_to_text(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| l.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn lines_from_text(text: &str) -> Vec<Line> {
    text.split(',')
        .filter_map(|s| s.trim().parse::<u8>().ok())
        .filter_map(|n| Line::new(n).ok())
        .collect()
}

/// The human-readable ticket number, `OK-000123`: the ticket's id, zero-padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketNumber(pub i64);

impl TicketNumber {
    pub const PREFIX: &'static str = "OK-";

    /// Accepts `OK-000123`, `ok-123` or a bare `123`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let digits = match text.get(..3) {
            Some(prefix) if prefix.eq_ignore_ascii_case(Self::PREFIX) => &text[3..],
            _ => text,
        };
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(TicketNumber)
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:06}", Self::PREFIX, self.0)
    }
}

/// An email address, lower-cased, checked just enough to route mail and log in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim().to_lowercase();
        let valid = text.len() <= 254
            && matches!(text.split_once('@'), Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
                    && !text.chars().any(|c| c.is_whitespace() || c.is_control()) && !domain.contains('@'));
        if valid {
            Ok(Email(text))
        } else {
            Err(FieldError::new("email", "not a valid email address"))
        }
    }
    /// A mail sender's address: like [`Email::parse`], but the domain may be a single
    /// label (`root@localhost`, `admin@intranet`), as every mail server takes it.
    pub fn parse_sender(text: &str) -> Result<Self, FieldError> {
        if let Ok(email) = Email::parse(text) {
            return Ok(email);
        }
        let text = text.trim().to_lowercase();
        let valid = text.len() <= 254
            && matches!(text.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty()
                    && !local.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@')
                    && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if valid {
            Ok(Email(text))
        } else {
            Err(FieldError::new("email", "not a valid email address"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client organization's short code, e.g. `ALFA`: upper-case letters, digits, `-` and `_`.
pub fn parse_client_code(text: &str) -> Result<String, FieldError> {
    let code = text.trim().to_uppercase();
    if (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(code)
    } else {
        Err(FieldError::new(
            "client",
            "a client code is 1–32 latin letters, digits, '-' or '_'",
        ))
    }
}

pub const SUBJECT_MAX_CHARS: usize = 250;
pub const BODY_MAX_CHARS: usize = 100_000;
/// Why a text with a NUL character is refused (see [`crate::bounds::nul_in`]).
pub const NUL_MESSAGE: &str = "must not contain a NUL character (U+0000)";

/// Trims and bounds a piece of free text the user typed.
pub fn parse_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
    required: bool,
) -> Result<String, FieldError> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if text.contains('\0') {
        return Err(FieldError::new(field, NUL_MESSAGE));
    }
    if text.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("at most {max_chars} characters"),
        ));
    }
    Ok(text.to_owned())
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub client_id: Option<ClientId>,
    pub lines: Vec<Line>,
    pub skills: Vec<String>,
    /// A client contact allowed to see every ticket of the organization.
    pub sees_organization: bool,
    pub locale: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub id: ClientId,
    pub code: String,
    pub name: String,
    pub mail_domain: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub service: String,
    pub subject: String,
    pub description: String,
    pub status: TicketStatus,
    pub classification: Option<Classification>,
    pub client_id: ClientId,
    pub client_code: String,
    pub requester_id: UserId,
    pub requester_name: String,
    pub shared_with_organization: bool,
    pub next_step_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Ticket {
    pub fn number(&self) -> TicketNumber {
        TicketNumber(self.id.0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: TaskId,
    pub ticket_id: TicketId,
    pub kind: String,
    pub title: String,
    pub line: Option<Line>,
    pub pool: Option<String>,
    pub assignee_id: Option<UserId>,
    pub due_at: Option<Timestamp>,
    pub priority: i32,
    pub state: TaskState,
    /// The workflow stage that created the task (`None` for tasks made outside a route).
    pub stage: Option<String>,
    /// The outcome it was completed with.
    pub outcome: Option<String>,
    /// What the specialist wrote on finishing it (or what was carried over into it).
    pub summary: Option<String>,
    pub created_at: Timestamp,
}

impl Task {
    /// The title in `locale`: a route's or the system's titles are stored in both languages
    /// ([`crate::Bilingual`]), a title someone typed reads the same for everyone.
    pub fn title_in(&self, locale: &str) -> &str {
        crate::Bilingual::read(&self.title, locale, self.kind == "alert")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub id: CommentId,
    pub ticket_id: TicketId,
    pub author_id: Option<UserId>,
    pub author_name: String,
    pub body: String,
    pub internal: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub ticket_id: TicketId,
    pub comment_id: Option<CommentId>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Timestamp,
}

/// One entry of a ticket's append-only history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEvent {
    pub id: i64,
    pub ticket_id: TicketId,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    /// What happened: `created`, `status`, `comment`, `attachment`, `classification`, …
    pub kind: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Whether the client may see it.
    pub public: bool,
}

/// A validated request to open a ticket.
impl Task {
    /// Whether a staff member of `role` working in `lines` and `pools` may do the task:
    /// managers and admins any task; a specialist a task waiting in one of their lines or
    /// pools (the manager pool's alert tasks stay with managers), or one addressed to
    /// neither.
    pub fn workable_by(&self, role: Role, lines: &[Line], pools: &[String]) -> bool {
        if matches!(role, Role::Manager | Role::Admin) {
            return true;
        }
        match (&self.pool, self.line) {
            (Some(pool), _) => pools.contains(pool),
            (None, Some(line)) => lines.contains(&line),
            (None, None) => role.is_staff(),
        }
    }

    /// Where the task waits, for messages: `line 2`, `pool manager`.
    pub fn place(&self) -> String {
        match (&self.pool, self.line) {
            (Some(pool), _) => format!("pool {pool}"),
            (None, Some(line)) => format!("line {}", line.get()),
            (None, None) => "no line or pool".to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub service: String,
    pub subject: String,
    pub description: String,
    pub client_id: ClientId,
    pub requester_id: UserId,
    pub draft: bool,
}

#[derive(Debug, Clone)]
pub struct NewComment {
    pub ticket_id: TicketId,
    pub author_id: UserId,
    pub body: String,
    pub internal: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_tasks_stay_with_managers() {
        let task = |line: Option<u8>, pool: Option<&str>| Task {
            id: TaskId(1),
            ticket_id: TicketId(1),
            kind: "alert".into(),
            title: String::new(),
            line: line.map(|l| Line::new(l).unwrap()),
            pool: pool.map(str::to_owned),
            assignee_id: None,
            due_at: None,
            priority: 0,
            state: TaskState::Open,
            stage: None,
            outcome: None,
            summary: None,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let line2 = [Line::new(2).unwrap()];
        let alert = task(None, Some("manager"));
        assert!(!alert.workable_by(Role::Specialist, &line2, &[]));
        assert!(alert.workable_by(Role::Manager, &[], &[]));
        assert!(task(Some(2), None).workable_by(Role::Specialist, &line2, &[]));
        assert!(!task(Some(3), None).workable_by(Role::Specialist, &line2, &[]));
        assert!(task(None, Some("accounting")).workable_by(
            Role::Specialist,
            &[],
            &["accounting".into()]
        ));
        assert!(!task(None, None).workable_by(Role::Client, &[], &[]));
        assert_eq!(alert.place(), "pool manager");
    }

    #[test]
    fn ticket_numbers_read_and_print() {
        assert_eq!(TicketNumber(123).to_string(), "OK-000123");
        assert_eq!(TicketNumber(1_234_567).to_string(), "OK-1234567");
        assert_eq!(TicketNumber::parse("OK-000123"), Some(TicketNumber(123)));
        assert_eq!(TicketNumber::parse("ok-7"), Some(TicketNumber(7)));
        assert_eq!(TicketNumber::parse("42"), Some(TicketNumber(42)));
        for bad in [
            "",
            "OK-",
            "OK-0",
            "OK-12a",
            "-5",
            "ОК-1",
            "99999999999999999999",
        ] {
            assert_eq!(TicketNumber::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse(" Client@Alfa.Demo ").unwrap().as_str(),
            "client@alfa.demo"
        );
        assert_eq!(Email::parse("a@b.c").unwrap().domain(), "b.c");
        for bad in ["", "a", "@b.c", "a@b", "a@.b", "a b@c.d", "a@b@c.d"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        // Mail senders may be on a single-label domain; nothing else is relaxed.
        assert_eq!(
            Email::parse_sender("Root@LocalHost").unwrap().as_str(),
            "root@localhost"
        );
        assert_eq!(Email::parse_sender("a@b.c").unwrap().as_str(), "a@b.c");
        for bad in ["", "a", "@b", "a@", "a b@c", "a@b@c", "a@b_c", "a@.b"] {
            assert!(Email::parse_sender(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Role::parse("boss"), None);
        assert!(Line::new(0).is_err() && Line::new(5).is_err() && Line::new(4).is_ok());
        assert_eq!(lines_from_text("1, 3,9,x"), vec![Line(1), Line(3)]);
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(parse_text("subject", "  hi ", 10, true).unwrap(), "hi");
        assert_eq!(
            parse_text("subject", "   ", 10, true).unwrap_err().field,
            "subject"
        );
        assert!(parse_text("subject", &"я".repeat(11), 10, true).is_err());
        assert!(parse_text("subject", &"я".repeat(10), 10, true).is_ok());
    }
}
