//! An open task's assignee gets an inbox row, and `tasks` keeps only the indexes that find a
//! task: claiming and completing a task rewrite its row in place.
//!
//! Every index on a column a command changes costs that command an entry per index. A claim
//! changed `tasks.assignee` and a completion `tasks.state`, both in
//! `idx_tasks_assignee_state_due_at`, so neither could be a heap-only update on PostgreSQL: each
//! wrote a new entry into every index of `tasks`. Now:
//!
//! - "My tasks" read `task_candidates` rows of kind `assignee` (one per open task that someone
//!   holds), exactly as a group inbox reads rows of kind `group`. A claim, an unclaim or a
//!   delegation replaces the task's `assignee` row; closing the task drops it with the others.
//!   `idx_tasks_assignee_state_due_at` goes.
//! - An inbox filter by business key finds its tasks through the case
//!   (`cases.business_key`, then `tasks (case_id, task_key)`), so `idx_tasks_business_key`
//!   goes too. `tasks` is left with its primary key and `(case_id, task_key)`, neither of
//!   which a command changes.
//! - The inbox orders by priority and by creation read the scope's rows from the due-date
//!   index, which carries both values (PostgreSQL: `INCLUDE`; SQLite: trailing columns), and
//!   sort them; their own indexes go. A page in those orders costs a read of the scope's index
//!   range instead of one page of it. The due-date order, the inbox's default, is unchanged.
//! - On PostgreSQL, `tasks` pages keep room (fill factor 70) for the rewritten rows.
//!
//! Going down, the indexes come back, the `assignee` rows go, and the fill factor is reset.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::indexes::{INBOX_INDEX as DUE_INDEX, create_inbox_index, create_indexes};
use crate::m20261129_000005_partial_indexes::create_index;

/// Moves "my tasks" onto inbox rows and drops the indexes a claim or completion had to update.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    Assignee,
    State,
    DueAt,
    BusinessKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum TaskCandidates {
    Table,
    TaskId,
    Kind,
    Name,
    DueAt,
    Priority,
    CreatedAt,
}

/// `task_candidates.due_at` of a task without a due date (the engine's `NO_DUE`).
const NO_DUE: i64 = i64::MAX;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on every store.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "INSERT INTO task_candidates (task_id, kind, name, due_at, priority, created_at) \
             SELECT id, 'assignee', assignee, COALESCE(due_at, {NO_DUE}), priority, created_at FROM tasks \
             WHERE assignee IS NOT NULL AND state IN ('open', 'escalated')"
        ))
        .await?;
        for index in ["idx_tasks_assignee_state_due_at", "idx_tasks_business_key"] {
            manager.drop_index(Index::drop().name(index).table(Tasks::Table).to_owned()).await?;
        }
        for index in ["idx_task_candidates_by_priority", "idx_task_candidates_by_created_at", DUE_INDEX] {
            manager.drop_index(Index::drop().name(index).table(TaskCandidates::Table).to_owned()).await?;
        }
        create_inbox_index(manager, "kind, name").await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("ALTER TABLE tasks SET (fillfactor = 70)").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("ALTER TABLE tasks RESET (fillfactor)").await?;
        }
        manager.drop_index(Index::drop().name(DUE_INDEX).table(TaskCandidates::Table).to_owned()).await?;
        use TaskCandidates as C;
        create_indexes(
            manager,
            C::Table,
            &[
                (DUE_INDEX, &[C::Kind, C::Name, C::DueAt, C::TaskId], false),
                ("idx_task_candidates_by_priority", &[C::Kind, C::Name, C::Priority, C::TaskId], false),
                ("idx_task_candidates_by_created_at", &[C::Kind, C::Name, C::CreatedAt, C::TaskId], false),
            ],
        )
        .await?;
        // Both were partial (the fifth migration): only tasks with a value have entries.
        let partial = [
            ("idx_tasks_assignee_state_due_at", vec![Tasks::Assignee, Tasks::State, Tasks::DueAt], Tasks::Assignee),
            ("idx_tasks_business_key", vec![Tasks::BusinessKey], Tasks::BusinessKey),
        ];
        for (name, columns, valued) in partial {
            let columns = columns.into_iter().map(IntoIden::into_iden).collect();
            create_index(manager, name, Tasks::Table.into_iden(), columns, Some(valued.into_iden())).await?;
        }
        db.execute_unprepared("DELETE FROM task_candidates WHERE kind = 'assignee'").await?;
        Ok(())
    }
}
