//! Okno's domain: the types and rules of a service desk, free of I/O.
//!
//! The web and store layers carry data to these functions and back; every rule
//! (who sees what, what a valid ticket is, how a ticket number reads) lives here once.

pub mod accounts;
pub mod audit;
pub mod bilingual;
pub mod bounds;
pub mod channels;
pub mod clock;
pub mod error;
pub mod model;
pub mod notice;
pub mod policy;
pub mod priority;
pub mod review;
pub mod totp;
pub mod visibility;

pub use bilingual::Bilingual;
pub use bounds::PlanMinutes;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DomainError, FieldError};
pub use model::*;
pub use notice::{ClosedReply, OutboxKind};
pub use visibility::{TicketScope, Viewer};
