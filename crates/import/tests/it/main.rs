//! The import crate's integration tests, one binary: each module is one source, against a
//! faithful local fake of its documented HTTP API (axum on port 0).

mod common;
mod redmine;
mod znuny;
