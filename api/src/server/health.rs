//! `GET /healthz`: `200 {"status":"ok","database":"ok","workers":"ok"}` when the database
//! answers a ping and the timer and job workers are running; otherwise `503` with
//! `"status":"unavailable"`, the failing part marked `"down"` (or `"stopped"` for workers
//! during shutdown), and the reasons in `"errors"`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::app::AppState;

/// How long the database may take to answer the ping.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The health answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// `ok` or `down`.
    pub database: &'static str,
    /// `ok`, `down` (a worker died) or `stopped` (shutting down).
    pub workers: &'static str,
    /// Why a part is not ok; absent when all are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// `GET /healthz`.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let mut errors = Vec::new();
    let database = match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            // The driver's text stays in the log: it may name hosts or quote SQL.
            tracing::warn!(error = %e, "health check: database ping failed");
            errors.push(format!("database: ping failed ({})", e.code()));
            "down"
        }
        Err(_) => {
            errors.push(format!("database: no answer within {} s", PING_TIMEOUT.as_secs()));
            "down"
        }
    };
    let workers = match state.workers_alive() {
        Some(true) => "ok",
        Some(false) => {
            errors.push("workers: a worker task has stopped".to_owned());
            "down"
        }
        None => {
            errors.push("workers: stopped for shutdown".to_owned());
            "stopped"
        }
    };
    let healthy = errors.is_empty();
    if !healthy {
        tracing::warn!(?errors, "health check failed");
    }
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Health { status: if healthy { "ok" } else { "unavailable" }, database, workers, errors }))
}
