//! `okno`: the service desk's one binary. See `okno --help` and CONTRACT.md.

mod backup;
mod bench;
mod demo;
mod import;
mod mail;
mod simulate;
mod switch_over;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use okno_desk::{Desk, Settings};
use okno_domain::{Email, Line, Role, parse_client_code};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "okno",
    version,
    about = "Okno — a service desk: one window for the client, the right tasks for the team"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives: every command that touches it takes these.
#[derive(Args, Clone)]
struct DataArgs {
    /// Data directory (SQLite database, attachments).
    #[arg(long, default_value = "./okno-data", env = "OKNO_DATA")]
    data: PathBuf,
    /// Database: an SQLite file path or `postgres://…` (default: okno.db inside --data).
    #[arg(long, env = "OKNO_DATABASE")]
    database: Option<String>,
    /// Configuration directory laid out like `config/` (services, workflows, calendars,
    /// support-levels); default: the configuration shipped in the binary.
    #[arg(long, env = "OKNO_CONFIG")]
    config: Option<PathBuf>,
}

/// The background jobs a server process runs, and their settings.
#[derive(Args, Clone)]
struct JobArgs {
    /// Do not run the background jobs (deadline watch, daily review, auto-close) in this
    /// process; another process on the same database may run them.
    #[arg(long, env = "OKNO_NO_JOBS", value_parser = clap::builder::BoolishValueParser::new())]
    no_jobs: bool,
    /// Local time of the daily review, on the support calendar's working days.
    #[arg(long, default_value = "09:30", env = "OKNO_REVIEW_AT")]
    review_at: jiff::civil::Time,
    /// Working days of the client's silence after our last message before a ticket waiting
    /// on the client closes itself.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..), env = "OKNO_AUTO_CLOSE_DAYS")]
    auto_close_days: u16,
    /// Specialist hours on one ticket that alert the manager.
    #[arg(long, default_value_t = 10, env = "OKNO_ALERT_HOURS")]
    alert_hours: u16,
    /// Percent of a deadline's working time after which untouched work alerts the manager.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100), env = "OKNO_AT_RISK_PERCENT")]
    at_risk_percent: u8,
}

impl JobArgs {
    fn settings(&self) -> okno_jobs::JobSettings {
        let defaults = okno_jobs::JobSettings::default();
        okno_jobs::JobSettings {
            review_at: self.review_at,
            auto_close_after_minutes: i64::from(self.auto_close_days)
                * okno_sla::WORKING_DAY_MINUTES,
            watch: okno_sla::WatchRules {
                over_minutes: i64::from(self.alert_hours) * 60,
                at_risk_percent: self.at_risk_percent,
            },
            ..defaults
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the desk: web pages and API.
    Serve {
        #[command(flatten)]
        data: DataArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "OKNO_LISTEN")]
        listen: String,
        /// Load the demo firm on first start (idempotent).
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        jobs: JobArgs,
        #[command(flatten)]
        mail: mail::ServeMailArgs,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage client organizations.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Working-time calendars.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Load clients, contacts or contracts from a CSV or XLSX file (idempotent upserts), or
    /// switch over from Redmine, Request Tracker or OTRS/Znuny.
    #[command(subcommand)]
    Import(ImportCommand),
    /// An online, consistent copy of the database and the attachment store in one file,
    /// taken while the desk runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump).
    Backup {
        #[command(flatten)]
        data: DataArgs,
        /// The archive to write.
        #[arg(long)]
        to: PathBuf,
    },
    /// Restores a backup into an empty data directory (and, on PostgreSQL, an empty
    /// database, through pg_restore).
    Restore {
        #[command(flatten)]
        data: DataArgs,
        /// The archive `okno backup` wrote.
        #[arg(long)]
        from: PathBuf,
    },
    /// The email channel: ingest, poll and send, quarantine, vendors.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// The knowledge-base and ticket search index.
    #[command(subcommand)]
    Search(SearchCommand),
    /// The specialists' work queue.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Run a simulated support firm for N working days on a fresh database, checking the
    /// promises that cross the desk after every step; exits non-zero on any violation.
    Simulate {
        /// Data directory (default: a temporary one, removed afterwards).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Database: an SQLite file path or `postgres://…` of an empty database (default:
        /// okno.db inside the data directory).
        #[arg(long)]
        database: Option<String>,
        /// Working days to simulate.
        #[arg(long, default_value_t = 20)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 30)]
        specialists: u32,
        #[arg(long, default_value_t = 3000)]
        tickets_per_month: u32,
        /// The first simulated day.
        #[arg(long, default_value = "2027-02-01")]
        start: jiff::civil::Date,
    },
    /// Run a benchmark: api, mail, pages, queue, search, sla, workflow.
    Bench {
        name: String,
        /// A small version that runs in seconds.
        #[arg(long)]
        quick: bool,
        /// `postgres://…` (a server: the run creates a database of its own there and drops
        /// it after) or an SQLite file path; default a temporary SQLite file.
        #[arg(long)]
        database: Option<String>,
    },
}

/// What every switch-over import takes besides the source.
#[derive(Args, Clone)]
struct SwitchArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Say what would be created, updated and skipped; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The mapping plan (TOML): written with a proposal when the file does not exist yet
    /// (then edit it and run again), used when it does.
    #[arg(long)]
    plan: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Clients from a CSV or XLSX file.
    Clients {
        #[command(flatten)]
        data: DataArgs,
        file: PathBuf,
    },
    /// Contacts from a CSV or XLSX file.
    Contacts {
        #[command(flatten)]
        data: DataArgs,
        file: PathBuf,
    },
    /// Contracts from a CSV or XLSX file.
    Contracts {
        #[command(flatten)]
        data: DataArgs,
        file: PathBuf,
    },
    /// Everything from Redmine's REST API (an administrator's API key).
    FromRedmine {
        /// Redmine's base URL.
        url: String,
        #[arg(long, env = "OKNO_REDMINE_KEY")]
        key: String,
        #[command(flatten)]
        args: SwitchArgs,
    },
    /// Everything from Request Tracker 5's REST2 API (a SuperUser's auth token).
    FromRt {
        /// RT's base URL (REST2 lives under /REST/2.0).
        url: String,
        #[arg(long, env = "OKNO_RT_TOKEN")]
        token: String,
        #[command(flatten)]
        args: SwitchArgs,
    },
    /// Everything from OTRS/Znuny's GenericInterface (GenericTicketConnectorREST).
    FromZnuny {
        /// The web service's URL, or the system's base URL.
        url: String,
        #[arg(long)]
        user: String,
        #[arg(long, env = "OKNO_ZNUNY_PASSWORD")]
        password: String,
        #[command(flatten)]
        args: SwitchArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user.
    Add {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// client, specialist, manager or admin.
        #[arg(long)]
        role: String,
        /// The client organization's code (for role client).
        #[arg(long)]
        client: Option<String>,
        /// Support line 1–4 (repeat for several).
        #[arg(long)]
        line: Vec<u8>,
        #[arg(long)]
        password: String,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Add a client organization.
    Add {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// The organization's mail domain (mail from it becomes its tickets).
        #[arg(long)]
        mail_domain: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new API token for the user.
    Create {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum QueueCommand {
    /// Rank every open task again by the configuration's `priorities.toml` (after changing
    /// it), with a progress bar.
    Rerank {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuild the search index (`<data>/search/`) from the database, with a progress bar.
    Reindex {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate services, workflows, calendars and support levels; errors as file:line.
    Check {
        /// The configuration directory.
        #[arg(default_value = "./config")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Print the instant when N working minutes after FROM elapse.
    Due {
        #[arg(long)]
        calendar: String,
        #[arg(long)]
        from: String,
        #[arg(long, allow_hyphen_values = true)]
        minutes: String,
    },
    /// Load a newer production calendar into the holiday list (xmlcalendar.ru XML or the
    /// data.gov.ru CSV); new deadlines of every calendar using it follow at once.
    Import {
        #[command(flatten)]
        data: DataArgs,
        /// The file: xmlcalendar.ru's calendar.xml or data.gov.ru's production calendar CSV.
        file: PathBuf,
    },
}

impl DataArgs {
    fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => self.data.join("okno.db").to_string_lossy().into_owned(),
        }
    }

    async fn open_desk(&self) -> anyhow::Result<Arc<Desk>> {
        self.open_desk_with_mail(okno_mail::MailSettings::default())
            .await
    }

    /// The desk with the email channel's settings (mailboxes, SMTP, policies).
    async fn open_desk_with_mail(
        &self,
        mail: okno_mail::MailSettings,
    ) -> anyhow::Result<Arc<Desk>> {
        self.open_desk_with(mail, true).await
    }

    /// The desk for a command that writes a few rows and exits (one message an MTA pipes
    /// to `okno mail ingest -`): no search indexer, which would start catching the index up
    /// only to be cut off. A running server indexes what the command wrote within seconds;
    /// without one, the next start does.
    async fn open_desk_briefly(&self) -> anyhow::Result<Arc<Desk>> {
        self.open_desk_with(okno_mail::MailSettings::default(), false)
            .await
    }

    async fn open_desk_with(
        &self,
        mail: okno_mail::MailSettings,
        search_indexer: bool,
    ) -> anyhow::Result<Arc<Desk>> {
        std::fs::create_dir_all(&self.data)
            .with_context(|| format!("cannot create {}", self.data.display()))?;
        let url = self.database_url();
        let store = okno_store::open(&url)
            .await
            .with_context(|| format!("cannot open the database {}", redact(&url)))?;
        let settings = Settings {
            config_dir: self.config.clone(),
            mail,
            search_indexer,
            // The Telegram bot's token and Bot API address when Admin → Channels sets none.
            telegram_token: std::env::var("OKNO_TELEGRAM_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty()),
            telegram_api: std::env::var("OKNO_TELEGRAM_API")
                .ok()
                .filter(|a| !a.trim().is_empty()),
            totp_required_for_admins: std::env::var("OKNO_TOTP_REQUIRED_FOR_ADMINS")
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
            ..Settings::new(self.data.clone())
        };
        Ok(Desk::start(store, settings).await?)
    }
}

/// glibc's malloc gives threads that allocate at once arenas of their own, up to eight per
/// core, and returns little of a fragmented arena to the system: a server's resident memory
/// grew with its thread count (tokio's workers, SQLite's connection threads, the search
/// index's) long after a burst of requests was over. Two arenas keep it near what is live
/// (issue 24: the server's RSS after the side-by-side workload, measured in
/// docs/BENCHMARKS.md). `MALLOC_ARENA_MAX` in the environment still decides.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt changes one of malloc's settings; called first thing in main,
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OKNO_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("okno: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            data,
            listen,
            demo,
            jobs,
            mail,
        } => serve(data, &listen, demo, jobs, mail).await?,
        Command::Migrate { data } => {
            okno_store::open(&data.database_url())
                .await
                .context("migration failed")?;
            println!("migrations applied");
        }
        Command::User(UserCommand::Add {
            data,
            email,
            name,
            role,
            client,
            line,
            password,
        }) => {
            let desk = data.open_desk().await?;
            let role = Role::parse(&role).with_context(|| {
                format!("--role: unknown role {role:?} (client, specialist, manager, admin)")
            })?;
            let lines = line
                .into_iter()
                .map(Line::new)
                .collect::<Result<Vec<_>, _>>()
                .context("--line")?;
            let client_id = match client {
                Some(code) => {
                    let code = parse_client_code(&code).context("--client")?;
                    Some(
                        desk.store
                            .client_by_code(&code)
                            .await?
                            .with_context(|| format!("--client: no client {code}"))?
                            .id,
                    )
                }
                None if role == Role::Client => {
                    bail!("--client: a client contact needs its organization's code")
                }
                None => None,
            };
            let user = okno_store::NewUser {
                email: Email::parse(&email).context("--email")?,
                name: name.trim().to_owned(),
                role,
                client_id,
                lines,
                sees_organization: false,
                password_hash: Some(okno_desk::auth::hash_password(&password)?),
            };
            let id = desk.store.create_user(&user).await?;
            println!("user {id} added");
        }
        Command::Client(ClientCommand::Add {
            data,
            code,
            name,
            mail_domain,
        }) => {
            let desk = data.open_desk().await?;
            let code = parse_client_code(&code).context("--code")?;
            let id = desk
                .store
                .create_client(&code, name.trim(), mail_domain.as_deref())
                .await?;
            println!("client {id} added");
        }
        Command::Token(TokenCommand::Create { data, email }) => {
            let desk = data.open_desk().await?;
            let email = Email::parse(&email).context("--email")?;
            let (user, _) = desk
                .store
                .user_by_email(&email)
                .await?
                .with_context(|| format!("--email: no user {email}"))?;
            println!("{}", desk.create_token(&user).await?);
        }
        Command::Config(ConfigCommand::Check { dir }) => return config_check(&dir),
        Command::Calendar(CalendarCommand::Due {
            calendar,
            from,
            minutes,
        }) => {
            let config = okno_sla::shipped::config()?;
            match okno_sla::due_command(&config.calendars, &calendar, &from, &minutes) {
                Ok(due) => println!("{due}"),
                Err(e) => {
                    eprintln!("okno: {e}");
                    return Ok(ExitCode::from(2));
                }
            }
        }
        Command::Calendar(CalendarCommand::Import { data, file }) => {
            return calendar_import(&data, &file).await;
        }
        Command::Import(command) => return import_command(command).await,
        Command::Backup { data, to } => {
            return backup::backup(&data.data, &data.database_url(), &to).await;
        }
        Command::Restore { data, from } => {
            return backup::restore(&from, &data.data, &data.database_url()).await;
        }
        Command::Mail(command) => return mail::run(command).await,
        Command::Search(SearchCommand::Reindex { data }) => {
            let desk = data.open_desk().await?;
            let (articles, tickets) = desk
                .search_reindex(&mut bench::search::progress_bar)
                .await?;
            eprintln!();
            println!("reindexed {articles} articles and {tickets} tickets");
        }
        Command::Queue(QueueCommand::Rerank { data }) => {
            let desk = data.open_desk().await?;
            let ranked = desk
                .rerank_all_with(&mut bench::search::progress_bar)
                .await?;
            eprintln!();
            println!("ranked {ranked} open tasks");
        }
        Command::Bench {
            name,
            quick,
            database,
        } => return bench::run(&name, quick, database.as_deref()).await,
        Command::Simulate {
            data,
            database,
            days,
            seed,
            specialists,
            tickets_per_month,
            start,
        } => {
            let scratch = tempfile::tempdir()?;
            let data = data.unwrap_or_else(|| scratch.path().to_owned());
            let options = simulate::Options {
                days,
                seed,
                specialists,
                tickets_per_month,
                start,
                database: database
                    .unwrap_or_else(|| data.join("okno.db").to_string_lossy().into_owned()),
                data,
            };
            let report = simulate::run(&options, |line| eprintln!("{line}")).await?;
            let c = &report.counts;
            println!(
                "simulated {} working days: {} tickets ({} portal, {} API, {} mail, {} phone, {} Telegram, {} refused), \
                 {} tasks done, {} transfers, {} questions to clients, {} answers, {} ratings, \
                 {} replies to solved tickets, {} bulk-assigned, {} manager tasks, {} daily reviews gone through, {} mails, \
                 {} contracts, {} workflow versions republished",
                report.working_days,
                c.tickets,
                c.by_portal,
                c.by_api,
                c.by_mail,
                c.by_phone,
                c.by_telegram,
                c.refused,
                c.tasks_completed,
                c.transfers,
                c.asked_client,
                c.client_answers,
                c.ratings,
                c.replies_to_closed,
                c.bulk_assigned,
                c.manager_tasks_done,
                c.reviews_done,
                c.mails_sent,
                c.contracts_signed,
                c.workflows_republished
            );
            for violation in &report.violations {
                println!("{violation}");
            }
            println!(
                "figure simulated_days_per_min {:.1} 1/min",
                report.days_per_minute()
            );
            println!("figure invariants_checked {} 1", report.invariants_checked);
            println!("figure violations {} 1", report.violations.len());
            if !report.violations.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    data: DataArgs,
    listen: &str,
    demo: bool,
    jobs: JobArgs,
    mail: mail::ServeMailArgs,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (is the port taken?)"))?;
    let desk = data.open_desk_with_mail(mail.settings()?).await?;
    if demo {
        demo::load(&desk).await.context("loading the demo firm")?;
    }
    // Safe beside other servers on the same database: each run is claimed there first.
    let _jobs = (!jobs.no_jobs)
        .then(|| Arc::new(okno_jobs::Scheduler::new(desk.clone(), jobs.settings())).spawn());
    // With mailboxes or SMTP configured: the poller and the outbox sender, in the background.
    let _mail = mail::spawn_loop(desk.clone(), mail.every())?;
    // Outgoing webhooks (issue 20): new ticket history becomes signed deliveries.
    if !jobs.no_jobs {
        okno_desk::Desk::start_webhook_worker(&desk, std::time::Duration::from_secs(1));
        // The Telegram bot: long polling or webhook mode, and the messages it sends; idle
        // while no token is set (Admin → Channels or OKNO_TELEGRAM_TOKEN).
        okno_desk::Desk::start_telegram_worker(&desk, std::time::Duration::from_secs(1));
    }
    let address = listener.local_addr()?;
    println!("Okno is running at http://{address}/");
    if demo {
        println!("Demo logins (password `demo`): {}", demo::LOGINS.join(", "));
    }
    // The peer's address feeds the web form's per-address limit and login throttling.
    axum::serve(
        listener,
        okno_web::app(desk.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stop_signal())
    .await?;
    // Requests in flight have finished; the background loops end with the process.
    desk.store.close().await.context("closing the database")?;
    eprintln!("Okno stopped");
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM, what service managers (systemd, Docker, Kubernetes) send
/// to stop a service: either starts the graceful shutdown.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; stop with Ctrl-C");
            let _ = interrupt.await;
        }
    }
}

async fn import_command(command: ImportCommand) -> anyhow::Result<ExitCode> {
    let (source, args): (Box<dyn okno_import::Source>, SwitchArgs) = match command {
        ImportCommand::Clients { data, file } => {
            return import::run(&*data.open_desk().await?, "clients", &file).await;
        }
        ImportCommand::Contacts { data, file } => {
            return import::run(&*data.open_desk().await?, "contacts", &file).await;
        }
        ImportCommand::Contracts { data, file } => {
            return import::run(&*data.open_desk().await?, "contracts", &file).await;
        }
        ImportCommand::FromRedmine { url, key, args } => (
            Box::new(okno_import::redmine::Redmine::new(&url, &key)?),
            args,
        ),
        ImportCommand::FromRt { url, token, args } => (
            Box::new(okno_import::rt::RequestTracker::new(&url, &token)?),
            args,
        ),
        ImportCommand::FromZnuny {
            url,
            user,
            password,
            args,
        } => (
            Box::new(okno_import::znuny::Znuny::new(&url, &user, &password)?),
            args,
        ),
    };
    let desk = args.data.open_desk().await?;
    switch_over::run(&desk, &*source, args.plan.as_deref(), args.dry_run).await
}

/// `okno calendar import FILE`: prints what was loaded, one line per year with its working
/// days and 40-hour-week hours to check against the official figures; a refused file's
/// errors are `FILE:LINE: message` lines on stderr and exit 2.
async fn calendar_import(data: &DataArgs, file: &Path) -> anyhow::Result<ExitCode> {
    let bytes = okno_desk::bounded::read_file(file, okno_desk::bounded::CONFIG_FILE_BYTES)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let desk = data.open_desk().await?;
    let name = file.display().to_string();
    match desk
        .import_production_calendar_from_console(&name, &bytes)
        .await
    {
        Ok(loaded) => {
            println!(
                "{} version {}: {} loaded into calendars {}",
                loaded.list,
                loaded.version,
                loaded.format.label(),
                loaded.calendars.join(", ")
            );
            for year in &loaded.years {
                println!(
                    "{}: {} working days, {} short, {} h at 40 h a week",
                    year.year, year.working_days, year.short_days, year.hours_40
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(okno_desk::DeskError::Domain(okno_domain::DomainError::Invalid(error))) => {
            eprintln!("{}", error.message);
            Ok(ExitCode::from(2))
        }
        Err(error) => Err(error.into()),
    }
}

/// Reads every `*.toml` under DIR's sections and validates them together.
fn config_check(dir: &Path) -> anyhow::Result<ExitCode> {
    let files = okno_desk::config::ConfigFiles::read(dir)?;
    match files.validate() {
        Ok(_) => {
            println!(
                "configuration ok: {} files in {}",
                files.count(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}
