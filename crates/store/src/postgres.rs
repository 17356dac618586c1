//! PostgreSQL, for larger installs and several `okno serve` processes sharing one database.

use crate::Result;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Transaction};
use std::time::Duration;

/// Whether several statements may go to the database as one call: A prepared statement holds one command.
const ONE_CALL_BATCHES: bool = false;
/// What the first statement of a write begun by `begin_unopened` starts with: nothing here.
const OPEN_WRITE: &str = "";
pub type Db = sqlx::Postgres;
pub(crate) type Tx = Transaction<'static, Db>;
type Backend = PgStore;

pub struct PgStore {
    pool: Pool<Db>,
}

impl PgStore {
    pub async fn open(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    fn reader(&self) -> &Pool<Db> {
        &self.pool
    }

    fn writer(&self) -> &Pool<Db> {
        &self.pool
    }

    async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
    }

    async fn begin_unopened(&self) -> Result<Tx> {
        self.begin().await
    }
}

/// Runs a write's last statements (nobody reads their results) and commits it.
async fn commit_after(mut tx: Tx, statements: Vec<crate::sql::Sql>) -> Result<()> {
    repo::run_batch(&mut tx, statements).await?;
    tx.commit().await?;
    Ok(())
}

#[path = "repo/mod.rs"]
#[allow(clippy::duplicate_mod)] // one SQL source, compiled once per backend
mod repo;
