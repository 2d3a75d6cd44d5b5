//! `Task`: an inbox entry with what completing it takes (form, outcomes, checklist, required
//! records) read from its flow version.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use docket_engine::model::{NodeKind, UserTask};
use docket_engine::store::entity::tasks;
use docket_engine::store::runtime::LoadedDefinition;

use super::{Record, instant, principal, store};
use crate::graphql::error::OrGraphql;

/// Where a task stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TaskStatus {
    /// Open, nobody holds it.
    Unclaimed,
    /// Open, someone holds it.
    Claimed,
    /// Open, waiting for a ruling on an escalated disagreement.
    Escalated,
    /// Done.
    Completed,
    /// Taken away without completion (the case moved on or was cancelled).
    Cancelled,
}

/// One field of a task's form: a flow variable the completion sets.
#[derive(SimpleObject, Debug, Clone)]
pub struct FormField {
    /// The variable.
    pub name: String,
    /// Its type: string, number, integer, bool, date, list, map.
    pub r#type: String,
    /// Whether the completion must set it.
    pub required: bool,
}

/// A point of a review checklist.
#[derive(SimpleObject, Debug, Clone)]
pub struct ChecklistPoint {
    /// Its id, answered in `completeTask`.
    pub id: String,
    /// What to check.
    pub text: String,
    /// Whether it must be satisfied to complete.
    pub required: bool,
}

/// An escalated disagreement on a task.
#[derive(SimpleObject, Debug, Clone)]
pub struct EscalationInfo {
    /// Who escalated it.
    pub by: String,
    /// The group that rules on it.
    pub to: String,
    /// What it is about.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A task.
pub struct Task(pub tasks::Model);

impl Task {
    async fn definition(&self, ctx: &Context<'_>) -> Result<Arc<LoadedDefinition>> {
        store(ctx)?.loaded_definition(&self.0.flow_key, Some(self.0.flow_version as u32)).await.gql()
    }

    async fn spec<T>(&self, ctx: &Context<'_>, f: impl FnOnce(&UserTask) -> T) -> Result<Option<T>> {
        let loaded = self.definition(ctx).await?;
        let node = loaded.definition.flow.node_by_id(&self.0.node_id);
        Ok(node.and_then(|n| match &n.kind {
            NodeKind::UserTask(spec) => Some(f(spec)),
            _ => None,
        }))
    }

    fn is_open(&self) -> bool {
        matches!(self.0.state.as_str(), "open" | "escalated")
    }
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[Object]
impl Task {
    /// The task's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Its case.
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }

    /// Its number within the case.
    async fn key(&self) -> i32 {
        self.0.task_key
    }

    /// The flow node it stands for.
    async fn node(&self) -> &str {
        &self.0.node_id
    }

    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The flow's key.
    async fn flow(&self) -> &str {
        &self.0.flow_key
    }

    /// The flow version its case runs on.
    async fn flow_version(&self) -> i32 {
        self.0.flow_version
    }

    /// The case's business key (case number).
    async fn business_key(&self) -> Option<&str> {
        self.0.business_key.as_deref()
    }

    /// Where it stands.
    async fn status(&self) -> TaskStatus {
        match (self.0.state.as_str(), &self.0.assignee) {
            ("escalated", _) => TaskStatus::Escalated,
            ("completed", _) => TaskStatus::Completed,
            ("cancelled", _) => TaskStatus::Cancelled,
            (_, Some(_)) => TaskStatus::Claimed,
            (_, None) => TaskStatus::Unclaimed,
        }
    }

    /// Who holds it.
    async fn assignee(&self) -> Option<&str> {
        self.0.assignee.as_deref()
    }

    /// Users it is offered to by name.
    async fn candidate_users(&self) -> Vec<String> {
        json_list(&self.0.candidate_users)
    }

    /// Groups and roles it is offered to.
    async fn candidate_groups(&self) -> Vec<String> {
        json_list(&self.0.candidate_groups)
    }

    /// Inbox priority (higher first when sorting by priority descending).
    async fn priority(&self) -> i32 {
        self.0.priority
    }

    /// When it is due (the end of the due day on the working-day calendar).
    async fn due(&self) -> Option<DateTime<Utc>> {
        self.0.due_at.map(instant)
    }

    /// Whether it is open and past its due date.
    async fn overdue(&self, ctx: &Context<'_>) -> Result<bool> {
        let now = store(ctx)?.now().0;
        Ok(self.is_open() && self.0.due_at.is_some_and(|d| d < now))
    }

    /// When it entered inboxes.
    async fn created_at(&self) -> DateTime<Utc> {
        instant(self.0.created_at)
    }

    /// When it was completed or cancelled.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at.map(instant)
    }

    /// Who completed it.
    async fn completed_by(&self) -> Option<&str> {
        self.0.completed_by.as_deref()
    }

    /// The outcome chosen.
    async fn outcome(&self) -> Option<&str> {
        self.0.outcome.as_deref()
    }

    /// The form: variables the completion sets.
    async fn form(&self, ctx: &Context<'_>) -> Result<Vec<FormField>> {
        let loaded = self.definition(ctx).await?;
        let flow = &loaded.definition.flow;
        Ok(self
            .spec(ctx, |spec| {
                spec.form
                    .iter()
                    .map(|f| FormField {
                        name: f.var.clone(),
                        r#type: flow.variable(&f.var).map_or("any", |v| v.ty.as_str()).to_owned(),
                        required: f.required,
                    })
                    .collect()
            })
            .await?
            .unwrap_or_default())
    }

    /// The outcomes to choose from (empty: the task takes none).
    async fn outcomes(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(self.spec(ctx, |spec| spec.outcomes.clone()).await?.unwrap_or_default())
    }

    /// The review checklist.
    async fn checklist(&self, ctx: &Context<'_>) -> Result<Vec<ChecklistPoint>> {
        Ok(self
            .spec(ctx, |spec| {
                spec.checklist
                    .iter()
                    .map(|c| ChecklistPoint { id: c.id.clone(), text: c.text.clone(), required: c.required })
                    .collect()
            })
            .await?
            .unwrap_or_default())
    }

    /// Kinds of records (text, audio_video, ...) that must be attached before completion.
    async fn required_records(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(self.spec(ctx, |spec| spec.required_records.clone()).await?.unwrap_or_default())
    }

    /// The legal basis of its deadline.
    async fn deadline_basis(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.spec(ctx, |spec| spec.deadline.as_ref().and_then(|d| d.basis.clone())).await?.flatten())
    }

    /// Records attached to it; for those working on the task. Anyone else reads them in the
    /// case file (`case(id, purpose) { records }`), where the read is logged with its purpose.
    async fn records(&self, ctx: &Context<'_>) -> Result<Vec<Record>> {
        let store = store(ctx)?;
        if !store.session(principal(ctx)?).works_on(&self.0) {
            return Err(crate::graphql::error::coded(
                "FORBIDDEN",
                "the records of a task you do not work on are part of the case file: read them with case(id, purpose)",
            ));
        }
        let records = store.case_records(&self.0.case_id).await.gql()?;
        Ok(records.into_iter().filter(|r| r.task_key == self.0.task_key).map(Record).collect())
    }

    /// The open escalation, if any.
    async fn escalation(&self, ctx: &Context<'_>) -> Result<Option<EscalationInfo>> {
        if self.0.state != "escalated" {
            return Ok(None);
        }
        let (_, state) = store(ctx)?.case_state(&self.0.case_id).await.gql()?;
        let key = docket_engine::core::TaskKey(self.0.task_key as u32);
        Ok(state.task(key).and_then(|t| t.escalation.clone()).map(|e| EscalationInfo {
            by: e.by,
            to: e.to,
            reason: e.reason,
            at: instant(e.at.0),
        }))
    }

    /// The outcome a ruling on an escalation bound the task to, if any.
    async fn ruling(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if !self.is_open() {
            return Ok(None);
        }
        let (_, state) = store(ctx)?.case_state(&self.0.case_id).await.gql()?;
        let key = docket_engine::core::TaskKey(self.0.task_key as u32);
        Ok(state.task(key).and_then(|t| t.ruling.clone()))
    }
}
