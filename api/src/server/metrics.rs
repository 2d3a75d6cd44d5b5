//! `/metrics`: the Prometheus text exposition of everything recorded through the `metrics`
//! facade.
//!
//! The engine records its own metrics (`docket_commands_total{command,result}`,
//! `docket_conflicts_total`, `docket_job_retries_total`, `docket_timer_lag_seconds`,
//! `docket_queue_depth{queue}`); the server installs the recorder, describes them, records
//! HTTP request metrics, and serves the text.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics::Unit;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use super::app::AppState;

/// Histogram buckets for every `*_seconds` metric, from 1 ms to 1 min.
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// How often histogram data is drained into the exposition.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the global Prometheus recorder, describes Docket's metrics and starts the
/// upkeep task. Call once per process, inside the Tokio runtime.
///
/// # Errors
/// When a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .install_recorder()?;
    describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

fn describe() {
    metrics::describe_counter!(
        "docket_commands_total",
        Unit::Count,
        "Commands the store executed, by command and result"
    );
    metrics::describe_counter!(
        "docket_conflicts_total",
        Unit::Count,
        "Optimistic-concurrency conflicts on a case version"
    );
    metrics::describe_counter!("docket_job_retries_total", Unit::Count, "Service-task jobs scheduled for a retry");
    metrics::describe_histogram!(
        "docket_timer_lag_seconds",
        Unit::Seconds,
        "How late timers fired after their due instant"
    );
    metrics::describe_gauge!(
        "docket_queue_depth",
        Unit::Count,
        "Cases whose next timer is due, and ready jobs, waiting to be taken"
    );
    metrics::describe_histogram!(
        "docket_commit_batch_size",
        Unit::Count,
        "Commands committed together in one transaction (group commit)"
    );
    metrics::describe_counter!(
        "docket_http_requests_total",
        Unit::Count,
        "HTTP requests answered, by method, route and status"
    );
    metrics::describe_histogram!(
        "docket_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency, by method and route"
    );
    metrics::describe_gauge!("docket_build_info", "Always 1; the version label names the running build");

    // Counters without labels are shown from the start, at zero.
    metrics::counter!("docket_conflicts_total").increment(0);
    metrics::counter!("docket_job_retries_total").increment(0);
    metrics::gauge!("docket_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// Records one answered HTTP request.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let (method, route) = (method.to_owned(), route.to_owned());
    metrics::counter!(
        "docket_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("docket_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}
