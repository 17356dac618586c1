//! The crate's integration tests, one binary: each module is one area.

mod mutate;
mod pipeline;
