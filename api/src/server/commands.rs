//! The interim JSON command API (internal, until the GraphQL API lands):
//!
//! - `POST /v1/cases` with `{flow, version?, business_key?, variables?, actor}` starts a case;
//!   `201` with the store's `Executed` (`{case_id, version, status}`).
//! - `POST /v1/cases/{id}/commands` with `{actor, command}`, `command` being a
//!   [`Command`] in its serde JSON form (`{"Claim":{"task":1,"actor":{..}}}`); `200` with
//!   `Executed`.
//!
//! Both take an optional `Idempotency-Key` header: a retried request with the same key
//! returns the first result instead of acting twice. Errors are [`ApiError`]s.

use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use docket_engine::core::{Command, Variables};
use docket_engine::store::{Executed, StartCase};
use serde::Deserialize;

use super::app::AppState;
use super::error::ApiError;

/// The header carrying an idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A JSON body whose rejections are [`ApiError`]s.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::from_json_rejection(&rejection)),
        }
    }
}

/// The body of `POST /v1/cases`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartCaseRequest {
    /// The flow key.
    pub flow: String,
    /// A deployed version; the newest when absent.
    #[serde(default)]
    pub version: Option<u32>,
    /// The caller's reference for the case (a file number).
    #[serde(default)]
    pub business_key: Option<String>,
    /// Initial variables.
    #[serde(default)]
    pub variables: Variables,
    /// Who starts it (recorded in the audit log).
    pub actor: String,
}

/// The body of `POST /v1/cases/{id}/commands`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    /// Who sends the command (recorded in the audit log).
    pub actor: String,
    /// The command.
    pub command: Command,
}

/// `POST /v1/cases`.
pub async fn start_case(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<StartCaseRequest>,
) -> Result<(StatusCode, Json<Executed>), ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    non_empty("actor", &body.actor)?;
    non_empty("flow", &body.flow)?;
    let start = StartCase {
        flow: body.flow,
        version: body.version,
        business_key: body.business_key,
        variables: body.variables,
        actor: body.actor,
        idempotency_key,
    };
    let executed = state.store.start_case(start).await?;
    tracing::debug!(case_id = %executed.case_id, "case started");
    Ok((StatusCode::CREATED, Json(executed)))
}

/// `POST /v1/cases/{id}/commands`.
pub async fn execute(
    State(state): State<AppState>,
    Path(case_id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CommandRequest>,
) -> Result<Json<Executed>, ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    non_empty("actor", &body.actor)?;
    accepted_from_clients(&body.command)?;
    let name = body.command.name();
    let executed = state.store.execute(&case_id, body.command, &body.actor, idempotency_key).await?;
    tracing::debug!(case_id = %executed.case_id, command = name, version = executed.version, "command executed");
    Ok(Json(executed))
}

/// Refuses commands a client may not send: starting goes through `POST /v1/cases`, and
/// timers and sub-case results are the engine's own events (firing a deadline timer from
/// outside would cut a legal period short).
pub fn accepted_from_clients(command: &Command) -> Result<(), ApiError> {
    let reason = match command {
        Command::Start { .. } | Command::StartAt { .. } => "start a case with POST /v1/cases",
        Command::FireTimer { .. }
        | Command::CallCompleted { .. }
        | Command::CallFailed { .. }
        | Command::CallEscalated { .. } => "it is an event of the engine's own workers",
        _ => return Ok(()),
    };
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNSUPPORTED_COMMAND",
        format!("{} cannot be sent through this API: {reason}", command.name()),
    ))
}

fn non_empty(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() { Err(ApiError::validation(format!("{field} must not be empty"))) } else { Ok(()) }
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters, or absent.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()));
    match key {
        Some(key) => Ok(Some(key.to_owned())),
        None => Err(ApiError::validation(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use docket_engine::core::{Actor, TaskKey, TimerKey};

    use super::*;

    #[test]
    fn command_bodies_use_the_core_serde_form() {
        let body: CommandRequest = serde_json::from_str(
            r#"{"actor":"h1","command":{"Claim":{"task":1,"actor":{"user":"h1","groups":["handler"]}}}}"#,
        )
        .unwrap();
        assert_eq!(body.actor, "h1");
        assert_eq!(body.command, Command::Claim { task: TaskKey(1), actor: Actor::new("h1", &["handler"]) });
        let suspend: CommandRequest = serde_json::from_str(r#"{"actor":"chief","command":"Suspend"}"#).unwrap();
        assert_eq!(suspend.command, Command::Suspend);
    }

    #[test]
    fn start_bodies_default_the_optional_fields() {
        let body: StartCaseRequest = serde_json::from_str(r#"{"flow":"penalty-general","actor":"h1"}"#).unwrap();
        assert_eq!((body.version, body.business_key, body.variables.len()), (None, None, 0));
        assert!(serde_json::from_str::<StartCaseRequest>(r#"{"flow":"f","actor":"a","extra":1}"#).is_err());
    }

    #[test]
    fn engine_events_are_refused() {
        assert!(accepted_from_clients(&Command::Suspend).is_ok());
        let refused = accepted_from_clients(&Command::FireTimer { timer: TimerKey(3) }).unwrap_err();
        assert_eq!((refused.status, refused.code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "UNSUPPORTED_COMMAND"));
        assert!(accepted_from_clients(&Command::Start { variables: Variables::new() }).is_err());
    }

    #[test]
    fn idempotency_keys_are_checked() {
        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers).unwrap(), None);
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("req-42"));
        assert_eq!(idempotency_key(&headers).unwrap().as_deref(), Some("req-42"));
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("two words"));
        assert_eq!(idempotency_key(&headers).unwrap_err().code, "VALIDATION");
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_str(&"k".repeat(256)).unwrap());
        assert!(idempotency_key(&headers).is_err());
    }
}
