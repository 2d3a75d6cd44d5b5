//! Group commit: one committer task takes the queued commands, runs them in one
//! transaction, commits once, then answers every caller.

use std::sync::Arc;

use sea_orm::DbErr;
use tokio::sync::{Mutex, mpsc};

use super::error::StoreError;
use super::runtime::{Executed, Request, Store, run_one};

/// Takes batches from the queue until it closes and is drained.
pub(crate) async fn committer(store: Store, queue: Arc<Mutex<mpsc::Receiver<Request>>>) {
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
        commit_batch(&store, batch).await;
    }
}

/// Runs a batch and answers every caller.
async fn commit_batch(store: &Store, batch: Vec<Request>) {
    let results = match run_batch(store, &batch).await {
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
async fn run_batch(store: &Store, batch: &[Request]) -> Result<Vec<Result<Executed, StoreError>>, DbErr> {
    let mut failed: Vec<Option<StoreError>> = batch.iter().map(|_| None).collect();
    'attempt: loop {
        let txn = store.begin_write().await?;
        let mut answers = Vec::with_capacity(batch.len());
        for (i, req) in batch.iter().enumerate() {
            if failed[i].is_some() {
                continue;
            }
            match run_one(store, &txn, req).await {
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
        let mut results: Vec<Result<Executed, StoreError>> =
            failed.into_iter().map(|f| Err(f.unwrap_or(StoreError::Conflict))).collect();
        for (i, answer) in answers {
            results[i] = answer;
        }
        return Ok(results);
    }
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
