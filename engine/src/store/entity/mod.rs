//! sea-orm entities, one module per table of the schema in the `docket-migrations` crate.
//!
//! Conventions (the same as the migrations): every instant is an `i64` count of milliseconds
//! since the Unix epoch (UTC); every JSON document is a `String` holding serialized JSON (the
//! columns are `TEXT` on both stores); case ids are UUIDs in text form.

pub mod audit_log;
pub mod cases;
pub mod definitions;
pub mod evidence_records;
pub mod idempotency_keys;
pub mod inbox_views;
pub mod incidents;
pub mod jobs;
pub mod outbox;
pub mod publications;
pub mod record_access_log;
pub mod start_timers;
pub mod task_candidates;
pub mod tasks;

pub use audit_log::Entity as AuditLog;
pub use cases::Entity as Cases;
pub use definitions::Entity as Definitions;
pub use evidence_records::Entity as EvidenceRecords;
pub use idempotency_keys::Entity as IdempotencyKeys;
pub use inbox_views::Entity as InboxViews;
pub use incidents::Entity as Incidents;
pub use jobs::Entity as Jobs;
pub use outbox::Entity as Outbox;
pub use publications::Entity as Publications;
pub use record_access_log::Entity as RecordAccessLog;
pub use start_timers::Entity as StartTimers;
pub use task_candidates::Entity as TaskCandidates;
pub use tasks::Entity as Tasks;
