//! Index creation shared by the migrations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The inbox index of `task_candidates`, by due date.
pub(crate) const INBOX_INDEX: &str = "idx_task_candidates_by_due_at";

/// `CREATE [UNIQUE] INDEX name ON table (cols...)`.
fn index<T: Iden + Copy + 'static>(name: &str, table: T, cols: &[T], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    if unique {
        index.unique();
    }
    index.take()
}

/// Creates each `(name, columns, unique)` index on `table`.
pub(crate) async fn create_indexes<T: Iden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    indexes: &[(&str, &[T], bool)],
) -> Result<(), DbErr> {
    for (name, cols, unique) in indexes {
        manager.create_index(index(name, table, cols, *unique)).await?;
    }
    Ok(())
}

/// Creates the inbox index over `leading` (two columns, such as `"name, kind"`), then the due
/// date and the task, carrying each row's priority and creation time (`INCLUDE` on
/// PostgreSQL, trailing columns on SQLite) so that every inbox order reads it alone.
pub(crate) async fn create_inbox_index(manager: &SchemaManager<'_>, leading: &str) -> Result<(), DbErr> {
    let (carried, include) = match manager.get_database_backend() {
        DbBackend::Postgres => ("", " INCLUDE (priority, created_at)"),
        _ => (", priority, created_at", ""),
    };
    let sql = format!("CREATE INDEX {INBOX_INDEX} ON task_candidates ({leading}, due_at, task_id{carried}){include}");
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}
