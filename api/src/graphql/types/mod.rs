//! The GraphQL output types.

mod case;
mod definition;
mod task;

pub use case::{Case, CaseStatusValue, CaseSummary};
pub use definition::{CalendarInfo, Definition, DefinitionVersion, Problem};
pub use task::Task;

use async_graphql::{Context, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use docket_engine::access::Principal;
use docket_engine::store::Store;
use docket_engine::store::entity::{audit_log, evidence_records, incidents, record_access_log};

use super::error::coded;

/// The store of the request.
pub(crate) fn store<'c>(ctx: &'c Context<'_>) -> Result<&'c Store> {
    ctx.data::<Store>().map_err(|_| coded("INTERNAL", "the schema was built without a store"))
}

/// The principal of the request.
pub(crate) fn principal<'c>(ctx: &'c Context<'_>) -> Result<&'c Principal> {
    ctx.data::<Principal>().map_err(|_| coded("UNAUTHENTICATED", "no bearer token"))
}

/// Milliseconds since the epoch as a date-time.
pub(crate) fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Where a list continues.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct PageInfo {
    /// Whether more items follow.
    pub has_next_page: bool,
    /// Always false: pages go forward only.
    pub has_previous_page: bool,
    /// The first item's cursor.
    pub start_cursor: Option<String>,
    /// The last item's cursor; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// A record of the process attached to a task (text, audio/video, photo ...).
pub struct Record(pub evidence_records::Model);

#[async_graphql::Object]
impl Record {
    /// Its kind.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Hex SHA-256 of the content.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// Size in bytes.
    async fn size(&self) -> i64 {
        self.0.size
    }
    /// Where the content is stored.
    async fn uri(&self) -> &str {
        &self.0.uri
    }
    /// The task it belongs to (its number within the case).
    async fn task_key(&self) -> i32 {
        self.0.task_key
    }
    /// Who attached it.
    async fn attached_by(&self) -> &str {
        &self.0.attached_by
    }
    /// When.
    async fn attached_at(&self) -> DateTime<Utc> {
        instant(self.0.attached_at)
    }
}

/// One entry of a case's audit trail (hash-chained).
pub struct AuditEntry(pub audit_log::Model);

#[async_graphql::Object]
impl AuditEntry {
    /// Position in the case's chain, from 1.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        instant(self.0.at)
    }
    /// Who (`engine` for timers and jobs).
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// What happened (`start`, `claim`, `complete`, `fire_timer`, `migrate` ...).
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The command and its effects.
    async fn detail(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(serde_json::from_str(&self.0.detail).unwrap_or(serde_json::Value::Null))
    }
    /// This entry's hash (SHA-256 over the previous hash and the entry).
    async fn hash(&self) -> &str {
        &self.0.hash
    }
}

/// Something that stopped a case (a failing job, a bad expression).
pub struct Incident(pub incidents::Model);

#[async_graphql::Object]
impl Incident {
    /// Its id, for `retryIncident`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The case.
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    /// The node.
    async fn node(&self) -> &str {
        &self.0.node_id
    }
    /// Machine-readable cause.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// What went wrong.
    async fn message(&self) -> &str {
        &self.0.message
    }
    /// When it arose.
    async fn created_at(&self) -> DateTime<Utc> {
        instant(self.0.created_at)
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at.map(instant)
    }
}

/// One read of a case file.
pub struct AccessLogEntry(pub record_access_log::Model);

#[async_graphql::Object]
impl AccessLogEntry {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The case read.
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    /// Who read it.
    async fn user(&self) -> &str {
        &self.0.user_id
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        instant(self.0.at)
    }
    /// What was read.
    async fn what(&self) -> &str {
        &self.0.what
    }
    /// The purpose the reader stated.
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
}

/// The signed-in principal.
#[derive(SimpleObject, Debug, Clone)]
pub struct Me {
    /// User (or service) id.
    pub user: String,
    /// Display name.
    pub name: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Scopes (service tokens).
    pub scopes: Vec<String>,
}

impl From<&Principal> for Me {
    fn from(p: &Principal) -> Me {
        Me {
            user: p.user.clone(),
            name: p.name.clone(),
            roles: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            groups: p.groups.clone(),
            scopes: p.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        }
    }
}

/// The answer to a command.
pub struct CommandResult {
    /// The case and its version after the command.
    pub executed: docket_engine::store::Executed,
    /// The task the command was about, if any.
    pub task_id: Option<i64>,
}

#[async_graphql::Object]
impl CommandResult {
    /// The case.
    async fn case_id(&self) -> ID {
        ID(self.executed.case_id.clone())
    }
    /// The case's version after the command.
    async fn version(&self) -> i64 {
        self.executed.version
    }
    /// The case's status after the command.
    async fn status(&self) -> CaseStatusValue {
        self.executed.status.into()
    }
    /// The id of the task the command was about.
    async fn task_id(&self) -> Option<ID> {
        self.task_id.map(|id| ID(id.to_string()))
    }
    /// The task the command was about, as it is now.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(id) = self.task_id else { return Ok(None) };
        let row = store(ctx)?.task_row(id).await.map_err(super::error::from_store)?;
        Ok(row.map(Task))
    }
}
