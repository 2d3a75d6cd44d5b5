//! The SQLite committer's own connection, and the node's read-only ones.
//!
//! SQLite has one writer at a time, so on SQLite one committer runs every command. It runs on
//! a thread of its own with a connection of its own, opened with `rusqlite` and driven
//! directly: each statement runs on the committer's thread from a cache of prepared
//! statements, instead of being handed to a driver thread and back for every statement (as
//! the pool's `sqlx` connections do; they serve reads and the workers). Rows are read straight
//! into the models (see `row_model`). The hot
//! reads (a task by id, inbox pages) run the same way on read-only connections of the same
//! kind ([`SqliteReaders`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use sea_orm::sea_query::{SelectStatement, Value};
use sea_orm::{DbBackend, DbErr, Statement};

use super::command_db::{CommandDb, CommandRow};
use super::row_model::{Cell, model_of};
use super::sql::{has_bound_limit, inline_sqlite_limits};

/// A SQLite connection driven directly: the one writer's, or a read-only one (see
/// [`SqliteReaders`]).
pub(crate) struct SqliteWriter {
    conn: Mutex<rusqlite::Connection>,
}

/// The file a `sqlite:` URL names, or `None` for an in-memory database (which only its own
/// connection can see, so the pool writes to it).
pub(crate) fn file_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:") && !url.contains("mode=memory")).then_some(path)
}

fn db_err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("sqlite: {e}"))
}

impl SqliteWriter {
    /// Opens the database file with the store's guarantees: WAL journal, `synchronous=FULL`
    /// (a commit is on disk before its callers are answered), foreign keys, and a busy
    /// timeout for the moments another connection of the node holds the write lock.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub(crate) fn open(path: &str) -> Result<SqliteWriter, DbErr> {
        let conn = rusqlite::Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db_err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(256);
        Ok(SqliteWriter { conn: Mutex::new(conn) })
    }

    /// Opens the database file for reads only (`query_only`), with the same busy timeout.
    ///
    /// # Errors
    /// When the file cannot be opened.
    fn open_reader(path: &str) -> Result<SqliteWriter, DbErr> {
        let conn = rusqlite::Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db_err)?;
        conn.execute_batch("PRAGMA query_only = ON;").map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteWriter { conn: Mutex::new(conn) })
    }

    fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Result<T, DbErr> {
        let conn = self.conn.lock().map_err(|_| DbErr::Custom("sqlite: the connection is poisoned".into()))?;
        f(&conn).map_err(db_err)
    }

    /// Runs SQL without parameters, one or more statements (`CREATE TABLE ...; ...`).
    #[cfg(test)]
    pub(crate) fn batch(&self, sql: &str) -> Result<(), DbErr> {
        self.with(|conn| conn.execute_batch(sql))
    }

    /// Runs one statement without parameters from the connection's prepared statements
    /// (`BEGIN IMMEDIATE`, `COMMIT`, `ROLLBACK`: every batch runs two of them, and preparing
    /// them each time was a tenth of the committer's work outside its statements).
    pub(crate) fn control(&self, sql: &str) -> Result<(), DbErr> {
        self.with(|conn| conn.prepare_cached(sql)?.execute([]).map(drop))
    }

    /// The rows a query returns (at most `most` of them), each read straight into its model.
    pub(crate) fn rows<M: CommandRow>(&self, stmt: &SelectStatement, most: Option<usize>) -> Result<Vec<M>, DbErr> {
        self.statement_rows(&inline_sqlite_limits(DbBackend::Sqlite.build(stmt)), most)
    }

    /// The rows a statement written for SQLite returns (at most `most` of them), each read
    /// straight into its model.
    pub(crate) fn statement_rows<M: CommandRow>(&self, stmt: &Statement, most: Option<usize>) -> Result<Vec<M>, DbErr> {
        let conn = self.conn.lock().map_err(|_| DbErr::Custom("sqlite: the connection is poisoned".into()))?;
        let mut prepared = conn.prepare_cached(&stmt.sql).map_err(db_err)?;
        let names: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = prepared.query(rusqlite::params_from_iter(params(stmt).map_err(db_err)?)).map_err(db_err)?;
        let mut out = Vec::new();
        while most.is_none_or(|m| out.len() < m)
            && let Some(row) = rows.next().map_err(db_err)?
        {
            let cells = (0..names.len())
                .map(|i| row.get_ref(i).map_err(db_err).and_then(cell_of))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(model_of(&names, cells).map_err(|e| DbErr::Type(format!("sqlite row: {e}")))?);
        }
        Ok(out)
    }

    /// Whether a transaction is open on the connection.
    pub(crate) fn in_transaction(&self) -> bool {
        self.with(|conn| Ok(!conn.is_autocommit())).unwrap_or(false)
    }
}

/// A few read-only connections to the node's SQLite file for the reads every task command and
/// inbox page makes (a task by id, an inbox page: each well under a millisecond with the
/// inbox indexes), run on the caller's thread like the committer's statements, instead of a
/// hand-off to a pool connection's driver thread and back per statement. Each read sees the
/// last commit, as a pool read does (WAL).
pub(crate) struct SqliteReaders {
    conns: Vec<SqliteWriter>,
    next: AtomicUsize,
}

impl SqliteReaders {
    /// Opens `n` read-only connections to the file.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub(crate) fn open(path: &str, n: usize) -> Result<SqliteReaders, DbErr> {
        let conns = (0..n.max(1)).map(|_| SqliteWriter::open_reader(path)).collect::<Result<_, _>>()?;
        Ok(SqliteReaders { conns, next: AtomicUsize::new(0) })
    }

    /// A connection, in turn.
    pub(crate) fn pick(&self) -> &SqliteWriter {
        &self.conns[self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len()]
    }
}

impl CommandDb for SqliteWriter {
    fn backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn run_built(&self, stmt: &Statement) -> Result<u64, DbErr> {
        let inlined;
        let stmt = if has_bound_limit(stmt) {
            inlined = inline_sqlite_limits(stmt.clone());
            &inlined
        } else {
            stmt
        };
        self.with(|conn| {
            let mut prepared = conn.prepare_cached(&stmt.sql)?;
            Ok(prepared.execute(rusqlite::params_from_iter(params(stmt)?))? as u64)
        })
    }

    async fn first_row<M: CommandRow>(&self, stmt: &SelectStatement) -> Result<Option<M>, DbErr> {
        Ok(self.rows(stmt, Some(1))?.into_iter().next())
    }
}

/// A column's value as a cell of its row.
fn cell_of(value: ValueRef<'_>) -> Result<Cell<'_>, DbErr> {
    Ok(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) => Cell::Text(std::str::from_utf8(t).map_err(|e| DbErr::Type(format!("sqlite text: {e}")))?),
        ValueRef::Blob(b) => Cell::Bytes(b),
    })
}

/// A statement's values as SQLite parameters.
fn params(stmt: &Statement) -> rusqlite::Result<Vec<ToSqlOutput<'_>>> {
    let Some(values) = &stmt.values else { return Ok(Vec::new()) };
    values.0.iter().map(param).collect()
}

fn param(value: &Value) -> rusqlite::Result<ToSqlOutput<'_>> {
    use rusqlite::types::Value as Sql;
    let owned = |v: Sql| Ok(ToSqlOutput::Owned(v));
    let int = |v: Option<i64>| owned(v.map_or(Sql::Null, Sql::Integer));
    match value {
        Value::Bool(v) => int(v.map(i64::from)),
        Value::TinyInt(v) => int(v.map(i64::from)),
        Value::SmallInt(v) => int(v.map(i64::from)),
        Value::Int(v) => int(v.map(i64::from)),
        Value::BigInt(v) => int(*v),
        Value::TinyUnsigned(v) => int(v.map(i64::from)),
        Value::SmallUnsigned(v) => int(v.map(i64::from)),
        Value::Unsigned(v) => int(v.map(i64::from)),
        Value::BigUnsigned(v) => match v.map(i64::try_from).transpose() {
            Ok(v) => int(v),
            Err(e) => Err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))),
        },
        Value::Float(v) => owned(v.map_or(Sql::Null, |f| Sql::Real(f64::from(f)))),
        Value::Double(v) => owned(v.map_or(Sql::Null, Sql::Real)),
        Value::String(Some(s)) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))),
        Value::Bytes(Some(b)) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(b))),
        Value::String(None) | Value::Bytes(None) => owned(Sql::Null),
        other => Err(rusqlite::Error::ToSqlConversionFailure(
            format!("a {other:?} value is not written by the SQLite committer").into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(file_of("sqlite://./docket.db"), Some("./docket.db"));
        assert_eq!(file_of("sqlite:///tmp/x.db?mode=rwc"), Some("/tmp/x.db"));
        assert_eq!(file_of("sqlite::memory:"), None);
        assert_eq!(file_of("postgres://u@h/db"), None);
    }

    #[test]
    fn values_bind_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = SqliteWriter::open(dir.path().join("w.db").to_str().expect("path")).expect("open");
        writer.batch("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, x REAL)").expect("create");
        let insert = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO t (n, s, x) VALUES (?, ?, ?)",
            [Value::Int(Some(7)), Value::String(Some("陈述".into())), Value::Double(None)],
        );
        let rows = writer
            .with(|conn| conn.prepare(&insert.sql)?.execute(rusqlite::params_from_iter(params(&insert)?)))
            .expect("insert");
        assert_eq!(rows, 1);
        let (n, s, x): (i64, String, Option<f64>) = writer
            .with(|conn| conn.query_row("SELECT n, s, x FROM t", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .expect("read");
        assert_eq!((n, s.as_str(), x), (7, "陈述", None));
        assert_eq!(cell_of(ValueRef::Integer(7)).expect("int"), Cell::Int(7));
        assert_eq!(cell_of(ValueRef::Null).expect("null"), Cell::Null);
        assert!(cell_of(ValueRef::Text(&[0xff, 0xfe])).is_err(), "text that is not UTF-8 is refused");
    }
}
