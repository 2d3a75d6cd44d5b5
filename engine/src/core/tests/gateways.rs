//! Exclusive, parallel and inclusive gateways, joins included.

use serde_json::json;

use super::fixtures::*;
use crate::core::*;

const GATEWAYS: &str = r#"
id: gateways
calendar: cn-mainland
variables:
  a: { type: bool, default: false }
  b: { type: bool, default: false }
start: split
nodes:
  split:
    type: parallel
    next: [left, right]
  left: { type: user_task, next: join }
  right: { type: user_task, next: join }
  join: { type: parallel, next: choose }
  choose:
    type: inclusive
    branches:
      - { when: a, next: x }
      - { when: b, next: y }
      - { otherwise: z }
  x: { type: user_task, next: merge }
  y: { type: user_task, next: merge }
  z: { type: user_task, next: merge }
  merge:
    type: inclusive
    next: done
  done: { type: end }
"#;

fn anyone() -> Actor {
    Actor::new("u", &[])
}

#[test]
fn parallel_join_waits_for_both_branches() {
    let mut c = Case::new(definition(GATEWAYS));
    c.start(json!({ "a": true, "b": true }));
    assert_eq!(c.positions(), ["left", "right"]);
    c.work(c.task_at("left"), &anyone(), Completion::default()).unwrap();
    assert_eq!(c.positions(), ["join", "right"]);
    c.work(c.task_at("right"), &anyone(), Completion::default()).unwrap();
    assert_eq!(c.positions(), ["x", "y"], "inclusive split takes every branch that holds");
}

#[test]
fn inclusive_join_waits_only_for_tokens_that_can_arrive() {
    let mut c = Case::new(definition(GATEWAYS));
    c.start(json!({ "a": true, "b": true }));
    c.work(c.task_at("left"), &anyone(), Completion::default()).unwrap();
    c.work(c.task_at("right"), &anyone(), Completion::default()).unwrap();
    c.work(c.task_at("x"), &anyone(), Completion::default()).unwrap();
    assert_eq!(c.positions(), ["merge", "y"]);
    c.work(c.task_at("y"), &anyone(), Completion::default()).unwrap();
    assert_eq!(c.state.status, CaseStatus::Completed);
}

#[test]
fn inclusive_default_when_nothing_holds() {
    let mut c = Case::new(definition(GATEWAYS));
    c.start(json!({}));
    c.work(c.task_at("left"), &anyone(), Completion::default()).unwrap();
    c.work(c.task_at("right"), &anyone(), Completion::default()).unwrap();
    assert_eq!(c.positions(), ["z"]);
    c.work(c.task_at("z"), &anyone(), Completion::default()).unwrap();
    assert_eq!(c.state.status, CaseStatus::Completed, "a single token passes the inclusive merge");
}

#[test]
fn exclusive_without_a_holding_branch_raises_an_incident() {
    let yaml = r#"
id: no-default
variables: { n: { type: integer, default: 1 } }
start: g
nodes:
  g:
    type: exclusive
    branches: [ { when: "n > 5", next: e } ]
  e: { type: end }
"#;
    let mut c = Case::new(definition(yaml));
    let effects = c.start(json!({}));
    assert!(effects.iter().any(|e| matches!(e, Effect::RaiseIncident { code, .. } if code == "no-branch")));
    let incident = c.state.incidents[0].key;
    assert_eq!(c.state.status, CaseStatus::Active);
    // Retrying re-evaluates the gateway; still nothing holds.
    c.apply(Command::RetryIncident { incident }).unwrap();
    assert_eq!(c.state.incidents.len(), 1);
}

#[test]
fn expression_errors_become_incidents_not_panics() {
    let yaml = r#"
id: bad-eval
variables: { s: { type: string, default: "x" } }
start: g
nodes:
  g:
    type: exclusive
    branches: [ { when: "s > 5", next: e }, { otherwise: e } ]
  e: { type: end }
"#;
    let mut c = Case::new(definition(yaml));
    let effects = c.start(json!({}));
    assert!(effects.iter().any(|e| matches!(e, Effect::RaiseIncident { .. })), "{effects:?}");
}

#[test]
fn terminate_end_stops_every_token() {
    let yaml = r#"
id: terminate
start: split
nodes:
  split: { type: parallel, next: [work, stop] }
  work: { type: user_task, next: e }
  stop: { type: end, terminate: true }
  e: { type: end }
"#;
    let mut c = Case::new(definition(yaml));
    let effects = c.start(json!({}));
    assert_eq!(c.state.status, CaseStatus::Terminated);
    assert!(effects.iter().any(|e| matches!(e, Effect::CancelTask { .. })));
    assert!(c.state.tasks.is_empty());
}

#[test]
fn archive_and_outcome_survive_ends_reached_in_earlier_commands() {
    let yaml = r#"
id: two-ends
start: split
nodes:
  notice: { type: start, message: complaint, next: split }
  split: { type: parallel, next: [a, b] }
  a: { type: user_task, next: sealed }
  b: { type: user_task, next: plain }
  sealed: { type: end, archive: true, outcome: closed }
  plain: { type: end }
"#;
    let mut c = Case::new(definition(yaml));
    c.apply(Command::StartAt { node: "notice".into(), variables: Default::default() }).unwrap();
    assert_eq!(c.positions(), ["a", "b"]);
    c.work(c.task_at("a"), &anyone(), Completion::default()).unwrap();
    c.work(c.task_at("b"), &anyone(), Completion::default()).unwrap();
    assert!(matches!(
        c.effects.last(),
        Some(Effect::CloseCase { status: CaseStatus::Completed, archive: true, outcome: Some(o), .. }) if o == "closed"
    ));
}

#[test]
fn start_at_only_accepts_start_events() {
    let mut c = Case::new(definition(GATEWAYS));
    let err = c.apply(Command::StartAt { node: "left".into(), variables: Default::default() }).unwrap_err();
    assert_eq!(err, TransitionError::NotAStartEvent("left".into()));
    assert_eq!(c.state.status, CaseStatus::New);
}
