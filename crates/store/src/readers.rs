//! SQLite's read-only connections.
//!
//! A read takes a connection for one statement and puts it straight back. SQLx's pool
//! hands a connection back through a task it spawns, and a read waiting for a connection
//! waits for that task; statements here run inline (see `sqlite.rs`), so the spawn was most
//! of a read's cost.

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::sqlite::{SqliteConnectOptions, SqliteQueryResult, SqliteRow};
use sqlx::{ConnectOptions, Connection, Describe, Either, Execute, Executor, Sqlite};
use sqlx::{SqlStr, SqliteConnection};
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Connections are opened when reads first need them: a short command (one message piped
/// by an MTA) reads on one, and a server that is never busy keeps one or two.
#[derive(Debug)]
pub(crate) struct Readers {
    options: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    count: u32,
    /// One permit per connection, open or not yet: a holder takes an idle connection or
    /// opens one.
    permits: Semaphore,
}

impl Readers {
    pub(crate) fn new(options: &SqliteConnectOptions, count: usize) -> Self {
        Readers {
            options: options.clone(),
            idle: Mutex::new(Vec::with_capacity(count)),
            count: count as u32,
            permits: Semaphore::new(count),
        }
    }

    /// Waits for the reads in flight, then closes every connection; later reads fail with
    /// `PoolClosed`. A connection left open would keep a checkpoint from emptying the WAL.
    pub(crate) async fn close(&self) {
        let Ok(all) = self.permits.acquire_many(self.count).await else {
            return;
        };
        all.forget();
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().expect("readers"));
        for conn in idle {
            let _ = conn.close().await;
        }
    }

    async fn take(&self) -> sqlx::Result<Reader<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().expect("readers").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.options.connect().await?,
        };
        Ok(Reader {
            conn: Some(conn),
            readers: self,
            _permit: permit,
        })
    }
}

/// A connection taken for one read; dropping it puts it back.
struct Reader<'a> {
    conn: Option<SqliteConnection>,
    readers: &'a Readers,
    // Dropped after the connection is back in `idle`.
    _permit: SemaphorePermit<'a>,
}

impl Deref for Reader<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("a taken reader")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("a taken reader")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.idle.lock().expect("readers").push(conn);
        }
    }
}

impl<'c> Executor<'c> for &'c Readers {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, sqlx::Result<Either<SqliteQueryResult, SqliteRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        // The results are collected before the connection goes back (inline statements
        // collect them anyway).
        let collected = async move {
            let mut reader = self.take().await?;
            let conn: &mut SqliteConnection = &mut reader;
            let results: Vec<sqlx::Result<Either<SqliteQueryResult, SqliteRow>>> =
                conn.fetch_many(query).collect().await;
            Ok::<_, sqlx::Error>(stream::iter(results))
        };
        stream::once(collected).try_flatten().boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, sqlx::Result<Option<SqliteRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        Box::pin(async move {
            let mut reader = self.take().await?;
            let conn: &mut SqliteConnection = &mut reader;
            conn.fetch_optional(query).await
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [sqlx::sqlite::SqliteTypeInfo],
    ) -> BoxFuture<'e, sqlx::Result<sqlx::sqlite::SqliteStatement>>
    where
        'c: 'e,
    {
        Box::pin(async move {
            let mut reader = self.take().await?;
            let conn: &mut SqliteConnection = &mut reader;
            conn.prepare_with(sql, parameters).await
        })
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, sqlx::Result<Describe<Sqlite>>>
    where
        'c: 'e,
    {
        Box::pin(async move {
            let mut reader = self.take().await?;
            let conn: &mut SqliteConnection = &mut reader;
            conn.describe(sql).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteJournalMode;

    /// More reads at once than connections: each waits its turn and all are answered; a
    /// failing statement puts its connection back too; connections open as reads need them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_share_the_connections() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("readers.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let mut setup = options.connect().await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3)")
            .execute(&mut setup)
            .await
            .unwrap();
        let readers = Readers::new(&options.read_only(true).execute_inline(true), 2);
        assert_eq!(
            readers.idle.lock().unwrap().len(),
            0,
            "opened when first read"
        );
        assert!(
            sqlx::query("SELECT nope FROM t")
                .fetch_all(&readers)
                .await
                .is_err()
        );
        let reads = (0..32).map(|i| {
            let readers = &readers;
            async move {
                let sum: i64 = sqlx::query_scalar("SELECT SUM(n) + $1 FROM t")
                    .bind(i as i64)
                    .fetch_one(readers)
                    .await
                    .unwrap();
                let rows = sqlx::query("SELECT n FROM t").fetch_all(readers).await;
                (sum, rows.unwrap().len())
            }
        });
        let answers = futures::future::join_all(reads).await;
        for (i, (sum, rows)) in answers.into_iter().enumerate() {
            assert_eq!((sum, rows), (6 + i as i64, 3));
        }
        assert_eq!(readers.permits.available_permits(), 2);
        let opened = readers.idle.lock().unwrap().len();
        assert!((1..=2).contains(&opened), "{opened} connections");
    }
}
