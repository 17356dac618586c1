//! `okno backup` and `okno restore`: one archive file (zip) holding a consistent copy of
//! the database and the attachment store, taken while the desk runs.
//!
//! SQLite: `VACUUM INTO` copies the database as of one read transaction (every write
//! acknowledged before it began is in, none is half in), then the attachment files are
//! added — after the database, so every attachment the copy names is already on disk
//! (an attachment's bytes are stored before its row). PostgreSQL: `pg_dump` (custom
//! format) takes the database's snapshot; it must be installed.

use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const DATABASE_ENTRY: &str = "okno.db";
const PG_DUMP_ENTRY: &str = "okno.pgdump";
const FILES_DIR: &str = "files";

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Writes the archive to `to` (through a temporary file beside it, renamed at the end).
pub async fn backup(data: &Path, database_url: &str, to: &Path) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir().context("a temporary directory")?;
    let (entry, copy) = if is_postgres(database_url) {
        let copy = scratch.path().join(PG_DUMP_ENTRY);
        pg_dump(database_url, &copy)?;
        (PG_DUMP_ENTRY, copy)
    } else {
        let copy = scratch.path().join(DATABASE_ENTRY);
        vacuum_into(database_url, &copy).await?;
        (DATABASE_ENTRY, copy)
    };
    let partial = to.with_extension("partial");
    let written = write_archive(&partial, entry, &copy, &data.join(FILES_DIR));
    let (files, bytes) = match written {
        Ok(counts) => counts,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, to).with_context(|| format!("cannot write {}", to.display()))?;
    println!(
        "backup {}: the database and {files} attachment files ({bytes} bytes)",
        to.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn vacuum_into(database_url: &str, copy: &Path) -> anyhow::Result<()> {
    use sqlx::ConnectOptions;
    let path = database_url
        .strip_prefix("sqlite://")
        .unwrap_or(database_url);
    if !Path::new(path).is_file() {
        bail!("--database: {path} is not an SQLite database file");
    }
    let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .with_context(|| format!("cannot open {path}"))?;
    sqlx::query("VACUUM INTO $1")
        .bind(copy.to_string_lossy().into_owned())
        .execute(&mut connection)
        .await
        .with_context(|| format!("copying {path}"))?;
    Ok(())
}

fn pg_dump(database_url: &str, copy: &Path) -> anyhow::Result<()> {
    let status = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(copy)
        .arg(database_url)
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => bail!("pg_dump failed ({s}); see its message above"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "pg_dump is not installed: install PostgreSQL's client tools (Debian: apt install postgresql-client) of the server's major version or newer"
        ),
        Err(e) => Err(e).context("cannot run pg_dump"),
    }
}

/// Attachment files under `files/` (temporary `.name` files of uploads in progress left out).
fn attachment_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if !root.is_dir() {
        return Ok(found);
    }
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn write_archive(
    to: &Path,
    entry: &str,
    database: &Path,
    files: &Path,
) -> anyhow::Result<(usize, u64)> {
    let out =
        std::fs::File::create(to).with_context(|| format!("cannot write {}", to.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(out));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file(entry, options)?;
    std::io::copy(&mut std::fs::File::open(database)?, &mut zip)?;
    let mut bytes = 0;
    let attachments = attachment_files(files)?;
    for path in &attachments {
        let name = path.strip_prefix(files)?.to_string_lossy().into_owned();
        zip.start_file(format!("{FILES_DIR}/{name}"), options)?;
        bytes += std::io::copy(&mut std::fs::File::open(path)?, &mut zip)?;
    }
    let mut out = zip.finish()?;
    out.flush()?;
    out.get_ref().sync_all()?;
    Ok((attachments.len(), bytes))
}

/// Restores an archive into an empty (or new) data directory, and the database: the
/// SQLite file inside it, or an empty PostgreSQL database through `pg_restore`.
pub async fn restore(from: &Path, data: &Path, database_url: &str) -> anyhow::Result<ExitCode> {
    if data.exists()
        && std::fs::read_dir(data)
            .with_context(|| format!("--data: cannot read {}", data.display()))?
            .next()
            .is_some()
    {
        bail!(
            "--data: {} is not empty; restore into an empty directory",
            data.display()
        );
    }
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    let file = std::fs::File::open(from)
        .with_context(|| format!("--from: cannot read {}", from.display()))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("--from: {} is not an okno backup", from.display()))?;
    let postgres = is_postgres(database_url);
    let mut database = None;
    let scratch = tempfile::tempdir()?;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index)?;
        let Some(name) = entry.enclosed_name() else {
            bail!(
                "--from: entry {:?} leaves the archive's folder",
                entry.name()
            );
        };
        let target = if name == Path::new(DATABASE_ENTRY) || name == Path::new(PG_DUMP_ENTRY) {
            if postgres != (name == Path::new(PG_DUMP_ENTRY)) {
                bail!(
                    "--from: a backup of {} restores only to {}",
                    if postgres { "SQLite" } else { "PostgreSQL" },
                    if postgres {
                        "SQLite (leave out --database)"
                    } else {
                        "PostgreSQL (--database postgres://…)"
                    }
                );
            }
            let target = if postgres {
                scratch.path().join(PG_DUMP_ENTRY)
            } else {
                Path::new(database_url).to_owned()
            };
            database = Some(target.clone());
            target
        } else if name.starts_with(FILES_DIR) && !entry.is_dir() {
            data.join(&name)
        } else {
            continue;
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&target)
            .with_context(|| format!("cannot write {}", target.display()))?;
        let mut buffer = vec![0; 1 << 16];
        loop {
            let n = entry.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            out.write_all(&buffer[..n])?;
        }
        out.sync_all()?;
    }
    let Some(database) = database else {
        bail!("--from: {} holds no database", from.display());
    };
    if postgres {
        let status = std::process::Command::new("pg_restore")
            .args(["--no-owner", "--exit-on-error", "--dbname", database_url])
            .arg(&database)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => bail!("pg_restore failed ({s}); restore into an empty database"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("pg_restore is not installed: install PostgreSQL's client tools")
            }
            Err(e) => return Err(e).context("cannot run pg_restore"),
        }
    }
    // Opening applies any newer migrations and proves the copy reads.
    okno_store::open(database_url)
        .await
        .context("the restored database does not open")?;
    println!("restored {} into {}", from.display(), data.display());
    Ok(ExitCode::SUCCESS)
}
