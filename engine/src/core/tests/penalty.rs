//! The shipped penalty flow driven end to end.

use serde_json::json;

use super::fixtures::*;
use crate::core::*;

/// Drives filing, evidence and chief approval; returns the case at the major/minor split.
fn through_evidence(fine: f64) -> Case {
    let mut c = Case::new(penalty());
    c.start(json!({ "party_name": "某煤矿" }));
    let filing = c.task_at("filing");
    c.work(filing, &handler(1), done(None, json!({}), &[], &["text"])).unwrap();
    let evidence = c.tasks_at("evidence");
    assert_eq!(evidence.len(), 2, "two officers gather evidence");
    c.work(evidence[0], &handler(1), done(None, json!({ "fine_amount": fine }), &[], &["text", "audio_video"]))
        .unwrap();
    c.work(evidence[1], &handler(2), done(None, json!({}), &[], &["text", "audio_video"])).unwrap();
    let chief = c.task_at("chief_approval");
    c.work(chief, &Actor::new("chief", &["section_chief"]), done(Some("approved"), json!({}), &[], &[])).unwrap();
    c
}

fn decide_publish_archive(c: &mut Case) {
    let decide = c.task_at("decide");
    c.work(decide, &Actor::new("director", &["leader"]), done(None, json!({}), &[], &["text"])).unwrap();
    let publication = c
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::OpenPublication { publication, category, .. } => {
                assert_eq!(category, "penalty");
                Some(*publication)
            }
            _ => None,
        })
        .expect("a publication is opened");
    c.apply(Command::Published { publication }).unwrap();
    assert_eq!(c.state.status, CaseStatus::Completed);
    assert!(matches!(c.effects.last(), Some(Effect::CloseCase { status: CaseStatus::Completed, archive: true, .. })));
    assert!(c.state.tasks.is_empty() && c.state.timers.is_empty() && c.state.tokens.is_empty());
}

#[test]
fn minor_case_goes_straight_to_decision() {
    let mut c = through_evidence(1000.0);
    assert_eq!(c.positions(), ["decide"]);
    decide_publish_archive(&mut c);
}

#[test]
fn major_case_passes_legal_review_before_decision() {
    let mut c = through_evidence(80_000.0);
    assert_eq!(c.positions(), ["legal_review"]);
    let review = c.task_at("legal_review");
    // A handler of the case may not review it (separation of duties).
    let reviewer_handler = Actor::new("handler1", &["legal_reviewer", "handler"]);
    assert!(matches!(c.claim(review, &reviewer_handler), Err(TransitionError::SeparationOfDuties { .. })));
    let reviewer = Actor::new("reviewer", &["legal_reviewer"]);
    c.claim(review, &reviewer).unwrap();
    let incomplete = done(Some("approved"), json!({}), &REVIEW_CHECKLIST[..9], &[]);
    assert!(matches!(
        c.apply(Command::Complete { task: review, actor: reviewer.clone(), completion: incomplete }),
        Err(TransitionError::ChecklistIncomplete(points)) if points == ["other"]
    ));
    c.apply(Command::Complete {
        task: review,
        actor: reviewer,
        completion: done(Some("approved"), json!({}), REVIEW_CHECKLIST, &[]),
    })
    .unwrap();
    assert_eq!(c.positions(), ["decide"]);
    decide_publish_archive(&mut c);
}

#[test]
fn rejected_review_sends_the_case_back_to_evidence() {
    let mut c = through_evidence(80_000.0);
    let review = c.task_at("legal_review");
    c.work(
        review,
        &Actor::new("reviewer", &["legal_reviewer"]),
        done(Some("rejected"), json!({}), REVIEW_CHECKLIST, &[]),
    )
    .unwrap();
    assert_eq!(c.positions(), ["evidence"]);
}

#[test]
fn decision_on_a_major_case_without_approval_is_refused() {
    let mut c = through_evidence(1000.0);
    let decide = c.task_at("decide");
    let leader = Actor::new("director", &["leader"]);
    c.claim(decide, &leader).unwrap();
    // Raising the fine at decision time makes the case major: the guard refuses.
    let err = c
        .apply(Command::Complete {
            task: decide,
            actor: leader,
            completion: done(None, json!({ "fine_amount": 90000 }), &[], &["text"]),
        })
        .unwrap_err();
    assert_eq!(err.code(), "GUARD_VIOLATED");
    assert_eq!(c.positions(), ["decide"]);
}

#[test]
fn evidence_needs_two_distinct_officers_and_their_records() {
    let mut c = Case::new(penalty());
    c.start(json!({}));
    let filing = c.task_at("filing");
    assert!(matches!(
        c.work(filing, &handler(1), done(None, json!({}), &[], &[])),
        Err(TransitionError::MissingRecords(kinds)) if kinds == ["text"]
    ));
    c.apply(Command::Complete { task: filing, actor: handler(1), completion: done(None, json!({}), &[], &["text"]) })
        .unwrap();
    let evidence = c.tasks_at("evidence");
    c.claim(evidence[0], &handler(1)).unwrap();
    assert!(matches!(c.claim(evidence[1], &handler(1)), Err(TransitionError::SeparationOfDuties { .. })));
    assert!(matches!(
        c.claim(evidence[1], &Actor::new("clerk", &["clerk"])),
        Err(TransitionError::NotCandidate { .. })
    ));
    assert!(matches!(c.claim(evidence[0], &handler(2)), Err(TransitionError::AlreadyClaimed { .. })));
}

#[test]
fn cancelling_clears_everything_and_late_events_are_ignored() {
    let mut c = Case::new(penalty());
    c.start(json!({}));
    let timer = c.state.timers[0].key;
    let effects = c.apply(Command::Cancel { reason: "withdrawn".into() }).unwrap();
    assert!(effects.iter().any(|e| matches!(e, Effect::CancelTask { .. })));
    assert!(effects.iter().any(|e| matches!(e, Effect::CancelTimer { .. })));
    assert_eq!(c.state.status, CaseStatus::Cancelled);
    assert_eq!(c.apply(Command::FireTimer { timer }).unwrap(), vec![]);
    assert_eq!(c.apply(Command::Suspend).unwrap_err(), TransitionError::CaseClosed);
}

#[test]
fn a_task_writes_only_its_form_variables() {
    let mut c = Case::new(penalty());
    c.start(json!({}));
    let filing = c.task_at("filing");
    let err = c.work(filing, &handler(1), done(None, json!({ "fine_amount": 1 }), &[], &["text"])).unwrap_err();
    assert!(
        matches!(err, TransitionError::BadVariable { ref name, ref reason } if name == "fine_amount" && reason.contains("form"))
    );
    c.apply(Command::Complete {
        task: filing,
        actor: handler(1),
        completion: done(None, json!({ "party_name": "某公司" }), &[], &["text"]),
    })
    .unwrap();
    assert_eq!(c.state.variables["party_name"], json!("某公司"));
}
