//! Timers, boundary events, event-based gateways, messages, jobs and calls.

use serde_json::json;

use super::fixtures::*;
use crate::core::*;

const EVENTS: &str = r#"
id: events
calendar: cn-mainland
variables: { paid: { type: bool, default: false } }
start: notice
nodes:
  notice:
    type: user_task
    boundary:
      - { id: remind, timer: PT24H, interrupting: false, next: reminder }
      - { id: withdrawn, message: withdrawn, next: closed }
    next: wait
  reminder: { type: end }
  wait:
    type: event_based
    next: [payment, overdue]
  payment: { type: message, message: payment, next: send }
  overdue: { type: timer, timer: 15 calendar_days, next: send }
  send:
    type: service_task
    job: send-notice
    retries: 2
    backoff: { initial: PT10S, factor: 2 }
    boundary:
      - { id: rejected, error: NO_ADDRESS, next: closed }
    next: review
  review:
    type: call
    flow: legal-review
    outputs: [paid]
    boundary:
      - { id: escalated, escalation: any, interrupting: false, next: escalate }
    next: closed
  escalate: { type: escalation, to: leader, next: escalated_end }
  escalated_end: { type: end }
  closed: { type: end }
"#;

fn anyone() -> Actor {
    Actor::new("u", &[])
}

#[test]
fn non_interrupting_timer_spawns_a_token_and_keeps_the_task() {
    let mut c = Case::new(definition(EVENTS));
    c.start(json!({}));
    let (timer, due) = c.timers(|p| matches!(p, TimerPurpose::Boundary { .. }))[0];
    assert_eq!(due, c.now + chrono::Duration::hours(24));
    c.fire(timer);
    assert_eq!(c.positions(), ["notice"], "the reminder branch ended; the task stays");
    assert_eq!(c.tasks_at("notice").len(), 1);
}

#[test]
fn interrupting_message_cancels_the_task() {
    let mut c = Case::new(definition(EVENTS));
    c.start(json!({}));
    let task = c.task_at("notice");
    let effects =
        c.apply(Command::CorrelateMessage { name: "withdrawn".into(), variables: Default::default() }).unwrap();
    assert!(effects.contains(&Effect::CancelTask { task }));
    assert_eq!(c.state.status, CaseStatus::Completed);
    assert!(c.state.timers.is_empty(), "the boundary timer went with the task");
}

#[test]
fn event_based_gateway_takes_the_first_event() {
    let mut c = Case::new(definition(EVENTS));
    c.start(json!({}));
    c.work(c.task_at("notice"), &anyone(), Completion::default()).unwrap();
    let timers = c.timers(|p| matches!(p, TimerPurpose::Catch { .. }));
    assert_eq!(timers.len(), 1);
    // 2024-03-04 + 15 calendar days = 2024-03-19 (a Tuesday), due at the end of the day.
    assert_eq!(timers[0].1.to_local().to_rfc3339(), "2024-03-20T00:00:00+08:00");
    let effects = c.apply(Command::CorrelateMessage { name: "payment".into(), variables: Default::default() }).unwrap();
    assert!(effects.contains(&Effect::CancelTimer { timer: timers[0].0 }));
    assert_eq!(c.positions(), ["send"]);
    assert_eq!(
        c.apply(Command::CorrelateMessage { name: "payment".into(), variables: Default::default() })
            .unwrap_err()
            .code(),
        "NO_SUBSCRIPTION"
    );
}

fn at_send() -> (Case, JobKey) {
    let mut c = Case::new(definition(EVENTS));
    c.start(json!({}));
    c.work(c.task_at("notice"), &anyone(), Completion::default()).unwrap();
    let (timer, _) = c.timers(|p| matches!(p, TimerPurpose::Catch { .. }))[0];
    c.fire(timer);
    let job = c.state.jobs[0].key;
    (c, job)
}

#[test]
fn failed_jobs_retry_with_backoff_then_raise_an_incident() {
    let (mut c, job) = at_send();
    let fail = |c: &mut Case| c.apply(Command::JobFailed { job, message: "timeout".into(), error_code: None }).unwrap();
    let effects = fail(&mut c);
    let Some(Effect::ScheduleTimer { timer, due, .. }) = effects.first().cloned() else { panic!("{effects:?}") };
    assert_eq!(due, c.now + chrono::Duration::seconds(10));
    let effects = c.fire(timer);
    assert!(matches!(effects[..], [Effect::CreateJob { attempt: 2, .. }]));
    let effects = fail(&mut c);
    let Some(Effect::ScheduleTimer { timer, due, .. }) = effects.first().cloned() else { panic!("{effects:?}") };
    assert_eq!(due, c.now + chrono::Duration::seconds(20), "backoff doubles");
    c.fire(timer);
    let effects = fail(&mut c);
    assert!(matches!(&effects[..], [Effect::RaiseIncident { code, .. }] if code == "job-failed"));
    let incident = c.state.incidents[0].key;
    let effects = c.apply(Command::RetryIncident { incident }).unwrap();
    assert!(effects.iter().any(|e| matches!(e, Effect::CreateJob { attempt: 1, .. })));
}

#[test]
fn business_error_is_caught_by_the_error_boundary() {
    let (mut c, job) = at_send();
    c.apply(Command::JobFailed { job, message: "no address".into(), error_code: Some("NO_ADDRESS".into()) }).unwrap();
    assert_eq!(c.state.status, CaseStatus::Completed);
}

#[test]
fn call_runs_a_sub_case_and_copies_outputs() {
    let (mut c, job) = at_send();
    let effects = c.apply(Command::JobSucceeded { job, variables: Default::default() }).unwrap();
    let Some(Effect::StartCall { call, flow, version: None, .. }) = effects.last().cloned() else {
        panic!("{effects:?}")
    };
    assert_eq!(flow, "legal-review");
    c.apply(Command::CallEscalated { call, code: "DISAGREE".into() }).unwrap();
    assert!(c.effects.iter().any(|e| matches!(e, Effect::Escalate { to: Some(role), .. } if role == "leader")));
    c.apply(Command::CallCompleted {
        call,
        outcome: Some("approved".into()),
        variables: [("paid".into(), json!(true))].into(),
    })
    .unwrap();
    assert_eq!(c.state.variables["paid"], json!(true));
    assert_eq!(c.state.outcomes["review"], json!("approved"));
    assert_eq!(c.state.status, CaseStatus::Completed);
}

#[test]
fn suspension_disarms_and_resumption_rearms_timers() {
    let mut c = Case::new(definition(EVENTS));
    c.start(json!({}));
    let armed = c.state.timers.clone();
    let effects = c.apply(Command::Suspend).unwrap();
    assert_eq!(effects.len(), armed.len());
    let task = c.task_at("notice");
    assert_eq!(c.claim(task, &anyone()).unwrap_err(), TransitionError::CaseSuspended);
    let effects = c.apply(Command::Resume).unwrap();
    assert!(matches!(&effects[..], [Effect::ScheduleTimer { timer, .. }] if *timer == armed[0].key));
}
