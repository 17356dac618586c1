//! Group commit for the SQLite writer.
//!
//! SQLite has one writer, and every commit writes the pages it touched to the WAL: the
//! tickets table's tail, each index's leaf, the history and outbox tails — the same pages
//! for every ticket created at the same time. So writes that arrive together share one
//! transaction: each runs inside its own SAVEPOINT (a failing one rolls back alone), and a
//! flusher commits the batch once the writes queued behind it have had their turn. A caller
//! returns only after the batch holding its write is committed, so what it reads next is
//! there, and a failed commit is reported to every write in the batch.
//!
//! With one write at a time this is the old behaviour plus two cheap statements; under load
//! a batch grows to the writes waiting at that moment (at most [`MAX_BATCH`]).

use crate::{Result, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Pool, Sqlite, SqliteConnection};
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, watch};

/// Opens a write's savepoint: its changes can be undone alone.
const SAVEPOINT: &str = "SAVEPOINT write; ";

/// Opens a batch and its first write's savepoint, in one call to SQLite's thread.
const OPEN_BATCH: &str = "BEGIN IMMEDIATE; SAVEPOINT write; ";

/// Ends a write's savepoint, keeping its changes in the batch.
pub(crate) const RELEASE: &str = "RELEASE write";

/// Writes one batch may hold; bounds the latency of the first write in it.
const MAX_BATCH: usize = 64;

pub(crate) struct GroupWriter {
    batch: Arc<Mutex<Batch>>,
    shared: Arc<Shared>,
}

struct Shared {
    pool: Pool<Sqlite>,
    /// Wakes the flusher: a write has been released into the open batch.
    flush: Arc<Notify>,
    committed: watch::Sender<Committed>,
    /// Writes waiting for the batch lock.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct Batch {
    /// The writer connection while a batch transaction is open.
    conn: Option<PoolConnection<Sqlite>>,
    /// The writer connection kept between batches for a write already waiting: the pool
    /// hands a connection back through a task it spawns, which the next batch would wait for.
    kept: Option<PoolConnection<Sqlite>>,
    /// Number of the open (or last) batch.
    epoch: u64,
    writes: usize,
}

#[derive(Default, Clone)]
struct Committed {
    /// Every batch up to this one has ended.
    through: u64,
    /// Recent batches whose commit failed, with the reason.
    failed: VecDeque<(u64, String)>,
}

impl GroupWriter {
    pub(crate) fn new(pool: Pool<Sqlite>) -> Self {
        let writer = GroupWriter {
            batch: Arc::new(Mutex::new(Batch::default())),
            shared: Arc::new(Shared {
                pool,
                flush: Arc::new(Notify::new()),
                committed: watch::Sender::new(Committed::default()),
                waiting: AtomicUsize::new(0),
            }),
        };
        tokio::spawn(flusher(
            Arc::downgrade(&writer.batch),
            Arc::downgrade(&writer.shared),
        ));
        writer
    }

    /// Opens a write: joins the open batch, or begins one.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        let (mut tx, opening) = self.begin_unopened().await?;
        if let Err(error) = exec(tx.connection_mut(), opening).await {
            let mut batch = tx.batch.take().expect("an open write");
            self.shared.end(&mut batch, Err(error.to_string())).await;
            return Err(error);
        }
        Ok(tx)
    }

    /// Opens a write whose caller sends the opening itself: its first call on the
    /// connection must begin with the answered text (one hand-off to SQLite's thread less,
    /// two for the first write of a batch, whose BEGIN goes in the same call). Should that
    /// call fail before the savepoint, dropping the write ends the batch.
    pub(crate) async fn begin_unopened(&self) -> Result<(Tx, &'static str)> {
        let mut batch = {
            let _waiting = Waiting::on(&self.shared.waiting);
            self.batch.clone().lock_owned().await
        };
        let opening = if batch.conn.is_none() {
            let conn = match batch.kept.take() {
                Some(conn) => conn,
                None => self.shared.pool.acquire().await?,
            };
            batch.conn = Some(conn);
            batch.epoch += 1;
            batch.writes = 0;
            OPEN_BATCH
        } else {
            SAVEPOINT
        };
        let tx = Tx {
            batch: Some(batch),
            shared: self.shared.clone(),
        };
        Ok((tx, opening))
    }
}

/// One write inside a batch; derefs to the connection. [`Tx::commit`] keeps its changes and
/// waits for the batch to be durable; dropping it rolls them back.
pub struct Tx {
    batch: Option<OwnedMutexGuard<Batch>>,
    shared: Arc<Shared>,
}

impl Tx {
    pub async fn commit(mut self) -> Result<()> {
        if let Err(error) = exec(self.connection_mut(), RELEASE).await {
            let mut batch = self.batch.take().expect("a write is committed once");
            self.shared.end(&mut batch, Err(error.to_string())).await;
            return Err(error);
        }
        self.released().await
    }

    /// Commits a write whose savepoint the caller has released itself ([`RELEASE`], sent
    /// in the same call as the write's last statements).
    pub async fn released(mut self) -> Result<()> {
        let mut batch = self.batch.take().expect("a write is committed once");
        let epoch = batch.epoch;
        batch.writes += 1;
        if batch.writes >= MAX_BATCH {
            self.shared.commit(&mut batch).await;
        } else {
            drop(batch);
            self.shared.flush.notify_one();
        }
        self.shared.wait(epoch).await
    }
}

impl Tx {
    fn connection_mut(&mut self) -> &mut SqliteConnection {
        self.batch.as_mut().expect("an open write").connection()
    }
}

impl Deref for Tx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.batch.as_ref().expect("an open write").conn_ref()
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.batch.as_mut().expect("an open write").connection()
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        // Not committed (an error, or a change found stale): undo this write only. Drop
        // cannot wait, so a task does it while still holding the batch.
        if let Some(mut batch) = self.batch.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let shared = self.shared.clone();
            runtime.spawn(async move {
                let undone = async {
                    exec(batch.connection(), "ROLLBACK TO write").await?;
                    exec(batch.connection(), RELEASE).await
                };
                match undone.await {
                    Ok(()) => {
                        drop(batch);
                        shared.flush.notify_one();
                    }
                    Err(error) => shared.end(&mut batch, Err(error.to_string())).await,
                }
            });
        }
    }
}

impl Batch {
    fn connection(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("an open batch")
    }

    fn conn_ref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("an open batch")
    }
}

impl Shared {
    async fn commit(&self, batch: &mut Batch) {
        let outcome = exec(batch.connection(), "COMMIT")
            .await
            .map_err(|e| e.to_string());
        self.end(batch, outcome).await;
    }

    /// Ends the open batch with `outcome` (rolling it back if it failed) and tells its writes.
    async fn end(&self, batch: &mut Batch, outcome: std::result::Result<(), String>) {
        let Some(mut conn) = batch.conn.take() else {
            return;
        };
        if outcome.is_err() {
            // The statement may have ended the transaction already; then this one fails too.
            let _ = exec(&mut conn, "ROLLBACK").await;
        }
        if self.waiting.load(Ordering::Acquire) > 0 {
            batch.kept = Some(conn);
        } else {
            drop(conn);
        }
        let epoch = batch.epoch;
        self.committed.send_modify(|c| {
            c.through = epoch;
            if let Err(reason) = outcome {
                tracing::error!(%reason, epoch, "a write batch failed to commit");
                c.failed.push_back((epoch, reason));
                if c.failed.len() > 32 {
                    c.failed.pop_front();
                }
            }
        });
    }

    async fn wait(&self, epoch: u64) -> Result<()> {
        let mut committed = self.committed.subscribe();
        let seen = committed
            .wait_for(|c| c.through >= epoch)
            .await
            .map_err(|_| StoreError::Corrupt("the writer stopped".into()))?;
        match seen.failed.iter().find(|(e, _)| *e == epoch) {
            Some((_, reason)) => Err(StoreError::Database(sqlx::Error::Protocol(format!(
                "commit failed: {reason}"
            )))),
            None => Ok(()),
        }
    }
}

/// Commits the open batch whenever a write asks; by the time it holds the lock, the writes
/// that were queued before it have joined the batch.
///
/// It also looks once a second, so a batch left open by a write cancelled half-way (its
/// caller gone between BEGIN and its SAVEPOINT) cannot keep the writer forever.
async fn flusher(batch: Weak<Mutex<Batch>>, shared: Weak<Shared>) {
    loop {
        let Some(waiting) = shared.upgrade() else {
            return;
        };
        let flush = waiting.flush.clone();
        drop(waiting);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), flush.notified()).await;
        let (Some(batch), Some(shared)) = (batch.upgrade(), shared.upgrade()) else {
            return;
        };
        // Writes made ready by the same wake-up queue for the batch first.
        tokio::task::yield_now().await;
        let mut batch = batch.lock().await;
        if batch.conn.is_some() {
            shared.commit(&mut batch).await;
        }
        // Kept for a write that has since given up waiting: back to the pool.
        if shared.waiting.load(Ordering::Acquire) == 0 {
            batch.kept = None;
        }
    }
}

/// Counts a write waiting for the batch lock while it lives (a cancelled wait included).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn on(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn exec(conn: &mut SqliteConnection, statement: &'static str) -> Result<()> {
    sqlx::raw_sql(statement).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::AssertSqlSafe;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    async fn writer(dir: &std::path::Path) -> (GroupWriter, Pool<Sqlite>) {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("group.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .execute_inline(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        (GroupWriter::new(pool.clone()), pool)
    }

    /// Sixty-four writes at once, every third one failing half-way: each failure undoes only
    /// its own write, every committed write is there when its caller hears back, and the
    /// writer connection is free again afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_write_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, pool) = writer(dir.path()).await;
        let writer = Arc::new(writer);
        let mut handles = Vec::new();
        for i in 0..64i64 {
            let writer = writer.clone();
            let pool = pool.clone();
            handles.push(tokio::spawn(async move {
                let mut tx = writer.begin().await?;
                sqlx::query("INSERT INTO t (id, n) VALUES ($1, 1)")
                    .bind(i)
                    .execute(&mut *tx)
                    .await?;
                if i % 3 == 0 {
                    // A second row with the same key: the write fails after its first row.
                    sqlx::query("INSERT INTO t (id, n) VALUES ($1, 2)")
                        .bind(i)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE id = $1")
                    .bind(i)
                    .fetch_one(&pool)
                    .await?;
                Result::<i64>::Ok(seen)
            }));
        }
        let mut committed = 0;
        for (i, handle) in handles.into_iter().enumerate() {
            match handle.await.unwrap() {
                Ok(seen) => {
                    assert_ne!(i % 3, 0, "write {i} should have failed");
                    assert_eq!(seen, 1, "write {i} was not visible after commit");
                    committed += 1;
                }
                Err(_) => assert_eq!(i % 3, 0, "write {i} should have succeeded"),
            }
        }
        // Let the rollbacks of the failed writes finish, then the pool must be usable.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, committed);
        assert_eq!(committed, 64 - 22);
    }

    /// Writes arriving together share commits: fewer batches than writes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_share_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _pool) = writer(dir.path()).await;
        let writer = Arc::new(writer);
        let mut handles = Vec::new();
        for i in 0..200i64 {
            let writer = writer.clone();
            handles.push(tokio::spawn(async move {
                let mut tx = writer.begin().await.unwrap();
                sqlx::query("INSERT INTO t (id, n) VALUES ($1, 1)")
                    .bind(i)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
        let batches = writer.batch.lock().await.epoch;
        assert!(batches < 200, "{batches} batches for 200 concurrent writes");
    }

    /// A write that sends its opening with its first statement: a batch's first write
    /// carries the BEGIN too. A first statement failing after the savepoint undoes that
    /// write alone; a write dropped before sending anything ends its batch; either way the
    /// writes after it commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_opening_with_its_first_statement() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, pool) = writer(dir.path()).await;
        let insert = async |id: i64, first: bool| -> Result<()> {
            let (mut tx, opening) = writer.begin_unopened().await?;
            assert_eq!(opening == OPEN_BATCH, first, "write {id}");
            sqlx::query(AssertSqlSafe(format!(
                "{opening}INSERT INTO t (id, n) VALUES ($1, 1)"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        };
        insert(1, true).await.unwrap();
        // The same key again: the statement fails inside the batch it opened.
        assert!(insert(1, true).await.is_err());
        // Opened and dropped unsent.
        drop(writer.begin_unopened().await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        insert(2, true).await.unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM t ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(ids, [1, 2]);
    }

    /// Statements run inline (the patched driver, vendor/sqlx-sqlite/OKNO-PATCH.md) keep
    /// the order they were issued in: a nested transaction dropped uncommitted queues its
    /// rollback on the connection's thread, and the next statement, which could run inline
    /// (the outer transaction holds the write lock), runs after it and so does not see the
    /// rolled-back row.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inline_statements_keep_their_order() {
        use sqlx::Connection;
        let dir = tempfile::tempdir().unwrap();
        let (_, pool) = writer(dir.path()).await;
        let mut outer = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t (id, n) VALUES (-1, 1)")
            .execute(&mut *outer)
            .await
            .unwrap();
        for i in 0..200i64 {
            {
                let mut inner = outer.begin().await.unwrap();
                sqlx::query("INSERT INTO t (id, n) VALUES ($1, 1)")
                    .bind(i)
                    .execute(&mut *inner)
                    .await
                    .unwrap();
            }
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
                .fetch_one(&mut *outer)
                .await
                .unwrap();
            assert_eq!(rows, 1, "round {i}: the dropped transaction's row is seen");
        }
    }
}
