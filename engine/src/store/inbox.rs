//! Inbox queries: the open tasks a user may work on, filtered, sorted and paged by keyset.
//!
//! Every inbox reads `task_candidates`, which holds one row per open task and candidate group
//! (kind `group`), candidate user (`user`) or the user who holds it (`assignee`); rows leave
//! when the task closes, and a claim or delegation replaces the `assignee` row. A group
//! inbox and "my tasks" (a user's `assignee` rows) are the same query: one index range scan
//! per scanned `(kind, name)` through `(name, kind, due_at, task_id)`, each stopped after a
//! page, merged, cut to a page and joined to the task rows, all in one statement, so that the
//! cost of a page by due date does not grow with the number of open tasks. Due-date filters
//! are checked on the candidate row; filters on state, flow or business key join the `tasks`
//! row as the scan goes (a business key is found through its case). Tasks without a due date
//! sort last (`due_at` is stored as `i64::MAX` there).
//!
//! The orders by priority and by creation read the same index, which carries both values,
//! and sort the scope's rows: a page costs a read of the scope's whole index range, which
//! grows with the number of tasks in the scope (see `docs/storage.md`).
//!
//! Keyset pages are stable under concurrent inserts: a page starts strictly after the last
//! task of the previous one in (key, task id) order, so no task is seen twice and none that
//! existed when paging started is skipped.

use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::{Deserialize, Serialize};

use super::entity::{cases, task_candidates as tc, tasks};
use super::error::StoreError;
use super::inbox_sql::page_statement;
use super::runtime::Store;

/// `task_candidates.due_at` of a task without a due date, so that it sorts last on every
/// database.
pub const NO_DUE: i64 = i64::MAX;

/// `task_candidates.kind` of a task's candidate group.
pub(crate) const GROUP: &str = "group";
/// `task_candidates.kind` of a task's candidate user.
pub(crate) const USER: &str = "user";
/// `task_candidates.kind` of the user who holds a task.
pub(crate) const ASSIGNEE: &str = "assignee";

/// The most tasks one page holds.
pub const MAX_PAGE: u64 = 200;

/// Which tasks an inbox holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxScope {
    /// Open tasks offered to any of these groups, or to this user by name.
    Offered {
        /// The groups.
        groups: Vec<String>,
        /// The user, for tasks offered to them by name.
        user: Option<String>,
    },
    /// Open tasks assigned to this user.
    Assigned(String),
}

/// Where an open task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStateFilter {
    /// Nobody holds it.
    Unclaimed,
    /// Someone holds it.
    Claimed,
    /// It waits for a ruling on an escalated disagreement.
    Escalated,
}

/// Filters of an inbox page; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFilter {
    /// Where the task stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskStateFilter>,
    /// The flow key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// Only this candidate group (of the scope's groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_group: Option<String>,
    /// The case's business key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_key: Option<String>,
    /// Due before this instant (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_before: Option<i64>,
    /// Only tasks past their due date (against the store's clock).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overdue: bool,
}

/// The inbox's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// By due date (tasks without one last).
    #[default]
    Due,
    /// By priority.
    Priority,
    /// By creation.
    Created,
}

/// Sort key and direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxSort {
    /// The key.
    pub key: SortKey,
    /// Highest first.
    #[serde(default)]
    pub descending: bool,
}

/// Where a page starts: after this task in (key, task id) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxCursor {
    /// The last task's sort key value.
    pub key: i64,
    /// The last task's id.
    pub task_id: i64,
}

/// One inbox query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// Which tasks.
    pub scope: InboxScope,
    /// Filters.
    pub filter: InboxFilter,
    /// Order.
    pub sort: InboxSort,
    /// Page size (at most [`MAX_PAGE`]).
    pub limit: u64,
    /// Start after this task.
    pub after: Option<InboxCursor>,
}

/// One page of an inbox.
#[derive(Debug, Clone)]
pub struct InboxPage {
    /// The tasks, in order.
    pub tasks: Vec<tasks::Model>,
    /// The cursor of each task, in the same order.
    pub cursors: Vec<InboxCursor>,
    /// Whether more tasks follow.
    pub has_next: bool,
    /// Where the next page starts, when there is one.
    pub next: Option<InboxCursor>,
}

/// A task row of an inbox page, with its sort key as its candidate rows hold it (the
/// cursor's). The task's columns are spelled out rather than flattened, so that a row is read
/// straight into it; [`PageRow::task`] lists every column of `tasks`, so a column added there
/// is a compile error here until it is read too.
#[derive(Deserialize, FromQueryResult)]
struct PageRow {
    page_key: i64,
    id: i64,
    case_id: String,
    task_key: i32,
    node_id: String,
    name: String,
    flow_key: String,
    flow_version: i32,
    business_key: Option<String>,
    state: String,
    assignee: Option<String>,
    candidate_users: String,
    candidate_groups: String,
    priority: i32,
    due_at: Option<i64>,
    created_at: i64,
    closed_at: Option<i64>,
    completed_by: Option<String>,
    outcome: Option<String>,
}

impl PageRow {
    /// The cursor after this task.
    fn cursor(&self) -> InboxCursor {
        InboxCursor { key: self.page_key, task_id: self.id }
    }

    /// The task's row.
    fn task(self) -> tasks::Model {
        tasks::Model {
            id: self.id,
            case_id: self.case_id,
            task_key: self.task_key,
            node_id: self.node_id,
            name: self.name,
            flow_key: self.flow_key,
            flow_version: self.flow_version,
            business_key: self.business_key,
            state: self.state,
            assignee: self.assignee,
            candidate_users: self.candidate_users,
            candidate_groups: self.candidate_groups,
            priority: self.priority,
            due_at: self.due_at,
            created_at: self.created_at,
            closed_at: self.closed_at,
            completed_by: self.completed_by,
            outcome: self.outcome,
        }
    }
}

impl Store {
    /// Open tasks offered to any of `groups`, first due first (the benchmark's query).
    ///
    /// # Errors
    /// A database failure.
    pub async fn group_inbox(
        &self,
        groups: &[String],
        limit: u64,
        after: Option<InboxCursor>,
    ) -> Result<InboxPage, StoreError> {
        let scope = InboxScope::Offered { groups: groups.to_vec(), user: None };
        self.inbox(&InboxQuery { scope, filter: InboxFilter::default(), sort: InboxSort::default(), limit, after })
            .await
    }

    /// One page of an inbox. On a SQLite file it is read on the caller's thread (see
    /// `SqliteReaders`).
    ///
    /// # Errors
    /// A database failure.
    pub async fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let now = self.now().0;
        // One statement: a scan per scanned candidate, their rows concatenated, each task
        // once, cut to a page and joined to the task rows (see `inbox_sql`); so a page is one
        // round trip however many groups the user is in.
        let Some(statement) = page_statement(self.db().get_database_backend(), query, limit + 1, now) else {
            return Ok(InboxPage { tasks: Vec::new(), cursors: Vec::new(), has_next: false, next: None });
        };
        let mut rows = self.hot_statement_rows::<PageRow>(&statement, None).await?;
        // A task is offered through several of the scanned rows with the same key (they are
        // copies of its row); should two keys ever differ, the first in page order counts.
        let mut seen = std::collections::HashSet::new();
        rows.retain(|row| seen.insert(row.id));
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let cursors: Vec<InboxCursor> = rows.iter().map(PageRow::cursor).collect();
        let next = if has_next { cursors.last().copied() } else { None };
        let rows: Vec<tasks::Model> = rows.into_iter().map(PageRow::task).collect();
        self.inner.task_locations.note(&rows);
        Ok(InboxPage { tasks: rows, cursors, has_next, next })
    }

    /// How many tasks the inbox holds with its filters (ignoring paging).
    ///
    /// # Errors
    /// A database failure.
    pub async fn inbox_count(&self, scope: &InboxScope, filter: &InboxFilter) -> Result<u64, StoreError> {
        let db = self.db();
        let backend = db.get_database_backend();
        let now = self.now().0;
        let mut select = Query::select();
        select
            .expr_as(Expr::col((tc::Entity, tc::Column::TaskId)).count_distinct(), Alias::new("n"))
            .from(tc::Entity)
            .cond_where(scanned_rows(scope, filter))
            .cond_where(candidate_filters(filter, now));
        join_tasks_if_needed(&mut select, filter);
        let row = db.query_one_raw(backend.build(&select)).await?;
        let n: i64 = match row {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// The `(kind, name)` inbox rows a scope scans: an offered scope's groups (narrowed to one by
/// the candidate group filter) and its user by name; an assigned scope's `assignee` rows.
pub(super) fn scanned<'a>(scope: &'a InboxScope, filter: &'a InboxFilter) -> Vec<(&'static str, &'a str)> {
    match scope {
        InboxScope::Offered { groups, user } => {
            let groups = groups.iter().filter(|g| filter.candidate_group.as_ref().is_none_or(|only| only == *g));
            let mut rows: Vec<_> = groups.map(|g| (GROUP, g.as_str())).collect();
            if let Some(user) = user
                && filter.candidate_group.is_none()
            {
                rows.push((USER, user.as_str()));
            }
            rows
        }
        InboxScope::Assigned(user) => vec![(ASSIGNEE, user.as_str())],
    }
}

/// `task_candidates` rows of the scope (for the count).
fn scanned_rows(scope: &InboxScope, filter: &InboxFilter) -> Cond {
    let mut any = Cond::any();
    for (kind, name) in scanned(scope, filter) {
        any = any.add(
            Cond::all()
                .add(Expr::col((tc::Entity, tc::Column::Kind)).eq(kind))
                .add(Expr::col((tc::Entity, tc::Column::Name)).eq(name)),
        );
    }
    if any.is_empty() { Cond::all().add(Expr::val(1).eq(0)) } else { any }
}

/// Filters on the candidate row itself (its copy of the due date). Candidate rows exist only
/// for open tasks, so an offered scope without other filters needs no `tasks` row at all.
pub(super) fn candidate_filters(filter: &InboxFilter, now: i64) -> Cond {
    let due = || Expr::col((tc::Entity, tc::Column::DueAt));
    let mut all = Cond::all();
    if let Some(before) = filter.due_before {
        all = all.add(due().lt(before));
    }
    if filter.overdue {
        all = all.add(due().lt(now));
    }
    all
}

/// Joins `tasks` to the candidate rows, with the filters only a task row answers (state,
/// flow, business key), when the filter has any.
pub(super) fn join_tasks_if_needed(select: &mut SelectStatement, filter: &InboxFilter) {
    if filter.state.is_none() && filter.flow.is_none() && filter.business_key.is_none() {
        return;
    }
    select
        .inner_join(
            tasks::Entity,
            Expr::col((tasks::Entity, tasks::Column::Id)).equals((tc::Entity, tc::Column::TaskId)),
        )
        .cond_where(task_filters(filter));
}

/// Conditions on a joined `tasks` row.
fn task_filters(filter: &InboxFilter) -> Cond {
    let t = |c: tasks::Column| Expr::col((tasks::Entity, c));
    let mut all = Cond::all();
    all = all.add(match filter.state {
        None => t(tasks::Column::State).is_in(["open", "escalated"]),
        Some(TaskStateFilter::Unclaimed) => {
            t(tasks::Column::State).eq("open").and(t(tasks::Column::Assignee).is_null())
        }
        Some(TaskStateFilter::Claimed) => {
            t(tasks::Column::State).eq("open").and(t(tasks::Column::Assignee).is_not_null())
        }
        Some(TaskStateFilter::Escalated) => t(tasks::Column::State).eq("escalated"),
    });
    if let Some(flow) = &filter.flow {
        all = all.add(t(tasks::Column::FlowKey).eq(flow.as_str()));
    }
    if let Some(key) = &filter.business_key {
        // The task's case is found by its business key (`tasks` has no index of its own on
        // it), and the task by its case.
        let of_case = Query::select()
            .column(cases::Column::Id)
            .from(cases::Entity)
            .and_where(Expr::col((cases::Entity, cases::Column::BusinessKey)).eq(key.as_str()))
            .to_owned();
        all =
            all.add(t(tasks::Column::CaseId).in_subquery(of_case)).add(t(tasks::Column::BusinessKey).eq(key.as_str()));
    }
    all
}
