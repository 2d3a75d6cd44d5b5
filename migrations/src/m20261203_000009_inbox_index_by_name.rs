//! The inbox index leads with the name of the group or user, so that no statement about one
//! task can be planned through it.
//!
//! `task_candidates` has two indexes: its key `(task_id, kind, name)`, which every statement
//! about one task's rows uses (a claim replaces the task's `assignee` row; closing the task drops
//! its rows), and the inbox index, which an inbox page reads one `(kind, name)` range of. The
//! eighth migration built the inbox index as `(kind, name, due_at, task_id)`. A claim's
//! `DELETE ... WHERE task_id = (...) AND kind = 'assignee'` could then be read through either
//! index, and while the table is nearly empty PostgreSQL costs both the same and may pick the inbox
//! index. A prepared statement keeps that generic plan until the table's statistics change,
//! so on a new database every claim read through all `assignee` rows, a little slower with
//! each claimed task: in the store benchmark a third of the server's time went there within
//! a minute.
//!
//! With `name` first, a statement that names a task and a kind but no name can only be read
//! through the key, however few rows there are. Inbox pages filter on both `kind` and `name`,
//! so they read the same ranges in the same order as before. (A statement that also names the
//! group, as releasing an escalated task's group does, can still tie on a nearly empty table.
//! Once the table has statistics, the key wins: it finds one row where the inbox index finds
//! the group's.)
//!
//! Going down, the index leads with `kind` again.

use sea_orm_migration::prelude::*;

use crate::indexes::{INBOX_INDEX, create_inbox_index};

/// Rebuilds `idx_task_candidates_by_due_at` as `(name, kind, due_at, task_id)`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Drops the inbox index and builds it again over `leading`.
async fn rebuild(manager: &SchemaManager<'_>, leading: &str) -> Result<(), DbErr> {
    manager.drop_index(Index::drop().name(INBOX_INDEX).table(Alias::new("task_candidates")).to_owned()).await?;
    create_inbox_index(manager, leading).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on every store.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, "name, kind").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, "kind, name").await
    }
}
