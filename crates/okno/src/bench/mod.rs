//! `okno bench NAME`: benchmarks that print `figure <name> <value> <unit>` lines and a verdict.

mod api;
mod channels;
mod mail;
mod pages;
mod queue;
mod reports;
pub mod search;
mod workflow;

use anyhow::Context;
use sqlx::{AssertSqlSafe, Connection};
use std::process::ExitCode;

/// Where a benchmark keeps its data: a temporary SQLite file (the default), or, with
/// `--database postgres://…`, a fresh database created on that server for this run
/// (`okno_bench_<name>_<pid>`) and dropped when the run ends; `--database PATH` names an
/// SQLite file instead (it must not hold a desk yet, and is kept). The temporary
/// directory holds the attachment store and the search index either way.
pub struct BenchDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    /// The server's URL and the database made there, to drop.
    created: Option<(String, String)>,
}

impl BenchDb {
    pub async fn create(database: Option<&str>, bench: &str) -> anyhow::Result<BenchDb> {
        let dir = tempfile::tempdir()?;
        let Some(database) = database else {
            let url = dir.path().join("okno.db").to_string_lossy().into_owned();
            return Ok(BenchDb {
                url,
                dir,
                created: None,
            });
        };
        if !is_postgres(database) {
            return Ok(BenchDb {
                url: database.to_owned(),
                dir,
                created: None,
            });
        }
        let name = format!("okno_bench_{bench}_{}", std::process::id());
        let mut server = sqlx::PgConnection::connect(database)
            .await
            .with_context(|| format!("cannot connect to {}", crate::redact(database)))?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut server)
            .await
            .with_context(|| format!("cannot create the database {name}"))?;
        server.close().await?;
        Ok(BenchDb {
            url: with_database(database, &name),
            dir,
            created: Some((database.to_owned(), name)),
        })
    }

    /// `sqlite` or `postgres`, for the figures' names and messages.
    pub fn backend(&self) -> &'static str {
        if is_postgres(&self.url) {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Drops the database this run created (after every connection to it is closed).
    pub async fn finish(self) -> anyhow::Result<()> {
        if let Some((server, name)) = &self.created {
            let mut server = sqlx::PgConnection::connect(server).await?;
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut server)
            .await?;
            server.close().await?;
        }
        Ok(())
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `postgres://user@host:port/db?opts` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A measured figure and, when there is one, its target.
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub target: Option<Target>,
}

pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Figure {
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Figure {
            name: name.into(),
            value,
            unit,
            target: None,
        }
    }
    pub fn at_least(mut self, target: f64) -> Self {
        self.target = Some(Target::AtLeast(target));
        self
    }
    pub fn at_most(mut self, target: f64) -> Self {
        self.target = Some(Target::AtMost(target));
        self
    }
    fn met(&self) -> bool {
        match self.target {
            Some(Target::AtLeast(t)) => self.value >= t,
            Some(Target::AtMost(t)) => self.value <= t,
            None => true,
        }
    }
}

/// Runs the benchmark `name`; `database` is `--database` (see [`BenchDb`]). `search` and
/// `sla` touch no database (the index and the calendar arithmetic alone).
pub async fn run(name: &str, quick: bool, database: Option<&str>) -> anyhow::Result<ExitCode> {
    const ON_A_DATABASE: [&str; 7] = [
        "api", "pages", "workflow", "queue", "mail", "channels", "reports",
    ];
    let db = match ON_A_DATABASE.contains(&name) {
        true => Some(BenchDb::create(database, name).await?),
        false => None,
    };
    let figures = match (name, &db) {
        ("api", Some(db)) => api::run(quick, db).await,
        ("pages", Some(db)) => pages::run(quick, db).await,
        ("workflow", Some(db)) => workflow::run(quick, db).await,
        ("queue", Some(db)) => queue::run(quick, db).await,
        ("mail", Some(db)) => mail::run(quick, db).await,
        ("channels", Some(db)) => channels::run(quick, db).await,
        ("reports", Some(db)) => reports::run(quick, db).await,
        _ => Ok(Vec::new()),
    };
    if let Some(db) = db {
        db.finish().await?;
    }
    let figures = match name {
        name if ON_A_DATABASE.contains(&name) => figures?,
        "search" => search::run(quick).await?,
        "sla" => okno_sla::bench::run(quick)
            .into_iter()
            .map(|f| {
                let figure = Figure::new(f.name, f.value, f.unit);
                if f.name == "sla_due_per_s" {
                    figure.at_least(1_000_000.0)
                } else {
                    figure
                }
            })
            .collect(),
        other => anyhow::bail!(
            "unknown benchmark {other:?}: try api, channels, mail, pages, queue, reports, search, sla or workflow"
        ),
    };
    let mut verdict = Vec::new();
    for f in &figures {
        let value = if f.value >= 100.0 {
            format!("{:.0}", f.value)
        } else {
            format!("{:.2}", f.value)
        };
        println!("figure {} {value} {}", f.name, f.unit);
        if let Some(target) = &f.target {
            let (ratio, bound) = match target {
                Target::AtLeast(t) => (f.value / t, format!(">= {t}")),
                Target::AtMost(t) => (t / f.value.max(f64::MIN_POSITIVE), format!("<= {t}")),
            };
            verdict.push(format!(
                "{} {} ({bound} {}, x{ratio:.2})",
                f.name,
                if f.met() { "ok" } else { "MISSED" },
                f.unit
            ));
        }
    }
    let all_met = figures.iter().all(Figure::met);
    println!(
        "verdict {}: {}",
        if all_met {
            "all targets met"
        } else {
            "targets missed"
        },
        verdict.join("; ")
    );
    Ok(ExitCode::SUCCESS)
}
