//! `record_access_log`: who read which case file, when, what and why (执法全过程记录:
//! every look at the records is supervised). Append-only.

use sea_orm::entity::prelude::*;

/// One read of a case file.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "record_access_log")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case read.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// Who read it.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub user_id: String,
    /// When (ms since the Unix epoch, UTC).
    pub at: i64,
    /// What was read (`case`, `timeline`, ...).
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub what: String,
    /// The purpose the reader stated.
    #[sea_orm(column_type = "Text")]
    pub purpose: String,
}

impl ActiveModelBehavior for ActiveModel {}
