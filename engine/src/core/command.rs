//! Commands and events the core accepts. Commands come from people and integrations
//! (through the API); events come from the engine's own workers (timers, jobs, sub-cases).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::*;

/// Variables as JSON values, by name.
pub type Variables = BTreeMap<String, serde_json::Value>;

/// Who is acting: the user and the groups and roles they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User id.
    pub user: String,
    /// Groups and roles (`handler`, `legal_reviewer`, ...).
    pub groups: Vec<String>,
}

impl Actor {
    /// An actor with these groups.
    pub fn new(user: impl Into<String>, groups: &[&str]) -> Self {
        Actor { user: user.into(), groups: groups.iter().map(|g| (*g).to_owned()).collect() }
    }
}

/// A record of the process (text, audio/video, ...) attached to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    /// Its kind (`text`, `audio_video`, `photo`, ...), matched against required kinds.
    pub kind: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Where the content is stored.
    pub uri: String,
}

/// Completing a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The chosen outcome, when the task declares outcomes.
    pub outcome: Option<String>,
    /// Form variables.
    pub variables: Variables,
    /// Checklist answers by point id (true: the point is satisfied).
    pub checklist: BTreeMap<String, bool>,
    /// Records attached with the completion.
    pub records: Vec<RecordRef>,
}

/// What can happen to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Start the case at the flow's start node with these variables.
    Start {
        /// Initial variables; checked against the declarations, defaults filled in.
        variables: Variables,
    },
    /// Start the case at one of the flow's start events (a message or timer start event
    /// that fired) rather than at `start:`.
    StartAt {
        /// The start event's node id.
        node: String,
        /// Initial variables, as for [`Command::Start`].
        variables: Variables,
    },
    /// Take a task from a group inbox.
    Claim {
        /// The task.
        task: TaskKey,
        /// Who takes it.
        actor: Actor,
    },
    /// Put a claimed task back into the group inbox.
    Unclaim {
        /// The task.
        task: TaskKey,
        /// Its assignee (or a section chief / leader of a candidate group).
        actor: Actor,
    },
    /// Hand a task to another user.
    Delegate {
        /// The task.
        task: TaskKey,
        /// Its assignee.
        actor: Actor,
        /// The new assignee.
        to: String,
    },
    /// Give a task to a user on behalf of the section (a section chief or leader assigning
    /// work); unlike [`Command::Delegate`] the actor need not hold the task.
    Assign {
        /// The task.
        task: TaskKey,
        /// Who assigns it.
        actor: Actor,
        /// The new assignee.
        to: String,
    },
    /// The task's assignee disagrees (for example a legal reviewer and the case handler
    /// disagree on the review opinion) and escalates the task to a coordinating role; the task
    /// cannot be completed until the escalation is resolved.
    EscalateTask {
        /// The task.
        task: TaskKey,
        /// Its assignee.
        actor: Actor,
        /// The group that resolves it (`leader` in the shipped flows).
        to: String,
        /// What the disagreement is about.
        reason: String,
    },
    /// A member of the group a task was escalated to rules on it; the task goes back to its
    /// assignee, who must then complete it with the ruled outcome, if one was given.
    ResolveEscalation {
        /// The task.
        task: TaskKey,
        /// Who resolves it: a member of the group it was escalated to.
        actor: Actor,
        /// The outcome that stands, when the task has outcomes.
        outcome: Option<String>,
        /// The ruling, in words.
        note: String,
    },
    /// Attach a record to an open task.
    AttachRecord {
        /// The task.
        task: TaskKey,
        /// Who attaches it.
        actor: Actor,
        /// The record.
        record: RecordRef,
    },
    /// Complete a task.
    Complete {
        /// The task.
        task: TaskKey,
        /// Its assignee.
        actor: Actor,
        /// Outcome, variables, checklist and records.
        completion: Completion,
    },
    /// Deliver a message to the case.
    CorrelateMessage {
        /// The message name.
        name: String,
        /// Variables it carries.
        variables: Variables,
    },
    /// A timer is due.
    FireTimer {
        /// The timer.
        timer: TimerKey,
    },
    /// A job finished.
    JobSucceeded {
        /// The job.
        job: JobKey,
        /// Variables it produced.
        variables: Variables,
    },
    /// A job failed.
    JobFailed {
        /// The job.
        job: JobKey,
        /// What went wrong.
        message: String,
        /// A business error code, caught by an error boundary event; `None` for a
        /// technical failure, which is retried.
        error_code: Option<String>,
    },
    /// Retry the job or expression behind an incident.
    RetryIncident {
        /// The incident.
        incident: IncidentKey,
    },
    /// A decision was published.
    Published {
        /// The publication.
        publication: PublicationKey,
    },
    /// A sub-case completed.
    CallCompleted {
        /// The call.
        call: CallKey,
        /// The outcome its end event reported.
        outcome: Option<String>,
        /// Its variables (only the call's `outputs` are copied).
        variables: Variables,
    },
    /// A sub-case ended with an error.
    CallFailed {
        /// The call.
        call: CallKey,
        /// The error code.
        error_code: String,
    },
    /// A sub-case threw an escalation.
    CallEscalated {
        /// The call.
        call: CallKey,
        /// The escalation code.
        code: String,
    },
    /// Stop a task's deadline clock (hearing, testing, expert review: 行政许可法 art. 45).
    PauseDeadline {
        /// The task.
        task: TaskKey,
        /// Why.
        reason: String,
    },
    /// Restart a paused deadline clock.
    ResumeDeadline {
        /// The task.
        task: TaskKey,
    },
    /// Suspend the case: its timers stop and no task can be worked on.
    Suspend,
    /// Resume a suspended case.
    Resume,
    /// Cancel the case.
    Cancel {
        /// Why.
        reason: String,
    },
}

impl Command {
    /// The command's name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start { .. } => "start",
            Command::StartAt { .. } => "start_at",
            Command::Claim { .. } => "claim",
            Command::Unclaim { .. } => "unclaim",
            Command::Delegate { .. } => "delegate",
            Command::Assign { .. } => "assign",
            Command::EscalateTask { .. } => "escalate_task",
            Command::ResolveEscalation { .. } => "resolve_escalation",
            Command::AttachRecord { .. } => "attach_record",
            Command::Complete { .. } => "complete",
            Command::CorrelateMessage { .. } => "correlate_message",
            Command::FireTimer { .. } => "fire_timer",
            Command::JobSucceeded { .. } => "job_succeeded",
            Command::JobFailed { .. } => "job_failed",
            Command::RetryIncident { .. } => "retry_incident",
            Command::Published { .. } => "published",
            Command::CallCompleted { .. } => "call_completed",
            Command::CallFailed { .. } => "call_failed",
            Command::CallEscalated { .. } => "call_escalated",
            Command::PauseDeadline { .. } => "pause_deadline",
            Command::ResumeDeadline { .. } => "resume_deadline",
            Command::Suspend => "suspend",
            Command::Resume => "resume",
            Command::Cancel { .. } => "cancel",
        }
    }

    /// Events from the engine's own workers; a closed case ignores them instead of failing.
    pub fn is_engine_event(&self) -> bool {
        matches!(
            self,
            Command::FireTimer { .. }
                | Command::JobSucceeded { .. }
                | Command::JobFailed { .. }
                | Command::Published { .. }
                | Command::CallCompleted { .. }
                | Command::CallFailed { .. }
                | Command::CallEscalated { .. }
        )
    }
}
