//! Reading the nodes of a flow, one `type:` at a time.

use marked_yaml::Node as Yaml;

use super::reader::{MapReader, Problems, loc_of, scalar, text_list};
use super::timers;
use crate::model::*;
use crate::problem::Code;

const COMMON: [&str; 6] = ["type", "name", "description", "next", "boundary", "guard"];

macro_rules! keys {
    ($($k:literal),* $(,)?) => {{
        const KEYS: &[&str] = &["type", "name", "description", "next", "boundary", "guard", $($k),*];
        KEYS
    }};
}

/// The `type:` words, for messages.
const TYPES: &[&str] = &[
    "start",
    "end",
    "user_task",
    "service_task",
    "publication",
    "exclusive",
    "inclusive",
    "parallel",
    "event_based",
    "timer",
    "message",
    "call",
    "escalation",
];

fn allowed_keys(ty: &str) -> &'static [&'static str] {
    match ty {
        "start" => keys!["timer", "message"],
        "end" => keys!["terminate", "error", "escalation", "archive", "outcome"],
        "user_task" => keys![
            "assignee",
            "candidates",
            "form",
            "outcomes",
            "checklist",
            "deadline",
            "records",
            "multi",
            "priority",
            "separate_from"
        ],
        "service_task" => keys!["job", "retries", "backoff"],
        "publication" => keys!["category", "within", "basis", "ladder", "on_overdue"],
        "exclusive" | "inclusive" => keys!["branches"],
        "timer" => keys!["timer"],
        "message" => keys!["message"],
        "call" => keys!["flow", "version", "inputs", "outputs"],
        "escalation" => keys!["to", "code"],
        _ => &COMMON,
    }
}

/// Reads one node `id: { type: ..., ... }` at position `idx`.
pub(crate) fn node(id: &str, id_loc: Loc, idx: NodeIdx, yaml: &Yaml, problems: &mut Problems) -> Option<Node> {
    let what = format!("node `{id}`");
    let ty = match yaml.as_mapping().and_then(|m| m.get_node("type")) {
        Some(t) => scalar(t, &format!("`type` of {what}"), problems).map(|(s, l)| (s.to_owned(), l)),
        None => {
            let loc = if yaml.as_mapping().is_some() { loc_of(yaml) } else { id_loc };
            problems.push(Code::MissingKey, loc, format!("{what} needs `type`, one of: {}", TYPES.join(", ")));
            None
        }
    };
    let (ty, ty_loc) = ty?;
    if !TYPES.contains(&ty.as_str()) {
        problems.push(
            Code::BadValue,
            ty_loc,
            format!("unknown node type `{ty}`; expected one of: {}", TYPES.join(", ")),
        );
        return None;
    }
    let mut map = MapReader::new(yaml, format!("{ty} node `{id}`"), allowed_keys(&ty), problems)?;
    map.get("type");
    map.get("description");
    let name = map.text("name", problems).map(|(s, _)| s);
    let next = targets(&mut map, "next", problems);
    let boundary = match map.get("boundary") {
        Some(node) => boundaries(node, problems),
        None => Vec::new(),
    };
    let guard = map.get("guard").and_then(|g| guard(g, problems));
    let kind = kind(&ty, &mut map, problems);
    let what = map.what().to_owned();
    map.finish(problems);
    let kind = kind?;
    let node = Node { id: id.to_owned(), idx, name, kind, next, boundary, guard, loc: id_loc };
    check_shape(&node, &what, problems);
    Some(node)
}

/// Outgoing-flow counts and boundary placement each kind allows.
fn check_shape(node: &Node, what: &str, problems: &mut Problems) {
    let n = node.next.len();
    let many = matches!(node.kind, NodeKind::Parallel | NodeKind::EventBased);
    let branches = match &node.kind {
        NodeKind::Exclusive(g) | NodeKind::Inclusive(g) => g.branches.len(),
        _ => 0,
    };
    if matches!(node.kind, NodeKind::End(_)) && n > 0 {
        problems.push(
            Code::UnknownKey,
            node.next[0].loc,
            format!("{what} takes no `next`: an end event has no way out"),
        );
    } else if branches > 0 && n > 0 {
        problems.push(
            Code::BadValue,
            node.next[0].loc,
            format!(
                "{what} has both `branches` and `next`; a gateway routes with `branches`, a pure merge with `next`"
            ),
        );
    } else if !many && n > 1 {
        problems.push(
            Code::BadValue,
            node.next[1].loc,
            format!("{what} has {n} `next` targets; only parallel and event_based gateways fork"),
        );
    }
    if !node.boundary.is_empty() && !node.kind.is_activity() {
        problems.push(
            Code::BadValue,
            node.boundary[0].loc,
            format!("{what}: boundary events attach only to user_task, service_task, publication and call nodes"),
        );
        return;
    }
    for b in &node.boundary {
        let (thrown_here, kind) = match b.trigger {
            BoundaryTrigger::Error(_) => (matches!(node.kind, NodeKind::ServiceTask(_) | NodeKind::Call(_)), "error"),
            BoundaryTrigger::Escalation(_) => (matches!(node.kind, NodeKind::Call(_)), "escalation"),
            _ => (true, ""),
        };
        if !thrown_here {
            let from =
                if kind == "error" { "service_task and call nodes" } else { "call nodes (a sub-case throws it)" };
            problems.push(
                Code::BadValue,
                b.loc,
                format!(
                    "{what}: boundary event `{}` can never fire: {kind} boundary events catch what {from} throw",
                    b.id
                ),
            );
        } else if kind == "error" && !b.interrupting {
            problems.push(
                Code::BadValue,
                b.loc,
                format!("{what}: error boundary event `{}` must interrupt: the activity has already failed", b.id),
            );
        }
    }
}

fn kind(ty: &str, map: &mut MapReader<'_>, problems: &mut Problems) -> Option<NodeKind> {
    Some(match ty {
        "start" => {
            let timer = map.get("timer").and_then(|t| timers::timer(t, "`timer` of a start event", problems));
            let message = map.text("message", problems).map(|(s, _)| s);
            match (timer, message) {
                (Some(t), None) => NodeKind::Start(StartTrigger::Timer(t)),
                (None, Some(m)) => NodeKind::Start(StartTrigger::Message(m)),
                (None, None) => NodeKind::Start(StartTrigger::None),
                (Some(_), Some(_)) => {
                    problems.push(Code::BadValue, map.loc, "a start event has a `timer` or a `message`, not both");
                    return None;
                }
            }
        }
        "end" => NodeKind::End(end_event(map, problems)?),
        "user_task" => NodeKind::UserTask(Box::new(user_task(map, problems))),
        "service_task" => {
            let job = map.required_text("job", problems).map(|(s, _)| s);
            let retries = map.integer::<u32>("retries", problems).unwrap_or(3);
            let backoff = map.get("backoff").map(|b| backoff(b, problems)).unwrap_or_default();
            NodeKind::ServiceTask(ServiceTask { job: job?, retries, backoff })
        }
        "publication" => {
            let category = map.text("category", problems).map(|(s, _)| s).unwrap_or_else(|| "other".to_owned());
            let deadline = timers::deadline_fields(map, problems)?;
            NodeKind::Publication(Publication { category, deadline })
        }
        "exclusive" => NodeKind::Exclusive(gateway(map, problems)),
        "inclusive" => NodeKind::Inclusive(gateway(map, problems)),
        "parallel" => NodeKind::Parallel,
        "event_based" => NodeKind::EventBased,
        "timer" => {
            let node = map.required("timer", problems)?;
            NodeKind::TimerCatch(timers::timer(node, "`timer`", problems)?)
        }
        "message" => NodeKind::MessageCatch(MessageCatch { message: map.required_text("message", problems)?.0 }),
        "call" => NodeKind::Call(call(map, problems)?),
        "escalation" => {
            let to = map.required_text("to", problems).map(|(s, _)| s);
            let code = map.text("code", problems).map(|(s, _)| s);
            NodeKind::Escalation(EscalationThrow { to: to?, code })
        }
        _ => return None,
    })
}

fn end_event(map: &mut MapReader<'_>, problems: &mut Problems) -> Option<EndEvent> {
    let terminate = map.bool("terminate", problems).unwrap_or(false);
    let error = map.text("error", problems).map(|(s, _)| s);
    let escalation = map.text("escalation", problems).map(|(s, _)| s);
    let archive = map.bool("archive", problems).unwrap_or(false);
    let outcome = map.text("outcome", problems).map(|(s, _)| s);
    let result = match (terminate, error, escalation) {
        (false, None, None) => EndResult::None,
        (true, None, None) => EndResult::Terminate,
        (false, Some(code), None) => EndResult::Error(code),
        (false, None, Some(code)) => EndResult::Escalation(code),
        _ => {
            problems.push(Code::BadValue, map.loc, "an end event is at most one of `terminate`, `error`, `escalation`");
            return None;
        }
    };
    Some(EndEvent { result, archive, outcome })
}

const CANDIDATE_KEYS: &[&str] = &["users", "groups"];
const FORM_FIELD_KEYS: &[&str] = &["var", "required"];
const CHECKLIST_KEYS: &[&str] = &["id", "text", "required"];
const RECORD_KEYS: &[&str] = &["required"];
const MULTI_KEYS: &[&str] = &["count", "distinct_assignees", "completion"];

fn user_task(map: &mut MapReader<'_>, problems: &mut Problems) -> UserTask {
    let assignee = map.text("assignee", problems).map(|(s, _)| s);
    let mut candidates = Candidates::default();
    if let Some(node) = map.get("candidates")
        && let Some(mut c) = MapReader::new(node, "`candidates`", CANDIDATE_KEYS, problems)
    {
        candidates.users = c.text_list("users", problems).into_iter().map(|(s, _)| s).collect();
        candidates.groups = c.text_list("groups", problems).into_iter().map(|(s, _)| s).collect();
        c.finish(problems);
    }
    let form = map.get("form").map(|f| form(f, problems)).unwrap_or_default();
    let outcomes = map.text_list("outcomes", problems).into_iter().map(|(s, _)| s).collect();
    let checklist = map.get("checklist").map(|c| checklist(c, problems)).unwrap_or_default();
    let deadline = map.get("deadline").and_then(|d| timers::deadline(d, "`deadline`", problems));
    let mut required_records = Vec::new();
    if let Some(node) = map.get("records")
        && let Some(mut r) = MapReader::new(node, "`records`", RECORD_KEYS, problems)
    {
        required_records = r.text_list("required", problems).into_iter().map(|(s, _)| s).collect();
        r.finish(problems);
    }
    let multi = map.get("multi").and_then(|m| multi(m, problems));
    let priority = map.integer::<i32>("priority", problems).unwrap_or(50);
    let separate_from = targets(map, "separate_from", problems);
    UserTask {
        assignee,
        candidates,
        form,
        outcomes,
        checklist,
        deadline,
        required_records,
        multi,
        priority,
        separate_from,
    }
}

fn form(node: &Yaml, problems: &mut Problems) -> Vec<FormField> {
    let Yaml::Sequence(items) = node else {
        problems.push(Code::BadValue, loc_of(node), "`form` must be a list of variable names or `{ var, required }`");
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Yaml::Scalar(s) => Some(FormField { var: s.as_str().to_owned(), required: false, loc: loc_of(item) }),
            _ => {
                let mut m = MapReader::new(item, "a form field", FORM_FIELD_KEYS, problems)?;
                let var = m.required_text("var", problems);
                let required = m.bool("required", problems).unwrap_or(false);
                m.finish(problems);
                var.map(|(var, loc)| FormField { var, required, loc })
            }
        })
        .collect()
}

fn checklist(node: &Yaml, problems: &mut Problems) -> Vec<ChecklistItem> {
    let Yaml::Sequence(items) = node else {
        problems.push(Code::BadValue, loc_of(node), "`checklist` must be a list of `{ id, text, required }`");
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let mut m = MapReader::new(item, "a checklist point", CHECKLIST_KEYS, problems)?;
            let id = m.required_text("id", problems);
            let text = m.required_text("text", problems);
            let required = m.bool("required", problems).unwrap_or(true);
            m.finish(problems);
            Some(ChecklistItem { id: id?.0, text: text?.0, required })
        })
        .collect()
}

fn multi(node: &Yaml, problems: &mut Problems) -> Option<MultiInstance> {
    let mut m = MapReader::new(node, "`multi`", MULTI_KEYS, problems)?;
    let count = m.integer::<u32>("count", problems);
    let distinct_assignees = m.bool("distinct_assignees", problems).unwrap_or(false);
    let completion = match m.text("completion", problems) {
        None => Some(Completion::All),
        Some((c, loc)) => match c.as_str() {
            "all" => Some(Completion::All),
            "any" => Some(Completion::Any),
            "majority" => Some(Completion::Majority),
            other => {
                problems.push(Code::BadValue, loc, format!("`completion: {other}` must be all, any or majority"));
                None
            }
        },
    };
    let loc = m.loc;
    m.finish(problems);
    let count = match count {
        Some(c) if (1..=100).contains(&c) => c,
        Some(c) => {
            problems.push(Code::BadValue, loc, format!("`multi.count` must be between 1 and 100, found {c}"));
            return None;
        }
        None => {
            problems.push(Code::MissingKey, loc, "`multi` needs `count`");
            return None;
        }
    };
    Some(MultiInstance { count, distinct_assignees, completion: completion? })
}

const BACKOFF_KEYS: &[&str] = &["initial", "factor", "max"];

fn backoff(node: &Yaml, problems: &mut Problems) -> Backoff {
    let mut b = Backoff::default();
    let Some(mut m) = MapReader::new(node, "`backoff`", BACKOFF_KEYS, problems) else { return b };
    for (key, slot) in [("initial", &mut b.initial_millis), ("max", &mut b.max_millis)] {
        if let Some((text, loc)) = m.text(key, problems) {
            match timers::duration_millis(&text) {
                Ok(ms) => *slot = ms,
                Err(e) => problems.push(Code::BadDuration, loc, e),
            }
        }
    }
    if let Some((text, loc)) = m.text("factor", problems) {
        match text.parse::<f64>() {
            Ok(f) if (1.0..=10.0).contains(&f) => b.factor = f,
            _ => problems.push(
                Code::BadValue,
                loc,
                format!("`backoff.factor` must be a number from 1 to 10, found `{text}`"),
            ),
        }
    }
    m.finish(problems);
    b
}

const BRANCH_KEYS: &[&str] = &["when", "next", "otherwise"];

fn gateway(map: &mut MapReader<'_>, problems: &mut Problems) -> Gateway {
    let Some(node) = map.get("branches") else { return Gateway::default() };
    let Yaml::Sequence(items) = node else {
        problems.push(Code::BadValue, loc_of(node), "`branches` must be a list of `{ when, next }` or `{ otherwise }`");
        return Gateway::default();
    };
    let branches = items
        .iter()
        .filter_map(|item| {
            let mut b = MapReader::new(item, "a branch", BRANCH_KEYS, problems)?;
            let loc = b.loc;
            let otherwise = b.text("otherwise", problems);
            let when = b.text("when", problems);
            let next = b.text("next", problems);
            b.finish(problems);
            match (otherwise, when, next) {
                (Some((name, l)), None, None) => Some(Branch { when: None, target: target(name, l), loc }),
                (None, Some((cond, cl)), Some((name, l))) => {
                    Some(Branch { when: Some(expr(&cond, cl, problems)), target: target(name, l), loc })
                }
                _ => {
                    problems.push(
                        Code::BadValue,
                        loc,
                        "a branch is `{ when: CONDITION, next: NODE }` or `{ otherwise: NODE }`",
                    );
                    None
                }
            }
        })
        .collect();
    Gateway { branches }
}

const BOUNDARY_KEYS: &[&str] = &["id", "timer", "message", "error", "escalation", "interrupting", "next"];

fn boundaries(node: &Yaml, problems: &mut Problems) -> Vec<Boundary> {
    let Yaml::Sequence(items) = node else {
        problems.push(Code::BadValue, loc_of(node), "`boundary` must be a list of boundary events");
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let mut b = MapReader::new(item, "a boundary event", BOUNDARY_KEYS, problems)?;
            let loc = b.loc;
            let id = b.required_text("id", problems);
            let mut triggers = Vec::new();
            if let Some(t) = b.get("timer") {
                triggers.extend(timers::timer(t, "`timer` of a boundary event", problems).map(BoundaryTrigger::Timer));
            }
            if let Some((m, _)) = b.text("message", problems) {
                triggers.push(BoundaryTrigger::Message(m));
            }
            if let Some((code, _)) = b.text("error", problems) {
                triggers.push(BoundaryTrigger::Error((code != "any").then_some(code)));
            }
            if let Some((code, _)) = b.text("escalation", problems) {
                triggers.push(BoundaryTrigger::Escalation((code != "any").then_some(code)));
            }
            let interrupting = b.bool("interrupting", problems).unwrap_or(true);
            let next = b.required_text("next", problems);
            b.finish(problems);
            if triggers.len() != 1 {
                problems.push(
                    Code::BadValue,
                    loc,
                    "a boundary event needs exactly one of `timer`, `message`, `error`, `escalation`",
                );
                return None;
            }
            let (next, next_loc) = next?;
            Some(Boundary { id: id?.0, trigger: triggers.pop()?, interrupting, target: target(next, next_loc), loc })
        })
        .collect()
}

const GUARD_KEYS: &[&str] = &["requires", "when"];

/// `guard: { requires: legal_review.approved, when: major }`.
fn guard(node: &Yaml, problems: &mut Problems) -> Option<Guard> {
    let mut g = MapReader::new(node, "`guard`", GUARD_KEYS, problems)?;
    let loc = g.loc;
    let requires = g.required_text("requires", problems);
    let when = g.text("when", problems).map(|(s, l)| expr(&s, l, problems));
    g.finish(problems);
    let (requires, rloc) = requires?;
    let Some((node, outcome)) = requires.rsplit_once('.') else {
        problems.push(
            Code::BadValue,
            rloc,
            format!("`requires: {requires}` must be NODE.OUTCOME, e.g. legal_review.approved"),
        );
        return None;
    };
    Some(Guard { requires: target(node.to_owned(), rloc), outcome: outcome.to_owned(), when, loc })
}

fn call(map: &mut MapReader<'_>, problems: &mut Problems) -> Option<CallActivity> {
    let flow = map.required_text("flow", problems);
    let version = match map.text("version", problems) {
        None => VersionPolicy::Latest,
        Some((v, _)) if v == "latest" => VersionPolicy::Latest,
        Some((v, loc)) => match v.parse::<u32>() {
            Ok(n) if n > 0 => VersionPolicy::Pinned(n),
            _ => {
                problems.push(Code::BadValue, loc, format!("`version: {v}` must be `latest` or a version number"));
                VersionPolicy::Latest
            }
        },
    };
    let inputs = map.text_list("inputs", problems).into_iter().map(|(s, _)| s).collect();
    let outputs = map.text_list("outputs", problems).into_iter().map(|(s, _)| s).collect();
    let (flow, loc) = flow?;
    Some(CallActivity { flow: target(flow, loc), version, inputs, outputs })
}

/// Reads `key` as one target or a list of targets.
fn targets(map: &mut MapReader<'_>, key: &'static str, problems: &mut Problems) -> Vec<Target> {
    match map.get(key) {
        Some(node) => {
            text_list(node, &format!("`{key}`"), problems).into_iter().map(|(name, loc)| target(name, loc)).collect()
        }
        None => Vec::new(),
    }
}

/// An unresolved target; names are resolved once every node is read.
pub(crate) fn target(name: String, loc: Loc) -> Target {
    Target { name, idx: NodeIdx::UNRESOLVED, loc }
}

/// Compiles an expression, reporting `bad-expression` if it does not compile.
pub(crate) fn expr(source: &str, loc: Loc, problems: &mut Problems) -> Expr {
    let (expr, error) = Expr::compile(source, loc);
    if let Some(message) = error {
        let shown: String = source.chars().take(60).collect();
        let ellipsis = if shown.len() < source.len() { "..." } else { "" };
        problems.push(Code::BadExpression, loc, format!("`{shown}{ellipsis}` {message}"));
    }
    expr
}

#[cfg(test)]
mod tests {
    use crate::problem::Code;

    fn problems(nodes: &str) -> Vec<(Code, u32, u32)> {
        let yaml = format!("id: f\nstart: a\nnodes:\n{nodes}");
        crate::dsl::parse(&yaml).problems.into_iter().map(|p| (p.code, p.loc.line, p.loc.col)).collect()
    }

    #[test]
    fn boundary_events_that_can_never_fire_are_refused() {
        let found = problems(
            "  a:\n    type: user_task\n    boundary:\n      - { id: e, error: any, next: z }\n    next: z\n  z: { type: end }\n",
        );
        assert_eq!(found, [(Code::BadValue, 7, 9)]);
        let found = problems(
            "  a:\n    type: service_task\n    job: j\n    boundary:\n      - { id: e, error: any, interrupting: false, next: z }\n    next: z\n  z: { type: end }\n",
        );
        assert_eq!(found, [(Code::BadValue, 8, 9)]);
    }

    #[test]
    fn gateways_merge_with_next_but_not_with_both() {
        assert_eq!(problems("  a: { type: exclusive, next: z }\n  z: { type: end }\n"), []);
        let found = problems("  a: { type: exclusive, next: z, branches: [ { otherwise: z } ] }\n  z: { type: end }\n");
        assert_eq!(found.iter().map(|p| p.0).collect::<Vec<_>>(), [Code::BadValue]);
    }
}
