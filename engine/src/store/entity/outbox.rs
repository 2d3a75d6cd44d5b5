//! `outbox`: effects leaving the engine (notifications, messages), written in the same
//! transaction as the state change that caused them and delivered afterwards, in id order.

use sea_orm::entity::prelude::*;

/// One outgoing effect.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Surrogate id, auto-increment; the delivery order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case that produced the effect.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// Kind of effect.
    #[sea_orm(column_type = "String(StringLen::N(50))")]
    pub kind: String,
    /// The effect as JSON.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// When it was written (ms since the Unix epoch, UTC).
    pub created_at: i64,
    /// When it was delivered (ms since the Unix epoch, UTC); `None` while pending.
    pub delivered_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
