//! Task commands: claim, unclaim, delegate, attach a record, complete.
//!
//! Authorization that belongs to the case lives here, not in the API: only candidates
//! claim, only the assignee completes, separation of duties holds.

use super::command::{Actor, Completion, RecordRef};
use super::effect::Effect;
use super::error::TransitionError;
use super::ids::TaskKey;
use super::machine::{GuardFailure, Machine, check_guard};
use super::state::{Escalation, TaskState, Vote};
use crate::model::{Completion as Rule, NodeKind, UserTask};

impl<'a> Machine<'a, '_> {
    fn open_task(&self, key: TaskKey) -> Result<(&TaskState, &'a UserTask), TransitionError> {
        let task = self.state.task(key).ok_or(TransitionError::TaskNotFound(key))?;
        let def: &'a super::Definition = self.def;
        match &def.node(task.node).kind {
            NodeKind::UserTask(spec) => Ok((task, spec)),
            _ => Err(TransitionError::TaskNotFound(key)),
        }
    }

    fn task_mut(&mut self, key: TaskKey) -> Option<&mut TaskState> {
        self.state.tasks.iter_mut().find(|t| t.key == key)
    }

    fn is_candidate(task: &TaskState, spec: &UserTask, actor: &Actor) -> bool {
        let open_to_all =
            spec.assignee.is_none() && spec.candidates.users.is_empty() && spec.candidates.groups.is_empty();
        open_to_all
            || spec.assignee.as_deref() == Some(actor.user.as_str())
            || spec.candidates.users.contains(&actor.user)
            || actor.groups.iter().any(|g| spec.candidates.groups.contains(g) || task.escalated_to.contains(g))
    }

    /// Separation of duties: performers of `separate_from` nodes, and (for distinct
    /// multi-instance tasks) performers of the token's other instances, may not take it.
    fn check_separation(&self, task: &TaskState, spec: &UserTask, actor: &Actor) -> Result<(), TransitionError> {
        let refuse =
            |reason: String| TransitionError::SeparationOfDuties { task: task.key, user: actor.user.clone(), reason };
        for other in &spec.separate_from {
            if self.state.performers.get(&other.name).is_some_and(|users| users.contains(&actor.user)) {
                return Err(refuse(format!("worked on `{}` of this case", other.name)));
            }
        }
        if spec.multi.as_ref().is_some_and(|m| m.distinct_assignees) {
            let token = self.state.token(task.token);
            let voted = token.is_some_and(|t| t.votes.iter().any(|v| v.user == actor.user));
            let holds_sibling = self.state.tasks.iter().any(|t| {
                t.token == task.token && t.key != task.key && t.assignee.as_deref() == Some(actor.user.as_str())
            });
            if voted || holds_sibling {
                return Err(refuse("already works on another instance of this task".into()));
            }
        }
        Ok(())
    }

    pub(crate) fn claim(&mut self, key: TaskKey, actor: Actor) -> Result<(), TransitionError> {
        let (task, spec) = self.open_task(key)?;
        match &task.assignee {
            Some(a) if *a == actor.user => return Ok(()),
            Some(a) => return Err(TransitionError::AlreadyClaimed { task: key, assignee: a.clone() }),
            None => {}
        }
        if !Self::is_candidate(task, spec, &actor) {
            return Err(TransitionError::NotCandidate { task: key, user: actor.user });
        }
        self.check_separation(task, spec, &actor)?;
        self.assign(key, Some(actor.user));
        Ok(())
    }

    fn assign(&mut self, key: TaskKey, assignee: Option<String>) {
        if let Some(t) = self.task_mut(key) {
            t.assignee = assignee.clone();
        }
        self.effects.push(Effect::AssignTask { task: key, assignee });
    }

    fn require_assignee(task: &TaskState, actor: &Actor) -> Result<(), TransitionError> {
        if task.assignee.as_deref() == Some(actor.user.as_str()) {
            Ok(())
        } else {
            Err(TransitionError::NotAssignee { task: task.key })
        }
    }

    pub(crate) fn unclaim(&mut self, key: TaskKey, actor: Actor) -> Result<(), TransitionError> {
        let (task, _) = self.open_task(key)?;
        Self::require_assignee(task, &actor)?;
        self.assign(key, None);
        Ok(())
    }

    pub(crate) fn delegate(&mut self, key: TaskKey, actor: Actor, to: String) -> Result<(), TransitionError> {
        let (task, spec) = self.open_task(key)?;
        Self::require_assignee(task, &actor)?;
        let delegate = Actor { user: to.clone(), groups: Vec::new() };
        self.check_separation(task, spec, &delegate)?;
        self.assign(key, Some(to));
        Ok(())
    }

    pub(crate) fn assign_to(&mut self, key: TaskKey, actor: Actor, to: String) -> Result<(), TransitionError> {
        let (task, spec) = self.open_task(key)?;
        if let Some(escalation) = &task.escalation {
            return Err(TransitionError::TaskEscalated { task: key, to: escalation.to.clone() });
        }
        let _ = actor; // who may assign is the access policy's question; the case records who did
        let assignee = Actor { user: to.clone(), groups: Vec::new() };
        self.check_separation(task, spec, &assignee)?;
        self.assign(key, Some(to));
        Ok(())
    }

    pub(crate) fn escalate_task(
        &mut self,
        key: TaskKey,
        actor: Actor,
        to: String,
        reason: String,
    ) -> Result<(), TransitionError> {
        let (task, _) = self.open_task(key)?;
        Self::require_assignee(task, &actor)?;
        if let Some(escalation) = &task.escalation {
            return Err(TransitionError::TaskEscalated { task: key, to: escalation.to.clone() });
        }
        if to.trim().is_empty() || reason.trim().is_empty() {
            return Err(TransitionError::BadVariable {
                name: if to.trim().is_empty() { "to" } else { "reason" }.into(),
                reason: "must not be empty".into(),
            });
        }
        let now = self.env.now;
        if let Some(t) = self.task_mut(key) {
            t.escalation = Some(Escalation { by: actor.user.clone(), to: to.clone(), reason: reason.clone(), at: now });
            t.ruling = None;
        }
        self.effects.push(Effect::EscalateTask { task: key, to, by: actor.user, reason });
        Ok(())
    }

    pub(crate) fn resolve_escalation(
        &mut self,
        key: TaskKey,
        actor: Actor,
        outcome: Option<String>,
        note: String,
    ) -> Result<(), TransitionError> {
        let (task, spec) = self.open_task(key)?;
        let Some(escalation) = &task.escalation else { return Err(TransitionError::NotEscalated(key)) };
        if !actor.groups.contains(&escalation.to) {
            return Err(TransitionError::NotEscalationResolver {
                task: key,
                user: actor.user,
                to: escalation.to.clone(),
            });
        }
        if actor.user == escalation.by || task.assignee.as_deref() == Some(actor.user.as_str()) {
            return Err(TransitionError::SeparationOfDuties {
                task: key,
                user: actor.user,
                reason: "a party to the disagreement may not rule on it".into(),
            });
        }
        if outcome.is_some() {
            check_outcome(spec, outcome.as_deref())?;
        }
        let from = &escalation.to;
        let release =
            (!spec.candidates.groups.contains(from) && !task.escalated_to.contains(from)).then(|| from.clone());
        if let Some(t) = self.task_mut(key) {
            t.escalation = None;
            t.ruling = outcome.clone();
        }
        self.effects.push(Effect::ResolveEscalation { task: key, release, by: actor.user, outcome, note });
        Ok(())
    }

    pub(crate) fn attach_record(
        &mut self,
        key: TaskKey,
        actor: Actor,
        record: RecordRef,
    ) -> Result<(), TransitionError> {
        let (task, _) = self.open_task(key)?;
        Self::require_assignee(task, &actor)?;
        if let Some(t) = self.task_mut(key) {
            t.records.push(record.clone());
        }
        self.effects.push(Effect::AttachRecord { task: key, record });
        Ok(())
    }

    pub(crate) fn complete(
        &mut self,
        key: TaskKey,
        actor: Actor,
        completion: Completion,
    ) -> Result<(), TransitionError> {
        let (task, spec) = self.open_task(key)?;
        if let Some(escalation) = &task.escalation {
            return Err(TransitionError::TaskEscalated { task: key, to: escalation.to.clone() });
        }
        match &task.assignee {
            Some(_) => Self::require_assignee(task, &actor)?,
            None if Self::is_candidate(task, spec, &actor) => {}
            None => return Err(TransitionError::NotCandidate { task: key, user: actor.user }),
        }
        self.check_separation(task, spec, &actor)?;
        check_outcome(spec, completion.outcome.as_deref())?;
        if let Some(ruled) = &task.ruling
            && completion.outcome.as_deref() != Some(ruled.as_str())
        {
            return Err(TransitionError::BadOutcome(format!("the escalation ruled `{ruled}`; complete with it")));
        }
        self.check_form(spec, &completion)?;
        check_checklist(spec, &completion)?;
        let missing: Vec<String> = spec
            .required_records
            .iter()
            .filter(|kind| !task.records.iter().chain(&completion.records).any(|r| &r.kind == *kind))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(TransitionError::MissingRecords(missing));
        }
        let (token_id, node_idx) = (task.token, task.node);
        let def: &'a super::Definition = self.def;
        let node = def.node(node_idx);

        // From here on the case changes; the only refusal left is the guard, checked with
        // the completion's variables in place and undone if it refuses.
        let previous: Vec<(String, Option<serde_json::Value>)> = completion
            .variables
            .into_iter()
            .map(|(name, value)| {
                let old = self.state.variables.insert(name.clone(), value);
                (name, old)
            })
            .collect();
        if let Some(guard) = &node.guard
            && let Err(GuardFailure::Violated(_) | GuardFailure::Eval(_)) =
                check_guard(&def.flow, self.state, node, guard)
        {
            for (name, old) in previous {
                match old {
                    Some(v) => self.state.variables.insert(name, v),
                    None => self.state.variables.remove(&name),
                };
            }
            return Err(TransitionError::GuardViolated {
                node: node.id.clone(),
                requires: guard.requires.name.clone(),
                outcome: guard.outcome.clone(),
            });
        }

        let position = self.state.tasks.iter().position(|t| t.key == key).ok_or(TransitionError::TaskNotFound(key))?;
        // Records attached earlier were written when they were attached.
        self.state.tasks.remove(position);
        self.effects.push(Effect::CompleteTask {
            task: key,
            by: actor.user.clone(),
            outcome: completion.outcome.clone(),
            records: completion.records,
        });
        match self.state.performers.get_mut(&node.id) {
            Some(users) => users.push(actor.user.clone()),
            None => {
                self.state.performers.insert(node.id.clone(), vec![actor.user.clone()]);
            }
        }
        let Some(token) = self.token_mut(token_id) else { return Ok(()) };
        token.votes.push(Vote { user: actor.user, outcome: completion.outcome });
        let open = self.state.tasks.iter().filter(|t| t.token == token_id).count();
        let votes = &self.state.token(token_id).map(|t| t.votes.as_slice()).unwrap_or_default();
        if let Some(outcome) = decide(spec, votes, open) {
            if let Some(outcome) = outcome {
                self.state.outcomes.insert(node.id.clone(), serde_json::Value::String(outcome));
            }
            self.clear_token(token_id);
            self.leave(token_id);
            self.run();
        }
        Ok(())
    }

    /// A task writes only the variables of its form: what a step may change is declared in
    /// the flow, which is also what lets the validator reason about guards.
    fn check_form(&self, spec: &UserTask, completion: &Completion) -> Result<(), TransitionError> {
        for field in spec.form.iter().filter(|f| f.required) {
            if !completion.variables.contains_key(&field.var) {
                return Err(TransitionError::BadVariable {
                    name: field.var.clone(),
                    reason: "required by the form".into(),
                });
            }
        }
        if let Some(name) = completion.variables.keys().find(|name| !spec.form.iter().any(|f| &f.var == *name)) {
            let reason = if self.flow().variable(name).is_some() {
                "not in this task's form"
            } else {
                "not declared by the flow"
            };
            return Err(TransitionError::BadVariable { name: name.clone(), reason: reason.into() });
        }
        self.check_variables(&completion.variables)
    }

    /// Every variable must be declared and of its declared type.
    pub(crate) fn check_variables(&self, variables: &super::command::Variables) -> Result<(), TransitionError> {
        for (name, value) in variables {
            let decl = self.flow().variable(name).ok_or_else(|| TransitionError::BadVariable {
                name: name.clone(),
                reason: "not declared by the flow".into(),
            })?;
            if !decl.ty.admits(value) {
                return Err(TransitionError::BadVariable {
                    name: name.clone(),
                    reason: format!("must be a {}", decl.ty.as_str()),
                });
            }
        }
        Ok(())
    }
}

fn check_outcome(spec: &UserTask, outcome: Option<&str>) -> Result<(), TransitionError> {
    match outcome {
        None if spec.outcomes.is_empty() => Ok(()),
        None => Err(TransitionError::BadOutcome(format!("choose one of: {}", spec.outcomes.join(", ")))),
        Some(o) if spec.outcomes.iter().any(|x| x == o) => Ok(()),
        Some(o) if spec.outcomes.is_empty() => {
            Err(TransitionError::BadOutcome(format!("this task takes no outcome, got `{o}`")))
        }
        Some(o) => Err(TransitionError::BadOutcome(format!("`{o}` is not one of: {}", spec.outcomes.join(", ")))),
    }
}

fn check_checklist(spec: &UserTask, completion: &Completion) -> Result<(), TransitionError> {
    let unmet: Vec<String> = spec
        .checklist
        .iter()
        .filter(|item| item.required && completion.checklist.get(&item.id) != Some(&true))
        .map(|item| item.id.clone())
        .collect();
    if unmet.is_empty() { Ok(()) } else { Err(TransitionError::ChecklistIncomplete(unmet)) }
}

/// Whether a (multi-instance) task is done after a completion, and with which outcome.
/// `Some(outcome)` when done; `None` while instances remain to be completed.
fn decide(spec: &UserTask, votes: &[Vote], open: usize) -> Option<Option<String>> {
    let last = votes.last().and_then(|v| v.outcome.clone());
    let Some(multi) = &spec.multi else { return Some(last) };
    let total = multi.count as usize;
    match multi.completion {
        Rule::All => (open == 0).then(|| majority(votes, total).or(last)),
        Rule::Any => Some(last),
        Rule::Majority => {
            if spec.outcomes.is_empty() {
                return (votes.len() * 2 > total).then_some(None);
            }
            match majority(votes, total) {
                Some(outcome) => Some(Some(outcome)),
                None if open == 0 => Some(Some("no_majority".to_owned())),
                None => None,
            }
        }
    }
}

/// The outcome chosen by more than half of `total`, if any.
fn majority(votes: &[Vote], total: usize) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in votes {
        if let Some(o) = v.outcome.as_deref() {
            match counts.iter_mut().find(|(x, _)| *x == o) {
                Some((_, n)) => *n += 1,
                None => counts.push((o, 1)),
            }
        }
    }
    counts.into_iter().find(|(_, n)| n * 2 > total).map(|(o, _)| o.to_owned())
}
