//! `okno import clients|contacts|contracts FILE`: loads the accounting system's CSV or XLSX
//! export through the same upserts as the API, with a progress bar, and reports every row
//! refused as `FILE:LINE: field: reason`. Exit 0 when every row loaded, 2 when some were
//! refused (the others are stored), 1 when the file or the store failed.

use anyhow::Context;
use okno_desk::Desk;
use okno_desk::import::{ImportKind, read_rows};
use std::path::Path;
use std::process::ExitCode;

pub async fn run(desk: &Desk, kind: &str, file: &Path) -> anyhow::Result<ExitCode> {
    let kind = ImportKind::parse(kind)
        .with_context(|| format!("unknown kind {kind:?}: clients, contacts or contracts"))?;
    let bytes = okno_desk::bounded::read_file(file, okno_desk::import::limits::FILE_BYTES as u64)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let rows = read_rows(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = desk
        .import_rows(kind, &rows, |done, _| bar.set_position(done as u64))
        .await?;
    bar.finish_and_clear();
    for refused in &report.refused {
        let field = refused
            .field
            .as_deref()
            .map(|f| format!("{f}: "))
            .unwrap_or_default();
        eprintln!(
            "{}:{}: {field}{}",
            file.display(),
            refused.line,
            refused.reason
        );
    }
    println!(
        "created {}, updated {}, refused {}",
        report.created,
        report.updated,
        report.refused.len()
    );
    Ok(if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
