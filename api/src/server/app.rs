//! The HTTP application: shared state, routes and middleware.
//!
//! | route | handler |
//! |---|---|
//! | `GET /healthz` | [`health::healthz`] |
//! | `GET /metrics` | [`metrics::metrics`] |
//! | `GET /graphql` | [`graphql::graphiql`] (GraphiQL) |
//! | `POST /graphql` | [`graphql::execute`] |
//! | `GET /graphql/ws` | [`graphql::subscriptions`] (graphql-ws) |
//!
//! Every request is logged (at `debug` for `/healthz` and `/metrics`, `info` otherwise),
//! counted in `docket_http_requests_total`, bounded by the request timeout (answered
//! `503 TIMEOUT`), and its body by the body limit (answered `413 PAYLOAD_TOO_LARGE`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use docket_engine::store::{Store, Workers};
use metrics_exporter_prometheus::PrometheusHandle;

use super::error::ApiError;
use super::{graphql, health, metrics};
use crate::auth::Authenticator;
use crate::graphql::Schemas;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The timer and job workers; `None` once they were stopped for shutdown.
    pub workers: Arc<Mutex<Option<Workers>>>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// The GraphQL schema, validating in full and for validated documents.
    pub schemas: Schemas,
    /// Verifies bearer tokens (shared: the state is cloned for every request's handlers).
    pub auth: Arc<Authenticator>,
    /// Parsed GraphQL documents of recent requests.
    pub documents: Arc<graphql::Documents>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(
        store: Store,
        workers: Workers,
        metrics: PrometheusHandle,
        schemas: Schemas,
        auth: Authenticator,
    ) -> AppState {
        AppState {
            store,
            workers: Arc::new(Mutex::new(Some(workers))),
            metrics,
            schemas,
            auth: Arc::new(auth),
            documents: Arc::default(),
        }
    }

    /// Whether the workers run: `None` once they were taken for shutdown.
    pub fn workers_alive(&self) -> Option<bool> {
        self.workers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref().map(Workers::alive)
    }

    /// Takes the workers out, to stop them; later health checks report them `stopped`.
    pub fn take_workers(&self) -> Option<Workers> {
        self.workers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }
}

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest time a request may take.
    pub request_timeout: Duration,
    /// Largest body in bytes.
    pub max_body_bytes: usize,
}

/// The router with every route and middleware.
pub fn router(state: AppState, limits: Limits) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/graphql", get(graphql::graphiql).post(graphql::execute))
        .route("/graphql/ws", get(graphql::subscriptions))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(limits.request_timeout, timeout))
        .layer(middleware::from_fn(observe))
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Answers `503 TIMEOUT` when the request takes longer than the limit (as a GraphQL error on
/// `/graphql`). A command that was already handed to the store may still commit: clients
/// retry with the same `idempotencyKey` to learn its result without applying it twice.
async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let graphql = request.uri().path().starts_with("/graphql");
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) if graphql => {
            let message = format!(
                "the request did not finish within {} s; a mutation may still have been applied, so send it again \
                 with the same idempotencyKey",
                limit.as_secs_f64()
            );
            let mut response = graphql::refuse(StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT", &message);
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
            response
        }
        Err(_) => {
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TIMEOUT",
                format!(
                    "the request did not finish within {} s; a command may still have been applied, so retry \
                     it with the same Idempotency-Key",
                    limit.as_secs_f64()
                ),
            );
            error.retryable = true;
            error.into_response()
        }
    }
}

/// Logs and counts every request by its route pattern (not its path, to keep the metric's
/// label set small).
async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let path = uri.path();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics::record_request(&method, route, status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if route == "/healthz" || route == "/metrics" {
        tracing::debug!(%method, %path, status, latency_ms, "request");
    } else if response.status().is_server_error() {
        tracing::warn!(%method, %path, status, latency_ms, "request");
    } else {
        tracing::info!(%method, %path, status, latency_ms, "request");
    }
    response
}
