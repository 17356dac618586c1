//! Switching over to Okno (issue 23): importers from Redmine (REST API), Request Tracker 5
//! (REST2) and OTRS/Znuny (GenericInterface), each behind the one [`Source`] trait.
//!
//! A run reads the source's catalog, maps it through the [`Plan`] (a TOML file the admin
//! edits, proposed by a first `--plan` run), and writes every ticket with its whole
//! history — messages public or internal, status changes, fields, files, time — in one
//! transaction per ticket through [`okno_store::ImportStore`], keeping the original dates
//! and numbers (`Redmine #12`, searchable). Every item is linked to its source id, so a
//! re-run updates instead of duplicating, and an interrupted run resumes: tickets whose
//! source stamp has not changed are not fetched again. What is not imported is reported
//! with its reason; nothing of a ticket is written unless all of it is.

pub mod plan;
pub mod redmine;
pub mod rt;
pub mod run;
pub mod source;
pub mod znuny;

pub use plan::Plan;
pub use run::{Counts, NotImported, Options, Report, import};
pub use source::{Source, SourceKind};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{url}: the source answered HTTP {status}")]
    Source { url: String, status: u16 },
    #[error("the source is unreachable: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{url}: unexpected answer: {message}")]
    Answer { url: String, message: String },
    #[error("{what}: {size} bytes is over the limit of {limit} bytes")]
    TooLarge { what: String, size: u64, limit: u64 },
    #[error("{file}:{line}: {message}")]
    Plan {
        file: String,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] okno_store::StoreError),
    #[error(transparent)]
    Desk(#[from] okno_desk::DeskError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl ImportError {
    /// Whether the source itself failed (down, or answering 5xx after retries): the run
    /// stops there and can be resumed. Other answers concern one item only.
    pub fn source_failed(&self) -> bool {
        match self {
            Self::Source { status, .. } => *status >= 500,
            Self::Http(_) => true,
            _ => false,
        }
    }
}

pub type Result<T, E = ImportError> = std::result::Result<T, E>;
