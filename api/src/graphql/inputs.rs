//! Input objects and enums of queries and mutations.

use async_graphql::{Enum, ID, InputObject, Json, Result, SimpleObject};
use chrono::{DateTime, Utc};
use docket_engine::core::{Completion, RecordRef, Variables};
use docket_engine::store::{InboxFilter, InboxSort, SortKey, TaskStateFilter};

use super::error::invalid;

/// Which inbox.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum InboxKind {
    /// Tasks offered to my groups and roles (or to the `groups` given), and to me by name.
    #[default]
    Groups,
    /// Tasks assigned to me.
    Mine,
}

/// Open task states to filter on.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TaskStateInput {
    /// Nobody holds it.
    Unclaimed,
    /// Someone holds it.
    Claimed,
    /// It waits for a ruling on an escalated disagreement.
    Escalated,
}

/// Filters of an inbox; every one given must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct TaskFilterInput {
    /// Where the task stands.
    pub state: Option<TaskStateInput>,
    /// The flow's key.
    pub flow: Option<String>,
    /// One candidate group (of the inbox's groups).
    pub candidate_group: Option<String>,
    /// The case's business key.
    pub business_key: Option<String>,
    /// Due before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks past their due date.
    pub overdue: Option<bool>,
}

impl TaskFilterInput {
    /// The store's filter.
    pub fn to_filter(&self) -> InboxFilter {
        InboxFilter {
            state: self.state.map(|s| match s {
                TaskStateInput::Unclaimed => TaskStateFilter::Unclaimed,
                TaskStateInput::Claimed => TaskStateFilter::Claimed,
                TaskStateInput::Escalated => TaskStateFilter::Escalated,
            }),
            flow: self.flow.clone(),
            candidate_group: self.candidate_group.clone(),
            business_key: self.business_key.clone(),
            due_before: self.due_before.map(|d| d.timestamp_millis()),
            overdue: self.overdue.unwrap_or(false),
        }
    }

    /// Lays this filter's fields over a saved view's filter.
    pub fn over(&self, base: InboxFilter) -> InboxFilter {
        let mine = self.to_filter();
        InboxFilter {
            state: mine.state.or(base.state),
            flow: mine.flow.or(base.flow),
            candidate_group: mine.candidate_group.or(base.candidate_group),
            business_key: mine.business_key.or(base.business_key),
            due_before: mine.due_before.or(base.due_before),
            overdue: self.overdue.unwrap_or(base.overdue),
        }
    }
}

/// A saved view's filter, as stored.
#[derive(SimpleObject, Debug, Clone)]
pub struct TaskFilter {
    /// Where the task stands.
    pub state: Option<TaskStateInput>,
    /// The flow's key.
    pub flow: Option<String>,
    /// One candidate group.
    pub candidate_group: Option<String>,
    /// The case's business key.
    pub business_key: Option<String>,
    /// Due before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks past their due date (absent: any).
    pub overdue: Option<bool>,
}

impl From<InboxFilter> for TaskFilter {
    fn from(f: InboxFilter) -> TaskFilter {
        TaskFilter {
            state: f.state.map(|s| match s {
                TaskStateFilter::Unclaimed => TaskStateInput::Unclaimed,
                TaskStateFilter::Claimed => TaskStateInput::Claimed,
                TaskStateFilter::Escalated => TaskStateInput::Escalated,
            }),
            flow: f.flow,
            candidate_group: f.candidate_group,
            business_key: f.business_key,
            due_before: f.due_before.map(super::types::instant),
            overdue: f.overdue.then_some(true),
        }
    }
}

/// What an inbox is sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum TaskSortField {
    /// Due date; tasks without one last.
    #[default]
    DueDate,
    /// Priority.
    Priority,
    /// When the task entered inboxes.
    Created,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum SortDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// How an inbox is sorted.
#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct TaskSortInput {
    /// The key.
    #[graphql(default)]
    pub field: TaskSortField,
    /// The direction.
    #[graphql(default)]
    pub direction: SortDirection,
}

impl TaskSortInput {
    /// The store's sort.
    pub fn to_sort(self) -> InboxSort {
        InboxSort {
            key: match self.field {
                TaskSortField::DueDate => SortKey::Due,
                TaskSortField::Priority => SortKey::Priority,
                TaskSortField::Created => SortKey::Created,
            },
            descending: self.direction == SortDirection::Desc,
        }
    }
}

/// Filters of a case list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CaseFilterInput {
    /// Status.
    pub status: Option<super::types::CaseStatusValue>,
    /// Flow key.
    pub flow: Option<String>,
    /// Business key.
    pub business_key: Option<String>,
}

/// Variables as a JSON object.
pub fn variables(json: Option<Json<serde_json::Value>>) -> Result<Variables> {
    match json.map(|j| j.0) {
        None | Some(serde_json::Value::Null) => Ok(Variables::new()),
        Some(serde_json::Value::Object(map)) => Ok(map.into_iter().collect()),
        Some(other) => Err(invalid(format!("`variables` must be a JSON object, got {other}"))),
    }
}

/// A task id as the store's row id.
///
/// # Errors
/// `VALIDATION` for an id that is not a number.
pub fn task_id(id: &ID) -> Result<i64> {
    id.parse::<i64>().map_err(|_| invalid(format!("`{}` is not a task id", id.as_str())))
}

/// Starting a case.
#[derive(InputObject, Debug)]
pub struct StartCaseInput {
    /// The flow's key.
    pub flow: String,
    /// A version, or the latest.
    pub version: Option<i32>,
    /// The business key (case number).
    pub business_key: Option<String>,
    /// Initial variables.
    pub variables: Option<Json<serde_json::Value>>,
    /// A retried start with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Starting a case by a message (a message start event).
#[derive(InputObject, Debug)]
pub struct StartCaseByMessageInput {
    /// The message name.
    pub message: String,
    /// The flow, when the message starts several.
    pub flow: Option<String>,
    /// The business key (case number).
    pub business_key: Option<String>,
    /// Variables the message carries.
    pub variables: Option<Json<serde_json::Value>>,
    /// A retried start with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// A command on a task.
#[derive(InputObject, Debug)]
pub struct TaskInput {
    /// The task.
    pub task_id: ID,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Claiming the next task of one's group inbox.
#[derive(InputObject, Debug, Default)]
pub struct ClaimNextTaskInput {
    /// Only this case's tasks, the first created first: the next task of a case one knows
    /// (found in the case's state, not in the inbox). Takes no `view`, `filter` or `sort`.
    pub case_id: Option<ID>,
    /// A saved inbox view whose filter applies (the `filter` below is laid over it).
    pub view: Option<ID>,
    /// Which tasks may be taken (its `state` is ignored: only unclaimed tasks are).
    pub filter: Option<TaskFilterInput>,
    /// Which comes first (by default the earliest due).
    pub sort: Option<TaskSortInput>,
}

/// Handing a task to someone.
#[derive(InputObject, Debug)]
pub struct HandOverInput {
    /// The task.
    pub task_id: ID,
    /// The user who gets it.
    pub to: String,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// A record of the process.
#[derive(InputObject, Debug, Clone)]
pub struct RecordInput {
    /// Its kind (`text`, `audio_video`, `photo` ...).
    pub kind: String,
    /// Hex SHA-256 of the content (64 hex digits).
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// Where the content is stored.
    pub uri: String,
}

impl RecordInput {
    /// The core's record.
    ///
    /// # Errors
    /// `VALIDATION` for a bad hash or size, or an empty kind or uri.
    pub fn to_record(&self) -> Result<RecordRef> {
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(format!("record sha256 `{}` is not 64 hex digits", self.sha256)));
        }
        if self.size < 0 {
            return Err(invalid("record size must not be negative"));
        }
        if self.kind.trim().is_empty() || self.uri.trim().is_empty() {
            return Err(invalid("a record needs a kind and a uri"));
        }
        Ok(RecordRef {
            kind: self.kind.clone(),
            sha256: self.sha256.to_ascii_lowercase(),
            size: self.size as u64,
            uri: self.uri.clone(),
        })
    }
}

/// Attaching a record to one's task.
#[derive(InputObject, Debug)]
pub struct AttachRecordInput {
    /// The task.
    pub task_id: ID,
    /// The record.
    pub record: RecordInput,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// An answer to a checklist point.
#[derive(InputObject, Debug, Clone)]
pub struct ChecklistAnswerInput {
    /// The point's id.
    pub id: String,
    /// Whether it is satisfied.
    pub satisfied: bool,
}

/// Completing a task.
#[derive(InputObject, Debug)]
pub struct CompleteTaskInput {
    /// The task.
    pub task_id: ID,
    /// The outcome, when the task has outcomes.
    pub outcome: Option<String>,
    /// Form variables.
    pub variables: Option<Json<serde_json::Value>>,
    /// Checklist answers.
    #[graphql(default)]
    pub checklist: Vec<ChecklistAnswerInput>,
    /// Records attached with the completion.
    #[graphql(default)]
    pub records: Vec<RecordInput>,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

impl CompleteTaskInput {
    /// The core's completion.
    ///
    /// # Errors
    /// `VALIDATION` for bad variables or records.
    pub fn to_completion(&self) -> Result<Completion> {
        Ok(Completion {
            outcome: self.outcome.clone(),
            variables: variables(self.variables.clone())?,
            checklist: self.checklist.iter().map(|a| (a.id.clone(), a.satisfied)).collect(),
            records: self.records.iter().map(RecordInput::to_record).collect::<Result<_>>()?,
        })
    }
}

/// Escalating a disagreement on one's task.
#[derive(InputObject, Debug)]
pub struct EscalateTaskInput {
    /// The task.
    pub task_id: ID,
    /// What the disagreement is about.
    pub reason: String,
    /// The group that rules on it.
    #[graphql(default_with = "\"leader\".to_owned()")]
    pub to: String,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Ruling on an escalated disagreement.
#[derive(InputObject, Debug)]
pub struct ResolveEscalationInput {
    /// The task.
    pub task_id: ID,
    /// The outcome that stands, when the task has outcomes.
    pub outcome: Option<String>,
    /// The ruling, in words.
    pub note: String,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Pausing a deadline.
#[derive(InputObject, Debug)]
pub struct PauseDeadlineInput {
    /// The task.
    pub task_id: ID,
    /// Why (hearing, expert review ...).
    pub reason: String,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// A command on a case.
#[derive(InputObject, Debug)]
pub struct CaseInput {
    /// The case.
    pub case_id: ID,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Cancelling a case.
#[derive(InputObject, Debug)]
pub struct CancelCaseInput {
    /// The case.
    pub case_id: ID,
    /// Why.
    pub reason: String,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Delivering a message.
#[derive(InputObject, Debug)]
pub struct CorrelateMessageInput {
    /// The case.
    pub case_id: ID,
    /// The message name.
    pub name: String,
    /// Variables it carries.
    pub variables: Option<Json<serde_json::Value>>,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Recording a publication.
#[derive(InputObject, Debug)]
pub struct RecordPublicationInput {
    /// The case.
    pub case_id: ID,
    /// The publication node, when several are pending.
    pub node: Option<String>,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Retrying an incident.
#[derive(InputObject, Debug)]
pub struct RetryIncidentInput {
    /// The incident.
    pub incident_id: ID,
    /// A retried command with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Moving a case to another version of its flow.
#[derive(InputObject, Debug)]
pub struct MigrateCaseInput {
    /// The case.
    pub case_id: ID,
    /// The target version.
    pub version: i32,
}

/// A definition's YAML source.
#[derive(InputObject, Debug)]
pub struct DefinitionInput {
    /// The YAML.
    pub source: String,
}

/// Saving an inbox view.
#[derive(InputObject, Debug)]
pub struct SaveInboxViewInput {
    /// Its name (unique among one's views; saving again replaces it).
    pub name: String,
    /// A group or role to share it with; private when absent.
    pub shared_with: Option<String>,
    /// The filter.
    pub filter: TaskFilterInput,
}

/// Deleting an inbox view.
#[derive(InputObject, Debug)]
pub struct DeleteInboxViewInput {
    /// The view.
    pub id: ID,
}
