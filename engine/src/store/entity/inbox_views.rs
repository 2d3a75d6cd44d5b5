//! `inbox_views`: saved inbox filters, private to their owner or shared with a group or role.

use sea_orm::entity::prelude::*;

/// One saved view.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbox_views")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The user who saved it.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub owner: String,
    /// Its name, unique per owner.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub name: String,
    /// The group or role it is shared with; `None`: private.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub shared_with: Option<String>,
    /// The filter, as JSON.
    #[sea_orm(column_type = "Text")]
    pub filter: String,
    /// When it was saved first (ms since the Unix epoch, UTC).
    pub created_at: i64,
    /// When it was last changed (ms since the Unix epoch, UTC).
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
