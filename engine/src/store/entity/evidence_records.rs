//! `evidence_records`: records of the process (text, audio/video, photos, ...) attached to a
//! case's task; the content is stored elsewhere, identified by its hash and location.

use sea_orm::entity::prelude::*;

/// One piece of evidence.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence_records")]
pub struct Model {
    /// Surrogate id, auto-increment.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The case the evidence belongs to.
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub case_id: String,
    /// The task it was attached to: the core's `TaskKey` within the case.
    pub task_key: i32,
    /// Its kind (`text`, `audio_video`, `photo`, ...).
    #[sea_orm(column_type = "String(StringLen::N(30))")]
    pub kind: String,
    /// Hex SHA-256 of the content.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub sha256: String,
    /// Size of the content in bytes.
    pub size: i64,
    /// Where the content is stored.
    #[sea_orm(column_type = "Text")]
    pub uri: String,
    /// Who attached it.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub attached_by: String,
    /// When it was attached (ms since the Unix epoch, UTC).
    pub attached_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
