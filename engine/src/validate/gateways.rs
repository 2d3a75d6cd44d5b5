//! Gateways: exclusive and inclusive gateways that can leave a token with no way on
//! (`no-default-branch`), and parallel joins that wait for a token that never comes
//! (`join-deadlock`): their incoming flows part at an exclusive or event-based gateway, or
//! at different start events, or one of them loops back from after the join.

use std::collections::HashSet;

use petgraph::algo::dominators::simple_fast;
use petgraph::graph::NodeIndex;

use super::graph::FlowGraph;
use super::text::{canonical, negated};
use crate::model::{Flow, Gateway, NodeKind};
use crate::problem::{Code, Problem};

pub(crate) fn check(flow: &Flow, graph: &FlowGraph, problems: &mut Vec<Problem>) {
    for node in &flow.nodes {
        if let NodeKind::Exclusive(g) | NodeKind::Inclusive(g) = &node.kind
            && !g.branches.is_empty()
            && g.default_branch().is_none()
            && !exhaustive(g)
        {
            problems.push(Problem::new(
                Code::NoDefaultBranch,
                node.loc,
                format!(
                    "{} gateway `{}` has no `otherwise` branch and its conditions may all be false, leaving the case stuck; add `{{ otherwise: NODE }}`",
                    node.kind.type_name(),
                    node.id
                ),
            ));
        }
    }
    joins(flow, graph, problems);
}

/// Whether some branch holds whatever the case's data: one is literally `true`, or two are
/// `X` and `!X`. Anything cleverer is not attempted; an `otherwise` branch is the fix.
fn exhaustive(g: &Gateway) -> bool {
    let conditions: Vec<String> =
        g.branches.iter().filter_map(|b| b.when.as_ref()).map(|e| canonical(&e.source)).collect();
    if conditions.iter().any(|c| c == "true") {
        return true;
    }
    let set: HashSet<&str> = conditions.iter().map(String::as_str).collect();
    conditions.iter().any(|c| negated(c).is_some_and(|x| set.contains(x.as_str())))
}

/// A parallel gateway with several incoming flows waits for a token on each. If two of
/// those flows part at an exclusive or event-based gateway (their nearest common dominator),
/// only one of them ever carries a token and the join waits forever.
fn joins(flow: &Flow, graph: &FlowGraph, problems: &mut Vec<Problem>) {
    let joins: Vec<usize> = (0..graph.len())
        .filter(|&i| matches!(flow.nodes[i].kind, NodeKind::Parallel) && graph.reachable[i] && graph.inc[i].len() >= 2)
        .collect();
    if joins.is_empty() {
        return;
    }
    let tree = DominatorTree::new(graph);
    for j in joins {
        let preds: Vec<usize> = graph.inc[j].iter().map(|&(p, _)| p).filter(|&p| graph.reachable[p]).collect();
        let join = &flow.nodes[j];
        // A flow that comes back to the join from after it (a loop) carries a token only
        // once the join has fired, which needed that very token.
        let looped = preds.iter().find(|&&p| tree.dominates(j, p));
        let entry = preds.iter().find(|&&p| !tree.dominates(j, p));
        if let (Some(&l), Some(&e)) = (looped, entry) {
            let (l, e) = (&flow.nodes[l].id, &flow.nodes[e].id);
            problems.push(Problem::new(
                Code::JoinDeadlock,
                join.loc,
                format!(
                    "parallel join `{}` waits for a token from both `{e}` and `{l}`, but `{l}` is reached only through `{}` itself (a loop back): the join would wait forever; merge the loop with an exclusive gateway before the parallel one",
                    join.id, join.id
                ),
            ));
            continue;
        }
        'pairs: for a in 0..preds.len() {
            for b in a + 1..preds.len() {
                let meet = tree.nearest_common(preds[a], preds[b]);
                let (pa, pb) = (&flow.nodes[preds[a]].id, &flow.nodes[preds[b]].id);
                let why = if meet == graph.root.index() {
                    "they come from different start events and a case begins at only one".to_owned()
                } else {
                    let split = &flow.nodes[meet];
                    match split.kind {
                        NodeKind::Exclusive(_) | NodeKind::EventBased => format!(
                            "they part at {} gateway `{}`, which sends a token one way only",
                            split.kind.type_name(),
                            split.id
                        ),
                        _ => continue,
                    }
                };
                problems.push(Problem::new(
                    Code::JoinDeadlock,
                    join.loc,
                    format!(
                        "parallel join `{}` waits for a token from both `{pa}` and `{pb}`, but {why}: the join would wait forever; use an exclusive gateway to merge alternatives",
                        join.id
                    ),
                ));
                break 'pairs;
            }
        }
    }
}

/// The dominator tree of the flow graph from its virtual root, with each node's depth, so
/// that a nearest common dominator costs the distance to it, not the depth of the flow.
struct DominatorTree {
    /// Immediate dominator per graph node (the root and unreachable nodes: themselves).
    idom: Vec<usize>,
    /// Depth in the dominator tree (the root: 0).
    depth: Vec<usize>,
}

impl DominatorTree {
    fn new(graph: &FlowGraph) -> Self {
        let dominators = simple_fast(&graph.graph, graph.root);
        let count = graph.graph.node_count();
        let idom: Vec<usize> =
            (0..count).map(|v| dominators.immediate_dominator(NodeIndex::new(v)).map_or(v, |d| d.index())).collect();
        let mut depth: Vec<Option<usize>> = vec![None; count];
        depth[graph.root.index()] = Some(0);
        let mut path = Vec::new();
        for v in 0..count {
            // Walk up to a node of known depth, then assign depths on the way back down.
            let mut at = v;
            while depth[at].is_none() && idom[at] != at {
                path.push(at);
                at = idom[at];
            }
            let mut d = depth[at].unwrap_or(0);
            depth[at] = Some(d);
            while let Some(w) = path.pop() {
                d += 1;
                depth[w] = Some(d);
            }
        }
        DominatorTree { idom, depth: depth.into_iter().map(Option::unwrap_or_default).collect() }
    }

    /// Whether `a` dominates `b` (every path from a start to `b` passes `a`).
    fn dominates(&self, a: usize, b: usize) -> bool {
        let mut at = b;
        while self.depth[at] > self.depth[a] {
            at = self.idom[at];
        }
        at == a
    }

    /// The nearest node that dominates both `a` and `b` (itself included).
    fn nearest_common(&self, mut a: usize, mut b: usize) -> usize {
        while a != b {
            if self.depth[a] >= self.depth[b] {
                if self.idom[a] == a {
                    break;
                }
                a = self.idom[a];
            } else {
                b = self.idom[b];
            }
        }
        a
    }
}
