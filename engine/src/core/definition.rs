//! A flow prepared for running: the flow plus tables derived from its graph once, so that
//! transitions do no graph searches.

use std::sync::Arc;

use crate::model::{Flow, Node, NodeIdx, NodeKind};

/// A validated flow and its derived tables.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The flow.
    pub flow: Arc<Flow>,
    /// Number of incoming sequence flows per node (joins wait for this many tokens).
    pub incoming: Vec<u32>,
    /// `reach[a]` is a bit set of the nodes reachable from `a` in one or more steps.
    reach: Vec<Vec<u64>>,
}

/// Every node a node leads to: `next`, gateway branches and boundary targets.
pub fn successors(node: &Node) -> impl Iterator<Item = NodeIdx> + '_ {
    let branches: &[crate::model::Branch] = match &node.kind {
        NodeKind::Exclusive(g) | NodeKind::Inclusive(g) => &g.branches,
        _ => &[],
    };
    node.next
        .iter()
        .map(|t| t.idx)
        .chain(branches.iter().map(|b| b.target.idx))
        .chain(node.boundary.iter().map(|b| b.target.idx))
        .filter(|i| *i != NodeIdx::UNRESOLVED)
}

/// A flow that cannot run: it names nodes it does not have. Only a flow that failed
/// validation can be in this state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("flow `{flow}` cannot run: {reason}")]
pub struct DefinitionError {
    /// The flow key.
    pub flow: String,
    /// What is wrong.
    pub reason: String,
}

impl Definition {
    /// Prepares a flow for running.
    ///
    /// # Errors
    /// When a reference to a node is unresolved: run [`crate::validate`] first.
    pub fn new(flow: Arc<Flow>) -> Result<Self, DefinitionError> {
        let unresolved = |t: &crate::model::Target| t.idx == NodeIdx::UNRESOLVED || t.idx.get() >= flow.nodes.len();
        let bad = std::iter::once(&flow.start)
            .chain(flow.nodes.iter().flat_map(|n| {
                let branches: &[crate::model::Branch] = match &n.kind {
                    NodeKind::Exclusive(g) | NodeKind::Inclusive(g) => &g.branches,
                    _ => &[],
                };
                let separate: &[crate::model::Target] = match &n.kind {
                    NodeKind::UserTask(t) => &t.separate_from,
                    _ => &[],
                };
                n.next
                    .iter()
                    .chain(branches.iter().map(|b| &b.target))
                    .chain(n.boundary.iter().map(|b| &b.target))
                    .chain(n.guard.iter().map(|g| &g.requires))
                    .chain(separate)
            }))
            .find(|t| unresolved(t));
        if let Some(t) = bad {
            return Err(DefinitionError { flow: flow.id.clone(), reason: format!("`{}` is not a node", t.name) });
        }
        let n = flow.nodes.len();
        let words = n.div_ceil(64).max(1);
        let mut incoming = vec![0u32; n];
        for node in &flow.nodes {
            for s in successors(node) {
                incoming[s.get()] += 1;
            }
        }
        let mut reach = vec![vec![0u64; words]; n];
        for (start, bits) in reach.iter_mut().enumerate() {
            let mut stack: Vec<NodeIdx> = successors(&flow.nodes[start]).collect();
            while let Some(i) = stack.pop() {
                let (w, b) = (i.get() / 64, i.get() % 64);
                if bits[w] & (1 << b) == 0 {
                    bits[w] |= 1 << b;
                    stack.extend(successors(&flow.nodes[i.get()]));
                }
            }
        }
        Ok(Definition { flow, incoming, reach })
    }

    /// Whether a token at `from` can still arrive at `to`.
    pub fn can_reach(&self, from: NodeIdx, to: NodeIdx) -> bool {
        let (w, b) = (to.get() / 64, to.get() % 64);
        self.reach[from.get()][w] & (1 << b) != 0
    }

    /// The node at `idx`.
    pub fn node(&self, idx: NodeIdx) -> &Node {
        self.flow.node(idx)
    }
}
