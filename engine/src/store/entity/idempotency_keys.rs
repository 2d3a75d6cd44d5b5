//! `idempotency_keys`: results of mutating commands sent with an idempotency key, so a retried
//! command returns the first result instead of running again.

use sea_orm::entity::prelude::*;

/// The remembered result of one idempotent command.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// The client's idempotency key.
    #[sea_orm(primary_key, auto_increment = false, column_type = "String(StringLen::N(200))")]
    pub key: String,
    /// The case the command concerned, if any.
    #[sea_orm(column_type = "String(StringLen::N(36))", nullable)]
    pub case_id: Option<String>,
    /// The command's response as JSON.
    #[sea_orm(column_type = "Text")]
    pub response: String,
    /// When the command first ran (ms since the Unix epoch, UTC).
    pub created_at: i64,
    /// Hex SHA-256 of the command (target, command, actor), so that a key sent again with a
    /// different command is refused; `None` on rows written before it was kept.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub request_hash: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
