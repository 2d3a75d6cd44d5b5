//! Laying out the statements of several recorded commands as one lot, with the inserts of the
//! same shape merged across commands.
//!
//! Sixteen task completions that run together each insert an audit entry, a task, its inbox
//! rows and its deadline timers: as sent, that is sixteen statements of each kind, each parsed,
//! planned, run and answered on its own. The same rows go in just as well as one multi-row
//! `INSERT` per kind, which costs the database (and the connection) a fraction of the work.
//!
//! Commands of one lot are on different cases and touch different rows, so their statements
//! may interleave in any way that keeps each command's own order. The lot is laid out so that
//! every command's statements run in its order, and an `INSERT` waits until the other
//! commands have reached the same one, when they are sent as one. A merged statement belongs to
//! several commands: when it fails, which one failed is not known, and the batch runs again
//! unmerged to find out (see `commit::run_batch`).
//!
//! Only plain inserts merge: `INSERT INTO t (..) VALUES (..)` or `INSERT INTO t (..) SELECT ..`,
//! with an optional `ON CONFLICT` clause and no `RETURNING`, every value a parameter. Merged
//! statements hold 1, 2, 4, ... or [`MOST_ROWS`] of the originals, so a connection that
//! prepares its statements by their text sees a few texts per kind, not one per batch size.

use std::borrow::Cow;

use sea_orm::sea_query::Values;
use sea_orm::{DbBackend, Statement};

/// The most statements merged into one.
const MOST_ROWS: usize = 64;

/// The most parameters a merged statement binds (SQLite allows 32,766, PostgreSQL 65,535).
const MOST_PARAMETERS: usize = 30_000;

/// Whose statement one of a lot is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The command at this position (in the caller's numbering).
    One(usize),
    /// Several commands' statements merged into one.
    Several,
}

/// A statement of a lot and whose it is.
pub(crate) struct Laid<'a> {
    /// The statement, as recorded or merged.
    pub stmt: Cow<'a, Statement>,
    /// Whose it is.
    pub owner: Owner,
}

/// Lays out the statements of `commands` (each an owner and its statements, in order) as one
/// lot: each command's statements in its order; with `merge`, inserts of the same text from
/// different commands merged as they line up (see the module's documentation).
pub(crate) fn lay_out<'a>(commands: &[(usize, &'a [Statement])], merge: bool) -> Vec<Laid<'a>> {
    let total = commands.iter().map(|(_, s)| s.len()).sum();
    let mut lot = Vec::with_capacity(total);
    if !merge || commands.len() < 2 {
        for (owner, stmts) in commands {
            lot.extend(stmts.iter().map(|s| Laid { stmt: Cow::Borrowed(s), owner: Owner::One(*owner) }));
        }
        return lot;
    }
    let shapes: Vec<Vec<Option<Shape<'a>>>> =
        commands.iter().map(|(_, stmts)| stmts.iter().map(Shape::of).collect()).collect();
    let mut next = vec![0usize; commands.len()];
    loop {
        // A statement that cannot merge goes as soon as it is next in its command: that lets
        // the commands catch up with each other at their inserts.
        for (c, &(owner, stmts)) in commands.iter().enumerate() {
            while next[c] < shapes[c].len() && shapes[c][next[c]].is_none() {
                lot.push(Laid { stmt: Cow::Borrowed(&stmts[next[c]]), owner: Owner::One(owner) });
                next[c] += 1;
            }
        }
        // Every command is at an insert, or done: the first one's insert goes with the same
        // insert of every other command that is at it.
        let Some(first) = (0..commands.len()).find(|&c| next[c] < shapes[c].len()) else { break };
        let text = commands[first].1[next[first]].sql.as_str();
        let alike: Vec<(usize, &Shape<'a>)> = (first..commands.len())
            .filter(|&c| next[c] < shapes[c].len() && commands[c].1[next[c]].sql == text)
            .filter_map(|c| shapes[c][next[c]].as_ref().map(|shape| (c, shape)))
            .collect();
        let mut rest = alike.as_slice();
        while let Some(&(c0, _)) = rest.first() {
            let params = commands[c0].1[next[c0]].values.as_ref().map_or(0, |v| v.0.len());
            let fit = (MOST_PARAMETERS / params.max(1)).clamp(1, MOST_ROWS);
            let take = largest_power_of_two_at_most(rest.len().min(fit));
            let (chunk, after) = rest.split_at(take);
            lot.push(match chunk {
                [(c, _)] => Laid { stmt: Cow::Borrowed(&commands[*c].1[next[*c]]), owner: Owner::One(commands[*c].0) },
                _ => Laid {
                    stmt: Cow::Owned(merged(chunk.iter().map(|&(c, shape)| (&commands[c].1[next[c]], shape)))),
                    owner: Owner::Several,
                },
            });
            rest = after;
        }
        for (c, _) in alike {
            next[c] += 1;
        }
    }
    lot
}

fn largest_power_of_two_at_most(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// A mergeable insert, cut where its rows are: `head` (`INSERT INTO t (..) `), `rows` (the
/// `VALUES` list, or the `SELECT`), `tail` (an `ON CONFLICT` clause, or nothing).
struct Shape<'a> {
    head: &'a str,
    rows: &'a str,
    tail: &'a str,
    /// Whether `rows` is a `SELECT` (joined with `UNION ALL`) rather than `VALUES` tuples.
    select: bool,
}

impl<'a> Shape<'a> {
    /// The shape of `stmt`, if it is an insert that can merge with others of the same text.
    fn of(stmt: &'a Statement) -> Option<Shape<'a>> {
        let sql = stmt.sql.as_str();
        if !sql.starts_with("INSERT INTO ") || sql.contains(" RETURNING ") || sql.contains('\'') {
            return None;
        }
        let columns_end = sql.find(") ")? + 2;
        let (head, body) = sql.split_at(columns_end);
        let (rows, select) = if let Some(values) = body.strip_prefix("VALUES ") {
            (values, false)
        } else if body.starts_with("SELECT ") {
            (body, true)
        } else {
            return None;
        };
        let (rows, tail) = match rows.find(" ON CONFLICT ") {
            Some(at) => rows.split_at(at),
            None => (rows, ""),
        };
        // Joined with `UNION ALL`, an `ORDER BY`, `LIMIT` or `OFFSET` would apply to all of them.
        if select && [" ORDER BY ", " LIMIT ", " OFFSET "].iter().any(|clause| rows.contains(clause)) {
            return None;
        }
        let placeholder = |c: char| c == '$' || c == '?';
        if head.contains(placeholder) || tail.contains(placeholder) {
            return None;
        }
        let count = match stmt.db_backend {
            DbBackend::Postgres => numbered_placeholders(rows)?,
            _ => rows.matches('?').count(),
        };
        let values = stmt.values.as_ref().map_or(0, |v| v.0.len());
        (count == values).then_some(Shape { head, rows, tail, select })
    }
}

/// How many `$n` placeholders `rows` holds, when they are exactly `$1` to `$count`.
fn numbered_placeholders(rows: &str) -> Option<usize> {
    let mut seen = Vec::new();
    let mut rest = rows;
    while let Some(at) = rest.find('$') {
        let digits: String = rest[at + 1..].chars().take_while(char::is_ascii_digit).collect();
        let n: usize = digits.parse().ok()?;
        seen.push(n);
        rest = &rest[at + 1 + digits.len()..];
    }
    seen.sort_unstable();
    seen.dedup();
    (seen.iter().enumerate().all(|(k, n)| *n == k + 1)).then_some(seen.len())
}

/// One insert holding the rows of all of `alike` (statements of one text, with their shape).
fn merged<'s, 'a: 's>(alike: impl Iterator<Item = (&'s Statement, &'s Shape<'a>)>) -> Statement {
    let mut sql = String::new();
    let mut values = Vec::new();
    let mut backend = DbBackend::Postgres;
    let mut tail = "";
    for (k, (stmt, shape)) in alike.enumerate() {
        if k == 0 {
            sql.push_str(shape.head);
            if !shape.select {
                sql.push_str("VALUES ");
            }
            backend = stmt.db_backend;
            tail = shape.tail;
        } else {
            sql.push_str(if shape.select { " UNION ALL " } else { ", " });
        }
        match backend {
            DbBackend::Postgres => renumbered(&mut sql, shape.rows, values.len()),
            _ => sql.push_str(shape.rows),
        }
        values.extend(stmt.values.iter().flat_map(|v| v.0.iter().cloned()));
    }
    sql.push_str(tail);
    Statement { sql, values: Some(Values(values)), db_backend: backend }
}

/// Appends `rows` to `sql` with each `$n` made `$(n + offset)`.
fn renumbered(sql: &mut String, rows: &str, offset: usize) {
    let mut rest = rows;
    while let Some(at) = rest.find('$') {
        sql.push_str(&rest[..=at]);
        let digits = rest[at + 1..].chars().take_while(char::is_ascii_digit).count();
        let n: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
        sql.push_str(&(n + offset).to_string());
        rest = &rest[at + 1 + digits..];
    }
    sql.push_str(rest);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};

    fn insert(backend: DbBackend, rows: &[(i32, &str)], conflict: bool) -> Statement {
        let mut insert = Query::insert();
        insert.into_table(Alias::new("t")).columns([Alias::new("a"), Alias::new("b")]);
        for (a, b) in rows {
            insert.values_panic([(*a).into(), (*b).into()]);
        }
        if conflict {
            insert.on_conflict(OnConflict::column(Alias::new("a")).update_column(Alias::new("b")).to_owned());
        }
        backend.build(&insert)
    }

    fn update(backend: DbBackend, a: i32) -> Statement {
        backend.build(
            Query::update()
                .table(Alias::new("t"))
                .value(Alias::new("b"), "x")
                .and_where(Expr::col(Alias::new("a")).eq(a)),
        )
    }

    /// The inserts of `commands` commands as the store writes them: an upsert of two rows into
    /// `t`, then rows of `s` selected from the `t` rows just written (as a task's inbox rows are).
    pub(crate) fn upserts_and_selects(backend: DbBackend, commands: i32) -> Vec<[Statement; 2]> {
        (1..=commands)
            .map(|c| {
                let upsert = insert(backend, &[(c, "x"), (c + 10, "y")], true);
                let pick = |a: i32, k: &str| {
                    Query::select()
                        .column(Alias::new("a"))
                        .expr(Expr::val(k))
                        .from(Alias::new("t"))
                        .and_where(Expr::col(Alias::new("a")).eq(a))
                        .to_owned()
                };
                let mut select = pick(c, "k1");
                select.union(sea_orm::sea_query::UnionType::All, pick(c + 10, "k2"));
                let offer = Query::insert()
                    .into_table(Alias::new("s"))
                    .columns([Alias::new("a"), Alias::new("k")])
                    .select_from(select)
                    .expect("columns match")
                    .on_conflict(OnConflict::columns([Alias::new("a"), Alias::new("k")]).do_nothing().to_owned())
                    .to_owned();
                [upsert, backend.build(&offer)]
            })
            .collect()
    }

    /// Lays out the commands of [`upserts_and_selects`] merged, checking that they did merge.
    pub(crate) fn merged_lot(commands: &[[Statement; 2]]) -> Vec<Laid<'_>> {
        let refs: Vec<(usize, &[Statement])> = commands.iter().enumerate().map(|(k, c)| (k, &c[..])).collect();
        let lot = lay_out(&refs, true);
        assert!(lot.iter().all(|laid| laid.owner == Owner::Several), "every insert merged");
        lot
    }

    #[tokio::test]
    async fn merged_inserts_run_on_sqlite_as_their_originals_would() {
        use crate::store::command_db::CommandDb;
        use crate::store::sqlite_writer::SqliteWriter;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lot.db");
        let writer = SqliteWriter::open(path.to_str().expect("path")).expect("open");
        writer
            .batch("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); CREATE TABLE s (a INTEGER, k TEXT, PRIMARY KEY (a, k)); INSERT INTO t VALUES (1, 'old');")
            .expect("tables");
        let commands = upserts_and_selects(DbBackend::Sqlite, 4);
        for laid in merged_lot(&commands) {
            writer.run_built(&laid.stmt).await.expect("a merged insert runs");
        }
        let read = rusqlite::Connection::open(&path).expect("a reader");
        let mut rows = read.prepare("SELECT a, b FROM t ORDER BY a").expect("prepare");
        let t: Vec<(i64, String)> =
            rows.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("t").collect::<Result<_, _>>().expect("rows");
        assert_eq!(t, [1, 2, 3, 4, 11, 12, 13, 14].map(|a| (a, if a > 10 { "y" } else { "x" }.to_owned())));
        let s: i64 = read.query_row("SELECT COUNT(*) FROM s", [], |r| r.get(0)).expect("s");
        assert_eq!(s, 8);
    }

    #[test]
    fn inserts_of_one_text_merge_with_their_parameters_renumbered() {
        let pg = DbBackend::Postgres;
        let one = [update(pg, 1), insert(pg, &[(1, "one"), (2, "two")], true)];
        let two = [update(pg, 3), insert(pg, &[(3, "three"), (4, "four")], true)];
        let lot = lay_out(&[(7, &one), (9, &two)], true);
        let owners: Vec<Owner> = lot.iter().map(|l| l.owner).collect();
        assert_eq!(owners, [Owner::One(7), Owner::One(9), Owner::Several]);
        let merged = &lot[2].stmt;
        assert_eq!(
            merged.sql,
            r#"INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8) ON CONFLICT ("a") DO UPDATE SET "b" = "excluded"."b""#
        );
        let values = &merged.values.as_ref().expect("values").0;
        assert_eq!(values.len(), 8);
        assert_eq!(values[4], 3.into());
        assert_eq!(values[7], "four".into());
    }

    #[test]
    fn each_command_keeps_its_order_and_only_aligned_inserts_merge() {
        let lite = DbBackend::Sqlite;
        // The first command inserts before its update; the second updates first.
        let one = [insert(lite, &[(1, "one")], false), update(lite, 1)];
        let two = [update(lite, 2), insert(lite, &[(2, "two")], false), insert(lite, &[(3, "x"), (4, "y")], false)];
        let lot = lay_out(&[(0, &one), (1, &two)], true);
        let laid: Vec<(&str, Owner)> = lot.iter().map(|l| (l.stmt.sql.as_str(), l.owner)).collect();
        assert_eq!(laid[0], (two[0].sql.as_str(), Owner::One(1)), "the update waits for nothing");
        assert_eq!(laid[1], (r#"INSERT INTO "t" ("a", "b") VALUES (?, ?), (?, ?)"#, Owner::Several));
        assert_eq!(laid[2], (one[1].sql.as_str(), Owner::One(0)));
        assert_eq!(laid[3], (two[2].sql.as_str(), Owner::One(1)));
        assert_eq!(lot.len(), 4);
    }

    #[test]
    fn unmerged_lots_are_the_commands_one_after_another() {
        let pg = DbBackend::Postgres;
        let one = [insert(pg, &[(1, "one")], false)];
        let two = [insert(pg, &[(2, "two")], false)];
        let lot = lay_out(&[(0, &one), (1, &two)], false);
        assert_eq!(lot.iter().map(|l| l.owner).collect::<Vec<_>>(), [Owner::One(0), Owner::One(1)]);
        assert!(lot.iter().all(|l| matches!(l.stmt, Cow::Borrowed(_))));
    }

    #[test]
    fn merged_statements_hold_a_power_of_two_of_rows() {
        let pg = DbBackend::Postgres;
        let commands: Vec<[Statement; 1]> = (0..13).map(|k| [insert(pg, &[(k, "r")], false)]).collect();
        let refs: Vec<(usize, &[Statement])> = commands.iter().enumerate().map(|(k, s)| (k, &s[..])).collect();
        let lot = lay_out(&refs, true);
        let rows: Vec<usize> = lot.iter().map(|l| l.stmt.values.as_ref().map_or(0, |v| v.0.len()) / 2).collect();
        assert_eq!(rows, [8, 4, 1]);
        assert_eq!(lot[2].owner, Owner::One(12));
    }

    #[test]
    fn inserts_with_literals_or_returning_do_not_merge() {
        let literal = Statement::from_string(DbBackend::Postgres, "INSERT INTO t (a) VALUES ('$1')");
        assert!(Shape::of(&literal).is_none());
        let returning = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO t (a) VALUES ($1) RETURNING id",
            [sea_orm::Value::from(1)],
        );
        assert!(Shape::of(&returning).is_none());
        let gap = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO t (a, b) VALUES ($1, $3)",
            [sea_orm::Value::from(1), sea_orm::Value::from(2)],
        );
        assert!(Shape::of(&gap).is_none(), "parameters not numbered 1..n");
        let limited = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO t (a) SELECT a FROM s WHERE b = $1 LIMIT 1",
            [sea_orm::Value::from(1)],
        );
        assert!(Shape::of(&limited).is_none(), "a LIMIT would apply to the merged rows");
    }
}
