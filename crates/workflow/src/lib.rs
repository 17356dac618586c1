//! Okno's service catalog and configurable workflows, and the pure engine that runs them.
//!
//! One ticket for the client, many tasks for us (004): a service's route is configuration
//! (TOML), loaded with [`Catalog::from_files`] and validated with `file:line: message`
//! errors. The [`engine`] turns a route's state and an event (task completed, action
//! finished, client replied or decided) into the next state and a list of [`Effect`]s for
//! the caller to carry out. No I/O, no async: parsers take `(file_name, text)` pairs.
//!
//! See `README.md` in this crate for the file formats and the integration API.

pub mod config;
pub mod defaults;
pub mod engine;
pub mod key;
pub mod model;

pub use config::{ConfigError, ConfigErrors};
pub use defaults::default_files;
pub use engine::{
    Effect, EngineError, NewTask, OpenTask, RouteState, Step, action_finished, allowed_outcomes,
    client_decided, client_replied, close, complete_task, pending_action, reopen, reopened_task,
    reply_task, start,
};
pub use key::generate_key;
pub use model::*;
