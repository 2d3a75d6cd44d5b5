//! A harness that drives one case through the core with a test clock.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::calendar::Calendar;
use crate::core::*;
use crate::time::Timestamp;

/// Parses a flow that must be free of parse problems.
pub fn definition(yaml: &str) -> Definition {
    let parsed = crate::dsl::parse(yaml);
    assert!(parsed.problems.is_empty(), "flow has problems: {:#?}", parsed.problems);
    Definition::new(Arc::new(parsed.flow.expect("a flow"))).expect("a runnable flow")
}

/// The shipped penalty flow.
pub fn penalty() -> Definition {
    definition(include_str!("../../../../workflows/penalty-general.yaml"))
}

/// 9:00 local time on a date.
pub fn at(y: i32, m: u32, d: u32) -> Timestamp {
    Timestamp::start_of_local_day(NaiveDate::from_ymd_opt(y, m, d).expect("a date")) + chrono::Duration::hours(9)
}

/// One case, its clock and every effect it produced.
pub struct Case {
    pub def: Definition,
    pub state: CaseState,
    pub now: Timestamp,
    pub effects: Vec<Effect>,
    pub calendar: &'static Calendar,
}

impl Case {
    pub fn new(def: Definition) -> Self {
        Case {
            def,
            state: CaseState::new(),
            now: at(2024, 3, 4),
            effects: Vec::new(),
            calendar: Calendar::shipped("cn-mainland").expect("shipped calendar"),
        }
    }

    /// Applies a command; on success keeps the new state and returns its effects.
    pub fn apply(&mut self, command: Command) -> Result<Vec<Effect>, TransitionError> {
        let env = Env { now: self.now, calendar: Some(self.calendar) };
        let t = transition(&self.def, &self.state, command, &env)?;
        self.state = t.state;
        self.effects.extend(t.effects.clone());
        Ok(t.effects)
    }

    /// Like [`Case::apply`] but through [`apply`], which changes the state in place.
    pub fn apply_in_place(&mut self, command: Command) -> Result<Vec<Effect>, TransitionError> {
        let env = Env { now: self.now, calendar: Some(self.calendar) };
        let effects = apply(&self.def, &mut self.state, command, &env)?;
        self.effects.extend(effects.clone());
        Ok(effects)
    }

    pub fn start(&mut self, vars: serde_json::Value) -> Vec<Effect> {
        let variables = vars.as_object().cloned().unwrap_or_default().into_iter().collect();
        self.apply(Command::Start { variables }).expect("start")
    }

    /// Open tasks at a node, by node id.
    pub fn tasks_at(&self, node: &str) -> Vec<TaskKey> {
        let idx = self.def.flow.node_index[node];
        self.state.tasks.iter().filter(|t| t.node == idx).map(|t| t.key).collect()
    }

    /// The single open task at a node.
    pub fn task_at(&self, node: &str) -> TaskKey {
        let tasks = self.tasks_at(node);
        assert_eq!(tasks.len(), 1, "expected one task at {node}, state: {:#?}", self.state.tasks);
        tasks[0]
    }

    pub fn claim(&mut self, task: TaskKey, actor: &Actor) -> Result<Vec<Effect>, TransitionError> {
        self.apply(Command::Claim { task, actor: actor.clone() })
    }

    /// Claims and completes a task with everything it requires.
    pub fn work(
        &mut self,
        task: TaskKey,
        actor: &Actor,
        completion: Completion,
    ) -> Result<Vec<Effect>, TransitionError> {
        self.claim(task, actor)?;
        self.apply(Command::Complete { task, actor: actor.clone(), completion })
    }

    /// Node ids where tokens are.
    pub fn positions(&self) -> Vec<String> {
        let mut p: Vec<String> = self.state.tokens.iter().map(|t| self.def.flow.node(t.node).id.clone()).collect();
        p.sort();
        p
    }

    /// The armed timers for a purpose filter.
    pub fn timers(&self, pred: impl Fn(&TimerPurpose) -> bool) -> Vec<(TimerKey, Timestamp)> {
        self.state.timers.iter().filter(|t| pred(&t.purpose)).map(|t| (t.key, t.due)).collect()
    }

    pub fn fire(&mut self, timer: TimerKey) -> Vec<Effect> {
        self.apply(Command::FireTimer { timer }).expect("fire")
    }
}

pub fn record(kind: &str) -> RecordRef {
    RecordRef { kind: kind.into(), sha256: "00".repeat(32), size: 1, uri: format!("s3://records/{kind}") }
}

/// A completion with an outcome, variables, every checklist point satisfied and records.
pub fn done(outcome: Option<&str>, vars: serde_json::Value, checklist: &[&str], records: &[&str]) -> Completion {
    Completion {
        outcome: outcome.map(str::to_owned),
        variables: vars.as_object().cloned().unwrap_or_default().into_iter().collect(),
        checklist: checklist.iter().map(|c| ((*c).to_owned(), true)).collect(),
        records: records.iter().map(|k| record(k)).collect(),
    }
}

pub fn handler(n: u32) -> Actor {
    Actor::new(format!("handler{n}"), &["handler"])
}

pub const REVIEW_CHECKLIST: &[&str] =
    &["subject", "authority", "facts", "evidence", "law", "procedure", "discretion", "documents", "rights", "other"];
