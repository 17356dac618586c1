//! Side effects as typed events, each decided once.
//!
//! Every message the desk sends goes through the outbox as an [`OutboxKind`]: the store
//! writes the kind, the mail worker matches on it exhaustively, so a kind written without
//! a sender does not compile. Which notice a ticket change gives the client is decided by
//! [`change_notice`], and what a client's message on a closed ticket does by
//! [`reply_to_closed`]; the store and the desk only carry their answers out.

use crate::TicketStatus;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

macro_rules! kinds {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The code stored in `outbox.kind`.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            /// Parses a stored code; `None` for a kind this version does not know.
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

kinds!(
    /// What an outbox row asks the desk to send.
    OutboxKind {
        /// The requester hears that the ticket is accepted (and the reaction deadline).
        TicketCreated = "ticket_created",
        /// A public comment for the requester (not their own).
        CommentAdded = "comment_added",
        /// The client-facing status changed.
        StatusChanged = "status_changed",
        /// Solved: with the link to rate the answer.
        TicketResolved = "ticket_resolved",
        /// Closed after the client's silence.
        TicketAutoClosed = "ticket_auto_closed",
        /// Closed again or continued: the client wrote on a closed ticket.
        TicketReopened = "ticket_reopened",
        /// A contract starts, ends or has ended: to the client's contacts.
        ContractNotice = "contract_notice",
        /// A contract ends with no successor: to the managers.
        ContractAlert = "contract_alert",
        /// Line 4: the ticket handed to a vendor's support.
        VendorTransfer = "vendor_transfer",
        /// An incoming message was not taken in: to its sender.
        MailRefusal = "mail_refusal",
        /// A manager's announcement to one contact.
        Announcement = "announcement",
        /// A client's monthly work report, to its contacts.
        WorkReport = "work_report",
        /// A report a manager subscribed to, as an XLSX file.
        ScheduledReport = "scheduled_report",
    }
);

/// The notice a ticket change gives the client, if any: a new ticket is accepted; a status
/// change is told once (a draft sent has its own `ticket_created`); a close after the
/// client's silence and a reopened ticket have their own texts.
pub fn change_notice(
    creating: bool,
    submitted: bool,
    before: TicketStatus,
    after: TicketStatus,
    auto_closed: bool,
) -> Option<OutboxKind> {
    if creating {
        return Some(OutboxKind::TicketCreated);
    }
    if before == after || submitted {
        return None;
    }
    Some(match after {
        TicketStatus::Resolved => OutboxKind::TicketResolved,
        TicketStatus::Closed if auto_closed => OutboxKind::TicketAutoClosed,
        _ if before == TicketStatus::Closed => OutboxKind::TicketReopened,
        _ => OutboxKind::StatusChanged,
    })
}

/// How long after closing a client's message reopens the ticket (14 days); later, it
/// opens a new ticket linked to the closed one.
pub const REOPEN_WITHIN: SignedDuration = SignedDuration::from_hours(14 * 24);

/// What a client's message on a closed ticket does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedReply {
    /// The ticket is under way again: status in progress, a task for the reply line with
    /// the message.
    Reopen,
    /// Too long after closing: the message opens a new ticket that links the closed one.
    FollowUp,
}

/// The rule for a client's message on a ticket closed at `closed_at` (the last time its
/// status became closed), written at `at`: within `window` it reopens the ticket,
/// afterwards it becomes a new ticket. An unknown close instant counts as long ago.
pub fn reply_to_closed(
    closed_at: Option<Timestamp>,
    at: Timestamp,
    window: SignedDuration,
) -> ClosedReply {
    match closed_at {
        Some(closed) if at.duration_since(closed) <= window => ClosedReply::Reopen,
        _ => ClosedReply::FollowUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_code() {
        for kind in OutboxKind::ALL {
            assert_eq!(OutboxKind::parse(kind.code()), Some(*kind));
        }
        assert_eq!(OutboxKind::parse("telepathy"), None);
    }

    #[test]
    fn notices_of_changes() {
        use TicketStatus::*;
        assert_eq!(
            change_notice(true, false, New, New, false),
            Some(OutboxKind::TicketCreated)
        );
        assert_eq!(change_notice(false, false, New, New, false), None);
        assert_eq!(change_notice(false, true, Draft, New, false), None);
        assert_eq!(
            change_notice(false, false, InProgress, Resolved, false),
            Some(OutboxKind::TicketResolved)
        );
        assert_eq!(
            change_notice(false, false, WaitingClient, Closed, true),
            Some(OutboxKind::TicketAutoClosed)
        );
        assert_eq!(
            change_notice(false, false, InProgress, Closed, false),
            Some(OutboxKind::StatusChanged)
        );
        assert_eq!(
            change_notice(false, false, Closed, InProgress, false),
            Some(OutboxKind::TicketReopened)
        );
    }

    #[test]
    fn a_reply_within_the_window_reopens_and_later_one_follows_up() {
        let closed: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let soon: Timestamp = "2026-12-15T10:00:00Z".parse().unwrap();
        let late: Timestamp = "2026-12-15T10:00:01Z".parse().unwrap();
        assert_eq!(
            reply_to_closed(Some(closed), soon, REOPEN_WITHIN),
            ClosedReply::Reopen
        );
        assert_eq!(
            reply_to_closed(Some(closed), late, REOPEN_WITHIN),
            ClosedReply::FollowUp
        );
        assert_eq!(
            reply_to_closed(None, soon, REOPEN_WITHIN),
            ClosedReply::FollowUp
        );
    }
}
