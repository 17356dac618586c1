//! The crate's integration tests, one binary: each module is one area.

mod accounts;
mod api;
mod authz;
mod channels;
mod common;
mod contracts;
mod hardening;
mod kb;
mod kb_files;
mod mail;
mod pages;
mod reports;
mod specialist;
mod tasks;
mod telegram;
mod totp;
mod ui;
mod workplace_panels;
