//! The crate's integration tests, one binary: each module is one area.

mod backup;
mod calendar_import;
mod cli;
mod commands;
mod mail_serve;
mod processes;
