//! `docket serve`: the long-running server.
//!
//! # Start-up
//! 1. install the signal handlers, the logger and the Prometheus recorder;
//! 2. bind the listen address (failing fast when it is taken);
//! 3. connect to the database and apply the migrations;
//! 4. deploy the shipped workflows (a no-op for unchanged ones);
//! 5. spawn the timer and job workers and the inbox change feed;
//! 6. print `listening on http://ADDR` on stdout and serve HTTP.
//!
//! # Shutdown (SIGTERM or Ctrl-C)
//! 1. stop accepting connections and let in-flight requests finish (each is bounded by the
//!    request timeout);
//! 2. stop the workers, letting their current work finish;
//! 3. `store.shutdown()`: stop taking commands and finish the in-flight ones;
//! 4. exit 0. A second signal, or a shutdown longer than `shutdown_timeout`, exits 1.
//!
//! # Layout
//! [`config`] (flags, env, `docket.toml`), [`logging`], [`app`] (state, router,
//! middleware), [`health`], [`metrics`], [`graphql`] (the GraphQL endpoints), [`error`]
//! (error bodies), [`shutdown`] (signals).

pub mod app;
pub mod config;
pub mod error;
pub mod graphql;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod shutdown;

use anyhow::Context;
use std::time::Duration;

use docket_engine::store::{ChangeFeed, Clock, Store, StoreConfig, WorkerConfig, Workers};
use docket_engine::time::Timestamp;
use tokio::net::TcpListener;

use crate::auth::{Authenticator, KeyConfig};
use crate::workflows;
use app::{AppState, Limits};
use config::{Config, redact_database_url};
use shutdown::Signals;

/// How often the inbox change feed reads the audit log.
const FEED_POLL: Duration = Duration::from_millis(100);

/// Runs the server until a shutdown signal; see the module docs.
///
/// # Errors
/// When start-up fails (address taken, database unreachable, migration or deployment
/// refused) or the server cannot serve.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let signals = Signals::install().context("cannot install the signal handlers")?;
    let shutdown = shutdown::watch(signals, config.shutdown_timeout);
    let metrics = metrics::install().context("cannot install the metrics recorder")?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = %config.listen,
        database = %redact_database_url(&config.database_url),
        node_id = %config.node_id,
        config_file = %config.file.as_deref().map_or_else(|| "none".to_owned(), |p| p.display().to_string()),
        "starting docket serve"
    );

    let started = tokio::select! {
        started = start(&config) => started?,
        () = shutdown.clone().requested() => {
            tracing::info!("shutdown requested during start-up; exiting");
            return Ok(());
        }
    };
    let Started { listener, store, workers, feed } = started;
    warn_of_calendars_running_out(&store);

    let auth = Authenticator::new(&config.auth).map_err(anyhow::Error::msg).context("cannot set up authentication")?;
    if let KeyConfig::DevSecretFile(path) = &config.auth {
        tracing::warn!(
            file = %path.display(),
            "no JWT key configured: tokens are signed with the development secret in this file (mint one with `docket token`)"
        );
    }
    let schemas = crate::graphql::Schemas::new(store.clone(), Some(feed));
    let state = AppState::new(store.clone(), workers, metrics, schemas, auth);
    let limits = Limits { request_timeout: config.request_timeout, max_body_bytes: config.max_body_bytes };
    let router = app::router(state.clone(), limits);
    let addr = listener.local_addr().context("the listener has no local address")?;
    tracing::info!(%addr, "listening");
    println!("listening on http://{addr}");

    let served = axum::serve(listener, router).with_graceful_shutdown(shutdown.requested()).await;
    tracing::info!("HTTP server stopped; in-flight requests are done");

    if let Some(workers) = state.take_workers() {
        workers.stop().await;
        tracing::info!("workers stopped");
    }
    store.shutdown().await;
    tracing::info!("store stopped; shutdown complete");
    served.context("the HTTP server failed")
}

/// What start-up produces.
struct Started {
    listener: TcpListener,
    store: Store,
    workers: Workers,
    feed: ChangeFeed,
}

async fn start(config: &Config) -> anyhow::Result<Started> {
    let listener =
        TcpListener::bind(&config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;

    let store = connect(config).await?;
    store.migrate().await.context("cannot apply the database migrations")?;
    tracing::info!("migrations applied");

    match workflows::deploy_shipped(&store).await {
        Ok(deployed) => {
            for (flow, deployment) in deployed {
                tracing::info!(
                    file = %flow.file,
                    key = %deployment.key,
                    version = deployment.version,
                    created = deployment.created,
                    "shipped workflow deployed"
                );
            }
        }
        Err((flow, e)) => {
            return Err(anyhow::Error::new(e).context(format!("cannot deploy the shipped workflow {}", flow.file)));
        }
    }

    let mut worker_config = WorkerConfig::new(config.node_id.clone());
    if let Some(poll_interval) = config.poll_interval {
        worker_config.poll_interval = poll_interval;
    }
    let workers = Workers::spawn(store.clone(), worker_config);
    tracing::info!(node_id = %config.node_id, "workers started");
    let feed = ChangeFeed::spawn(store.clone(), FEED_POLL).await.context("cannot start the inbox change feed")?;
    Ok(Started { listener, store, workers, feed })
}

/// Connects to the configured database (without migrating).
///
/// # Errors
/// When the database cannot be reached or opened.
pub async fn connect(config: &Config) -> anyhow::Result<Store> {
    let mut store_config = StoreConfig::new(config.database_url.clone());
    store_config.node_id = config.node_id.clone();
    if let Some(max_batch) = config.max_batch {
        store_config.max_batch = max_batch;
    }
    if let Some(start) = config.clock_start {
        store_config.clock = Clock::starting_at(Timestamp(start.timestamp_millis()));
        tracing::warn!(clock_start = %start, "the engine clock is shifted (a testing option)");
    }
    Store::connect(store_config)
        .await
        .with_context(|| format!("cannot connect to {}", redact_database_url(&config.database_url)))
}

/// How many days before a calendar's last day `docket serve` starts warning about it.
const CALENDAR_WARNING_DAYS: i64 = 90;

/// Warns, at start, of each calendar that runs out within [`CALENDAR_WARNING_DAYS`]: a
/// working-day deadline that ends after its last day fails with `calendar-out-of-range`
/// until the next year's holiday notice is added to it.
fn warn_of_calendars_running_out(store: &Store) {
    let today = store.now().local_date();
    for calendar in store.calendars().iter() {
        let days_left = calendar.days_known_after(today);
        if days_left < CALENDAR_WARNING_DAYS {
            tracing::warn!(
                calendar = calendar.id(),
                last_day = %calendar.last_day(),
                days_left,
                "the working-day calendar runs out soon: deadlines ending after its last day fail with \
                 calendar-out-of-range until the next year's holiday notice (国务院办公厅关于部分节假日安排的通知) \
                 is added to workflows/calendars/{}.yaml",
                calendar.id()
            );
        }
    }
}
