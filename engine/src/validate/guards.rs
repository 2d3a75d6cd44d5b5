//! Compliance guards proven on the graph (`guard-bypassed`), and outcomes that a node
//! cannot have (`bad-value`).
//!
//! A guard `decide: { guard: { requires: legal_review.approved, when: major } }` says: no
//! case enters `decide` while `major` holds unless `legal_review` completed with outcome
//! `approved`. The engine refuses such an entry at run time; the validator shows that no
//! path of the flow leads to that refusal, by a breadth-first search over abstract states
//! `(node, cond, passed)`:
//!
//! - `cond` is what is known of the guard's `when` on the path: true, false or unknown. It
//!   starts unknown. Taking a branch whose condition is the guard's condition (after
//!   whitespace normalisation) makes it true; `!COND` makes it false; so does the default
//!   branch of a gateway where a sibling is `COND`, or a later branch of an exclusive
//!   gateway where an earlier one is. Leaving a node that may write what the condition
//!   reads (through rules, transitively) makes it unknown again: a user task whose form
//!   writes such a variable, a call whose outputs do, a task whose outcome the condition
//!   reads, a service task or message (which may write any variable), and a join (other
//!   tokens may have written anything). When the flow can run tokens side by side and
//!   something writes what the condition reads, leaving any wait state makes it unknown.
//! - `passed` is what is known of the required node: not passed on this path, passed, or
//!   passed with the required outcome. Completing the required node sets it to passed
//!   (approved when the required outcome is the task's only outcome); a branch testing
//!   `NODE.outcome == 'OUTCOME'` makes it approved (the branch read the very value the
//!   guard reads); the default branch of a gateway whose other branches test every other
//!   outcome makes a passed node approved; a branch where the test is false, or another
//!   outcome is tested true, takes approval away; completing the node again starts over
//!   (the last outcome counts, as at run time).
//!
//! Reaching the guarded node with `cond` not false and `passed` not approved is a
//! violation; the search reports the shortest such path. The analysis is sound but not
//! complete: conditions it cannot read are unknown, and a requirement met on a parallel
//! branch is not credited to another.

use std::collections::{HashSet, VecDeque};

use super::graph::{Edge, FlowGraph};
use super::text::{OutcomeTest, canonical, free_identifiers, negated, outcome_test};
use crate::model::{BoundaryTrigger, Expr, Flow, Guard, Node, NodeKind};
use crate::problem::{Code, Problem};

pub(crate) fn check(flow: &Flow, graph: &FlowGraph, problems: &mut Vec<Problem>) {
    outcome_references(flow, problems);
    let mut branches = None;
    for node in &flow.nodes {
        if let Some(guard) = &node.guard
            && required_outcome_exists(flow, node, guard, problems)
        {
            let branches = branches.get_or_insert_with(|| Branches::new(flow));
            prove(flow, graph, branches, node, guard, problems);
        }
    }
}

/// The outcomes a node can complete with; `None` when the validator cannot know (a call's
/// outcome is set by the called flow's end event).
fn outcomes(node: &Node) -> Option<&[String]> {
    match &node.kind {
        NodeKind::UserTask(task) => Some(&task.outcomes),
        NodeKind::Call(_) => None,
        _ => Some(&[]),
    }
}

fn no_such_outcome(node: &Node, outcome: &str) -> Option<String> {
    let list = outcomes(node)?;
    if list.iter().any(|o| o == outcome) {
        return None;
    }
    Some(match (&node.kind, list) {
        (NodeKind::UserTask(_), []) => {
            format!("user task `{}` declares no `outcomes`, so it never has outcome `{outcome}`", node.id)
        }
        (NodeKind::UserTask(_), list) => {
            format!("`{}` has no outcome `{outcome}`; its outcomes are: {}", node.id, list.join(", "))
        }
        (kind, _) => format!("`{}` is a node of type {}, which has no outcome `{outcome}`", node.id, kind.type_name()),
    })
}

/// `requires: NODE.OUTCOME` must name an outcome NODE can have.
fn required_outcome_exists(flow: &Flow, node: &Node, guard: &Guard, problems: &mut Vec<Problem>) -> bool {
    let Some(required) = flow.nodes.get(guard.requires.idx.get()) else { return false };
    match no_such_outcome(required, &guard.outcome) {
        None => true,
        Some(why) => {
            problems.push(Problem::new(
                Code::BadValue,
                guard.requires.loc,
                format!("the guard of `{}` requires `{}.{}`, but {why}", node.id, required.id, guard.outcome),
            ));
            false
        }
    }
}

/// `review.outcome == 'aproved'` is always false: report it where it is written.
fn outcome_references(flow: &Flow, problems: &mut Vec<Problem>) {
    let mut exprs: Vec<&Expr> = flow.rules.iter().map(|r| &r.expr).collect();
    for node in &flow.nodes {
        if let NodeKind::Exclusive(g) | NodeKind::Inclusive(g) = &node.kind {
            exprs.extend(g.branches.iter().filter_map(|b| b.when.as_ref()));
        }
        exprs.extend(node.guard.as_ref().and_then(|g| g.when.as_ref()));
    }
    for e in exprs {
        if e.program.is_none() {
            continue;
        }
        let Some(t) = outcome_test(&canonical(&e.source)) else { continue };
        let Some(node) = flow.node_by_id(&t.node) else { continue };
        if let Some(why) = no_such_outcome(node, &t.outcome) {
            let always = if t.equal { "false" } else { "true" };
            problems.push(Problem::new(Code::BadValue, e.loc, format!("`{}` is always {always}: {why}", e.source)));
        }
    }
}

const FALSE: u8 = 0;
const TRUE: u8 = 1;
const UNKNOWN: u8 = 2;

const NOT_PASSED: u8 = 0;
const PASSED: u8 = 1;
const APPROVED: u8 = 2;

/// A branch condition, read once: its canonical text, the text it negates (if it is
/// `!X`), and the outcome test it is (if it is one).
struct Condition {
    text: String,
    negates: Option<String>,
    outcome: Option<OutcomeTest>,
}

/// The conditions of every gateway's branches, read once for all guards.
struct Branches {
    /// Per node, per branch: the condition, `None` for `otherwise`.
    conditions: Vec<Vec<Option<Condition>>>,
    /// Per node: whether it is an exclusive gateway (first branch that holds wins).
    exclusive: Vec<bool>,
}

impl Branches {
    fn new(flow: &Flow) -> Self {
        let read = |e: &Expr| {
            let text = canonical(&e.source);
            Condition { negates: negated(&text), outcome: outcome_test(&text), text }
        };
        let conditions = flow
            .nodes
            .iter()
            .map(|node| match &node.kind {
                NodeKind::Exclusive(g) | NodeKind::Inclusive(g) => {
                    g.branches.iter().map(|b| b.when.as_ref().map(read)).collect()
                }
                _ => Vec::new(),
            })
            .collect();
        let exclusive = flow.nodes.iter().map(|n| matches!(n.kind, NodeKind::Exclusive(_))).collect();
        Branches { conditions, exclusive }
    }

    /// What taking branch `b` of gateway `node` proves: `(condition, holds)` pairs. The
    /// branch's own condition holds; for the default branch every other condition fails;
    /// for a later branch of an exclusive gateway every earlier condition fails.
    fn facts(&self, node: usize, b: usize) -> impl Iterator<Item = (&Condition, bool)> {
        let all = &self.conditions[node];
        let own = all.get(b).and_then(Option::as_ref);
        let failed: &[Option<Condition>] = match own {
            None => all,
            Some(_) if self.exclusive[node] => &all[..b],
            Some(_) => &[],
        };
        own.map(|c| (c, true)).into_iter().chain(failed.iter().flatten().map(|c| (c, false)))
    }
}

/// What a guard's search needs to know about the flow.
struct Search<'a> {
    flow: &'a Flow,
    graph: &'a FlowGraph,
    branches: &'a Branches,
    guarded: usize,
    required: usize,
    /// The required outcome.
    outcome: &'a str,
    /// The other outcomes the required node can have (for a default branch that rules them
    /// all out); `None` when they are not known.
    other_outcomes: Option<Vec<&'a str>>,
    /// The guard's condition, canonical; `None` when the guard always applies.
    cond: Option<String>,
    /// The text the condition negates, if it is `!X`.
    cond_negates: Option<String>,
    /// Completing node `i` may write what the condition reads.
    writes: Vec<bool>,
    /// A message (start, catch or boundary) may write what the condition reads.
    messages_write: bool,
    /// Tokens may run side by side while something writes what the condition reads: any
    /// wait may change it.
    waits_change: bool,
    /// Entering node `i` joins tokens that may have written what the condition reads.
    joins: Vec<bool>,
    /// Completing the required node proves the outcome (it is the task's only one).
    only_outcome: bool,
}

fn prove(flow: &Flow, graph: &FlowGraph, branches: &Branches, node: &Node, guard: &Guard, problems: &mut Vec<Problem>) {
    let Some(search) = Search::new(flow, graph, branches, node, guard) else { return };
    if let Some((path, cond)) = search.violation() {
        let path: Vec<&str> = path.iter().map(|&i| flow.nodes[i].id.as_str()).collect();
        let when = match (&guard.when, cond) {
            (None, _) => String::new(),
            (Some(w), TRUE) => format!(" with `{}` true", w.source),
            (Some(w), _) => format!(" with `{}` possibly true", w.source),
        };
        problems.push(Problem::new(
            Code::GuardBypassed,
            guard.loc,
            format!(
                "`{}` can be reached{when} without `{}` having outcome `{}`: {}",
                node.id,
                guard.requires.name,
                guard.outcome,
                path.join(" -> ")
            ),
        ));
    }
}

/// Identifiers the expression depends on, through rules, transitively.
fn dependencies(flow: &Flow, expr: &Expr) -> HashSet<String> {
    let mut deps = HashSet::new();
    let mut todo: Vec<String> = free_identifiers(expr).map(|s| s.into_iter().collect()).unwrap_or_default();
    while let Some(name) = todo.pop() {
        if deps.contains(&name) {
            continue;
        }
        if let Some(rule) = flow.rule(&name) {
            todo.extend(free_identifiers(&rule.expr).into_iter().flatten());
        }
        deps.insert(name);
    }
    deps
}

fn is_wait_state(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::UserTask(_)
            | NodeKind::ServiceTask(_)
            | NodeKind::Call(_)
            | NodeKind::Publication(_)
            | NodeKind::TimerCatch(_)
            | NodeKind::MessageCatch(_)
    )
}

impl<'a> Search<'a> {
    fn new(
        flow: &'a Flow,
        graph: &'a FlowGraph,
        branches: &'a Branches,
        node: &'a Node,
        guard: &'a Guard,
    ) -> Option<Self> {
        let n = graph.len();
        let required = guard.requires.idx.get();
        let guarded = node.idx.get();
        if required >= n || guarded >= n {
            return None;
        }
        let deps = guard.when.as_ref().map(|w| dependencies(flow, w)).unwrap_or_default();
        let reads = !deps.is_empty();
        let writes: Vec<bool> = flow
            .nodes
            .iter()
            .map(|v| {
                reads
                    && (deps.contains(&v.id)
                        || match &v.kind {
                            NodeKind::UserTask(t) => t.form.iter().any(|f| deps.contains(&f.var)),
                            NodeKind::Call(c) => c.outputs.iter().any(|o| deps.contains(o)),
                            // A job's result and a message's payload may set any variable.
                            NodeKind::ServiceTask(_) | NodeKind::MessageCatch(_) => true,
                            _ => false,
                        })
            })
            .collect();
        let message_boundaries =
            flow.nodes.iter().any(|v| v.boundary.iter().any(|b| matches!(b.trigger, BoundaryTrigger::Message(_))));
        let concurrent = flow.nodes.iter().any(|v| {
            v.boundary.iter().any(|b| !b.interrupting)
                || match &v.kind {
                    NodeKind::Parallel => v.next.len() >= 2,
                    NodeKind::Inclusive(g) => g.branches.len() >= 2,
                    _ => false,
                }
        });
        let joins = flow
            .nodes
            .iter()
            .enumerate()
            .map(|(i, v)| {
                reads && matches!(v.kind, NodeKind::Parallel | NodeKind::Inclusive(_)) && graph.inc[i].len() >= 2
            })
            .collect();
        let (only_outcome, other_outcomes) = match &flow.nodes[required].kind {
            NodeKind::UserTask(t) => (
                t.outcomes.len() == 1 && t.outcomes[0] == guard.outcome,
                Some(t.outcomes.iter().map(String::as_str).filter(|o| *o != guard.outcome).collect()),
            ),
            _ => (false, None),
        };
        let cond = guard.when.as_ref().map(|w| canonical(&w.source));
        Some(Search {
            flow,
            graph,
            branches,
            guarded,
            required,
            outcome: &guard.outcome,
            other_outcomes,
            cond_negates: cond.as_deref().and_then(negated),
            cond,
            waits_change: reads && concurrent && (message_boundaries || writes.iter().any(|&w| w)),
            writes,
            messages_write: reads,
            joins,
            only_outcome,
        })
    }
}

/// An abstract state: node, what is known of the condition, what is known of the
/// required node.
type State = (usize, u8, u8);

fn index((node, cond, passed): State) -> usize {
    node * 9 + usize::from(cond) * 3 + usize::from(passed)
}

impl Search<'_> {
    /// The shortest path from a start to the guarded node that violates the guard, and
    /// what was known of the condition at its end.
    fn violation(&self) -> Option<(Vec<usize>, u8)> {
        const ROOT: usize = usize::MAX;
        let n = self.graph.len();
        let mut parent: Vec<Option<usize>> = vec![None; n * 9];
        let mut queue = VecDeque::new();
        let start_cond = if self.cond.is_some() { UNKNOWN } else { TRUE };
        for &s in &self.graph.starts {
            let state = (s, start_cond, NOT_PASSED);
            if parent[index(state)].is_none() {
                parent[index(state)] = Some(ROOT);
                if self.violates(state) {
                    return Some((vec![s], start_cond));
                }
                queue.push_back(state);
            }
        }
        while let Some(state) = queue.pop_front() {
            for &(w, edge) in &self.graph.out[state.0] {
                let next = self.step(state, w, edge);
                let i = index(next);
                if parent[i].is_some() {
                    continue;
                }
                parent[i] = Some(index(state));
                if self.violates(next) {
                    let mut path = vec![w];
                    let mut at = index(state);
                    while at != ROOT {
                        path.push(at / 9);
                        at = parent[at].unwrap_or(ROOT);
                    }
                    path.reverse();
                    return Some((path, next.1));
                }
                queue.push_back(next);
            }
        }
        None
    }

    fn violates(&self, (node, cond, passed): State) -> bool {
        node == self.guarded && cond != FALSE && passed != APPROVED
    }

    /// The state after moving from `state` along `edge` to `to`.
    fn step(&self, (from, mut cond, mut passed): State, to: usize, edge: Edge) -> State {
        let waited = self.waits_change && is_wait_state(&self.flow.nodes[from].kind);
        match edge {
            Edge::Start => {}
            Edge::Next => {
                if self.writes[from] || waited {
                    cond = UNKNOWN;
                }
                if from == self.required {
                    passed = if self.only_outcome { APPROVED } else { PASSED };
                }
            }
            Edge::Branch(b) => {
                cond = self.cond_after(cond, from, b);
                passed = self.passed_after(passed, from, b);
            }
            Edge::Boundary(b) => {
                let message = self.flow.nodes[from]
                    .boundary
                    .get(b)
                    .is_some_and(|b| matches!(b.trigger, BoundaryTrigger::Message(_)));
                if (message && self.messages_write) || waited {
                    cond = UNKNOWN;
                }
            }
        }
        if self.joins[to] {
            cond = UNKNOWN;
        }
        if self.cond.is_none() {
            cond = TRUE;
        }
        (to, cond, passed)
    }

    /// What is known of the guard's condition after taking branch `b` of `gateway`.
    fn cond_after(&self, cond: u8, gateway: usize, b: usize) -> u8 {
        let Some(c) = &self.cond else { return cond };
        let (mut says_true, mut says_false) = (false, false);
        for (fact, holds) in self.branches.facts(gateway, b) {
            let same = fact.text == *c;
            let opposite = fact.negates.as_ref() == Some(c) || self.cond_negates.as_ref() == Some(&fact.text);
            if (same && holds) || (opposite && !holds) {
                says_true = true;
            } else if (same && !holds) || (opposite && holds) {
                says_false = true;
            }
        }
        match (says_true, says_false) {
            (true, false) => TRUE,
            (false, true) => FALSE,
            (true, true) => UNKNOWN,
            (false, false) => cond,
        }
    }

    /// What is known of the required outcome after taking branch `b` of `gateway`.
    fn passed_after(&self, passed: u8, gateway: usize, b: usize) -> u8 {
        let required = &self.flow.nodes[self.required].id;
        let (mut approve, mut deny) = (false, false);
        let mut ruled_out: Vec<&str> = Vec::new();
        for (fact, holds) in self.branches.facts(gateway, b) {
            let Some(test) = &fact.outcome else { continue };
            if test.node != *required {
                continue;
            }
            // Whether the fact says the outcome is `test.outcome` (or is not).
            let is = test.equal == holds;
            match (is, test.outcome == self.outcome) {
                (true, true) => approve = true,
                (true, false) | (false, true) => deny = true,
                (false, false) => ruled_out.push(&test.outcome),
            }
        }
        let excluded = !ruled_out.is_empty()
            && self.other_outcomes.as_ref().is_some_and(|others| others.iter().all(|o| ruled_out.contains(o)));
        if deny {
            passed.min(PASSED)
        } else if approve {
            // The branch read the very outcome the guard reads: it is the required one,
            // whichever token completed the node.
            APPROVED
        } else if excluded && passed >= PASSED {
            // Every other outcome is ruled out and the node completed on this path.
            APPROVED
        } else {
            passed
        }
    }
}
