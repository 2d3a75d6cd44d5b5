//! Nodes of a flow: events, tasks, gateways and calls.

use super::{Expr, Loc, Timer};
use crate::calendar::DeadlineSpec;

/// Index of a node in its flow's node list; the core works with indices, not names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct NodeIdx(pub u32);

impl NodeIdx {
    /// Marks a target that names no node; only the validator ever sees it.
    pub const UNRESOLVED: NodeIdx = NodeIdx(u32::MAX);

    /// As a vector index.
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

/// A reference to another node (`next: decide`).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The node id as written.
    pub name: String,
    /// The node it names, or [`NodeIdx::UNRESOLVED`].
    pub idx: NodeIdx,
    /// Where it was written.
    pub loc: Loc,
}

/// One node of a flow.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's id: its key under `nodes:`.
    pub id: String,
    /// Its position in the flow's node list.
    pub idx: NodeIdx,
    /// A human name (立案, 法制审核).
    pub name: Option<String>,
    /// What kind of node it is.
    pub kind: NodeKind,
    /// Outgoing sequence flows: one for most nodes, several for parallel splits and
    /// event-based gateways, none for end events and for exclusive/inclusive gateways
    /// (which route through [`Gateway::branches`]).
    pub next: Vec<Target>,
    /// Boundary events attached to this task or call.
    pub boundary: Vec<Boundary>,
    /// A compliance guard: this node may not be entered under `when` unless `requires` holds.
    pub guard: Option<Guard>,
    /// Where the node's key was written.
    pub loc: Loc,
}

/// The kinds of node.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A start event: where a case begins; a timer or message start event begins cases on
    /// its own.
    Start(StartTrigger),
    /// An end event.
    End(EndEvent),
    /// A human step that lands in an inbox.
    UserTask(Box<UserTask>),
    /// An external job with retries and backoff.
    ServiceTask(ServiceTask),
    /// Publication of a decision (行政执法公示) within a legal period.
    Publication(Publication),
    /// Takes the first branch whose condition holds, else the default.
    Exclusive(Gateway),
    /// Takes every branch whose condition holds (the default when none does); as a join,
    /// waits for every token that can still arrive.
    Inclusive(Gateway),
    /// Forks into every `next`; as a join, waits for a token on every incoming flow.
    Parallel,
    /// Waits for whichever of its `next` catch events happens first.
    EventBased,
    /// Waits for a timer.
    TimerCatch(Timer),
    /// Waits for a message.
    MessageCatch(MessageCatch),
    /// Runs another flow as a sub-case and waits for it.
    Call(CallActivity),
    /// Escalates to a role and goes on.
    Escalation(EscalationThrow),
}

impl NodeKind {
    /// The `type:` word of this kind in the flow language.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Start(_) => "start",
            NodeKind::End(_) => "end",
            NodeKind::UserTask(_) => "user_task",
            NodeKind::ServiceTask(_) => "service_task",
            NodeKind::Publication(_) => "publication",
            NodeKind::Exclusive(_) => "exclusive",
            NodeKind::Inclusive(_) => "inclusive",
            NodeKind::Parallel => "parallel",
            NodeKind::EventBased => "event_based",
            NodeKind::TimerCatch(_) => "timer",
            NodeKind::MessageCatch(_) => "message",
            NodeKind::Call(_) => "call",
            NodeKind::Escalation(_) => "escalation",
        }
    }

    /// Whether boundary events may be attached (tasks and calls).
    pub fn is_activity(&self) -> bool {
        matches!(self, NodeKind::UserTask(_) | NodeKind::ServiceTask(_) | NodeKind::Call(_) | NodeKind::Publication(_))
    }
}

/// What starts a case at a start event.
#[derive(Debug, Clone)]
pub enum StartTrigger {
    /// Started by a command.
    None,
    /// Started by a timer (a date or a cron cycle).
    Timer(Timer),
    /// Started by a message with this name.
    Message(String),
}

/// What an end event does.
#[derive(Debug, Clone)]
pub struct EndEvent {
    /// Plain end, terminate, error or escalation.
    pub result: EndResult,
    /// Seal the case into the archive when it closes here.
    pub archive: bool,
    /// The outcome the case reports to a calling flow (`approved`).
    pub outcome: Option<String>,
}

/// The result of reaching an end event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndResult {
    /// The token ends; the case completes when no token is left.
    None,
    /// Every token of the case ends at once.
    Terminate,
    /// Throws an error with this code (caught by an error boundary event of the calling
    /// node, else the case fails with an incident).
    Error(String),
    /// Throws an escalation with this code to the calling node, and ends the token.
    Escalation(String),
}

/// Who may take a task.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidates {
    /// Users by id.
    pub users: Vec<String>,
    /// Groups or roles (`legal_reviewer`).
    pub groups: Vec<String>,
}

/// A variable a task's form writes.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    /// The flow variable.
    pub var: String,
    /// Whether completing the task must supply it.
    pub required: bool,
    /// Where it was written.
    pub loc: Loc,
}

/// One point of a review checklist (the ten-point legal review checklist, say).
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistItem {
    /// Stable key of the point.
    pub id: String,
    /// The question as shown.
    pub text: String,
    /// Whether the task can be completed only with this point answered.
    pub required: bool,
}

/// How many of a multi-instance task's instances must complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Every instance.
    All,
    /// The first one.
    Any,
    /// More than half; the outcome is the majority's outcome.
    Majority,
}

/// A task done by several people (two handlers, a leaders' collective discussion).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiInstance {
    /// How many instances.
    pub count: u32,
    /// Whether each instance must be completed by a different person.
    pub distinct_assignees: bool,
    /// When the node is done.
    pub completion: Completion,
}

/// A human step.
#[derive(Debug, Clone)]
pub struct UserTask {
    /// A fixed assignee (user id).
    pub assignee: Option<String>,
    /// Who may claim it.
    pub candidates: Candidates,
    /// Variables the form writes.
    pub form: Vec<FormField>,
    /// The outcomes a completion may choose; empty means no outcome is asked.
    pub outcomes: Vec<String>,
    /// Checklist points answered on completion.
    pub checklist: Vec<ChecklistItem>,
    /// The task's deadline clock.
    pub deadline: Option<DeadlineSpec>,
    /// Record kinds (text, audio_video, ...) that must be attached before completion.
    pub required_records: Vec<String>,
    /// Several instances of the task.
    pub multi: Option<MultiInstance>,
    /// Inbox priority (higher first); default 50.
    pub priority: i32,
    /// Separation of duties: whoever completed one of these nodes in the case may not
    /// claim or complete this task (a case's handler may not review it).
    pub separate_from: Vec<Target>,
}

/// Backoff between retries of a service task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Wait before the first retry, in milliseconds.
    pub initial_millis: i64,
    /// Multiplier per further retry.
    pub factor: f64,
    /// Upper bound of a wait, in milliseconds.
    pub max_millis: i64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial_millis: 10_000, factor: 2.0, max_millis: 600_000 }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (1-based).
    pub fn delay_millis(&self, attempt: u32) -> i64 {
        let exp = self.factor.powi(attempt.saturating_sub(1).min(64) as i32);
        let delay = (self.initial_millis as f64 * exp).min(self.max_millis as f64);
        delay.max(0.0) as i64
    }
}

/// An external job.
#[derive(Debug, Clone)]
pub struct ServiceTask {
    /// The job type workers subscribe to (`send-notice`).
    pub job: String,
    /// Retries after the first attempt fails; when exhausted the job becomes an incident.
    pub retries: u32,
    /// Wait between attempts.
    pub backoff: Backoff,
}

/// Publication of a decision (行政执法公示).
#[derive(Debug, Clone)]
pub struct Publication {
    /// What is published (`penalty`, `licensing`, `other`): shown on the disclosure feed
    /// and in statistics. The legal period itself is `deadline.within`.
    pub category: String,
    /// The publication deadline: `within: 7 working_days` from the node being reached.
    pub deadline: DeadlineSpec,
}

/// A branch of an exclusive or inclusive gateway.
#[derive(Debug, Clone)]
pub struct Branch {
    /// The condition; `None` for the default (`otherwise`) branch.
    pub when: Option<Expr>,
    /// Where the branch goes.
    pub target: Target,
    /// Where the branch was written.
    pub loc: Loc,
}

/// Branches of an exclusive or inclusive gateway; empty on a pure merge or join, which
/// leaves by `next` instead.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    /// In the order written; exclusive gateways take the first that holds.
    pub branches: Vec<Branch>,
}

impl Gateway {
    /// The default branch, if any.
    pub fn default_branch(&self) -> Option<&Branch> {
        self.branches.iter().find(|b| b.when.is_none())
    }
}

/// Waits for a message.
#[derive(Debug, Clone)]
pub struct MessageCatch {
    /// The message name correlated to the case.
    pub message: String,
}

/// Which version of the called flow runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionPolicy {
    /// The newest deployed version when the call starts.
    Latest,
    /// Exactly this version.
    Pinned(u32),
}

/// Runs another flow as a sub-case.
#[derive(Debug, Clone)]
pub struct CallActivity {
    /// The called flow's key.
    pub flow: Target,
    /// Which version.
    pub version: VersionPolicy,
    /// Variables copied into the sub-case.
    pub inputs: Vec<String>,
    /// Variables copied back when it completes.
    pub outputs: Vec<String>,
}

/// Escalates to a role (a disagreement goes to a leader).
#[derive(Debug, Clone)]
pub struct EscalationThrow {
    /// The role that becomes responsible.
    pub to: String,
    /// An escalation code caught by boundary events of a calling node.
    pub code: Option<String>,
}

/// What triggers a boundary event.
#[derive(Debug, Clone)]
pub enum BoundaryTrigger {
    /// A timer, armed when the task starts.
    Timer(Timer),
    /// A message.
    Message(String),
    /// An error thrown by the activity (any error when the code is `None`).
    Error(Option<String>),
    /// An escalation thrown by the activity (any when `None`).
    Escalation(Option<String>),
}

/// An event attached to a task or call.
#[derive(Debug, Clone)]
pub struct Boundary {
    /// Its id, unique in the flow (`review_timeout`).
    pub id: String,
    /// What triggers it.
    pub trigger: BoundaryTrigger,
    /// Whether it cancels the activity (true) or runs beside it.
    pub interrupting: bool,
    /// Where it leads.
    pub target: Target,
    /// Where it was written.
    pub loc: Loc,
}

/// A compliance guard: `decide` may not be entered when `major` holds unless
/// `legal_review` completed with outcome `approved`. The engine refuses it at run time and
/// the validator proves it over every path.
#[derive(Debug, Clone)]
pub struct Guard {
    /// The node whose outcome is required.
    pub requires: Target,
    /// The required outcome.
    pub outcome: String,
    /// The condition under which the guard applies; always when `None`.
    pub when: Option<Expr>,
    /// Where it was written.
    pub loc: Loc,
}
