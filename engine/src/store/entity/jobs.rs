//! `jobs`: queued service-task jobs, with their attempt number and worker leases.

use sea_orm::entity::prelude::*;

/// A queued or running job of a service task.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case the job belongs to.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// The core's `JobKey`, unique within the case.
    pub job_key: i32,
    /// The service-task node that created the job.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub node_id: String,
    /// The job type a worker must handle.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub job_type: String,
    /// Attempt number, from 1.
    pub attempt: i32,
    /// Not before this instant (ms since the Unix epoch, UTC).
    pub run_at: i64,
    /// The case's variables when the job was queued, as a JSON object.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// The node currently running the job, if leased.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub lease_owner: Option<String>,
    /// Until when the lease holds (ms since the Unix epoch, UTC); after that another node may
    /// take the job.
    pub lease_until: Option<i64>,
    /// The error of the last failed attempt.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
