//! `okno mail …`: the email channel from the command line.

use crate::DataArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use okno_desk::mail::{Inbox, IngestOutcome};
use okno_mail::MailSettings;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Clone)]
pub struct MailArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The mail settings (TOML: addresses, mailboxes, SMTP, vendors, policies); default:
    /// built-in defaults, no mailboxes.
    #[arg(long, env = "OKNO_MAIL_CONFIG")]
    pub mail_config: Option<PathBuf>,
}

impl MailArgs {
    fn settings(&self) -> anyhow::Result<MailSettings> {
        match &self.mail_config {
            Some(path) => MailSettings::read(path).map_err(anyhow::Error::msg),
            None => Ok(MailSettings::default()),
        }
    }
}

#[derive(Subcommand)]
pub enum MailCommand {
    /// Feed RFC 5322 messages (files, or `-` for stdin) through the inbound pipeline.
    Ingest {
        #[command(flatten)]
        args: MailArgs,
        /// The service new tickets get.
        #[arg(long, default_value = "question")]
        service: String,
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Poll the configured IMAP mailboxes and send the outbox by SMTP, in a loop (or once).
    Run {
        #[command(flatten)]
        args: MailArgs,
        /// One pass, then exit.
        #[arg(long)]
        once: bool,
        /// Seconds between passes.
        #[arg(long, default_value_t = 30)]
        interval: u64,
    },
    /// Messages that could not be taken in.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// Line 4 vendors.
    #[command(subcommand)]
    Vendor(VendorCommand),
}

#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// List open entries, newest first.
    List {
        #[command(flatten)]
        args: MailArgs,
    },
    /// Feed an entry through the pipeline again.
    Retry {
        #[command(flatten)]
        args: MailArgs,
        id: i64,
    },
}

#[derive(Subcommand)]
pub enum VendorCommand {
    /// Add or update a vendor's support address.
    Add {
        #[command(flatten)]
        args: MailArgs,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
}

pub async fn run(command: MailCommand) -> anyhow::Result<ExitCode> {
    match command {
        MailCommand::Ingest {
            args,
            service,
            files,
        } => {
            let settings = args.settings()?;
            let desk = args.data.open_desk().await?;
            sync_vendors(&desk, &settings).await?;
            let inbox = Inbox {
                name: "ingest".into(),
                service,
                default_client: None,
            };
            for file in files {
                let raw = if file == "-" {
                    let mut raw = Vec::new();
                    std::io::stdin()
                        .read_to_end(&mut raw)
                        .context("reading stdin")?;
                    raw
                } else {
                    std::fs::read(&file).with_context(|| format!("{file}: cannot read"))?
                };
                let outcome = desk
                    .ingest_mail(&settings, &inbox, &raw)
                    .await
                    .with_context(|| format!("{file}: the store failed"))?;
                println!("{outcome}");
            }
        }
        MailCommand::Run {
            args,
            once,
            interval,
        } => {
            let settings = args.settings()?;
            let desk = args.data.open_desk().await?;
            sync_vendors(&desk, &settings).await?;
            let smtp = match &settings.smtp {
                Some(config) => Some(okno_mail::smtp::Smtp::new(config)?),
                None => None,
            };
            loop {
                for mailbox in &settings.mailboxes {
                    match desk.poll_mailbox(&settings, mailbox).await {
                        Ok(outcomes) => outcomes.iter().for_each(|o| println!("{o}")),
                        Err(e) => eprintln!("okno: mailbox {}@{}: {e}", mailbox.user, mailbox.host),
                    }
                }
                if let Some(smtp) = &smtp {
                    match desk.deliver_mail(&settings, smtp).await {
                        Ok(0) => {}
                        Ok(n) => println!("sent {n}"),
                        Err(e) => eprintln!("okno: sending mail: {e}"),
                    }
                }
                if once {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(interval.max(1))).await;
            }
        }
        MailCommand::Quarantine(QuarantineCommand::List { args }) => {
            let desk = args.data.open_desk().await?;
            for q in desk.store.quarantined(None, 500).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    q.id,
                    q.received_at,
                    q.sender.as_deref().unwrap_or("-"),
                    q.subject.as_deref().unwrap_or("-"),
                    q.reason
                );
            }
        }
        MailCommand::Quarantine(QuarantineCommand::Retry { args, id }) => {
            let settings = args.settings()?;
            let desk = args.data.open_desk().await?;
            println!("{}", desk.retry_quarantined(&settings, id).await?);
        }
        MailCommand::Vendor(VendorCommand::Add {
            args,
            code,
            name,
            email,
        }) => {
            let desk = args.data.open_desk().await?;
            let email = okno_domain::Email::parse(&email).context("--email")?;
            desk.store
                .upsert_vendor(&okno_store::Vendor {
                    code: code.trim().to_owned(),
                    name: name.trim().to_owned(),
                    support_email: email.to_string(),
                })
                .await?;
            println!("vendor {code} saved");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Vendors named in the mail settings are kept in the store (replies are matched there).
async fn sync_vendors(desk: &okno_desk::Desk, settings: &MailSettings) -> anyhow::Result<()> {
    for v in &settings.vendors {
        desk.store
            .upsert_vendor(&okno_store::Vendor {
                code: v.code.clone(),
                name: v.name.clone(),
                support_email: v.support_email.to_lowercase(),
            })
            .await?;
    }
    Ok(())
}

/// Whether an outcome counts as "taken in" (for the benchmark's checks).
pub fn taken_in(outcome: &IngestOutcome) -> bool {
    matches!(
        outcome,
        IngestOutcome::Created(_) | IngestOutcome::Updated(_)
    )
}
