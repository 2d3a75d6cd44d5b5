//! `start_timers`: the timer start events of the newest version of each flow, due when they
//! next fire. Deploying a version replaces its flow's rows; timer workers take due rows with a
//! lease, start a case, and move the row to the next occurrence (or remove a one-time timer).

use sea_orm::entity::prelude::*;

/// A scheduled timer start event.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "start_timers")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The definition version whose start event this is.
    pub definition_id: i64,
    /// Its flow key (one row per flow key and start node).
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub flow_key: String,
    /// The start event's node id.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub node_id: String,
    /// When it next fires (ms since the Unix epoch, UTC).
    pub due_at: i64,
    /// The node currently firing it, if leased.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub lease_owner: Option<String>,
    /// Until when the lease holds (ms since the Unix epoch, UTC).
    pub lease_until: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
