//! A PostgreSQL committer's own connection, on which a batch's statements are pipelined.
//!
//! Through the pool (`sqlx`), every statement is a round trip: sent, run, answered, and only
//! then the next one sent. A batch of recorded commands (see `prepared`) does not need the
//! answers one by one: its case writes can all be sent at once, and then the rest of the
//! winners' statements at once, each lot read back in one go ([`CommandDb::run_all`]). A
//! batch made only of recorded commands goes as one lot that is its own transaction
//! ([`PgConn::run_committing`]). The lots are spoken in the wire protocol directly (see
//! `pg_wire`), each ended by one `Sync`, so that the server answers a lot in one write.
//!
//! The statements are the ones sea-orm builds for PostgreSQL. They are prepared once per
//! connection with the parameter types of their values (as `sqlx` declares them), and kept;
//! rows are read into the models through serde, like the SQLite committer's.
//!
//! A committer's connection is its own: each committer task holds one [`PgWriter`], opens it
//! when it first needs it and opens it again when it was closed (a restarted server, a broken
//! network, an exchange cut off halfway). It speaks without TLS, so it is used only where the
//! pool would too: a server on this machine (loopback or a Unix socket) under
//! `sslmode=prefer` (the default) or `disable`, or any server under `disable`. Elsewhere TLS
//! is the pool's business, and the committers stay on the pool (see [`PgWriter::for_url`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sea_orm::sea_query::{SelectStatement, Value};
use sea_orm::{DbBackend, DbErr, Statement};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::{ToSql, Type};

use super::command_db::{CommandDb, CommandRow, LotFailed};
use super::pg_wire::{Column, Done, Wire, row_cells};
use super::row_model::model_of;

/// Prepared statements kept per connection; beyond this many, the connection is opened again
/// with none (the store's statements are a few dozen texts; lists of varying length add a
/// few more).
const KEPT_STATEMENTS: usize = 512;

/// A committer's connection to PostgreSQL, opened when first needed.
pub(crate) struct PgWriter {
    config: tokio_postgres::Config,
    conn: tokio::sync::Mutex<Option<Arc<PgConn>>>,
}

/// A statement prepared on a connection.
struct Kept {
    /// Its name on the connection.
    name: String,
    /// Its parameters' types.
    types: Vec<Type>,
    /// The columns of its rows.
    columns: Vec<Column>,
}

/// An open connection and what it has prepared.
pub(crate) struct PgConn {
    wire: tokio::sync::Mutex<Wire>,
    statements: Mutex<HashMap<String, Arc<Kept>>>,
    /// How many statements have been named on the connection.
    named: AtomicU64,
    /// A transaction is open (a batch begun and not finished, or abandoned): the next batch
    /// rolls it back first.
    in_transaction: AtomicBool,
}

impl PgWriter {
    /// A writer for the database `url` names, or `None` when the committers are to stay on
    /// the pool: the connection may use TLS (which the pool's driver speaks; see the module's
    /// documentation), or the URL names options only the pool's driver knows.
    pub(crate) fn for_url(url: &str) -> Option<PgWriter> {
        let config: tokio_postgres::Config = match url.parse() {
            Ok(config) => config,
            Err(e) => {
                tracing::info!(error = %e, "PostgreSQL committers use the pool: the URL has options they do not read");
                return None;
            }
        };
        let local = config.get_hosts().iter().all(|host| match host {
            Host::Tcp(name) => is_loopback(name),
            Host::Unix(_) => true,
        });
        let plain = match config.get_ssl_mode() {
            SslMode::Disable => true,
            SslMode::Prefer => local,
            _ => false,
        };
        if !plain {
            tracing::info!("PostgreSQL committers use the pool: the connection may use TLS");
            return None;
        }
        Some(PgWriter { config, conn: tokio::sync::Mutex::new(None) })
    }

    /// Another writer to the same database, with a connection of its own.
    pub(crate) fn another(&self) -> PgWriter {
        PgWriter { config: self.config.clone(), conn: tokio::sync::Mutex::new(None) }
    }

    /// The open connection, opened (again) if needed, with no transaction left open on it.
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub(crate) async fn connection(&self) -> Result<Arc<PgConn>, DbErr> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref()
            && conn.usable().await
        {
            if conn.in_transaction.load(Ordering::Acquire) {
                conn.batch("ROLLBACK").await?;
            }
            return Ok(conn.clone());
        }
        let wire = Wire::connect(&self.config).await?;
        let conn = Arc::new(PgConn {
            wire: tokio::sync::Mutex::new(wire),
            statements: Mutex::new(HashMap::new()),
            named: AtomicU64::new(0),
            in_transaction: AtomicBool::new(false),
        });
        *slot = Some(conn.clone());
        Ok(conn)
    }
}

impl PgConn {
    /// Whether the connection can take the next batch: its last exchange ran to its end, the
    /// server has not closed it meanwhile, and it has room for more prepared statements.
    async fn usable(&self) -> bool {
        self.kept().len() < KEPT_STATEMENTS && self.wire.lock().await.is_open()
    }

    /// Runs SQL without parameters (`BEGIN`, `COMMIT`, `ROLLBACK`), keeping track of whether a
    /// transaction is open.
    pub(crate) async fn batch(&self, sql: &str) -> Result<(), DbErr> {
        let mut wire = self.wire.lock().await;
        let (failed, open) = wire.simple(sql).await?;
        self.in_transaction.store(open, Ordering::Release);
        failed.map_or(Ok(()), Err)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Kept>>> {
        self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The prepared statement for each of `stmts` (by its text), those not
    /// yet prepared prepared together first (one round trip). A failure is given with the
    /// position of the statement it belongs to.
    async fn prepared(&self, wire: &mut Wire, stmts: &[&Statement]) -> Result<Vec<Arc<Kept>>, (usize, DbErr)> {
        let mut found: Vec<Option<Arc<Kept>>> = {
            let kept = self.kept();
            stmts.iter().map(|s| kept.get(&s.sql).cloned()).collect()
        };
        // The texts to prepare, each once, with the first position it has in the lot.
        let mut missing: Vec<(usize, String, Vec<Type>)> = Vec::new();
        for (k, stmt) in stmts.iter().enumerate() {
            if found[k].is_some() || missing.iter().any(|(at, _, _)| stmts[*at].sql == stmt.sql) {
                continue;
            }
            let types = values(stmt).iter().map(param_type).collect::<Result<Vec<_>, _>>().map_err(|e| (k, e))?;
            let name = format!("s{}", self.named.fetch_add(1, Ordering::Relaxed));
            missing.push((k, name, types));
        }
        if !missing.is_empty() {
            let list: Vec<(&str, &str, &[Type])> = missing
                .iter()
                .map(|(k, name, types)| (name.as_str(), stmts[*k].sql.as_str(), types.as_slice()))
                .collect();
            let described = wire.prepare(&list).await.map_err(|(at, e)| (missing.get(at).map_or(0, |m| m.0), e))?;
            let mut kept = self.kept();
            for ((k, name, types), columns) in missing.into_iter().zip(described) {
                kept.insert(stmts[k].sql.clone(), Arc::new(Kept { name, types, columns }));
            }
            for (slot, stmt) in found.iter_mut().zip(stmts) {
                if slot.is_none() {
                    *slot = kept.get(&stmt.sql).cloned();
                }
            }
        }
        found
            .into_iter()
            .enumerate()
            .map(|(k, f)| f.ok_or((k, DbErr::Custom("a statement was not prepared".into()))))
            .collect()
    }

    /// Runs a lot of statements (after a `BEGIN` if `begin`), sending every statement before
    /// reading any answer: the statements not yet prepared are prepared together first (one
    /// round trip), then all are run (one more).
    pub(crate) async fn run_lot(&self, begin: bool, stmts: &[&Statement]) -> Result<Vec<u64>, LotFailed> {
        self.run_framed(begin, stmts, false).await
    }

    /// Runs a whole transaction in one lot: the statements between two `Sync`s, which the
    /// server runs as one transaction and commits at the second. It committed when this
    /// answers `Ok`. When a statement fails, the server skips those after it and rolls the
    /// transaction back; a failure of the commit itself is the transaction's (`at: None`).
    pub(crate) async fn run_committing(&self, stmts: &[&Statement]) -> Result<(), LotFailed> {
        match self.run_framed(false, stmts, true).await {
            Err(LotFailed { at: Some(k), error }) if k == stmts.len() => Err(LotFailed { at: None, error }),
            other => other.map(|_| ()),
        }
    }

    /// [`run_lot`](Self::run_lot), or with `commit` a lot that is a transaction of its own
    /// (whose commit's failure is reported at the position after the last statement).
    async fn run_framed(&self, begin: bool, stmts: &[&Statement], commit: bool) -> Result<Vec<u64>, LotFailed> {
        let opening = Statement { sql: "BEGIN".to_owned(), values: None, db_backend: DbBackend::Postgres };
        // A lot that commits runs in the transaction the server opens for it; one that does
        // not leaves its explicit `BEGIN` open.
        let skip = usize::from(begin && !commit);
        let all: Vec<&Statement> = (skip == 1).then_some(&opening).into_iter().chain(stmts.iter().copied()).collect();
        // A failure at the `BEGIN` is the transaction's; the others are their statement's.
        let (_, done) = self
            .exchange(&all)
            .await
            .map_err(|LotFailed { at, error }| LotFailed { at: at.and_then(|k| k.checked_sub(skip)), error })?;
        Ok(done.iter().skip(skip).map(|done| done.rows).collect())
    }

    /// Sends `stmts` as one lot (those not yet prepared prepared first) and reads its answer:
    /// the statements as kept, and what each did. A failure is given with the position of its
    /// statement (the lot's length for the commit of a lot that is its own transaction), or
    /// none when the connection broke.
    async fn exchange(&self, stmts: &[&Statement]) -> Result<(Vec<Arc<Kept>>, Vec<Done>), LotFailed> {
        let failed = |k: usize, error: DbErr| LotFailed { at: Some(k), error };
        let mut wire = self.wire.lock().await;
        let kept = self.prepared(&mut wire, stmts).await.map_err(|(k, e)| failed(k, e))?;
        for (k, (stmt, kept)) in stmts.iter().zip(&kept).enumerate() {
            let added = params(stmt).and_then(|params| wire.add(&kept.name, &kept.types, &refs(&params)));
            if let Err(e) = added {
                wire.discard();
                return Err(failed(k, e));
            }
        }
        let answer = wire.run().await.map_err(|error| LotFailed { at: None, error })?;
        drop(wire);
        self.in_transaction.store(answer.in_transaction, Ordering::Release);
        if let Some((k, error)) = answer.failed {
            return Err(failed(k, error));
        }
        if answer.done.len() != stmts.len() {
            let error = DbErr::Custom("postgres: fewer answers than statements".into());
            return Err(LotFailed { at: None, error });
        }
        Ok((kept, answer.done))
    }
}

/// Whether `host` (a name or an address, as in a connection URL) is this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.starts_with('/')
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A case write that fails when it is stale: the version-guarded `UPDATE` of a case, made to
/// raise an error (division by zero, SQLSTATE 22012, which no statement of the store raises
/// otherwise) when it matched no row. In a lot that is its own transaction, a stale write must
/// stop the transaction: the command's other statements follow it in the same lot, before
/// its count could be read. An `INSERT` (a new case) is never stale and is left as it is.
pub(crate) fn guarded(write: &Statement) -> Statement {
    if !write.sql.starts_with("UPDATE ") {
        return write.clone();
    }
    Statement {
        sql: format!("WITH written AS ({} RETURNING 1) SELECT 1 / COUNT(*) FROM written", write.sql),
        values: write.values.clone(),
        db_backend: DbBackend::Postgres,
    }
}

/// Whether a [`guarded`] case write failed because it was stale.
pub(crate) fn is_stale_write(error: &DbErr) -> bool {
    matches!(error, DbErr::Custom(text) if text.starts_with("postgres: 22012:"))
}

impl CommandDb for PgConn {
    fn backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn run_built(&self, stmt: &Statement) -> Result<u64, DbErr> {
        let counts = self.run_framed(false, &[stmt], false).await.map_err(|failed| failed.error)?;
        Ok(counts.first().copied().unwrap_or(0))
    }

    async fn run_all(&self, stmts: &[&Statement]) -> Result<Vec<u64>, LotFailed> {
        self.run_lot(false, stmts).await
    }

    async fn first_row<M: CommandRow>(&self, stmt: &SelectStatement) -> Result<Option<M>, DbErr> {
        Ok(self.rows(stmt, Some(1)).await?.into_iter().next())
    }
}

impl PgConn {
    /// The rows a query returns (the first `most` of them).
    ///
    /// # Errors
    /// When the server refuses the query or the connection breaks.
    pub(crate) async fn rows<M: CommandRow>(
        &self,
        stmt: &SelectStatement,
        most: Option<usize>,
    ) -> Result<Vec<M>, DbErr> {
        self.statement_rows(&DbBackend::Postgres.build(stmt), most).await
    }

    /// The rows a statement written for PostgreSQL returns (the first `most` of them).
    ///
    /// # Errors
    /// When the server refuses the query or the connection breaks.
    pub(crate) async fn statement_rows<M: CommandRow>(
        &self,
        stmt: &Statement,
        most: Option<usize>,
    ) -> Result<Vec<M>, DbErr> {
        let (kept, done) = self.exchange(&[stmt]).await.map_err(|failed| failed.error)?;
        let (Some(kept), Some(done)) = (kept.into_iter().next(), done.into_iter().next()) else {
            return Ok(Vec::new());
        };
        let names: Vec<&str> = kept.columns.iter().map(|c| c.name.as_str()).collect();
        done.first
            .iter()
            .chain(&done.more)
            .take(most.unwrap_or(usize::MAX))
            .map(|row| {
                model_of(&names, row_cells(row, &kept.columns)?).map_err(|e| DbErr::Type(format!("postgres row: {e}")))
            })
            .collect()
    }
}

fn values(stmt: &Statement) -> &[Value] {
    stmt.values.as_ref().map_or(&[], |v| v.0.as_slice())
}

/// The PostgreSQL type a value is bound as (the one `sqlx` declares for it).
fn param_type(value: &Value) -> Result<Type, DbErr> {
    Ok(match value {
        Value::Bool(_) => Type::BOOL,
        Value::TinyInt(_) | Value::SmallInt(_) | Value::TinyUnsigned(_) => Type::INT2,
        Value::Int(_) | Value::SmallUnsigned(_) => Type::INT4,
        Value::BigInt(_) | Value::Unsigned(_) | Value::BigUnsigned(_) => Type::INT8,
        Value::Float(_) => Type::FLOAT4,
        Value::Double(_) => Type::FLOAT8,
        Value::String(_) | Value::Char(_) => Type::TEXT,
        Value::Bytes(_) => Type::BYTEA,
        other => return Err(DbErr::Type(format!("a {other:?} value is not written by the PostgreSQL committer"))),
    })
}

/// A parameter, owned where a conversion was needed.
type Param<'a> = Box<dyn ToSql + Sync + Send + 'a>;

fn params(stmt: &Statement) -> Result<Vec<Param<'_>>, DbErr> {
    values(stmt).iter().map(param).collect()
}

fn param(value: &Value) -> Result<Param<'_>, DbErr> {
    Ok(match value {
        Value::Bool(v) => Box::new(*v),
        Value::TinyInt(v) => Box::new(v.map(i16::from)),
        Value::SmallInt(v) => Box::new(*v),
        Value::TinyUnsigned(v) => Box::new(v.map(i16::from)),
        Value::Int(v) => Box::new(*v),
        Value::SmallUnsigned(v) => Box::new(v.map(i32::from)),
        Value::BigInt(v) => Box::new(*v),
        Value::Unsigned(v) => Box::new(v.map(i64::from)),
        Value::BigUnsigned(v) => {
            Box::new(v.map(i64::try_from).transpose().map_err(|e| DbErr::Type(format!("a value too large: {e}")))?)
        }
        Value::Float(v) => Box::new(*v),
        Value::Double(v) => Box::new(*v),
        Value::String(v) => Box::new(v.as_deref()),
        Value::Char(v) => Box::new(v.map(String::from)),
        Value::Bytes(v) => Box::new(v.as_deref()),
        other => return Err(DbErr::Type(format!("a {other:?} value is not written by the PostgreSQL committer"))),
    })
}

fn refs<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use sea_orm::sea_query::{Expr, Query};
    use sea_orm::{EntityTrait, QueryTrait, Set};

    use super::*;
    use crate::store::command_db::FirstIn;
    use crate::store::entity::idempotency_keys;

    /// A writer on the test server, or `None` (with a message) when it is not reachable
    /// outside CI; under `CI=true` an unreachable server fails the test.
    pub(crate) async fn writer() -> Option<PgWriter> {
        let writer = PgWriter::for_url("postgres://postgres@127.0.0.1:5432/test").expect("a plain URL");
        match writer.connection().await {
            Ok(_) => Some(writer),
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipping: PostgreSQL at 127.0.0.1:5432 is not reachable ({e})");
                None
            }
            Err(e) => panic!("PostgreSQL at 127.0.0.1:5432 is required under CI: {e}"),
        }
    }

    #[tokio::test]
    async fn merged_inserts_run_on_the_server_as_their_originals_would() {
        use crate::store::lot::tests::{merged_lot, upserts_and_selects};
        let Some(writer) = writer().await else { return };
        let conn = writer.connection().await.expect("connect");
        conn.batch(
            "CREATE TEMP TABLE t (a integer PRIMARY KEY, b text); CREATE TEMP TABLE s (a integer, k text, \
             PRIMARY KEY (a, k)); INSERT INTO t VALUES (1, 'old')",
        )
        .await
        .expect("tables");
        let commands = upserts_and_selects(DbBackend::Postgres, 4);
        let lot = merged_lot(&commands);
        let stmts: Vec<&Statement> = lot.iter().map(|laid| laid.stmt.as_ref()).collect();
        assert_eq!(conn.run_lot(false, &stmts).await.expect("the merged inserts run"), [8, 8]);
        #[derive(sea_orm::FromQueryResult, serde::Deserialize)]
        struct Rows {
            t: String,
        }
        let all =
            Query::select().expr_as(Expr::cust("string_agg(a || ':' || b, ',' ORDER BY a)"), "t").from("t").to_owned();
        let rows: Rows = conn.first_row(&all).await.expect("t").expect("a row");
        assert_eq!(rows.t, "1:x,2:x,3:x,4:x,11:y,12:y,13:y,14:y");
        conn.batch("DROP TABLE t; DROP TABLE s").await.expect("drop");
    }

    #[tokio::test]
    async fn a_url_without_a_user_logs_in_as_the_pool_would() {
        if writer().await.is_none() {
            return;
        }
        let url = "postgres://127.0.0.1:5432/test";
        let pool = sea_orm::Database::connect(url).await;
        let own = PgWriter::for_url(url).expect("a plain URL").connection().await;
        assert_eq!(pool.is_ok(), own.is_ok(), "the pool: {:?}; the committer: {:?}", pool.err(), own.err());
    }

    #[test]
    fn committers_speak_plainly_only_where_the_pool_would() {
        let own = |url: &str| PgWriter::for_url(url).is_some();
        assert!(own("postgres://postgres@127.0.0.1:5432/test"), "loopback, sslmode=prefer by default");
        assert!(own("postgres://postgres@localhost/test?sslmode=prefer"));
        assert!(own("postgres://postgres@[::1]:5432/test"));
        assert!(own("postgres://postgres@db.example.org/test?sslmode=disable"));
        assert!(!own("postgres://postgres@db.example.org/test"), "a remote server may offer TLS");
        assert!(!own("postgres://postgres@127.0.0.1/test?sslmode=require"));
        assert!(is_loopback("127.0.0.2") && is_loopback("/var/run/postgresql") && !is_loopback("10.0.0.1"));
    }

    /// A temporary `idempotency_keys` table (it hides the real one, if any, from this session).
    async fn keys_table(conn: &PgConn) {
        conn.batch(
            "CREATE TEMP TABLE IF NOT EXISTS idempotency_keys (key varchar(200) PRIMARY KEY, case_id varchar(36), \
             response text NOT NULL, created_at bigint NOT NULL, request_hash varchar(64))",
        )
        .await
        .expect("create");
    }

    fn insert_key(key: &str, case_id: Option<&str>) -> Statement {
        DbBackend::Postgres.build(
            &idempotency_keys::Entity::insert(idempotency_keys::ActiveModel {
                key: Set(key.to_owned()),
                case_id: Set(case_id.map(str::to_owned)),
                response: Set("{\"决定\":1}".to_owned()),
                created_at: Set(1_709_514_000_000),
                request_hash: Set(None),
            })
            .into_query(),
        )
    }

    #[tokio::test]
    async fn statements_bind_their_values_and_rows_read_back_into_models() {
        let Some(writer) = writer().await else { return };
        let conn = writer.connection().await.expect("connection");
        keys_table(&conn).await;
        assert_eq!(conn.run_built(&insert_key("k-1", None)).await.expect("insert"), 1);
        assert_eq!(conn.run_built(&insert_key("k-2", Some("case-2"))).await.expect("insert"), 1);
        let row = idempotency_keys::Entity::find_by_id("k-2".to_owned()).first_in(&*conn).await.expect("read");
        let row = row.expect("the row");
        assert_eq!((row.case_id.as_deref(), row.response.as_str()), (Some("case-2"), "{\"决定\":1}"));
        assert_eq!((row.created_at, row.request_hash), (1_709_514_000_000, None));
        let none = idempotency_keys::Entity::find_by_id("k-9".to_owned()).first_in(&*conn).await.expect("read");
        assert_eq!(none, None);
    }

    #[tokio::test]
    async fn a_pipelined_lot_reports_its_first_failure_at_its_position() {
        let Some(writer) = writer().await else { return };
        let conn = writer.connection().await.expect("connection");
        keys_table(&conn).await;
        let (a, twice, b) = (insert_key("p-a", None), insert_key("p-twice", None), insert_key("p-b", None));
        let counts = conn.run_lot(true, &[&a, &twice]).await.expect("a transaction and two inserts");
        assert_eq!(counts, vec![1, 1]);
        let failed = conn.run_all(&[&b, &twice, &a]).await.expect_err("a duplicate key");
        assert_eq!(failed.at, Some(1), "the second statement failed: {}", failed.error);
        assert!(failed.error.to_string().contains("23505"), "the server's code is kept: {}", failed.error);
        conn.batch("ROLLBACK").await.expect("rollback");
        let gone = idempotency_keys::Entity::find_by_id("p-a".to_owned()).first_in(&*conn).await.expect("read");
        assert_eq!(gone, None, "the rolled-back transaction left nothing");
        let again = conn.run_lot(true, &[&a]).await.expect("a new transaction");
        assert_eq!(again, vec![1], "the BEGIN's answer is not among the statements'");
        assert!(conn.in_transaction.load(Ordering::Acquire));
        conn.batch("ROLLBACK").await.expect("rollback");
    }

    #[tokio::test]
    async fn a_committing_lot_commits_all_or_nothing_and_a_stale_guarded_write_stops_it() {
        let Some(writer) = writer().await else { return };
        let conn = writer.connection().await.expect("connection");
        keys_table(&conn).await;
        conn.batch("CREATE TEMP TABLE IF NOT EXISTS versioned (id text PRIMARY KEY, version bigint NOT NULL)")
            .await
            .expect("create");
        conn.batch("INSERT INTO versioned VALUES ('c1', 1)").await.expect("insert");
        let write = |from: i64| {
            Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE versioned SET version = $1 WHERE id = $2 AND version = $3",
                [(from + 1).into(), "c1".into(), from.into()],
            )
        };
        #[derive(sea_orm::FromQueryResult, serde::Deserialize)]
        struct Row {
            version: i64,
        }
        let version = async || {
            let query = Query::select().column("version").from("versioned").to_owned();
            conn.first_row::<Row>(&query).await.expect("read").expect("row").version
        };
        // Stale: the write from version 5 matches no row; the insert after it is not kept.
        let (stale, key) = (guarded(&write(5)), insert_key("after-stale", None));
        let failed = conn.run_committing(&[&stale, &key]).await.expect_err("a stale write");
        assert_eq!(failed.at, Some(0));
        assert!(is_stale_write(&failed.error), "{}", failed.error);
        assert!(!conn.in_transaction.load(Ordering::Acquire), "the COMMIT rolled it back");
        let kept = idempotency_keys::Entity::find_by_id("after-stale".to_owned()).first_in(&*conn).await.expect("read");
        assert_eq!(kept, None);
        // A duplicate key after a good write: nothing of the lot is kept, and the failure is
        // the statement's, not a stale write.
        let (fresh, dup) = (guarded(&write(1)), insert_key("twice", None));
        let failed = conn.run_committing(&[&fresh, &dup, &dup]).await.expect_err("a duplicate key");
        assert_eq!(failed.at, Some(2));
        assert!(!is_stale_write(&failed.error), "{}", failed.error);
        assert_eq!(version().await, 1, "the write was rolled back");
        // All good: committed (a ROLLBACK after it takes nothing back).
        conn.run_committing(&[&fresh, &dup]).await.expect("committed");
        conn.batch("ROLLBACK").await.expect("rollback");
        assert_eq!(version().await, 2);
        assert_eq!(guarded(&insert_key("k", None)).sql, insert_key("k", None).sql, "an insert is never stale");
    }

    #[tokio::test]
    async fn an_abandoned_transaction_is_rolled_back_and_a_closed_connection_opened_again() {
        #[derive(sea_orm::FromQueryResult, serde::Deserialize)]
        struct Session {
            pid: i32,
        }
        let pid_query = Query::select().expr_as(Expr::cust("pg_backend_pid()"), "pid").to_owned();
        let Some(writer) = writer().await else { return };
        let conn = writer.connection().await.expect("connection");
        keys_table(&conn).await;
        conn.batch("BEGIN").await.expect("begin");
        conn.run_built(&insert_key("abandoned", None)).await.expect("insert");
        drop(conn); // the batch is abandoned mid-transaction
        let conn = writer.connection().await.expect("connection");
        assert!(!conn.in_transaction.load(Ordering::Acquire));
        let row = idempotency_keys::Entity::find_by_id("abandoned".to_owned()).first_in(&*conn).await.expect("read");
        assert_eq!(row, None, "the abandoned transaction was rolled back");
        let first: Session = conn.first_row(&pid_query).await.expect("pid").expect("row");
        let ended = Query::select().expr(Expr::cust("pg_terminate_backend(pg_backend_pid())")).to_owned();
        assert!(conn.first_row::<Session>(&ended).await.is_err(), "the server ended the session");
        let again = writer.connection().await.expect("opened again");
        let second: Session = again.first_row(&pid_query).await.expect("pid").expect("row");
        assert_ne!(first.pid, second.pid, "a new session");
        // Ended from elsewhere while idle: the next batch finds it closed before it sends
        // anything, and gets a new session.
        let other = writer.another().connection().await.expect("another connection");
        #[derive(sea_orm::FromQueryResult, serde::Deserialize)]
        struct Ended {
            ended: bool,
        }
        let end =
            Query::select().expr_as(Expr::cust(format!("pg_terminate_backend({})", second.pid)), "ended").to_owned();
        let ended: Ended = other.first_row(&end).await.expect("ended").expect("row");
        assert!(ended.ended);
        let mut third = second.pid;
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            let conn = writer.connection().await.expect("a connection");
            if !Arc::ptr_eq(&conn, &again) {
                third = conn.first_row::<Session>(&pid_query).await.expect("pid").expect("row").pid;
                break;
            }
        }
        assert_ne!(third, second.pid, "the ended session was noticed and replaced");
    }

    #[tokio::test]
    async fn a_whole_lot_is_one_transaction_answered_in_one_write() {
        let Some(writer) = writer().await else { return };
        let conn = writer.connection().await.expect("connection");
        keys_table(&conn).await;
        let (a, b) = (insert_key("w-a", None), insert_key("w-b", None));
        conn.run_committing(&[&a, &b]).await.expect("committed");
        assert!(!conn.in_transaction.load(Ordering::Acquire), "no transaction is left open");
        // The same keys again: the first insert fails, the server skips the second, and the
        // transaction is rolled back; the connection takes the next lot.
        let c = insert_key("w-c", None);
        let failed = conn.run_committing(&[&c, &a, &b]).await.expect_err("a duplicate key");
        assert_eq!(failed.at, Some(1));
        let kept = idempotency_keys::Entity::find_by_id("w-c".to_owned()).first_in(&*conn).await.expect("read");
        assert_eq!(kept, None, "the failed lot left nothing");
        let read = idempotency_keys::Entity::find_by_id("w-b".to_owned()).first_in(&*conn).await.expect("read");
        assert!(read.is_some(), "the first lot was committed");
        // A value that cannot be bound as its statement's type fails before anything is sent.
        let bad = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT $1::int4 AS n",
            [Value::BigUnsigned(Some(u64::MAX))],
        );
        let failed = conn.run_committing(&[&c, &bad]).await.expect_err("a value too large");
        assert_eq!(failed.at, Some(1));
        let kept = idempotency_keys::Entity::find_by_id("w-c".to_owned()).first_in(&*conn).await.expect("read");
        assert_eq!(kept, None, "nothing of the lot ran");
    }
}
