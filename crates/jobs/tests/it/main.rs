//! The crate's integration tests, one binary: each module is one area.

mod contracts;
mod jobs;
mod watch_cost;
