//! Reachability: nodes no start reaches (`unreachable-node`) and nodes a token can enter
//! but never leave towards an end event (`dead-end`).

use petgraph::algo::tarjan_scc;

use super::graph::FlowGraph;
use crate::model::{Flow, NodeKind};
use crate::problem::{Code, Problem};

pub(crate) fn check(flow: &Flow, graph: &FlowGraph, problems: &mut Vec<Problem>) {
    unreachable(flow, graph, problems);
    let stuck = no_way_out(flow, graph, problems);
    loops_without_exit(flow, graph, &stuck, problems);
}

fn unreachable(flow: &Flow, graph: &FlowGraph, problems: &mut Vec<Problem>) {
    let from = match graph.starts.as_slice() {
        [] => "no start is reachable".to_owned(),
        [one] => format!("no path from the start `{}` reaches it", flow.nodes[*one].id),
        many => {
            let names: Vec<String> = many.iter().map(|&s| format!("`{}`", flow.nodes[s].id)).collect();
            format!("no path from the starts {} reaches it", names.join(", "))
        }
    };
    for (i, node) in flow.nodes.iter().enumerate() {
        if !graph.reachable[i] {
            problems.push(Problem::new(
                Code::UnreachableNode,
                node.loc,
                format!("node `{}` is unreachable: {from}", node.id),
            ));
        }
    }
}

/// Reports nodes without a normal way out; returns which nodes they are.
fn no_way_out(flow: &Flow, graph: &FlowGraph, problems: &mut Vec<Problem>) -> Vec<bool> {
    let mut stuck = vec![false; graph.len()];
    for (i, node) in flow.nodes.iter().enumerate() {
        // Judged on what was written: a `next` naming no node is already an unknown target.
        let message = match &node.kind {
            NodeKind::End(_) => continue,
            NodeKind::Exclusive(g) | NodeKind::Inclusive(g) if g.branches.is_empty() && node.next.is_empty() => {
                format!(
                    "{} gateway `{}` has neither `branches` nor `next`: a token that reaches it can never leave",
                    node.kind.type_name(),
                    node.id
                )
            }
            NodeKind::Exclusive(_) | NodeKind::Inclusive(_) => continue,
            _ if node.next.is_empty() => format!(
                "{} node `{}` has no `next`: a token that reaches it can never leave; add `next:` or end here with `type: end`",
                node.kind.type_name(),
                node.id
            ),
            _ => continue,
        };
        stuck[i] = true;
        problems.push(Problem::new(Code::DeadEnd, node.loc, message));
    }
    stuck
}

/// Reports loops that a token can enter but from which no end event is reachable; one
/// problem per loop, at its first node in the file. Nodes that merely lead into such a loop
/// (or into a node without a way out) are not reported again.
fn loops_without_exit(flow: &Flow, graph: &FlowGraph, stuck: &[bool], problems: &mut Vec<Problem>) {
    let n = graph.len();
    // Nodes from which an end event, or an already reported dead end, is reachable.
    let mut settled = vec![false; n];
    let mut queue = Vec::new();
    for (i, node) in flow.nodes.iter().enumerate() {
        if matches!(node.kind, NodeKind::End(_)) || stuck[i] {
            settled[i] = true;
            queue.push(i);
        }
    }
    while let Some(v) = queue.pop() {
        for &(w, _) in &graph.inc[v] {
            if !settled[w] {
                settled[w] = true;
                queue.push(w);
            }
        }
    }
    if (0..n).all(|i| settled[i] || !graph.reachable[i]) {
        return;
    }
    let mut component = vec![usize::MAX; n];
    let sccs = tarjan_scc(&graph.graph);
    for (c, scc) in sccs.iter().enumerate() {
        for v in scc {
            if v.index() < n {
                component[v.index()] = c;
            }
        }
    }
    for (c, scc) in sccs.iter().enumerate() {
        let mut members: Vec<usize> = scc.iter().map(|v| v.index()).filter(|&v| v < n).collect();
        let Some(&first) = members.iter().min() else { continue };
        if settled[first] || !graph.reachable[first] {
            continue;
        }
        // A loop with a way out leads somewhere that is reported (or settled) itself.
        let closed = members.iter().all(|&v| graph.out[v].iter().all(|&(w, _)| component[w] == c));
        if !closed {
            continue;
        }
        members.sort_unstable();
        let names: Vec<String> = members.iter().map(|&v| format!("`{}`", flow.nodes[v].id)).collect();
        let what = if members.len() == 1 {
            format!("`{}` leads only back to itself", flow.nodes[first].id)
        } else {
            let (last, rest) = names.split_last().map(|(l, r)| (l.clone(), r.join(", "))).unwrap_or_default();
            format!("{rest} and {last} lead only to each other")
        };
        problems.push(Problem::new(
            Code::DeadEnd,
            flow.nodes[first].loc,
            format!("no end event can be reached from `{}`: {what}, with no way out", flow.nodes[first].id),
        ));
    }
}
