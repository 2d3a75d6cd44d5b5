//! Indexes on columns that are mostly empty hold only the rows that have a value.
//!
//! A task is offered to groups and has no assignee until it is claimed; a case is a sub-case
//! only when a call activity started it; many cases and their tasks carry no business key.
//! Every query that reads these indexes asks for one value (`assignee = ?`, `business_key = ?`,
//! `parent_case_id = ?`), which no row without a value matches, so the rows without one need
//! no entries: each new task and each new case writes two B-trees fewer, and the indexes stay
//! smaller. Both stores use such an index for an equality on its column (PostgreSQL proves
//! `IS NOT NULL` from a strict operator; SQLite documents the same rule).

use sea_orm_migration::prelude::*;

/// Makes four indexes partial (`WHERE column IS NOT NULL`).
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
enum Cases {
    Table,
    BusinessKey,
    ParentCaseId,
}

/// `(name, table, columns, the column that must have a value)`.
type Partial = (&'static str, DynIden, Vec<DynIden>, DynIden);

fn partials() -> Vec<Partial> {
    vec![
        (
            "idx_tasks_assignee_state_due_at",
            Tasks::Table.into_iden(),
            vec![Tasks::Assignee.into_iden(), Tasks::State.into_iden(), Tasks::DueAt.into_iden()],
            Tasks::Assignee.into_iden(),
        ),
        (
            "idx_tasks_business_key",
            Tasks::Table.into_iden(),
            vec![Tasks::BusinessKey.into_iden()],
            Tasks::BusinessKey.into_iden(),
        ),
        (
            "idx_cases_business_key",
            Cases::Table.into_iden(),
            vec![Cases::BusinessKey.into_iden()],
            Cases::BusinessKey.into_iden(),
        ),
        (
            "idx_cases_parent_case_id",
            Cases::Table.into_iden(),
            vec![Cases::ParentCaseId.into_iden()],
            Cases::ParentCaseId.into_iden(),
        ),
    ]
}

/// Drops each index and creates it again, partial when `partial`.
async fn rebuild(manager: &SchemaManager<'_>, partial: bool) -> Result<(), DbErr> {
    for (name, table, columns, valued) in partials() {
        manager.drop_index(Index::drop().name(name).table(table.clone()).to_owned()).await?;
        create_index(manager, name, table, columns, partial.then_some(valued)).await?;
    }
    Ok(())
}

/// Creates the index `name` on `columns` of `table`, holding only rows where `valued` has a
/// value when it is given (the eighth migration creates two of them again going down).
pub(crate) async fn create_index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: DynIden,
    columns: Vec<DynIden>,
    valued: Option<DynIden>,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    if let Some(valued) = valued {
        index.and_where(Expr::col(valued).is_not_null());
    }
    manager.create_index(index.take()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on every store: all four indexes change, or none.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, false).await
    }
}
