//! Errors as the HTTP API shows them: `{"error":{"code":..,"message":..,"retryable":..}}`
//! with a status derived from the code.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use docket_engine::store::StoreError;
use serde_json::json;

/// The message shown for a database failure; the details go to the log only.
pub const DATABASE_MESSAGE: &str = "the database failed to execute the request; see the server log";

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code (`NOT_FOUND`, `ALREADY_CLAIMED`, ...).
    pub code: String,
    /// A message for people.
    pub message: String,
    /// Whether sending the same request again may succeed.
    pub retryable: bool,
}

impl ApiError {
    /// An error with this status, code and message, not retryable.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, code: code.to_owned(), message: message.into(), retryable: false }
    }

    /// Maps a store error: the code picks the status ([`status_for_code`]); a server-side
    /// failure is logged in full, and a database one is shown with a generic message (the
    /// driver's text may quote SQL).
    pub fn from_store(error: &StoreError) -> ApiError {
        let code = error.code();
        let status = status_for_code(code);
        if status.is_server_error() && code != "UNAVAILABLE" {
            tracing::error!(code, error = %error, "store error");
        }
        let message = if code == "DATABASE" { DATABASE_MESSAGE.to_owned() } else { error.to_string() };
        ApiError { status, code: code.to_owned(), message, retryable: error.is_retryable() }
    }
}

/// The HTTP status for a store error code: `NOT_FOUND` 404; `FORBIDDEN` and
/// `SEPARATION_OF_DUTIES` (the actor may not act on this task) 403; `CONFLICT` and
/// `ALREADY_CLAIMED` 409; `UNAVAILABLE` 503; `DATABASE`, `CORRUPT` and `AUDIT_BROKEN` (faults
/// of the server, not of the request) 500; every other code is a refusal of the command
/// (`VALIDATION`, `GUARD_VIOLATED`, `CASE_CLOSED`, `MISSING_RECORDS`, ...): 422.
pub fn status_for_code(code: &str) -> StatusCode {
    match code {
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "FORBIDDEN" | "SEPARATION_OF_DUTIES" => StatusCode::FORBIDDEN,
        "CONFLICT" | "ALREADY_CLAIMED" => StatusCode::CONFLICT,
        "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "DATABASE" | "CORRUPT" | "AUDIT_BROKEN" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::from_store(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "retryable": self.retryable } });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_statuses() {
        assert_eq!(status_for_code("NOT_FOUND"), StatusCode::NOT_FOUND);
        assert_eq!(status_for_code("CONFLICT"), StatusCode::CONFLICT);
        assert_eq!(status_for_code("ALREADY_CLAIMED"), StatusCode::CONFLICT);
        assert_eq!(status_for_code("VALIDATION"), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_for_code("GUARD_VIOLATED"), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_for_code("IDEMPOTENCY_MISMATCH"), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_for_code("FORBIDDEN"), StatusCode::FORBIDDEN);
        assert_eq!(status_for_code("SEPARATION_OF_DUTIES"), StatusCode::FORBIDDEN);
        assert_eq!(status_for_code("AUDIT_BROKEN"), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(status_for_code("CASE_CLOSED"), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_for_code("UNAVAILABLE"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status_for_code("DATABASE"), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn database_errors_hide_their_text() {
        let error = StoreError::Database(sea_orm::DbErr::Custom("SELECT secret FROM cases".into()));
        let api = ApiError::from_store(&error);
        assert_eq!(
            (api.status, api.code.as_str(), api.retryable),
            (StatusCode::INTERNAL_SERVER_ERROR, "DATABASE", true)
        );
        assert_eq!(api.message, DATABASE_MESSAGE);
        let missing = ApiError::from_store(&StoreError::CaseNotFound("c-1".into()));
        assert_eq!((missing.status, missing.message.as_str()), (StatusCode::NOT_FOUND, "no case c-1"));
    }

    #[tokio::test]
    async fn errors_render_as_json_with_retry_after_when_unavailable() {
        let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "shutting down");
        error.retryable = true;
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body, json!({"error": {"code": "UNAVAILABLE", "message": "shutting down", "retryable": true}}));
    }
}
