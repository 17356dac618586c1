//! The desk's operations, one method per use case.
//!
//! A handler (web page, API endpoint, CLI command, mail poller) parses its input, calls one
//! of these, and renders the answer. The rules come from the domain crates; persistence from
//! the store; this crate only puts them in order, so every channel behaves the same.

use jiff::Timestamp;
use okno_domain::{Clock, DomainError, FieldError, SystemClock, User, Viewer};
use okno_store::{Claim, ClaimTerms, Store, StoreError};
use okno_workflow::Catalog;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub mod accounts;
pub mod act;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod bounded;
pub mod calendars;
pub mod channels;
pub mod closed;
pub mod config;
pub mod contract_settings;
pub mod contracts;
pub mod dashboard;
pub mod deadlines;
pub mod drafts;
pub mod files;
pub mod health;
pub mod import;
pub mod kb;
pub mod mail;
pub mod planning;
pub mod production_calendar;
pub mod queue;
pub mod reports;
pub mod reviews;
mod route;
pub mod services;
pub mod submits;
pub mod tasks;
pub mod tickets;
pub mod timesheet;
pub mod totp;
pub mod upsert;
pub mod workflows;
pub mod workplace;

pub use files::FileStore;

/// Everything that can go wrong in a use case; the web layer turns it into a status code.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Recent failed logins make this one wait (never a lock-out: see `accounts`).
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: &'static str, limit: u64 },
    #[error(transparent)]
    Store(StoreError),
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    /// The configuration has errors, one `file:line: message` per line.
    #[error("configuration refused:\n{0}")]
    Config(String),
}

impl From<StoreError> for DeskError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Domain(domain) => DeskError::Domain(domain),
            other => DeskError::Store(other),
        }
    }
}

impl From<FieldError> for DeskError {
    fn from(error: FieldError) -> Self {
        DeskError::Domain(error.into())
    }
}

pub type Result<T, E = DeskError> = std::result::Result<T, E>;

/// Settings a desk runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Largest attachment accepted, in bytes (default 25 MB).
    pub attachment_limit: u64,
    /// A configuration directory laid out like `config/`; `None`: the shipped one.
    pub config_dir: Option<PathBuf>,
    /// The email channel (addresses, mailboxes, SMTP, policies); default: no mailboxes.
    pub mail: okno_mail::MailSettings,
    /// Keep the search index up to date in the background (default). Off for benchmarks
    /// that measure something else beside a freshly loaded million tickets.
    pub search_indexer: bool,
    /// Where "now" comes from: the system clock, or a manual one in tests and simulations.
    pub clock: Arc<dyn Clock>,
    /// How long after closing a client's message reopens a ticket; later it opens a new
    /// ticket linked to the closed one (default 14 days).
    pub reopen_within: jiff::SignedDuration,
    /// Free disk space under the data directory below which the desk reports itself not
    /// ready (`/healthz/ready`): attachments and the database need room to write.
    pub min_free_disk: u64,
    /// The Telegram bot's token and Bot API address when **Admin → Channels** sets none
    /// (`OKNO_TELEGRAM_TOKEN`, `OKNO_TELEGRAM_API`).
    pub telegram_token: Option<String>,
    pub telegram_api: Option<String>,
    /// Admins must have a second factor (TOTP): one without is sent to enrol after logging
    /// in (`OKNO_TOTP_REQUIRED_FOR_ADMINS=1`; off by default, so the demo logins stay
    /// password-only).
    pub totp_required_for_admins: bool,
}

impl Settings {
    pub fn new(data_dir: PathBuf) -> Self {
        Settings {
            data_dir,
            attachment_limit: 25 * 1024 * 1024,
            config_dir: None,
            mail: okno_mail::MailSettings::default(),
            search_indexer: true,
            clock: Arc::new(SystemClock),
            reopen_within: okno_domain::notice::REOPEN_WITHIN,
            min_free_disk: 256 * 1024 * 1024,
            telegram_token: None,
            telegram_api: None,
            totp_required_for_admins: false,
        }
    }
}

/// The running desk: its store, its configuration and its files.
pub struct Desk {
    pub store: Arc<dyn Store>,
    /// The service catalog and workflows: the shipped defaults plus the versions admins
    /// published; swapped whole when a new version is published (see [`Desk::catalog`]).
    catalog: RwLock<Arc<Catalog>>,
    /// Publishing is one at a time, so two admins cannot both add "the next" version.
    publishing: tokio::sync::Mutex<()>,
    /// The calendars and support levels the desk started with (see [`Desk::sla`]).
    sla_started: okno_sla::SlaConfig,
    /// The ones an admin published since, if any (calendars.rs).
    sla_published: RwLock<Option<&'static okno_sla::SlaConfig>>,
    /// The calendar, holiday-list and support-level files behind [`Desk::sla`].
    sla_files: std::sync::Mutex<Vec<calendars::SlaFile>>,
    /// Stored versions (`calendars/<name>`, version) that no longer fit: not tried again.
    sla_skipped: std::sync::Mutex<std::collections::BTreeSet<(String, u32)>>,
    /// Registration defaults and the contract lifecycle's windows (`contracts.toml`).
    pub contract_settings: contract_settings::ContractSettings,
    /// The queue's priority rules (`priorities.toml`).
    pub priorities: Arc<okno_domain::priority::PriorityRules>,
    pub files: FileStore,
    pub settings: Settings,
    /// The knowledge base and ticket search index (`<data>/search/`).
    pub search: kb::Search,
}

impl Desk {
    /// A desk on `store` with the shipped configuration; publishes the service catalog to the store.
    pub async fn start(store: Arc<dyn Store>, settings: Settings) -> Result<Arc<Desk>> {
        let files = match &settings.config_dir {
            Some(dir) => config::ConfigFiles::read(dir)?,
            None => config::ConfigFiles::shipped(),
        };
        let config::Config {
            catalog,
            sla,
            contracts: contract_settings,
            priorities,
        } = files.validate().map_err(DeskError::Config)?;
        let priorities = Arc::new(priorities);
        let desk = Desk {
            files: FileStore::new(settings.data_dir.join("files")),
            search: kb::Search::open(&settings.data_dir.join("search"))?,
            store,
            catalog: RwLock::new(Arc::new(catalog)),
            publishing: tokio::sync::Mutex::new(()),
            sla_started: sla,
            sla_published: RwLock::new(None),
            sla_files: std::sync::Mutex::new(calendars::SlaFile::of_config(&files)),
            sla_skipped: std::sync::Mutex::new(Default::default()),
            contract_settings,
            priorities,
            settings,
        };
        desk.load_published_workflows().await?;
        desk.load_published_sla().await?;
        desk.settle_configuration(&configuration_stamp(&files))
            .await?;
        desk.rank_pending().await?;
        let desk = Arc::new(desk);
        if desk.settings.search_indexer {
            Desk::start_indexer(&desk);
        }
        Ok(desk)
    }

    /// Now, by the desk's clock: every use case, job and page reads time here.
    pub fn now(&self) -> Timestamp {
        self.settings.clock.now()
    }

    /// The desk's clock, for the parts that run beside it (jobs, mail pollers).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.settings.clock.clone()
    }

    /// The catalog as it is now; routes under way find their workflow version in it.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn replace_catalog(&self, catalog: Catalog) {
        *self
            .catalog
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(catalog);
    }

    /// Brings the database up to this configuration: the catalog's services, the shipped
    /// articles, and phone keys for contacts saved before phone lookup existed (issue 20).
    /// Done once per configuration and version however many processes start together (the
    /// first claims it, the others wait for it); later starts — a server's restart, each
    /// message an MTA pipes to `okno mail ingest` — only read that it is done.
    async fn settle_configuration(&self, stamp: &str) -> Result<()> {
        if self.store.once_result(stamp).await?.is_some() {
            return Ok(());
        }
        let terms = ClaimTerms {
            lease: jiff::SignedDuration::from_mins(10),
            keep: None,
        };
        loop {
            match self.store.claim_once(stamp, terms, self.now()).await? {
                Claim::Done(_) => return Ok(()),
                Claim::Pending => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                Claim::Won => break,
            }
        }
        let settled = async {
            self.publish_services().await?;
            self.load_shipped_articles().await?;
            self.store.key_phones().await?;
            Ok::<_, DeskError>(())
        }
        .await;
        match settled {
            Ok(()) => Ok(self.store.finish_once(stamp, 1).await?),
            Err(error) => {
                self.store.release_once(stamp).await?;
                Err(error)
            }
        }
    }

    async fn publish_services(&self) -> Result<()> {
        for s in self.catalog().services() {
            self.store
                .upsert_service(&okno_store::Service {
                    code: s.code.clone(),
                    name_ru: s.name.ru.clone(),
                    name_en: s.name.en.clone(),
                    description_ru: s.description.ru.clone(),
                    description_en: s.description.en.clone(),
                    workflow: s.workflow.clone(),
                    definition: "{}".into(),
                    sort_order: i64::from(s.order),
                    active: s.active,
                })
                .await?;
        }
        Ok(())
    }
}

/// What a start settles the database to: this version with these configuration files.
fn configuration_stamp(files: &config::ConfigFiles) -> String {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same files give the same stamp in every process of a
    // build; the version sets builds apart.
    let mut hasher = std::hash::DefaultHasher::new();
    (
        &files.workflows,
        &files.calendars,
        &files.support_levels,
        &files.contracts,
        &files.priorities,
        &files.articles,
    )
        .hash(&mut hasher);
    format!(
        "configuration:{}:{:016x}",
        env!("CARGO_PKG_VERSION"),
        hasher.finish()
    )
}

/// The viewer a user is, for visibility decisions.
pub fn viewer(user: &User) -> Viewer {
    Viewer::from(user)
}

/// The desk's one authorization check: may this person do this (`okno_domain::policy`)?
pub fn authorize(user: &User, action: okno_domain::policy::Action) -> Result<()> {
    okno_domain::policy::check(okno_domain::policy::Actor::person(user), action)?;
    Ok(())
}
