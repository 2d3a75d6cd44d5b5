//! Moving a running case to another version of its flow (instance migration).
//!
//! A case's state refers to nodes by index; a migration maps every node the case occupies
//! (tokens, tasks, jobs, incidents, timers, event gateway options) to the node with the same
//! id in the target version. It is refused, with every reason at once, when an occupied node
//! is missing from the target, is of another type there, or has a different number of
//! boundary events (boundary timers are addressed by position). Variables, outcomes and
//! performers are keyed by name and carry over unchanged.

use super::definition::Definition;
use super::effect::TimerPurpose;
use super::state::{CaseState, Wait};
use crate::model::NodeIdx;

/// Why a case cannot move to the target version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the case cannot move to the target version: {}", .reasons.join("; "))]
pub struct MigrationError {
    /// One sentence per occupied node that does not map.
    pub reasons: Vec<String>,
}

/// The case's state re-addressed to `to`'s nodes.
///
/// # Errors
/// A [`MigrationError`] naming every occupied node that has no counterpart in `to`.
pub fn migrate(from: &Definition, to: &Definition, state: &CaseState) -> Result<CaseState, MigrationError> {
    let mut reasons = Vec::new();
    let mut map = |idx: NodeIdx| -> NodeIdx {
        let node = from.node(idx);
        match to.flow.node_by_id(&node.id) {
            Some(target) if target.kind.type_name() != node.kind.type_name() => {
                reasons.push(format!(
                    "`{}` is a {} here and a {} in the target",
                    node.id,
                    node.kind.type_name(),
                    target.kind.type_name()
                ));
                idx
            }
            Some(target) if target.boundary.len() != node.boundary.len() => {
                reasons.push(format!(
                    "`{}` has {} boundary events here and {} in the target",
                    node.id,
                    node.boundary.len(),
                    target.boundary.len()
                ));
                idx
            }
            Some(target) => target.idx,
            None => {
                reasons.push(format!("`{}` holds the case but does not exist in the target", node.id));
                idx
            }
        }
    };
    let mut out = state.clone();
    for token in &mut out.tokens {
        token.node = map(token.node);
        if let Wait::EventGate(options) = &mut token.wait {
            for option in options.iter_mut() {
                *option = map(*option);
            }
        }
    }
    for task in &mut out.tasks {
        task.node = map(task.node);
    }
    for job in &mut out.jobs {
        job.node = map(job.node);
    }
    for incident in &mut out.incidents {
        incident.node = map(incident.node);
    }
    for timer in &mut out.timers {
        if let TimerPurpose::Catch { node, .. } = &mut timer.purpose {
            *node = map(*node);
        }
    }
    reasons.sort();
    reasons.dedup();
    if reasons.is_empty() { Ok(out) } else { Err(MigrationError { reasons }) }
}
