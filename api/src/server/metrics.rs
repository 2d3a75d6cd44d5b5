//! `/metrics`: the Prometheus text exposition of everything recorded through the `metrics`
//! facade.
//!
//! The engine records its own metrics (`docket_commands_total{command,result}`,
//! `docket_conflicts_total`, `docket_job_retries_total`, `docket_timer_lag_seconds`,
//! `docket_queue_depth{queue}`); the server installs the recorder, describes them, records
//! HTTP request metrics, and serves the text.

use std::time::Duration;

use axum::extract::State;
use axum::http::Method;
use axum::http::header;
use axum::response::IntoResponse;
use metrics::{SharedString, Unit};
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

/// Records one answered HTTP request. The labels of the usual requests are static texts, so
/// recording one allocates nothing.
pub fn record_request(method: &Method, route: &str, status: u16, elapsed: Duration) {
    let method = label_of_method(method);
    let route = label_of_route(route);
    metrics::counter!(
        "docket_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => label_of_status(status)
    )
    .increment(1);
    metrics::histogram!("docket_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
}

fn label_of_method(method: &Method) -> SharedString {
    let known = match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        other => return SharedString::from(other.to_owned()),
    };
    SharedString::const_str(known)
}

/// The server's routes (see `app::router`), and `unmatched`.
const ROUTES: &[&str] = &["/graphql", "/graphql/ws", "/healthz", "/metrics", "unmatched"];

fn label_of_route(route: &str) -> SharedString {
    match ROUTES.iter().find(|r| **r == route) {
        Some(r) => SharedString::const_str(r),
        None => SharedString::from(route.to_owned()),
    }
}

fn label_of_status(status: u16) -> SharedString {
    const USUAL: &[(u16, &str)] = &[
        (200, "200"),
        (400, "400"),
        (401, "401"),
        (404, "404"),
        (405, "405"),
        (413, "413"),
        (500, "500"),
        (503, "503"),
    ];
    match USUAL.iter().find(|(code, _)| *code == status) {
        Some((_, text)) => SharedString::const_str(text),
        None => SharedString::from(status.to_string()),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_request_s_own() {
        assert_eq!(&*label_of_method(&Method::POST), "POST");
        assert_eq!(&*label_of_method(&Method::from_bytes(b"PROPFIND").expect("a method")), "PROPFIND");
        assert_eq!(&*label_of_route("/graphql"), "/graphql");
        assert_eq!(&*label_of_route("/other"), "/other");
        assert_eq!(&*label_of_status(200), "200");
        assert_eq!(&*label_of_status(418), "418");
    }
}
