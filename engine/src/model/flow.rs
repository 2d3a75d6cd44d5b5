//! A flow definition: variables, rules, nodes.

use std::collections::HashMap;

use super::{Expr, Loc, Node, NodeIdx};

/// The type of a flow variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarType {
    /// Text.
    String,
    /// Any number (a fine amount).
    Number,
    /// A whole number.
    Integer,
    /// True or false.
    Bool,
    /// A calendar date, written `YYYY-MM-DD`.
    Date,
    /// A list of values.
    List,
    /// A map of values.
    Object,
}

impl VarType {
    /// The word used in the flow language.
    pub fn as_str(self) -> &'static str {
        match self {
            VarType::String => "string",
            VarType::Number => "number",
            VarType::Integer => "integer",
            VarType::Bool => "bool",
            VarType::Date => "date",
            VarType::List => "list",
            VarType::Object => "object",
        }
    }

    /// Every type, for messages.
    pub const ALL: [VarType; 7] = [
        VarType::String,
        VarType::Number,
        VarType::Integer,
        VarType::Bool,
        VarType::Date,
        VarType::List,
        VarType::Object,
    ];

    /// Parses the flow-language word.
    pub fn parse(word: &str) -> Option<VarType> {
        VarType::ALL.into_iter().find(|t| t.as_str() == word)
    }

    /// Whether `value` has this type.
    pub fn admits(self, value: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match (self, value) {
            (_, J::Null) => true,
            (VarType::String, J::String(_)) => true,
            (VarType::Number, J::Number(_)) => true,
            (VarType::Integer, J::Number(n)) => n.is_i64() || n.is_u64(),
            (VarType::Bool, J::Bool(_)) => true,
            (VarType::Date, J::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
            (VarType::List, J::Array(_)) => true,
            (VarType::Object, J::Object(_)) => true,
            _ => false,
        }
    }
}

/// A declared variable.
#[derive(Debug, Clone)]
pub struct VariableDecl {
    /// Its name.
    pub name: String,
    /// Its type; values are checked on start and on task completion.
    pub ty: VarType,
    /// Its value when a case starts without one.
    pub default: Option<serde_json::Value>,
    /// Whether starting a case must supply it.
    pub required: bool,
    /// Where it was declared.
    pub loc: Loc,
}

/// A named expression reused by gateways and guards (`major`).
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name, usable as an identifier in other expressions.
    pub name: String,
    /// Its expression.
    pub expr: Expr,
}

/// A flow definition, as parsed from YAML. Each deploy of a key makes a new immutable
/// version; the version number is assigned by the store, not written in YAML.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The flow's key (`penalty-general`).
    pub id: String,
    /// Its human name (行政处罚一般程序).
    pub name: String,
    /// The working-day calendar its timers and deadlines use.
    pub calendar: Option<String>,
    /// Where `calendar:` was written.
    pub calendar_loc: Loc,
    /// Declared variables, in the order written.
    pub variables: Vec<VariableDecl>,
    /// Named rules, in the order written.
    pub rules: Vec<Rule>,
    /// The node a case starts at.
    pub start: super::Target,
    /// Every node, in the order written; `nodes[i].idx == NodeIdx(i)`.
    pub nodes: Vec<Node>,
    /// Node ids to indices.
    pub node_index: HashMap<String, NodeIdx>,
}

impl Flow {
    /// The node at `idx`.
    ///
    /// # Panics
    /// Never for an index taken from this flow's targets after validation.
    pub fn node(&self, idx: NodeIdx) -> &Node {
        &self.nodes[idx.get()]
    }

    /// Looks a node up by id.
    pub fn node_by_id(&self, id: &str) -> Option<&Node> {
        self.node_index.get(id).map(|&i| self.node(i))
    }

    /// Looks a variable declaration up by name.
    pub fn variable(&self, name: &str) -> Option<&VariableDecl> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// Looks a rule up by name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}
