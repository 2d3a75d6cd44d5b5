//! `tasks`: the user-task inbox. Open and closed tasks; flow and business key are copied from
//! the case so inbox queries need no join.

use sea_orm::entity::prelude::*;

/// A user task of a case.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    /// Surrogate id, auto-increment; referenced by `task_candidates.task_id`.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case the task belongs to.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// The core's `TaskKey`, unique within the case.
    pub task_key: i32,
    /// The flow node that created the task.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub node_id: String,
    /// Display name of the task.
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub name: String,
    /// Flow key of the case.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub flow_key: String,
    /// Flow version of the case.
    pub flow_version: i32,
    /// Business key of the case.
    #[sea_orm(column_type = "String(StringLen::N(200))", nullable)]
    pub business_key: Option<String>,
    /// `open`, `completed` or `cancelled`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub state: String,
    /// The user who claimed the task, if any.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub assignee: Option<String>,
    /// Candidate users as a JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub candidate_users: String,
    /// Candidate groups as a JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub candidate_groups: String,
    /// Inbox priority (higher first).
    pub priority: i32,
    /// When the task is due (ms since the Unix epoch, UTC), if it has a deadline; `None` also
    /// while its deadline clock is paused.
    pub due_at: Option<i64>,
    /// When the task was created (ms since the Unix epoch, UTC).
    pub created_at: i64,
    /// When the task was completed or cancelled (ms since the Unix epoch, UTC).
    pub closed_at: Option<i64>,
    /// Who completed the task.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub completed_by: Option<String>,
    /// The outcome chosen on completion, when the task declares outcomes.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub outcome: Option<String>,
    /// The task's inbox rows (`task_candidates.task_id`; a relation for joins, not a database
    /// foreign key).
    #[sea_orm(has_many)]
    pub candidates: HasMany<super::task_candidates::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
