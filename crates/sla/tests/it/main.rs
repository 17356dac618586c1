//! The crate's integration tests, one binary: each module is one area.

mod config_errors;
mod production_calendar;
mod properties;
mod report;
mod ru_standard;
