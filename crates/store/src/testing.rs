//! Test support shared by every crate's database tests: run a scenario on a fresh SQLite
//! file and, when `OKNO_TEST_DATABASE_URL` names a PostgreSQL server, on a fresh database
//! created there for that scenario alone (`okno_t_<unique>`, dropped afterwards).
//!
//! `okno_store::on_both_backends!(scenario, …)` turns each `async fn scenario(db: TestDb)`
//! into a module with a `sqlite` and a `postgres` test.

use crate::{Store, open};
use sqlx::{AssertSqlSafe, Connection};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub const PG_ENV: &str = "OKNO_TEST_DATABASE_URL";

/// What a scenario gets: the store, and the URL it was opened on (to re-open it).
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    pub backend: Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `scenario` on a fresh database of `backend`; a PostgreSQL run without
/// `OKNO_TEST_DATABASE_URL` is skipped (and says so).
pub async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = dir.path().join("okno.db").to_str().unwrap().to_owned();
            let store = open(&url).await.expect("open the SQLite store");
            let outcome = tokio::spawn(scenario(TestDb {
                store,
                url,
                backend,
            }))
            .await;
            drop(dir);
            if let Err(e) = outcome {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var(PG_ENV) else {
                eprintln!("{PG_ENV} is not set: skipping the PostgreSQL run");
                return;
            };
            let name = unique_database_name();
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| panic!("connect to {admin_url}: {e}"));
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("create database {name}: {e}"));
            let url = with_database(&admin_url, &name);
            let outcome = match open(&url).await {
                Ok(store) => tokio::spawn(scenario(TestDb {
                    store,
                    url,
                    backend,
                }))
                .await
                .map_err(|e| e.into_panic()),
                Err(e) => Err(Box::new(format!("open the PostgreSQL store: {e}")) as Panic),
            };
            // Best effort: a leftover database must not fail the test.
            let _ = sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

type Panic = Box<dyn std::any::Any + Send + 'static>;

fn unique_database_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "okno_t_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `postgres://user@host:port/db?opts` with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
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
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::testing::run($crate::testing::Backend::Sqlite, super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::testing::run($crate::testing::Backend::Postgres, super::$name).await
            }
        }
    )*};
}
