//! `timers`: armed timers of cases. Timer workers take due rows; on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED` and a lease (`lease_owner`, `lease_until`), so several nodes share
//! the work.

use sea_orm::entity::prelude::*;

/// An armed timer.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "timers")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case the timer belongs to.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// The core's `TimerKey`, unique within the case.
    pub timer_key: i32,
    /// When the timer is due (ms since the Unix epoch, UTC).
    pub due_at: i64,
    /// Why the timer exists: the core's `TimerPurpose` as JSON.
    #[sea_orm(column_type = "Text")]
    pub purpose: String,
    /// The node currently firing the timer, if leased.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub lease_owner: Option<String>,
    /// Until when the lease holds (ms since the Unix epoch, UTC); after that another node may
    /// take the timer.
    pub lease_until: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
