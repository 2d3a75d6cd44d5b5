//! Unit tests of the checks on small flows; the fixtures in `engine/tests/fixtures` cover
//! every code with exact locations.

use super::*;
use crate::problem::Code;

fn env() -> (Vec<String>, Vec<String>) {
    (vec!["cn-mainland".to_owned()], vec!["legal-review".to_owned()])
}

fn codes(source: &str) -> Vec<(Code, u32)> {
    let (calendars, flows) = env();
    let checked = check(source, &Env { calendars: &calendars, flows: &flows });
    checked.problems.iter().map(|p| (p.code, p.loc.line)).collect()
}

fn messages(source: &str) -> Vec<String> {
    let (calendars, flows) = env();
    check(source, &Env { calendars: &calendars, flows: &flows }).problems.iter().map(|p| p.message.clone()).collect()
}

/// A flow with a major-case guard on `decide`; `$ROUTE` is replaced by the nodes between
/// `evidence` and `decide`.
fn guarded(route: &str) -> String {
    format!(
        "id: g\nname: g\nvariables:\n  fine: {{ type: number, default: 0 }}\n  other: {{ type: bool, default: false }}\nrules:\n  major: \"fine > 10.0\"\nstart: evidence\nnodes:\n  evidence:\n    type: user_task\n    form: [fine, other]\n    next: is_major\n{route}  review:\n    type: user_task\n    outcomes: [approved, rejected]\n    next: review_result\n  review_result:\n    type: exclusive\n    branches:\n      - {{ when: \"review.outcome == 'approved'\", next: decide }}\n      - {{ otherwise: evidence }}\n  decide:\n    type: user_task\n    guard: {{ requires: review.approved, when: major }}\n    next: done\n  done: {{ type: end }}\n"
    )
}

#[test]
fn the_guard_holds_when_every_major_path_passes_the_review() {
    let flow = guarded(
        "  is_major:\n    type: exclusive\n    branches:\n      - { when: major, next: review }\n      - { otherwise: decide }\n",
    );
    assert_eq!(codes(&flow), []);
}

#[test]
fn a_later_exclusive_branch_knows_the_earlier_ones_failed() {
    let flow = guarded(
        "  is_major:\n    type: exclusive\n    branches:\n      - { when: major, next: review }\n      - { when: other, next: decide }\n      - { otherwise: decide }\n",
    );
    assert_eq!(codes(&flow), []);
}

#[test]
fn an_inclusive_branch_does_not_know_its_siblings_failed() {
    let flow = guarded(
        "  is_major:\n    type: inclusive\n    branches:\n      - { when: major, next: review }\n      - { when: other, next: decide }\n      - { otherwise: decide }\n",
    );
    let found = codes(&flow);
    assert_eq!(found.iter().map(|c| c.0).collect::<Vec<_>>(), [Code::GuardBypassed], "{found:?}");
    assert!(messages(&flow)[0].ends_with("evidence -> is_major -> decide"), "{:?}", messages(&flow));
}

#[test]
fn negated_conditions_prove_the_guard_off() {
    for negation in ["\"!major\"", "\"!( major )\""] {
        let flow = guarded(&format!(
            "  is_major:\n    type: exclusive\n    branches:\n      - {{ when: {negation}, next: decide }}\n      - {{ when: major, next: review }}\n"
        ));
        assert_eq!(codes(&flow), [], "{negation}");
    }
}

#[test]
fn a_service_task_between_check_and_decision_makes_the_condition_unknown() {
    let flow = guarded(
        "  is_major:\n    type: exclusive\n    branches:\n      - { when: major, next: review }\n      - { otherwise: recompute }\n  recompute: { type: service_task, job: recompute, next: decide }\n",
    );
    let found = messages(&flow);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("is_major -> recompute -> decide"), "{found:?}");
}

#[test]
fn a_task_that_does_not_write_the_condition_keeps_it() {
    let flow = guarded(
        "  is_major:\n    type: exclusive\n    branches:\n      - { when: major, next: review }\n      - { otherwise: sign }\n  sign: { type: user_task, form: [other], next: decide }\n",
    );
    assert_eq!(codes(&flow), []);
}

#[test]
fn a_guard_without_when_always_applies() {
    let flow = "id: g\nname: g\nstart: a\nnodes:\n  a:\n    type: user_task\n    outcomes: [ok, no]\n    next: b\n  b:\n    type: user_task\n    guard: { requires: a.ok }\n    next: done\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::GuardBypassed, 11)]);
    let only = flow.replace("[ok, no]", "[ok]");
    assert_eq!(codes(&only), [], "a task whose only outcome is the required one proves it");
}

#[test]
fn a_default_branch_that_rules_out_every_other_outcome_approves() {
    let flow = "id: g\nname: g\nstart: a\nnodes:\n  a:\n    type: user_task\n    outcomes: [ok, no, later]\n    next: r\n  r:\n    type: exclusive\n    branches:\n      - { when: \"a.outcome == 'no'\", next: done }\n      - { when: \"a.outcome == \\\"later\\\"\", next: a }\n      - { otherwise: b }\n  b:\n    type: user_task\n    guard: { requires: a.ok }\n    next: done\n  done: { type: end }\n";
    assert_eq!(codes(flow), []);
}

#[test]
fn a_branch_proving_another_outcome_does_not_approve() {
    let flow = "id: g\nname: g\nstart: a\nnodes:\n  a:\n    type: user_task\n    outcomes: [ok, no]\n    next: r\n  r:\n    type: exclusive\n    branches:\n      - { when: \"a.outcome == 'no'\", next: b }\n      - { otherwise: done }\n  b:\n    type: user_task\n    guard: { requires: a.ok }\n    next: done\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::GuardBypassed, 16)]);
    let approved = flow.replace("'no'", "'ok'");
    assert_eq!(codes(&approved), []);
    let negated = flow.replace("a.outcome == 'no'", "a.outcome != 'ok'");
    assert_eq!(codes(&negated), [(Code::GuardBypassed, 16)]);
}

#[test]
fn a_join_of_event_based_alternatives_deadlocks() {
    let flow = "id: j\nname: j\nstart: w\nnodes:\n  w: { type: event_based, next: [m, t] }\n  m: { type: message, message: paid, next: join }\n  t: { type: timer, timer: PT1H, next: join }\n  join: { type: parallel, next: done }\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::JoinDeadlock, 8)]);
    assert!(messages(flow)[0].contains("event_based gateway `w`"));
}

#[test]
fn a_join_of_parallel_branches_does_not_deadlock() {
    let flow = "id: j\nname: j\nstart: s\nnodes:\n  s: { type: parallel, next: [a, b] }\n  a: { type: user_task, next: join }\n  b: { type: user_task, next: join }\n  join: { type: parallel, next: done }\n  done: { type: end }\n";
    assert_eq!(codes(flow), []);
}

#[test]
fn a_join_of_different_start_events_deadlocks() {
    let flow = "id: j\nname: j\nstart: a\nnodes:\n  a: { type: start, next: join }\n  b: { type: start, message: m, next: join }\n  join: { type: parallel, next: done }\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::JoinDeadlock, 7)]);
    assert!(messages(flow)[0].contains("different start events"));
}

#[test]
fn comprehension_variables_are_not_unknown() {
    let flow = "id: c\nname: c\nvariables:\n  items: { type: list, default: [] }\nstart: g\nnodes:\n  g:\n    type: exclusive\n    branches:\n      - { when: \"items.exists(x, x > 1) && items.all(y, y != x2)\", next: done }\n      - { otherwise: done }\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::UnknownVariable, 10)]);
    assert!(messages(flow)[0].starts_with("`x2`"), "{:?}", messages(flow));
}

#[test]
fn exhaustive_branches_need_no_default() {
    let with = |a: &str, b: &str| {
        format!(
            "id: x\nname: x\nvariables:\n  v: {{ type: bool, default: false }}\nstart: g\nnodes:\n  g:\n    type: exclusive\n    branches:\n      - {{ when: \"{a}\", next: done }}\n      - {{ when: \"{b}\", next: done }}\n  done: {{ type: end }}\n"
        )
    };
    assert_eq!(codes(&with("v", "!v")), []);
    assert_eq!(codes(&with("!(v)", "v")), []);
    assert_eq!(codes(&with("v", "true")), []);
    assert_eq!(codes(&with("v", "!v == false")), [(Code::NoDefaultBranch, 7)]);
    assert_eq!(codes(&with("v", "v == false")), [(Code::NoDefaultBranch, 7)]);
}

#[test]
fn graph_checks_wait_for_a_clean_parse_but_local_checks_do_not() {
    // A bad duration (parse problem): the unknown variable and the dead end are not
    // reported (they may be consequences), the unknown calendar is.
    let flow = "id: p\nname: p\ncalendar: mars\nstart: a\nnodes:\n  a:\n    type: timer\n    timer: PT5X\n    next: b\n  b:\n    type: exclusive\n    branches:\n      - { when: nothing, next: c }\n  c: { type: user_task }\n";
    assert_eq!(codes(flow), [(Code::UnknownCalendar, 3), (Code::BadDuration, 8)]);
}

#[test]
fn validate_does_not_panic_on_unresolved_targets() {
    let parsed = crate::dsl::parse(
        "id: p\nname: p\nstart: nowhere\nnodes:\n  a: { type: user_task, next: b, guard: { requires: zz.ok } }\n  b: { type: exclusive, branches: [{ when: x, next: c }] }\n  w: { type: event_based, next: [q] }\n",
    );
    let flow = parsed.flow.expect("a flow");
    let problems = validate(&flow, &Env::default());
    assert!(problems.iter().any(|p| p.code == Code::UnreachableNode));
}

#[test]
fn a_flow_may_call_itself_but_not_an_unknown_flow() {
    let flow = "id: loop\nname: l\nstart: c\nnodes:\n  c: { type: call, flow: loop, next: d }\n  d: { type: call, flow: nope, next: done }\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::UnknownFlow, 6)]);
}

#[test]
fn calls_copy_declared_variables_only() {
    let flow = "id: c\nname: c\nvariables:\n  a: string\nstart: c\nnodes:\n  c: { type: call, flow: legal-review, inputs: [a, b], outputs: [a], next: done }\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::UnknownVariable, 7)]);
}

#[test]
fn rules_and_variables_may_not_share_names() {
    let flow = "id: c\nname: c\nvariables:\n  major: bool\nrules:\n  major: \"true\"\nstart: done\nnodes:\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::DuplicateId, 6)]);
}

#[test]
fn a_self_loop_without_exit_is_a_dead_end() {
    let flow = "id: c\nname: c\nstart: a\nnodes:\n  a: { type: user_task, next: a }\n  done: { type: end }\n";
    assert_eq!(codes(flow), [(Code::DeadEnd, 5), (Code::UnreachableNode, 6)]);
}

#[test]
fn a_loop_with_a_boundary_timer_has_a_way_out() {
    let flow = "id: c\nname: c\nstart: a\nnodes:\n  a:\n    type: user_task\n    boundary: [{ id: t, timer: PT1H, next: done }]\n    next: a\n  done: { type: end }\n";
    assert_eq!(codes(flow), []);
}
