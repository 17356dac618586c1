//! Driver-independent pieces of the SQL both backends share: dynamic conditions with
//! numbered parameters (`$1` works on PostgreSQL and SQLite alike) and value conversions.

use crate::{Result, StoreError};
use jiff::Timestamp;
use okno_domain::TicketScope;

#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    MaybeInt(Option<i64>),
    MaybeText(Option<String>),
    Bool(bool),
}

/// `head` followed by `rows` groups of `columns` numbered placeholders: a multi-row INSERT.
pub(crate) fn placeholders(head: &str, columns: usize, rows: usize) -> String {
    let mut text = String::with_capacity(head.len() + rows * columns * 7);
    text.push_str(head);
    for row in 0..rows {
        text.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                text.push_str(", ");
            }
            text.push('$');
            text.push_str(&(row * columns + column + 1).to_string());
        }
        text.push(')');
    }
    text
}

/// A statement assembled from pieces, with its parameters in order.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

/// Statements joined into one call, in order (see [`Sql::then`]).
impl FromIterator<Sql> for Sql {
    fn from_iter<I: IntoIterator<Item = Sql>>(statements: I) -> Self {
        let mut all = Sql::default();
        for statement in statements {
            all.then(statement);
        }
        all
    }
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

    /// Appends another statement (`;`-separated), its placeholders renumbered after ours:
    /// SQLite runs the lot in one call, with one parameter list.
    pub fn then(&mut self, next: Sql) -> &mut Self {
        let offset = self.params.len();
        if !self.text.is_empty() {
            self.text.push_str("; ");
        }
        let mut rest = next.text.as_str();
        while let Some(at) = rest.find('$') {
            self.text.push_str(&rest[..=at]);
            rest = &rest[at + 1..];
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            match rest[..digits].parse::<usize>() {
                Ok(n) => self.text.push_str(&(n + offset).to_string()),
                Err(_) => self.text.push_str(&rest[..digits]),
            }
            rest = &rest[digits..];
        }
        self.text.push_str(rest);
        self.params.extend(next.params);
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
            TicketScope::HandedToVendor(user) => self
                .push(
                    " AND EXISTS (SELECT 1 FROM ticket_vendors tv JOIN vendors v ON v.code = tv.vendor_code \
                     JOIN users vu ON vu.email = v.support_email WHERE tv.ticket_id = t.id AND vu.id = ",
                )
                .bind(Param::Int(user.0))
                .push(")"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_joined_keep_their_own_parameters() {
        let mut first = Sql::new("INSERT INTO a VALUES (");
        first
            .bind(Param::Int(1))
            .push(", ")
            .bind(Param::Int(2))
            .push(")");
        let mut second = Sql::new("UPDATE b SET x = ");
        second
            .bind(Param::Int(3))
            .push(" WHERE y = ")
            .bind(Param::Int(4));
        let mut third = Sql::new("DELETE FROM c WHERE z = ");
        third.bind(Param::Int(5));
        let all: Sql = [first, second, third].into_iter().collect();
        assert_eq!(
            all.text,
            "INSERT INTO a VALUES ($1, $2); UPDATE b SET x = $3 WHERE y = $4; DELETE FROM c WHERE z = $5"
        );
        assert_eq!(all.params.len(), 5);
    }
}
