//! Driver-independent pieces of the SQL both backends share: dynamic conditions with
//! numbered parameters (`$1` works on PostgreSQL and SQLite alike) and value conversions.

use crate::{Result, StoreError};
use jiff::Timestamp;
use okno_domain::TicketScope;

#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// A statement assembled from pieces, with its parameters in order.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `param`.
    pub fn bind(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        self.text.push('$');
        self.text.push_str(&self.params.len().to_string());
        self
    }

    /// ` AND <the tickets (alias t) the scope admits>`: the SQL twin of `TicketScope::admits`.
    pub fn scope(&mut self, scope: TicketScope) -> &mut Self {
        match scope {
            TicketScope::All => self,
            TicketScope::Organization(client) => self.push(" AND t.client_id = ").bind(Param::Int(client.0)),
            TicketScope::OwnOrShared { client, user } => self
                .push(" AND t.client_id = ")
                .bind(Param::Int(client.0))
                .push(" AND (t.requester_id = ")
                .bind(Param::Int(user.0))
                .push(" OR t.shared = TRUE OR EXISTS (SELECT 1 FROM ticket_watchers w WHERE w.ticket_id = t.id AND w.user_id = ")
                .bind(Param::Int(user.0))
                .push("))"),
            TicketScope::Nothing => self.push(" AND 1 = 0"),
        }
    }
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn instant(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(format!("instant {ms}: {e}")))
}

pub(crate) fn code<T>(parse: fn(&str) -> Option<T>, text: &str, what: &str) -> Result<T> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown {what} {text:?}")))
}
