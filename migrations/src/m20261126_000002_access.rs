//! Access and views: the record-access log (who read which case file, when, and why) and
//! saved inbox views; an index for inbox filters by business key; and the redundant
//! `idx_tasks_case_id` dropped (the unique `(case_id, task_key)` index serves its lookups);
//! idempotency keys remember a hash of their command, so a key reused for another command is
//! refused.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;

/// Adds the record-access log and saved inbox views.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_record_access_log(manager).await?;
        create_inbox_views(manager).await?;
        manager.drop_index(Index::drop().name("idx_tasks_case_id").table(Tasks::Table).to_owned()).await?;
        create_indexes(manager, Tasks::Table, &[("idx_tasks_business_key", &[Tasks::BusinessKey], false)]).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(string_len_null(IdempotencyKeys::RequestHash, 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(IdempotencyKeys::Table).drop_column(IdempotencyKeys::RequestHash).to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name("idx_tasks_business_key").table(Tasks::Table).to_owned()).await?;
        create_indexes(manager, Tasks::Table, &[("idx_tasks_case_id", &[Tasks::CaseId], false)]).await?;
        for table in ["inbox_views", "record_access_log"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    CaseId,
    BusinessKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    RequestHash,
}

#[derive(DeriveIden, Clone, Copy)]
enum RecordAccessLog {
    Table,
    Id,
    CaseId,
    UserId,
    At,
    What,
    Purpose,
}

async fn create_record_access_log(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use RecordAccessLog as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(string_len(T::UserId, 100))
                .col(big_integer(T::At))
                .col(string_len(T::What, 100))
                .col(text(T::Purpose))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("idx_record_access_log_case_id_id", &[T::CaseId, T::Id], false),
            ("idx_record_access_log_user_id_id", &[T::UserId, T::Id], false),
        ],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum InboxViews {
    Table,
    Id,
    Owner,
    Name,
    SharedWith,
    Filter,
    CreatedAt,
    UpdatedAt,
}

async fn create_inbox_views(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use InboxViews as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::Owner, 100))
                .col(string_len(T::Name, 100))
                .col(string_len_null(T::SharedWith, 100))
                .col(text(T::Filter))
                .col(big_integer(T::CreatedAt))
                .col(big_integer(T::UpdatedAt))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("uq_inbox_views_owner_name", &[T::Owner, T::Name], true),
            ("idx_inbox_views_shared_with", &[T::SharedWith], false),
        ],
    )
    .await
}
