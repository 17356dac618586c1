//! The embedded default: one SQLite file in WAL mode.
//!
//! Writes go through a single connection, so writers queue in-process instead of spinning
//! on SQLite's busy lock; reads use a pool of read-only connections that WAL lets run
//! beside the writer.

use crate::Result;
use crate::group_commit::GroupWriter;
pub(crate) use crate::group_commit::Tx;
use sqlx::Pool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

/// Whether several statements may go to the database as one call: SQLite runs `;`-separated statements in one call (one hand-off to its thread).
const ONE_CALL_BATCHES: bool = true;
/// What the first statement of a write begun by `begin_unopened` starts with.
const OPEN_WRITE: &str = "SAVEPOINT write; ";
pub type Db = sqlx::Sqlite;
type Backend = SqliteStore;

pub struct SqliteStore {
    writer: Pool<Db>,
    reader: Pool<Db>,
    group: GroupWriter,
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL loses no committed transaction on a process crash, only
            // possibly the last ones on a power cut; FULL would halve write throughput.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-16000")
            // Savepoint and statement journals in memory: on disk they cost a write per page
            // for every write transaction (they are never needed after a crash).
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            // Readers share the OS page cache; a small cache each keeps the server's memory
            // flat however many pages reads visit.
            .connect_with(options.read_only(true).pragma("cache_size", "-4000"))
            .await?;
        Ok(SqliteStore {
            group: GroupWriter::new(writer.clone()),
            writer,
            reader,
        })
    }

    fn reader(&self) -> &Pool<Db> {
        &self.reader
    }

    fn writer(&self) -> &Pool<Db> {
        &self.writer
    }

    /// A write transaction; writes arriving together share one commit (see group_commit).
    async fn begin(&self) -> Result<Tx> {
        self.group.begin().await
    }

    /// A write whose first statement is prefixed with [`OPEN_WRITE`].
    async fn begin_unopened(&self) -> Result<Tx> {
        self.group.begin_unopened().await
    }
}

/// Runs a write's last statements (nobody reads their results) and commits it: SQLite takes
/// them and the savepoint's release in one call.
async fn commit_after(mut tx: Tx, statements: Vec<crate::sql::Sql>) -> Result<()> {
    let release = crate::sql::Sql::new(crate::group_commit::RELEASE);
    let all: crate::sql::Sql = statements.into_iter().chain([release]).collect();
    repo::bind_all(sqlx::query(sqlx::AssertSqlSafe(all.text)), &all.params)
        .execute(&mut *tx)
        .await?;
    tx.released().await
}

/// The secondary indexes of the bulk-loaded tables, `(name, definition)` (SQLite's own
/// indexes for UNIQUE constraints have no definition and stay).
const SECONDARY_INDEXES: &str = "SELECT name, sql FROM sqlite_master \
     WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('tickets', 'tasks') ORDER BY name";

/// Inserts generated rows: multi-row INSERTs of 100 rows through one prepared statement.
/// SQLite's cost is per statement and per call to its thread, not per row; far more
/// parameters per statement cost more than they save.
async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<crate::sql::Param>>,
) -> Result<()> {
    const ROWS: usize = 100;
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let full = crate::sql::placeholders(&head, columns.len(), ROWS);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(ROWS).collect();
        let text = if chunk.len() == ROWS {
            full.clone()
        } else {
            crate::sql::placeholders(&head, columns.len(), chunk.len())
        };
        let params: Vec<_> = chunk.into_iter().flatten().collect();
        repo::bind_all(sqlx::query(sqlx::AssertSqlSafe(text)), &params)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[path = "repo/mod.rs"]
#[allow(clippy::duplicate_mod)] // one SQL source, compiled once per backend
mod repo;
