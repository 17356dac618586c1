//! `okno mail …`: the email channel from the command line.

use crate::DataArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use okno_desk::Desk;
use okno_desk::mail::{Inbox, IngestOutcome};
use okno_mail::MailSettings;
use okno_mail::smtp::Smtp;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
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
        read_settings(self.mail_config.as_deref())
    }
}

fn read_settings(path: Option<&std::path::Path>) -> anyhow::Result<MailSettings> {
    match path {
        Some(path) => MailSettings::read(path).map_err(anyhow::Error::msg),
        None => Ok(MailSettings::default()),
    }
}

/// The email channel inside `okno serve`.
#[derive(Args, Clone)]
pub struct ServeMailArgs {
    /// The mail settings (TOML); with mailboxes or SMTP in them, the server polls and sends
    /// mail in the background.
    #[arg(long, env = "OKNO_MAIL_CONFIG")]
    mail_config: Option<PathBuf>,
    /// Seconds between mail passes (doubling up to 10 minutes while they fail).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..), env = "OKNO_MAIL_EVERY")]
    mail_every: u64,
}

impl ServeMailArgs {
    pub fn settings(&self) -> anyhow::Result<MailSettings> {
        read_settings(self.mail_config.as_deref())
    }

    pub fn every(&self) -> Duration {
        Duration::from_secs(self.mail_every)
    }
}

/// The longest wait between passes while they fail.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The wait before the next pass: `every` after a clean pass, double the last wait (at
/// most [`MAX_BACKOFF`]) after a failed one.
fn next_wait(every: Duration, last: Duration, failed: bool) -> Duration {
    if failed {
        (last * 2).clamp(every, MAX_BACKOFF.max(every))
    } else {
        every
    }
}

/// What one pass did: outcome lines and errors.
#[derive(Default)]
struct Pass {
    lines: Vec<String>,
    errors: Vec<String>,
}

/// One pass: every mailbox through the inbound pipeline, then the outbox by SMTP.
async fn pass(desk: &Desk, settings: &MailSettings, smtp: Option<&Smtp>) -> Pass {
    let mut done = Pass::default();
    for mailbox in &settings.mailboxes {
        match desk.poll_mailbox(settings, mailbox).await {
            Ok(outcomes) => done.lines.extend(outcomes.iter().map(|o| o.to_string())),
            Err(e) => done
                .errors
                .push(format!("mailbox {}@{}: {e}", mailbox.user, mailbox.host)),
        }
    }
    if let Some(smtp) = smtp {
        match desk.deliver_mail(settings, smtp).await {
            Ok(0) => {}
            Ok(n) => done.lines.push(format!("sent {n}")),
            Err(e) => done.errors.push(format!("sending mail: {e}")),
        }
    }
    done
}

fn smtp_of(settings: &MailSettings) -> anyhow::Result<Option<Smtp>> {
    Ok(settings.smtp.as_ref().map(Smtp::new).transpose()?)
}

/// Starts the mail loop of `okno serve` when the desk's mail settings name mailboxes or
/// SMTP: a pass every `every`, backing off while passes fail. Several servers on one
/// database may all run it: messages are de-duplicated and outbox rows leased.
pub fn spawn_loop(
    desk: Arc<Desk>,
    every: Duration,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let settings = desk.settings.mail.clone();
    if settings.mailboxes.is_empty() && settings.smtp.is_none() {
        return Ok(None);
    }
    let smtp = smtp_of(&settings)?;
    Ok(Some(tokio::spawn(async move {
        let mut wait = every;
        loop {
            let done = pass(&desk, &settings, smtp.as_ref()).await;
            for line in &done.lines {
                tracing::info!(target: "okno::mail", "{line}");
            }
            for error in &done.errors {
                tracing::warn!(target: "okno::mail", "{error}");
            }
            wait = next_wait(every, wait, !done.errors.is_empty());
            tokio::time::sleep(wait).await;
        }
    })))
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
            let desk = args.data.open_desk_briefly().await?;
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
            let desk = args.data.open_desk_with_mail(settings.clone()).await?;
            sync_vendors(&desk, &settings).await?;
            let smtp = smtp_of(&settings)?;
            let every = Duration::from_secs(interval.max(1));
            let mut wait = every;
            loop {
                let done = pass(&desk, &settings, smtp.as_ref()).await;
                done.lines.iter().for_each(|line| println!("{line}"));
                done.errors.iter().for_each(|e| eprintln!("okno: {e}"));
                if once {
                    break;
                }
                wait = next_wait(every, wait, !done.errors.is_empty());
                tokio::time::sleep(wait).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_passes_back_off_to_ten_minutes_and_a_clean_one_resets() {
        let every = Duration::from_secs(30);
        let mut wait = every;
        let mut waits = Vec::new();
        for _ in 0..7 {
            wait = next_wait(every, wait, true);
            waits.push(wait.as_secs());
        }
        assert_eq!(waits, [60, 120, 240, 480, 600, 600, 600]);
        assert_eq!(next_wait(every, wait, false), every);
        // An interval longer than the cap is never shortened.
        let hour = Duration::from_secs(3600);
        assert_eq!(next_wait(hour, hour, true), hour);
    }
}
