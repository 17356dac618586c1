//! Channels other than mail and the portal (issue 20): phone numbers as telephony and the
//! web form give them, and what a call event means for the desk. Pure rules; the desk
//! carries events here and stores what they decide.

use crate::error::FieldError;
use std::fmt;

/// The longest phone text taken in at all: anything longer is not a phone number.
pub const PHONE_INPUT_MAX: usize = 40;

/// A phone number in one canonical form: its digits with the country code and no `+`
/// (`74951112233`). Russian numbers come in as `8 (495) 111-22-33`, `+7 495 111 22 33`,
/// `7-495-111-22-33` or a bare ten-digit `4951112233`; other countries only with `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a phone number in any usual writing; letters, extensions, too few or too many
    /// digits are refused naming `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<PhoneNumber, FieldError> {
        let bad = |message: &str| FieldError::new(field, message.to_owned());
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("a phone number is required"));
        }
        if text.len() > PHONE_INPUT_MAX {
            return Err(bad("too long for a phone number"));
        }
        let (plus, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
                _ => return Err(bad("not a phone number")),
            }
        }
        let canonical = match (plus, digits.len(), digits.as_bytes().first()) {
            (true, 11, Some(b'7')) => digits,
            (true, 8..=15, Some(b'1'..=b'9')) if !digits.starts_with('7') => digits,
            (false, 11, Some(b'8' | b'7')) => format!("7{}", &digits[1..]),
            (false, 10, Some(b'3' | b'4' | b'8' | b'9')) => format!("7{digits}"),
            _ => return Err(bad("not a phone number")),
        };
        Ok(PhoneNumber(canonical))
    }

    /// [`PhoneNumber::parse_field`] naming the field `phone`.
    pub fn parse(text: &str) -> Result<PhoneNumber, FieldError> {
        Self::parse_field("phone", text)
    }

    /// The canonical digits (`74951112233`): what the store indexes and looks up.
    pub fn key(&self) -> &str {
        &self.0
    }

    /// A stored key back as a number (no checks: keys are only ever written by [`parse`]).
    ///
    /// [`parse`]: PhoneNumber::parse
    pub fn from_key(key: String) -> PhoneNumber {
        PhoneNumber(key)
    }
}

impl fmt::Display for PhoneNumber {
    /// `+7 495 111-22-33` for Russian numbers, `+<digits>` for others.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        if d.len() == 11 && d.starts_with('7') {
            write!(f, "+7 {} {}-{}-{}", &d[1..4], &d[4..7], &d[7..9], &d[9..11])
        } else {
            write!(f, "+{d}")
        }
    }
}

/// What a PBX says happened to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    /// Ringing at the desk: nobody has answered yet.
    Ringing,
    /// A specialist picked it up.
    Answered,
    /// It was over after a conversation.
    Ended,
    /// It was over with nobody answering.
    Missed,
}

impl CallState {
    pub fn parse(text: &str) -> Option<CallState> {
        Some(match text {
            "ringing" => CallState::Ringing,
            "answered" => CallState::Answered,
            "ended" => CallState::Ended,
            "missed" => CallState::Missed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Ringing => "ringing",
            CallState::Answered => "answered",
            CallState::Ended => "ended",
            CallState::Missed => "missed",
        }
    }

    /// Whether the call is over: later events of it change nothing but its record.
    pub fn is_final(self) -> bool {
        matches!(self, CallState::Ended | CallState::Missed)
    }
}

/// What the desk knows about a call when one of its events arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallFacts {
    /// The state recorded before this event (`None`: the first event of the call).
    pub before: Option<CallState>,
    /// The event's state.
    pub event: CallState,
    /// The caller's number belongs to a contact of a client.
    pub known_caller: bool,
    /// The call is already logged on a ticket.
    pub has_ticket: bool,
}

/// What an event of a call does, decided once here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallDecision {
    /// Record the new state (the caller's card shows it to the specialist).
    Record(CallState),
    /// Record the missed call and open a "call back" ticket for line 1 in the contact's name.
    RecordAndOpenCallback,
    /// A repeated or out-of-order event: the call's record stays as it is.
    Ignore,
}

/// Decides what a call event does: states only move forward (ringing → answered → ended,
/// or ringing → missed); a missed call from a known contact opens exactly one ticket.
pub fn decide_call(facts: CallFacts) -> CallDecision {
    let rank = |s: CallState| match s {
        CallState::Ringing => 0,
        CallState::Answered => 1,
        CallState::Ended | CallState::Missed => 2,
    };
    if let Some(before) = facts.before {
        // A final state is final; an event that does not move the call forward changes
        // nothing (a PBX retries its webhooks, and they may arrive out of order).
        if before.is_final() || rank(facts.event) <= rank(before) {
            return CallDecision::Ignore;
        }
        if facts.event == CallState::Missed && before == CallState::Answered {
            // Answered and then dropped is a conversation that ended, not a missed call.
            return CallDecision::Record(CallState::Ended);
        }
    }
    match facts.event {
        CallState::Missed if facts.known_caller && !facts.has_ticket => {
            CallDecision::RecordAndOpenCallback
        }
        state => CallDecision::Record(state),
    }
}

/// The longest text of one Telegram message (Bot API `sendMessage`: 1–4096 characters,
/// counted as Telegram counts them, in UTF-16 code units).
pub const TELEGRAM_TEXT_MAX: usize = 4096;

/// Splits a text into Telegram messages of at most `max` UTF-16 units each, cutting at a
/// line break or a space in the second half of a piece when there is one; nothing is lost
/// but the whitespace at the cuts. An empty text is one empty piece.
pub fn split_telegram_text(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while rest.encode_utf16().count() > max {
        let mut units = 0;
        let mut cut = rest.len();
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > max {
                cut = i;
                break;
            }
            units += c.len_utf16();
        }
        let head = &rest[..cut];
        let at = head
            .rfind('\n')
            .filter(|&i| i > cut / 2)
            .or_else(|| head.rfind(' ').filter(|&i| i > cut / 2))
            .unwrap_or(cut);
        parts.push(rest[..at].trim_end().to_owned());
        rest = rest[at..].trim_start();
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest.to_owned());
    }
    parts
}

/// The letters of a Telegram link code: no 0/O or 1/I to misread.
pub const LINK_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// How many letters a link code has.
pub const LINK_CODE_LEN: usize = 8;

/// The link code a text is, upper-cased, if it is one (`/start CODE` or the code alone).
pub fn link_code(text: &str) -> Option<String> {
    let text = text.trim();
    let code = text
        .strip_prefix("/start")
        .map_or(text, str::trim)
        .to_ascii_uppercase();
    (code.len() == LINK_CODE_LEN && code.bytes().all(|b| LINK_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

#[cfg(test)]
mod tests {

    #[test]
    fn telegram_texts_split_under_the_limit_losing_nothing() {
        assert_eq!(split_telegram_text("", 4096), vec![String::new()]);
        assert_eq!(split_telegram_text("short", 4096), vec!["short".to_owned()]);
        let long = "слово ".repeat(1500);
        let parts = split_telegram_text(&long, TELEGRAM_TEXT_MAX);
        assert_eq!(parts.len(), 3);
        assert!(
            parts
                .iter()
                .all(|p| p.encode_utf16().count() <= TELEGRAM_TEXT_MAX)
        );
        assert_eq!(parts.join(" "), long.trim());
        // No space to cut at: a hard cut, and emoji count as two units.
        let emoji = "😀".repeat(5);
        let parts = split_telegram_text(&emoji, 4);
        assert_eq!(parts, vec!["😀😀", "😀😀", "😀"]);
        let lines = format!("{}\n{}", "a".repeat(10), "b".repeat(10));
        assert_eq!(
            split_telegram_text(&lines, 15),
            vec!["a".repeat(10), "b".repeat(10)]
        );
    }

    #[test]
    fn link_codes_are_read_with_or_without_start() {
        assert_eq!(link_code("/start abcd2345"), Some("ABCD2345".into()));
        assert_eq!(link_code("  ABCD2345 "), Some("ABCD2345".into()));
        assert_eq!(link_code("ABCD0345"), None);
        assert_eq!(link_code("/start"), None);
        assert_eq!(link_code("hello there"), None);
    }
    use super::*;

    fn key(text: &str) -> Result<String, FieldError> {
        PhoneNumber::parse(text).map(|p| p.key().to_owned())
    }

    #[test]
    fn russian_formats_come_to_one_key() {
        for text in [
            "8 (495) 111-22-33",
            "+7 495 111-22-33",
            "+74951112233",
            "74951112233",
            "84951112233",
            "7-495-111-22-33",
            "(495) 111-22-33",
            "4951112233",
            " +7 (495) 111 22 33 ",
        ] {
            assert_eq!(key(text).as_deref(), Ok("74951112233"), "{text}");
        }
        assert_eq!(key("8 916 123-45-67").as_deref(), Ok("79161234567"));
    }

    #[test]
    fn other_countries_need_a_plus() {
        assert_eq!(key("+375 29 123-45-67").as_deref(), Ok("375291234567"));
        assert_eq!(key("+1 (212) 555-0100").as_deref(), Ok("12125550100"));
        assert!(key("375291234567").is_err());
    }

    #[test]
    fn garbage_is_refused_naming_the_field() {
        for text in [
            "",
            "   ",
            "abc",
            "+7 495 111-22-33 доб. 5",
            "495-11",
            "8 495 111 22 33 44",
            "++74951112233",
            "+0 495 111 22 33",
            "74951112233;DROP",
            "1234567890",
            &"9".repeat(100),
        ] {
            let error = PhoneNumber::parse(text).unwrap_err();
            assert_eq!(error.field, "phone", "{text}");
        }
    }

    #[test]
    fn numbers_print_in_the_usual_way() {
        assert_eq!(
            PhoneNumber::parse("84951112233").unwrap().to_string(),
            "+7 495 111-22-33"
        );
        assert_eq!(
            PhoneNumber::parse("+375291234567").unwrap().to_string(),
            "+375291234567"
        );
    }

    fn facts(before: Option<CallState>, event: CallState) -> CallFacts {
        CallFacts {
            before,
            event,
            known_caller: true,
            has_ticket: false,
        }
    }

    #[test]
    fn a_missed_call_from_a_contact_opens_one_ticket() {
        use CallState::*;
        assert_eq!(
            decide_call(facts(Some(Ringing), Missed)),
            CallDecision::RecordAndOpenCallback
        );
        assert_eq!(
            decide_call(facts(None, Missed)),
            CallDecision::RecordAndOpenCallback
        );
        // The same event again (a PBX retry) does nothing.
        assert_eq!(
            decide_call(facts(Some(Missed), Missed)),
            CallDecision::Ignore
        );
        let unknown = CallFacts {
            known_caller: false,
            ..facts(Some(Ringing), Missed)
        };
        assert_eq!(decide_call(unknown), CallDecision::Record(Missed));
        let logged = CallFacts {
            has_ticket: true,
            ..facts(Some(Ringing), Missed)
        };
        assert_eq!(decide_call(logged), CallDecision::Record(Missed));
    }

    #[test]
    fn states_only_move_forward() {
        use CallState::*;
        assert_eq!(
            decide_call(facts(Some(Ringing), Answered)),
            CallDecision::Record(Answered)
        );
        assert_eq!(
            decide_call(facts(Some(Answered), Ringing)),
            CallDecision::Ignore
        );
        assert_eq!(
            decide_call(facts(Some(Ended), Answered)),
            CallDecision::Ignore
        );
        assert_eq!(
            decide_call(facts(Some(Answered), Missed)),
            CallDecision::Record(Ended)
        );
        assert_eq!(
            decide_call(facts(Some(Answered), Ended)),
            CallDecision::Record(Ended)
        );
    }
}

/// What an outgoing webhook subscribes to (issue 20); the code is the `event` of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    TicketCreated,
    StatusChanged,
    CommentCreated,
    TaskCreated,
    TaskCompleted,
    DeadlineBreached,
    RatingCreated,
}

impl WebhookEvent {
    pub const ALL: &'static [WebhookEvent] = &[
        WebhookEvent::TicketCreated,
        WebhookEvent::StatusChanged,
        WebhookEvent::CommentCreated,
        WebhookEvent::TaskCreated,
        WebhookEvent::TaskCompleted,
        WebhookEvent::DeadlineBreached,
        WebhookEvent::RatingCreated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            WebhookEvent::TicketCreated => "ticket.created",
            WebhookEvent::StatusChanged => "ticket.status_changed",
            WebhookEvent::CommentCreated => "comment.created",
            WebhookEvent::TaskCreated => "task.created",
            WebhookEvent::TaskCompleted => "task.completed",
            WebhookEvent::DeadlineBreached => "deadline.breached",
            WebhookEvent::RatingCreated => "rating.created",
        }
    }

    pub fn parse(code: &str) -> Option<WebhookEvent> {
        Self::ALL.iter().copied().find(|e| e.code() == code)
    }
}

/// The webhook event a ticket history entry is, if any — the one place that decides it.
/// `kind`, `before` and `after` are the history entry's (see the store's `record`): a
/// ticket created (not as a draft) or a draft sent; any other status change; a comment
/// (public or internal); a task created or completed; a deadline alert; a rating.
pub fn webhook_event(
    kind: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Option<WebhookEvent> {
    Some(match kind {
        "created" if after != Some("draft") => WebhookEvent::TicketCreated,
        "status" if before == Some("draft") => WebhookEvent::TicketCreated,
        "status" if before != after => WebhookEvent::StatusChanged,
        "comment" => WebhookEvent::CommentCreated,
        "task_created" => WebhookEvent::TaskCreated,
        "task_completed" => WebhookEvent::TaskCompleted,
        "alert" if after.is_some_and(|a| a.starts_with("breached")) => {
            WebhookEvent::DeadlineBreached
        }
        "rated" => WebhookEvent::RatingCreated,
        _ => return None,
    })
}

/// How many failed deliveries in a row disable a subscription.
pub const WEBHOOK_FAILURES_TO_DISABLE: i64 = 10;
/// How many times one delivery is tried before it is given up.
pub const WEBHOOK_ATTEMPTS: i64 = 8;

/// When a delivery that failed `attempts` times is tried again: 10 s doubling up to an hour.
pub fn webhook_backoff(attempts: i64) -> jiff::SignedDuration {
    let exponent = attempts.clamp(1, 10) - 1;
    jiff::SignedDuration::from_secs((10i64 << exponent).min(3600))
}

#[cfg(test)]
mod webhook_tests {
    use super::*;

    #[test]
    fn history_entries_map_to_webhook_events() {
        assert_eq!(
            webhook_event("created", None, Some("new")),
            Some(WebhookEvent::TicketCreated)
        );
        assert_eq!(webhook_event("created", None, Some("draft")), None);
        assert_eq!(
            webhook_event("status", Some("draft"), Some("new")),
            Some(WebhookEvent::TicketCreated)
        );
        assert_eq!(
            webhook_event("status", Some("new"), Some("in_progress")),
            Some(WebhookEvent::StatusChanged)
        );
        assert_eq!(
            webhook_event("alert", None, Some("breached: reaction")),
            Some(WebhookEvent::DeadlineBreached)
        );
        assert_eq!(webhook_event("alert", None, Some("warning: 80%")), None);
        assert_eq!(webhook_event("task_taken", None, None), None);
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.code()), Some(*e));
        }
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(webhook_backoff(1).as_secs(), 10);
        assert_eq!(webhook_backoff(2).as_secs(), 20);
        assert_eq!(webhook_backoff(5).as_secs(), 160);
        assert_eq!(webhook_backoff(30).as_secs(), 3600);
    }
}
