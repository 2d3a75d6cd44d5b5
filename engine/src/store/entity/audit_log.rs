//! `audit_log`: the append-only audit trail. Rows of a case are numbered 1, 2, ... and
//! hash-chained: each row's `prev_hash` is the previous row's `hash` ('' for the first).

use sea_orm::entity::prelude::*;

/// One audit entry of a case.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case the entry belongs to.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// Position in the case's chain, from 1; unique within the case.
    pub seq: i64,
    /// When it happened (ms since the Unix epoch, UTC).
    pub at: i64,
    /// Who did it (a user, or a system actor such as the timer worker).
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub actor: String,
    /// Kind of entry.
    #[sea_orm(column_type = "String(StringLen::N(50))")]
    pub kind: String,
    /// Details as JSON.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    /// Hex hash of the previous entry of the case ('' for the first).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub prev_hash: String,
    /// Hex hash of this entry (over `prev_hash` and the entry's content).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub hash: String,
}

impl ActiveModelBehavior for ActiveModel {}
