//! On PostgreSQL, case rows leave room on their pages for their next versions.
//!
//! Every command rewrites its case's row. PostgreSQL can write the new version without touching
//! the table's indexes (a heap-only tuple, "HOT") when no indexed column changed and the page
//! has room for it; a full page makes the update insert into every index of `cases` as well. A
//! case row is about a kilobyte (mostly its state), so a full page holds seven and an update of
//! any of them rarely finds room. With a fill factor of 60 new rows fill pages only to 60%, and
//! the share of case updates written as heap-only tuples measured by the store benchmark rose
//! from about a third to about two thirds (the updates that move a case's next timer change an
//! indexed column and can never be). SQLite has no such setting; this migration changes nothing
//! there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Sets `fillfactor = 60` on `cases` (PostgreSQL).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction, as every migration of the schema.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("ALTER TABLE cases SET (fillfactor = 60)").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("ALTER TABLE cases RESET (fillfactor)").await?;
        }
        Ok(())
    }
}
