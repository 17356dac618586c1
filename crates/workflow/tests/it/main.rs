//! The crate's integration tests, one binary: each module is one area.

mod common;
mod properties;
mod routes;
mod shipped;
mod validation;
