//! Case lifecycle: start, suspend, resume, cancel; pausing and resuming deadline clocks.

use super::command::Variables;
use super::effect::{Effect, TimerPurpose};
use super::error::TransitionError;
use super::ids::TaskKey;
use super::machine::Machine;
use super::state::CaseStatus;
use crate::model::NodeKind;

impl Machine<'_, '_> {
    pub(crate) fn start(&mut self, at: Option<String>, mut variables: Variables) -> Result<(), TransitionError> {
        if self.state.status != CaseStatus::New {
            return Err(TransitionError::AlreadyStarted);
        }
        let entry = match at {
            None => self.flow().start.idx,
            Some(id) => match self.flow().node_by_id(&id) {
                Some(node) if matches!(node.kind, NodeKind::Start(_)) => node.idx,
                _ => return Err(TransitionError::NotAStartEvent(id)),
            },
        };
        self.check_variables(&variables)?;
        for decl in &self.flow().variables {
            if variables.contains_key(&decl.name) {
                continue;
            }
            match &decl.default {
                Some(v) => {
                    variables.insert(decl.name.clone(), v.clone());
                }
                None if decl.required => {
                    return Err(TransitionError::BadVariable {
                        name: decl.name.clone(),
                        reason: "required to start a case".into(),
                    });
                }
                None => {}
            }
        }
        self.state.variables = variables;
        self.state.status = CaseStatus::Active;
        self.spawn(entry);
        self.run();
        Ok(())
    }

    pub(crate) fn suspend(&mut self) -> Result<(), TransitionError> {
        if self.state.status != CaseStatus::Active {
            return Err(TransitionError::NotStarted);
        }
        for timer in &self.state.timers {
            self.effects.push(Effect::CancelTimer { timer: timer.key });
        }
        self.state.status = CaseStatus::Suspended;
        Ok(())
    }

    pub(crate) fn resume(&mut self) -> Result<(), TransitionError> {
        if self.state.status != CaseStatus::Suspended {
            return Err(TransitionError::NotSuspended);
        }
        // Timers that came due while suspended fire as soon as the store sees them.
        for timer in &self.state.timers {
            self.effects.push(Effect::ScheduleTimer {
                timer: timer.key,
                due: timer.due,
                purpose: timer.purpose.clone(),
            });
        }
        self.state.status = CaseStatus::Active;
        Ok(())
    }

    pub(crate) fn cancel(&mut self) -> Result<(), TransitionError> {
        let was_suspended = self.state.status == CaseStatus::Suspended;
        if was_suspended {
            // Suspended timers are already disarmed in the store.
            self.state.timers.clear();
        }
        self.clear_all();
        self.close(CaseStatus::Cancelled, None, false, None);
        Ok(())
    }

    fn deadline_token(&self, task: TaskKey) -> Result<super::ids::TokenId, TransitionError> {
        let t = self.state.task(task).ok_or(TransitionError::TaskNotFound(task))?;
        let token = self.state.token(t.token).ok_or(TransitionError::TaskNotFound(task))?;
        if token.deadline.is_none() {
            return Err(TransitionError::Deadline { task, reason: "the task has no deadline".into() });
        }
        Ok(token.id)
    }

    pub(crate) fn pause_deadline(&mut self, task: TaskKey, reason: String) -> Result<(), TransitionError> {
        let token = self.deadline_token(task)?;
        let now = self.env.now;
        let clock =
            self.token_mut(token).and_then(|t| t.deadline.as_mut()).ok_or(TransitionError::TaskNotFound(task))?;
        clock.pause(now, reason).map_err(|e| TransitionError::Deadline { task, reason: e.to_string() })?;
        let ladder: Vec<_> = self
            .state
            .timers
            .iter()
            .filter(|t| matches!(t.purpose, TimerPurpose::Ladder { token: tk, .. } if tk == token))
            .map(|t| t.key)
            .collect();
        for timer in ladder {
            self.cancel_timer(timer);
        }
        self.set_due(token, None);
        Ok(())
    }

    pub(crate) fn resume_deadline(&mut self, task: TaskKey) -> Result<(), TransitionError> {
        let token = self.deadline_token(task)?;
        let now = self.env.now;
        let t = self.state.token(token).ok_or(TransitionError::TaskNotFound(task))?;
        // Work on a copy of the clock: a refused command must leave the case as it was.
        let mut clock = t.deadline.clone().ok_or(TransitionError::TaskNotFound(task))?;
        let fired = t.ladder_fired.clone();
        clock.resume(now).map_err(|e| TransitionError::Deadline { task, reason: e.to_string() })?;
        let calendar = self.env.calendar.ok_or_else(|| TransitionError::Calendar("the flow has no calendar".into()))?;
        clock.ladder_instants(calendar).map_err(|e| TransitionError::Calendar(e.to_string()))?;
        let due = self.arm_ladder(token, &clock, &fired);
        if let Some(t) = self.token_mut(token) {
            t.deadline = Some(clock);
        }
        self.set_due(token, due);
        Ok(())
    }

    fn set_due(&mut self, token: super::ids::TokenId, due: Option<crate::time::Timestamp>) {
        let tasks: Vec<TaskKey> = self.state.tasks.iter().filter(|t| t.token == token).map(|t| t.key).collect();
        for task in tasks {
            self.effects.push(Effect::SetTaskDue { task, due });
        }
    }
}
