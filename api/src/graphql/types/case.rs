//! `Case` (a case file: read with a stated purpose, logged) and `CaseSummary` (a list row).

use async_graphql::{Context, Enum, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use docket_engine::core::CaseState;
use docket_engine::store::Page;
use docket_engine::store::entity::cases;

use super::{AuditEntry, PageInfo, Record, Task, instant, store};
use crate::graphql::cursor;
use crate::graphql::error::OrGraphql;

/// Where a case stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "CaseStatus", remote = "docket_engine::core::CaseStatus")]
pub enum CaseStatusValue {
    /// Not started.
    New,
    /// Running.
    Active,
    /// Suspended: timers stopped, no task can be worked on.
    Suspended,
    /// Ended at an end event.
    Completed,
    /// Ended at a terminate end event.
    Terminated,
    /// Cancelled.
    Cancelled,
    /// Ended with an unhandled error.
    Failed,
}

impl CaseStatusValue {
    /// The word stored in `cases.status`.
    pub fn word(self) -> &'static str {
        match self {
            CaseStatusValue::New => "new",
            CaseStatusValue::Active => "active",
            CaseStatusValue::Suspended => "suspended",
            CaseStatusValue::Completed => "completed",
            CaseStatusValue::Terminated => "terminated",
            CaseStatusValue::Cancelled => "cancelled",
            CaseStatusValue::Failed => "failed",
        }
    }

    fn from_word(word: &str) -> CaseStatusValue {
        match word {
            "new" => CaseStatusValue::New,
            "suspended" => CaseStatusValue::Suspended,
            "completed" => CaseStatusValue::Completed,
            "terminated" => CaseStatusValue::Terminated,
            "cancelled" => CaseStatusValue::Cancelled,
            "failed" => CaseStatusValue::Failed,
            _ => CaseStatusValue::Active,
        }
    }
}

/// A case in a list: no case file, so listing is not a read of the file.
pub struct CaseSummary(pub cases::Model);

#[Object]
impl CaseSummary {
    /// The case id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The flow's key.
    async fn flow(&self) -> &str {
        &self.0.flow_key
    }
    /// The flow version it runs on.
    async fn flow_version(&self) -> i32 {
        self.0.flow_version
    }
    /// Business key (case number).
    async fn business_key(&self) -> Option<&str> {
        self.0.business_key.as_deref()
    }
    /// Where it stands.
    async fn status(&self) -> CaseStatusValue {
        CaseStatusValue::from_word(&self.0.status)
    }
    /// When it started.
    async fn created_at(&self) -> DateTime<Utc> {
        instant(self.0.created_at)
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        instant(self.0.updated_at)
    }
}

/// What a deadline belongs to.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeadlineKind {
    /// A task's due date.
    Task,
    /// A decision's publication deadline (行政执法公示).
    Publication,
    /// An armed timer (catch event, boundary timer, escalation ladder step, job retry).
    Timer,
}

/// An open deadline of a case.
#[derive(SimpleObject, Debug, Clone)]
pub struct Deadline {
    /// What it belongs to.
    pub kind: DeadlineKind,
    /// The node (for tasks and publications), or the timer's purpose.
    pub what: String,
    /// When it falls due.
    pub due: DateTime<Utc>,
    /// Whether it has passed.
    pub overdue: bool,
}

/// A publication of a decision.
#[derive(SimpleObject, Debug, Clone)]
pub struct Publication {
    /// The node.
    pub node: String,
    /// Category (penalty, license, ...).
    pub category: String,
    /// The legal deadline.
    pub due: DateTime<Utc>,
    /// When it was published, if it was.
    pub published_at: Option<DateTime<Utc>>,
}

/// A page of audit entries.
#[derive(SimpleObject)]
pub struct AuditEntryConnection {
    /// The entries with their cursors.
    pub edges: Vec<AuditEntryEdge>,
    /// Where the list continues.
    pub page_info: PageInfo,
}

/// An audit entry and its cursor.
#[derive(SimpleObject)]
pub struct AuditEntryEdge {
    /// Pass as `after` to continue after this entry.
    pub cursor: String,
    /// The entry.
    pub node: AuditEntry,
}

/// A case file, read with a stated purpose (the read is in the record-access log).
pub struct Case {
    /// The row.
    pub row: cases::Model,
    /// The state.
    pub state: CaseState,
}

#[Object]
impl Case {
    /// The case id.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }
    /// The flow's key.
    async fn flow(&self) -> &str {
        &self.row.flow_key
    }
    /// The flow version it runs on.
    async fn flow_version(&self) -> i32 {
        self.row.flow_version
    }
    /// Business key (case number).
    async fn business_key(&self) -> Option<&str> {
        self.row.business_key.as_deref()
    }
    /// Where it stands.
    async fn status(&self) -> CaseStatusValue {
        self.state.status.into()
    }
    /// The case's version (bumped by every command).
    async fn version(&self) -> i64 {
        self.row.version
    }
    /// When it started.
    async fn created_at(&self) -> DateTime<Utc> {
        instant(self.row.created_at)
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        instant(self.row.updated_at)
    }
    /// When it closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.row.closed_at.map(instant)
    }
    /// The calling case, for a sub-case.
    async fn parent_case_id(&self) -> Option<ID> {
        self.row.parent_case_id.clone().map(ID)
    }
    /// The nodes the case is at now.
    async fn position(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let loaded = store(ctx)?.case_definition(&self.row).await.gql()?;
        let mut nodes: Vec<String> =
            self.state.tokens.iter().map(|t| loaded.definition.node(t.node).id.clone()).collect();
        nodes.sort();
        nodes.dedup();
        Ok(nodes)
    }
    /// The case's variables.
    async fn variables(&self) -> Json<serde_json::Value> {
        Json(serde_json::to_value(&self.state.variables).unwrap_or_default())
    }
    /// Outcomes of completed decisions, by node.
    async fn outcomes(&self) -> Json<serde_json::Value> {
        Json(serde_json::to_value(&self.state.outcomes).unwrap_or_default())
    }
    /// Its tasks (open ones only unless `openOnly: false`).
    async fn tasks(&self, ctx: &Context<'_>, #[graphql(default = true)] open_only: bool) -> Result<Vec<Task>> {
        Ok(store(ctx)?.case_tasks(&self.row.id, open_only).await.gql()?.into_iter().map(Task).collect())
    }
    /// Open deadlines, first due first: tasks, publications, armed timers.
    async fn deadlines(&self, ctx: &Context<'_>) -> Result<Vec<Deadline>> {
        let store = store(ctx)?;
        let now = store.now().0;
        let mut out = Vec::new();
        for t in store.case_tasks(&self.row.id, true).await.gql()? {
            if let Some(due) = t.due_at {
                out.push((due, DeadlineKind::Task, t.node_id));
            }
        }
        for p in store.case_publications(&self.row.id).await.gql()? {
            if p.published_at.is_none() {
                out.push((p.due_at, DeadlineKind::Publication, p.node_id));
            }
        }
        for t in self.state.armed_timers() {
            let purpose = serde_json::to_value(&t.purpose).unwrap_or_default();
            let what = purpose.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_else(|| "timer".into());
            out.push((t.due.0, DeadlineKind::Timer, what.to_lowercase()));
        }
        out.sort_by_key(|(due, ..)| *due);
        Ok(out
            .into_iter()
            .map(|(due, kind, what)| Deadline { kind, what, due: instant(due), overdue: due < now })
            .collect())
    }
    /// Publications of its decisions.
    async fn publications(&self, ctx: &Context<'_>) -> Result<Vec<Publication>> {
        Ok(store(ctx)?
            .case_publications(&self.row.id)
            .await
            .gql()?
            .into_iter()
            .map(|p| Publication {
                node: p.node_id,
                category: p.category,
                due: instant(p.due_at),
                published_at: p.published_at.map(instant),
            })
            .collect())
    }
    /// Records attached to its tasks.
    async fn records(&self, ctx: &Context<'_>) -> Result<Vec<Record>> {
        Ok(store(ctx)?.case_records(&self.row.id).await.gql()?.into_iter().map(Record).collect())
    }
    /// The timeline: the case's audit trail, oldest first.
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<AuditEntryConnection> {
        let limit = cursor::page_size(first)?;
        let after = after.map(|c| cursor::decode_number(&c)).transpose()?;
        let mut rows = store(ctx)?.timeline(&self.row.id, Page { after, limit: limit + 1 }).await.gql()?;
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let edges: Vec<AuditEntryEdge> = rows
            .into_iter()
            .map(|e| AuditEntryEdge { cursor: cursor::encode_number(e.seq), node: AuditEntry(e) })
            .collect();
        let page_info = PageInfo {
            has_next_page: has_next,
            has_previous_page: false,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Ok(AuditEntryConnection { edges, page_info })
    }
    /// Whether the case's audit chain verifies (no entry changed, removed or added).
    async fn audit_verified(&self, ctx: &Context<'_>) -> Result<bool> {
        match store(ctx)?.verify_audit(&self.row.id).await {
            Ok(()) => Ok(true),
            Err(docket_engine::store::StoreError::AuditBroken(_)) => Ok(false),
            Err(e) => Err(crate::graphql::error::from_store(e)),
        }
    }
}
