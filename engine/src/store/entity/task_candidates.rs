//! `task_candidates`: the group/user inbox index. One row per open task per candidate group or
//! candidate user, carrying the sort keys of the inbox (due date, priority, creation), so a
//! group inbox page is one index range scan. Rows are deleted when the task closes, which keeps
//! the table (and its indexes) as small as the set of open tasks.

use sea_orm::entity::prelude::*;

/// One candidate (group or user) of one open task.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "task_candidates")]
pub struct Model {
    /// The task (`tasks.id`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: i64,
    /// `group` or `user`.
    #[sea_orm(primary_key, auto_increment = false, column_type = "String(StringLen::N(8))")]
    pub kind: String,
    /// The group or user name.
    #[sea_orm(primary_key, auto_increment = false, column_type = "String(StringLen::N(100))")]
    pub name: String,
    /// The task's due date (ms since the Unix epoch, UTC), copied for ordering.
    pub due_at: Option<i64>,
    /// The task's priority, copied for ordering.
    pub priority: i32,
    /// The task's creation time (ms since the Unix epoch, UTC), copied for ordering.
    pub created_at: i64,
    /// The task (a relation for joins, not a database foreign key).
    #[sea_orm(belongs_to, from = "task_id", to = "id")]
    pub task: BelongsTo<super::tasks::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
