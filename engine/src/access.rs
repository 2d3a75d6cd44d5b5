//! The access policy: which roles and service scopes may do what.
//!
//! Two layers decide whether an action is allowed, both in the engine:
//! 1. this policy, by role ([`authorize`]): only admins deploy, only leaders rule on
//!    escalations, supervisors read everything and write nothing, integrations only what
//!    their scopes allow;
//! 2. the case itself, in the core: only candidates claim, only the assignee completes, a
//!    case's handler may not review it (separation of duties).
//!
//! [`MATRIX`] is the policy as data; `docs/authorization.md` prints it and the HTTP tests
//! walk every cell of it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::Actor;

/// A role a person holds (a JWT's `roles` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 承办人: files cases, gathers evidence.
    Handler,
    /// 科室负责人: approves, assigns work, watches deadlines.
    SectionChief,
    /// 法制审核人员: reviews major decisions.
    LegalReviewer,
    /// 分管/主要负责人: decides, rules on escalated disagreements.
    Leader,
    /// Maintains definitions and operations.
    Admin,
    /// 执法监督: reads everything, writes nothing.
    Supervisor,
    /// Another government system, acting within its token's scopes.
    Integration,
}

impl Role {
    /// Every role, in the order the matrix prints them.
    pub const ALL: [Role; 7] = [
        Role::Handler,
        Role::SectionChief,
        Role::LegalReviewer,
        Role::Leader,
        Role::Admin,
        Role::Supervisor,
        Role::Integration,
    ];

    /// The role's name in tokens and candidate groups.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Handler => "handler",
            Role::SectionChief => "section_chief",
            Role::LegalReviewer => "legal_reviewer",
            Role::Leader => "leader",
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Integration => "integration",
        }
    }

    /// The role with this name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a service token may do (a JWT's `scopes` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Read cases (each read is written to the record-access log).
    #[serde(rename = "cases:read")]
    CasesRead,
    /// Start cases.
    #[serde(rename = "cases:start")]
    CasesStart,
    /// Deliver messages to cases.
    #[serde(rename = "messages:correlate")]
    MessagesCorrelate,
    /// Read group inboxes and tasks.
    #[serde(rename = "tasks:read")]
    TasksRead,
    /// Read definitions and calendars.
    #[serde(rename = "definitions:read")]
    DefinitionsRead,
    /// Report that a decision was published (a publicity platform).
    #[serde(rename = "publications:record")]
    PublicationsRecord,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 6] = [
        Scope::CasesRead,
        Scope::CasesStart,
        Scope::MessagesCorrelate,
        Scope::TasksRead,
        Scope::DefinitionsRead,
        Scope::PublicationsRecord,
    ];

    /// The scope's name in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CasesRead => "cases:read",
            Scope::CasesStart => "cases:start",
            Scope::MessagesCorrelate => "messages:correlate",
            Scope::TasksRead => "tasks:read",
            Scope::DefinitionsRead => "definitions:read",
            Scope::PublicationsRecord => "publications:record",
        }
    }

    /// The scope with this name.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Someone signed in: a person with roles and groups, or an integration with scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// User (or service) id.
    pub user: String,
    /// Display name.
    pub name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Groups (sections, teams) beyond the roles.
    pub groups: Vec<String>,
    /// Scopes of a service token; empty for people.
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether this is a service (integration) principal.
    pub fn is_service(&self) -> bool {
        self.has_role(Role::Integration)
    }

    /// The groups the principal's tasks are offered to: its roles and its groups.
    pub fn inbox_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.roles.iter().map(|r| r.as_str().to_owned()).collect();
        for g in &self.groups {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        groups
    }

    /// The principal as the core sees it.
    pub fn actor(&self) -> Actor {
        Actor { user: self.user.clone(), groups: self.inbox_groups() }
    }
}

/// Something a principal asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Read its own and its groups' inboxes and their tasks.
    ReadInbox,
    /// Read the inbox of a group it is not in.
    ReadAnyInbox,
    /// Read a case file (variables, timeline, records); logged with the stated purpose.
    ReadCase,
    /// Read definitions, their sources and calendars.
    ReadDefinitions,
    /// Read open incidents.
    ReadIncidents,
    /// Read the record-access log.
    ReadAccessLog,
    /// Start a case.
    StartCase,
    /// Claim, unclaim, delegate, complete, attach records to, escalate its tasks.
    WorkOnTasks,
    /// Assign a task to someone.
    AssignTasks,
    /// Rule on an escalated disagreement.
    ResolveEscalations,
    /// Pause and resume a task's deadline clock.
    PauseDeadlines,
    /// Deliver a message to a case.
    CorrelateMessages,
    /// Record that a decision was published.
    RecordPublications,
    /// Validate a definition without deploying it.
    ValidateDefinitions,
    /// Deploy a definition.
    DeployDefinitions,
    /// Suspend and resume a case.
    SuspendCases,
    /// Cancel a case.
    CancelCases,
    /// Retry the job or expression behind an incident.
    RetryIncidents,
    /// Move a case to another version of its flow.
    MigrateCases,
    /// Save inbox views for itself.
    SavePrivateViews,
    /// Share saved inbox views with a group or role.
    ShareViews,
}

/// Who may do an operation: the roles, and the scope that lets an integration do it.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The operation.
    pub operation: Operation,
    /// What the operation covers, for the printed matrix.
    pub description: &'static str,
    /// People's roles that may do it.
    pub roles: &'static [Role],
    /// The service scope that allows it, if integrations may do it at all.
    pub scope: Option<Scope>,
}

use Role::*;

const READERS: &[Role] = &[Handler, SectionChief, LegalReviewer, Leader, Admin, Supervisor];
const WORKERS: &[Role] = &[Handler, SectionChief, LegalReviewer, Leader];

/// The access policy. An operation missing here is allowed to no one.
pub const MATRIX: &[Rule] = &[
    Rule {
        operation: Operation::ReadInbox,
        description: "read own and own groups' inboxes and tasks",
        roles: &[Handler, SectionChief, LegalReviewer, Leader, Supervisor],
        scope: Some(Scope::TasksRead),
    },
    Rule {
        operation: Operation::ReadAnyInbox,
        description: "read any group's inbox",
        roles: &[Supervisor],
        scope: Some(Scope::TasksRead),
    },
    Rule {
        operation: Operation::ReadCase,
        description: "read a case file (logged with its purpose)",
        roles: READERS,
        scope: Some(Scope::CasesRead),
    },
    Rule {
        operation: Operation::ReadDefinitions,
        description: "read definitions, sources, calendars",
        roles: READERS,
        scope: Some(Scope::DefinitionsRead),
    },
    Rule {
        operation: Operation::ReadIncidents,
        description: "read incidents",
        roles: &[SectionChief, Leader, Admin, Supervisor],
        scope: None,
    },
    Rule {
        operation: Operation::ReadAccessLog,
        description: "read the record-access log",
        roles: &[Supervisor],
        scope: None,
    },
    Rule {
        operation: Operation::StartCase,
        description: "start a case",
        roles: &[Handler, SectionChief],
        scope: Some(Scope::CasesStart),
    },
    Rule {
        operation: Operation::WorkOnTasks,
        description: "claim (or take the next), unclaim, delegate, complete, escalate tasks",
        roles: WORKERS,
        scope: None,
    },
    Rule {
        operation: Operation::AssignTasks,
        description: "assign a task to someone",
        roles: &[SectionChief, Leader],
        scope: None,
    },
    Rule {
        operation: Operation::ResolveEscalations,
        description: "rule on an escalated disagreement",
        roles: &[Leader],
        scope: None,
    },
    Rule {
        operation: Operation::PauseDeadlines,
        description: "pause and resume a deadline",
        roles: &[SectionChief, Leader],
        scope: None,
    },
    Rule {
        operation: Operation::CorrelateMessages,
        description: "deliver a message to a case",
        roles: &[Handler, SectionChief, Leader],
        scope: Some(Scope::MessagesCorrelate),
    },
    Rule {
        operation: Operation::RecordPublications,
        description: "record that a decision was published",
        roles: &[SectionChief, Leader],
        scope: Some(Scope::PublicationsRecord),
    },
    Rule {
        operation: Operation::ValidateDefinitions,
        description: "validate a definition",
        roles: &[Admin],
        scope: None,
    },
    Rule { operation: Operation::DeployDefinitions, description: "deploy a definition", roles: &[Admin], scope: None },
    Rule {
        operation: Operation::SuspendCases,
        description: "suspend and resume a case",
        roles: &[SectionChief, Leader, Admin],
        scope: None,
    },
    Rule { operation: Operation::CancelCases, description: "cancel a case", roles: &[Leader, Admin], scope: None },
    Rule { operation: Operation::RetryIncidents, description: "retry an incident", roles: &[Admin], scope: None },
    Rule {
        operation: Operation::MigrateCases,
        description: "migrate a case to another version",
        roles: &[Admin],
        scope: None,
    },
    Rule {
        operation: Operation::SavePrivateViews,
        description: "save private inbox views",
        roles: &[Handler, SectionChief, LegalReviewer, Leader, Admin, Supervisor],
        scope: None,
    },
    Rule {
        operation: Operation::ShareViews,
        description: "share inbox views with a group or role",
        roles: &[SectionChief, Leader, Admin],
        scope: None,
    },
];

/// A refusal by the access policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{user} may not {what}")]
pub struct Forbidden {
    /// Who asked.
    pub user: String,
    /// What was refused, in words.
    pub what: &'static str,
}

/// The rule of an operation.
pub fn rule(operation: Operation) -> Option<&'static Rule> {
    MATRIX.iter().find(|r| r.operation == operation)
}

/// Whether `principal` may do `operation`. A service principal is judged by its scopes
/// only; a person by their roles.
///
/// # Errors
/// [`Forbidden`] when the policy does not allow it.
pub fn authorize(principal: &Principal, operation: Operation) -> Result<(), Forbidden> {
    let Some(rule) = rule(operation) else {
        return Err(Forbidden { user: principal.user.clone(), what: "do this" });
    };
    let allowed = if principal.is_service() {
        rule.scope.is_some_and(|s| principal.scopes.contains(&s))
    } else {
        principal.roles.iter().any(|r| rule.roles.contains(r))
    };
    if allowed { Ok(()) } else { Err(Forbidden { user: principal.user.clone(), what: rule.description }) }
}

/// The matrix as a Markdown table, as `docs/authorization.md` shows it.
pub fn matrix_markdown() -> String {
    let people: Vec<Role> = Role::ALL.into_iter().filter(|r| *r != Role::Integration).collect();
    let mut out = String::from("| operation |");
    for r in &people {
        out.push_str(&format!(" {r} |"));
    }
    out.push_str(" integration (scope) |\n|---|");
    for _ in &people {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    for rule in MATRIX {
        out.push_str(&format!("| {} |", rule.description));
        for r in &people {
            out.push_str(if rule.roles.contains(r) { " ✓ |" } else { " – |" });
        }
        match rule.scope {
            Some(s) => out.push_str(&format!(" `{}` |\n", s.as_str())),
            None => out.push_str(" – |\n"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(roles: &[Role]) -> Principal {
        Principal { user: "u".into(), name: "U".into(), roles: roles.to_vec(), groups: vec![], scopes: vec![] }
    }

    #[test]
    fn every_operation_has_exactly_one_rule() {
        let mut ops: Vec<Operation> = MATRIX.iter().map(|r| r.operation).collect();
        let n = ops.len();
        ops.sort();
        ops.dedup();
        assert_eq!(ops.len(), n);
    }

    #[test]
    fn supervisors_write_nothing_and_services_follow_scopes() {
        let supervisor = person(&[Role::Supervisor]);
        for rule in MATRIX {
            let reads = matches!(
                rule.operation,
                Operation::ReadInbox
                    | Operation::ReadAnyInbox
                    | Operation::ReadCase
                    | Operation::ReadDefinitions
                    | Operation::ReadIncidents
                    | Operation::ReadAccessLog
                    | Operation::SavePrivateViews
            );
            assert_eq!(authorize(&supervisor, rule.operation).is_ok(), reads, "{:?}", rule.operation);
        }
        let mut service = person(&[Role::Integration, Role::Admin]);
        assert!(authorize(&service, Operation::DeployDefinitions).is_err(), "a service is judged by scopes only");
        service.scopes = vec![Scope::CasesRead];
        assert!(authorize(&service, Operation::ReadCase).is_ok());
        assert!(authorize(&service, Operation::StartCase).is_err());
    }

    #[test]
    fn the_actor_carries_roles_and_groups() {
        let mut p = person(&[Role::LegalReviewer]);
        p.groups = vec!["review".into(), "legal_reviewer".into()];
        assert_eq!(p.actor().groups, vec!["legal_reviewer".to_owned(), "review".to_owned()]);
    }
}
