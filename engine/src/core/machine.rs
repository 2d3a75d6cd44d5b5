//! The token machine: moves tokens through nodes until each waits, and emits the effects
//! of every step. Command handlers (in `tasks`, `events`, `lifecycle`) change the state and
//! hand the moved tokens to [`Machine::run`].

use std::collections::VecDeque;

use super::Env;
use super::command::Variables;
use super::definition::Definition;
use super::effect::{Effect, TimerPurpose};
use super::eval;
use super::ids::*;
use super::state::*;
use crate::calendar::{DeadlineClock, DeadlineSpec, LadderAction};
use crate::model::*;
use crate::time::Timestamp;

/// How many nodes one command may move tokens through before the engine decides the flow
/// loops without waiting and stops the token with an incident.
const MAX_STEPS_PER_COMMAND: u32 = 10_000;

/// One transition in progress: a working copy of the state and the effects so far.
pub(crate) struct Machine<'a, 's> {
    pub def: &'a Definition,
    pub env: &'a Env<'a>,
    pub state: &'s mut CaseState,
    pub effects: Vec<Effect>,
    ready: VecDeque<TokenId>,
    steps: u32,
}

impl<'a, 's> Machine<'a, 's> {
    pub(crate) fn new(def: &'a Definition, env: &'a Env<'a>, state: &'s mut CaseState) -> Self {
        Machine { def, env, state, effects: Vec::new(), ready: VecDeque::new(), steps: 0 }
    }

    pub(crate) fn flow(&self) -> &'a Flow {
        &self.def.flow
    }

    fn now(&self) -> Timestamp {
        self.env.now
    }

    // ---- tokens -------------------------------------------------------------------------

    /// A new token at `node`, ready to enter it.
    pub(crate) fn spawn(&mut self, node: NodeIdx) -> TokenId {
        let id = TokenId(self.state.alloc());
        self.state.tokens.push(Token {
            id,
            node,
            wait: Wait::Ready,
            deadline: None,
            votes: Vec::new(),
            ladder_fired: Vec::new(),
        });
        self.ready.push_back(id);
        id
    }

    pub(crate) fn token_mut(&mut self, id: TokenId) -> Option<&mut Token> {
        self.state.tokens.iter_mut().find(|t| t.id == id)
    }

    /// Moves a token to `node`, ready to enter it.
    pub(crate) fn move_to(&mut self, id: TokenId, node: NodeIdx) {
        if let Some(t) = self.token_mut(id) {
            t.node = node;
            t.wait = Wait::Ready;
            t.deadline = None;
            t.votes.clear();
            t.ladder_fired.clear();
            self.ready.push_back(id);
        }
    }

    fn remove_token(&mut self, id: TokenId) {
        self.state.tokens.retain(|t| t.id != id);
    }

    /// Leaves the token's current node along its `next` flow(s).
    pub(crate) fn leave(&mut self, id: TokenId) {
        let Some(token) = self.state.token(id) else { return };
        let node = self.def.node(token.node);
        match node.next.as_slice() {
            [] => self.remove_token(id),
            [first, rest @ ..] => {
                let rest: Vec<NodeIdx> = rest.iter().map(|t| t.idx).collect();
                self.move_to(id, first.idx);
                for n in rest {
                    self.spawn(n);
                }
            }
        }
    }

    /// Runs every ready token until it waits, then fires inclusive joins that nothing can
    /// reach any more, and completes the case when no token is left.
    pub(crate) fn run(&mut self) {
        loop {
            while let Some(id) = self.ready.pop_front() {
                if self.state.status.is_closed() {
                    self.ready.clear();
                    break;
                }
                self.steps += 1;
                if self.steps > MAX_STEPS_PER_COMMAND {
                    self.incident(id, "loop", "the flow moved through too many nodes without waiting".into());
                    continue;
                }
                self.enter(id);
            }
            if self.state.status.is_closed() || !self.fire_inclusive_joins() {
                break;
            }
        }
        if self.state.status == CaseStatus::Active && self.state.tokens.is_empty() {
            let (outcome, archive) = (self.state.outcome.clone(), self.state.archive);
            self.close(CaseStatus::Completed, outcome, archive, None);
        }
    }

    // ---- entering nodes -----------------------------------------------------------------

    fn enter(&mut self, id: TokenId) {
        let Some(token) = self.state.token(id) else { return };
        let node = self.def.node(token.node);
        self.state.steps += 1;
        if let Some(guard) = &node.guard
            && let Err(e) = check_guard(self.flow(), self.state, node, guard)
        {
            let (code, message) = match e {
                GuardFailure::Violated(m) | GuardFailure::Eval(m) => ("guard-violated", m),
            };
            self.incident(id, code, message);
            return;
        }
        match &node.kind {
            NodeKind::Start(_) => self.leave(id),
            NodeKind::End(end) => self.end(id, node, end),
            NodeKind::UserTask(task) => self.enter_user_task(id, node, task),
            NodeKind::ServiceTask(task) => {
                let job = JobKey(self.state.alloc());
                self.state.jobs.push(JobState { key: job, token: id, node: node.idx, attempt: 1 });
                self.effects.push(Effect::CreateJob {
                    job,
                    node: node.idx,
                    job_type: task.job.clone(),
                    attempt: 1,
                    run_at: self.now(),
                    variables: self.state.variables.clone(),
                });
                self.set_wait(id, Wait::Job(job));
                self.arm_boundaries(id, node);
            }
            NodeKind::Publication(publication) => {
                let key = PublicationKey(self.state.alloc());
                let Some(due) = self.start_deadline(id, &publication.deadline) else { return };
                self.effects.push(Effect::OpenPublication {
                    publication: key,
                    node: node.idx,
                    category: publication.category.clone(),
                    due,
                });
                self.set_wait(id, Wait::Publication(key));
                self.arm_boundaries(id, node);
            }
            NodeKind::Exclusive(gateway) if gateway.branches.is_empty() => self.leave(id),
            NodeKind::Exclusive(gateway) => match self.choose(gateway, true) {
                Ok(targets) => self.move_to(id, targets[0]),
                Err(message) => self.incident(id, "no-branch", message),
            },
            NodeKind::Inclusive(gateway) => {
                if self.def.incoming[node.idx.get()] > 1 {
                    self.set_wait(id, Wait::Join);
                } else {
                    self.split_inclusive(id, gateway);
                }
            }
            NodeKind::Parallel => self.enter_parallel(id, node),
            NodeKind::EventBased => {
                let options: Vec<NodeIdx> = node.next.iter().map(|t| t.idx).collect();
                for &option in &options {
                    if let NodeKind::TimerCatch(timer) = &self.def.node(option).kind
                        && self.arm_timer(id, timer, TimerPurpose::Catch { token: id, node: option }).is_none()
                    {
                        return;
                    }
                }
                self.set_wait(id, Wait::EventGate(options));
            }
            NodeKind::TimerCatch(timer) => {
                if self.arm_timer(id, timer, TimerPurpose::Catch { token: id, node: node.idx }).is_some() {
                    self.set_wait(id, Wait::Timer);
                }
            }
            NodeKind::MessageCatch(catch) => self.set_wait(id, Wait::Message(catch.message.clone())),
            NodeKind::Call(call) => {
                let key = CallKey(self.state.alloc());
                let variables: Variables = call
                    .inputs
                    .iter()
                    .filter_map(|name| self.state.variables.get(name).map(|v| (name.clone(), v.clone())))
                    .collect();
                let version = match call.version {
                    VersionPolicy::Latest => None,
                    VersionPolicy::Pinned(v) => Some(v),
                };
                self.effects.push(Effect::StartCall {
                    call: key,
                    node: node.idx,
                    flow: call.flow.name.clone(),
                    version,
                    variables,
                });
                self.set_wait(id, Wait::Call(key));
                self.arm_boundaries(id, node);
            }
            NodeKind::Escalation(esc) => {
                self.effects.push(Effect::Escalate {
                    node: node.idx,
                    to: Some(esc.to.clone()),
                    code: esc.code.clone(),
                });
                self.leave(id);
            }
        }
    }

    fn set_wait(&mut self, id: TokenId, wait: Wait) {
        if let Some(t) = self.token_mut(id) {
            t.wait = wait;
        }
    }

    fn end(&mut self, id: TokenId, node: &Node, end: &EndEvent) {
        self.remove_token(id);
        match &end.result {
            EndResult::None => {
                self.record_end(end);
            }
            EndResult::Terminate => {
                self.clear_all();
                self.close(CaseStatus::Terminated, end.outcome.clone(), end.archive, None);
            }
            EndResult::Error(code) => {
                self.clear_all();
                self.close(CaseStatus::Failed, end.outcome.clone(), end.archive, Some(code.clone()));
            }
            EndResult::Escalation(code) => {
                self.effects.push(Effect::Escalate { node: node.idx, to: None, code: Some(code.clone()) });
                self.record_end(end);
            }
        }
    }

    /// Remembers what an end event reached says about the case: its outcome (the last one
    /// reached wins) and whether to archive it (any end event asking for it).
    fn record_end(&mut self, end: &EndEvent) {
        if end.outcome.is_some() {
            self.state.outcome = end.outcome.clone();
        }
        self.state.archive |= end.archive;
    }

    fn enter_user_task(&mut self, id: TokenId, node: &Node, task: &UserTask) {
        let due = match &task.deadline {
            Some(spec) => match self.start_deadline(id, spec) {
                Some(due) => Some(due),
                None => return,
            },
            None => None,
        };
        let count = task.multi.as_ref().map(|m| m.count).unwrap_or(1);
        for instance in 0..count {
            let key = TaskKey(self.state.alloc());
            self.state.tasks.push(TaskState {
                key,
                token: id,
                node: node.idx,
                instance,
                assignee: task.assignee.clone(),
                escalated_to: Vec::new(),
                escalation: None,
                ruling: None,
                records: Vec::new(),
            });
            self.effects.push(Effect::CreateTask {
                task: key,
                node: node.idx,
                instance,
                candidates: task.candidates.clone(),
                assignee: task.assignee.clone(),
                priority: task.priority,
                due,
            });
        }
        self.set_wait(id, Wait::Tasks);
        self.arm_boundaries(id, node);
    }

    fn enter_parallel(&mut self, id: TokenId, node: &Node) {
        let incoming = self.def.incoming[node.idx.get()];
        if incoming > 1 {
            let waiting: Vec<TokenId> = self
                .state
                .tokens
                .iter()
                .filter(|t| t.node == node.idx && t.wait == Wait::Join && t.id != id)
                .map(|t| t.id)
                .collect();
            if (waiting.len() as u32) + 1 < incoming {
                self.set_wait(id, Wait::Join);
                return;
            }
            for other in waiting.into_iter().take(incoming as usize - 1) {
                self.remove_token(other);
            }
        }
        self.leave(id);
    }

    /// The targets of an exclusive (first that holds) or inclusive (all that hold) gateway,
    /// the default when none holds.
    fn choose(&self, gateway: &Gateway, first_only: bool) -> Result<Vec<NodeIdx>, String> {
        let mut targets = Vec::new();
        for branch in &gateway.branches {
            let Some(when) = &branch.when else { continue };
            match eval::condition(self.flow(), self.state, when) {
                Ok(true) => {
                    targets.push(branch.target.idx);
                    if first_only {
                        break;
                    }
                }
                Ok(false) => {}
                Err(e) => return Err(e.0),
            }
        }
        if targets.is_empty() {
            match gateway.default_branch() {
                Some(b) => targets.push(b.target.idx),
                None => return Err("no branch condition holds and there is no default".into()),
            }
        }
        Ok(targets)
    }

    fn split_inclusive(&mut self, id: TokenId, gateway: &Gateway) {
        if gateway.branches.is_empty() {
            self.leave(id);
            return;
        }
        match self.choose(gateway, false) {
            Ok(targets) => {
                self.move_to(id, targets[0]);
                for &t in &targets[1..] {
                    self.spawn(t);
                }
            }
            Err(message) => self.incident(id, "no-branch", message),
        }
    }

    /// Fires every inclusive join no other token can still reach. Returns whether any fired.
    fn fire_inclusive_joins(&mut self) -> bool {
        let mut fired = false;
        let waiting: Vec<(TokenId, NodeIdx)> = self
            .state
            .tokens
            .iter()
            .filter(|t| t.wait == Wait::Join && matches!(self.def.node(t.node).kind, NodeKind::Inclusive(_)))
            .map(|t| (t.id, t.node))
            .collect();
        let mut done: Vec<NodeIdx> = Vec::new();
        for (id, join) in waiting {
            if done.contains(&join) {
                continue;
            }
            let blocked = self
                .state
                .tokens
                .iter()
                .any(|t| !(t.node == join && t.wait == Wait::Join) && self.def.can_reach(t.node, join));
            if blocked {
                continue;
            }
            done.push(join);
            let others: Vec<TokenId> = self
                .state
                .tokens
                .iter()
                .filter(|t| t.node == join && t.wait == Wait::Join && t.id != id)
                .map(|t| t.id)
                .collect();
            for other in others {
                self.remove_token(other);
            }
            if let NodeKind::Inclusive(gateway) = &self.def.node(join).kind {
                self.split_inclusive(id, gateway);
            }
            fired = true;
        }
        fired
    }

    // ---- guards -------------------------------------------------------------------------

    // ---- timers and deadlines -----------------------------------------------------------

    /// When a timer armed now fires.
    fn timer_due(&self, timer: &Timer) -> Result<Timestamp, String> {
        timer.due_after(self.now(), self.env.calendar)
    }

    /// Arms a timer for a token; on failure raises an incident and returns `None`.
    pub(crate) fn arm_timer(&mut self, id: TokenId, timer: &Timer, purpose: TimerPurpose) -> Option<TimerKey> {
        match self.timer_due(timer) {
            Ok(due) => Some(self.schedule(due, purpose)),
            Err(message) => {
                self.incident(id, "timer", message);
                None
            }
        }
    }

    pub(crate) fn schedule(&mut self, due: Timestamp, purpose: TimerPurpose) -> TimerKey {
        let key = TimerKey(self.state.alloc());
        self.state.timers.push(TimerState { key, due, purpose: purpose.clone() });
        self.effects.push(Effect::ScheduleTimer { timer: key, due, purpose });
        key
    }

    fn arm_boundaries(&mut self, id: TokenId, node: &Node) {
        for (i, b) in node.boundary.iter().enumerate() {
            if let BoundaryTrigger::Timer(timer) = &b.trigger {
                self.arm_timer(id, timer, TimerPurpose::Boundary { token: id, boundary: i as u32 });
            }
        }
    }

    /// Re-arms a non-interrupting cycle boundary timer after it fired.
    pub(crate) fn rearm_boundary(&mut self, id: TokenId, node: &Node, boundary: u32) {
        if let Some(b) = node.boundary.get(boundary as usize)
            && let BoundaryTrigger::Timer(timer @ Timer { spec: TimerSpec::Cycle { .. }, .. }) = &b.trigger
        {
            self.arm_timer(id, timer, TimerPurpose::Boundary { token: id, boundary });
        }
    }

    /// Starts a deadline clock on a token and arms its ladder; returns the due instant.
    fn start_deadline(&mut self, id: TokenId, spec: &DeadlineSpec) -> Option<Timestamp> {
        let clock = DeadlineClock::start(spec.clone(), self.now());
        let due = self.arm_ladder(id, &clock, &[])?;
        if let Some(t) = self.token_mut(id) {
            t.deadline = Some(clock);
        }
        Some(due)
    }

    /// Arms the ladder steps of a clock that have not fired yet; returns the due instant.
    pub(crate) fn arm_ladder(&mut self, id: TokenId, clock: &DeadlineClock, fired: &[u32]) -> Option<Timestamp> {
        let Some(calendar) = self.env.calendar else {
            self.incident(id, "calendar", "the flow has no calendar for its deadlines".into());
            return None;
        };
        let dates = clock.due_instant(calendar).and_then(|due| Ok((due, clock.ladder_instants(calendar)?)));
        let (due, ladder) = match dates {
            Ok(d) => d,
            Err(e) => {
                self.incident(id, "calendar", e.to_string());
                return None;
            }
        };
        for (step, at) in ladder {
            if !fired.contains(&(step as u32)) {
                self.schedule(at, TimerPurpose::Ladder { token: id, step: step as u32 });
            }
        }
        due
    }

    /// Acts on a ladder step that came due.
    pub(crate) fn ladder_step(&mut self, id: TokenId, step: u32) {
        let Some(token) = self.state.token(id) else { return };
        let Some(clock) = &token.deadline else { return };
        let Some(rung) = clock.spec.ladder.get(step as usize).cloned() else { return };
        let tasks: Vec<TaskKey> = self.state.tasks.iter().filter(|t| t.token == id).map(|t| t.key).collect();
        if rung.action == LadderAction::EscalateTo {
            for t in self.state.tasks.iter_mut().filter(|t| t.token == id) {
                if !t.escalated_to.contains(&rung.to) {
                    t.escalated_to.push(rung.to.clone());
                }
            }
        }
        if let Some(t) = self.token_mut(id) {
            t.ladder_fired.push(step);
        }
        if tasks.is_empty() {
            self.effects.push(Effect::Ladder { token: id, task: None, action: rung.action, to: rung.to });
        } else {
            for task in tasks {
                self.effects.push(Effect::Ladder {
                    token: id,
                    task: Some(task),
                    action: rung.action,
                    to: rung.to.clone(),
                });
            }
        }
    }

    // ---- clearing -----------------------------------------------------------------------

    /// Cancels everything a token waits for: tasks, timers, jobs, calls, incidents.
    pub(crate) fn clear_token(&mut self, id: TokenId) {
        let timers: Vec<TimerKey> =
            self.state.timers.iter().filter(|t| timer_token(&t.purpose) == id).map(|t| t.key).collect();
        for timer in timers {
            self.cancel_timer(timer);
        }
        let tasks: Vec<TaskKey> = self.state.tasks.iter().filter(|t| t.token == id).map(|t| t.key).collect();
        for task in tasks {
            self.state.tasks.retain(|t| t.key != task);
            self.effects.push(Effect::CancelTask { task });
        }
        let jobs: Vec<JobKey> = self.state.jobs.iter().filter(|j| j.token == id).map(|j| j.key).collect();
        for job in jobs {
            self.state.jobs.retain(|j| j.key != job);
            self.effects.push(Effect::CancelJob { job });
        }
        if let Some(Wait::Call(call)) = self.state.token(id).map(|t| t.wait.clone()) {
            self.effects.push(Effect::CancelCall { call });
        }
        self.state.incidents.retain(|i| i.token != id);
    }

    pub(crate) fn cancel_timer(&mut self, key: TimerKey) {
        self.state.timers.retain(|t| t.key != key);
        if self.state.status != CaseStatus::Suspended {
            self.effects.push(Effect::CancelTimer { timer: key });
        }
    }

    /// Clears every token (terminate, cancel, error end).
    pub(crate) fn clear_all(&mut self) {
        let ids: Vec<TokenId> = self.state.tokens.iter().map(|t| t.id).collect();
        for id in ids {
            self.clear_token(id);
        }
        self.state.tokens.clear();
        self.ready.clear();
    }

    pub(crate) fn close(
        &mut self,
        status: CaseStatus,
        outcome: Option<String>,
        archive: bool,
        error_code: Option<String>,
    ) {
        self.state.status = status;
        self.effects.push(Effect::CloseCase { status, outcome, archive, error_code });
    }

    /// Stops a token with an incident.
    pub(crate) fn incident(&mut self, id: TokenId, code: &str, message: String) {
        let Some(token) = self.state.token(id) else { return };
        let node = token.node;
        let key = IncidentKey(self.state.alloc());
        self.state.incidents.push(IncidentState {
            key,
            token: id,
            node,
            code: code.to_owned(),
            message: message.clone(),
        });
        self.set_wait(id, Wait::Incident(key));
        self.effects.push(Effect::RaiseIncident { incident: key, node, code: code.to_owned(), message });
    }
}

/// Why a guard refuses.
pub(crate) enum GuardFailure {
    /// The required outcome is missing.
    Violated(String),
    /// The guard's condition could not be evaluated.
    Eval(String),
}

/// The token a timer belongs to.
pub(crate) fn timer_token(purpose: &TimerPurpose) -> TokenId {
    match purpose {
        TimerPurpose::Catch { token, .. }
        | TimerPurpose::Boundary { token, .. }
        | TimerPurpose::Ladder { token, .. }
        | TimerPurpose::JobRetry { token, .. } => *token,
    }
}

/// Checks a node's compliance guard against a case.
pub(crate) fn check_guard(flow: &Flow, state: &CaseState, node: &Node, guard: &Guard) -> Result<(), GuardFailure> {
    let applies = match &guard.when {
        Some(when) => eval::condition(flow, state, when).map_err(|e| GuardFailure::Eval(e.0))?,
        None => true,
    };
    let satisfied = state.outcomes.get(&guard.requires.name).and_then(|v| v.as_str()) == Some(guard.outcome.as_str());
    if applies && !satisfied {
        return Err(GuardFailure::Violated(format!(
            "`{}` requires `{}` to have outcome `{}`{}",
            node.id,
            guard.requires.name,
            guard.outcome,
            guard.when.as_ref().map(|w| format!(" when `{}`", w.source)).unwrap_or_default()
        )));
    }
    Ok(())
}
