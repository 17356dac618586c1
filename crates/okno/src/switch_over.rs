//! `okno import from-redmine|from-rt|from-znuny URL …`: switching over from another system
//! (issue 23). With `--plan FILE` that does not exist yet, writes the proposed mapping
//! there and stops; with an existing one, imports through it. `--dry-run` says what would
//! be created, updated and skipped. Exit 0 when everything came over, 2 when some items
//! were not imported (listed with their reasons), 1 when the source failed midway (run the
//! same command again to resume) or the store failed.

use anyhow::Context;
use okno_desk::Desk;
use okno_import::{Options, Plan, Report, Source};
use std::path::Path;
use std::process::ExitCode;

/// The service a proposed plan puts every source queue on: `question` when the catalog
/// has it, else its first active service.
fn default_service(desk: &Desk) -> anyhow::Result<String> {
    let catalog = desk.catalog();
    if catalog.service("question").is_some_and(|s| s.active) {
        return Ok("question".to_owned());
    }
    catalog
        .services()
        .iter()
        .find(|s| s.active)
        .map(|s| s.code.clone())
        .context("the service catalog has no active service to import tickets into")
}

pub async fn run(
    desk: &Desk,
    source: &dyn Source,
    plan_file: Option<&Path>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let plan = match plan_file {
        Some(file) if !file.exists() => {
            let catalog = source.catalog().await?;
            let plan = Plan::propose(
                source.kind(),
                source.url(),
                &catalog,
                &default_service(desk)?,
            );
            std::fs::write(file, plan.to_toml(&catalog))
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!(
                "plan written to {}: {} clients, {} services, {} statuses, {} staff; \
                 edit it and run again with --plan {}",
                file.display(),
                plan.clients.len(),
                plan.services.len(),
                plan.statuses.len(),
                plan.staff.len(),
                file.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let catalog = desk.catalog();
            let plan = Plan::parse(&file.display().to_string(), &text, &|code| {
                catalog.service(code).is_some_and(|s| s.active)
            })?;
            if plan.kind != source.kind() {
                anyhow::bail!(
                    "{}:1: the plan is for {}, not {}",
                    file.display(),
                    plan.kind.title(),
                    source.kind().title()
                );
            }
            plan
        }
        None => {
            let catalog = source.catalog().await?;
            Plan::propose(
                source.kind(),
                source.url(),
                &catalog,
                &default_service(desk)?,
            )
        }
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} tickets, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = okno_import::import(
        desk,
        source,
        &plan,
        Options { dry_run },
        &mut |done, total| {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        },
    )
    .await?;
    bar.finish_and_clear();
    print_report(&report, dry_run);
    Ok(if report.stopped.is_some() {
        ExitCode::FAILURE
    } else if report.not_imported.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_report(report: &Report, dry_run: bool) {
    let c = &report.counts;
    let (create, update) = if dry_run {
        ("would create", "would update")
    } else {
        ("created", "updated")
    };
    if dry_run {
        println!("dry run: nothing was written");
    }
    println!(
        "{create}: {} clients, {} staff, {} contacts, {} tickets",
        c.clients, c.staff, c.contacts, c.tickets_created
    );
    println!("{update}: {} tickets", c.tickets_updated);
    println!("unchanged: {} tickets", c.tickets_unchanged);
    println!(
        "history: {} messages, {} status changes, {} fields, {} files ({:.1} MB), {} time entries",
        c.messages,
        c.status_changes,
        c.fields,
        c.files,
        c.file_bytes as f64 / (1024.0 * 1024.0),
        c.time_entries
    );
    println!("not imported: {} items", report.not_imported.len());
    for item in &report.not_imported {
        println!("not imported: {}: {}", item.item, item.reason);
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    if let Some(stopped) = &report.stopped {
        eprintln!(
            "okno: the source failed: {stopped}; what came over is kept: run the same command again to resume"
        );
    }
}
