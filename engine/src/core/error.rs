//! Why the core refuses a command. Each error has a stable code the API turns into
//! `extensions.code`.

use super::ids::*;

/// A refused command; the case state is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransitionError {
    /// The case has already started.
    #[error("the case has already started")]
    AlreadyStarted,
    /// `StartAt` named a node that is not a start event of the flow.
    #[error("`{0}` is not a start event of the flow")]
    NotAStartEvent(String),
    /// The case has not started.
    #[error("the case has not started")]
    NotStarted,
    /// The case is closed (completed, terminated, cancelled or failed).
    #[error("the case is closed")]
    CaseClosed,
    /// The case is suspended.
    #[error("the case is suspended")]
    CaseSuspended,
    /// The case is not suspended.
    #[error("the case is not suspended")]
    NotSuspended,
    /// No open task with this key.
    #[error("no open task {0}")]
    TaskNotFound(TaskKey),
    /// The actor is not among the task's candidates.
    #[error("{user} is not a candidate for {task}")]
    NotCandidate {
        /// The task.
        task: TaskKey,
        /// The user.
        user: String,
    },
    /// Someone else holds the task.
    #[error("{task} is already claimed by {assignee}")]
    AlreadyClaimed {
        /// The task.
        task: TaskKey,
        /// Who holds it.
        assignee: String,
    },
    /// Only the assignee may do this.
    #[error("only the assignee of {task} may do this")]
    NotAssignee {
        /// The task.
        task: TaskKey,
    },
    /// Separation of duties: the actor worked on a node this task must be separate from,
    /// or already did another instance of this task.
    #[error("separation of duties: {user} may not work on {task} ({reason})")]
    SeparationOfDuties {
        /// The task.
        task: TaskKey,
        /// The user.
        user: String,
        /// Which duty collides.
        reason: String,
    },
    /// The task waits for a ruling on an escalated disagreement.
    #[error("{task} is escalated to `{to}` and waits for its ruling")]
    TaskEscalated {
        /// The task.
        task: TaskKey,
        /// The group that rules.
        to: String,
    },
    /// The task has no open escalation.
    #[error("{0} has no open escalation")]
    NotEscalated(TaskKey),
    /// Only a member of the group the task was escalated to may rule on it.
    #[error("{user} is not in `{to}`, the group {task} was escalated to")]
    NotEscalationResolver {
        /// The task.
        task: TaskKey,
        /// The user.
        user: String,
        /// The group that rules.
        to: String,
    },
    /// Records of these kinds must be attached first.
    #[error("records missing: {0:?}")]
    MissingRecords(Vec<String>),
    /// Checklist points not satisfied.
    #[error("checklist incomplete: {0:?}")]
    ChecklistIncomplete(Vec<String>),
    /// The outcome is not one the task offers, or is missing.
    #[error("bad outcome: {0}")]
    BadOutcome(String),
    /// A variable is missing, undeclared or of the wrong type.
    #[error("bad variable `{name}`: {reason}")]
    BadVariable {
        /// The variable.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A compliance guard refuses: e.g. no decision on a major case without an approved
    /// legal review.
    #[error("guard on `{node}`: requires `{requires}` to be `{outcome}`")]
    GuardViolated {
        /// The guarded node.
        node: String,
        /// The node whose outcome is required.
        requires: String,
        /// The required outcome.
        outcome: String,
    },
    /// No token waits for this message.
    #[error("no one waits for message `{0}`")]
    NoSubscription(String),
    /// No incident with this key.
    #[error("no open incident {0}")]
    IncidentNotFound(IncidentKey),
    /// The task has no deadline clock, or it is already in the requested state.
    #[error("deadline of {task}: {reason}")]
    Deadline {
        /// The task.
        task: TaskKey,
        /// What is wrong.
        reason: String,
    },
    /// A date computation left the calendar's known years, or the calendar is missing.
    #[error("calendar: {0}")]
    Calendar(String),
}

impl TransitionError {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::AlreadyStarted => "ALREADY_STARTED",
            TransitionError::NotStarted => "NOT_STARTED",
            TransitionError::NotAStartEvent(_) => "NOT_FOUND",
            TransitionError::CaseClosed => "CASE_CLOSED",
            TransitionError::CaseSuspended => "CASE_SUSPENDED",
            TransitionError::NotSuspended => "NOT_SUSPENDED",
            TransitionError::TaskNotFound(_) => "NOT_FOUND",
            TransitionError::NotCandidate { .. } => "FORBIDDEN",
            TransitionError::AlreadyClaimed { .. } => "ALREADY_CLAIMED",
            TransitionError::NotAssignee { .. } => "FORBIDDEN",
            TransitionError::SeparationOfDuties { .. } => "SEPARATION_OF_DUTIES",
            TransitionError::TaskEscalated { .. } => "ESCALATED",
            TransitionError::NotEscalated(_) => "NOT_ESCALATED",
            TransitionError::NotEscalationResolver { .. } => "FORBIDDEN",
            TransitionError::MissingRecords(_) => "MISSING_RECORDS",
            TransitionError::ChecklistIncomplete(_) => "CHECKLIST_INCOMPLETE",
            TransitionError::BadOutcome(_) => "VALIDATION",
            TransitionError::BadVariable { .. } => "VALIDATION",
            TransitionError::GuardViolated { .. } => "GUARD_VIOLATED",
            TransitionError::NoSubscription(_) => "NO_SUBSCRIPTION",
            TransitionError::IncidentNotFound(_) => "NOT_FOUND",
            TransitionError::Deadline { .. } => "DEADLINE",
            TransitionError::Calendar(_) => "CALENDAR",
        }
    }
}
