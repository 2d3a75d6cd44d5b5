//! The pure core: `(definition, case state, command, env) -> (new state, effects)`.
//!
//! Deterministic and free of I/O: no clock (the instant comes in [`Env::now`]), no
//! randomness (case-local ids come from a counter in the state), no database, no logging.
//! The store loads a case, calls [`transition`], and writes the new state and the effects
//! in one transaction.
//!
//! # Transitions
//! ```text
//! New        --Start/StartAt-----------------------> Active      (tokens run to their first waits)
//! Active     --Claim/Unclaim/Delegate/Assign/AttachRecord--> Active (task assignment and records)
//! Active     --EscalateTask/ResolveEscalation------> Active      (a disagreement and its ruling)
//! Active     --Complete/CorrelateMessage/FireTimer--> Active | Completed | Terminated | Failed
//!            --JobSucceeded/JobFailed/Published-->
//!            --CallCompleted/CallFailed/CallEscalated/RetryIncident-->
//! Active     --PauseDeadline/ResumeDeadline-------> Active      (the task's due date moves)
//! Active     --Suspend----------------------------> Suspended   (timers disarmed)
//! Suspended  --Resume-----------------------------> Active      (timers re-armed)
//! Active|Suspended --Cancel-----------------------> Cancelled
//! closed     --engine event-----------------------> closed      (ignored: a late event)
//! closed     --any other command------------------> error CaseClosed
//! ```
//! A refused command returns an error and leaves the state as it was.
//!
//! # Layout
//! - [`command`], [`effect`], [`error`], [`ids`], [`state`]: the data.
//! - [`definition`]: a flow with the tables derived from its graph.
//! - `machine`: token movement through nodes; `tasks`, `events`, `lifecycle`: handlers.
//! - [`eval`]: expressions against a case.

pub mod command;
pub mod definition;
pub mod effect;
pub mod error;
pub mod eval;
pub mod ids;
pub mod migrate;
pub mod state;

mod events;
mod lifecycle;
pub(crate) mod machine;
mod tasks;

#[cfg(test)]
mod tests;

pub use command::{Actor, Command, Completion, RecordRef, Variables};
pub use definition::{Definition, DefinitionError};
pub use effect::{Effect, TimerPurpose};
pub use error::TransitionError;
pub use ids::*;
pub use migrate::{MigrationError, migrate};
pub use state::{CaseState, CaseStatus, Escalation, TaskState, Token, Wait};

use crate::calendar::Calendar;
use crate::time::Timestamp;
use machine::Machine;

/// What a transition may know about the world, handed in by the caller.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The current instant.
    pub now: Timestamp,
    /// The flow's working-day calendar (needed for legal periods and deadlines).
    pub calendar: Option<&'a Calendar>,
}

/// The result of an accepted command.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The case after the command.
    pub state: CaseState,
    /// What the store must do, in order.
    pub effects: Vec<Effect>,
}

/// Applies one command to a case, returning the new state and the effects.
///
/// # Errors
/// A [`TransitionError`] when the command is refused.
pub fn transition(
    def: &Definition,
    state: &CaseState,
    command: Command,
    env: &Env<'_>,
) -> Result<Transition, TransitionError> {
    let mut state = state.clone();
    let effects = apply(def, &mut state, command, env)?;
    Ok(Transition { state, effects })
}

/// Applies one command to a case in place and returns the effects: [`transition`] without
/// copying the state, for callers that own it (the store, benchmarks).
///
/// # Errors
/// A [`TransitionError`] when the command is refused; `state` is then unchanged (every
/// handler checks before it changes anything, and the property tests hold it to that).
pub fn apply(
    def: &Definition,
    state: &mut CaseState,
    command: Command,
    env: &Env<'_>,
) -> Result<Vec<Effect>, TransitionError> {
    let status = state.status;
    if status.is_closed() {
        return if command.is_engine_event() { Ok(Vec::new()) } else { Err(TransitionError::CaseClosed) };
    }
    match (&command, status) {
        (Command::Start { .. } | Command::StartAt { .. }, _) => {}
        (_, CaseStatus::New) => return Err(TransitionError::NotStarted),
        (Command::Resume | Command::Cancel { .. }, CaseStatus::Suspended) => {}
        (_, CaseStatus::Suspended) => return Err(TransitionError::CaseSuspended),
        _ => {}
    }
    let mut m = Machine::new(def, env, state);
    match command {
        Command::Start { variables } => m.start(None, variables)?,
        Command::StartAt { node, variables } => m.start(Some(node), variables)?,
        Command::Claim { task, actor } => m.claim(task, actor)?,
        Command::Unclaim { task, actor } => m.unclaim(task, actor)?,
        Command::Delegate { task, actor, to } => m.delegate(task, actor, to)?,
        Command::Assign { task, actor, to } => m.assign_to(task, actor, to)?,
        Command::EscalateTask { task, actor, to, reason } => m.escalate_task(task, actor, to, reason)?,
        Command::ResolveEscalation { task, actor, outcome, note } => {
            m.resolve_escalation(task, actor, outcome, note)?
        }
        Command::AttachRecord { task, actor, record } => m.attach_record(task, actor, record)?,
        Command::Complete { task, actor, completion } => m.complete(task, actor, completion)?,
        Command::CorrelateMessage { name, variables } => m.correlate(name, variables)?,
        Command::FireTimer { timer } => m.fire_timer(timer)?,
        Command::JobSucceeded { job, variables } => m.job_succeeded(job, variables)?,
        Command::JobFailed { job, message, error_code } => m.job_failed(job, message, error_code)?,
        Command::RetryIncident { incident } => m.retry_incident(incident)?,
        Command::Published { publication } => m.published(publication)?,
        Command::CallCompleted { call, outcome, variables } => m.call_completed(call, outcome, variables)?,
        Command::CallFailed { call, error_code } => m.call_failed(call, error_code)?,
        Command::CallEscalated { call, code } => m.call_escalated(call, code)?,
        Command::PauseDeadline { task, reason } => m.pause_deadline(task, reason)?,
        Command::ResumeDeadline { task } => m.resume_deadline(task)?,
        Command::Suspend => m.suspend()?,
        Command::Resume => m.resume()?,
        Command::Cancel { .. } => m.cancel()?,
    }
    Ok(m.effects)
}
