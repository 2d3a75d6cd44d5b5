//! Timer start events: one row per timer start event of the newest version of each flow,
//! due when the event next fires. Timer workers take due rows with a lease (and
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), start a case, and move the row to the next
//! occurrence (or remove it after a one-time timer).

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;

/// Adds `start_timers`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum StartTimers {
    Table,
    Id,
    DefinitionId,
    FlowKey,
    NodeId,
    DueAt,
    LeaseOwner,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use StartTimers as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(big_pk_auto(T::Id))
                    .col(big_integer(T::DefinitionId))
                    .col(string_len(T::FlowKey, 100))
                    .col(string_len(T::NodeId, 100))
                    .col(big_integer(T::DueAt))
                    .col(string_len_null(T::LeaseOwner, 100))
                    .col(big_integer_null(T::LeaseUntil))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            T::Table,
            &[
                ("uq_start_timers_flow_key_node_id", &[T::FlowKey, T::NodeId], true),
                ("idx_start_timers_due_at", &[T::DueAt], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(StartTimers::Table).if_exists().to_owned()).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
