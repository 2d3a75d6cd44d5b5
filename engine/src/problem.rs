//! Problems found in a flow definition, each with a stable code and a YAML location.

use std::fmt;

use serde::Serialize;

use crate::model::Loc;

/// The stable code of a problem. Printed as `error[CODE]`, returned by the API as
/// `extensions.code`-style data; never renamed once shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The YAML itself does not parse.
    Syntax,
    /// A key the flow language does not know at that place.
    UnknownKey,
    /// A required key is missing.
    MissingKey,
    /// A value of the wrong shape or type (a list where a text is expected, say).
    BadValue,
    /// A boundary event id used twice or by a node, or a node id that is also a variable
    /// or rule name. (Two nodes with one key are a `syntax` error: a duplicate YAML key.)
    DuplicateId,
    /// `next`, a branch, a guard or a boundary names a node that does not exist.
    UnknownTarget,
    /// A node no path from a start reaches.
    UnreachableNode,
    /// A node that is not an end event but has no way out.
    DeadEnd,
    /// An exclusive or inclusive gateway whose branches may all be false and that has no
    /// default.
    NoDefaultBranch,
    /// A parallel join that waits for tokens that can never all arrive.
    JoinDeadlock,
    /// An expression names something that is neither a variable, a rule nor a node.
    UnknownVariable,
    /// A rule that refers to itself, directly or through others.
    RuleCycle,
    /// An expression that does not compile.
    BadExpression,
    /// An ISO-8601 duration or legal period that does not parse.
    BadDuration,
    /// A date that does not parse.
    BadDate,
    /// A cron expression that does not parse.
    BadCron,
    /// A calendar no one has deployed.
    UnknownCalendar,
    /// A call activity to a flow that does not exist.
    UnknownFlow,
    /// A path reaches a guarded node without passing the node the guard requires.
    GuardBypassed,
}

impl Code {
    /// The code as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::UnknownKey => "unknown-key",
            Code::MissingKey => "missing-key",
            Code::BadValue => "bad-value",
            Code::DuplicateId => "duplicate-id",
            Code::UnknownTarget => "unknown-target",
            Code::UnreachableNode => "unreachable-node",
            Code::DeadEnd => "dead-end",
            Code::NoDefaultBranch => "no-default-branch",
            Code::JoinDeadlock => "join-deadlock",
            Code::UnknownVariable => "unknown-variable",
            Code::RuleCycle => "rule-cycle",
            Code::BadExpression => "bad-expression",
            Code::BadDuration => "bad-duration",
            Code::BadDate => "bad-date",
            Code::BadCron => "bad-cron",
            Code::UnknownCalendar => "unknown-calendar",
            Code::UnknownFlow => "unknown-flow",
            Code::GuardBypassed => "guard-bypassed",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a flow definition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    /// Where it is.
    pub loc: Loc,
    /// What kind of problem.
    pub code: Code,
    /// What is wrong, for a person.
    pub message: String,
}

impl Problem {
    /// A problem at `loc`.
    pub fn new(code: Code, loc: Loc, message: impl Into<String>) -> Self {
        Problem { loc, code, message: message.into() }
    }

    /// Formats the problem as the command line prints it: `FILE:LINE:COL: error[CODE]: message`.
    pub fn display_in<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayIn { problem: self, file }
    }
}

struct DisplayIn<'a> {
    problem: &'a Problem,
    file: &'a str,
}

impl fmt::Display for DisplayIn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.problem;
        write!(f, "{}:{}:{}: error[{}]: {}", self.file, p.loc.line, p.loc.col, p.code, p.message)
    }
}
