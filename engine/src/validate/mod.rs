//! The validator: checks a parsed flow before it is deployed, and proves its compliance
//! guards on the graph.
//!
//! Validation runs on deploy and from `docket validate`. Every problem names the YAML line
//! and column of the item it is about (the node key, the branch, the target, the
//! expression), so that an admin can go straight to it. The reader ([`crate::dsl`])
//! already reports `syntax`, `unknown-key`, `missing-key`, `bad-value`, `unknown-target`,
//! `bad-expression`, `bad-duration`, `bad-date` and `bad-cron`; this module adds:
//!
//! | check | code | module |
//! |---|---|---|
//! | a node no path from a start (`start:` or a `type: start` node) reaches | `unreachable-node` | `reach` |
//! | a node that is not an end event and has no `next` (a gateway: neither `branches` nor `next`), or a loop with no way out to an end event | `dead-end` | `reach` |
//! | an exclusive or inclusive gateway without `otherwise` whose conditions are not provably exhaustive | `no-default-branch` | `gateways` |
//! | a parallel join whose incoming flows are alternatives (they part at an exclusive or event-based gateway, come from different start events, or one loops back from after the join) | `join-deadlock` | `gateways` |
//! | an expression naming something that is not a rule, node or declared variable; a form field or call input/output that is not a declared variable | `unknown-variable` | `names` |
//! | a rule that refers to itself, directly or through others | `rule-cycle` | `names` |
//! | a node id that is also a variable or rule name; a rule with a variable's name; a boundary event id used twice or by a node | `duplicate-id` | `names` |
//! | an event-based gateway leading to something other than a timer or message catch event | `bad-value` | `names` |
//! | `calendar:` naming no known calendar | `unknown-calendar` | `refs` |
//! | a legal period or deadline in a flow without `calendar:` | `missing-key` | `refs` |
//! | a call activity to a flow that is not known (a flow may call itself) | `unknown-flow` | `refs` |
//! | a path from a start that reaches a guarded node with the guard's condition possibly true and without the required outcome | `guard-bypassed` | `guards` |
//! | a guard requiring an outcome its node cannot have; a branch comparing a task's outcome with one it cannot have | `bad-value` | `guards` |
//!
//! The graph checks (reachability, gateways, guards) and the resolution of names in
//! expressions, forms and calls run only on a flow that parsed without problems: on a
//! half-read flow they would report the consequences of the first problem (a node or
//! variable that could not be read is "unknown" everywhere it is used). The checks that
//! cannot cascade (calendar, called flows, duplicate ids, rule cycles, event-based targets)
//! run in any case.
//!
//! Cost: linear in the size of the flow for each check, plus one search over at most nine
//! states per node for each guard; a 200-node flow is parsed and validated in about 2 ms in
//! a release build, nearly all of it parsing (see `a_large_flow_validates_quickly` in
//! `engine/tests/validate_fixtures.rs`).

mod gateways;
mod graph;
mod guards;
mod names;
mod reach;
mod refs;
mod text;

#[cfg(test)]
mod tests;

use crate::dsl::{self, Parsed};
use crate::model::Flow;
use crate::problem::Problem;

use graph::FlowGraph;

/// What a flow may refer to outside itself, so that a typo in a calendar or a called
/// flow is caught at deploy rather than when a case first reaches it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Env<'a> {
    /// Ids of the calendars that exist (shipped or deployed): `cn-mainland`.
    pub calendars: &'a [String],
    /// Keys of the flows a call activity may name (deployed, or deployed together with
    /// this one). A flow may always call itself.
    pub flows: &'a [String],
}

/// A flow read and checked: what [`check`] returns.
#[derive(Debug)]
pub struct Checked {
    /// The flow as far as it could be read; `None` when the text is not a flow at all.
    pub flow: Option<Flow>,
    /// Every problem, parse and validation, sorted by location.
    pub problems: Vec<Problem>,
}

impl Checked {
    /// Whether the flow may be deployed.
    pub fn is_valid(&self) -> bool {
        self.flow.is_some() && self.problems.is_empty()
    }
}

/// Checks a parsed flow: every check in the module docs. Problems are sorted by location
/// (then code), so that they read top to bottom like the file.
pub fn validate(flow: &Flow, env: &Env) -> Vec<Problem> {
    let mut problems = Vec::new();
    run(flow, env, Scope::Full, &mut problems);
    finish(problems)
}

/// Reads and checks a flow's YAML text. The graph checks run only when reading found no
/// problem, so that one mistake is reported once rather than with its consequences.
pub fn check(source: &str, env: &Env) -> Checked {
    check_parsed(dsl::parse(source), env)
}

/// [`check`] for a flow already read with [`dsl::parse`] (the command line reads every
/// file first to learn which flow keys exist).
pub fn check_parsed(parsed: Parsed, env: &Env) -> Checked {
    let Parsed { flow, mut problems } = parsed;
    if let Some(flow) = &flow {
        let scope = if problems.is_empty() { Scope::Full } else { Scope::Local };
        run(flow, env, scope, &mut problems);
    }
    Checked { flow, problems: finish(problems) }
}

/// How much of the validator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Everything.
    Full,
    /// Only checks that stay true when parts of the flow could not be read: references
    /// to calendars and flows, duplicate ids, rule cycles.
    Local,
}

fn run(flow: &Flow, env: &Env, scope: Scope, problems: &mut Vec<Problem>) {
    refs::check(flow, env, problems);
    names::check(flow, scope == Scope::Full, problems);
    if scope == Scope::Full {
        let graph = FlowGraph::new(flow);
        reach::check(flow, &graph, problems);
        gateways::check(flow, &graph, problems);
        guards::check(flow, &graph, problems);
    }
}

fn finish(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort();
    problems.dedup();
    problems
}
