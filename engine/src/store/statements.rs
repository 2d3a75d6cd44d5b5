//! The statements every case runs through, written as SQL text once.
//!
//! A command writes its case row, its audit entry and its effects' rows, about ten statements,
//! worked out on the caller's thread for every command (see `prepared`). Built with sea-query,
//! each is an expression tree allocated, cloned, walked and written out as text every time:
//! on SQLite that was a fifth of the engine's CPU per command. The writes of the common path
//! (a case's row, its audit entry, a task's row and inbox rows, records, publications) are
//! written here once instead, in the text sea-query writes for each store, so that `lot`
//! merges them and the connections' statement caches find them as before, with their values
//! bound in the same order and of the same types. The tests check each against the statement
//! sea-orm builds for the same row, on both stores. Rarer writes are built with sea-orm where
//! they are made (`effects`).

use std::fmt::Write as _;
use std::sync::OnceLock;

use sea_orm::sea_query::{Value, Values};
use sea_orm::{DbBackend, Statement};

use super::audit::{LogRow, StoredEntry};
use super::entity::cases;
use super::inbox::NO_DUE;
use crate::core::{RecordRef, TaskKey};
use crate::time::Timestamp;

/// A statement's text, written with `?` placeholders (SQLite's); PostgreSQL's numbered
/// `$1, $2, ...` the first time it is asked for.
struct Sql {
    text: &'static str,
    numbered: OnceLock<String>,
}

impl Sql {
    const fn new(text: &'static str) -> Sql {
        Sql { text, numbered: OnceLock::new() }
    }

    fn with(&self, backend: DbBackend, values: Vec<Value>) -> Statement {
        let sql = match backend {
            DbBackend::Postgres => self.numbered.get_or_init(|| numbered(self.text)).clone(),
            _ => self.text.to_owned(),
        };
        statement(backend, sql, values)
    }
}

fn statement(backend: DbBackend, sql: String, values: Vec<Value>) -> Statement {
    Statement { sql, values: Some(Values(values)), db_backend: backend }
}

/// `text` with its `?` placeholders numbered for PostgreSQL. The texts here have no `?`
/// anywhere else (no literals: every value is bound).
fn numbered(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    for (n, piece) in text.split('?').enumerate() {
        if n > 0 {
            let _ = write!(out, "${n}");
        }
        out.push_str(piece);
    }
    out
}

fn text(value: &str) -> Value {
    Value::String(Some(value.to_owned()))
}

fn text_or_null(value: Option<&str>) -> Value {
    Value::String(value.map(str::to_owned))
}

static CASE_INSERT: Sql = Sql::new(
    "INSERT INTO \"cases\" (\"id\", \"definition_id\", \"flow_key\", \"flow_version\", \"business_key\", \
     \"status\", \"state\", \"version\", \"parent_case_id\", \"parent_call\", \"audit_seq\", \"audit_hash\", \
     \"created_at\", \"updated_at\", \"closed_at\", \"wake_at\", \"wake_timer\", \"wake_lease_owner\", \
     \"wake_lease_until\") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
);

/// A new case's first row.
pub(crate) fn case_insert(backend: DbBackend, row: &cases::Model) -> Statement {
    CASE_INSERT.with(
        backend,
        vec![
            text(&row.id),
            row.definition_id.into(),
            text(&row.flow_key),
            row.flow_version.into(),
            text_or_null(row.business_key.as_deref()),
            text(&row.status),
            text(&row.state),
            row.version.into(),
            text_or_null(row.parent_case_id.as_deref()),
            row.parent_call.into(),
            row.audit_seq.into(),
            text(&row.audit_hash),
            row.created_at.into(),
            row.updated_at.into(),
            row.closed_at.into(),
            row.wake_at.into(),
            row.wake_timer.into(),
            text_or_null(row.wake_lease_owner.as_deref()),
            row.wake_lease_until.into(),
        ],
    )
}

/// The columns every case update sets, up to its lease columns.
macro_rules! case_update_head {
    () => {
        "UPDATE \"cases\" SET \"definition_id\" = ?, \"flow_version\" = ?, \"state\" = ?, \"status\" = ?, \
         \"version\" = ?, \"audit_seq\" = ?, \"audit_hash\" = ?, \"updated_at\" = ?, \"closed_at\" = ?, \
         \"wake_at\" = ?, \"wake_timer\" = ?, "
    };
}

/// A case update when the case will wake for a timer: its lease stays if the row already
/// names that timer (a node may be firing it).
static CASE_UPDATE_KEEPING_LEASE: Sql = Sql::new(concat!(
    case_update_head!(),
    "\"wake_lease_owner\" = (CASE WHEN (\"cases\".\"wake_timer\" = ?) THEN \"wake_lease_owner\" ELSE NULL END), \
     \"wake_lease_until\" = (CASE WHEN (\"cases\".\"wake_timer\" = ?) THEN \"wake_lease_until\" ELSE NULL END) \
     WHERE \"cases\".\"id\" = ? AND \"cases\".\"version\" = ?"
));

/// A case update when the case waits for no timer: no lease either.
static CASE_UPDATE_WITHOUT_LEASE: Sql = Sql::new(concat!(
    case_update_head!(),
    "\"wake_lease_owner\" = NULL, \"wake_lease_until\" = NULL WHERE \"cases\".\"id\" = ? AND \"cases\".\"version\" = ?"
));

/// A case's new row over the one at `loaded_version`, the version guard every change of a
/// case goes through: it changes no row when the case moved on meanwhile. The lease columns
/// are kept while the case's next timer is the one the row already names (the lease is on
/// the database's row, not on the copy the command was worked out from), else cleared.
pub(crate) fn case_update(backend: DbBackend, written: &cases::Model, loaded_version: i64) -> Statement {
    let mut values = vec![
        written.definition_id.into(),
        written.flow_version.into(),
        text(&written.state),
        text(&written.status),
        written.version.into(),
        written.audit_seq.into(),
        text(&written.audit_hash),
        written.updated_at.into(),
        written.closed_at.into(),
        written.wake_at.into(),
        written.wake_timer.into(),
    ];
    let sql = match written.wake_timer {
        Some(timer) => {
            values.extend([timer.into(), timer.into()]);
            &CASE_UPDATE_KEEPING_LEASE
        }
        None => &CASE_UPDATE_WITHOUT_LEASE,
    };
    values.extend([text(&written.id), loaded_version.into()]);
    sql.with(backend, values)
}

static AUDIT_INSERT: Sql = Sql::new(
    "INSERT INTO \"audit_log\" (\"case_id\", \"seq\", \"at\", \"actor\", \"kind\", \"detail\", \"prev_hash\", \
     \"hash\") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
);

/// An audit entry's row.
pub(crate) fn audit_insert(backend: DbBackend, row: LogRow) -> Statement {
    let LogRow { case_id, entry: StoredEntry { seq, at, actor, kind, detail, prev_hash, hash } } = row;
    AUDIT_INSERT.with(
        backend,
        vec![
            case_id.into(),
            seq.into(),
            at.into(),
            actor.into(),
            kind.into(),
            detail.into(),
            prev_hash.into(),
            hash.into(),
        ],
    )
}

/// A task's row as it is created.
pub(crate) struct NewTask<'a> {
    /// Its case.
    pub case_id: &'a str,
    /// Its key in the case.
    pub task: TaskKey,
    /// The node that created it.
    pub node_id: &'a str,
    /// Its display name.
    pub name: &'a str,
    /// Its case's flow and version.
    pub flow_key: &'a str,
    /// Its case's flow version.
    pub flow_version: i32,
    /// Its case's business key.
    pub business_key: Option<&'a str>,
    /// Who has it, if anyone.
    pub assignee: Option<&'a str>,
    /// Candidate users, as a JSON array.
    pub candidate_users: String,
    /// Candidate groups, as a JSON array.
    pub candidate_groups: String,
    /// Inbox priority.
    pub priority: i32,
    /// When it is due.
    pub due_at: Option<i64>,
    /// When it was created.
    pub created_at: Timestamp,
}

static TASK_INSERT: Sql = Sql::new(
    "INSERT INTO \"tasks\" (\"case_id\", \"task_key\", \"node_id\", \"name\", \"flow_key\", \"flow_version\", \
     \"business_key\", \"state\", \"assignee\", \"candidate_users\", \"candidate_groups\", \"priority\", \"due_at\", \
     \"created_at\", \"closed_at\", \"completed_by\", \"outcome\") \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
);

/// A new open task's row.
pub(crate) fn task_insert(backend: DbBackend, task: NewTask<'_>) -> Statement {
    TASK_INSERT.with(
        backend,
        vec![
            text(task.case_id),
            (task.task.0 as i32).into(),
            text(task.node_id),
            text(task.name),
            text(task.flow_key),
            task.flow_version.into(),
            text_or_null(task.business_key),
            text("open"),
            text_or_null(task.assignee),
            task.candidate_users.into(),
            task.candidate_groups.into(),
            task.priority.into(),
            task.due_at.into(),
            task.created_at.0.into(),
            Value::BigInt(None),
            Value::String(None),
            Value::String(None),
        ],
    )
}

static TASK_ASSIGN: Sql =
    Sql::new("UPDATE \"tasks\" SET \"assignee\" = ? WHERE \"tasks\".\"case_id\" = ? AND \"tasks\".\"task_key\" = ?");

/// A task given to `assignee`, or given back (`None`).
pub(crate) fn task_assign(backend: DbBackend, case_id: &str, task: TaskKey, assignee: Option<&str>) -> Statement {
    TASK_ASSIGN.with(backend, vec![text_or_null(assignee), text(case_id), (task.0 as i32).into()])
}

static TASK_COMPLETE: Sql = Sql::new(
    "UPDATE \"tasks\" SET \"state\" = ?, \"completed_by\" = ?, \"outcome\" = ?, \"closed_at\" = ? \
     WHERE \"tasks\".\"case_id\" = ? AND \"tasks\".\"task_key\" = ?",
);

/// A task completed by `by` with `outcome`, at `at`.
pub(crate) fn task_complete(
    backend: DbBackend,
    case_id: &str,
    task: TaskKey,
    by: &str,
    outcome: Option<&str>,
    at: Timestamp,
) -> Statement {
    TASK_COMPLETE.with(
        backend,
        vec![text("completed"), text(by), text_or_null(outcome), at.0.into(), text(case_id), (task.0 as i32).into()],
    )
}

/// The inbox rows of a case's task, `"task_id" = (the task's row id)`: a scalar subquery, so
/// that the rows are read by the primary key `(task_id, kind, name)` (see `effects`).
macro_rules! of_task {
    () => {
        "\"task_candidates\".\"task_id\" = (SELECT \"id\" FROM \"tasks\" \
         WHERE \"tasks\".\"case_id\" = ? AND \"tasks\".\"task_key\" = ?)"
    };
}

static INBOX_ROWS_DROP: Sql = Sql::new(concat!("DELETE FROM \"task_candidates\" WHERE ", of_task!()));

static INBOX_ROWS_DROP_KIND: Sql =
    Sql::new(concat!("DELETE FROM \"task_candidates\" WHERE ", of_task!(), " AND \"task_candidates\".\"kind\" = ?"));

/// A closed task's inbox rows, all of them.
pub(crate) fn inbox_rows_drop(backend: DbBackend, case_id: &str, task: TaskKey) -> Statement {
    INBOX_ROWS_DROP.with(backend, vec![text(case_id), (task.0 as i32).into()])
}

/// A task's inbox rows of one kind (its `assignee` row, when it changes hands).
pub(crate) fn inbox_rows_drop_kind(backend: DbBackend, case_id: &str, task: TaskKey, kind: &str) -> Statement {
    INBOX_ROWS_DROP_KIND.with(backend, vec![text(case_id), (task.0 as i32).into(), text(kind)])
}

/// One inbox row of [`inbox_rows_add`], read off the task's row.
const INBOX_ROW: &str = "SELECT \"id\", ?, ?, COALESCE(\"due_at\", ?), \"priority\", \"created_at\" FROM \"tasks\" \
                         WHERE \"tasks\".\"case_id\" = ? AND \"tasks\".\"task_key\" = ?";

/// Gives a case's task the inbox rows `(kind, name)` (each kept if already there), with the
/// task's due date, priority and creation time copied from its row for the inbox's orderings;
/// `None` for no rows. The task is named by its case and key, not by its row id, so that the
/// statement can be written before the task's row exists (see `prepared`).
pub(crate) fn inbox_rows_add(
    backend: DbBackend,
    case_id: &str,
    task: TaskKey,
    rows: &[(&str, &str)],
) -> Option<Statement> {
    if rows.is_empty() {
        return None;
    }
    let mut sql = String::with_capacity(160 + rows.len() * (INBOX_ROW.len() + 16));
    sql.push_str(
        "INSERT INTO \"task_candidates\" (\"task_id\", \"kind\", \"name\", \"due_at\", \"priority\", \"created_at\") ",
    );
    let mut values = Vec::with_capacity(rows.len() * 5);
    for (i, (kind, name)) in rows.iter().enumerate() {
        // As sea-query writes a union: PostgreSQL's later members in parentheses.
        match (i, backend) {
            (0, _) => sql.push_str(INBOX_ROW),
            (_, DbBackend::Postgres) => {
                sql.push_str(" UNION ALL (");
                sql.push_str(INBOX_ROW);
                sql.push(')');
            }
            _ => {
                sql.push_str(" UNION ALL ");
                sql.push_str(INBOX_ROW);
            }
        }
        values.extend([text(kind), text(name), NO_DUE.into(), text(case_id), (task.0 as i32).into()]);
    }
    sql.push_str(" ON CONFLICT (\"task_id\", \"kind\", \"name\") DO NOTHING");
    let sql = if backend == DbBackend::Postgres { numbered(&sql) } else { sql };
    Some(statement(backend, sql, values))
}

/// One row of [`records_insert`].
const RECORD_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?)";

/// Files records with a task, all in one statement; `None` for no records.
pub(crate) fn records_insert(
    backend: DbBackend,
    case_id: &str,
    task: TaskKey,
    records: &[RecordRef],
    by: &str,
    at: Timestamp,
) -> Option<Statement> {
    if records.is_empty() {
        return None;
    }
    let mut sql = String::from(
        "INSERT INTO \"evidence_records\" (\"case_id\", \"task_key\", \"kind\", \"sha256\", \"size\", \"uri\", \
         \"attached_by\", \"attached_at\") VALUES ",
    );
    let mut values = Vec::with_capacity(records.len() * 8);
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(RECORD_ROW);
        values.extend([
            text(case_id),
            (task.0 as i32).into(),
            text(&record.kind),
            text(&record.sha256),
            (record.size as i64).into(),
            text(&record.uri),
            text(by),
            at.0.into(),
        ]);
    }
    let sql = if backend == DbBackend::Postgres { numbered(&sql) } else { sql };
    Some(statement(backend, sql, values))
}

static PUBLICATION_OPEN: Sql = Sql::new(
    "INSERT INTO \"publications\" (\"case_id\", \"publication_key\", \"node_id\", \"category\", \"due_at\", \
     \"opened_at\", \"published_at\") VALUES (?, ?, ?, ?, ?, ?, ?)",
);

/// A decision awaiting publication by `due` (行政执法公示).
pub(crate) fn publication_open(
    backend: DbBackend,
    case_id: &str,
    publication: u32,
    node_id: &str,
    category: &str,
    due: Timestamp,
    at: Timestamp,
) -> Statement {
    PUBLICATION_OPEN.with(
        backend,
        vec![
            text(case_id),
            (publication as i32).into(),
            text(node_id),
            text(category),
            due.0.into(),
            at.0.into(),
            Value::BigInt(None),
        ],
    )
}

static PUBLICATION_MADE: Sql = Sql::new(
    "UPDATE \"publications\" SET \"published_at\" = ? WHERE \"publications\".\"case_id\" = ? \
     AND \"publications\".\"publication_key\" = ? AND \"publications\".\"published_at\" IS NULL",
);

/// A decision published at `at`: it leaves the queue of those awaiting it. A late or repeated
/// report changes nothing.
pub(crate) fn publication_made(backend: DbBackend, case_id: &str, publication: u32, at: Timestamp) -> Statement {
    PUBLICATION_MADE.with(backend, vec![at.0.into(), text(case_id), (publication as i32).into()])
}

#[cfg(test)]
mod tests {
    //! Each statement against the one sea-orm builds for the same row.

    use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Query, UnionType};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait, Set};

    use super::*;
    use crate::store::entity::{audit_log, evidence_records, publications, task_candidates, tasks};
    use crate::store::inbox::{ASSIGNEE, GROUP, USER};

    const BACKENDS: [DbBackend; 2] = [DbBackend::Sqlite, DbBackend::Postgres];

    fn same(ours: Statement, theirs: &impl sea_orm::StatementBuilder) {
        let theirs = ours.db_backend.build(theirs);
        assert_eq!(ours.sql, theirs.sql, "{:?}", ours.db_backend);
        assert_eq!(ours.values, theirs.values, "{:?}", ours.db_backend);
    }

    fn case_row(wake_timer: Option<i32>, version: i64) -> cases::Model {
        cases::Model {
            id: "0193-case".into(),
            definition_id: 3,
            flow_key: "penalty-general".into(),
            flow_version: 2,
            business_key: Some("京执罚〔2024〕1号".into()),
            status: "running".into(),
            state: "{\"tokens\":[]}".into(),
            version,
            parent_case_id: None,
            parent_call: Some(4),
            audit_seq: 7,
            audit_hash: "ab".into(),
            created_at: 10,
            updated_at: 20,
            closed_at: None,
            wake_at: wake_timer.map(|_| 99),
            wake_timer,
            wake_lease_owner: Some("node-1".into()),
            wake_lease_until: Some(50),
        }
    }

    fn task_rows(case_id: &str, task: i32) -> sea_orm::UpdateMany<tasks::Entity> {
        tasks::Entity::update_many().filter(tasks::Column::CaseId.eq(case_id)).filter(tasks::Column::TaskKey.eq(task))
    }

    fn of_task(case_id: &str, task: i32) -> Expr {
        let id = Query::select()
            .column(tasks::Column::Id)
            .from(tasks::Entity)
            .and_where(tasks::Column::CaseId.eq(case_id))
            .and_where(tasks::Column::TaskKey.eq(task))
            .to_owned();
        ExprTrait::eq(
            Expr::col((task_candidates::Entity, task_candidates::Column::TaskId)),
            Expr::SubQuery(None, Box::new(id.into())),
        )
    }

    #[test]
    fn postgres_placeholders_are_numbered_in_order() {
        assert_eq!(numbered("a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
        assert_eq!(numbered("no parameters"), "no parameters");
    }

    #[test]
    fn case_rows_are_written_as_sea_orm_writes_them() {
        for backend in BACKENDS {
            let row = case_row(Some(5), 1);
            same(
                case_insert(backend, &row),
                &cases::Entity::insert(row.clone().into_active_model().reset_all()).into_query(),
            );
            for wake_timer in [Some(5), None] {
                let written = case_row(wake_timer, 8);
                let lease = |column: cases::Column| match wake_timer {
                    Some(timer) => {
                        Expr::case(cases::Column::WakeTimer.eq(timer), Expr::col(column)).finally(Expr::null()).into()
                    }
                    None => Expr::null(),
                };
                let theirs = cases::Entity::update_many()
                    .col_expr(cases::Column::DefinitionId, Expr::value(written.definition_id))
                    .col_expr(cases::Column::FlowVersion, Expr::value(written.flow_version))
                    .col_expr(cases::Column::State, Expr::value(written.state.clone()))
                    .col_expr(cases::Column::Status, Expr::value(written.status.clone()))
                    .col_expr(cases::Column::Version, Expr::value(written.version))
                    .col_expr(cases::Column::AuditSeq, Expr::value(written.audit_seq))
                    .col_expr(cases::Column::AuditHash, Expr::value(written.audit_hash.clone()))
                    .col_expr(cases::Column::UpdatedAt, Expr::value(written.updated_at))
                    .col_expr(cases::Column::ClosedAt, Expr::value(written.closed_at))
                    .col_expr(cases::Column::WakeAt, Expr::value(written.wake_at))
                    .col_expr(cases::Column::WakeTimer, Expr::value(written.wake_timer))
                    .col_expr(cases::Column::WakeLeaseOwner, lease(cases::Column::WakeLeaseOwner))
                    .col_expr(cases::Column::WakeLeaseUntil, lease(cases::Column::WakeLeaseUntil))
                    .filter(cases::Column::Id.eq(&written.id))
                    .filter(cases::Column::Version.eq(7i64))
                    .into_query();
                same(case_update(backend, &written, 7), &theirs);
            }
        }
    }

    #[test]
    fn audit_rows_are_written_as_sea_orm_writes_them() {
        let entry = StoredEntry {
            seq: 2,
            at: 30,
            actor: "rev".into(),
            kind: "complete".into(),
            detail: "{}".into(),
            prev_hash: "aa".into(),
            hash: "bb".into(),
        };
        let row = LogRow { case_id: "c".into(), entry: entry.clone() };
        for backend in BACKENDS {
            let theirs = audit_log::Entity::insert(audit_log::ActiveModel {
                case_id: Set(row.case_id.clone()),
                seq: Set(entry.seq),
                at: Set(entry.at),
                actor: Set(entry.actor.clone()),
                kind: Set(entry.kind.clone()),
                detail: Set(entry.detail.clone()),
                prev_hash: Set(entry.prev_hash.clone()),
                hash: Set(entry.hash.clone()),
                ..Default::default()
            })
            .into_query();
            same(audit_insert(backend, row.clone()), &theirs);
        }
    }

    #[test]
    fn task_rows_are_written_as_sea_orm_writes_them() {
        for backend in BACKENDS {
            for (assignee, due) in [(None, None), (Some("h1"), Some(77))] {
                let ours = task_insert(
                    backend,
                    NewTask {
                        case_id: "c",
                        task: TaskKey(3),
                        node_id: "filing",
                        name: "立案",
                        flow_key: "penalty-general",
                        flow_version: 2,
                        business_key: assignee.map(|_| "bk"),
                        assignee,
                        candidate_users: "[\"h1\"]".into(),
                        candidate_groups: "[]".into(),
                        priority: 50,
                        due_at: due,
                        created_at: Timestamp(12),
                    },
                );
                let theirs = tasks::Entity::insert(tasks::ActiveModel {
                    case_id: Set("c".into()),
                    task_key: Set(3),
                    node_id: Set("filing".into()),
                    name: Set("立案".into()),
                    flow_key: Set("penalty-general".into()),
                    flow_version: Set(2),
                    business_key: Set(assignee.map(|_| "bk".to_owned())),
                    state: Set("open".into()),
                    assignee: Set(assignee.map(str::to_owned)),
                    candidate_users: Set("[\"h1\"]".into()),
                    candidate_groups: Set("[]".into()),
                    priority: Set(50),
                    due_at: Set(due),
                    created_at: Set(12),
                    closed_at: Set(None),
                    completed_by: Set(None),
                    outcome: Set(None),
                    ..Default::default()
                })
                .into_query();
                same(ours, &theirs);
                let theirs = task_rows("c", 3)
                    .col_expr(tasks::Column::Assignee, Expr::value(assignee.map(str::to_owned)))
                    .into_query();
                same(task_assign(backend, "c", TaskKey(3), assignee), &theirs);
            }
            let theirs = task_rows("c", 3)
                .col_expr(tasks::Column::State, Expr::value("completed"))
                .col_expr(tasks::Column::CompletedBy, Expr::value("rev".to_owned()))
                .col_expr(tasks::Column::Outcome, Expr::value(Some("approved".to_owned())))
                .col_expr(tasks::Column::ClosedAt, Expr::value(40i64))
                .into_query();
            same(task_complete(backend, "c", TaskKey(3), "rev", Some("approved"), Timestamp(40)), &theirs);
        }
    }

    #[test]
    fn inbox_rows_are_written_as_sea_orm_writes_them() {
        for backend in BACKENDS {
            let theirs = task_candidates::Entity::delete_many().filter(of_task("c", 3)).into_query();
            same(inbox_rows_drop(backend, "c", TaskKey(3)), &theirs);
            let theirs = task_candidates::Entity::delete_many()
                .filter(of_task("c", 3))
                .filter(task_candidates::Column::Kind.eq(ASSIGNEE))
                .into_query();
            same(inbox_rows_drop_kind(backend, "c", TaskKey(3), ASSIGNEE), &theirs);
            assert!(inbox_rows_add(backend, "c", TaskKey(3), &[]).is_none());
            for rows in [&[(GROUP, "review")][..], &[(GROUP, "review"), (GROUP, "legal"), (USER, "rev")]] {
                let mut selects = rows.iter().map(|(kind, name)| {
                    Query::select()
                        .column(tasks::Column::Id)
                        .expr(Expr::val(*kind))
                        .expr(Expr::val(*name))
                        .expr(Func::coalesce([Expr::col(tasks::Column::DueAt), Expr::val(NO_DUE)]))
                        .column(tasks::Column::Priority)
                        .column(tasks::Column::CreatedAt)
                        .from(tasks::Entity)
                        .and_where(tasks::Column::CaseId.eq("c"))
                        .and_where(tasks::Column::TaskKey.eq(3))
                        .to_owned()
                });
                let mut select = selects.next().expect("a row");
                for row in selects {
                    select.union(UnionType::All, row);
                }
                let theirs = Query::insert()
                    .into_table(task_candidates::Entity)
                    .columns([
                        task_candidates::Column::TaskId,
                        task_candidates::Column::Kind,
                        task_candidates::Column::Name,
                        task_candidates::Column::DueAt,
                        task_candidates::Column::Priority,
                        task_candidates::Column::CreatedAt,
                    ])
                    .select_from(select)
                    .expect("columns match")
                    .on_conflict(
                        OnConflict::columns([
                            task_candidates::Column::TaskId,
                            task_candidates::Column::Kind,
                            task_candidates::Column::Name,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .to_owned();
                same(inbox_rows_add(backend, "c", TaskKey(3), rows).expect("rows"), &theirs);
            }
        }
    }

    #[test]
    fn records_and_publications_are_written_as_sea_orm_writes_them() {
        let record =
            |kind: &str| RecordRef { kind: kind.into(), sha256: "0".repeat(64), size: 9, uri: "s3://r".into() };
        for backend in BACKENDS {
            assert!(records_insert(backend, "c", TaskKey(3), &[], "h1", Timestamp(5)).is_none());
            for records in [vec![record("text")], vec![record("text"), record("audio_video")]] {
                let theirs =
                    evidence_records::Entity::insert_many(records.iter().map(|r| evidence_records::ActiveModel {
                        case_id: Set("c".into()),
                        task_key: Set(3),
                        kind: Set(r.kind.clone()),
                        sha256: Set(r.sha256.clone()),
                        size: Set(r.size as i64),
                        uri: Set(r.uri.clone()),
                        attached_by: Set("h1".into()),
                        attached_at: Set(5),
                        ..Default::default()
                    }))
                    .into_query();
                same(records_insert(backend, "c", TaskKey(3), &records, "h1", Timestamp(5)).expect("records"), &theirs);
            }
            let theirs = publications::Entity::insert(publications::ActiveModel {
                case_id: Set("c".into()),
                publication_key: Set(1),
                node_id: Set("publish".into()),
                category: Set("penalty".into()),
                due_at: Set(70),
                opened_at: Set(60),
                published_at: Set(None),
                ..Default::default()
            })
            .into_query();
            same(publication_open(backend, "c", 1, "publish", "penalty", Timestamp(70), Timestamp(60)), &theirs);
            let theirs = publications::Entity::update_many()
                .col_expr(publications::Column::PublishedAt, Expr::value(80i64))
                .filter(publications::Column::CaseId.eq("c"))
                .filter(publications::Column::PublicationKey.eq(1))
                .filter(publications::Column::PublishedAt.is_null())
                .into_query();
            same(publication_made(backend, "c", 1, Timestamp(80)), &theirs);
        }
    }
}
