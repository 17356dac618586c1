//! PostgreSQL, for larger installs and several `okno serve` processes sharing one database.

use crate::Result;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Transaction};
use std::sync::Arc;
use std::time::Duration;

/// Whether several statements may go to the database as one call: A prepared statement holds one command.
const ONE_CALL_BATCHES: bool = false;
pub type Db = sqlx::Postgres;
pub(crate) type Tx = Transaction<'static, Db>;
type Backend = PgStore;

pub struct PgStore {
    /// "Now" for the rows the store stamps itself (a client's or a token's creation).
    clock: Arc<dyn okno_domain::Clock>,
    pool: Pool<Db>,
}

impl PgStore {
    pub async fn open(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // With the database down a request fails in seconds instead of hanging.
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await?;
        let migrator = sqlx::migrate!("./migrations/postgres");
        if !repo::schema_is_current(&pool, &migrator).await {
            migrator.run(&pool).await?;
        }
        Ok(PgStore {
            clock: Arc::new(okno_domain::SystemClock),
            pool,
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

    fn reader(&self) -> &Pool<Db> {
        &self.pool
    }

    fn writer(&self) -> &Pool<Db> {
        &self.pool
    }

    /// Waits for the connections in use to come back and closes them all.
    async fn close_backend(&self) -> Result<()> {
        self.pool.close().await;
        Ok(())
    }

    async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
    }

    /// A write begun already: its first statement needs no prefix.
    async fn begin_unopened(&self) -> Result<(Tx, &'static str)> {
        Ok((self.begin().await?, ""))
    }
}

/// Runs a write's last statements (nobody reads their results) and commits it.
async fn commit_after(mut tx: Tx, statements: Vec<crate::sql::Sql>) -> Result<()> {
    repo::run_batch(&mut tx, statements).await?;
    tx.commit().await?;
    Ok(())
}

/// The secondary indexes of the bulk-loaded tables, `(name, definition)`; indexes behind
/// constraints (primary keys, UNIQUE) stay.
const SECONDARY_INDEXES: &str = "SELECT i.indexname::TEXT, i.indexdef::TEXT FROM pg_indexes i \
     WHERE i.schemaname = current_schema() AND i.tablename IN ('tickets', 'tasks') \
     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY i.indexname";

/// Inserts generated rows with `COPY … FROM STDIN` (text format), the quickest way in.
async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<crate::sql::Param>>,
) -> Result<()> {
    use crate::sql::Param;
    const SEND_AT: usize = 1 << 20;
    fn text(out: &mut String, value: &str) {
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
    let mut copy = tx
        .copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", ")))
        .await?;
    let mut buffer = String::with_capacity(SEND_AT + 4096);
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                buffer.push('\t');
            }
            match value {
                Param::Int(v) | Param::MaybeInt(Some(v)) => buffer.push_str(&v.to_string()),
                Param::Text(v) | Param::MaybeText(Some(v)) => text(&mut buffer, v),
                Param::MaybeInt(None) | Param::MaybeText(None) => buffer.push_str("\\N"),
                Param::Bool(v) => buffer.push(if *v { 't' } else { 'f' }),
            }
        }
        buffer.push('\n');
        if buffer.len() >= SEND_AT {
            copy.send(std::mem::take(&mut buffer).into_bytes()).await?;
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.into_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

#[path = "repo/mod.rs"]
#[allow(clippy::duplicate_mod)] // one SQL source, compiled once per backend
mod repo;
