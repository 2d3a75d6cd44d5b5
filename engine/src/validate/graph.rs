//! The flow as a directed graph: one graph node per flow node, plus a virtual root with an
//! edge to every start, so that reachability and dominators have a single origin.

use petgraph::graph::{DiGraph, NodeIndex};

use crate::model::{Flow, NodeIdx, NodeKind};

/// How a token moves along an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    /// From the virtual root to a start.
    Start,
    /// A `next` of a node: normal completion, a parallel fork, an event-based choice.
    Next,
    /// Branch number `i` of an exclusive or inclusive gateway.
    Branch(usize),
    /// Boundary event number `i` of a task or call.
    Boundary(usize),
}

/// The graph of a flow. Graph node `i` is flow node `i`; [`FlowGraph::root`] is extra.
/// Targets that name no node (already reported by the reader) have no edge.
pub(crate) struct FlowGraph {
    /// The petgraph graph, for dominators and strongly connected components.
    pub graph: DiGraph<(), Edge, u32>,
    /// The virtual root.
    pub root: NodeIndex,
    /// The start nodes: `start:` and every `type: start` node, in document order.
    pub starts: Vec<usize>,
    /// Outgoing edges per node, in document order (petgraph lists them newest first).
    pub out: Vec<Vec<(usize, Edge)>>,
    /// Incoming edges per node, from flow nodes only (not the root).
    pub inc: Vec<Vec<(usize, Edge)>>,
    /// Whether each node can be reached from a start.
    pub reachable: Vec<bool>,
}

impl FlowGraph {
    /// Builds the graph of `flow`.
    pub(crate) fn new(flow: &Flow) -> Self {
        let n = flow.nodes.len();
        let valid = |idx: NodeIdx| idx.get() < n;
        let mut out: Vec<Vec<(usize, Edge)>> = vec![Vec::new(); n];
        let mut inc: Vec<Vec<(usize, Edge)>> = vec![Vec::new(); n];
        for (i, node) in flow.nodes.iter().enumerate() {
            let mut add = |to: NodeIdx, edge: Edge| {
                if valid(to) {
                    out[i].push((to.get(), edge));
                    inc[to.get()].push((i, edge));
                }
            };
            match &node.kind {
                NodeKind::Exclusive(g) | NodeKind::Inclusive(g) => {
                    for (b, branch) in g.branches.iter().enumerate() {
                        add(branch.target.idx, Edge::Branch(b));
                    }
                }
                _ => {}
            }
            for t in &node.next {
                add(t.idx, Edge::Next);
            }
            for (b, boundary) in node.boundary.iter().enumerate() {
                add(boundary.target.idx, Edge::Boundary(b));
            }
        }

        let mut starts = Vec::new();
        if valid(flow.start.idx) {
            starts.push(flow.start.idx.get());
        }
        for (i, node) in flow.nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::Start(_)) && !starts.contains(&i) {
                starts.push(i);
            }
        }

        let mut graph = DiGraph::with_capacity(n + 1, n * 2 + starts.len());
        for _ in 0..n {
            graph.add_node(());
        }
        let root = graph.add_node(());
        for (i, edges) in out.iter().enumerate() {
            for &(to, edge) in edges {
                graph.add_edge(NodeIndex::new(i), NodeIndex::new(to), edge);
            }
        }
        for &s in &starts {
            graph.add_edge(root, NodeIndex::new(s), Edge::Start);
        }

        let mut reachable = vec![false; n];
        let mut queue: Vec<usize> = starts.clone();
        for &s in &starts {
            reachable[s] = true;
        }
        while let Some(v) = queue.pop() {
            for &(w, _) in &out[v] {
                if !reachable[w] {
                    reachable[w] = true;
                    queue.push(w);
                }
            }
        }

        FlowGraph { graph, root, starts, out, inc, reachable }
    }

    /// The number of flow nodes.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }
}
