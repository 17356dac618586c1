//! The crate's integration tests, one binary: each module is one area.

mod announcements;
mod calendars;
mod common;
mod contracts;
mod deadlines;
mod invariants;
mod kb;
mod mail;
mod mail_identity;
mod mail_servers;
/// Mail mutations shared with the mail crate's own tests.
#[path = "../../../mail/tests/it/mutate.rs"]
mod mutate;
mod outbox;
mod privacy;
mod production_calendar;
mod queue_admin;
mod reopen;
mod reports;
mod routes;
mod specialist;
mod submits;
