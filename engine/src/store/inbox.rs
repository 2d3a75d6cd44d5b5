//! Inbox queries: the open tasks a user may work on, first by due date.
//!
//! The group inbox reads `task_candidates`, which holds one row per open task and candidate
//! group (rows leave when the task closes), through the index `(kind, name, due_at,
//! task_id)`. A user in several groups gets one index range scan per group, each stopped
//! after a page, merged here: the cost of a page does not grow with the number of open
//! tasks. Tasks without a due date sort last (`due_at` is stored as `i64::MAX` there).

use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, Statement, Value};

use super::entity::tasks;
use super::error::StoreError;
use super::runtime::Store;

/// `task_candidates.due_at` of a task without a due date, so that it sorts last on every
/// database.
pub const NO_DUE: i64 = i64::MAX;

/// Where a page starts: after this task in (due, task id) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboxCursor {
    /// The last task's due instant ([`NO_DUE`] when it has none).
    pub due_at: i64,
    /// The last task's id.
    pub task_id: i64,
}

/// One page of an inbox.
#[derive(Debug, Clone)]
pub struct InboxPage {
    /// The tasks, first due first.
    pub tasks: Vec<tasks::Model>,
    /// Where the next page starts, when there may be one.
    pub next: Option<InboxCursor>,
}

impl Store {
    /// Open tasks offered to any of `groups`, first due first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn group_inbox(
        &self,
        groups: &[String],
        limit: u64,
        after: Option<InboxCursor>,
    ) -> Result<InboxPage, StoreError> {
        let db = self.db();
        let backend = db.get_database_backend();
        let mut found: Vec<(i64, i64)> = Vec::new();
        for group in groups {
            let (sql, values) = page_query(backend, group, limit, after);
            for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
                let due: i64 = row.try_get("", "due_at")?;
                let id: i64 = row.try_get("", "task_id")?;
                found.push((due, id));
            }
        }
        found.sort_unstable();
        found.dedup_by_key(|(_, id)| *id);
        found.truncate(limit as usize);
        let ids: Vec<i64> = found.iter().map(|(_, id)| *id).collect();
        let mut rows =
            tasks::Entity::find().filter(sea_orm::ColumnTrait::is_in(&tasks::Column::Id, ids.clone())).all(db).await?;
        rows.sort_by_key(|t| ids.iter().position(|id| *id == t.id));
        let next = (found.len() as u64 == limit).then(|| {
            let (due_at, task_id) = found[found.len() - 1];
            InboxCursor { due_at, task_id }
        });
        Ok(InboxPage { tasks: rows, next })
    }
}

use sea_orm::QueryFilter;

/// One group's page, in keyset order.
fn page_query(backend: DatabaseBackend, group: &str, limit: u64, after: Option<InboxCursor>) -> (String, Vec<Value>) {
    let p = |n: usize| if backend == DatabaseBackend::Postgres { format!("${n}") } else { "?".to_owned() };
    let mut values: Vec<Value> = vec![group.into()];
    let mut sql = format!("SELECT due_at, task_id FROM task_candidates WHERE kind = 'group' AND name = {}", p(1));
    if let Some(c) = after {
        sql.push_str(&format!(" AND (due_at > {} OR (due_at = {} AND task_id > {}))", p(2), p(3), p(4)));
        values.extend([c.due_at.into(), c.due_at.into(), c.task_id.into()]);
    }
    sql.push_str(&format!(" ORDER BY due_at, task_id LIMIT {limit}"));
    (sql, values)
}
