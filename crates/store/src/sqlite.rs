//! The embedded default: one SQLite file in WAL mode.
//!
//! Writes go through a single connection, so writers queue in-process instead of spinning
//! on SQLite's busy lock; reads use a few read-only connections that WAL lets run
//! beside the writer ([`Readers`]). Statements run on the calling thread when the
//! connection's own thread is idle (`execute_inline`, vendor/sqlx-sqlite/OKNO-PATCH.md):
//! they are short, and a hand-off to that thread and back cost more than most of them.

use crate::Result;
use crate::group_commit::GroupWriter;
pub(crate) use crate::group_commit::Tx;
use crate::readers::Readers;
use sqlx::Pool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Whether several statements may go to the database as one call: SQLite runs `;`-separated statements in one call (one hand-off to its thread).
const ONE_CALL_BATCHES: bool = true;
pub type Db = sqlx::Sqlite;
type Backend = SqliteStore;

pub struct SqliteStore {
    /// "Now" for the rows the store stamps itself (a client's or a token's creation).
    clock: Arc<dyn okno_domain::Clock>,
    writer: Pool<Db>,
    reader: Readers,
    group: GroupWriter,
    /// The checkpointer runs while this lives, or until `close` stops it.
    _checkpoints: Arc<()>,
    stop_checkpoints: Arc<tokio::sync::Notify>,
    checkpoints_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Read-only connections: reads run beside each other and beside the writer.
const READERS: usize = 4;

/// How often the checkpointer copies the WAL's pages into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// WAL pages after which a commit checkpoints by itself: only when the checkpointer falls
/// far behind (SQLite's default is 1,000, a few seconds of busy writing).
const WRITER_CHECKPOINT_PAGES: &str = "16000";

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
            .test_before_acquire(false)
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
                    .execute_inline(true),
            )
            .await?;
        let migrator = sqlx::migrate!("./migrations/sqlite");
        if !repo::schema_is_current(&writer, &migrator).await {
            migrator.run(&writer).await?;
        }
        // Readers share the OS page cache; a small cache each keeps the server's memory
        // flat however many pages reads visit.
        let reader = Readers::new(
            &options
                .clone()
                .read_only(true)
                .pragma("cache_size", "-4000")
                .execute_inline(true),
            READERS,
        );
        let checkpoints = Arc::new(());
        let stop_checkpoints = Arc::new(tokio::sync::Notify::new());
        let checkpoints_task = tokio::spawn(checkpointer(
            options,
            Arc::downgrade(&checkpoints),
            stop_checkpoints.clone(),
        ));
        Ok(SqliteStore {
            clock: Arc::new(okno_domain::SystemClock),
            group: GroupWriter::new(writer.clone()),
            writer,
            reader,
            _checkpoints: checkpoints,
            stop_checkpoints,
            checkpoints_task: std::sync::Mutex::new(Some(checkpoints_task)),
        })
    }

    /// The store on `clock` instead of the system's (tests, `okno simulate`).
    pub fn with_clock(mut self, clock: Arc<dyn okno_domain::Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    fn reader(&self) -> &Readers {
        &self.reader
    }

    fn writer(&self) -> &Pool<Db> {
        &self.writer
    }

    /// Closes every connection but the writer, copies the whole WAL into the database and
    /// truncates it, then closes the writer. A reader or the checkpointer left open would
    /// make the checkpoint answer "busy" and leave the WAL behind.
    async fn close_backend(&self) -> Result<()> {
        self.stop_checkpoints.notify_one();
        let task = self.checkpoints_task.lock().expect("checkpointer").take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.reader.close().await;
        for _ in 0..50 {
            let busy: i64 = sqlx::query_scalar("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.writer)
                .await?;
            if busy == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.writer.close().await;
        Ok(())
    }

    /// A write transaction; writes arriving together share one commit (see group_commit).
    async fn begin(&self) -> Result<Tx> {
        self.group.begin().await
    }

    /// A write whose first statement must be prefixed with the answered text.
    async fn begin_unopened(&self) -> Result<(Tx, &'static str)> {
        self.group.begin_unopened().await
    }
}

/// Copies the WAL into the database file from a connection of its own, so that the
/// writer's commits do not: a checkpoint every thousand pages in the commit that crossed
/// the line held every write queued behind it for a few milliseconds. A passive checkpoint
/// waits for nobody; the writer starts the WAL over once it is all copied. Its connection
/// opens at the first checkpoint: a short command is done before then. `stop` ends it
/// (closing the store).
async fn checkpointer(
    options: SqliteConnectOptions,
    store: Weak<()>,
    stop: Arc<tokio::sync::Notify>,
) {
    // The wait between checkpoints; false once `close` stops the checkpointer.
    let pause = || async {
        tokio::select! {
            _ = tokio::time::sleep(CHECKPOINT_EVERY) => true,
            _ = stop.notified() => false,
        }
    };
    if !pause().await || store.strong_count() == 0 {
        return;
    }
    let mut connection = match options.connect().await {
        Ok(connection) => connection,
        Err(error) => {
            tracing::warn!(%error, "WAL checkpointer: cannot connect");
            return;
        }
    };
    loop {
        if store.strong_count() == 0 {
            break;
        }
        if let Err(error) = sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut connection)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint");
        }
        if !pause().await {
            break;
        }
    }
    let _ = connection.close().await;
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
