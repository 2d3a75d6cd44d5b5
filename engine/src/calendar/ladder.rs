//! Deadline specifications as declared in a flow: the period, its legal basis, and the
//! escalation ladder that acts around the due date.

use serde::{Deserialize, Serialize};

use super::Period;

/// A deadline declared on a task or publication: `within: 7 working_days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineSpec {
    /// The length of the period, counted from the day the clock starts (not counted).
    pub within: Period,
    /// The law and article the period comes from, shown to users ("行政处罚法 第六十条").
    pub basis: Option<String>,
    /// What happens around the due date, in the order declared.
    pub ladder: Vec<LadderStep>,
}

/// One rung of an escalation ladder: "remind the assignee 2 working days before due".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderStep {
    /// When the step acts, relative to the due date.
    pub when: LadderWhen,
    /// What it does.
    pub action: LadderAction,
    /// Whom it addresses: a role (`section_chief`, `leader`) or `assignee`.
    pub to: String,
}

/// When a ladder step acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderWhen {
    /// This long before the due date.
    Before(Period),
    /// On the due date itself (the deadline is missed at the end of that day).
    AtDue,
    /// This long after the due date.
    After(Period),
}

/// What a ladder step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderAction {
    /// Remind the addressee; the task stays where it is.
    Remind,
    /// Escalate: the addressee's role becomes responsible (the task gains it as a candidate).
    EscalateTo,
    /// Inform the addressee; nothing moves.
    Notify,
}

impl LadderAction {
    /// The key used in the flow language.
    pub fn as_str(self) -> &'static str {
        match self {
            LadderAction::Remind => "remind",
            LadderAction::EscalateTo => "escalate_to",
            LadderAction::Notify => "notify",
        }
    }
}
