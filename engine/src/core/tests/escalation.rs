//! Disagreement coordination: a task's assignee escalates, a member of the ruling group
//! rules, the assignee completes with the ruled outcome; and assignment by a section.

use serde_json::json;

use super::fixtures::*;
use crate::core::*;

const REVIEW: &str = r#"
id: review
start: legal_review
nodes:
  legal_review:
    type: user_task
    candidates: { groups: [legal_reviewer] }
    outcomes: [approved, rejected]
    next: e
  e: { type: end }
"#;

fn reviewer() -> Actor {
    Actor::new("rev1", &["legal_reviewer"])
}

fn leader() -> Actor {
    Actor::new("lead1", &["leader"])
}

fn escalate(task: TaskKey, actor: Actor) -> Command {
    Command::EscalateTask { task, actor, to: "leader".into(), reason: "the handler disputes the opinion".into() }
}

fn started() -> (Case, TaskKey) {
    let mut c = Case::new(definition(REVIEW));
    c.start(json!({}));
    let task = c.task_at("legal_review");
    c.claim(task, &reviewer()).unwrap();
    (c, task)
}

#[test]
fn escalation_blocks_completion_until_the_ruling_and_binds_the_outcome() {
    let (mut c, task) = started();
    let effects = c.apply(escalate(task, reviewer())).unwrap();
    assert!(matches!(&effects[..], [Effect::EscalateTask { to, by, .. }] if to == "leader" && by == "rev1"));
    assert!(c.state.task(task).unwrap().escalation.is_some());

    let complete = |outcome: &str| Command::Complete {
        task,
        actor: reviewer(),
        completion: done(Some(outcome), json!({}), &[], &[]),
    };
    assert!(matches!(c.apply(complete("rejected")), Err(TransitionError::TaskEscalated { .. })));
    assert!(matches!(c.apply(escalate(task, reviewer())), Err(TransitionError::TaskEscalated { .. })));

    // Only a member of the ruling group rules; the ruled outcome must be one of the task's.
    let rule = |actor: Actor, outcome: &str| Command::ResolveEscalation {
        task,
        actor,
        outcome: Some(outcome.into()),
        note: "the facts support approval".into(),
    };
    assert!(matches!(
        c.apply(rule(Actor::new("h1", &["handler"]), "approved")),
        Err(TransitionError::NotEscalationResolver { .. })
    ));
    assert!(matches!(c.apply(rule(leader(), "maybe")), Err(TransitionError::BadOutcome(_))));
    let effects = c.apply(rule(leader(), "approved")).unwrap();
    assert!(matches!(
        &effects[..],
        [Effect::ResolveEscalation { release: Some(g), outcome: Some(o), .. }] if g == "leader" && o == "approved"
    ));
    assert!(matches!(c.apply(rule(leader(), "approved")), Err(TransitionError::NotEscalated(_))));

    // The assignee completes, with the ruled outcome only.
    assert!(matches!(c.apply(complete("rejected")), Err(TransitionError::BadOutcome(_))));
    c.apply(complete("approved")).unwrap();
    assert_eq!(c.state.status, CaseStatus::Completed);
    assert_eq!(c.state.outcomes["legal_review"], json!("approved"));
}

#[test]
fn only_the_assignee_escalates_and_a_party_may_not_rule() {
    let (mut c, task) = started();
    assert!(matches!(c.apply(escalate(task, leader())), Err(TransitionError::NotAssignee { .. })));
    c.apply(escalate(task, reviewer())).unwrap();
    // The reviewer who escalated also holds the leader role: still a party.
    let both = Actor::new("rev1", &["legal_reviewer", "leader"]);
    assert!(matches!(
        c.apply(Command::ResolveEscalation { task, actor: both, outcome: None, note: "mine".into() }),
        Err(TransitionError::SeparationOfDuties { .. })
    ));
    // A ruling without an outcome leaves the choice to the assignee.
    c.apply(Command::ResolveEscalation { task, actor: leader(), outcome: None, note: "decide again".into() }).unwrap();
    c.apply(Command::Complete { task, actor: reviewer(), completion: done(Some("rejected"), json!({}), &[], &[]) })
        .unwrap();
}

#[test]
fn assign_gives_the_task_to_a_user_but_keeps_separation_of_duties() {
    let mut c = Case::new(penalty());
    c.start(json!({ "party_name": "某公司", "fine_amount": 80000.0 }));
    let filing = c.task_at("filing");
    c.work(filing, &handler(1), done(None, json!({ "party_name": "某公司" }), &[], &["text"])).unwrap();
    let chief = Actor::new("chief1", &["section_chief"]);
    let evidence = c.tasks_at("evidence");
    let effects = c.apply(Command::Assign { task: evidence[0], actor: chief.clone(), to: "h2".into() }).unwrap();
    assert_eq!(effects, vec![Effect::AssignTask { task: evidence[0], assignee: Some("h2".into()) }]);
    // h2 holds one instance of a distinct-assignee task: the other may not go to h2.
    assert!(matches!(
        c.apply(Command::Assign { task: evidence[1], actor: chief, to: "h2".into() }),
        Err(TransitionError::SeparationOfDuties { .. })
    ));
}

#[test]
fn migration_maps_nodes_by_id_and_refuses_missing_ones() {
    let (c, task) = started();
    let v2 = definition(&REVIEW.replace("start: legal_review", "start: intake").replace(
        "nodes:\n  legal_review:",
        "nodes:\n  intake: { type: user_task, candidates: { groups: [handler] }, next: legal_review }\n  legal_review:",
    ));
    let moved = migrate(&c.def, &v2, &c.state).unwrap();
    let node = moved.task(task).unwrap().node;
    assert_eq!(v2.node(node).id, "legal_review");
    assert_ne!(node, c.state.task(task).unwrap().node, "the index moved with the inserted node");

    let without = definition(&REVIEW.replace("legal_review", "review"));
    let err = migrate(&c.def, &without, &c.state).unwrap_err();
    assert_eq!(err.reasons, vec!["`legal_review` holds the case but does not exist in the target".to_owned()]);
}
