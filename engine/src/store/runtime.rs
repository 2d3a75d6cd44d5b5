//! The store: connects to SQLite or PostgreSQL, deploys definitions, and runs every command
//! on a case as one transaction (load, run the core, apply the effects, bump the version).
//!
//! Commands arriving together share one transaction and one flush (group commit): a
//! committer task takes whatever is queued, runs the commands in one transaction, and
//! answers every caller only after the commit. A refused command writes nothing; a command
//! that fails in the database is taken out and the batch runs again without it, so neither
//! disturbs its neighbours.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sea_orm::sea_query::{OnConflict, Order, Query, SelectStatement};
use sea_orm::sqlx::postgres::PgSslMode;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::audit::{AuditEntry, LogRow, StoredEntry, log_row};
use super::case_cache::{CachedCase, CaseCache, Staged};
use super::command_db::{CommandDb, FirstIn, RunIn};
use super::commit::{self, Writer};
use super::effects::{CaseContext, apply_effects, job_retries};
use super::entity::{audit_log, cases, definitions, idempotency_keys};
use super::error::StoreError;
use super::pg_reads::PgReaders;
use super::pg_writer::{PgWriter, is_loopback};
use super::prepared::{Prepared, run_prepared};
use super::sqlite_writer::{SqliteReaders, SqliteWriter};
use super::statements;
use super::task_locations::TaskLocations;
use crate::calendar::Calendars;
use crate::core::{self, CallKey, CaseState, CaseStatus, Command, Definition, Env, Variables};
use crate::time::Timestamp;
use crate::validate;

/// How to reach the database and how this node behaves.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://path` (created if missing) or `postgres://user@host:port/db`.
    pub url: String,
    /// This node's name, for leases and logs.
    pub node_id: String,
    /// The most commands one transaction carries.
    pub max_batch: usize,
    /// Concurrent committers (transactions in flight) on PostgreSQL, two by default: with
    /// more, each batch is smaller, so fewer commands share a flush and fewer inserts merge
    /// (see `docs/benchmarks.md`). A SQLite file has one writer: one committer, on a thread
    /// and connection of its own, whatever this says.
    pub committers: usize,
    /// The clock commands and workers read; the system clock unless a test shifts it.
    pub clock: Clock,
    /// How many running cases the node keeps in memory as last committed, so that a command
    /// need not read its case again. A case changed elsewhere (another node) is noticed by its
    /// version and read again. It also sizes the map of where the tasks read lately are (four
    /// tasks a case), so that a command on a task need not read the task's row to find its
    /// case. 0 turns both off.
    pub cached_cases: usize,
}

/// The store's clock: the system clock, optionally shifted by a fixed amount (tests run
/// cases "in 2024" so that legal periods fall inside the shipped calendar).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Milliseconds added to the system clock.
    pub shift_millis: i64,
}

impl Clock {
    /// A clock that reads `at` now and then runs at normal speed.
    pub fn starting_at(at: Timestamp) -> Self {
        Clock { shift_millis: at.0 - system_now().0 }
    }

    /// The current instant on this clock.
    pub fn now(&self) -> Timestamp {
        Timestamp(system_now().0 + self.shift_millis)
    }
}

impl StoreConfig {
    /// Defaults for `url`: a node id from the host and process, batches of up to 256
    /// commands, and one committer for SQLite or two for PostgreSQL.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let committers = if url.starts_with("sqlite") { 1 } else { 2 };
        StoreConfig {
            url,
            node_id: format!("node-{}", std::process::id()),
            max_batch: 256,
            committers,
            clock: Clock::default(),
            cached_cases: 4096,
        }
    }
}

/// A definition deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The flow key.
    pub key: String,
    /// Its version.
    pub version: u32,
    /// False when identical content was already deployed (nothing changed).
    pub created: bool,
}

/// Starting a case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StartCase {
    /// The flow key.
    pub flow: String,
    /// A version, or the latest.
    pub version: Option<u32>,
    /// The business key (case number) for lookups.
    pub business_key: Option<String>,
    /// Initial variables.
    pub variables: Variables,
    /// Who starts it.
    pub actor: String,
    /// A retried start with the same key returns the first result.
    pub idempotency_key: Option<String>,
    /// The start event to begin at (a message or timer start event that fired); the flow's
    /// `start:` when `None`.
    pub at: Option<String>,
}

/// The answer to an accepted command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    /// The case.
    pub case_id: String,
    /// The case's version after the command.
    pub version: i64,
    /// The case's status after the command.
    pub status: CaseStatus,
}

/// What the committer is asked to do.
pub(crate) enum Target {
    /// A new case of this definition; `parent` is the calling case and its call, for a
    /// sub-case started by a call activity.
    New { definition: Arc<LoadedDefinition>, business_key: Option<String>, parent: Option<(String, u32)> },
    /// An existing case.
    Existing(String),
}

pub(crate) struct Request {
    pub target: Target,
    pub command: Command,
    pub actor: String,
    pub idempotency_key: Option<String>,
    /// The command worked out ahead from the cached case, if it could be (see `prepared`).
    pub prepared: Option<Prepared>,
    pub reply: oneshot::Sender<Result<Executed, StoreError>>,
}

/// A deployed definition, prepared for running.
#[derive(Debug)]
pub struct LoadedDefinition {
    /// Row id.
    pub id: i64,
    /// Key.
    pub key: String,
    /// Version.
    pub version: u32,
    /// The runnable definition.
    pub definition: Definition,
}

pub(crate) struct Inner {
    pub db: DatabaseConnection,
    pub config: StoreConfig,
    pub calendars: &'static Calendars,
    definitions: RwLock<HashMap<i64, Arc<LoadedDefinition>>>,
    /// Committed rows of recently changed cases.
    pub cases: CaseCache,
    /// The case and key of tasks read lately, by task id.
    pub task_locations: TaskLocations,
    /// Whether reads of a case may be answered from `cases`: only where this node's committer
    /// is the database's one writer (a SQLite file), so the cache is never behind it.
    reads_cached: bool,
    /// Connections for point reads on a SQLite file (see `SqliteReaders`).
    pub readers: Option<SqliteReaders>,
    /// How the PostgreSQL committers and point readers connect (each with a connection of its
    /// own), where they do not use the pool (see `PgWriter::for_url`).
    pg_writer: Option<PgWriter>,
    /// Connections for point reads on PostgreSQL, like the committers' (see `pg_reads`).
    pub pg_readers: Option<PgReaders>,
    queue: RwLock<Option<mpsc::Sender<Request>>>,
    committers: tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The durable engine's handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

/// The PostgreSQL advisory lock that serializes migrations across nodes ("docket" in ASCII).
const MIGRATION_LOCK: i64 = 0x646f_636b_6574;

/// Connections for point reads on PostgreSQL (see `pg_reads`).
const POINT_READERS: usize = 4;

/// How many task locations are kept for each case the case cache holds: a case at work has a
/// task or a few open, and inbox pages show tasks of cases not yet cached.
const TASKS_PER_CACHED_CASE: usize = 4;

/// How often a command is retried after losing an optimistic-concurrency race.
const MAX_ATTEMPTS: u32 = 8;

/// How long a pooled connection may sit idle before it is tested again on its way out of the
/// pool (a server restart or a firewall that dropped it is then found before a read uses it).
const IDLE_BEFORE_TEST: Duration = Duration::from_secs(10);

impl Store {
    /// Connects. SQLite files are created if missing and run in WAL mode with
    /// `synchronous=FULL`, so an acknowledged command survives a power cut. A PostgreSQL
    /// server on this machine is spoken to without TLS unless the URL requires it
    /// (`sslmode=require` or stricter); one elsewhere with TLS whenever the server offers it.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn connect(config: StoreConfig) -> Result<Store, StoreError> {
        let mut options = ConnectOptions::new(sqlite_create(&config.url));
        options.sqlx_logging(false).connect_timeout(Duration::from_secs(10)).acquire_timeout(Duration::from_secs(30));
        // A pooled connection is tested with a round trip before it is handed out only when it
        // has been idle for a while (the pool's default tests every one: a round trip more on
        // every read). A connection in steady use that breaks fails its next statement.
        options.test_before_acquire_if_idle_for(IDLE_BEFORE_TEST);
        if config.url.starts_with("sqlite") {
            options.max_connections(4).map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
            });
        } else {
            options.max_connections(16).map_sqlx_postgres_opts(|o| {
                // TLS on a loopback connection protects nothing and costs both ends a share of
                // every read; `prefer` allows a plain connection, so there it is plain.
                if matches!(o.get_ssl_mode(), PgSslMode::Prefer)
                    && (o.get_socket().is_some() || is_loopback(o.get_host()))
                {
                    o.ssl_mode(PgSslMode::Disable)
                } else {
                    o
                }
            });
        }
        let db = Database::connect(options).await?;
        let calendars =
            Calendars::shipped().map_err(|e| StoreError::Corrupt { case: "-".into(), reason: e.to_string() })?;
        let file = super::sqlite_writer::file_of(&config.url);
        let pg_writer = (db.get_database_backend() == sea_orm::DatabaseBackend::Postgres)
            .then(|| PgWriter::for_url(&config.url))
            .flatten();
        let inner = Arc::new(Inner {
            db,
            cases: CaseCache::new(config.cached_cases),
            task_locations: TaskLocations::new(config.cached_cases.saturating_mul(TASKS_PER_CACHED_CASE)),
            reads_cached: file.is_some(),
            readers: file.map(|path| SqliteReaders::open(path, 2)).transpose()?,
            pg_readers: pg_writer.as_ref().map(|writer| PgReaders::new(writer, POINT_READERS)),
            pg_writer,
            config,
            calendars,
            definitions: RwLock::new(HashMap::new()),
            queue: RwLock::new(None),
            committers: tokio::sync::Mutex::new(Vec::new()),
        });
        let store = Store { inner };
        store.start_committers().await?;
        Ok(store)
    }

    async fn start_committers(&self) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::channel::<Request>(4096);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let mut handles = self.inner.committers.lock().await;
        match super::sqlite_writer::file_of(&self.inner.config.url) {
            Some(path) => {
                // SQLite: one committer, on a thread of its own with a connection of its own.
                let writer = Arc::new(SqliteWriter::open(path)?);
                let store = self.clone();
                let (finished, wait) = oneshot::channel::<()>();
                std::thread::Builder::new()
                    .name("docket-committer".into())
                    .spawn(move || {
                        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                            Ok(rt) => rt.block_on(commit::committer(store, rx, Writer::Sqlite(writer))),
                            Err(e) => tracing::error!(error = %e, "the SQLite committer could not start"),
                        }
                        let _ = finished.send(());
                    })
                    .map_err(|e| StoreError::Database(sea_orm::DbErr::Custom(e.to_string())))?;
                handles.push(tokio::spawn(async move {
                    let _ = wait.await;
                }));
            }
            None => {
                // Each PostgreSQL committer on a connection of its own, its batches' statements
                // pipelined; the pool otherwise (an in-memory SQLite database).
                let own = &self.inner.pg_writer;
                for _ in 0..self.inner.config.committers.max(1) {
                    let store = self.clone();
                    let rx = rx.clone();
                    let writer = match &own {
                        Some(writer) => Writer::Postgres(Arc::new(writer.another())),
                        None => Writer::Pool,
                    };
                    handles.push(tokio::spawn(async move { commit::committer(store, rx, writer).await }));
                }
            }
        }
        *self.inner.queue.write().expect("queue lock") = Some(tx);
        Ok(())
    }

    /// The current instant on the store's clock, handed to the core as data.
    pub fn now(&self) -> Timestamp {
        self.inner.config.clock.now()
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so that two writers wait for each other instead of failing
    /// when a read transaction tries to become a write transaction.
    ///
    /// # Errors
    /// When the database refuses.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, sea_orm::DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        self.inner.db.begin_with_options(options).await
    }

    /// The database connection (for workers and tests).
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The working-day calendars flows may name.
    pub fn calendars(&self) -> &'static Calendars {
        self.inner.calendars
    }

    /// The calendar a flow names, if it names one the store knows.
    pub(crate) fn calendar_of(&self, flow: &crate::model::Flow) -> Option<&'static crate::calendar::Calendar> {
        flow.calendar.as_deref().and_then(|c| self.inner.calendars.get(c).ok())
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Applies the schema migrations.
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let db = &self.inner.db;
        if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // Several nodes starting together on an empty database: one migrates, the others
            // wait for its transaction and then find nothing left to do.
            let txn = db.begin().await?;
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")).await?;
            docket_migrations::Migrator::up(&txn, None).await?;
            txn.commit().await?;
        } else {
            docket_migrations::Migrator::up(db, None).await?;
        }
        Ok(())
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// When it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.inner.db.ping().await?;
        Ok(())
    }

    /// Validates a definition against the deployed flows (call activities may name them)
    /// and the shipped calendars, without deploying it: every problem with its line and
    /// column.
    ///
    /// # Errors
    /// A database failure.
    pub async fn validate(&self, source: &str) -> Result<Vec<crate::problem::Problem>, StoreError> {
        Ok(self.check(source).await?.problems)
    }

    async fn check(&self, source: &str) -> Result<validate::Checked, StoreError> {
        let db = &self.inner.db;
        // The keys a call activity may name: only the column, not every stored source.
        let keys: Vec<String> = definitions::Entity::find()
            .select_only()
            .column(definitions::Column::Key)
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        let calendars: Vec<String> = self.inner.calendars.iter().map(|c| c.id().to_owned()).collect();
        let parsed = crate::dsl::parse(source);
        let mut flows = keys;
        if let Some(f) = &parsed.flow {
            flows.push(f.id.clone());
        }
        let checked = validate::check_parsed(parsed, &validate::Env { calendars: &calendars, flows: &flows });
        Ok(checked)
    }

    /// Validates and deploys a definition as the next version of its key; identical content
    /// returns the existing version.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] with the validator's problems.
    pub async fn deploy(&self, source: &str, deployed_by: &str) -> Result<Deployment, StoreError> {
        let checked = self.check(source).await?;
        if !checked.is_valid() {
            return Err(StoreError::Invalid(checked.problems));
        }
        let flow = checked.flow.ok_or_else(|| StoreError::Invalid(Vec::new()))?;
        let hash = hex::encode(Sha256::digest(source.as_bytes()));
        let txn = self.begin_write().await?;
        if let Some(existing) = definitions::Entity::find()
            .filter(definitions::Column::Key.eq(&flow.id))
            .filter(definitions::Column::ContentHash.eq(&hash))
            .one(&txn)
            .await?
        {
            txn.commit().await?;
            return Ok(Deployment { key: existing.key, version: existing.version as u32, created: false });
        }
        let latest = definitions::Entity::find()
            .filter(definitions::Column::Key.eq(&flow.id))
            .order_by_desc(definitions::Column::Version)
            .one(&txn)
            .await?
            .map(|d| d.version)
            .unwrap_or(0);
        let version = latest + 1;
        let inserted = definitions::ActiveModel {
            key: Set(flow.id.clone()),
            version: Set(version),
            name: Set(flow.name.clone()),
            source: Set(source.to_owned()),
            content_hash: Set(hash),
            deployed_by: Set(deployed_by.to_owned()),
            deployed_at: Set(self.now().0),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        super::start_timers::replace(&txn, inserted.id, &flow, self.now(), self.calendar_of(&flow)).await?;
        txn.commit().await?;
        tracing::info!(flow = %flow.id, version, "deployed");
        Ok(Deployment { key: flow.id, version: version as u32, created: true })
    }

    /// The deployed definition with this row id, prepared (cached after the first load).
    pub(crate) async fn definition_by_id(
        &self,
        db: &impl CommandDb,
        id: i64,
    ) -> Result<Arc<LoadedDefinition>, StoreError> {
        if let Some(d) = self.prepared_definition(id) {
            return Ok(d);
        }
        let row = definitions::Entity::find_by_id(id)
            .first_in(db)
            .await?
            .ok_or_else(|| StoreError::FlowNotFound { key: format!("#{id}"), version: None })?;
        let loaded = Arc::new(prepare(row)?);
        self.inner.definitions.write().expect("definitions lock").insert(id, loaded.clone());
        Ok(loaded)
    }

    /// The deployed definition with this row id, if it is prepared already.
    pub(crate) fn prepared_definition(&self, id: i64) -> Option<Arc<LoadedDefinition>> {
        self.inner.definitions.read().expect("definitions lock").get(&id).cloned()
    }

    /// Runs the core on a case's state with the store's clock reading `at` and the flow's
    /// calendar.
    pub(crate) fn apply_core(
        &self,
        loaded: &LoadedDefinition,
        state: &mut CaseState,
        command: &Command,
        at: Timestamp,
    ) -> Result<Vec<core::Effect>, core::TransitionError> {
        let env = Env { now: at, calendar: self.calendar_of(&loaded.definition.flow) };
        core::apply(&loaded.definition, state, command.clone(), &env)
    }

    /// The deployed definition of `key` at `version` (the latest when `None`).
    pub(crate) async fn definition(
        &self,
        db: &impl CommandDb,
        key: &str,
        version: Option<u32>,
    ) -> Result<Arc<LoadedDefinition>, StoreError> {
        if let Some(d) = self.cached_definition(key, version) {
            return Ok(d);
        }
        let row: Option<DefinitionId> = db.first_row(&definition_id(key, version)).await?;
        let row = row.ok_or_else(|| StoreError::FlowNotFound { key: key.to_owned(), version })?;
        self.definition_by_id(db, row.id).await
    }

    /// [`Store::definition`] outside a transaction, with the row id read as a hot read (on
    /// SQLite on the caller's thread: see `hot_rows`).
    async fn committed_definition(&self, key: &str, version: Option<u32>) -> Result<Arc<LoadedDefinition>, StoreError> {
        if let Some(d) = self.cached_definition(key, version) {
            return Ok(d);
        }
        let rows: Vec<DefinitionId> = self.hot_rows(&definition_id(key, version), Some(1)).await?;
        let row = rows.first().ok_or_else(|| StoreError::FlowNotFound { key: key.to_owned(), version })?;
        self.definition_by_id(&self.inner.db, row.id).await
    }

    /// A version of a flow prepared already. A deployed version never changes, so it is
    /// answered from the cache; the latest is not (a deploy, on any node, may add one).
    fn cached_definition(&self, key: &str, version: Option<u32>) -> Option<Arc<LoadedDefinition>> {
        let v = version?;
        let cache = self.inner.definitions.read().expect("definitions lock");
        cache.values().find(|d| d.key == key && d.version == v).cloned()
    }

    /// Starts a case of a deployed flow.
    ///
    /// # Errors
    /// An unknown flow, a refused start (bad variables), or a database failure.
    pub async fn start_case(&self, start: StartCase) -> Result<Executed, StoreError> {
        let definition = self.committed_definition(&start.flow, start.version).await?;
        let request = |reply| Request {
            target: Target::New {
                definition: definition.clone(),
                business_key: start.business_key.clone(),
                parent: None,
            },
            command: match &start.at {
                None => Command::Start { variables: start.variables.clone() },
                Some(node) => Command::StartAt { node: node.clone(), variables: start.variables.clone() },
            },
            actor: start.actor.clone(),
            idempotency_key: start.idempotency_key.clone(),
            prepared: None,
            reply,
        };
        self.submit(request).await
    }

    /// Runs a command on a case in its own transaction (shared with other commands that
    /// arrive together). Retried automatically when another node changed the case first.
    ///
    /// # Errors
    /// The core's refusal, an unknown case, or a database failure.
    pub async fn execute(
        &self,
        case_id: &str,
        command: Command,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Executed, StoreError> {
        let request = |reply| Request {
            target: Target::Existing(case_id.to_owned()),
            command: command.clone(),
            actor: actor.to_owned(),
            idempotency_key: idempotency_key.clone(),
            prepared: None,
            reply,
        };
        self.submit(request).await
    }

    async fn submit(
        &self,
        request: impl Fn(oneshot::Sender<Result<Executed, StoreError>>) -> Request,
    ) -> Result<Executed, StoreError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let (tx, rx) = oneshot::channel();
            let queue = self.inner.queue.read().expect("queue lock").clone().ok_or(StoreError::ShuttingDown)?;
            let mut request = request(tx);
            request.prepared = self.prepare(&request.target, &request.command, &request.actor).await;
            queue.send(request).await.map_err(|_| StoreError::ShuttingDown)?;
            match rx.await.map_err(|_| StoreError::ShuttingDown)? {
                Err(StoreError::Conflict) if attempt < MAX_ATTEMPTS => {
                    metrics::counter!("docket_conflicts_total").increment(1);
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2)).await;
                }
                other => return other,
            }
        }
        Err(StoreError::Conflict)
    }

    /// Stops taking commands and waits for the ones in flight to commit.
    pub async fn shutdown(&self) {
        self.inner.queue.write().expect("queue lock").take();
        let handles: Vec<_> = self.inner.committers.lock().await.drain(..).collect();
        for h in handles {
            let _ = h.await;
        }
    }

    /// Verifies a case's audit chain against the head recorded on the case.
    ///
    /// # Errors
    /// [`StoreError::AuditBroken`] naming the first entry that does not verify.
    pub async fn verify_audit(&self, case_id: &str) -> Result<(), StoreError> {
        let (row, _) = self.case_state(case_id).await?;
        let entries: Vec<StoredEntry> = audit_log::Entity::find()
            .filter(audit_log::Column::CaseId.eq(case_id))
            .order_by_asc(audit_log::Column::Seq)
            .all(&self.inner.db)
            .await?
            .into_iter()
            .map(|e| StoredEntry {
                seq: e.seq,
                at: e.at,
                actor: e.actor,
                kind: e.kind,
                detail: e.detail,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect();
        super::audit::verify(case_id, &entries, (row.audit_seq, &row.audit_hash))?;
        Ok(())
    }

    /// Reads a case's state (for tests and the API). On a SQLite file a case that changed
    /// recently is answered from the cache of committed cases (the node's committer is the
    /// file's one writer, and the cache takes each commit before its callers are answered).
    ///
    /// # Errors
    /// An unknown case or an unreadable state.
    pub async fn case_state(&self, case_id: &str) -> Result<(cases::Model, CaseState), StoreError> {
        if self.inner.reads_cached
            && let Some(entry) = self.inner.cases.get(case_id)
        {
            return Ok((entry.row.clone(), entry.state.clone()));
        }
        self.committed_case(case_id).await
    }

    /// The node's copy of a case, if it holds one, and whether that copy is known to be
    /// current (on a SQLite file, whose one writer is this node's committer). On PostgreSQL a
    /// copy may be behind another node's commits.
    pub(crate) fn held_case(&self, case_id: &str) -> Option<(Arc<CachedCase>, bool)> {
        self.inner.cases.get(case_id).map(|entry| (entry, self.inner.reads_cached))
    }

    /// A case's row as last committed, read from the database (as a hot read: see
    /// `hot_rows`), and its state.
    pub(crate) async fn committed_case(&self, case_id: &str) -> Result<(cases::Model, CaseState), StoreError> {
        let query = cases::Entity::find_by_id(case_id.to_owned()).limit(1).into_query();
        let row = self
            .hot_rows::<cases::Model>(&query, Some(1))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::CaseNotFound(case_id.to_owned()))?;
        let state = decode_state(&row)?;
        Ok((row, state))
    }
}

/// A definition's row id, as [`definition_id`] reads it.
#[derive(Debug, FromQueryResult, Deserialize)]
struct DefinitionId {
    id: i64,
}

/// The row id of `key`'s definition at `version`, or of its latest: the id alone, not the
/// row, whose source a prepared definition does not need again.
fn definition_id(key: &str, version: Option<u32>) -> SelectStatement {
    let mut query = Query::select();
    query.column(definitions::Column::Id).from(definitions::Entity).and_where(definitions::Column::Key.eq(key));
    if let Some(v) = version {
        query.and_where(definitions::Column::Version.eq(v as i32));
    }
    query.order_by(definitions::Column::Version, Order::Desc).limit(1);
    query
}

fn prepare(row: definitions::Model) -> Result<LoadedDefinition, StoreError> {
    let parsed = crate::dsl::parse(&row.source);
    if !parsed.problems.is_empty() {
        return Err(StoreError::Invalid(parsed.problems));
    }
    let flow = parsed.flow.ok_or_else(|| StoreError::Invalid(Vec::new()))?;
    let definition = Definition::new(Arc::new(flow))
        .map_err(|e| StoreError::Corrupt { case: format!("definition {}", row.id), reason: e.to_string() })?;
    Ok(LoadedDefinition { id: row.id, key: row.key, version: row.version as u32, definition })
}

/// A SQLite URL with `mode=rwc`, so that the file is created on first start.
fn sqlite_create(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

/// The system clock; read only through [`Clock`].
fn system_now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

pub(crate) fn decode_state(row: &cases::Model) -> Result<CaseState, StoreError> {
    serde_json::from_str(&row.state).map_err(|e| StoreError::Corrupt { case: row.id.clone(), reason: e.to_string() })
}

/// Runs one request inside the batch's transaction, with everything it sets off in other
/// cases (a call activity's sub-case, the sub-case's end reported to its caller). Every
/// refusal (the core's, an unknown case, a lost version race) happens before the first write,
/// so a refused request leaves the transaction as it found it.
pub(crate) async fn run_one(
    store: &Store,
    txn: &impl CommandDb,
    staged: &mut Staged,
    req: &Request,
    use_recording: bool,
) -> Result<Executed, StoreError> {
    let fingerprint = req.idempotency_key.as_ref().map(|_| request_hash(req));
    if let Some(key) = &req.idempotency_key
        && let Some(row) = idempotency_keys::Entity::find_by_id(key.clone()).first_in(txn).await?
    {
        if row.request_hash.is_some() && row.request_hash != fingerprint {
            return Err(StoreError::IdempotencyMismatch(shown_key(key)));
        }
        return serde_json::from_str(&row.response).map_err(|_| StoreError::IdempotencyMismatch(shown_key(key)));
    }
    let recorded = match &req.prepared {
        Some(prepared) if use_recording => run_prepared(txn, staged, prepared).await?,
        _ => None,
    };
    let (executed, mut follow_ups) = match recorded {
        Some(executed) => (executed, FollowUps::new()),
        None => apply_command(store, txn, staged, &req.target, &req.command, &req.actor).await?,
    };
    // Sub-cases and their callers, in the same transaction: nothing is lost between them.
    let mut budget = 1000;
    while let Some((target, command)) = follow_ups.pop() {
        budget -= 1;
        if budget == 0 {
            return Err(StoreError::Corrupt { case: executed.case_id.clone(), reason: "calls nest too deeply".into() });
        }
        match apply_command(store, txn, staged, &target, &command, "engine").await {
            Ok((_, more)) => follow_ups.extend(more),
            Err(StoreError::Refused(refusal)) => {
                // A sub-case that cannot start fails its call; anything else refused by a
                // caller that moved on is a late event.
                if let (Target::New { parent: Some((parent, call)), .. }, Command::Start { .. }) = (&target, &command) {
                    let failed = Command::CallFailed {
                        call: CallKey(*call),
                        error_code: format!("start-refused: {}", refusal.code()),
                    };
                    follow_ups.push((Target::Existing(parent.clone()), failed));
                }
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(key) = &req.idempotency_key {
        let inserted = idempotency_keys::Entity::insert(idempotency_keys::ActiveModel {
            key: Set(key.clone()),
            case_id: Set(Some(executed.case_id.clone())),
            response: Set(serde_json::to_string(&executed).unwrap_or_default()),
            created_at: Set(store.now().0),
            request_hash: Set(fingerprint),
        })
        .on_conflict(OnConflict::column(idempotency_keys::Column::Key).do_nothing().to_owned())
        .run_in(txn)
        .await?;
        if inserted == 0 {
            // Another transaction (another committer or node) ran a command with this key and
            // committed while this one ran: this work must not commit. The batch rolls back and
            // runs again without it; the caller's retry then finds the first answer.
            return Err(StoreError::KeyTaken(shown_key(key)));
        }
    }
    Ok(executed)
}

/// The idempotency key as its sender wrote it (sessions prefix keys with the user and a unit
/// separator, so that users cannot collide).
fn shown_key(key: &str) -> String {
    key.rsplit('\u{1f}').next().unwrap_or(key).to_owned()
}

/// Hex SHA-256 of what a request asks (its target, command and actor): a key sent again must
/// come with the same request.
fn request_hash(req: &Request) -> String {
    let target = match &req.target {
        Target::New { definition, business_key, .. } => {
            serde_json::json!({ "flow": definition.key, "business_key": business_key })
        }
        Target::Existing(id) => serde_json::json!({ "case": id }),
    };
    let text = serde_json::json!({ "target": target, "command": req.command, "actor": req.actor }).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What a command sets off in other cases.
type FollowUps = Vec<(Target, Command)>;

/// The case a command starts from.
struct Current {
    /// Its row as committed (or as this batch wrote it); for a new case, the row to insert,
    /// at version 0.
    row: cases::Model,
    /// The row's state, decoded.
    state: CaseState,
    /// Its definition.
    loaded: Arc<LoadedDefinition>,
    /// Taken from the cache of committed cases, so possibly stale (see `case_cache`).
    cached: bool,
}

/// The case `id` as this transaction sees it: the row this batch wrote, else the cached
/// committed row (unless `fresh`), else the database's.
async fn current(
    store: &Store,
    txn: &impl CommandDb,
    staged: &Staged,
    id: &str,
    fresh: bool,
) -> Result<Current, StoreError> {
    let (held, cached) = match staged.get(id) {
        Some(mine) => (Some(mine), false),
        None if fresh => (None, false),
        None => {
            let committed = store.inner.cases.get(id);
            let hit = committed.is_some();
            (committed, hit)
        }
    };
    let (row, state) = match held {
        Some(entry) => (entry.row.clone(), entry.state.clone()),
        None => {
            let row = cases::Entity::find_by_id(id.to_owned())
                .first_in(txn)
                .await?
                .ok_or_else(|| StoreError::CaseNotFound(id.to_owned()))?;
            let state = decode_state(&row)?;
            (row, state)
        }
    };
    let loaded = store.definition_by_id(txn, row.definition_id).await?;
    Ok(Current { row, state, loaded, cached })
}

/// The case a new case starts from (version 0, not yet written).
fn new_case(
    definition: &Arc<LoadedDefinition>,
    business_key: &Option<String>,
    parent: &Option<(String, u32)>,
    at: Timestamp,
) -> Current {
    let (row, state) = new_case_row(definition, business_key, parent, at);
    Current { row, state, loaded: definition.clone(), cached: false }
}

/// The row and state a new case starts from (version 0, not yet written).
pub(crate) fn new_case_row(
    definition: &LoadedDefinition,
    business_key: &Option<String>,
    parent: &Option<(String, u32)>,
    at: Timestamp,
) -> (cases::Model, CaseState) {
    let row = cases::Model {
        id: uuid::Uuid::now_v7().to_string(),
        definition_id: definition.id,
        flow_key: definition.key.clone(),
        flow_version: definition.version as i32,
        business_key: business_key.clone(),
        status: status_word(CaseStatus::New).to_owned(),
        state: String::new(),
        version: 0,
        parent_case_id: parent.as_ref().map(|(p, _)| p.clone()),
        parent_call: parent.as_ref().map(|(_, c)| *c as i32),
        audit_seq: 0,
        audit_hash: String::new(),
        created_at: at.0,
        updated_at: at.0,
        closed_at: None,
        wake_at: None,
        wake_timer: None,
        wake_lease_owner: None,
        wake_lease_until: None,
    };
    (row, CaseState::new())
}

/// Applies one command to one case: load, run the core, write the case, its audit entry and
/// its effects. Returns the commands it sets off in other cases. The rows it writes are
/// staged for the cache of committed cases.
async fn apply_command(
    store: &Store,
    txn: &impl CommandDb,
    staged: &mut Staged,
    target: &Target,
    command: &Command,
    actor: &str,
) -> Result<(Executed, FollowUps), StoreError> {
    let at = store.now();
    let mut fresh = false;
    loop {
        let Current { row, mut state, loaded, cached } = match target {
            Target::New { definition, parent, business_key } => new_case(definition, business_key, parent, at),
            Target::Existing(id) => current(store, txn, staged, id, fresh).await?,
        };
        let effects = match store.apply_core(&loaded, &mut state, command, at) {
            Ok(effects) => effects,
            Err(_) if cached => {
                // A refusal must come from the committed state, not from a stale copy.
                store.inner.cases.forget(&row.id);
                fresh = true;
                continue;
            }
            Err(refusal) => return Err(refusal.into()),
        };
        let (written, audit_row) = written_after(row, &state, command, &effects, at, actor)?;
        if !write_case(txn, &written).await? {
            if cached {
                // Changed since it was cached (another node, a migration): read it again.
                store.inner.cases.forget(&written.id);
                fresh = true;
                continue;
            }
            return Err(StoreError::Conflict);
        }
        write_entry_and_effects(txn, &written, audit_row, &loaded, command, &effects, at, actor).await?;
        staged.add_job_retries(job_retries(&effects));
        let parent = written.parent_case_id.clone().zip(written.parent_call.map(|c| c as u32));
        let follow_ups = follow_ups(store, txn, &written.id, &state, &effects, parent).await?;
        let executed = Executed { case_id: written.id.clone(), version: written.version, status: state.status };
        staged.put(CachedCase { row: written, state });
        return Ok((executed, follow_ups));
    }
}

/// A case's row and its new audit entry after a command: the row one version on, with its
/// state, status and audit head, and the entry that records the command and its effects,
/// chained to the previous one.
pub(crate) fn written_after(
    row: cases::Model,
    state: &CaseState,
    command: &Command,
    effects: &[core::Effect],
    at: Timestamp,
    actor: &str,
) -> Result<(cases::Model, LogRow), StoreError> {
    let state_json = serde_json::to_string(state)
        .map_err(|e| StoreError::Corrupt { case: row.id.clone(), reason: e.to_string() })?;
    let detail = serde_json::to_string(&AuditDetail { command, effects })
        .map_err(|e| StoreError::Corrupt { case: row.id.clone(), reason: e.to_string() })?;
    let seq = row.audit_seq + 1;
    let entry = AuditEntry { case_id: &row.id, seq, at: at.0, actor, kind: command.name(), detail: &detail };
    let (audit_row, hash) = log_row(&entry, &row.audit_hash);
    let written = cases::Model {
        status: status_word(state.status).to_owned(),
        state: state_json,
        version: row.version + 1,
        audit_seq: seq,
        audit_hash: hash,
        updated_at: at.0,
        closed_at: state.status.is_closed().then_some(at.0),
        ..with_next_timer(row, state)
    };
    Ok((written, audit_row))
}

/// What an audit entry of a command records: the command and its effects.
#[derive(serde::Serialize)]
struct AuditDetail<'a> {
    command: &'a Command,
    effects: &'a [core::Effect],
}

/// A case row with its next timer taken from `state` ([`CaseState::next_timer`]). A lease the
/// row shows stays when the next timer is still the same one.
pub(crate) fn with_next_timer(row: cases::Model, state: &CaseState) -> cases::Model {
    let next = state.next_timer();
    let wake_timer = next.map(|t| t.key.0 as i32);
    let same = wake_timer.is_some() && wake_timer == row.wake_timer;
    cases::Model {
        wake_at: next.map(|t| t.due.0),
        wake_timer,
        wake_lease_owner: row.wake_lease_owner.clone().filter(|_| same),
        wake_lease_until: row.wake_lease_until.filter(|_| same),
        ..row
    }
}

/// Writes what follows a case's new row: the command's audit entry, then its effects.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_entry_and_effects(
    txn: &impl CommandDb,
    written: &cases::Model,
    audit_row: LogRow,
    loaded: &LoadedDefinition,
    command: &Command,
    effects: &[core::Effect],
    at: Timestamp,
    actor: &str,
) -> Result<(), StoreError> {
    txn.run_owned(statements::audit_insert(txn.backend(), audit_row)).await?;
    let context =
        CaseContext { case_id: &written.id, business_key: written.business_key.as_deref(), loaded, at, actor };
    apply_effects(txn, &context, command, effects).await
}

/// Writes a case's new row: a new case's first row, else the row over the one a version
/// earlier, the version guard every change of a case goes through. False when the case changed
/// since it was read (nothing written).
pub(crate) async fn write_case(txn: &impl CommandDb, written: &cases::Model) -> Result<bool, StoreError> {
    let backend = txn.backend();
    let write = match written.version - 1 {
        0 => statements::case_insert(backend, written),
        loaded_version => statements::case_update(backend, written, loaded_version),
    };
    Ok(txn.run_owned(write).await? == 1)
}

/// The commands a case's effects set off elsewhere: a call starts its sub-case (or cancels
/// it); a sub-case's end or escalation is reported to its caller.
async fn follow_ups(
    store: &Store,
    txn: &impl CommandDb,
    case_id: &str,
    state: &CaseState,
    effects: &[core::Effect],
    parent: Option<(String, u32)>,
) -> Result<FollowUps, StoreError> {
    let mut out = FollowUps::new();
    for effect in effects {
        match effect {
            core::Effect::StartCall { call, flow, version, variables, .. } => {
                let definition = store.definition(txn, flow, *version).await?;
                let target = Target::New { definition, business_key: None, parent: Some((case_id.to_owned(), call.0)) };
                out.push((target, Command::Start { variables: variables.clone() }));
            }
            core::Effect::CancelCall { call } => {
                let child = cases::Entity::find()
                    .filter(cases::Column::ParentCaseId.eq(case_id))
                    .filter(cases::Column::ParentCall.eq(call.0 as i32))
                    .first_in(txn)
                    .await?;
                if let Some(child) = child {
                    out.push((
                        Target::Existing(child.id),
                        Command::Cancel { reason: "the calling case moved on".into() },
                    ));
                }
            }
            core::Effect::Escalate { to: None, code: Some(code), .. } => {
                if let Some((parent, call)) = &parent {
                    let escalated = Command::CallEscalated { call: CallKey(*call), code: code.clone() };
                    out.push((Target::Existing(parent.clone()), escalated));
                }
            }
            core::Effect::CloseCase { status, outcome, error_code, .. } => {
                let Some((parent, call)) = &parent else { continue };
                let call = CallKey(*call);
                let report = match (status, error_code) {
                    (CaseStatus::Completed | CaseStatus::Terminated, _) => {
                        Command::CallCompleted { call, outcome: outcome.clone(), variables: state.variables.clone() }
                    }
                    (CaseStatus::Failed, Some(code)) => Command::CallFailed { call, error_code: code.clone() },
                    _ => Command::CallFailed { call, error_code: "cancelled".into() },
                };
                out.push((Target::Existing(parent.clone()), report));
            }
            _ => {}
        }
    }
    // Work through them in the order they arose.
    out.reverse();
    Ok(out)
}

/// The word stored in `cases.status`.
pub(crate) fn status_word(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::New => "new",
        CaseStatus::Active => "active",
        CaseStatus::Suspended => "suspended",
        CaseStatus::Completed => "completed",
        CaseStatus::Terminated => "terminated",
        CaseStatus::Cancelled => "cancelled",
        CaseStatus::Failed => "failed",
    }
}
