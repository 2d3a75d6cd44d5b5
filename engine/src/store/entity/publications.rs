//! `publications`: decisions awaiting publication (opened by a publication node, with a legal
//! deadline), open until published.

use sea_orm::entity::prelude::*;

/// A decision of a case awaiting publication.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "publications")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case the publication belongs to.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// The core's `PublicationKey`, unique within the case.
    pub publication_key: i32,
    /// The publication node.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub node_id: String,
    /// `penalty`, `licensing` or `other`.
    #[sea_orm(column_type = "String(StringLen::N(20))")]
    pub category: String,
    /// The legal deadline (ms since the Unix epoch, UTC).
    pub due_at: i64,
    /// When the publication was opened (ms since the Unix epoch, UTC).
    pub opened_at: i64,
    /// When it was published (ms since the Unix epoch, UTC); `None` while open.
    pub published_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
