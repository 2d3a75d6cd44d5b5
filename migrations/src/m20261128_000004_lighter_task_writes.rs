//! Lighter task writes: every new task, every change of a task's state and every closed task
//! touches fewer B-trees.
//!
//! - `idx_tasks_state_due_at` is dropped: no query reads tasks by state and due date across
//!   cases (inboxes scan `task_candidates`, "my tasks" reads `(assignee, state, due_at)`, a
//!   case's tasks are found by `(case_id, task_key)`), yet every new task and every change of
//!   a task's state updated it.
//! - On SQLite, `task_candidates` becomes a `WITHOUT ROWID` table: its rows are stored in its
//!   primary key `(task_id, kind, name)` itself instead of in a rowid table beside a separate
//!   primary key index, so offering a task and withdrawing the offer each write one B-tree
//!   fewer. Its three sort indexes already hold every primary key column, so they stay the
//!   same size. (A PostgreSQL table has no rowid; nothing changes there.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::indexes::create_indexes;

/// Drops the unused task index; stores SQLite's candidate rows in their primary key.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on every store: a rebuild stopped halfway leaves the old table.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_tasks_state_due_at").table(Tasks::Table).to_owned()).await?;
        rebuild_sqlite_candidates(manager, "WITHOUT ROWID").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild_sqlite_candidates(manager, "").await?;
        create_indexes(manager, Tasks::Table, &[("idx_tasks_state_due_at", &[Tasks::State, Tasks::DueAt], false)]).await
    }
}

/// On SQLite, rebuilds `task_candidates` with `options` after its definition, keeping its rows
/// and indexes (SQLite cannot alter how a table stores its rows).
async fn rebuild_sqlite_candidates(manager: &SchemaManager<'_>, options: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let db = manager.get_connection();
    db.execute_unprepared(&format!(
        "CREATE TABLE task_candidates_rebuilt (\
           task_id integer NOT NULL, kind varchar(8) NOT NULL, name varchar(100) NOT NULL, \
           due_at integer NULL, priority integer NOT NULL, created_at integer NOT NULL, \
           PRIMARY KEY (task_id, kind, name)) {options}"
    ))
    .await?;
    db.execute_unprepared(
        "INSERT INTO task_candidates_rebuilt (task_id, kind, name, due_at, priority, created_at) \
         SELECT task_id, kind, name, due_at, priority, created_at FROM task_candidates",
    )
    .await?;
    db.execute_unprepared("DROP TABLE task_candidates").await?;
    db.execute_unprepared("ALTER TABLE task_candidates_rebuilt RENAME TO task_candidates").await?;
    for (name, key) in [("by_due_at", "due_at"), ("by_priority", "priority"), ("by_created_at", "created_at")] {
        db.execute_unprepared(&format!(
            "CREATE INDEX idx_task_candidates_{name} ON task_candidates (kind, name, {key}, task_id)"
        ))
        .await?;
    }
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    State,
    DueAt,
}
