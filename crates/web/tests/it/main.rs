//! The crate's integration tests, one binary: each module is one area.

mod api;
mod common;
mod contracts;
mod kb;
mod kb_files;
mod mail;
mod pages;
mod reports;
mod specialist;
mod tasks;
mod workplace_panels;
