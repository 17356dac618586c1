//! The daily review (seed 004: "every morning the manager goes through the open tickets"):
//! a snapshot of the open tickets taken at the review time, split by whose side the ball is
//! on. It is stored as data, not text, so each manager reads it in their own language and
//! time zone, and it stays what it was that morning while the tickets move on.

use serde::{Deserialize, Serialize};

use crate::{TicketId, TicketStatus};

/// Whose move it is on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ball {
    /// New or in progress: the firm owes the next step.
    Ours,
    /// Waiting on the client's answer or confirmation.
    Theirs,
}

impl Ball {
    pub fn of(status: TicketStatus) -> Ball {
        match status {
            TicketStatus::WaitingClient | TicketStatus::Resolved => Ball::Theirs,
            _ => Ball::Ours,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Ball::Ours => "ours",
            Ball::Theirs => "theirs",
        }
    }
}

/// One open ticket as it stood at the review time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub ticket: TicketId,
    pub client_code: String,
    pub subject: String,
    pub status: TicketStatus,
    /// The promised next step, unix milliseconds.
    pub next_step_at_ms: Option<i64>,
}

impl ReviewItem {
    pub fn ball(&self) -> Ball {
        Ball::of(self.status)
    }

    /// The promised next step as an instant (`None` also for a stored value out of range).
    pub fn next_step_at(&self) -> Option<jiff::Timestamp> {
        self.next_step_at_ms
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
    }
}

/// What a day's review lists: every open ticket up to a limit (the oldest first), and the
/// totals on each side so a long list says how much it left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReviewSnapshot {
    pub ours_total: i64,
    pub theirs_total: i64,
    pub items: Vec<ReviewItem>,
}

impl ReviewSnapshot {
    /// The listed tickets on one side, in the order taken.
    pub fn side(&self, ball: Ball) -> impl Iterator<Item = &ReviewItem> {
        self.items.iter().filter(move |item| item.ball() == ball)
    }

    pub fn total(&self, ball: Ball) -> i64 {
        match ball {
            Ball::Ours => self.ours_total,
            Ball::Theirs => self.theirs_total,
        }
    }

    /// How many tickets on one side the list leaves out.
    pub fn not_listed(&self, ball: Ball) -> i64 {
        (self.total(ball) - self.side(ball).count() as i64).max(0)
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("a review snapshot serializes")
    }

    /// Reads a stored review. Reviews written before snapshots were kept as data hold a
    /// Russian text instead: that text is returned as it is.
    pub fn from_stored(stored: &str) -> Result<ReviewSnapshot, String> {
        serde_json::from_str(stored).map_err(|_| stored.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, status: TicketStatus) -> ReviewItem {
        ReviewItem {
            ticket: TicketId(id),
            client_code: "ALFA".into(),
            subject: format!("subject {id}"),
            status,
            next_step_at_ms: Some(1_700_000_000_000 + id),
        }
    }

    #[test]
    fn sides_split_by_whose_move_it_is_and_count_what_is_left_out() {
        let snapshot = ReviewSnapshot {
            ours_total: 5,
            theirs_total: 1,
            items: vec![
                item(1, TicketStatus::New),
                item(2, TicketStatus::WaitingClient),
                item(3, TicketStatus::InProgress),
            ],
        };
        let ours: Vec<_> = snapshot.side(Ball::Ours).map(|i| i.ticket.0).collect();
        assert_eq!(ours, [1, 3]);
        assert_eq!(snapshot.not_listed(Ball::Ours), 3);
        assert_eq!(snapshot.not_listed(Ball::Theirs), 0);
        assert_eq!(Ball::of(TicketStatus::Resolved), Ball::Theirs);
    }

    #[test]
    fn a_snapshot_reads_back_as_stored_and_old_text_stays_text() {
        let snapshot = ReviewSnapshot {
            ours_total: 1,
            theirs_total: 0,
            items: vec![item(7, TicketStatus::New)],
        };
        assert_eq!(
            ReviewSnapshot::from_stored(&snapshot.to_stored()),
            Ok(snapshot)
        );
        assert_eq!(
            ReviewSnapshot::from_stored("Ежедневный обзор"),
            Err("Ежедневный обзор".to_owned())
        );
    }
}
