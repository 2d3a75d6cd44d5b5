//! Errors of the durable engine, each with a stable code.

use crate::core::TransitionError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The core refused the command; the case is unchanged.
    #[error(transparent)]
    Refused(#[from] TransitionError),
    /// No case with this id.
    #[error("no case {0}")]
    CaseNotFound(String),
    /// No deployed flow with this key (and version).
    #[error("no deployed flow `{key}`{}", version.map(|v| format!(" version {v}")).unwrap_or_default())]
    FlowNotFound {
        /// The flow key.
        key: String,
        /// The version asked for.
        version: Option<u32>,
    },
    /// A definition did not validate; the problems say where.
    #[error("the definition has {} problem(s)", .0.len())]
    Invalid(Vec<crate::problem::Problem>),
    /// Another transaction changed the case first and retries were exhausted.
    #[error("the case was changed concurrently; try again")]
    Conflict,
    /// The command was sent again with an idempotency key used for another command.
    #[error("idempotency key `{0}` was used for a different command")]
    IdempotencyMismatch(String),
    /// The stored case could not be read (a newer or corrupt state document).
    #[error("stored case {case} is unreadable: {reason}")]
    Corrupt {
        /// The case.
        case: String,
        /// What is wrong.
        reason: String,
    },
    /// A case's audit chain does not verify: an entry was changed, removed or added.
    #[error(transparent)]
    AuditBroken(#[from] super::audit::ChainBreak),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The access policy refuses the principal this operation.
    #[error(transparent)]
    Forbidden(#[from] crate::access::Forbidden),
    /// Something asked for does not exist (a task, a definition version, a view).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is malformed (an empty purpose, a bad filter, a bad cursor).
    #[error("{0}")]
    BadRequest(String),
    /// A case cannot move to the asked version of its flow.
    #[error(transparent)]
    Migration(#[from] crate::core::MigrationError),
    /// Another transaction committed a command with this idempotency key while this one ran;
    /// the work is rolled back and the caller retries (and finds the first answer).
    #[error("idempotency key `{0}` was taken by a concurrent command")]
    KeyTaken(String),
    /// The store is shutting down.
    #[error("the store is shutting down")]
    ShuttingDown,
}

impl StoreError {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Refused(e) => e.code(),
            StoreError::CaseNotFound(_) | StoreError::FlowNotFound { .. } => "NOT_FOUND",
            StoreError::Invalid(_) => "VALIDATION",
            StoreError::Conflict | StoreError::KeyTaken(_) => "CONFLICT",
            StoreError::IdempotencyMismatch(_) => "IDEMPOTENCY_MISMATCH",
            StoreError::Corrupt { .. } => "CORRUPT",
            StoreError::AuditBroken(_) => "AUDIT_BROKEN",
            StoreError::Database(_) => "DATABASE",
            StoreError::Forbidden(_) => "FORBIDDEN",
            StoreError::NotFound(_) => "NOT_FOUND",
            StoreError::BadRequest(_) | StoreError::Migration(_) => "VALIDATION",
            StoreError::ShuttingDown => "UNAVAILABLE",
        }
    }

    /// Whether retrying the same command later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict | StoreError::KeyTaken(_) | StoreError::Database(_) | StoreError::ShuttingDown
        )
    }
}
