//! The inbox change feed: every node tails the audit log (the whole-process record, written
//! in the same transaction as every change) and broadcasts the task changes it finds to
//! its local subscribers. Tailing the shared log, rather than listening inside the node that
//! ran the command, means a subscriber on any node sees changes made on every node.
//!
//! Audit ids are assigned when a transaction inserts its rows, but transactions commit in
//! their own order: on PostgreSQL a reader can see id 12 before id 11 is committed. The
//! tailer therefore advances its cursor only over a gap-free run of ids; an id missing for
//! longer than [`GAP_PATIENCE`] belonged to a transaction that rolled back and is passed.
//! Entries past a gap that were already delivered are remembered, so none is sent twice.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use tokio::sync::broadcast;

use super::entity::{audit_log, tasks};
use super::error::StoreError;
use super::runtime::Store;
use crate::core::Effect;

/// How long a missing audit id is waited for before the tailer passes it.
pub const GAP_PATIENCE: Duration = Duration::from_secs(5);

/// What happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// It entered inboxes.
    Created,
    /// Its assignee changed (claim, unclaim, delegate, assign).
    Assigned,
    /// A disagreement on it was escalated.
    Escalated,
    /// The escalation was ruled on.
    Resolved,
    /// Its due date moved, or an escalation ladder offered it to another group.
    Updated,
    /// It was completed or cancelled.
    Closed,
}

/// One change to one task, with the task as it is after the change.
#[derive(Debug, Clone)]
pub struct TaskChange {
    /// What happened.
    pub kind: ChangeKind,
    /// The task's row when the change was read.
    pub task: tasks::Model,
    /// Who made the change.
    pub actor: String,
    /// When (ms since the Unix epoch).
    pub at: i64,
    /// The audit entry it came from.
    pub audit_id: i64,
}

/// A running tailer; it stops when the last clone of its handle is dropped.
#[derive(Clone)]
pub struct ChangeFeed {
    sender: broadcast::Sender<TaskChange>,
}

impl ChangeFeed {
    /// Starts tailing from the newest audit entry, polling every `poll`.
    ///
    /// # Errors
    /// A database failure reading the head.
    pub async fn spawn(store: Store, poll: Duration) -> Result<ChangeFeed, StoreError> {
        let (sender, _) = broadcast::channel(4096);
        let head = store.audit_head().await?;
        let weak = sender.downgrade();
        let feed = ChangeFeed { sender };
        tokio::spawn(async move {
            let mut tail = Tail::new(head);
            // The tailer ends when the last handle of the feed is dropped.
            while let Some(sender) = weak.upgrade() {
                if sender.receiver_count() == 0 {
                    // Nobody listens: skip ahead instead of reading what no one will see.
                    match store.audit_head().await {
                        Ok(head) => tail = Tail::new(head),
                        Err(e) => tracing::warn!(error = %e, "change feed: cannot read the audit head"),
                    }
                } else if let Err(e) = tail.step(&store, &sender).await {
                    tracing::warn!(error = %e, "change feed: cannot read the audit log");
                }
                drop(sender);
                tokio::time::sleep(poll).await;
            }
        });
        Ok(feed)
    }

    /// A receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<TaskChange> {
        self.sender.subscribe()
    }
}

/// The tailer's position.
struct Tail {
    /// Every id up to here was delivered or passed.
    cursor: i64,
    /// Ids above the cursor already delivered.
    delivered: BTreeSet<i64>,
    /// Since when the id right after the cursor has been missing.
    gap_since: Option<Instant>,
}

impl Tail {
    fn new(head: i64) -> Tail {
        Tail { cursor: head, delivered: BTreeSet::new(), gap_since: None }
    }

    async fn step(&mut self, store: &Store, sender: &broadcast::Sender<TaskChange>) -> Result<(), StoreError> {
        let entries = store.audit_after(self.cursor, 1000).await?;
        let fresh: Vec<&audit_log::Model> = entries.iter().filter(|e| !self.delivered.contains(&e.id)).collect();
        for change in changes(store, &fresh).await? {
            let _ = sender.send(change);
        }
        self.delivered.extend(fresh.iter().map(|e| e.id));
        self.advance();
        Ok(())
    }

    /// Moves the cursor over the gap-free run of delivered ids; passes a gap that has
    /// lasted longer than [`GAP_PATIENCE`].
    fn advance(&mut self) {
        loop {
            while self.delivered.remove(&(self.cursor + 1)) {
                self.cursor += 1;
                self.gap_since = None;
            }
            let Some(&next) = self.delivered.first() else {
                self.gap_since = None;
                return;
            };
            let since = *self.gap_since.get_or_insert_with(Instant::now);
            if since.elapsed() < GAP_PATIENCE {
                return;
            }
            // The missing ids never committed: pass them.
            self.cursor = next - 1;
            self.gap_since = None;
        }
    }
}

/// The task changes in these audit entries, with the tasks' current rows.
async fn changes(store: &Store, entries: &[&audit_log::Model]) -> Result<Vec<TaskChange>, StoreError> {
    let mut found: Vec<(i64, String, u32, ChangeKind, String, i64)> = Vec::new();
    for entry in entries {
        let Ok(detail) = serde_json::from_str::<serde_json::Value>(&entry.detail) else { continue };
        let Some(effects) = detail.get("effects").cloned() else { continue };
        let Ok(effects) = serde_json::from_value::<Vec<Effect>>(effects) else { continue };
        for effect in effects {
            let change = match effect {
                Effect::CreateTask { task, .. } => Some((task, ChangeKind::Created)),
                Effect::AssignTask { task, .. } => Some((task, ChangeKind::Assigned)),
                Effect::EscalateTask { task, .. } => Some((task, ChangeKind::Escalated)),
                Effect::ResolveEscalation { task, .. } => Some((task, ChangeKind::Resolved)),
                Effect::SetTaskDue { task, .. } => Some((task, ChangeKind::Updated)),
                Effect::Ladder { task: Some(task), .. } => Some((task, ChangeKind::Updated)),
                Effect::CompleteTask { task, .. } | Effect::CancelTask { task } => Some((task, ChangeKind::Closed)),
                _ => None,
            };
            if let Some((task, kind)) = change {
                found.push((entry.id, entry.case_id.clone(), task.0, kind, entry.actor.clone(), entry.at));
            }
        }
    }
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: HashMap<(String, i32), tasks::Model> = HashMap::new();
    for chunk in found.chunks(200) {
        let mut any = Condition::any();
        for (_, case_id, key, ..) in chunk {
            any = any.add(
                Condition::all()
                    .add(tasks::Column::CaseId.eq(case_id.as_str()))
                    .add(tasks::Column::TaskKey.eq(*key as i32)),
            );
        }
        for row in tasks::Entity::find().filter(any).all(store.db()).await? {
            rows.insert((row.case_id.clone(), row.task_key), row);
        }
    }
    Ok(found
        .into_iter()
        .filter_map(|(audit_id, case_id, key, kind, actor, at)| {
            let task = rows.get(&(case_id, key as i32))?.clone();
            Some(TaskChange { kind, task, actor, at, audit_id })
        })
        .collect())
}
