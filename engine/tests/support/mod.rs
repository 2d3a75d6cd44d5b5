//! Test databases: a fresh SQLite file and, when reachable, a fresh PostgreSQL database
//! per test. Under `CI=true` an unreachable PostgreSQL fails the test; elsewhere the
//! PostgreSQL half is skipped with a message.

#![allow(dead_code)]

use docket_engine::store::{Clock, Store, StoreConfig};
use docket_engine::time::Timestamp;
use sea_orm::{ConnectionTrait, Database};

/// The server every PostgreSQL test uses.
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// The stores' clock in tests: 4 March 2024, 09:00 local, and running, so that every
/// legal period of the shipped flows falls inside the shipped calendar.
pub fn clock() -> Clock {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 4).expect("date");
    Clock::starting_at(Timestamp::start_of_local_day(start) + chrono::Duration::hours(9))
}

/// A store configuration on the test clock.
pub fn config(url: impl Into<String>) -> StoreConfig {
    let mut config = StoreConfig::new(url);
    config.clock = clock();
    config
}

/// A migrated store on a fresh SQLite file (kept alive by the returned directory).
pub async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("docket.db").display());
    let store = Store::connect(config(url)).await.expect("connect sqlite");
    store.migrate().await.expect("migrate sqlite");
    (store, dir)
}

/// A fresh PostgreSQL database, dropped when the guard is dropped.
pub struct PgDatabase {
    /// Its URL.
    pub url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Best effort, on a thread of its own: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                if let Ok(db) = Database::connect(format!("{POSTGRES}/test")).await {
                    let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

/// Creates a fresh database, or `None` (with a message) when PostgreSQL is not reachable
/// outside CI.
///
/// # Panics
/// Under `CI=true` when PostgreSQL is not reachable: CI must run these tests.
pub async fn pg_database() -> Option<PgDatabase> {
    let admin = match Database::connect(format!("{POSTGRES}/test")).await {
        Ok(db) => db,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is required under CI but not reachable at {POSTGRES}/test: {e}");
            }
            eprintln!("skipping the PostgreSQL half: not reachable at {POSTGRES}/test ({e})");
            return None;
        }
    };
    let name = format!("docket_t_{}", uuid::Uuid::new_v4().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
    Some(PgDatabase { url: format!("{POSTGRES}/{name}"), name })
}

/// A migrated store on a fresh PostgreSQL database.
pub async fn postgres() -> Option<(Store, PgDatabase)> {
    let db = pg_database().await?;
    let store = Store::connect(config(db.url.clone())).await.expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    Some((store, db))
}

/// Runs `test` on a fresh SQLite file, then on a fresh PostgreSQL database when reachable.
pub async fn on_both<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (sqlite, _dir) = sqlite().await;
    test(sqlite.clone()).await;
    sqlite.shutdown().await;
    if let Some((pg, _db)) = postgres().await {
        test(pg.clone()).await;
        pg.shutdown().await;
    }
}

/// The shipped penalty flow.
pub const PENALTY: &str = include_str!("../../../workflows/penalty-general.yaml");
