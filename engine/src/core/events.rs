//! Engine events and messages: timers, jobs, incidents, publications, sub-cases, messages,
//! and the boundary events they trigger.

use super::command::Variables;
use super::effect::{Effect, TimerPurpose};
use super::error::TransitionError;
use super::ids::*;
use super::machine::Machine;
use super::state::Wait;
use crate::model::{BoundaryTrigger, NodeIdx, NodeKind};
use crate::time::Timestamp;

impl Machine<'_, '_> {
    pub(crate) fn fire_timer(&mut self, key: TimerKey) -> Result<(), TransitionError> {
        // A timer that is no longer armed was cancelled after it was taken: a late event.
        let Some(timer) = self.state.timers.iter().find(|t| t.key == key).cloned() else { return Ok(()) };
        self.state.timers.retain(|t| t.key != key);
        match timer.purpose {
            TimerPurpose::Catch { token, node } => self.catch_fired(token, node),
            TimerPurpose::Boundary { token, boundary } => self.boundary_fired(token, boundary),
            TimerPurpose::Ladder { token, step } => self.ladder_step(token, step),
            TimerPurpose::JobRetry { job, .. } => self.retry_job(job),
        }
        self.run();
        Ok(())
    }

    /// A timer or message catch (standalone or an event-based gateway option) happened.
    fn catch_fired(&mut self, token: TokenId, node: NodeIdx) {
        let Some(t) = self.state.token(token) else { return };
        if matches!(t.wait, Wait::EventGate(_)) {
            self.clear_token(token);
            if let Some(t) = self.token_mut(token) {
                t.node = node;
            }
            self.state.steps += 1;
        }
        self.leave(token);
    }

    /// A boundary event of the activity a token is at happened.
    fn boundary_fired(&mut self, token: TokenId, boundary: u32) {
        let Some(t) = self.state.token(token) else { return };
        let node = self.def.node(t.node);
        let Some(b) = node.boundary.get(boundary as usize) else { return };
        if b.interrupting {
            self.clear_token(token);
            self.move_to(token, b.target.idx);
        } else {
            self.spawn(b.target.idx);
            self.rearm_boundary(token, node, boundary);
        }
    }

    /// The first boundary event of the token's node that `matches`.
    fn find_boundary(&self, token: TokenId, matches: impl Fn(&BoundaryTrigger) -> bool) -> Option<u32> {
        let t = self.state.token(token)?;
        self.def.node(t.node).boundary.iter().position(|b| matches(&b.trigger)).map(|i| i as u32)
    }

    fn retry_job(&mut self, job: JobKey) {
        let Some(state) = self.state.jobs.iter().find(|j| j.key == job).cloned() else { return };
        let NodeKind::ServiceTask(task) = &self.def.node(state.node).kind else { return };
        self.effects.push(Effect::CreateJob {
            job,
            node: state.node,
            job_type: task.job.clone(),
            attempt: state.attempt,
            run_at: self.env.now,
            variables: self.state.variables.clone(),
        });
    }

    pub(crate) fn job_succeeded(&mut self, job: JobKey, variables: Variables) -> Result<(), TransitionError> {
        let Some(state) = self.state.jobs.iter().find(|j| j.key == job).cloned() else { return Ok(()) };
        self.check_variables(&variables)?;
        self.state.variables.extend(variables);
        self.state.jobs.retain(|j| j.key != job);
        self.clear_token(state.token);
        self.leave(state.token);
        self.run();
        Ok(())
    }

    pub(crate) fn job_failed(
        &mut self,
        job: JobKey,
        message: String,
        error_code: Option<String>,
    ) -> Result<(), TransitionError> {
        let Some(state) = self.state.jobs.iter().find(|j| j.key == job).cloned() else { return Ok(()) };
        let NodeKind::ServiceTask(task) = &self.def.node(state.node).kind else { return Ok(()) };
        if let Some(code) = error_code {
            let caught = self.find_boundary(
                state.token,
                |t| matches!(t, BoundaryTrigger::Error(c) if c.as_ref().is_none_or(|c| *c == code)),
            );
            match caught {
                Some(b) => self.boundary_fired(state.token, b),
                None => {
                    self.state.jobs.retain(|j| j.key != job);
                    self.incident(state.token, "job-error", format!("error `{code}` not caught: {message}"));
                }
            }
        } else if state.attempt <= task.retries {
            let delay = task.backoff.delay_millis(state.attempt);
            if let Some(j) = self.state.jobs.iter_mut().find(|j| j.key == job) {
                j.attempt += 1;
            }
            self.schedule(
                Timestamp(self.env.now.0.saturating_add(delay)),
                TimerPurpose::JobRetry { job, token: state.token },
            );
        } else {
            self.state.jobs.retain(|j| j.key != job);
            self.incident(
                state.token,
                "job-failed",
                format!("retries exhausted after {} attempts: {message}", state.attempt),
            );
        }
        self.run();
        Ok(())
    }

    pub(crate) fn retry_incident(&mut self, key: IncidentKey) -> Result<(), TransitionError> {
        let incident = self
            .state
            .incidents
            .iter()
            .find(|i| i.key == key)
            .cloned()
            .ok_or(TransitionError::IncidentNotFound(key))?;
        self.state.incidents.retain(|i| i.key != key);
        self.effects.push(Effect::ResolveIncident { incident: key });
        // The token enters its node again: a service task gets a fresh job with its retries,
        // a gateway or guard is evaluated again.
        self.move_to(incident.token, incident.node);
        self.run();
        Ok(())
    }

    pub(crate) fn published(&mut self, key: PublicationKey) -> Result<(), TransitionError> {
        let Some(token) = self.state.tokens.iter().find(|t| t.wait == Wait::Publication(key)).map(|t| t.id) else {
            return Ok(());
        };
        self.clear_token(token);
        self.leave(token);
        self.run();
        Ok(())
    }

    fn call_token(&self, call: CallKey) -> Option<TokenId> {
        self.state.tokens.iter().find(|t| t.wait == Wait::Call(call)).map(|t| t.id)
    }

    pub(crate) fn call_completed(
        &mut self,
        call: CallKey,
        outcome: Option<String>,
        variables: Variables,
    ) -> Result<(), TransitionError> {
        let Some(token) = self.call_token(call) else { return Ok(()) };
        let node = self.def.node(self.state.token(token).map(|t| t.node).unwrap_or(NodeIdx(0)));
        if let NodeKind::Call(spec) = &node.kind {
            for name in &spec.outputs {
                if let Some(v) = variables.get(name) {
                    self.state.variables.insert(name.clone(), v.clone());
                }
            }
        }
        if let Some(outcome) = outcome {
            self.state.outcomes.insert(node.id.clone(), serde_json::Value::String(outcome));
        }
        // The sub-case is over: nothing to cancel on its side.
        if let Some(t) = self.token_mut(token) {
            t.wait = Wait::Ready;
        }
        self.clear_token(token);
        self.leave(token);
        self.run();
        Ok(())
    }

    pub(crate) fn call_failed(&mut self, call: CallKey, code: String) -> Result<(), TransitionError> {
        let Some(token) = self.call_token(call) else { return Ok(()) };
        if let Some(t) = self.token_mut(token) {
            t.wait = Wait::Ready;
        }
        match self
            .find_boundary(token, |t| matches!(t, BoundaryTrigger::Error(c) if c.as_ref().is_none_or(|c| *c == code)))
        {
            Some(b) => self.boundary_fired(token, b),
            None => self.incident(token, "call-failed", format!("the sub-case failed with error `{code}`")),
        }
        self.run();
        Ok(())
    }

    pub(crate) fn call_escalated(&mut self, call: CallKey, code: String) -> Result<(), TransitionError> {
        let Some(token) = self.call_token(call) else { return Ok(()) };
        let caught = self.find_boundary(
            token,
            |t| matches!(t, BoundaryTrigger::Escalation(c) if c.as_ref().is_none_or(|c| *c == code)),
        );
        if let Some(b) = caught {
            self.boundary_fired(token, b);
            self.run();
        }
        Ok(())
    }

    /// Delivers a message to the first token waiting for it: a message catch, an
    /// event-based gateway option, or a message boundary event.
    pub(crate) fn correlate(&mut self, name: String, variables: Variables) -> Result<(), TransitionError> {
        self.check_variables(&variables)?;
        let mut target = None;
        for t in &self.state.tokens {
            match &t.wait {
                Wait::Message(m) if *m == name => target = Some((t.id, None, None)),
                Wait::EventGate(options) => {
                    let hit = options
                        .iter()
                        .copied()
                        .find(|o| matches!(&self.def.node(*o).kind, NodeKind::MessageCatch(c) if c.message == name));
                    if let Some(o) = hit {
                        target = Some((t.id, Some(o), None));
                    }
                }
                Wait::Tasks | Wait::Job(_) | Wait::Call(_) | Wait::Publication(_) => {
                    let node = self.def.node(t.node);
                    if let Some(b) = node
                        .boundary
                        .iter()
                        .position(|b| matches!(&b.trigger, BoundaryTrigger::Message(m) if *m == name))
                    {
                        target = Some((t.id, None, Some(b as u32)));
                    }
                }
                _ => {}
            }
            if target.is_some() {
                break;
            }
        }
        let (token, option, boundary) = target.ok_or(TransitionError::NoSubscription(name))?;
        self.state.variables.extend(variables);
        match (option, boundary) {
            (_, Some(b)) => self.boundary_fired(token, b),
            (Some(node), None) => self.catch_fired(token, node),
            (None, None) => self.leave(token),
        }
        self.run();
        Ok(())
    }
}
