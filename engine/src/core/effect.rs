//! Effects: what the store must do after a transition, as data. The core decides; the
//! store carries effects out in the same transaction that saves the new state.

use serde::{Deserialize, Serialize};

use super::command::{RecordRef, Variables};
use super::ids::*;
use crate::calendar::LadderAction;
use crate::model::{Candidates, NodeIdx};
use crate::time::Timestamp;

/// Why a timer exists, so the store can show it and the core can act when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerPurpose {
    /// A timer catch event or an event-based gateway option.
    Catch {
        /// The token waiting.
        token: TokenId,
        /// The node whose timer it is.
        node: NodeIdx,
    },
    /// A boundary timer of an activity.
    Boundary {
        /// The token at the activity.
        token: TokenId,
        /// Index of the boundary event on its node.
        boundary: u32,
    },
    /// A rung of a deadline's escalation ladder.
    Ladder {
        /// The task or publication token whose deadline it is.
        token: TokenId,
        /// Index of the ladder step.
        step: u32,
    },
    /// The wait before a job is retried.
    JobRetry {
        /// The job.
        job: JobKey,
        /// The token waiting for it.
        token: TokenId,
    },
}

/// What the store does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Put a task into inboxes.
    CreateTask {
        /// The task.
        task: TaskKey,
        /// Its node.
        node: NodeIdx,
        /// Which instance of a multi-instance task (0 otherwise).
        instance: u32,
        /// Who may claim it.
        candidates: Candidates,
        /// Fixed assignee, if any.
        assignee: Option<String>,
        /// Inbox priority.
        priority: i32,
        /// When it is due (end of the due day), if it has a deadline.
        due: Option<Timestamp>,
    },
    /// A task's assignee changed (claim, unclaim, delegate).
    AssignTask {
        /// The task.
        task: TaskKey,
        /// The new assignee; `None` puts it back into the group inbox.
        assignee: Option<String>,
    },
    /// A task was completed.
    CompleteTask {
        /// The task.
        task: TaskKey,
        /// Who completed it.
        by: String,
        /// The outcome chosen.
        outcome: Option<String>,
        /// Records attached with the completion (earlier ones came with
        /// [`Effect::AttachRecord`]).
        records: Vec<RecordRef>,
    },
    /// A record was attached to a task.
    AttachRecord {
        /// The task.
        task: TaskKey,
        /// The record.
        record: RecordRef,
    },
    /// A task's disagreement was escalated: it shows in the inbox of `to`.
    EscalateTask {
        /// The task.
        task: TaskKey,
        /// The group that rules on it.
        to: String,
        /// Who escalated it.
        by: String,
        /// What the disagreement is about.
        reason: String,
    },
    /// An escalation was resolved: the task leaves the ruling group's inbox.
    ResolveEscalation {
        /// The task.
        task: TaskKey,
        /// The group it had been escalated to, when the task leaves that group's inbox (it
        /// stays when the group is also a candidate of the task).
        release: Option<String>,
        /// Who ruled.
        by: String,
        /// The outcome that stands, if any.
        outcome: Option<String>,
        /// The ruling, in words.
        note: String,
    },
    /// Take a task out of inboxes without completion.
    CancelTask {
        /// The task.
        task: TaskKey,
    },
    /// A task's due date moved (its deadline clock was paused or resumed).
    SetTaskDue {
        /// The task.
        task: TaskKey,
        /// The new due instant; `None` while the clock is paused.
        due: Option<Timestamp>,
    },
    /// An escalation ladder step acted on a task or publication.
    Ladder {
        /// The token whose deadline it is.
        token: TokenId,
        /// The task, when the deadline is a task's.
        task: Option<TaskKey>,
        /// Remind, escalate or notify.
        action: LadderAction,
        /// The addressee: a role or `assignee`.
        to: String,
    },
    /// Arm a timer.
    ScheduleTimer {
        /// The timer.
        timer: TimerKey,
        /// When it fires.
        due: Timestamp,
        /// Why.
        purpose: TimerPurpose,
    },
    /// Disarm a timer.
    CancelTimer {
        /// The timer.
        timer: TimerKey,
    },
    /// Queue a job for a worker.
    CreateJob {
        /// The job.
        job: JobKey,
        /// Its service task node.
        node: NodeIdx,
        /// The job type.
        job_type: String,
        /// Attempt number, from 1.
        attempt: u32,
        /// Not before this instant.
        run_at: Timestamp,
        /// The case's variables at the time.
        variables: Variables,
    },
    /// Drop a queued or running job.
    CancelJob {
        /// The job.
        job: JobKey,
    },
    /// A token stopped and needs a person.
    RaiseIncident {
        /// The incident.
        incident: IncidentKey,
        /// Where.
        node: NodeIdx,
        /// A stable code: `job-failed`, `job-error`, `call-failed`, `no-branch`, `guard-violated`,
        /// `timer`, `calendar`, `loop`.
        code: String,
        /// What happened.
        message: String,
    },
    /// An incident was resolved by a retry.
    ResolveIncident {
        /// The incident.
        incident: IncidentKey,
    },
    /// A decision awaits publication.
    OpenPublication {
        /// The publication.
        publication: PublicationKey,
        /// The publication node.
        node: NodeIdx,
        /// `penalty`, `licensing` or `other`.
        category: String,
        /// The legal deadline.
        due: Timestamp,
    },
    /// Start a sub-case.
    StartCall {
        /// The call.
        call: CallKey,
        /// The call node.
        node: NodeIdx,
        /// The flow key.
        flow: String,
        /// Pinned version, or `None` for the latest.
        version: Option<u32>,
        /// Its input variables.
        variables: Variables,
    },
    /// Cancel a sub-case.
    CancelCall {
        /// The call.
        call: CallKey,
    },
    /// Escalate to a role (an escalation node, or a thrown escalation).
    Escalate {
        /// The node escalating.
        node: NodeIdx,
        /// The role that becomes responsible.
        to: Option<String>,
        /// The escalation code, for a calling case.
        code: Option<String>,
    },
    /// The case is over.
    CloseCase {
        /// How it ended.
        status: super::state::CaseStatus,
        /// The outcome reported by the end event.
        outcome: Option<String>,
        /// Whether to seal it into the archive.
        archive: bool,
        /// The error code for a failed case.
        error_code: Option<String>,
    },
}
