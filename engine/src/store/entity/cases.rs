//! `cases`: one row per case (process instance): its serialized state and the optimistic
//! concurrency counter every command checks and bumps, and its next timer.

use sea_orm::entity::prelude::*;

/// A case: the durable form of the core's case state.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    /// Case id: a UUID in text form.
    #[sea_orm(primary_key, auto_increment = false, column_type = "String(StringLen::N(36))")]
    pub id: String,
    /// The definition version the case runs on (`definitions.id`); never changes.
    pub definition_id: i64,
    /// Flow key, copied from the definition for filtering without a join.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub flow_key: String,
    /// Flow version, copied from the definition.
    pub flow_version: i32,
    /// Optional business key (e.g. a file number) to find the case by.
    #[sea_orm(column_type = "String(StringLen::N(200))", nullable)]
    pub business_key: Option<String>,
    /// The core's `CaseStatus` in snake_case: `new`, `active`, `suspended`, `completed`,
    /// `terminated`, `cancelled` or `failed`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: String,
    /// The core's case state as JSON.
    #[sea_orm(column_type = "Text")]
    pub state: String,
    /// Optimistic concurrency counter: a command updates the row only if the version is still
    /// the one it loaded, and increments it.
    pub version: i64,
    /// The parent case, when this case was started by a call activity.
    #[sea_orm(column_type = "String(StringLen::N(36))", nullable)]
    pub parent_case_id: Option<String>,
    /// The parent's call key (`CallKey`) that started this case.
    pub parent_call: Option<i32>,
    /// Sequence number of the case's latest `audit_log` row (0 before the first).
    pub audit_seq: i64,
    /// Hash of the case's latest `audit_log` row ('' before the first): the next row's
    /// `prev_hash`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub audit_hash: String,
    /// When the case was started (ms since the Unix epoch, UTC).
    pub created_at: i64,
    /// When the case row was last changed (ms since the Unix epoch, UTC).
    pub updated_at: i64,
    /// When the case completed or was cancelled (ms since the Unix epoch, UTC).
    pub closed_at: Option<i64>,
    /// When the case's next timer is due (ms since the Unix epoch, UTC): the earliest armed
    /// timer of its state; none while it has none, is suspended or is closed. Written with the
    /// state by every command; the timer worker takes cases whose instant has come.
    pub wake_at: Option<i64>,
    /// The key (the core's `TimerKey`) of that timer.
    pub wake_timer: Option<i32>,
    /// The node firing the case's next timer, if leased. A node's cached copy of a row does not
    /// follow the leases; only the database's row is current.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub wake_lease_owner: Option<String>,
    /// Until when that lease holds (ms since the Unix epoch, UTC); after that another node may
    /// fire the timer. A command that moves the case's next timer to another one ends it.
    pub wake_lease_until: Option<i64>,
    /// The definition version this case runs on.
    #[sea_orm(belongs_to, from = "definition_id", to = "id")]
    pub definition: BelongsTo<super::definitions::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
