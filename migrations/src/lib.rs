//! Docket's database schema, as sea-orm-migration migrations.
//!
//! The same migrations run on SQLite (the embedded default) and on PostgreSQL (the scale-out
//! store). Conventions, everywhere:
//! - every instant is a `BIGINT` count of milliseconds since the Unix epoch (UTC);
//! - every JSON document is `TEXT` (serialized by the engine), so both stores hold the same
//!   bytes and no store-specific JSON type is needed;
//! - table and column names are `snake_case`.
//!
//! Apply with [`Migrator::up`](MigratorTrait::up) on any sea-orm connection:
//!
//! ```no_run
//! # async fn demo(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<(), sea_orm_migration::DbErr> {
//! use docket_migrations::{Migrator, MigratorTrait};
//! Migrator::up(db, None).await?;
//! # Ok(()) }
//! ```

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;

mod indexes;
mod m20261125_000001_schema;
mod m20261126_000002_access;
mod m20261127_000003_start_timers;
mod m20261128_000004_lighter_task_writes;
mod m20261129_000005_partial_indexes;
mod m20261203_000006_case_wake;
mod m20261203_000007_case_fillfactor;
mod m20261203_000008_assignee_inbox_rows;
mod m20261203_000009_inbox_index_by_name;

/// Every table of the schema once all migrations are applied, in creation order (drop in
/// reverse).
pub const TABLES: &[&str] = &[
    "definitions",
    "cases",
    "tasks",
    "task_candidates",
    "jobs",
    "incidents",
    "publications",
    "outbox",
    "audit_log",
    "evidence_records",
    "idempotency_keys",
    "record_access_log",
    "inbox_views",
    "start_timers",
];

/// Docket's migrator: the ordered list of schema migrations. Applied migrations are recorded
/// in sea-orm-migration's `seaql_migrations` table.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_schema::Migration),
            Box::new(m20261126_000002_access::Migration),
            Box::new(m20261127_000003_start_timers::Migration),
            Box::new(m20261128_000004_lighter_task_writes::Migration),
            Box::new(m20261129_000005_partial_indexes::Migration),
            Box::new(m20261203_000006_case_wake::Migration),
            Box::new(m20261203_000007_case_fillfactor::Migration),
            Box::new(m20261203_000008_assignee_inbox_rows::Migration),
            Box::new(m20261203_000009_inbox_index_by_name::Migration),
        ]
    }
}
