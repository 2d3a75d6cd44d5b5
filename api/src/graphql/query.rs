//! The query root.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use docket_engine::access::Operation;
use docket_engine::store::entity::inbox_views;
use docket_engine::store::{
    CaseFilter, InboxFilter, InboxKind as Kind, InboxQuery, InboxScope, InboxSort, Page, Session,
};

use super::cursor;
use super::error::{OrGraphql, invalid};
use super::inputs::{CaseFilterInput, InboxKind, TaskFilter, TaskFilterInput, TaskSortInput};
use super::types::{
    AccessLogEntry, CalendarInfo, Case, CaseSummary, Definition, DefinitionVersion, Incident, Me, PageInfo, Task,
    principal, store,
};

/// Reads.
pub struct Query;

/// A task and its cursor.
#[derive(SimpleObject)]
pub struct TaskEdge {
    /// Pass as `after` to continue after this task.
    pub cursor: String,
    /// The task.
    pub node: Task,
}

/// A page of an inbox.
pub struct TaskConnection {
    edges: Vec<TaskEdge>,
    page_info: PageInfo,
    scope: InboxScope,
    filter: InboxFilter,
}

#[Object]
impl TaskConnection {
    /// The tasks with their cursors.
    async fn edges(&self) -> &[TaskEdge] {
        &self.edges
    }
    /// The tasks.
    async fn nodes(&self) -> Vec<&Task> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    /// Where the list continues.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// How many tasks the inbox holds with these filters (counted when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        store(ctx)?.session(principal(ctx)?).inbox_count(&self.scope, &self.filter).await.gql()
    }
}

/// A generic page of rows with number cursors.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $doc:literal) => {
        #[doc = concat!("A page of ", $doc, ".")]
        #[derive(SimpleObject)]
        pub struct $conn {
            /// The items with their cursors.
            pub edges: Vec<$edge>,
            /// Where the list continues.
            pub page_info: PageInfo,
        }

        #[doc = concat!("One of ", $doc, " and its cursor.")]
        #[derive(SimpleObject)]
        pub struct $edge {
            /// Pass as `after` to continue after this item.
            pub cursor: String,
            /// The item.
            pub node: $node,
        }

        impl $conn {
            fn new(mut items: Vec<(String, $node)>, limit: u64) -> $conn {
                let has_next_page = items.len() as u64 > limit;
                items.truncate(limit as usize);
                let edges: Vec<$edge> = items.into_iter().map(|(cursor, node)| $edge { cursor, node }).collect();
                let page_info = PageInfo {
                    has_next_page,
                    has_previous_page: false,
                    start_cursor: edges.first().map(|e| e.cursor.clone()),
                    end_cursor: edges.last().map(|e| e.cursor.clone()),
                };
                $conn { edges, page_info }
            }
        }
    };
}

connection!(CaseConnection, CaseEdge, CaseSummary, "cases");
connection!(IncidentConnection, IncidentEdge, Incident, "incidents");
connection!(AccessLogConnection, AccessLogEdge, AccessLogEntry, "record-access log entries");

/// A saved inbox view.
pub struct InboxView(pub inbox_views::Model);

#[Object]
impl InboxView {
    /// Its id, for `inbox(view:)`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Who saved it.
    async fn owner(&self) -> &str {
        &self.0.owner
    }
    /// The group or role it is shared with; private when absent.
    async fn shared_with(&self) -> Option<&str> {
        self.0.shared_with.as_deref()
    }
    /// The filter it applies.
    async fn filter(&self) -> TaskFilter {
        serde_json::from_str::<InboxFilter>(&self.0.filter).unwrap_or_default().into()
    }
}

fn number_id(id: &ID, what: &str) -> Result<i64> {
    id.parse::<i64>().map_err(|_| invalid(format!("`{}` is not {what} id", id.as_str())))
}

/// The inbox filter of a request: its `filter` laid over the saved `view`'s, if it names one.
pub(super) async fn inbox_filter(
    session: &Session<'_>,
    view: Option<&ID>,
    filter: Option<TaskFilterInput>,
) -> Result<InboxFilter> {
    let base = match view {
        Some(id) => {
            let view = session.view(number_id(id, "a view")?).await.gql()?;
            serde_json::from_str::<InboxFilter>(&view.filter).unwrap_or_default()
        }
        None => InboxFilter::default(),
    };
    Ok(filter.unwrap_or_default().over(base))
}

#[Object]
impl Query {
    /// Who I am.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        Ok(principal(ctx)?.into())
    }

    /// An inbox: my group inbox by default, or my own tasks (`kind: MINE`), or given groups'
    /// inboxes (other groups than mine need the supervisor role or `tasks:read`). A saved
    /// `view` supplies the filter; fields of `filter` override it.
    #[allow(clippy::too_many_arguments)]
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] kind: InboxKind,
        groups: Option<Vec<String>>,
        view: Option<ID>,
        filter: Option<TaskFilterInput>,
        sort: Option<TaskSortInput>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<TaskConnection> {
        let session = store(ctx)?.session(principal(ctx)?);
        let limit = cursor::page_size(first)?;
        let filter = inbox_filter(&session, view.as_ref(), filter).await?;
        let sort: InboxSort = sort.unwrap_or_default().to_sort();
        let after = after.map(|c| cursor::decode_inbox(&c, sort)).transpose()?;
        let kind = match kind {
            InboxKind::Mine => Kind::Mine,
            InboxKind::Groups => Kind::Groups(groups),
        };
        let scope = session.inbox_scope(kind).gql()?;
        let query = InboxQuery { scope: scope.clone(), filter: filter.clone(), sort, limit, after };
        let page = session.inbox(&query).await.gql()?;
        let edges: Vec<TaskEdge> = page
            .tasks
            .into_iter()
            .zip(page.cursors)
            .map(|(task, c)| TaskEdge { cursor: cursor::encode_inbox(c, sort), node: Task(task) })
            .collect();
        let page_info = PageInfo {
            has_next_page: page.has_next,
            has_previous_page: false,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Ok(TaskConnection { edges, page_info, scope, filter })
    }

    /// A task.
    async fn task(&self, ctx: &Context<'_>, id: ID) -> Result<Task> {
        let session = store(ctx)?.session(principal(ctx)?);
        Ok(Task(session.task(super::inputs::task_id(&id)?).await.gql()?))
    }

    /// A case file. Every read is written to the record-access log with who, when and the
    /// stated `purpose` (required).
    async fn case(&self, ctx: &Context<'_>, id: ID, purpose: String) -> Result<Case> {
        let session = store(ctx)?.session(principal(ctx)?);
        let (row, state) = session.read_case(id.as_str(), "case", &purpose).await.gql()?;
        Ok(Case { row, state })
    }

    /// Cases, newest first (a list, not a read of their files).
    async fn cases(
        &self,
        ctx: &Context<'_>,
        filter: Option<CaseFilterInput>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<CaseConnection> {
        let session = store(ctx)?.session(principal(ctx)?);
        let limit = cursor::page_size(first)?;
        let filter = filter.unwrap_or_default();
        let filter = CaseFilter {
            status: filter.status.map(|s| s.word().to_owned()),
            flow: filter.flow,
            business_key: filter.business_key,
        };
        let after = after.map(|c| cursor::decode_text(&c)).transpose()?;
        let rows = session.cases(&filter, after.as_deref(), limit + 1).await.gql()?;
        let items = rows.into_iter().map(|r| (cursor::encode_text(&r.id), CaseSummary(r))).collect();
        Ok(CaseConnection::new(items, limit))
    }

    /// Deployed definitions (every version of each key, or of one key).
    async fn definitions(&self, ctx: &Context<'_>, key: Option<String>) -> Result<Vec<Definition>> {
        store(ctx)?.session(principal(ctx)?).allow(Operation::ReadDefinitions).gql()?;
        let rows = store(ctx)?.definition_rows(key.as_deref()).await.gql()?;
        let mut out: Vec<Definition> = Vec::new();
        for row in rows {
            match out.last_mut() {
                Some(d) if d.versions.last().is_some_and(|v| v.key == row.key) => d.versions.push(row),
                _ => out.push(Definition { versions: vec![row] }),
            }
        }
        Ok(out)
    }

    /// One version of a definition (the latest when `version` is absent).
    async fn definition(&self, ctx: &Context<'_>, key: String, version: Option<i32>) -> Result<DefinitionVersion> {
        store(ctx)?.session(principal(ctx)?).allow(Operation::ReadDefinitions).gql()?;
        let rows = store(ctx)?.definition_rows(Some(&key)).await.gql()?;
        let found = match version {
            Some(v) => rows.into_iter().find(|r| r.version == v),
            None => rows.into_iter().last(),
        };
        found.map(DefinitionVersion).ok_or_else(|| {
            super::error::coded(
                "NOT_FOUND",
                format!("no deployed flow `{key}`{}", version.map(|v| format!(" version {v}")).unwrap_or_default()),
            )
        })
    }

    /// The working-day calendars.
    async fn calendars(&self, ctx: &Context<'_>) -> Result<Vec<CalendarInfo>> {
        let store = store(ctx)?;
        store.session(principal(ctx)?).allow(Operation::ReadDefinitions).gql()?;
        let mut calendars: Vec<CalendarInfo> = store.calendars().iter().map(CalendarInfo).collect();
        calendars.sort_by(|a, b| a.0.id().cmp(b.0.id()));
        Ok(calendars)
    }

    /// Incidents, oldest first (open ones only unless `openOnly: false`).
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = true)] open_only: bool,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<IncidentConnection> {
        store(ctx)?.session(principal(ctx)?).allow(Operation::ReadIncidents).gql()?;
        let limit = cursor::page_size(first)?;
        let after = after.map(|c| cursor::decode_number(&c)).transpose()?;
        let rows = store(ctx)?.incidents(open_only, Page { after, limit: limit + 1 }).await.gql()?;
        let items = rows.into_iter().map(|r| (cursor::encode_number(r.id), Incident(r))).collect();
        Ok(IncidentConnection::new(items, limit))
    }

    /// The record-access log, newest first (of one case or one user if given).
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
        user: Option<String>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<AccessLogConnection> {
        store(ctx)?.session(principal(ctx)?).allow(Operation::ReadAccessLog).gql()?;
        let limit = cursor::page_size(first)?;
        let before = after.map(|c| cursor::decode_number(&c)).transpose()?;
        let rows = store(ctx)?
            .access_log(case_id.as_ref().map(|c| c.as_str()), user.as_deref(), before, limit + 1)
            .await
            .gql()?;
        let items = rows.into_iter().map(|r| (cursor::encode_number(r.id), AccessLogEntry(r))).collect();
        Ok(AccessLogConnection::new(items, limit))
    }

    /// My saved inbox views and those shared with my groups and roles.
    async fn inbox_views(&self, ctx: &Context<'_>) -> Result<Vec<InboxView>> {
        let session = store(ctx)?.session(principal(ctx)?);
        Ok(session.views().await.gql()?.into_iter().map(InboxView).collect())
    }
}
