//! `incidents`: tokens that stopped and need a person (a failed job, no branch taken, ...),
//! open until resolved.

use sea_orm::entity::prelude::*;

/// An incident of a case.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case the incident belongs to.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// The core's `IncidentKey`, unique within the case.
    pub incident_key: i32,
    /// The node where the incident happened.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub node_id: String,
    /// A stable code: `job-failed`, `job-error`, `call-failed`, `no-branch`,
    /// `guard-violated`, `timer`, `calendar`, `loop`.
    #[sea_orm(column_type = "String(StringLen::N(50))")]
    pub code: String,
    /// What happened, for a person.
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// When the incident was raised (ms since the Unix epoch, UTC).
    pub created_at: i64,
    /// When it was resolved (ms since the Unix epoch, UTC); `None` while open.
    pub resolved_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
