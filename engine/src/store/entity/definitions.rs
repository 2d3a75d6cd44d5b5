//! `definitions`: deployed flow definitions. A version is immutable once deployed; a changed
//! YAML for a key becomes the next version. `unique(key, version)` and
//! `unique(key, content_hash)` keep versions distinct and the same YAML from being deployed as
//! two versions of one key.

use sea_orm::entity::prelude::*;

/// One deployed version of a flow definition.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "definitions")]
pub struct Model {
    /// Surrogate id, auto-increment; referenced by `cases.definition_id`.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The flow's key (its `id` in YAML); unique together with `version`.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub key: String,
    /// Version number of this key, 1, 2, ... in deployment order.
    pub version: i32,
    /// Human-readable flow name.
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub name: String,
    /// The YAML source exactly as deployed.
    #[sea_orm(column_type = "Text")]
    pub source: String,
    /// Hex SHA-256 of `source`; unique together with `key`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub content_hash: String,
    /// Who deployed this version.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub deployed_by: String,
    /// When it was deployed (ms since the Unix epoch, UTC).
    pub deployed_at: i64,
    /// The cases started on this definition version.
    #[sea_orm(has_many)]
    pub cases: HasMany<super::cases::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
