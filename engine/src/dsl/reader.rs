//! Typed reading of a span-keeping YAML tree, collecting problems instead of stopping at
//! the first one. Every problem points at the YAML node it is about.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{Node, Span};

use crate::model::Loc;
use crate::problem::{Code, Problem};

/// Problems collected while reading one document.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, code: Code, loc: Loc, message: impl Into<String>) {
        self.0.push(Problem::new(code, loc, message));
    }
}

/// The start of a span as a [`Loc`] (marked-yaml counts lines and columns from 1).
pub(crate) fn loc_of_span(span: &Span) -> Loc {
    span.start().map(|m| Loc::new(m.line() as u32, m.column() as u32)).unwrap_or_default()
}

/// Where a YAML node starts.
pub(crate) fn loc_of(node: &Node) -> Loc {
    loc_of_span(node.span())
}

/// What kind of YAML value a node is, for messages.
pub(crate) fn shape(node: &Node) -> &'static str {
    match node {
        Node::Scalar(_) => "a scalar",
        Node::Mapping(_) => "a mapping",
        Node::Sequence(_) => "a list",
    }
}

/// A scalar as text with its location, or a `bad-value` problem.
pub(crate) fn scalar<'a>(node: &'a Node, what: &str, problems: &mut Problems) -> Option<(&'a str, Loc)> {
    match node {
        Node::Scalar(s) => Some((s.as_str(), loc_of(node))),
        other => {
            problems.push(Code::BadValue, loc_of(other), format!("{what} must be a scalar, found {}", shape(other)));
            None
        }
    }
}

/// A YAML mapping being read key by key; keys never asked for are reported as unknown.
pub(crate) struct MapReader<'a> {
    map: &'a MarkedMappingNode,
    what: String,
    allowed: &'static [&'static str],
    used: Vec<&'a str>,
    /// Where the mapping starts.
    pub loc: Loc,
}

impl<'a> MapReader<'a> {
    /// Reads `node` as a mapping described as `what` (`user_task node \`filing\``) whose
    /// keys must be among `allowed`.
    pub(crate) fn new(
        node: &'a Node,
        what: impl Into<String>,
        allowed: &'static [&'static str],
        problems: &mut Problems,
    ) -> Option<Self> {
        let what = what.into();
        match node {
            Node::Mapping(map) => {
                // marked-yaml starts a block mapping's span at its first key's colon; the
                // mapping is written where its first key is.
                let first_key = map.iter().next().map(|(k, _)| loc_of_span(k.span()));
                let node_loc = loc_of(node);
                let loc = match first_key {
                    Some(key) if key.line > 0 && (node_loc.line == 0 || key < node_loc) => key,
                    _ => node_loc,
                };
                Some(MapReader { map, what, allowed, used: Vec::new(), loc })
            }
            other => {
                problems.push(
                    Code::BadValue,
                    loc_of(other),
                    format!("{what} must be a mapping, found {}", shape(other)),
                );
                None
            }
        }
    }

    /// What this mapping is, for messages.
    pub(crate) fn what(&self) -> &str {
        &self.what
    }

    /// The value under `key`, marking the key as known.
    pub(crate) fn get(&mut self, key: &'static str) -> Option<&'a Node> {
        debug_assert!(self.allowed.contains(&key), "{key} read but not allowed");
        let node = self.map.get_node(key)?;
        self.used.push(key);
        if is_null(node) { None } else { Some(node) }
    }

    /// Where `key` was written, or the mapping's own location.
    pub(crate) fn key_loc(&self, key: &str) -> Loc {
        self.map.iter().find(|(k, _)| k.as_str() == key).map(|(k, _)| loc_of_span(k.span())).unwrap_or(self.loc)
    }

    /// A required value; reports `missing-key` when absent.
    pub(crate) fn required(&mut self, key: &'static str, problems: &mut Problems) -> Option<&'a Node> {
        let node = self.get(key);
        if node.is_none() {
            problems.push(Code::MissingKey, self.loc, format!("{} needs `{key}`", self.what));
        }
        node
    }

    /// An optional text value.
    pub(crate) fn text(&mut self, key: &'static str, problems: &mut Problems) -> Option<(String, Loc)> {
        let node = self.get(key)?;
        let what = format!("`{key}` of {}", self.what);
        scalar(node, &what, problems).map(|(s, l)| (s.to_owned(), l))
    }

    /// A required text value.
    pub(crate) fn required_text(&mut self, key: &'static str, problems: &mut Problems) -> Option<(String, Loc)> {
        let node = self.required(key, problems)?;
        let what = format!("`{key}` of {}", self.what);
        scalar(node, &what, problems).map(|(s, l)| (s.to_owned(), l))
    }

    /// An optional boolean (`true`/`false`).
    pub(crate) fn bool(&mut self, key: &'static str, problems: &mut Problems) -> Option<bool> {
        let node = self.get(key)?;
        let what = format!("`{key}` of {}", self.what);
        let (s, loc) = scalar(node, &what, problems)?;
        match s {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => {
                problems.push(Code::BadValue, loc, format!("{what} must be true or false, found `{s}`"));
                None
            }
        }
    }

    /// An optional whole number.
    pub(crate) fn integer<T: std::str::FromStr>(&mut self, key: &'static str, problems: &mut Problems) -> Option<T> {
        let node = self.get(key)?;
        let what = format!("`{key}` of {}", self.what);
        let (s, loc) = scalar(node, &what, problems)?;
        match s.parse::<T>() {
            Ok(n) => Some(n),
            Err(_) => {
                problems.push(Code::BadValue, loc, format!("{what} must be a whole number in range, found `{s}`"));
                None
            }
        }
    }

    /// An optional list of texts; a single scalar counts as a list of one.
    pub(crate) fn text_list(&mut self, key: &'static str, problems: &mut Problems) -> Vec<(String, Loc)> {
        let Some(node) = self.get(key) else { return Vec::new() };
        let what = format!("`{key}` of {}", self.what);
        text_list(node, &what, problems)
    }

    /// The entries of the mapping in order (for maps keyed by user-chosen names).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&'a MarkedScalarNode, &'a Node)> {
        self.map.iter()
    }

    /// Reports every key that was never asked for.
    pub(crate) fn finish(self, problems: &mut Problems) {
        for (key, _) in self.map.iter() {
            let k = key.as_str();
            if !self.used.contains(&k) && !self.allowed.contains(&k) {
                problems.push(
                    Code::UnknownKey,
                    loc_of_span(key.span()),
                    format!("unknown key `{k}` in {}; expected one of: {}", self.what, self.allowed.join(", ")),
                );
            }
        }
    }
}

/// A list of texts; a single scalar counts as a list of one.
pub(crate) fn text_list(node: &Node, what: &str, problems: &mut Problems) -> Vec<(String, Loc)> {
    match node {
        Node::Scalar(s) => vec![(s.as_str().to_owned(), loc_of(node))],
        Node::Sequence(items) => {
            items.iter().filter_map(|item| scalar(item, what, problems).map(|(s, l)| (s.to_owned(), l))).collect()
        }
        Node::Mapping(_) => {
            problems.push(
                Code::BadValue,
                loc_of(node),
                format!("{what} must be a text or a list of texts, found a mapping"),
            );
            Vec::new()
        }
    }
}

/// Whether a node is YAML null (`~`, `null`, or nothing).
pub(crate) fn is_null(node: &Node) -> bool {
    matches!(node, Node::Scalar(s) if s.may_coerce() && matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

/// Converts a YAML value into JSON (for variable defaults): plain scalars are typed as YAML
/// 1.2 core schema does; quoted scalars stay text.
pub(crate) fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match node {
        Node::Scalar(s) => {
            let text = s.as_str();
            if !s.may_coerce() {
                return J::String(text.to_owned());
            }
            if is_null(node) {
                J::Null
            } else if let Some(b) = s.as_bool() {
                J::Bool(b)
            } else if let Ok(i) = text.parse::<i64>() {
                J::from(i)
            } else if let Some(n) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                J::Number(n)
            } else {
                J::String(text.to_owned())
            }
        }
        Node::Sequence(items) => J::Array(items.iter().map(to_json).collect()),
        Node::Mapping(map) => J::Object(map.iter().map(|(k, v)| (k.as_str().to_owned(), to_json(v))).collect()),
    }
}
