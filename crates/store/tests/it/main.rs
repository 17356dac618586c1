//! The crate's integration tests, one binary: each module is one area.

mod accounts;
mod bulk;
mod conformance;
mod dashboard;
mod routes;
mod workplace;
