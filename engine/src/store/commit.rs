//! Group commit: one committer task takes the queued commands, runs them in one
//! transaction, commits once, then answers every caller.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::sea_query::SelectStatement;
use sea_orm::{DatabaseTransaction, DbBackend, DbErr, Statement};
use tokio::sync::{Mutex, mpsc};

use super::case_cache::Staged;
use super::command_db::{CommandDb, CommandRow, LotFailed};
use super::error::StoreError;
use super::pg_writer::{PgConn, PgWriter};
use super::prepared::{LotError, run_together, run_whole, wholly_recorded};
use super::runtime::{Executed, Request, Store, run_one};
use super::sqlite_writer::SqliteWriter;

/// Where a committer writes.
#[derive(Clone)]
pub(crate) enum Writer {
    /// Transactions on the store's connection pool.
    Pool,
    /// The SQLite committer's own connection (see `sqlite_writer`).
    Sqlite(Arc<SqliteWriter>),
    /// A PostgreSQL committer's own connection (see `pg_writer`).
    Postgres(Arc<PgWriter>),
}

/// A batch's transaction.
trait BatchTxn: CommandDb + Send + Sized {
    async fn commit(self) -> Result<(), DbErr>;
    async fn rollback(self) -> Result<(), DbErr>;

    /// The connection, when it can run a whole batch of recorded commands in one lot that is
    /// its own transaction (`prepared::run_whole`) and nothing has run in this transaction yet.
    fn whole_lots(&self) -> Option<&PgConn> {
        None
    }
}

impl BatchTxn for DatabaseTransaction {
    async fn commit(self) -> Result<(), DbErr> {
        DatabaseTransaction::commit(self).await
    }

    async fn rollback(self) -> Result<(), DbErr> {
        DatabaseTransaction::rollback(self).await
    }
}

/// A transaction on the SQLite writer (`BEGIN IMMEDIATE` ... `COMMIT`), rolled back if it is
/// dropped unfinished.
struct SqliteTxn(Option<Arc<SqliteWriter>>);

impl SqliteTxn {
    fn begin(writer: &Arc<SqliteWriter>) -> Result<SqliteTxn, DbErr> {
        writer.control("BEGIN IMMEDIATE")?;
        Ok(SqliteTxn(Some(writer.clone())))
    }

    fn writer(&self) -> Result<&SqliteWriter, DbErr> {
        self.0.as_deref().ok_or_else(|| DbErr::Custom("the transaction is finished".into()))
    }

    /// Commits or rolls back. A `COMMIT` that fails (a full disk, say) leaves the transaction
    /// rolled back, so the connection can begin the next batch.
    fn finish(mut self, sql: &str) -> Result<(), DbErr> {
        let writer = self.0.take().ok_or_else(|| DbErr::Custom("the transaction is finished".into()))?;
        let finished = writer.control(sql);
        if finished.is_err() && writer.in_transaction() {
            let _ = writer.control("ROLLBACK");
        }
        finished
    }
}

impl Drop for SqliteTxn {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take()
            && let Err(e) = writer.control("ROLLBACK")
        {
            tracing::warn!(error = %e, "rolling back an abandoned batch failed");
        }
    }
}

impl CommandDb for SqliteTxn {
    fn backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn run_built(&self, stmt: &Statement) -> Result<u64, DbErr> {
        self.writer()?.run_built(stmt).await
    }

    async fn first_row<M: CommandRow>(&self, stmt: &SelectStatement) -> Result<Option<M>, DbErr> {
        self.writer()?.first_row(stmt).await
    }
}

impl BatchTxn for SqliteTxn {
    async fn commit(self) -> Result<(), DbErr> {
        self.finish("COMMIT")
    }

    async fn rollback(self) -> Result<(), DbErr> {
        self.finish("ROLLBACK")
    }
}

/// A transaction on a PostgreSQL committer's connection. Its `BEGIN` goes with its first
/// statements (one round trip less per batch). One left unfinished (its batch abandoned) is
/// rolled back before the connection's next transaction begins.
struct PgTxn {
    conn: Arc<PgConn>,
    begun: AtomicBool,
}

impl PgTxn {
    async fn begin(writer: &PgWriter) -> Result<PgTxn, DbErr> {
        Ok(PgTxn { conn: writer.connection().await?, begun: AtomicBool::new(false) })
    }

    /// Sends the `BEGIN` now, if it has not gone yet.
    async fn begun(&self) -> Result<&PgConn, DbErr> {
        if !self.begun.swap(true, Ordering::AcqRel) {
            self.conn.batch("BEGIN").await?;
        }
        Ok(&self.conn)
    }
}

impl CommandDb for PgTxn {
    fn backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn run_built(&self, stmt: &Statement) -> Result<u64, DbErr> {
        self.begun().await?.run_built(stmt).await
    }

    async fn run_all(&self, stmts: &[&Statement]) -> Result<Vec<u64>, LotFailed> {
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        let begin = !self.begun.swap(true, Ordering::AcqRel);
        self.conn.run_lot(begin, stmts).await
    }

    async fn first_row<M: CommandRow>(&self, stmt: &SelectStatement) -> Result<Option<M>, DbErr> {
        self.begun().await?.first_row(stmt).await
    }
}

impl BatchTxn for PgTxn {
    /// Commits. Every statement's answer was read before (a failed one rolls the batch back),
    /// so the transaction committed is never one the server has already aborted.
    async fn commit(self) -> Result<(), DbErr> {
        if !self.begun.load(Ordering::Acquire) {
            return Ok(());
        }
        self.conn.batch("COMMIT").await
    }

    async fn rollback(self) -> Result<(), DbErr> {
        if !self.begun.load(Ordering::Acquire) {
            return Ok(());
        }
        self.conn.batch("ROLLBACK").await
    }

    fn whole_lots(&self) -> Option<&PgConn> {
        (!self.begun.load(Ordering::Acquire)).then_some(&*self.conn)
    }
}

/// Takes batches from the queue until it closes and is drained.
pub(crate) async fn committer(store: Store, queue: Arc<Mutex<mpsc::Receiver<Request>>>, writer: Writer) {
    let max = store.inner.config.max_batch.max(1);
    loop {
        let batch = {
            let mut rx = queue.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < max {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            batch
        };
        metrics::histogram!("docket_commit_batch_size").record(batch.len() as f64);
        commit_batch(&store, &writer, batch).await;
    }
}

/// Runs a batch and answers every caller.
async fn commit_batch(store: &Store, writer: &Writer, batch: Vec<Request>) {
    let outcome = match writer {
        Writer::Pool => run_batch(store, &batch, || store.begin_write()).await,
        Writer::Sqlite(w) => run_batch(store, &batch, || std::future::ready(SqliteTxn::begin(w))).await,
        Writer::Postgres(w) => run_batch(store, &batch, || PgTxn::begin(w)).await,
    };
    let results = match outcome {
        Ok(results) => results,
        Err(e) => {
            tracing::warn!(error = %e, commands = batch.len(), "batch transaction failed");
            let retryable = is_busy(&e);
            batch
                .iter()
                .map(|_| Err(if retryable { StoreError::Conflict } else { StoreError::Database(clone_err(&e)) }))
                .collect()
        }
    };
    for (req, result) in batch.into_iter().zip(results) {
        let outcome = match &result {
            Ok(_) => "accepted",
            Err(StoreError::Refused(_)) => "refused",
            Err(StoreError::Conflict) => "conflict",
            Err(_) => "failed",
        };
        metrics::counter!("docket_commands_total", "command" => req.command.name(), "result" => outcome).increment(1);
        let _ = req.reply.send(result);
    }
}

/// Runs a batch in one transaction. A command the core refuses, or one that loses a version
/// race, has written nothing when it fails, so commands need no savepoints of their own. A
/// command that fails in the database spoils the transaction: it is rolled back, that command
/// is answered with its error, and the batch runs again without it, so its neighbours are
/// unaffected (and answered only after the commit that holds their work).
async fn run_batch<T: BatchTxn, F: Future<Output = Result<T, DbErr>>>(
    store: &Store,
    batch: &[Request],
    begin: impl Fn() -> F,
) -> Result<Vec<Result<Executed, StoreError>>, DbErr> {
    let mut failed: Vec<Option<StoreError>> = batch.iter().map(|_| None).collect();
    // Recordings found stale in an earlier attempt: those commands are worked out in the
    // transaction.
    let mut stale = vec![false; batch.len()];
    // Whether the recorded commands' inserts are merged (see `lot`); not after a merged
    // statement failed, so that the command it failed for is found.
    let mut merge = true;
    'attempt: loop {
        let txn = begin().await?;
        let mut staged = Staged::default();
        // A batch of recorded commands only, on a connection that pipelines: one lot, its
        // commit included. Nothing of it was written when it fails.
        if let Some(conn) = txn.whole_lots()
            && let Some(taken) = wholly_recorded(batch, &failed, &stale)
        {
            match run_whole(conn, &mut staged, taken, merge).await {
                Ok(answers) => {
                    return Ok(committed(store, staged, failed, answers.into_iter().map(|(i, e)| (i, Ok(e)))));
                }
                Err(e) => settle_lot_error(e, batch, &mut failed, &mut stale, &mut merge)?,
            }
            continue 'attempt;
        }
        // The recorded commands first, all together; then the others, and those whose
        // recording was stale, one by one.
        let mut answers = Vec::with_capacity(batch.len());
        let mut recorded = vec![Recorded::Untried; batch.len()];
        match run_together(&txn, &mut staged, batch, &failed, &stale, merge).await {
            Ok(together) => {
                for (i, outcome) in together {
                    match outcome {
                        Some(executed) => {
                            recorded[i] = Recorded::Ran;
                            answers.push((i, Ok(executed)));
                        }
                        None => recorded[i] = Recorded::Stale,
                    }
                }
            }
            Err(e) => {
                let rolled_back = txn.rollback().await;
                settle_lot_error(e, batch, &mut failed, &mut stale, &mut merge)?;
                rolled_back?;
                continue 'attempt;
            }
        }
        for (i, req) in batch.iter().enumerate() {
            if failed[i].is_some() || recorded[i] == Recorded::Ran {
                continue;
            }
            match run_one(store, &txn, &mut staged, req, recorded[i] == Recorded::Untried && !stale[i]).await {
                Err(StoreError::KeyTaken(key)) => {
                    // This command wrote before it learned another had its key: roll back,
                    // answer it `CONFLICT` (its caller retries and finds the first answer),
                    // and run the others again.
                    txn.rollback().await?;
                    tracing::debug!(key = %key, "idempotency key taken concurrently");
                    failed[i] = Some(StoreError::Conflict);
                    continue 'attempt;
                }
                Err(StoreError::Database(e)) => {
                    txn.rollback().await?;
                    if is_busy(&e) {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, command = req.command.name(), "command failed in the database");
                    failed[i] = Some(StoreError::Database(e));
                    continue 'attempt;
                }
                answer => answers.push((i, answer)),
            }
        }
        txn.commit().await?;
        return Ok(committed(store, staged, failed, answers));
    }
}

/// Takes in why a lot of recorded commands failed (its transaction rolled back), for the
/// batch's next attempt: a stale recording is worked out in the transaction, a failed command
/// is answered with its error, a failed merged statement has the lot sent unmerged.
///
/// # Errors
/// When the whole batch fails: its transaction did, or the database was busy.
fn settle_lot_error(
    error: LotError,
    batch: &[Request],
    failed: &mut [Option<StoreError>],
    stale: &mut [bool],
    merge: &mut bool,
) -> Result<(), DbErr> {
    match error {
        LotError::Stale(i) => stale[i] = true,
        LotError::Transaction(e) => return Err(e),
        LotError::Command(_, e) | LotError::Merged(e) if is_busy(&e) => return Err(e),
        LotError::Command(i, e) => {
            tracing::warn!(error = %e, command = batch[i].command.name(), "command failed in the database");
            failed[i] = Some(StoreError::Database(e));
        }
        LotError::Merged(e) => {
            tracing::debug!(error = %e, "a merged insert failed; the batch runs again unmerged");
            *merge = false;
        }
    }
    Ok(())
}

/// The answers to a batch whose transaction committed: the cache takes the rows before any
/// caller is answered, so a caller's next command (or read) finds what it wrote.
fn committed(
    store: &Store,
    staged: Staged,
    failed: Vec<Option<StoreError>>,
    answers: impl IntoIterator<Item = (usize, Result<Executed, StoreError>)>,
) -> Vec<Result<Executed, StoreError>> {
    metrics::counter!("docket_job_retries_total").increment(staged.job_retries());
    store.inner.cases.absorb(staged);
    let mut results: Vec<Result<Executed, StoreError>> =
        failed.into_iter().map(|f| Err(f.unwrap_or(StoreError::Conflict))).collect();
    for (i, answer) in answers {
        results[i] = answer;
    }
    results
}

/// What became of a command's recording (see `prepared`) in a batch's attempt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Recorded {
    /// Not run with the others (none, or not eligible): the command runs on its own.
    Untried,
    /// Ran with the others: answered.
    Ran,
    /// Stale (its case changed since it was cached): the command runs on its own, worked
    /// out in the transaction.
    Stale,
}

/// A lock timeout or serialization failure: the batch may succeed if tried again.
fn is_busy(e: &DbErr) -> bool {
    let text = e.to_string().to_lowercase();
    text.contains("database is locked")
        || text.contains("busy")
        || text.contains("could not serialize")
        || text.contains("deadlock")
}

fn clone_err(e: &DbErr) -> DbErr {
    DbErr::Custom(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_commit_leaves_no_transaction_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Arc::new(SqliteWriter::open(dir.path().join("c.db").to_str().expect("path")).expect("open"));
        writer
            .batch("CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);")
            .expect("create");
        let txn = SqliteTxn::begin(&writer).expect("begin");
        writer.batch("INSERT INTO c VALUES (7)").expect("write");
        // The deferred foreign key fails the COMMIT itself.
        assert!(txn.commit().await.is_err(), "the COMMIT violates the deferred foreign key");
        assert!(!writer.in_transaction(), "the failed COMMIT was rolled back");
        let next = SqliteTxn::begin(&writer).expect("the next batch begins");
        next.commit().await.expect("commit");
    }
}
