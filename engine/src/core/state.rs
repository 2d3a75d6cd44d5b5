//! The state of one case: its tokens and everything they wait for. Plain data, serialised
//! by the store as one document and versioned for optimistic concurrency.

use serde::{Deserialize, Serialize};

use super::command::{RecordRef, Variables};
use super::effect::TimerPurpose;
use super::ids::*;
use crate::calendar::DeadlineClock;
use crate::model::NodeIdx;
use crate::time::Timestamp;

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Created, not yet started.
    New,
    /// Running.
    Active,
    /// Stopped by a person; timers are disarmed and tasks cannot be worked on.
    Suspended,
    /// Every token reached an end.
    Completed,
    /// A terminate end event ended it.
    Terminated,
    /// Cancelled by a person.
    Cancelled,
    /// An error end event without a catcher ended it.
    Failed,
}

impl CaseStatus {
    /// Whether the case is over; a closed case ignores engine events and refuses commands.
    pub fn is_closed(self) -> bool {
        matches!(self, CaseStatus::Completed | CaseStatus::Terminated | CaseStatus::Cancelled | CaseStatus::Failed)
    }
}

/// What a token waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wait {
    /// About to enter its node; never left in a saved state.
    Ready,
    /// For its tasks (in [`CaseState::tasks`]).
    Tasks,
    /// For a job.
    Job(JobKey),
    /// For its catch timer (in [`CaseState::timers`]).
    Timer,
    /// For a message.
    Message(String),
    /// At an event-based gateway, for whichever of these catch nodes happens first.
    EventGate(Vec<NodeIdx>),
    /// For a publication.
    Publication(PublicationKey),
    /// For a sub-case.
    Call(CallKey),
    /// At a join, for the other tokens.
    Join,
    /// Stopped by an incident.
    Incident(IncidentKey),
}

/// A vote of one instance of a multi-instance task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// Who completed the instance.
    pub user: String,
    /// The outcome chosen.
    pub outcome: Option<String>,
}

/// One thread of control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Its id.
    pub id: TokenId,
    /// The node it is at.
    pub node: NodeIdx,
    /// What it waits for.
    pub wait: Wait,
    /// The deadline clock of the task or publication it waits at.
    pub deadline: Option<DeadlineClock>,
    /// Completed instances of a multi-instance task.
    pub votes: Vec<Vote>,
    /// Ladder steps of the deadline that have already acted (not re-armed on resume).
    pub ladder_fired: Vec<u32>,
}

/// A disagreement escalated on a task, waiting for a ruling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// Who escalated it.
    pub by: String,
    /// The group that rules on it.
    pub to: String,
    /// What the disagreement is about.
    pub reason: String,
    /// When it was escalated.
    pub at: Timestamp,
}

/// An open task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    /// Its key.
    pub key: TaskKey,
    /// The token waiting for it.
    pub token: TokenId,
    /// Its node.
    pub node: NodeIdx,
    /// Instance number of a multi-instance task.
    pub instance: u32,
    /// Who holds it.
    pub assignee: Option<String>,
    /// Roles added by escalation; they may claim it besides the node's candidates.
    pub escalated_to: Vec<String>,
    /// The open escalation of a disagreement on this task, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// The outcome a resolved escalation ruled; completing the task must choose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruling: Option<String>,
    /// Records attached so far.
    pub records: Vec<RecordRef>,
}

/// An armed timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerState {
    /// Its key.
    pub key: TimerKey,
    /// When it fires.
    pub due: Timestamp,
    /// Why it exists.
    pub purpose: TimerPurpose,
}

/// A job in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// Its key.
    pub key: JobKey,
    /// The token waiting for it.
    pub token: TokenId,
    /// The service task.
    pub node: NodeIdx,
    /// The current attempt, from 1.
    pub attempt: u32,
}

/// An open incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentState {
    /// Its key.
    pub key: IncidentKey,
    /// The stopped token.
    pub token: TokenId,
    /// Where.
    pub node: NodeIdx,
    /// A stable code.
    pub code: String,
    /// What happened.
    pub message: String,
}

/// The whole state of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    /// Where the case is in its life.
    pub status: CaseStatus,
    /// Its variables.
    pub variables: Variables,
    /// Live tokens.
    pub tokens: Vec<Token>,
    /// Open tasks.
    pub tasks: Vec<TaskState>,
    /// Armed timers.
    pub timers: Vec<TimerState>,
    /// Jobs in flight.
    pub jobs: Vec<JobState>,
    /// Open incidents.
    pub incidents: Vec<IncidentState>,
    /// The last outcome of each node that completed with one, by node id.
    pub outcomes: Variables,
    /// Who completed each user task node, by node id (for separation of duties).
    pub performers: std::collections::BTreeMap<String, Vec<String>>,
    /// The outcome reported by the end events reached so far (the last one wins); what a
    /// calling case sees.
    pub outcome: Option<String>,
    /// Whether an end event reached so far asked for the case to be archived.
    pub archive: bool,
    /// Node transitions taken so far (tokens entering nodes).
    pub steps: u64,
    /// The next case-local id.
    pub next_id: u32,
}

impl Default for CaseState {
    fn default() -> Self {
        CaseState::new()
    }
}

impl CaseState {
    /// The timers that are armed: all of them, unless the case is suspended (its timers are
    /// disarmed until it resumes) or closed.
    pub fn armed_timers(&self) -> impl Iterator<Item = &TimerState> {
        let armed = matches!(self.status, CaseStatus::New | CaseStatus::Active);
        self.timers.iter().filter(move |_| armed)
    }

    /// The armed timer due first (by due instant, then key): the one the store wakes the case
    /// for.
    pub fn next_timer(&self) -> Option<&TimerState> {
        self.armed_timers().min_by_key(|t| (t.due, t.key.0))
    }

    /// A case not yet started.
    pub fn new() -> Self {
        CaseState {
            status: CaseStatus::New,
            variables: Variables::new(),
            tokens: Vec::new(),
            tasks: Vec::new(),
            timers: Vec::new(),
            jobs: Vec::new(),
            incidents: Vec::new(),
            outcomes: Variables::new(),
            performers: Default::default(),
            outcome: None,
            archive: false,
            steps: 0,
            next_id: 1,
        }
    }

    /// Allocates the next case-local id.
    pub(crate) fn alloc(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The token with this id.
    pub fn token(&self, id: TokenId) -> Option<&Token> {
        self.tokens.iter().find(|t| t.id == id)
    }

    /// The open task with this key.
    pub fn task(&self, key: TaskKey) -> Option<&TaskState> {
        self.tasks.iter().find(|t| t.key == key)
    }
}
