//! Names: what expressions, forms and calls refer to (`unknown-variable`), rules that refer
//! to themselves (`rule-cycle`), names used twice (`duplicate-id`), and what an event-based
//! gateway may wait for (`bad-value`).

use std::collections::{HashMap, HashSet};

use super::text::{free_identifiers, suggest};
use crate::model::{Expr, Flow, NodeKind};
use crate::problem::{Code, Problem};

/// `resolve`: whether to check that identifiers resolve. Off when parts of the flow could
/// not be read, since a variable or node that failed to parse would be reported again at
/// every use.
pub(crate) fn check(flow: &Flow, resolve: bool, problems: &mut Vec<Problem>) {
    let rules: HashMap<&str, usize> = flow.rules.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect();
    let variables: HashSet<&str> = flow.variables.iter().map(|v| v.name.as_str()).collect();
    // The free identifiers of every rule, computed once.
    let rule_refs: Vec<Vec<String>> = flow
        .rules
        .iter()
        .map(|r| free_identifiers(&r.expr).map(|s| s.into_iter().collect()).unwrap_or_default())
        .collect();

    if resolve {
        let names = Names { flow, rules: &rules, variables: &variables };
        for (rule, refs) in flow.rules.iter().zip(&rule_refs) {
            names.expression(&rule.expr, refs.iter().map(String::as_str), problems);
        }
        for node in &flow.nodes {
            let mut exprs: Vec<&Expr> = Vec::new();
            if let NodeKind::Exclusive(g) | NodeKind::Inclusive(g) = &node.kind {
                exprs.extend(g.branches.iter().filter_map(|b| b.when.as_ref()));
            }
            exprs.extend(node.guard.as_ref().and_then(|g| g.when.as_ref()));
            for e in exprs {
                if let Some(refs) = free_identifiers(e) {
                    names.expression(e, refs.iter().map(String::as_str), problems);
                }
            }
            names.node_variables(node, problems);
        }
    }
    rule_cycles(flow, &rules, &rule_refs, problems);
    clashes(flow, &rules, &variables, problems);
    event_based(flow, problems);
}

struct Names<'a> {
    flow: &'a Flow,
    rules: &'a HashMap<&'a str, usize>,
    variables: &'a HashSet<&'a str>,
}

impl Names<'_> {
    fn known(&self, name: &str) -> bool {
        self.rules.contains_key(name) || self.variables.contains(name) || self.flow.node_index.contains_key(name)
    }

    fn candidates(&self) -> impl Iterator<Item = &str> {
        self.rules
            .keys()
            .copied()
            .chain(self.variables.iter().copied())
            .chain(self.flow.nodes.iter().map(|n| n.id.as_str()))
    }

    fn did_you_mean<'s>(&self, name: &str, among: impl IntoIterator<Item = &'s str>) -> String {
        match suggest(name, among) {
            Some(s) => format!("; did you mean `{s}`?"),
            None => String::new(),
        }
    }

    fn expression<'r>(&self, expr: &Expr, refs: impl Iterator<Item = &'r str>, problems: &mut Vec<Problem>) {
        for name in refs {
            if !self.known(name) {
                let hint = self.did_you_mean(name, self.candidates());
                problems.push(Problem::new(
                    Code::UnknownVariable,
                    expr.loc,
                    format!(
                        "`{name}` in `{}` is not a declared variable, a rule or a node of this flow{hint}",
                        expr.source
                    ),
                ));
            }
        }
    }

    /// Form fields and call inputs/outputs are copied into or out of the case's variables,
    /// so they must be declared (their type is checked on completion).
    fn node_variables(&self, node: &crate::model::Node, problems: &mut Vec<Problem>) {
        let mut report = |var: &str, loc, what: &str| {
            if !self.variables.contains(var) {
                let hint = self.did_you_mean(var, self.variables.iter().copied());
                problems.push(Problem::new(
                    Code::UnknownVariable,
                    loc,
                    format!(
                        "{what} `{var}` of node `{}` is not a declared variable; declare it under `variables:`{hint}",
                        node.id
                    ),
                ));
            }
        };
        match &node.kind {
            NodeKind::UserTask(task) => {
                for field in &task.form {
                    report(&field.var, field.loc, "form field");
                }
            }
            // Inputs and outputs carry no location of their own: report at the node.
            NodeKind::Call(call) => {
                for var in &call.inputs {
                    report(var, node.loc, "call input");
                }
                for var in &call.outputs {
                    report(var, node.loc, "call output");
                }
            }
            _ => {}
        }
    }
}

/// Rules that refer to themselves, directly or through other rules, cannot be evaluated.
/// One problem per cycle, at the first rule of the cycle in the file.
fn rule_cycles(flow: &Flow, rules: &HashMap<&str, usize>, rule_refs: &[Vec<String>], problems: &mut Vec<Problem>) {
    let edges: Vec<Vec<usize>> =
        rule_refs.iter().map(|refs| refs.iter().filter_map(|r| rules.get(r.as_str()).copied()).collect()).collect();
    let n = edges.len();
    // Colour-marking depth-first search; rules are few.
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut reported = vec![false; n];
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&w) = edges[v].get(*next) {
                *next += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(u, _)| u == w).unwrap_or(0);
                        let cycle: Vec<usize> = stack[from..].iter().map(|&(u, _)| u).collect();
                        if cycle.iter().any(|&u| reported[u]) {
                            continue;
                        }
                        for &u in &cycle {
                            reported[u] = true;
                        }
                        let first = cycle.iter().copied().min().unwrap_or(w);
                        let at = cycle.iter().position(|&u| u == first).unwrap_or(0);
                        let mut path: Vec<&str> =
                            cycle[at..].iter().chain(&cycle[..at]).map(|&u| flow.rules[u].name.as_str()).collect();
                        path.push(flow.rules[first].name.as_str());
                        let rule = &flow.rules[first];
                        problems.push(Problem::new(
                            Code::RuleCycle,
                            rule.expr.loc,
                            format!("rule `{}` refers to itself: {}", rule.name, path.join(" -> ")),
                        ));
                    }
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
}

/// An identifier in an expression names a rule, a node or a variable; a name that is two
/// of these would make expressions ambiguous. Boundary events are addressed by id (timers,
/// the timeline), so their ids are unique across the flow.
fn clashes(flow: &Flow, rules: &HashMap<&str, usize>, variables: &HashSet<&str>, problems: &mut Vec<Problem>) {
    for rule in &flow.rules {
        if variables.contains(rule.name.as_str()) {
            problems.push(Problem::new(
                Code::DuplicateId,
                rule.expr.loc,
                format!(
                    "rule `{}` has the name of a declared variable; expressions could not tell them apart",
                    rule.name
                ),
            ));
        }
    }
    for node in &flow.nodes {
        let what = if rules.contains_key(node.id.as_str()) {
            "a rule"
        } else if variables.contains(node.id.as_str()) {
            "a declared variable"
        } else {
            continue;
        };
        problems.push(Problem::new(
            Code::DuplicateId,
            node.loc,
            format!("node `{}` has the name of {what}; expressions could not tell them apart", node.id),
        ));
    }
    let mut seen: HashMap<&str, String> =
        flow.nodes.iter().map(|n| (n.id.as_str(), format!("node `{}`", n.id))).collect();
    for node in &flow.nodes {
        for b in &node.boundary {
            if let Some(first) = seen.get(b.id.as_str()) {
                problems.push(Problem::new(
                    Code::DuplicateId,
                    b.loc,
                    format!("boundary event id `{}` on node `{}` is already used by {first}", b.id, node.id),
                ));
            } else {
                seen.insert(b.id.as_str(), format!("a boundary event of node `{}`", node.id));
            }
        }
    }
}

/// An event-based gateway waits for whichever of its events happens first, so each `next`
/// must be a timer or message catch event.
fn event_based(flow: &Flow, problems: &mut Vec<Problem>) {
    for node in &flow.nodes {
        if !matches!(node.kind, NodeKind::EventBased) {
            continue;
        }
        for t in &node.next {
            let Some(target) = flow.nodes.get(t.idx.get()) else { continue };
            if !matches!(target.kind, NodeKind::TimerCatch(_) | NodeKind::MessageCatch(_)) {
                problems.push(Problem::new(
                    Code::BadValue,
                    t.loc,
                    format!(
                        "event_based gateway `{}` may only lead to timer or message catch events; `{}` is of type {}",
                        node.id,
                        target.id,
                        target.kind.type_name()
                    ),
                ));
            }
        }
    }
}
