//! The durable engine around the pure core: persistence on SQLite and PostgreSQL, group
//! commit, workers.
//!
//! # Layout
//! - [`entity`]: sea-orm entities, one per table (the schema is in the `migrations` crate).
//! - [`runtime`]: [`Store`]: connect, migrate, deploy, start cases, run commands.
//! - `commit`: group commit (one transaction per batch; a command failing in the database is
//!   taken out and the batch re-run).
//! - `case_cache`: committed rows of recently changed cases, so commands need not read them.
//! - `task_locations`: each task's case and key, by task id, for tasks read lately.
//! - `command_db`: what a command's transaction runs, on either kind of connection.
//! - `effects`: the core's effects carried out on the tables.
//! - `statements`: the writes every case runs through, as SQL text written once.
//! - `sqlite_writer`: the SQLite committer's own connection (statements run on its thread).
//! - `pg_writer`: a PostgreSQL committer's own connection (a batch's statements pipelined).
//! - `pg_wire`: the PostgreSQL wire protocol on that connection (a lot answered in one write).
//! - `pg_reads`: point reads on PostgreSQL, on connections like the committers'.
//! - [`audit`]: the hash-chained audit trail and its verification.
//! - [`inbox`]: inbox queries (filters, sorts, keyset pages).
//! - `inbox_sql`: the text of an inbox page's statement, written straight from the query.
//! - [`read`]: the read side (tasks, cases, timelines, definitions, incidents, the
//!   record-access log, saved views) and case migration.
//! - [`session`]: the front door for a signed-in principal: the access policy, then the store.
//! - [`feed`]: the inbox change feed (the audit log, tailed by every node).
//! - `start_timers`: timer start events (scheduled at deploy, fired by the timer worker).
//! - [`workers`]: the timer worker and the job executor.
//! - [`error`]: [`StoreError`] with stable codes.

pub mod audit;
mod case_cache;
mod command_db;
mod commit;
mod effects;
pub mod entity;
pub mod error;
pub mod feed;
pub mod inbox;
mod inbox_sql;
mod lot;
mod pg_reads;
mod pg_wire;
mod pg_writer;
mod prepared;
pub mod read;
mod row_model;
pub mod runtime;
pub mod session;
mod sql;
mod sqlite_writer;
mod start_timers;
mod statements;
mod task_locations;
pub mod workers;

pub use error::StoreError;
pub use feed::{ChangeFeed, ChangeKind, TaskChange};
pub use inbox::{InboxCursor, InboxFilter, InboxPage, InboxQuery, InboxScope, InboxSort, SortKey, TaskStateFilter};
pub use read::{CaseFilter, Page};
pub use runtime::{Clock, Deployment, Executed, StartCase, Store, StoreConfig};
pub use session::{InboxKind, Session};
pub use workers::{JobFailure, JobHandler, JobInput, WorkerConfig, Workers, builtin_handlers};
