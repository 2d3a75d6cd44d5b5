//! GraphQL errors: every error carries a stable `extensions.code`.
//!
//! | code | when |
//! |---|---|
//! | `UNAUTHENTICATED` | no token, a bad signature, an expired token (HTTP 401) |
//! | `FORBIDDEN` | the access policy or the case refuses the principal (`extensions.reason` says which rule: `POLICY`, `NOT_CANDIDATE`, `NOT_ASSIGNEE`, `SEPARATION_OF_DUTIES`, `NOT_RESOLVER`) |
//! | `NOT_FOUND` | no such case, task, definition, incident or view |
//! | `ALREADY_CLAIMED` | someone else holds the task |
//! | `CONFLICT` | the case kept changing concurrently; retry |
//! | `VALIDATION` | bad input: variables, outcome, filter, cursor, page size, a definition's problems (`extensions.problems`) |
//! | `ESCALATED`, `NOT_ESCALATED`, `CHECKLIST_INCOMPLETE`, `MISSING_RECORDS`, `GUARD_VIOLATED`, `CASE_CLOSED`, `CASE_SUSPENDED`, `NOT_SUSPENDED`, `NO_SUBSCRIPTION`, `DEADLINE`, `CALENDAR`, `IDEMPOTENCY_MISMATCH` | the engine's refusals |
//! | `BAD_QUERY` | the query does not parse or validate against the schema, or is nested too deep or too complex |
//! | `PAYLOAD_TOO_LARGE` | the body is over the limit (HTTP 413) |
//! | `BAD_REQUEST` | the body is not a GraphQL request (HTTP 400) |
//! | `TIMEOUT` | the request took longer than the request timeout (HTTP 503); retry a mutation with the same `idempotencyKey` |
//! | `UNAVAILABLE` | the server is shutting down |
//! | `INTERNAL` | anything else; the message holds a reference to the server log, never SQL or a trace |

use async_graphql::{Error, ErrorExtensions};
use docket_engine::core::TransitionError;
use docket_engine::store::StoreError;

/// An error with a code and a message.
pub fn coded(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code))
}

/// A `VALIDATION` error.
pub fn invalid(message: impl Into<String>) -> Error {
    coded("VALIDATION", message)
}

/// The GraphQL error of a store error.
pub fn from_store(error: StoreError) -> Error {
    let forbidden_reason = match &error {
        StoreError::Forbidden(_) => Some("POLICY"),
        StoreError::Refused(TransitionError::NotCandidate { .. }) => Some("NOT_CANDIDATE"),
        StoreError::Refused(TransitionError::NotAssignee { .. }) => Some("NOT_ASSIGNEE"),
        StoreError::Refused(TransitionError::SeparationOfDuties { .. }) => Some("SEPARATION_OF_DUTIES"),
        StoreError::Refused(TransitionError::NotEscalationResolver { .. }) => Some("NOT_RESOLVER"),
        _ => None,
    };
    if let Some(reason) = forbidden_reason {
        return Error::new(error.to_string()).extend_with(|_, e| {
            e.set("code", "FORBIDDEN");
            e.set("reason", reason);
        });
    }
    match error {
        StoreError::Invalid(problems) => {
            let list: Vec<async_graphql::Value> = problems
                .iter()
                .map(|p| {
                    let mut map = async_graphql::indexmap::IndexMap::new();
                    map.insert(async_graphql::Name::new("code"), async_graphql::Value::from(p.code.as_str()));
                    map.insert(async_graphql::Name::new("message"), async_graphql::Value::from(p.message.clone()));
                    map.insert(async_graphql::Name::new("line"), async_graphql::Value::from(p.loc.line));
                    map.insert(async_graphql::Name::new("column"), async_graphql::Value::from(p.loc.col));
                    async_graphql::Value::Object(map)
                })
                .collect();
            Error::new(format!("the definition has {} problem(s)", problems.len())).extend_with(move |_, e| {
                e.set("code", "VALIDATION");
                e.set("problems", async_graphql::Value::List(list.clone()));
            })
        }
        StoreError::Database(_) | StoreError::Corrupt { .. } | StoreError::AuditBroken(_) => {
            let reference = uuid::Uuid::new_v4().simple().to_string();
            tracing::error!(error = %error, reference = %reference, "request failed");
            coded("INTERNAL", format!("internal error (reference {reference} in the server log)"))
        }
        other => {
            let code = other.code();
            let retryable = other.is_retryable();
            Error::new(other.to_string()).extend_with(|_, e| {
                e.set("code", code);
                if retryable {
                    e.set("retryable", true);
                }
            })
        }
    }
}

/// `Result` with the store error mapped.
pub trait OrGraphql<T> {
    /// Maps the error with [`from_store`].
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> OrGraphql<T> for Result<T, StoreError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(from_store)
    }
}
