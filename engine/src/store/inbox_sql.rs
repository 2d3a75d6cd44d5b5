//! The text of an inbox page's statement, written straight from the query.
//!
//! Every inbox page is one statement (see `inbox`): a keyset scan per scanned candidate, their
//! rows concatenated, each task once, cut to a page and joined to the task rows. Built with
//! sea-query, that is an expression tree of some hundred nodes allocated, written out as text
//! and dropped for every page: a tenth of the API server's CPU under load. Here the text is
//! written directly, with its values in order, in the text sea-query writes for each store
//! (so the connections' statement caches find it as before); on SQLite a page's `LIMIT`s are
//! written into the text, as `inline_sqlite_limits` does for built statements. The tests
//! compare the statement, text and values, with sea-query's for every combination of scope,
//! filters, order and cursor, on both stores; but for a page filtered by business key, which
//! is read from the key in one scan (see `of_one_business_key`), and whose pages the store's
//! tests compare with the whole inbox's.

use std::fmt::Write as _;

use sea_orm::sea_query::{Value, Values};
use sea_orm::{DbBackend, Statement};

use super::inbox::{InboxQuery, SortKey, TaskStateFilter, scanned};

/// The statement of an inbox page: at most `limit` tasks (each of the scans stopped there
/// too), each row a `tasks` row with the task's sort key as `page_key`; `now` is the store's
/// clock, for the overdue filter. `None` when the scope scans nothing.
pub(crate) fn page_statement(backend: DbBackend, query: &InboxQuery, limit: u64, now: i64) -> Option<Statement> {
    let scans = scanned(&query.scope, &query.filter);
    if scans.is_empty() {
        return None;
    }
    if let Some(key) = &query.filter.business_key {
        return Some(of_one_business_key(backend, query, &scans, key, limit, now));
    }
    let dir = if query.sort.descending { "DESC" } else { "ASC" };
    let mut text = Text::new(backend);
    text.sql.push_str(
        "SELECT \"tasks\".*, \"page\".\"k\" AS \"page_key\" FROM \"tasks\" INNER JOIN (SELECT DISTINCT \"k\", \
         \"task_id\" FROM (",
    );
    for (i, (kind, name)) in scans.into_iter().enumerate() {
        let parenthesized = i > 0 && backend == DbBackend::Postgres;
        if i > 0 {
            text.sql.push_str(" UNION ALL ");
        }
        if parenthesized {
            text.sql.push('(');
        }
        text.sql.push_str("SELECT * FROM (");
        scan(&mut text, query, (kind, name), limit, now, dir);
        let _ = write!(text.sql, ") AS \"scan{i}\"");
        if parenthesized {
            text.sql.push(')');
        }
    }
    let _ = write!(text.sql, ") AS \"found\" ORDER BY \"k\" {dir}, \"task_id\" {dir}");
    text.limit(limit);
    let _ = write!(
        text.sql,
        ") AS \"page\" ON \"tasks\".\"id\" = \"page\".\"task_id\" ORDER BY \"page\".\"k\" {dir}, \"page\".\"task_id\" {dir}"
    );
    Some(text.statement())
}

/// The page of a filter with a business key: the few tasks of that key's cases, found from
/// the key (`cases` by its business key, `tasks` by case, `task_candidates` by task) and kept
/// where one of the scanned `(kind, name)` rows offers them, in one scan.
///
/// Read as the other pages are (a keyset scan per candidate), such a page is planned from the
/// wrong end whenever the planner takes a group's inbox for small: it walks each scanned
/// group's inbox in page order, every entry the group's range of the inbox index still holds
/// (on PostgreSQL also those of rows deleted and not yet vacuumed), and looks up each task's
/// case on the way, all of a large group's tasks to find one case's. SQLite, which has no
/// statistics, always did; PostgreSQL did with the generic plan a connection keeps, made on a
/// new database. So the order is fixed: by `CROSS JOIN` on SQLite; on PostgreSQL the key's
/// cases and their tasks are read first, in a subquery the planner may not merge into the
/// rest (`OFFSET 0`), and each task's inbox rows by task, in a `LATERAL` subquery fenced the
/// same way, so that no condition on `(kind, name)` reaches `task_candidates` where the inbox
/// index could serve it. A test checks the plan on empty tables.
fn of_one_business_key(
    backend: DbBackend,
    query: &InboxQuery,
    scans: &[(&str, &str)],
    key: &str,
    limit: u64,
    now: i64,
) -> Statement {
    let dir = if query.sort.descending { "DESC" } else { "ASC" };
    let (column, read) = sort_column(query);
    let mut text = Text::new(backend);
    let _ = write!(
        text.sql,
        "SELECT \"tasks\".*, \"page\".\"k\" AS \"page_key\" FROM \"tasks\" INNER JOIN (SELECT DISTINCT {read} AS \"k\", \
         \"task_candidates\".\"task_id\" AS \"task_id\" FROM "
    );
    if backend == DbBackend::Sqlite {
        text.sql.push_str(
            "\"cases\" CROSS JOIN \"tasks\" ON \"tasks\".\"case_id\" = \"cases\".\"id\" CROSS JOIN \"task_candidates\" ON \
             \"task_candidates\".\"task_id\" = \"tasks\".\"id\" WHERE \"cases\".\"business_key\" = ",
        );
        text.bind(Value::String(Some(key.to_owned())));
        text.sql.push_str(" AND ");
    } else {
        text.sql.push_str(
            "(SELECT \"tasks\".\"id\" FROM \"tasks\" WHERE \"tasks\".\"case_id\" = ANY(ARRAY(SELECT \"cases\".\"id\" FROM \
             \"cases\" WHERE \"cases\".\"business_key\" = ",
        );
        text.bind(Value::String(Some(key.to_owned())));
        text.sql.push_str("))");
        task_conditions(&mut text, query);
        text.sql.push_str(
            " OFFSET 0) AS \"keyed\" CROSS JOIN LATERAL (SELECT * FROM \"task_candidates\" WHERE \
             \"task_candidates\".\"task_id\" = \"keyed\".\"id\" OFFSET 0) AS \"task_candidates\" WHERE ",
        );
    }
    text.sql.push('(');
    for (i, (kind, name)) in scans.iter().enumerate() {
        if i > 0 {
            text.sql.push_str(" OR ");
        }
        text.sql.push_str("(\"task_candidates\".\"kind\" = ");
        text.bind(Value::String(Some((*kind).to_owned())));
        text.sql.push_str(" AND \"task_candidates\".\"name\" = ");
        text.bind(Value::String(Some((*name).to_owned())));
        text.sql.push(')');
    }
    text.sql.push(')');
    candidate_conditions(&mut text, query, now);
    if backend == DbBackend::Sqlite {
        task_conditions(&mut text, query);
    }
    after_condition(&mut text, query, column);
    let _ = write!(text.sql, " ORDER BY \"k\" {dir}, \"task_id\" {dir}");
    text.limit(limit);
    let _ = write!(
        text.sql,
        ") AS \"page\" ON \"tasks\".\"id\" = \"page\".\"task_id\" ORDER BY \"page\".\"k\" {dir}, \"page\".\"task_id\" {dir}"
    );
    text.statement()
}

/// The candidate rows' column a page is ordered by, and how it is read as the page key.
fn sort_column(query: &InboxQuery) -> (&'static str, &'static str) {
    match query.sort.key {
        SortKey::Due => ("due_at", "\"task_candidates\".\"due_at\""),
        // Every key is read as a 64-bit integer (`priority` is a 32-bit column).
        SortKey::Priority => ("priority", "CAST(\"task_candidates\".\"priority\" AS BIGINT)"),
        SortKey::Created => ("created_at", "\"task_candidates\".\"created_at\""),
    }
}

/// One scanned `(kind, name)`'s keyset scan, returning `k` (the sort key) and `task_id`.
fn scan(text: &mut Text, query: &InboxQuery, (kind, name): (&str, &str), limit: u64, now: i64, dir: &str) {
    let (column, read) = sort_column(query);
    let filter = &query.filter;
    let _ = write!(
        text.sql,
        "SELECT {read} AS \"k\", \"task_candidates\".\"task_id\" AS \"task_id\" FROM \"task_candidates\""
    );
    // A filter by business key is read from the key instead (`of_one_business_key`).
    let joined = filter.state.is_some() || filter.flow.is_some();
    if joined {
        text.sql.push_str(" INNER JOIN \"tasks\" ON \"tasks\".\"id\" = \"task_candidates\".\"task_id\"");
    }
    text.sql.push_str(" WHERE \"task_candidates\".\"kind\" = ");
    text.bind(Value::String(Some(kind.to_owned())));
    text.sql.push_str(" AND \"task_candidates\".\"name\" = ");
    text.bind(Value::String(Some(name.to_owned())));
    candidate_conditions(text, query, now);
    if joined {
        task_conditions(text, query);
    }
    after_condition(text, query, column);
    let _ = write!(text.sql, " ORDER BY \"task_candidates\".\"{column}\" {dir}, \"task_candidates\".\"task_id\" {dir}");
    text.limit(limit);
}

/// The filters a candidate row answers itself (its copy of the due date).
fn candidate_conditions(text: &mut Text, query: &InboxQuery, now: i64) {
    if let Some(before) = query.filter.due_before {
        text.sql.push_str(" AND \"task_candidates\".\"due_at\" < ");
        text.bind(Value::BigInt(Some(before)));
    }
    if query.filter.overdue {
        text.sql.push_str(" AND \"task_candidates\".\"due_at\" < ");
        text.bind(Value::BigInt(Some(now)));
    }
}

/// Past the cursor, if the page has one: `(column, task_id)` beyond it in page order.
fn after_condition(text: &mut Text, query: &InboxQuery, column: &str) {
    if let Some(after) = query.after {
        let beyond = if query.sort.descending { "<" } else { ">" };
        let _ = write!(text.sql, " AND (\"task_candidates\".\"{column}\" {beyond} ");
        text.bind(Value::BigInt(Some(after.key)));
        let _ = write!(text.sql, " OR (\"task_candidates\".\"{column}\" = ");
        text.bind(Value::BigInt(Some(after.key)));
        let _ = write!(text.sql, " AND \"task_candidates\".\"task_id\" {beyond} ");
        text.bind(Value::BigInt(Some(after.task_id)));
        text.sql.push_str("))");
    }
}

/// The conditions only a joined `tasks` row answers: its state, flow and business key.
fn task_conditions(text: &mut Text, query: &InboxQuery) {
    let filter = &query.filter;
    match filter.state {
        None => {
            text.sql.push_str(" AND \"tasks\".\"state\" IN (");
            text.bind(Value::String(Some("open".to_owned())));
            text.sql.push_str(", ");
            text.bind(Value::String(Some("escalated".to_owned())));
            text.sql.push(')');
        }
        Some(state @ (TaskStateFilter::Unclaimed | TaskStateFilter::Claimed)) => {
            text.sql.push_str(" AND (\"tasks\".\"state\" = ");
            text.bind(Value::String(Some("open".to_owned())));
            text.sql.push_str(match state {
                TaskStateFilter::Unclaimed => " AND \"tasks\".\"assignee\" IS NULL)",
                _ => " AND \"tasks\".\"assignee\" IS NOT NULL)",
            });
        }
        Some(TaskStateFilter::Escalated) => {
            text.sql.push_str(" AND \"tasks\".\"state\" = ");
            text.bind(Value::String(Some("escalated".to_owned())));
        }
    }
    if let Some(flow) = &filter.flow {
        text.sql.push_str(" AND \"tasks\".\"flow_key\" = ");
        text.bind(Value::String(Some(flow.clone())));
    }
    if let Some(key) = &filter.business_key {
        text.sql.push_str(" AND \"tasks\".\"business_key\" = ");
        text.bind(Value::String(Some(key.clone())));
    }
}

/// A statement being written: its text and its values, in order.
struct Text {
    backend: DbBackend,
    sql: String,
    values: Vec<Value>,
}

impl Text {
    fn new(backend: DbBackend) -> Text {
        Text { backend, sql: String::with_capacity(1024), values: Vec::with_capacity(16) }
    }

    /// Binds `value` at this point of the text: `?` on SQLite, `$n` on PostgreSQL.
    fn bind(&mut self, value: Value) {
        self.values.push(value);
        match self.backend {
            DbBackend::Postgres => {
                let _ = write!(self.sql, "${}", self.values.len());
            }
            _ => self.sql.push('?'),
        }
    }

    /// ` LIMIT n`: written into the text on SQLite (which plans a statement with its bound
    /// limit, so a bound one would be prepared again every time), bound elsewhere.
    fn limit(&mut self, n: u64) {
        match self.backend {
            DbBackend::Sqlite => {
                let _ = write!(self.sql, " LIMIT {n}");
            }
            _ => {
                self.sql.push_str(" LIMIT ");
                self.bind(Value::BigUnsigned(Some(n)));
            }
        }
    }

    fn statement(self) -> Statement {
        Statement { sql: self.sql, values: Some(Values(self.values)), db_backend: self.backend }
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{
        Alias, Asterisk, Cond, Expr, ExprTrait, JoinType, Order, Query, SelectStatement, UnionType,
    };

    use super::*;
    use crate::store::entity::{task_candidates as tc, tasks};
    use crate::store::inbox::{
        InboxCursor, InboxFilter, InboxScope, InboxSort, candidate_filters, join_tasks_if_needed,
    };
    use crate::store::sql::inline_sqlite_limits;

    /// The page's statement built with sea-query, as the store built it before it was
    /// written as text.
    fn built(backend: DbBackend, query: &InboxQuery, limit: u64, now: i64) -> Option<Statement> {
        let mut scans = scan_selects(query, limit, now).into_iter().enumerate().map(|(i, scan)| {
            let mut wrapped = Query::select();
            wrapped.column(Asterisk).from_subquery(scan, Alias::new(format!("scan{i}")));
            wrapped
        });
        let mut found = scans.next()?;
        found.unions(scans.map(|s| (UnionType::All, s)));
        let order = if query.sort.descending { Order::Desc } else { Order::Asc };
        let (page, key, task_id) = (Alias::new("page"), Alias::new("k"), Alias::new("task_id"));
        let mut cut = Query::select();
        cut.distinct()
            .columns([key.clone(), task_id.clone()])
            .from_subquery(found, Alias::new("found"))
            .order_by(key.clone(), order.clone())
            .order_by(task_id.clone(), order.clone())
            .limit(limit);
        let mut select = Query::select();
        select
            .column((tasks::Entity, Asterisk))
            .expr_as(Expr::col((page.clone(), key.clone())), Alias::new("page_key"))
            .from(tasks::Entity)
            .join_subquery(
                JoinType::InnerJoin,
                cut,
                page.clone(),
                Expr::col((tasks::Entity, tasks::Column::Id)).equals((page.clone(), task_id.clone())),
            )
            .order_by((page.clone(), key), order.clone())
            .order_by((page, task_id), order);
        Some(inline_sqlite_limits(backend.build(&select)))
    }

    /// One keyset scan per scanned `(kind, name)`, built with sea-query.
    fn scan_selects(query: &InboxQuery, limit: u64, now: i64) -> Vec<SelectStatement> {
        let order = if query.sort.descending { Order::Desc } else { Order::Asc };
        let key_col = match query.sort.key {
            SortKey::Due => tc::Column::DueAt,
            SortKey::Priority => tc::Column::Priority,
            SortKey::Created => tc::Column::CreatedAt,
        };
        let after = |key: Expr, id: Expr| -> Option<Cond> {
            query.after.map(|c| {
                let (beyond, id_beyond) = if query.sort.descending {
                    (key.clone().lt(c.key), id.lt(c.task_id))
                } else {
                    (key.clone().gt(c.key), id.gt(c.task_id))
                };
                Cond::any().add(beyond).add(Cond::all().add(key.eq(c.key)).add(id_beyond))
            })
        };
        scanned(&query.scope, &query.filter)
            .into_iter()
            .map(|(kind, name)| {
                let key = Expr::col((tc::Entity, key_col));
                let id = Expr::col((tc::Entity, tc::Column::TaskId));
                let read = match query.sort.key {
                    SortKey::Priority => key.clone().cast_as(Alias::new("BIGINT")),
                    _ => key.clone(),
                };
                let mut select = Query::select();
                select
                    .expr_as(read, Alias::new("k"))
                    .expr_as(id.clone(), Alias::new("task_id"))
                    .from(tc::Entity)
                    .and_where(Expr::col((tc::Entity, tc::Column::Kind)).eq(kind))
                    .and_where(Expr::col((tc::Entity, tc::Column::Name)).eq(name))
                    .cond_where(candidate_filters(&query.filter, now));
                join_tasks_if_needed(&mut select, &query.filter);
                if let Some(cond) = after(key, id) {
                    select.cond_where(cond);
                }
                select
                    .order_by((tc::Entity, key_col), order.clone())
                    .order_by((tc::Entity, tc::Column::TaskId), order.clone())
                    .limit(limit);
                select
            })
            .collect()
    }

    /// Every value of each of the query's parts, combined.
    fn every_query() -> Vec<InboxQuery> {
        let scopes = [
            InboxScope::Offered { groups: Vec::new(), user: None },
            InboxScope::Offered { groups: vec!["review".into()], user: None },
            InboxScope::Offered { groups: vec!["review".into(), "legal".into()], user: Some("li".into()) },
            InboxScope::Assigned("li".into()),
        ];
        let states =
            [None, Some(TaskStateFilter::Unclaimed), Some(TaskStateFilter::Claimed), Some(TaskStateFilter::Escalated)];
        let groups = [None, Some("legal"), Some("elsewhere")];
        let keys = [SortKey::Due, SortKey::Priority, SortKey::Created];
        let cursors = [None, Some(InboxCursor { key: -3, task_id: 41 })];
        let mut queries = Vec::new();
        for scope in &scopes {
            for state in states {
                for bits in 0..16u8 {
                    for group in groups {
                        for key in keys {
                            for descending in [false, true] {
                                for after in cursors {
                                    let filter = InboxFilter {
                                        state,
                                        flow: (bits & 1 != 0).then(|| "penalty-general".to_owned()),
                                        candidate_group: group.map(str::to_owned),
                                        business_key: (bits & 2 != 0).then(|| "ZF-2026-7".to_owned()),
                                        due_before: (bits & 4 != 0).then_some(1_767_225_600_000),
                                        overdue: bits & 8 != 0,
                                    };
                                    let sort = InboxSort { key, descending };
                                    queries.push(InboxQuery { scope: scope.clone(), filter, sort, limit: 20, after });
                                }
                            }
                        }
                    }
                }
            }
        }
        queries
    }

    #[test]
    fn every_page_statement_is_the_one_sea_query_builds() {
        let now = 1_764_547_200_000;
        let queries = every_query();
        assert_eq!(queries.len(), 4 * 4 * 16 * 3 * 3 * 2 * 2);
        let mut written_some = 0;
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for query in &queries {
                let written = page_statement(backend, query, 21, now);
                let expected = built(backend, query, 21, now);
                if query.filter.business_key.is_some() {
                    // Read from the key instead (`of_one_business_key`; the store's tests
                    // compare its pages with the whole inbox's), when the scans would read
                    // anything.
                    assert_eq!(written.is_some(), expected.is_some(), "{backend:?} {query:?}");
                } else {
                    assert_eq!(
                        written.as_ref().map(|s| (&s.sql, &s.values)),
                        expected.as_ref().map(|s| (&s.sql, &s.values)),
                        "{backend:?} {query:?}"
                    );
                }
                written_some += usize::from(written.is_some());
            }
        }
        // A scope scans nothing without groups, or with a candidate group outside them (or,
        // for the user by name, with any candidate group): half the queries, on each store.
        assert_eq!(written_some, queries.len(), "half the queries have a statement, on each of two stores");
    }

    #[test]
    fn a_page_of_one_business_key_starts_from_the_key() {
        let query = InboxQuery {
            scope: InboxScope::Offered { groups: vec!["review".into()], user: Some("rev".into()) },
            filter: InboxFilter {
                business_key: Some("ZF-1".into()),
                state: Some(TaskStateFilter::Unclaimed),
                ..InboxFilter::default()
            },
            sort: InboxSort::default(),
            limit: 1,
            after: Some(InboxCursor { key: 7, task_id: 9 }),
        };
        let sqlite = page_statement(DbBackend::Sqlite, &query, 2, 0).expect("a statement");
        assert!(sqlite.sql.contains("FROM \"cases\" CROSS JOIN \"tasks\""), "{}", sqlite.sql);
        assert!(!sqlite.sql.contains("UNION"), "one scan: {}", sqlite.sql);
        let values = sqlite.values.as_ref().map(|v| v.0.clone()).unwrap_or_default();
        let text = |s: &str| Value::String(Some(s.to_owned()));
        assert_eq!(
            values,
            [
                text("ZF-1"),
                text("group"),
                text("review"),
                text("user"),
                text("rev"),
                text("open"),
                text("ZF-1"),
                Value::BigInt(Some(7)),
                Value::BigInt(Some(7)),
                Value::BigInt(Some(9)),
            ]
        );
        assert_eq!(sqlite.sql.matches('?').count(), values.len(), "{}", sqlite.sql);
        // PostgreSQL reads the key's tasks behind a fence the planner keeps.
        let pg = page_statement(DbBackend::Postgres, &query, 2, 0).expect("a statement");
        assert!(!pg.sql.contains("UNION"), "one scan: {}", pg.sql);
        assert!(
            pg.sql.contains(
                "FROM (SELECT \"tasks\".\"id\" FROM \"tasks\" WHERE \"tasks\".\"case_id\" = ANY(ARRAY(SELECT \
                 \"cases\".\"id\" FROM \"cases\" WHERE \"cases\".\"business_key\" = $1)) AND (\"tasks\".\"state\" = $2 \
                 AND \"tasks\".\"assignee\" IS NULL) AND \"tasks\".\"business_key\" = $3 OFFSET 0) AS \"keyed\" CROSS JOIN \
                 LATERAL (SELECT * FROM \"task_candidates\" WHERE \"task_candidates\".\"task_id\" = \"keyed\".\"id\" OFFSET 0) \
                 AS \"task_candidates\" WHERE ((\"task_candidates\".\"kind\" = $4"
            ),
            "{}",
            pg.sql
        );
        let values = pg.values.as_ref().map(|v| v.0.clone()).unwrap_or_default();
        assert_eq!(values.len(), 11, "ten values and the limit: {values:?}");
        assert_eq!(pg.sql.matches('$').count(), values.len(), "{}", pg.sql);
    }

    #[test]
    fn a_sqlite_page_binds_no_limit_and_a_postgres_page_numbers_every_value() {
        let query = InboxQuery {
            scope: InboxScope::Offered { groups: vec!["review".into(), "legal".into()], user: None },
            filter: InboxFilter { business_key: Some("ZF-1".into()), ..InboxFilter::default() },
            sort: InboxSort::default(),
            limit: 1,
            after: None,
        };
        let sqlite = page_statement(DbBackend::Sqlite, &query, 2, 0).expect("a statement");
        assert!(sqlite.sql.contains(" LIMIT 2") && !sqlite.sql.contains("LIMIT ?"), "{}", sqlite.sql);
        let pg = page_statement(DbBackend::Postgres, &query, 2, 0).expect("a statement");
        let bound = pg.values.as_ref().map_or(0, |v| v.0.len());
        assert_eq!(pg.sql.matches('$').count(), bound);
        assert!(pg.sql.contains(&format!("LIMIT ${bound})")), "the page's own limit is bound last: {}", pg.sql);
        assert!(!pg.sql.contains('?'));
    }

    /// `value` as an SQL literal, for `EXPLAIN EXECUTE`.
    fn literal(value: &Value) -> String {
        match value {
            Value::String(Some(s)) => format!("'{}'", s.replace('\'', "''")),
            Value::BigInt(Some(n)) => n.to_string(),
            Value::BigUnsigned(Some(n)) => n.to_string(),
            other => panic!("no literal for {other:?}"),
        }
    }

    /// On PostgreSQL, a page of one business key reads the inbox rows of the key's tasks by
    /// the table's key, never the inbox index, in the generic plan a connection keeps, made on
    /// empty tables (where the planner costs every index alike and the statistics say
    /// nothing): the plan that walked a whole group's inbox to find one case's task.
    #[tokio::test]
    async fn a_postgres_page_of_one_business_key_reads_inbox_rows_by_task() {
        use sea_orm::{ConnectionTrait, Database, TransactionTrait};

        use crate::store::{Store, StoreConfig};

        if crate::store::pg_writer::tests::writer().await.is_none() {
            return;
        }
        let server = "postgres://postgres@127.0.0.1:5432";
        let admin = Database::connect(format!("{server}/test")).await.expect("connect");
        let name = format!("docket_inbox_plan_{}", std::process::id());
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create");
        let store = Store::connect(StoreConfig::new(format!("{server}/{name}"))).await.expect("connect");
        store.migrate().await.expect("migrate");
        let mut plans = Vec::new();
        for (i, state) in
            [None, Some(TaskStateFilter::Unclaimed), Some(TaskStateFilter::Escalated)].into_iter().enumerate()
        {
            let query = InboxQuery {
                scope: InboxScope::Offered { groups: vec!["review".into(), "legal".into()], user: Some("li".into()) },
                filter: InboxFilter { business_key: Some("ZF-1".into()), state, ..InboxFilter::default() },
                sort: InboxSort::default(),
                limit: 20,
                after: (i == 1).then_some(InboxCursor { key: 7, task_id: 9 }),
            };
            let page = page_statement(DbBackend::Postgres, &query, 21, 0).expect("a statement");
            let values = page.values.as_ref().map(|v| v.0.iter().map(literal).collect::<Vec<_>>()).unwrap_or_default();
            let txn = store.db().begin().await.expect("begin");
            txn.execute_unprepared("SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_generic_plan")
                .await
                .expect("settings");
            txn.execute_unprepared(&format!("PREPARE page_{i} AS {}", page.sql)).await.expect("prepare");
            let explain = format!("EXPLAIN EXECUTE page_{i} ({})", values.join(", "));
            let rows = txn.query_all_raw(Statement::from_string(DbBackend::Postgres, explain)).await.expect("plan");
            let plan: Vec<String> = rows.iter().map(|r| r.try_get_by_index::<String>(0).expect("a line")).collect();
            txn.rollback().await.expect("rollback");
            plans.push(plan);
        }
        store.shutdown().await;
        drop(store);
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        for plan in plans {
            let has = |index: &str| plan.iter().any(|line| line.contains(index));
            assert!(!has("idx_task_candidates_by_due_at"), "the inbox index is read: {plan:#?}");
            assert!(has("task_candidates_pkey") && has("idx_cases_business_key"), "{plan:#?}");
        }
    }
}
