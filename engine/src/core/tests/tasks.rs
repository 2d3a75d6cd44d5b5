//! Task commands: assignment, multi-instance completion rules, variables.

use serde_json::json;

use super::fixtures::*;
use crate::core::*;

const VOTE: &str = r#"
id: vote
variables: { note: { type: string } }
start: discuss
nodes:
  discuss:
    type: user_task
    candidates: { groups: [leader] }
    outcomes: [approve, reject]
    form: [ { var: note, required: true } ]
    multi: { count: 3, distinct_assignees: true, completion: majority }
    next: e
  e: { type: end }
"#;

fn leader(n: u32) -> Actor {
    Actor::new(format!("leader{n}"), &["leader"])
}

fn vote(outcome: &str) -> Completion {
    done(Some(outcome), json!({ "note": "ok" }), &[], &[])
}

#[test]
fn majority_decides_and_cancels_the_rest() {
    let mut c = Case::new(definition(VOTE));
    c.start(json!({}));
    let tasks = c.tasks_at("discuss");
    c.work(tasks[0], &leader(1), vote("approve")).unwrap();
    assert_eq!(c.state.status, CaseStatus::Active);
    let effects = c.work(tasks[1], &leader(2), vote("approve")).unwrap();
    assert!(effects.contains(&Effect::CancelTask { task: tasks[2] }));
    assert_eq!(c.state.outcomes["discuss"], json!("approve"));
    assert_eq!(c.state.status, CaseStatus::Completed);
}

#[test]
fn split_vote_reports_no_majority() {
    let yaml = VOTE.replace("count: 3", "count: 2");
    let mut c = Case::new(definition(&yaml));
    c.start(json!({}));
    let tasks = c.tasks_at("discuss");
    c.work(tasks[0], &leader(1), vote("approve")).unwrap();
    c.work(tasks[1], &leader(2), vote("reject")).unwrap();
    assert_eq!(c.state.outcomes["discuss"], json!("no_majority"));
}

#[test]
fn completion_checks_outcome_form_and_types() {
    let mut c = Case::new(definition(VOTE));
    c.start(json!({}));
    let task = c.tasks_at("discuss")[0];
    c.claim(task, &leader(1)).unwrap();
    let complete = |c: &mut Case, completion| c.apply(Command::Complete { task, actor: leader(1), completion });
    assert!(matches!(complete(&mut c, vote("maybe")), Err(TransitionError::BadOutcome(_))));
    assert!(matches!(
        complete(&mut c, done(Some("approve"), json!({}), &[], &[])),
        Err(TransitionError::BadVariable { .. })
    ));
    assert!(matches!(
        complete(&mut c, done(Some("approve"), json!({ "note": 5 }), &[], &[])),
        Err(TransitionError::BadVariable { .. })
    ));
    assert!(matches!(
        complete(&mut c, done(Some("approve"), json!({ "note": "x", "undeclared": 1 }), &[], &[])),
        Err(TransitionError::BadVariable { .. })
    ));
    // Only the assignee completes.
    assert!(matches!(
        c.apply(Command::Complete { task, actor: leader(2), completion: vote("approve") }),
        Err(TransitionError::NotAssignee { .. })
    ));
}

#[test]
fn unclaim_and_delegate_follow_the_assignee() {
    let mut c = Case::new(definition(VOTE));
    c.start(json!({}));
    let task = c.tasks_at("discuss")[0];
    c.claim(task, &leader(1)).unwrap();
    assert_eq!(c.claim(task, &leader(1)).unwrap(), vec![], "claiming again is a no-op");
    assert!(matches!(c.apply(Command::Unclaim { task, actor: leader(2) }), Err(TransitionError::NotAssignee { .. })));
    c.apply(Command::Unclaim { task, actor: leader(1) }).unwrap();
    c.claim(task, &leader(2)).unwrap();
    let effects = c.apply(Command::Delegate { task, actor: leader(2), to: "leader3".into() }).unwrap();
    assert_eq!(effects, vec![Effect::AssignTask { task, assignee: Some("leader3".into()) }]);
    c.apply(Command::AttachRecord { task, actor: leader(3), record: record("text") }).unwrap();
    assert_eq!(c.state.task(task).unwrap().records.len(), 1);
}

#[test]
fn start_checks_declared_variables() {
    let mut c = Case::new(definition(VOTE));
    let err = c.apply(Command::Start { variables: [("note".to_owned(), json!(3))].into() }).unwrap_err();
    assert_eq!(err.code(), "VALIDATION");
    assert_eq!(c.state.status, CaseStatus::New, "a refused command changes nothing");
    assert_eq!(c.apply(Command::Suspend).unwrap_err(), TransitionError::NotStarted);
}
