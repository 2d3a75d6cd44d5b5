//! Commands worked out ahead of their transaction.
//!
//! A committer runs its batch's commands one after another (on SQLite on one thread), so
//! whatever a command costs there is paid by every command queued behind it. Most of that
//! cost is not the database's: running the core, encoding the new state, hashing the audit
//! entry, building each statement, and reading the case when it is not in the cache of
//! committed cases. The caller does all of that itself, before it queues the command: it takes
//! the case from the cache or reads it as committed, and records the statements the command
//! path would run, in order ([`Recorder`]); the committer only runs them.
//!
//! The recorded work rests on a cached or read row, which may be behind (another command on
//! the case got there first, another node changed it). Its first statement writes the case's
//! row guarded by the version it was worked out from; when that matches no row, or when an
//! earlier command of the same batch wrote the case, the committer sets the recording aside
//! and runs the command the usual way (`runtime::apply_command`), from the case as its
//! transaction sees it. So a recording changes how fast a command runs, never what it does.
//!
//! On a PostgreSQL committer, a batch made only of recorded commands runs whole in one lot that
//! is its own transaction ([`run_whole`]); there a stale recording fails its case write, the
//! transaction rolls back, and the batch runs again with that command worked out in it.
//!
//! A command is worked out in the transaction instead when it needs to read the database: a
//! case that could not be read ahead, a definition not loaded, a refusal (which must come from
//! the committed state), or effects on other cases (a call starts a sub-case; a sub-case
//! reports to its caller).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use sea_orm::sea_query::SelectStatement;
use sea_orm::{DbBackend, DbErr, Statement, StatementBuilder};

use super::case_cache::{CachedCase, Staged};
use super::command_db::{CommandDb, CommandRow, LotFailed};
use super::effects::job_retries;
use super::entity::cases;
use super::error::StoreError;
use super::lot::{Owner, lay_out};
use super::pg_writer::{PgConn, guarded, is_stale_write};
use super::runtime::{
    Executed, LoadedDefinition, Request, Store, Target, write_case, write_entry_and_effects, written_after,
};
use crate::core::{CaseState, Command, Effect};

/// A command worked out from a cached case, as the statements its transaction runs.
pub(crate) struct Prepared {
    /// The case as the command leaves it.
    case: Arc<CachedCase>,
    /// The case's row write first (guarded by the version the command was worked out from),
    /// then the audit entry and the effects.
    statements: Vec<Statement>,
    /// Job retries the effects schedule (counted once the batch that runs them commits).
    job_retries: u64,
}

/// A [`CommandDb`] that keeps the statements it is given instead of running them.
struct Recorder {
    backend: DbBackend,
    statements: Mutex<Vec<Statement>>,
}

impl Recorder {
    fn statements(&self) -> std::sync::MutexGuard<'_, Vec<Statement>> {
        self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CommandDb for Recorder {
    fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Keeps the statement; how many rows it will change is not known yet (0).
    async fn run_built(&self, stmt: &Statement) -> Result<u64, DbErr> {
        self.statements().push(stmt.clone());
        Ok(0)
    }

    async fn run_owned(&self, stmt: Statement) -> Result<u64, DbErr> {
        self.statements().push(stmt);
        Ok(0)
    }

    async fn run_statement<S: StatementBuilder + Sync>(&self, stmt: &S) -> Result<u64, DbErr> {
        self.statements().push(self.backend.build(stmt));
        Ok(0)
    }

    /// Nothing can be read ahead of the transaction: the command is worked out in it.
    async fn first_row<M: CommandRow>(&self, _stmt: &SelectStatement) -> Result<Option<M>, DbErr> {
        Err(DbErr::Custom("a recorded command cannot read".into()))
    }
}

impl Store {
    /// Works a command out ahead of its transaction, or `None` when it must be worked out in
    /// the transaction (see the module's documentation).
    pub(crate) async fn prepare(&self, target: &Target, command: &Command, actor: &str) -> Option<Prepared> {
        if self.inner.config.cached_cases == 0 {
            return None;
        }
        let at = self.now();
        let (row, mut state, loaded) = match target {
            Target::New { parent: Some(_), .. } => return None,
            Target::New { definition, business_key, parent: None } => {
                let (row, state) = super::runtime::new_case_row(definition, business_key, &None, at);
                (row, state, definition.clone())
            }
            Target::Existing(id) => match self.inner.cases.get(id) {
                Some(entry) => {
                    let loaded = self.prepared_definition(entry.row.definition_id)?;
                    (entry.row.clone(), entry.state.clone(), loaded)
                }
                None => {
                    // Not cached: read as committed, here rather than in the transaction. A
                    // read that is behind by the time the batch runs is caught like a stale
                    // cache entry.
                    let (row, state) = self.committed_case(id).await.ok()?;
                    let loaded = self.prepared_definition(row.definition_id)?;
                    (row, state, loaded)
                }
            },
        };
        if row.parent_case_id.is_some() {
            return None;
        }
        let effects = self.apply_core(&loaded, &mut state, command, at).ok()?;
        if effects.iter().any(|e| matches!(e, Effect::StartCall { .. } | Effect::CancelCall { .. })) {
            return None;
        }
        record(self.inner.db.get_database_backend(), row, state, &loaded, command, &effects, at, actor).await.ok()
    }
}

/// The statements of a command worked out on `row` (its case before the command).
#[allow(clippy::too_many_arguments)]
async fn record(
    backend: DbBackend,
    row: cases::Model,
    state: CaseState,
    loaded: &LoadedDefinition,
    command: &Command,
    effects: &[Effect],
    at: crate::time::Timestamp,
    actor: &str,
) -> Result<Prepared, StoreError> {
    let (written, audit_row) = written_after(row, &state, command, effects, at, actor)?;
    let recorder = Recorder { backend, statements: Mutex::new(Vec::new()) };
    write_case(&recorder, &written).await?;
    write_entry_and_effects(&recorder, &written, audit_row, loaded, command, effects, at, actor).await?;
    let statements = recorder.statements.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(Prepared { case: Arc::new(CachedCase { row: written, state }), statements, job_retries: job_retries(effects) })
}

/// Runs the batch's recorded commands together, as far as they can be: the case writes of
/// all of them in one lot, then the rest of the statements of those whose write went through
/// in another ([`CommandDb::run_all`], which a PostgreSQL committer pipelines), laid out with
/// their inserts merged if `merge` (see `lot`). Takes each case's first recorded command in
/// the batch, unless it failed in an earlier attempt or cannot run with others ([`runnable`]).
///
/// Answers, for each command taken, what it did, or `None` when its recording was stale
/// (nothing written; it is to be run the usual way). Commands on different cases touch
/// different rows, so running them in this order instead of the batch's changes nothing but
/// the waiting. The case writes go in the order of the cases' ids: committers running at the
/// same time lock those rows in one order, so they cannot deadlock on them.
///
/// # Errors
/// A statement that failed, with the position in `batch` of its command where it is known.
pub(crate) async fn run_together(
    txn: &impl CommandDb,
    staged: &mut Staged,
    batch: &[Request],
    failed: &[Option<StoreError>],
    stale: &[bool],
    merge: bool,
) -> Result<Vec<(usize, Option<Executed>)>, LotError> {
    let mut cases = HashSet::new();
    let mut taken: Vec<(usize, &Prepared)> = batch
        .iter()
        .enumerate()
        .filter(|(i, _)| failed[*i].is_none())
        .filter_map(|(i, req)| runnable(req, stale[i]).map(|p| (i, p)))
        .filter(|(_, p)| staged.get(&p.case.row.id).is_none())
        .filter(|(_, p)| cases.insert(p.case.row.id.as_str()))
        .collect();
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    taken.sort_by(|a, b| a.1.case.row.id.cmp(&b.1.case.row.id));
    let writes: Vec<&Statement> = taken.iter().map(|(_, p)| &p.statements[0]).collect();
    let written = txn.run_all(&writes).await.map_err(|f| match f.at {
        Some(k) => LotError::Command(taken[k].0, f.error),
        None => LotError::Transaction(f.error),
    })?;
    let winners: Vec<(usize, &[Statement])> = taken
        .iter()
        .zip(&written)
        .filter(|(_, count)| **count == 1)
        .map(|((i, prepared), _)| (*i, &prepared.statements[1..]))
        .collect();
    let rest = lay_out(&winners, merge);
    let stmts: Vec<&Statement> = rest.iter().map(|laid| laid.stmt.as_ref()).collect();
    txn.run_all(&stmts).await.map_err(|f| match f.at {
        Some(k) => LotError::of(rest[k].owner, f.error),
        None => LotError::Transaction(f.error),
    })?;
    Ok(taken
        .into_iter()
        .zip(written)
        .map(|((i, prepared), count)| (i, (count == 1).then(|| settled(staged, prepared))))
        .collect())
}

/// Why a lot of recorded commands' statements did not go through. Nothing of it is to be kept.
pub(crate) enum LotError {
    /// The recording of the command at this position in the batch was stale: it is to be
    /// run the usual way ([`run_whole`] only).
    Stale(usize),
    /// The command at this position failed in the database.
    Command(usize, DbErr),
    /// A statement merged from several commands' failed: which one's is not known.
    Merged(DbErr),
    /// The transaction failed (it could not begin or commit).
    Transaction(DbErr),
}

impl LotError {
    fn of(owner: Owner, error: DbErr) -> LotError {
        match owner {
            Owner::One(i) => LotError::Command(i, error),
            Owner::Several => LotError::Merged(error),
        }
    }
}

/// A request's recording, if it may run with others: it is not stale, has statements, and
/// the request carries no idempotency key (whose key must be looked up first:
/// `runtime::run_one`).
fn runnable(req: &Request, stale: bool) -> Option<&Prepared> {
    let prepared = req.prepared.as_ref()?;
    (!stale && req.idempotency_key.is_none() && !prepared.statements.is_empty()).then_some(prepared)
}

/// A recorded command whose statements ran: its case and job retries go with the batch.
fn settled(staged: &mut Staged, prepared: &Prepared) -> Executed {
    let case = &prepared.case;
    staged.add_job_retries(prepared.job_retries);
    staged.put_shared(case.clone());
    Executed { case_id: case.row.id.clone(), version: case.row.version, status: case.state.status }
}

/// The batch's commands, in the order of their cases' ids, when every one still to run is
/// recorded and can run with the others in one lot: none failed or was stale in an earlier
/// attempt, none carries an idempotency key, each is on a case of its own. `None` otherwise.
pub(crate) fn wholly_recorded<'a>(
    batch: &'a [Request],
    failed: &[Option<StoreError>],
    stale: &[bool],
) -> Option<Vec<(usize, &'a Prepared)>> {
    let mut cases = HashSet::new();
    let mut taken = Vec::with_capacity(batch.len());
    for (i, req) in batch.iter().enumerate() {
        if failed[i].is_some() {
            continue;
        }
        let prepared = runnable(req, stale[i])?;
        if !cases.insert(prepared.case.row.id.as_str()) {
            return None;
        }
        taken.push((i, prepared));
    }
    taken.sort_by(|a, b| a.1.case.row.id.cmp(&b.1.case.row.id));
    (!taken.is_empty()).then_some(taken)
}

/// Runs a batch of recorded commands ([`wholly_recorded`]) as one transaction in one lot on a
/// PostgreSQL committer's connection: each command's case write (made to fail when stale, see
/// [`guarded`]), the other statements (laid out with their inserts merged if `merge`, see
/// `lot`), committed together ([`PgConn::run_committing`]); a round trip for the whole batch. The case writes go in
/// the order of the cases' ids, as in [`run_together`]. Nothing was written when it fails.
pub(crate) async fn run_whole(
    conn: &PgConn,
    staged: &mut Staged,
    taken: Vec<(usize, &Prepared)>,
    merge: bool,
) -> Result<Vec<(usize, Executed)>, LotError> {
    let guards: Vec<Statement> = taken.iter().map(|(_, p)| guarded(&p.statements[0])).collect();
    let others: Vec<(usize, &[Statement])> = taken.iter().map(|(i, p)| (*i, &p.statements[1..])).collect();
    let rest = lay_out(&others, merge);
    let lot: Vec<&Statement> = guards.iter().chain(rest.iter().map(|laid| laid.stmt.as_ref())).collect();
    match conn.run_committing(&lot).await {
        Ok(()) => Ok(taken.into_iter().map(|(i, prepared)| (i, settled(staged, prepared))).collect()),
        Err(LotFailed { at: None, error }) => Err(LotError::Transaction(error)),
        Err(LotFailed { at: Some(k), error }) => Err(match k.checked_sub(guards.len()) {
            None if is_stale_write(&error) => LotError::Stale(taken[k].0),
            None => LotError::Command(taken[k].0, error),
            Some(k) => LotError::of(rest[k].owner, error),
        }),
    }
}

/// Runs a recorded command in the batch's transaction. `None` when the recording is stale (the
/// case changed since it was cached, or an earlier command of this batch changed it): nothing
/// was written, and the command is to be run the usual way.
pub(crate) async fn run_prepared(
    txn: &impl CommandDb,
    staged: &mut Staged,
    prepared: &Prepared,
) -> Result<Option<Executed>, StoreError> {
    let case = &prepared.case;
    if staged.get(&case.row.id).is_some() {
        return Ok(None);
    }
    let Some((write_case, rest)) = prepared.statements.split_first() else { return Ok(None) };
    if txn.run_built(write_case).await? != 1 {
        return Ok(None);
    }
    for stmt in rest {
        txn.run_built(stmt).await?;
    }
    Ok(Some(settled(staged, prepared)))
}
