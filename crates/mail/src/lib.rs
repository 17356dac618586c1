//! Okno's email channel.
//!
//! The pure part — [`inbound::parse`], [`classify::classify`], [`thread`], [`quote::fold`],
//! [`outbound::render`] — takes bytes and gives data, so the fuzz target and the benchmark
//! run it without a network. [`imap`] fetches messages and [`smtp`] sends them; the desk
//! (`okno_desk::mail`) puts them in order with the store.

pub mod authentication;
pub mod classify;
pub mod imap;
pub mod inbound;
pub mod outbound;
pub mod quote;
pub mod settings;
pub mod smtp;
pub mod thread;

pub use classify::{Kind, LoopPolicy, classify};
pub use inbound::{MailAttachment, ParseError, ParsedMail, parse};
pub use outbound::{
    Envelope, MailFile, Notice, Rendered, WireMessage, build, build_with_files, render,
};
pub use settings::MailSettings;
