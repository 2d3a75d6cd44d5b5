//! Workers that run in every node: the timer worker fires due timers (of cases, and timer
//! start events that begin cases), the job executor runs service-task jobs. Due rows are
//! taken with a lease (and `FOR UPDATE SKIP LOCKED` on PostgreSQL), so several nodes share the
//! work; a node that dies loses its lease and another node takes the row over. A case's timers
//! are in its state and its row names the next one (`cases.wake_at`): firing it is one command,
//! whose case update names the case's next timer after it and ends the lease, and the core
//! ignores a timer it no longer holds, so a timer fires exactly once (a timer start event: see
//! `start_timers`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, DatabaseBackend, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::entity::{cases, jobs, start_timers};
use super::error::StoreError;
use super::runtime::Store;
use crate::core::{Command, JobKey, TimerKey, Variables};

/// What a job handler receives.
#[derive(Debug, Clone)]
pub struct JobInput {
    /// The case.
    pub case_id: String,
    /// The job type.
    pub job_type: String,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// The case's variables when the job was created.
    pub variables: Variables,
}

/// How a job failed.
#[derive(Debug, Clone)]
pub struct JobFailure {
    /// What went wrong.
    pub message: String,
    /// A business error code (caught by an error boundary event); `None` for a technical
    /// failure, which is retried.
    pub error_code: Option<String>,
}

/// The future a handler returns.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<Variables, JobFailure>> + Send>>;

/// Runs jobs of one type.
pub type JobHandler = Arc<dyn Fn(JobInput) -> JobFuture + Send + Sync>;

/// The job types every node can run: `noop` completes at once; `sleep` waits `sleep_ms`
/// milliseconds (a variable, default 100) and completes.
pub fn builtin_handlers() -> HashMap<String, JobHandler> {
    let mut handlers: HashMap<String, JobHandler> = HashMap::new();
    handlers.insert("noop".into(), Arc::new(|_| Box::pin(async { Ok(Variables::new()) })));
    handlers.insert(
        "sleep".into(),
        Arc::new(|input: JobInput| {
            Box::pin(async move {
                let ms = input.variables.get("sleep_ms").and_then(|v| v.as_u64()).unwrap_or(100);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(Variables::new())
            })
        }),
    );
    handlers
}

/// How the workers of a node behave.
#[derive(Clone)]
pub struct WorkerConfig {
    /// This node's name, written into leases.
    pub node_id: String,
    /// How long a worker sleeps when nothing is due.
    pub poll_interval: Duration,
    /// How many rows one worker takes at a time.
    pub batch: u64,
    /// How long a taken row stays leased before another node may take it.
    pub lease: Duration,
    /// Job handlers by job type; jobs of other types are left for nodes that have them.
    pub handlers: HashMap<String, JobHandler>,
    /// How long a command's idempotency key is remembered; a retry later than this runs the
    /// command again.
    pub idempotency_retention: Duration,
}

impl WorkerConfig {
    /// Defaults: poll every 100 ms, 256 rows a take, 30 s leases, the built-in handlers,
    /// idempotency keys kept for 24 hours.
    pub fn new(node_id: impl Into<String>) -> Self {
        WorkerConfig {
            node_id: node_id.into(),
            poll_interval: Duration::from_millis(100),
            batch: 256,
            lease: Duration::from_secs(30),
            handlers: builtin_handlers(),
            idempotency_retention: Duration::from_secs(24 * 3600),
        }
    }
}

/// The running workers of a node.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    heartbeat: Arc<AtomicI64>,
    poll: Duration,
    clock: super::runtime::Clock,
}

impl Workers {
    /// Starts the timer worker and the job executor.
    pub fn spawn(store: Store, config: WorkerConfig) -> Workers {
        let (stop, rx) = watch::channel(false);
        let heartbeat = Arc::new(AtomicI64::new(store.now().0));
        let poll = config.poll_interval;
        let clock = store.config().clock;
        let handles = vec![
            tokio::spawn(timer_loop(store.clone(), config.clone(), rx.clone(), heartbeat.clone())),
            tokio::spawn(job_loop(store, config, rx, heartbeat.clone())),
        ];
        Workers { stop, handles, heartbeat, poll, clock }
    }

    /// Whether the workers are running and have looked for work recently.
    pub fn alive(&self) -> bool {
        let quiet = self.clock.now().0 - self.heartbeat.load(Ordering::Relaxed);
        self.handles.iter().all(|h| !h.is_finished()) && quiet < Ord::max(self.poll.as_millis() as i64 * 20, 10_000)
    }

    /// Stops the workers after the work in hand.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let _ = h.await;
        }
    }
}

async fn idle(stop: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    tokio::select! {
        _ = stop.changed() => true,
        _ = tokio::time::sleep(wait) => *stop.borrow(),
    }
}

async fn timer_loop(store: Store, config: WorkerConfig, mut stop: watch::Receiver<bool>, heartbeat: Arc<AtomicI64>) {
    let mut rounds: u64 = 0;
    loop {
        heartbeat.store(store.now().0, Ordering::Relaxed);
        if rounds.is_multiple_of(50)
            && let Err(e) = record_queue_depths(&store).await
        {
            tracing::debug!(error = %e, "queue depths not sampled");
        }
        if rounds.is_multiple_of(600) {
            let horizon = store.now() - chrono::Duration::from_std(config.idempotency_retention).unwrap_or_default();
            match store.prune_idempotency_keys(horizon).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(pruned = n, "idempotency keys past retention removed"),
                Err(e) => tracing::warn!(error = %e, "pruning idempotency keys failed"),
            }
        }
        rounds += 1;
        let taken = match take_due_timers(&store, &config).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "taking due timers failed");
                Vec::new()
            }
        };
        let full = taken.len() as u64 >= config.batch;
        let mut fired = JoinSet::new();
        for case in taken {
            let (Some(timer), Some(due_at)) = (case.wake_timer, case.wake_at) else { continue };
            let store = store.clone();
            fired.spawn(async move {
                let lag = Ord::max(store.now().0 - due_at, 0) as f64 / 1000.0;
                let command = Command::FireTimer { timer: TimerKey(timer as u32) };
                match store.execute(&case.id, command, "engine", None).await {
                    Ok(_) => metrics::histogram!("docket_timer_lag_seconds").record(lag),
                    Err(e) if e.is_retryable() => {
                        tracing::warn!(case = %case.id, error = %e, "timer will be retried")
                    }
                    Err(e) => {
                        tracing::warn!(case = %case.id, timer, error = %e, "timer failed; set aside for an hour");
                        let _ = set_timer_aside(&store, &case.id, timer).await;
                    }
                }
            });
        }
        while fired.join_next().await.is_some() {}
        match take_due_start_timers(&store, &config).await {
            Ok(starts) => {
                for row in starts {
                    super::start_timers::fire(&store, row).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "taking due start timers failed"),
        }
        if !full && idle(&mut stop, config.poll_interval).await {
            return;
        }
        if full && *stop.borrow() {
            return;
        }
    }
}

/// Samples how many timers are due and how many jobs are ready, for `/metrics`
/// (`docket_queue_depth{queue="timers_due"|"jobs_ready"}`); every 50 rounds of the timer
/// worker, so that counting does not load the database.
async fn record_queue_depths(store: &Store) -> Result<(), StoreError> {
    let at = store.now().0;
    let timers_due = cases::Entity::find().filter(cases::Column::WakeAt.lte(at)).count(store.db()).await?;
    let jobs_ready = jobs::Entity::find().filter(jobs::Column::RunAt.lte(at)).count(store.db()).await?;
    metrics::gauge!("docket_queue_depth", "queue" => "timers_due").set(timers_due as f64);
    metrics::gauge!("docket_queue_depth", "queue" => "jobs_ready").set(jobs_ready as f64);
    Ok(())
}

/// Takes cases whose next timer is due and not leased, and leases it to this node.
async fn take_due_timers(store: &Store, config: &WorkerConfig) -> Result<Vec<cases::Model>, StoreError> {
    use cases::Column as C;
    let columns = LeaseColumns { id: C::Id, due: C::WakeAt, owner: C::WakeLeaseOwner, until: C::WakeLeaseUntil };
    take_leased::<cases::Entity>(store, config, columns, Condition::all()).await
}

/// How long a timer whose firing failed for a reason a retry would not mend (its case or
/// definition unreadable, the core refusing it) waits before it is tried again.
const FAILED_TIMER_PAUSE: i64 = 3_600_000;

/// Leases a case's next timer, which just failed to fire, for [`FAILED_TIMER_PAUSE`]: tried
/// again after it, or sooner when a command on the case moves its next timer.
async fn set_timer_aside(store: &Store, case_id: &str, timer: i32) -> Result<(), StoreError> {
    cases::Entity::update_many()
        .col_expr(cases::Column::WakeLeaseOwner, Expr::value("failed"))
        .col_expr(cases::Column::WakeLeaseUntil, Expr::value(store.now().0 + FAILED_TIMER_PAUSE))
        .filter(cases::Column::Id.eq(case_id))
        .filter(cases::Column::WakeTimer.eq(timer))
        .exec(store.db())
        .await?;
    Ok(())
}

/// Takes due, unleased timer start events and leases them to this node.
async fn take_due_start_timers(store: &Store, config: &WorkerConfig) -> Result<Vec<start_timers::Model>, StoreError> {
    use start_timers::Column as C;
    let columns = LeaseColumns { id: C::Id, due: C::DueAt, owner: C::LeaseOwner, until: C::LeaseUntil };
    take_leased::<start_timers::Entity>(store, config, columns, Condition::all()).await
}

/// The columns of a table whose rows workers take with a lease.
struct LeaseColumns<C> {
    id: C,
    due: C,
    owner: C,
    until: C,
}

/// Takes up to `config.batch` rows that are due and not leased (and match `filter`), oldest
/// first, and leases them to this node, in one transaction. On PostgreSQL rows another node
/// is taking are skipped (`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time.
async fn take_leased<E: EntityTrait>(
    store: &Store,
    config: &WorkerConfig,
    columns: LeaseColumns<E::Column>,
    filter: Condition,
) -> Result<Vec<E::Model>, StoreError> {
    let at = store.now().0;
    let txn = store.begin_write().await?;
    let mut query = E::find()
        .filter(filter)
        .filter(columns.due.lte(at))
        .filter(columns.until.is_null().or(columns.until.lt(at)))
        .order_by_asc(columns.due)
        .limit(config.batch);
    if store.db().get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = query.all(&txn).await?;
    if !rows.is_empty() {
        E::update_many()
            .col_expr(columns.owner, Expr::value(config.node_id.clone()))
            .col_expr(columns.until, Expr::value(at + config.lease.as_millis() as i64))
            .filter(columns.id.is_in(rows.iter().map(|r| r.get(columns.id))))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(rows)
}

async fn job_loop(store: Store, config: WorkerConfig, mut stop: watch::Receiver<bool>, heartbeat: Arc<AtomicI64>) {
    let types: Vec<String> = config.handlers.keys().cloned().collect();
    if types.is_empty() {
        let _ = stop.changed().await;
        return;
    }
    loop {
        heartbeat.store(store.now().0, Ordering::Relaxed);
        let taken = match take_ready_jobs(&store, &config, &types).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "taking jobs failed");
                Vec::new()
            }
        };
        let mut running = JoinSet::new();
        for job in taken {
            let Some(handler) = config.handlers.get(&job.job_type).cloned() else { continue };
            let store = store.clone();
            running.spawn(async move { run_job(store, handler, job).await });
        }
        while running.join_next().await.is_some() {}
        if idle(&mut stop, config.poll_interval).await {
            return;
        }
    }
}

async fn run_job(store: Store, handler: JobHandler, job: jobs::Model) {
    let input = JobInput {
        case_id: job.case_id.clone(),
        job_type: job.job_type.clone(),
        attempt: job.attempt as u32,
        variables: serde_json::from_str(&job.payload).unwrap_or_default(),
    };
    let key = JobKey(job.job_key as u32);
    let command = match handler(input).await {
        Ok(variables) => Command::JobSucceeded { job: key, variables },
        Err(failure) => Command::JobFailed { job: key, message: failure.message, error_code: failure.error_code },
    };
    match store.execute(&job.case_id, command, "engine", None).await {
        Ok(_) => {}
        Err(e) if e.is_retryable() => {
            tracing::warn!(case = %job.case_id, error = %e, "job result will be retried by lease expiry")
        }
        Err(e) => {
            // The case refused the result (e.g. a variable of the wrong type): keep the job
            // visible with its error instead of losing it.
            tracing::warn!(case = %job.case_id, error = %e, "job result refused");
            let _ = jobs::Entity::update_many()
                .col_expr(jobs::Column::LastError, Expr::value(e.to_string()))
                .filter(jobs::Column::Id.eq(job.id))
                .exec(store.db())
                .await;
        }
    }
}

async fn take_ready_jobs(
    store: &Store,
    config: &WorkerConfig,
    types: &[String],
) -> Result<Vec<jobs::Model>, StoreError> {
    use jobs::Column as C;
    let columns = LeaseColumns { id: C::Id, due: C::RunAt, owner: C::LeaseOwner, until: C::LeaseUntil };
    let filter = Condition::all().add(C::JobType.is_in(types.iter().cloned()));
    take_leased::<jobs::Entity>(store, config, columns, filter).await
}
