//! The crate's integration tests, one binary: each module is one area.

mod bulk;
mod conformance;
mod dashboard;
mod routes;
mod workplace;
