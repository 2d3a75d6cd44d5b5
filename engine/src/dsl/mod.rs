//! The YAML flow language.
//!
//! [`parse`] reads a flow definition into the [`crate::model`] with the location of every
//! item, collecting every problem it can find rather than stopping at the first. The
//! validator ([`crate::validate`]) then checks the graph. The language is described in
//! `docs/dsl.md`.
//!
//! Flows are read with `marked-yaml`, which keeps a span for every node, so that a wrong
//! value deep inside a node is reported at its own line and column.

mod nodes;
mod reader;
mod timers;

use std::collections::HashMap;

use marked_yaml::{LoadError, LoaderOptions, Node as Yaml};

use crate::model::{Flow, Loc, NodeIdx, Rule, Target, VarType, VariableDecl};
use crate::problem::{Code, Problem};
use reader::{MapReader, Problems, loc_of, scalar, to_json};

pub use timers::{duration_millis, parse_cron};

/// The result of reading a flow: the flow as far as it could be read, and the problems.
#[derive(Debug)]
pub struct Parsed {
    /// The flow; `None` when the document is not a flow at all (a syntax error, say).
    pub flow: Option<Flow>,
    /// Problems, in document order.
    pub problems: Vec<Problem>,
}

const FLOW_KEYS: &[&str] = &["id", "name", "description", "calendar", "variables", "rules", "start", "nodes"];
const VARIABLE_KEYS: &[&str] = &["type", "default", "required", "description"];

/// Reads a flow definition from YAML text.
pub fn parse(source: &str) -> Parsed {
    let mut problems = Problems::default();
    let options = LoaderOptions::default().error_on_duplicate_keys(true).prevent_coercion(true);
    let yaml = match marked_yaml::parse_yaml_with_options(0, source, options) {
        Ok(yaml) => yaml,
        Err(e) => {
            let (loc, message) = load_error(&e);
            problems.push(Code::Syntax, loc, message);
            return Parsed { flow: None, problems: problems.0 };
        }
    };
    let flow = flow(&yaml, &mut problems);
    let mut problems = problems.0;
    problems.sort();
    Parsed { flow, problems }
}

fn load_error(e: &LoadError) -> (Loc, String) {
    let at = |m: &marked_yaml::Marker| Loc::new(m.line() as u32, m.column() as u32);
    match e {
        LoadError::TopLevelMustBeMapping(m) => (at(m), "a flow must be a YAML mapping".to_owned()),
        LoadError::TopLevelMustBeSequence(m) => (at(m), "expected a YAML list".to_owned()),
        LoadError::UnexpectedAnchor(m) => (at(m), "YAML anchors and aliases are not supported in flows".to_owned()),
        LoadError::MappingKeyMustBeScalar(m) => (at(m), "mapping keys must be plain text".to_owned()),
        LoadError::UnexpectedTag(m) => (at(m), "YAML tags are not supported in flows".to_owned()),
        LoadError::ScanError(m, err) => (at(m), format!("YAML syntax: {}", err.info())),
        LoadError::DuplicateKey(d) => (
            loc_of(&Yaml::Scalar(d.key.clone())),
            format!(
                "duplicate key `{}` (first written at line {})",
                d.key.as_str(),
                d.prev_key.span().start().map(|m| m.line()).unwrap_or(0)
            ),
        ),
    }
}

fn flow(yaml: &Yaml, problems: &mut Problems) -> Option<Flow> {
    let mut top = MapReader::new(yaml, "the flow", FLOW_KEYS, problems)?;
    top.get("description");
    let id = top.required_text("id", problems);
    if let Some((id, loc)) = &id
        && !is_flow_key(id)
    {
        problems.push(Code::BadValue, *loc, format!("flow id `{id}` must be lower-case letters, digits and dashes"));
    }
    let name = top.text("name", problems).map(|(s, _)| s);
    let calendar = top.text("calendar", problems);
    let calendar_loc = calendar.as_ref().map(|(_, l)| *l).unwrap_or(top.key_loc("calendar"));
    let variables = top.get("variables").map(|v| variables(v, problems)).unwrap_or_default();
    let rules = top.get("rules").map(|r| rules(r, problems)).unwrap_or_default();
    let start = top.required_text("start", problems);
    let mut nodes = Vec::new();
    let mut written_ids = Vec::new();
    if let Some(node_map) = top.required("nodes", problems)
        && let Some(reader) = MapReader::new(node_map, "`nodes`", &[], problems)
    {
        for (key, value) in reader.entries() {
            let key_loc = reader::loc_of_span(key.span());
            let id = key.as_str();
            if !is_identifier(id) {
                problems.push(
                    Code::BadValue,
                    key_loc,
                    format!("node id `{id}` must start with a letter or `_` and hold only letters, digits and `_`"),
                );
            }
            written_ids.push(id.to_owned());
            let idx = NodeIdx(nodes.len() as u32);
            if let Some(node) = nodes::node(id, key_loc, idx, value, problems) {
                nodes.push(node);
            }
        }
    }
    top.finish(problems);
    let (id, _) = id?;
    let (start_name, start_loc) = start?;
    let node_index: HashMap<String, NodeIdx> = nodes.iter().map(|n| (n.id.clone(), n.idx)).collect();
    let mut flow = Flow {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        calendar: calendar.map(|(c, _)| c),
        calendar_loc,
        variables,
        rules,
        start: nodes::target(start_name, start_loc),
        nodes,
        node_index,
    };
    resolve(&mut flow, &written_ids, problems);
    Some(flow)
}

fn variables(node: &Yaml, problems: &mut Problems) -> Vec<VariableDecl> {
    let Some(reader) = MapReader::new(node, "`variables`", &[], problems) else { return Vec::new() };
    let mut out = Vec::new();
    for (key, value) in reader.entries() {
        let name = key.as_str().to_owned();
        let loc = reader::loc_of_span(key.span());
        if !is_identifier(&name) {
            problems.push(Code::BadValue, loc, format!("variable name `{name}` must be an identifier"));
        }
        let what = format!("variable `{name}`");
        let (ty, default, required) = if let Yaml::Scalar(_) = value {
            (scalar(value, &what, problems).map(|(s, l)| (s.to_owned(), l)), None, false)
        } else {
            let Some(mut m) = MapReader::new(value, what.clone(), VARIABLE_KEYS, problems) else { continue };
            m.get("description");
            let ty = m.required_text("type", problems);
            let default = m.get("default").map(|d| (to_json(d), loc_of(d)));
            let required = m.bool("required", problems).unwrap_or(false);
            m.finish(problems);
            (ty, default, required)
        };
        let Some((ty_word, ty_loc)) = ty else { continue };
        let Some(ty) = VarType::parse(&ty_word) else {
            let all: Vec<_> = VarType::ALL.iter().map(|t| t.as_str()).collect();
            problems.push(
                Code::BadValue,
                ty_loc,
                format!("unknown type `{ty_word}` for {what}; expected one of: {}", all.join(", ")),
            );
            continue;
        };
        if let Some((value, dloc)) = &default
            && !ty.admits(value)
        {
            problems.push(Code::BadValue, *dloc, format!("default of {what} is not a {}", ty.as_str()));
        }
        out.push(VariableDecl { name, ty, default: default.map(|(v, _)| v), required, loc });
    }
    out
}

fn rules(node: &Yaml, problems: &mut Problems) -> Vec<Rule> {
    let Some(reader) = MapReader::new(node, "`rules`", &[], problems) else { return Vec::new() };
    reader
        .entries()
        .filter_map(|(key, value)| {
            let name = key.as_str().to_owned();
            if !is_identifier(&name) {
                problems.push(
                    Code::BadValue,
                    reader::loc_of_span(key.span()),
                    format!("rule name `{name}` must be an identifier"),
                );
            }
            let (source, loc) = scalar(value, &format!("rule `{name}`"), problems)?;
            Some(Rule { name, expr: nodes::expr(source, loc, problems) })
        })
        .collect()
}

/// Resolves every node reference; reports the ones that name no node. A reference to a
/// node that was written but could not be read stays unresolved without a second problem.
fn resolve(flow: &mut Flow, written_ids: &[String], problems: &mut Problems) {
    let index = &flow.node_index;
    let mut fix = |t: &mut Target, what: &str| match index.get(&t.name) {
        Some(&idx) => t.idx = idx,
        None if written_ids.contains(&t.name) => {}
        None => problems.push(
            Code::UnknownTarget,
            t.loc,
            format!("{what} names `{}`, which is not a node of this flow", t.name),
        ),
    };
    fix(&mut flow.start, "`start`");
    for node in &mut flow.nodes {
        for t in &mut node.next {
            fix(t, "`next`");
        }
        for b in &mut node.boundary {
            fix(&mut b.target, "a boundary event");
        }
        if let Some(g) = &mut node.guard {
            fix(&mut g.requires, "`guard.requires`");
        }
        match &mut node.kind {
            crate::model::NodeKind::Exclusive(g) | crate::model::NodeKind::Inclusive(g) => {
                for b in &mut g.branches {
                    fix(&mut b.target, "a branch");
                }
            }
            crate::model::NodeKind::UserTask(t) => {
                for s in &mut t.separate_from {
                    fix(s, "`separate_from`");
                }
            }
            _ => {}
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_flow_key(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
