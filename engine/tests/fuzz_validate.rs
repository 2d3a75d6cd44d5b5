//! The reader and validator never panic on bad input, and always say where a problem is.
//!
//! Two generators feed [`check`]: (a) arbitrary text, and (b) flows from a small grammar
//! of the flow language (random node types, keys, targets, expressions and timers), then
//! mutated (lines deleted or duplicated, characters swapped or inserted, truncation).
//! Inputs that once found a bug live in `fixtures/regressions/` and are checked by
//! `validate_fixtures.rs`.

use docket_engine::validate::{Env, check, validate};
use proptest::prelude::*;
use proptest::sample::select;

fn assert_sound(source: &str) -> Result<(), TestCaseError> {
    let calendars = ["cn-mainland".to_owned()];
    let flows = ["legal-review".to_owned(), "f".to_owned()];
    let checked = check(source, &Env { calendars: &calendars, flows: &flows });
    if !source.trim().is_empty() {
        for p in &checked.problems {
            prop_assert!(p.loc.line >= 1, "problem without a line: {:?}\n--- input ---\n{}", p, source);
        }
    }
    prop_assert!(checked.problems.windows(2).all(|w| w[0] <= w[1]), "problems not sorted");
    // The full validator on whatever was read, even when reading found problems.
    if let Some(flow) = &checked.flow {
        for p in validate(flow, &Env { calendars: &calendars, flows: &flows }) {
            prop_assert!(p.loc.line >= 1, "validate: problem without a line: {:?}\n--- input ---\n{}", p, source);
        }
    }
    if checked.problems.is_empty() {
        prop_assert!(checked.flow.is_some(), "no flow and no problem");
    }
    Ok(())
}

// ---- the grammar -------------------------------------------------------------------------

const IDS: &[&str] = &["a", "b", "c", "d", "e", "f", "review", "major", "fine"];
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
    "bogus",
];
const NAMES: &[&str] = &["a", "b", "c", "d", "e", "f", "review", "fine", "flag", "major", "nope", "x"];
const TIMERS: &[&str] = &[
    "PT24H",
    "P3D",
    "P1W",
    "P1M",
    "PT0S",
    "PT5X",
    "P",
    "5 working_days",
    "3 calendar_days",
    "0 working_days",
    "5 weeks",
    "2025-01-31",
    "2025-13-45",
    "2025-01-31T09:00:00+08:00",
    "{ cycle: \"0 0 9 * * MON-FRI\" }",
    "{ cycle: \"0 0 25 * * *\" }",
    "{ cycle: \"* * *\" }",
    "{ date: 2030-01-01 }",
    "{ within: 7 working_days }",
    "{ duration: PT1H, date: 2030-01-01 }",
    "{}",
    "[]",
    "~",
];

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        select(NAMES).prop_map(str::to_owned),
        Just("true".to_owned()),
        Just("1.5".to_owned()),
        (select(IDS), select(&["'ok'", "\"no\"", "'approved'"][..])).prop_map(|(n, o)| format!("{n}.outcome == {o}")),
        Just("items.all(x, x > 1)".to_owned()),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("!{e}")),
            inner.clone().prop_map(|e| format!("!({e})")),
            (inner.clone(), select(&[" && ", " || ", " >= ", " == ", " +", ""][..]), inner)
                .prop_map(|(a, op, b)| format!("{a}{op}{b}")),
        ]
    })
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![4 => select(IDS).prop_map(str::to_owned), 1 => Just("missing".to_owned()), 1 => Just("[a, b]".to_owned())]
}

fn quoted(e: String) -> String {
    format!("\"{}\"", e.replace('"', "'"))
}

/// One key of a node, rendered as YAML lines (indented by four spaces).
fn node_key() -> impl Strategy<Value = String> {
    prop_oneof![
        target().prop_map(|t| format!("    next: {t}\n")),
        (target(), target()).prop_map(|(a, b)| format!("    next: [{a}, {b}]\n")),
        prop::collection::vec((prop::option::of(expr()), target()), 0..4).prop_map(|bs| {
            let mut s = "    branches:\n".to_owned();
            for (when, t) in bs {
                match when {
                    Some(w) => s += &format!("      - {{ when: {}, next: {t} }}\n", quoted(w)),
                    None => s += &format!("      - {{ otherwise: {t} }}\n"),
                }
            }
            s
        }),
        select(TIMERS).prop_map(|t| format!("    timer: {t}\n")),
        Just("    message: paid\n".to_owned()),
        Just("    job: send\n    retries: 2\n    backoff: { initial: PT1S, factor: 2, max: PT1M }\n".to_owned()),
        Just("    backoff: { factor: 99 }\n".to_owned()),
        select(&["legal-review", "f", "nope", "Bad Key"][..]).prop_map(|f| format!("    flow: {f}\n    inputs: [fine]\n    outputs: [flag, zz]\n")),
        Just("    to: leader\n".to_owned()),
        select(&["[fine, flag]", "[{ var: fine, required: true }]", "[nope]", "fine", "{ a: 1 }"][..]).prop_map(|f| format!("    form: {f}\n")),
        select(&["[ok, no]", "[approved]", "[]", "approved"][..]).prop_map(|o| format!("    outcomes: {o}\n")),
        select(&["{ count: 2, completion: majority }", "{ count: 0 }", "{ count: x }", "{ completion: some }"][..])
            .prop_map(|m| format!("    multi: {m}\n")),
        (select(IDS), select(&["ok", "approved", "nope"][..]), prop::option::of(expr())).prop_map(|(n, o, w)| match w {
            Some(w) => format!("    guard: {{ requires: {n}.{o}, when: {} }}\n", quoted(w)),
            None => format!("    guard: {{ requires: {n}{o} }}\n"),
        }),
        (select(TIMERS), target(), any::<bool>()).prop_map(|(t, n, i)| format!(
            "    boundary:\n      - {{ id: bx, timer: {t}, interrupting: {i}, next: {n} }}\n      - {{ id: bx, error: any, next: {n} }}\n"
        )),
        select(TIMERS).prop_map(|t| format!(
            "    deadline:\n      within: {t}\n      ladder:\n        - {{ when: 2 working_days before, remind: assignee }}\n        - {{ when: soon, notify: x }}\n      on_overdue: {{ escalate_to: chief }}\n"
        )),
        Just("    within: 7 working_days\n    category: penalty\n".to_owned()),
        Just("    terminate: true\n    error: boom\n".to_owned()),
        Just("    archive: maybe\n".to_owned()),
        Just("    unknown_key: 1\n".to_owned()),
        Just("    checklist:\n      - { id: a, text: 是否合法 }\n      - { text: missing id }\n".to_owned()),
    ]
}

fn node() -> impl Strategy<Value = String> {
    (select(IDS), select(TYPES), prop::collection::vec(node_key(), 0..5)).prop_map(|(id, ty, keys)| {
        let mut s = format!("  {id}:\n    type: {ty}\n");
        for k in keys {
            s += &k;
        }
        s
    })
}

fn flow() -> impl Strategy<Value = String> {
    (
        select(&["f", "legal-review", "Bad Id", ""][..]),
        prop::option::of(select(&["cn-mainland", "mars"][..])),
        prop::collection::vec(
            (
                select(NAMES),
                select(&["number", "bool", "list", "string", "date", "colour"][..]),
                select(&["0", "false", "[]", "'x'", "2025-01-01", "{ a: 1 }"][..]),
            ),
            0..4,
        ),
        prop::collection::vec((select(NAMES), expr()), 0..3),
        select(IDS),
        prop::collection::vec(node(), 1..9),
    )
        .prop_map(|(id, calendar, vars, rules, start, nodes)| {
            let mut s = format!("# generated\nid: {id}\nname: 流程\n");
            if let Some(c) = calendar {
                s += &format!("calendar: {c}\n");
            }
            if !vars.is_empty() {
                s += "variables:\n";
                for (name, ty, default) in vars {
                    s += &format!("  {name}: {{ type: {ty}, default: {default} }}\n");
                }
            }
            if !rules.is_empty() {
                s += "rules:\n";
                for (name, e) in rules {
                    s += &format!("  {name}: {}\n", quoted(e));
                }
            }
            s += &format!("start: {start}\nnodes:\n");
            for n in nodes {
                s += &n;
            }
            s
        })
}

// ---- a grammar of mostly well-formed flows, so that the graph checks run too ----------

/// A reference to node `i % n`, now and then to a node that does not exist.
fn typed_target(n: usize) -> impl Strategy<Value = String> {
    prop_oneof![12 => (0..n).prop_map(|i| format!("n{i}")), 1 => Just("missing".to_owned())]
}

fn typed_expr(n: usize) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        select(&["fine > 10.0", "flag", "major", "true", "items.exists(x, x == 1)", "nope"][..])
            .prop_map(str::to_owned),
        ((0..n), select(&["ok", "no", "approved"][..])).prop_map(|(i, o)| format!("n{i}.outcome == '{o}'")),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("!{e}")),
            inner.clone().prop_map(|e| format!("!({e})")),
            (inner.clone(), select(&[" && ", " || "][..]), inner).prop_map(|(a, op, b)| format!("({a}){op}({b})")),
        ]
    })
}

fn typed_boundary(n: usize) -> impl Strategy<Value = String> {
    (
        select(&["timer: PT1H", "timer: 3 working_days", "message: withdrawn", "error: any", "escalation: disagreement"][..]),
        any::<bool>(),
        typed_target(n),
    )
        .prop_map(|(trigger, interrupting, t)| format!("      - {{ id: b_{t}, {trigger}, interrupting: {interrupting}, next: {t} }}\n"))
}

/// Node `i` of a flow of `n` nodes, with keys that suit its type.
fn typed_node(i: usize, n: usize) -> BoxedStrategy<String> {
    let next = typed_target(n);
    let boundary = prop::collection::vec(typed_boundary(n), 0..2)
        .prop_map(|b| if b.is_empty() { String::new() } else { format!("    boundary:\n{}", b.concat()) });
    let ty = select(
        &[
            "start",
            "end",
            "end",
            "user_task",
            "user_task",
            "user_task",
            "service_task",
            "publication",
            "exclusive",
            "exclusive",
            "inclusive",
            "parallel",
            "parallel",
            "event_based",
            "timer",
            "message",
            "call",
            "escalation",
        ][..],
    );
    (
        ty,
        next,
        prop::collection::vec(typed_target(n), 1..4),
        boundary,
        prop::collection::vec((prop::option::of(typed_expr(n)), typed_target(n)), 1..4),
        typed_expr(n),
        any::<u8>(),
    )
        .prop_map(move |(ty, next, many, boundary, branches, cond, bits)| {
            let mut s = format!("  n{i}:\n    type: {ty}\n");
            match ty {
                "start" => {
                    s += ["", "    message: filed\n", "    timer: { cycle: \"0 0 9 * * *\" }\n"][usize::from(bits % 3)];
                    s += &format!("    next: {next}\n");
                }
                "end" => {
                    s += [
                        "",
                        "    terminate: true\n",
                        "    error: failed\n",
                        "    escalation: up\n",
                        "    archive: true\n    outcome: approved\n",
                    ][usize::from(bits % 5)]
                }
                "user_task" => {
                    s += "    candidates: { groups: [handler] }\n";
                    if bits & 1 != 0 {
                        s += "    form: [fine, flag]\n";
                    }
                    if bits & 2 != 0 {
                        s += "    outcomes: [ok, no]\n";
                    }
                    if bits & 4 != 0 {
                        s += "    multi: { count: 3, completion: majority }\n";
                    }
                    if bits & 8 != 0 {
                        s += "    deadline: { within: 5 working_days, on_overdue: { escalate_to: chief } }\n";
                    }
                    if bits & 16 != 0 {
                        s += &format!(
                            "    guard: {{ requires: n{}.ok, when: \"{}\" }}\n",
                            usize::from(bits) % n,
                            cond.replace('"', "'")
                        );
                    }
                    s += &boundary;
                    s += &format!("    next: {next}\n");
                }
                "service_task" => s += &format!("    job: send\n    retries: 2\n{boundary}    next: {next}\n"),
                "publication" => s += &format!("    within: 7 working_days\n{boundary}    next: {next}\n"),
                "exclusive" | "inclusive" => {
                    s += "    branches:\n";
                    for (when, t) in &branches {
                        match when {
                            Some(w) => s += &format!("      - {{ when: \"{}\", next: {t} }}\n", w.replace('"', "'")),
                            None => s += &format!("      - {{ otherwise: {t} }}\n"),
                        }
                    }
                }
                "parallel" | "event_based" => s += &format!("    next: [{}]\n", many.join(", ")),
                "timer" => {
                    s += &format!(
                        "    timer: {}\n    next: {next}\n",
                        ["PT1H", "2 calendar_days", "{ date: 2030-01-01 }"][usize::from(bits % 3)]
                    )
                }
                "message" => s += &format!("    message: paid\n    next: {next}\n"),
                "call" => {
                    s += &format!(
                        "    flow: {}\n    inputs: [fine]\n    outputs: [flag]\n{boundary}    next: {next}\n",
                        ["legal-review", "f", "nope"][usize::from(bits % 3)]
                    )
                }
                _ => s += &format!("    to: leader\n    next: {next}\n"),
            }
            s
        })
        .boxed()
}

fn typed_flow() -> impl Strategy<Value = String> {
    (2usize..14).prop_flat_map(|n| {
        let nodes: Vec<BoxedStrategy<String>> = (0..n).map(|i| typed_node(i, n)).collect();
        (nodes, any::<bool>(), select(&["\"fine > 10.0 || flag\"", "\"major2 && flag\"", "\"major\"", "\"fine >\""][..])).prop_map(
            |(nodes, calendar, rule)| {
                let mut s = String::from("id: f\nname: 流程\n");
                if calendar {
                    s += "calendar: cn-mainland\n";
                }
                s += "variables:\n  fine: { type: number, default: 0 }\n  flag: { type: bool, default: false }\n  items: { type: list, default: [] }\n";
                s += &format!("rules:\n  major: {rule}\n  major2: \"major || fine > 100.0\"\nstart: n0\nnodes:\n");
                s += &nodes.concat();
                s
            },
        )
    })
}

/// A mutation of a text.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    DeleteLine(usize),
    DuplicateLine(usize),
    Swap(usize),
    Truncate(usize),
    Insert(usize, char),
    Indent(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => Just(Mutation::None),
        2 => any::<usize>().prop_map(Mutation::DeleteLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        2 => any::<usize>().prop_map(Mutation::Swap),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        2 => (any::<usize>(), select(&[':', '-', '{', '}', '[', ']', '"', '\'', ' ', '\n', '\t', '#', '!', '&', '*', '|', '>', '%', '@', '`', 'é', '\u{feff}'][..]))
            .prop_map(|(i, c)| Mutation::Insert(i, c)),
        1 => any::<usize>().prop_map(Mutation::Indent),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let chars: Vec<char> = text.chars().collect();
    let line = |i: usize| i % lines.len().max(1);
    let at = |i: usize| i % (chars.len() + 1);
    match *m {
        Mutation::None => text.to_owned(),
        Mutation::DeleteLine(i) => {
            let skip = line(i);
            lines.iter().enumerate().filter(|&(k, _)| k != skip).map(|(_, l)| format!("{l}\n")).collect()
        }
        Mutation::DuplicateLine(i) => {
            let dup = line(i);
            lines
                .iter()
                .enumerate()
                .flat_map(|(k, l)| if k == dup { vec![*l, *l] } else { vec![*l] })
                .map(|l| format!("{l}\n"))
                .collect()
        }
        Mutation::Swap(i) => {
            let mut c = chars.clone();
            if c.len() >= 2 {
                let k = i % (c.len() - 1);
                c.swap(k, k + 1);
            }
            c.into_iter().collect()
        }
        Mutation::Truncate(i) => chars[..at(i)].iter().collect(),
        Mutation::Insert(i, ch) => {
            let mut c = chars.clone();
            c.insert(at(i), ch);
            c.into_iter().collect()
        }
        Mutation::Indent(i) => {
            let k = line(i);
            lines.iter().enumerate().map(|(j, l)| if j == k { format!("  {l}\n") } else { format!("{l}\n") }).collect()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(source in any::<String>()) {
        assert_sound(&source)?;
    }

    #[test]
    fn yaml_like_text_never_panics(source in "[a-z_:{}\\[\\],'\"!&|=<>.#*0-9 \\-\n]{0,300}") {
        assert_sound(&source)?;
    }
}

/// An expression nested by random wrappers (brackets, calls, negation, conditionals,
/// member access): the CEL parser recurses on each, and must never overflow the stack.
fn deep_expression() -> impl Strategy<Value = String> {
    let wrapper = select(&["(", "[", "size(", "{'k': ", "!", "-", "a ? 1 : ", "has(", "x.all(i, "][..]);
    (prop::collection::vec(wrapper, 0..40), 0usize..3000, select(&[".b", "[0]", " && a", " + 1", ".f()"][..])).prop_map(
        |(wrappers, tail, step)| {
            let mut s: String = wrappers.concat();
            s += "a";
            s += &step.repeat(tail);
            for w in wrappers.iter().rev() {
                s += match *w {
                    "(" | "size(" | "has(" | "x.all(i, " => ")",
                    "[" => "]",
                    "{'k': " => "}",
                    _ => "",
                };
            }
            s
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deep_expressions_never_overflow(e in deep_expression()) {
        let source = format!("id: f\nname: f\nrules:\n  r: \"{e}\"\nstart: g\nnodes:\n  g:\n    type: exclusive\n    branches:\n      - {{ when: \"{e}\", next: done }}\n      - {{ otherwise: done }}\n  done: {{ type: end }}\n");
        assert_sound(&source)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn well_formed_flows_never_panic(source in typed_flow(), mutations in prop::collection::vec(mutation(), 0..2)) {
        let mut text = source;
        for m in &mutations {
            text = apply(&text, m);
        }
        assert_sound(&text)?;
    }

    #[test]
    fn generated_flows_never_panic(source in flow(), mutations in prop::collection::vec(mutation(), 0..3)) {
        let mut text = source;
        for m in &mutations {
            text = apply(&text, m);
        }
        assert_sound(&text)?;
    }
}
