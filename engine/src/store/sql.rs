//! Statement helpers.

use sea_orm::sea_query::{Value, Values};
use sea_orm::{DbBackend, Statement};

/// Writes the `LIMIT` and `OFFSET` values of a SQLite statement into its text instead of
/// binding them.
///
/// SQLite plans a query with its bound `LIMIT`, so a prepared statement whose `LIMIT` is a
/// parameter is prepared again (parsed and planned) every time it runs, and a statement cache
/// saves nothing. The values are integers the store chose (page sizes), never user text.
/// Statements for other stores are returned as they are.
pub(crate) fn inline_sqlite_limits(stmt: Statement) -> Statement {
    if !has_bound_limit(&stmt) {
        return stmt;
    }
    let Some(Values(values)) = stmt.values else { return stmt };
    let mut sql = String::with_capacity(stmt.sql.len());
    let mut kept = Vec::with_capacity(values.len());
    let mut values = values.into_iter();
    let mut rest = stmt.sql.as_str();
    while let Some(at) = rest.find('?') {
        sql.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let Some(value) = values.next() else {
            sql.push('?');
            continue;
        };
        let count = (sql.ends_with(" LIMIT ") || sql.ends_with(" OFFSET ")).then(|| match value {
            Value::BigUnsigned(Some(n)) => Some(n.to_string()),
            Value::Unsigned(Some(n)) => Some(n.to_string()),
            Value::BigInt(Some(n)) => Some(n.to_string()),
            Value::Int(Some(n)) => Some(n.to_string()),
            _ => None,
        });
        match count.flatten() {
            Some(literal) => sql.push_str(&literal),
            None => {
                sql.push('?');
                kept.push(value);
            }
        }
    }
    sql.push_str(rest);
    kept.extend(values);
    Statement { sql, values: Some(Values(kept)), ..stmt }
}

/// Whether [`inline_sqlite_limits`] changes a statement: a SQLite one that binds its `LIMIT`
/// or `OFFSET`.
pub(crate) fn has_bound_limit(stmt: &Statement) -> bool {
    stmt.db_backend == DbBackend::Sqlite && (stmt.sql.contains(" LIMIT ?") || stmt.sql.contains(" OFFSET ?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_written_into_sqlite_statements_only() {
        let stmt = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT * FROM (SELECT id FROM t WHERE a = ? LIMIT ?) UNION ALL SELECT id FROM t WHERE b = ? LIMIT ? OFFSET ?",
            [Value::from("x"), Value::from(51u64), Value::from("y"), Value::from(51u64), Value::from(5u64)],
        );
        let inlined = inline_sqlite_limits(stmt);
        assert_eq!(
            inlined.sql,
            "SELECT * FROM (SELECT id FROM t WHERE a = ? LIMIT 51) UNION ALL SELECT id FROM t WHERE b = ? LIMIT 51 OFFSET 5"
        );
        assert_eq!(inlined.values, Some(Values(vec![Value::from("x"), Value::from("y")])));
        let pg = Statement::from_sql_and_values(DbBackend::Postgres, "SELECT 1 LIMIT $1", [Value::from(1u64)]);
        assert_eq!(inline_sqlite_limits(pg.clone()).sql, pg.sql);
    }

    #[test]
    fn a_cached_statement_with_an_inlined_limit_is_not_prepared_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = rusqlite::Connection::open(dir.path().join("l.db")).expect("open");
        conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY); INSERT INTO t VALUES ('a');").expect("create");
        let reprepared = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
            for _ in 0..5 {
                let mut s = conn.prepare_cached(sql).expect("prepare");
                s.query_row(params, |_| Ok(())).expect("row");
            }
            conn.prepare_cached(sql).expect("prepare").get_status(rusqlite::StatementStatus::RePrepare)
        };
        // The cost this helper avoids: a bound LIMIT prepares the statement on every run.
        assert!(reprepared("SELECT id FROM t WHERE id = ? LIMIT ?", &[&"a", &1]) >= 4);
        let stmt = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT id FROM t WHERE id = ? LIMIT ?",
            [Value::from("a"), Value::from(1u64)],
        );
        let inlined = inline_sqlite_limits(stmt);
        assert_eq!(reprepared(&inlined.sql, &[&"a"]), 0);
    }
}
