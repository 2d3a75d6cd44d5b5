//! The front door for a signed-in principal: every operation is checked against the access
//! policy ([`crate::access`]) before it reaches the store, and the case's own rules
//! (candidates, assignee, separation of duties) are checked by the core inside the
//! command's transaction. Reads of a case file are written to the record-access log before
//! they are answered. The GraphQL API reaches the engine only through here.

use super::entity::{cases, inbox_views, tasks};
use super::error::StoreError;
use super::inbox::{InboxFilter, InboxPage, InboxQuery, InboxScope, InboxSort, TaskStateFilter};
use super::runtime::{Deployment, Executed, StartCase, Store};
use super::task_locations::TaskLocation;
use crate::access::{Operation, Principal, Role, authorize};
use crate::core::{CaseState, Command, Completion, IncidentKey, PublicationKey, RecordRef, TaskKey, Variables};
use crate::model::{NodeKind, StartTrigger};
use crate::problem::Problem;

/// How many tasks [`Session::claim_next`] reads from the inbox at a time.
const CLAIM_NEXT_PAGE: u64 = 5;

/// The longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY: usize = 90;

/// The longest stated purpose of a case read, in characters.
pub const MAX_PURPOSE: usize = 500;

/// The result of a claim made while looking for one's next task: the claim, or `None` when
/// the task is to be passed over (taken meanwhile, or not the principal's to take).
fn taken(claim: Result<Executed, StoreError>) -> Result<Option<Executed>, StoreError> {
    match claim {
        Ok(executed) => Ok(Some(executed)),
        Err(StoreError::Refused(_) | StoreError::NotFound(_) | StoreError::Conflict) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A principal's view of the store.
pub struct Session<'a> {
    store: &'a Store,
    principal: &'a Principal,
}

/// Which inbox to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxKind {
    /// Tasks assigned to the principal.
    Mine,
    /// Tasks offered to the principal's groups (or to some of them, or to other groups for
    /// those who may read any inbox), and to the principal by name.
    Groups(Option<Vec<String>>),
}

impl Store {
    /// Acts as `principal`.
    pub fn session<'a>(&'a self, principal: &'a Principal) -> Session<'a> {
        Session { store: self, principal }
    }
}

impl<'a> Session<'a> {
    /// Checks the access policy.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`].
    pub fn allow(&self, operation: Operation) -> Result<(), StoreError> {
        authorize(self.principal, operation).map_err(StoreError::from)
    }

    fn actor(&self) -> String {
        self.principal.user.clone()
    }

    /// Idempotency keys are the principal's own: two users cannot collide on one.
    fn idempotency(&self, key: Option<String>) -> Result<Option<String>, StoreError> {
        match key {
            Some(k) if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY || k.chars().any(char::is_control) => {
                Err(StoreError::BadRequest(format!(
                    "an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} bytes without control characters"
                )))
            }
            Some(k) => Ok(Some(format!("{}\u{1f}{k}", self.principal.user))),
            None => Ok(None),
        }
    }

    // ----- inboxes and tasks -----

    /// The scope of an inbox, checked: other groups than one's own need
    /// [`Operation::ReadAnyInbox`].
    ///
    /// # Errors
    /// [`StoreError::Forbidden`].
    pub fn inbox_scope(&self, kind: InboxKind) -> Result<InboxScope, StoreError> {
        self.allow(Operation::ReadInbox)?;
        let own = self.principal.inbox_groups();
        Ok(match kind {
            InboxKind::Mine => InboxScope::Assigned(self.principal.user.clone()),
            InboxKind::Groups(None) => InboxScope::Offered { groups: own, user: Some(self.principal.user.clone()) },
            InboxKind::Groups(Some(groups)) => {
                if groups.iter().any(|g| !own.contains(g)) {
                    self.allow(Operation::ReadAnyInbox)?;
                }
                InboxScope::Offered { groups, user: None }
            }
        })
    }

    /// One page of an inbox.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] or a database failure.
    pub async fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        self.allow(Operation::ReadInbox)?;
        self.store.inbox(query).await
    }

    /// How many tasks an inbox holds.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] or a database failure.
    pub async fn inbox_count(&self, scope: &InboxScope, filter: &InboxFilter) -> Result<u64, StoreError> {
        self.allow(Operation::ReadInbox)?;
        self.store.inbox_count(scope, filter).await
    }

    /// Whether the task is in one of the principal's inboxes: offered to one of their groups
    /// or roles or to them by name, held or completed by them, or escalated to a group they
    /// are in.
    pub fn works_on(&self, task: &tasks::Model) -> bool {
        let p = self.principal;
        if task.assignee.as_deref() == Some(p.user.as_str()) || task.completed_by.as_deref() == Some(p.user.as_str()) {
            return true;
        }
        let users: Vec<String> = serde_json::from_str(&task.candidate_users).unwrap_or_default();
        let groups: Vec<String> = serde_json::from_str(&task.candidate_groups).unwrap_or_default();
        let mine = p.inbox_groups();
        users.contains(&p.user)
            || groups.iter().any(|g| mine.contains(g))
            || (task.state == "escalated" && p.has_role(Role::Leader))
    }

    /// Whether the principal may see this task: it works on it, or sees every task.
    fn may_see(&self, task: &tasks::Model) -> bool {
        self.works_on(task) || self.sees_every_task()
    }

    /// Whether the principal may see every task: it may read any inbox or any case.
    fn sees_every_task(&self) -> bool {
        authorize(self.principal, Operation::ReadAnyInbox).is_ok()
            || authorize(self.principal, Operation::ReadCase).is_ok()
    }

    /// A task by id, if the principal may see it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (also for a task the principal may not see, so that ids
    /// reveal nothing), [`StoreError::Forbidden`].
    pub async fn task(&self, id: i64) -> Result<tasks::Model, StoreError> {
        if authorize(self.principal, Operation::ReadInbox).is_err() {
            self.allow(Operation::ReadCase)?;
        }
        match self.store.task_row(id).await? {
            Some(task) if self.may_see(&task) => Ok(task),
            _ => Err(StoreError::NotFound(format!("no task {id}"))),
        }
    }

    async fn on_task(
        &self,
        operation: Operation,
        id: i64,
        command: impl FnOnce(TaskKey) -> Command,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        self.allow(operation)?;
        let task = self.locate(id).await?;
        self.store.execute(&task.case_id, command(task.key), &self.actor(), self.idempotency(idem)?).await
    }

    /// Where a task the principal may see is. For a principal who sees every task, a task
    /// read lately (on an inbox page, say) is not read again: its case and key never change.
    /// Otherwise the row is read, to check that the principal works on it.
    ///
    /// # Errors
    /// As [`Session::task`].
    async fn locate(&self, id: i64) -> Result<TaskLocation, StoreError> {
        if self.sees_every_task()
            && let Some(location) = self.store.inner.task_locations.get(id)
        {
            return Ok(location);
        }
        let task = self.task(id).await?;
        Ok(TaskLocation { case_id: task.case_id.into(), key: TaskKey(task.task_key as u32) })
    }

    /// Claims a task.
    ///
    /// # Errors
    /// The policy's or the core's refusal (`ALREADY_CLAIMED`, not a candidate, separation of
    /// duties), or a database failure.
    pub async fn claim(&self, id: i64, idem: Option<String>) -> Result<Executed, StoreError> {
        let actor = self.principal.actor();
        self.on_task(Operation::WorkOnTasks, id, |task| Command::Claim { task, actor }, idem).await
    }

    /// Claims the first unclaimed task of the principal's group inbox (its groups' tasks and
    /// those offered to it by name) that `filter` keeps, in `sort` order: "give me my next
    /// task". `filter.state` is ignored (only unclaimed tasks are taken). A task someone else
    /// claims first, or that the core refuses the principal (not a candidate, separation of
    /// duties, a suspended case), is passed over for the next one. Returns the claimed task's
    /// id and the command's result, or `None` when no task is left to take.
    ///
    /// A retried request may take another task (the first stays the principal's, in "my
    /// tasks"), so it takes no idempotency key.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] when the principal may not work on tasks, or a database
    /// failure.
    pub async fn claim_next(
        &self,
        filter: InboxFilter,
        sort: InboxSort,
    ) -> Result<Option<(i64, Executed)>, StoreError> {
        self.allow(Operation::WorkOnTasks)?;
        let scope = self.inbox_scope(InboxKind::Groups(None))?;
        let filter = InboxFilter { state: Some(TaskStateFilter::Unclaimed), ..filter };
        let mut query = InboxQuery { scope, filter, sort, limit: CLAIM_NEXT_PAGE, after: None };
        loop {
            let page = self.inbox(&query).await?;
            for task in &page.tasks {
                if let Some(executed) = taken(self.claim(task.id, None).await)? {
                    return Ok(Some((task.id, executed)));
                }
            }
            match page.next {
                Some(next) if page.has_next => query.after = Some(next),
                _ => return Ok(None),
            }
        }
    }

    /// Claims the first open, unclaimed task of one case that the principal may take, in the
    /// order the case's tasks were created: "give me my next task on this case", for a
    /// principal (an integration, a handler at the case's page) who knows the case. The tasks
    /// are found in the case's state, from the node's copy when it holds one, not in the inbox
    /// tables; a task the core refuses the principal (not a candidate, separation of duties, a
    /// suspended case), or that someone else claims first, is passed over. When nothing could
    /// be taken from a copy that may be behind (another node's commits, on PostgreSQL), the
    /// case is read as committed and tried once more. Returns the claimed task's id and the
    /// command's result, or `None` when the case has no task left for the principal.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] when the principal may not read inboxes or work on tasks,
    /// [`StoreError::CaseNotFound`] for an unknown case, or a database failure.
    pub async fn claim_next_of_case(&self, case_id: &str) -> Result<Option<(i64, Executed)>, StoreError> {
        self.allow(Operation::ReadInbox)?;
        self.allow(Operation::WorkOnTasks)?;
        if let Some((held, current)) = self.store.held_case(case_id) {
            let claimed = self.claim_first_of(case_id, &held.state).await?;
            if claimed.is_some() || current {
                return Ok(claimed);
            }
        }
        let (_, committed) = self.store.committed_case(case_id).await?;
        self.claim_first_of(case_id, &committed).await
    }

    /// Claims the first unclaimed task of `state` (case `case_id`) the core lets the
    /// principal take, in key order.
    async fn claim_first_of(&self, case_id: &str, state: &CaseState) -> Result<Option<(i64, Executed)>, StoreError> {
        let mut open: Vec<TaskKey> =
            state.tasks.iter().filter(|t| t.assignee.is_none() && t.escalation.is_none()).map(|t| t.key).collect();
        open.sort_unstable();
        for key in open {
            let claim = Command::Claim { task: key, actor: self.principal.actor() };
            if let Some(executed) = taken(self.store.execute(case_id, claim, &self.actor(), None).await)? {
                let task = self.store.task_of_case(case_id, key).await?.ok_or_else(|| StoreError::Corrupt {
                    case: case_id.to_owned(),
                    reason: format!("task {} has no row", key.0),
                })?;
                return Ok(Some((task.id, executed)));
            }
        }
        Ok(None)
    }

    /// Puts a claimed task back into its group inbox.
    ///
    /// # Errors
    /// As [`Session::claim`].
    pub async fn unclaim(&self, id: i64, idem: Option<String>) -> Result<Executed, StoreError> {
        let actor = self.principal.actor();
        self.on_task(Operation::WorkOnTasks, id, |task| Command::Unclaim { task, actor }, idem).await
    }

    /// Hands one's task to another user.
    ///
    /// # Errors
    /// As [`Session::claim`].
    pub async fn delegate(&self, id: i64, to: String, idem: Option<String>) -> Result<Executed, StoreError> {
        let actor = self.principal.actor();
        self.on_task(Operation::WorkOnTasks, id, |task| Command::Delegate { task, actor, to }, idem).await
    }

    /// Assigns a task to a user (section chiefs and leaders).
    ///
    /// # Errors
    /// As [`Session::claim`].
    pub async fn assign(&self, id: i64, to: String, idem: Option<String>) -> Result<Executed, StoreError> {
        let actor = self.principal.actor();
        self.on_task(Operation::AssignTasks, id, |task| Command::Assign { task, actor, to }, idem).await
    }

    /// Attaches a record to one's task.
    ///
    /// # Errors
    /// As [`Session::claim`].
    pub async fn attach_record(
        &self,
        id: i64,
        record: RecordRef,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        let actor = self.principal.actor();
        self.on_task(Operation::WorkOnTasks, id, |task| Command::AttachRecord { task, actor, record }, idem).await
    }

    /// Completes one's task.
    ///
    /// # Errors
    /// As [`Session::claim`], plus the completion's checks (outcome, form, checklist,
    /// records, compliance guards).
    pub async fn complete(
        &self,
        id: i64,
        completion: Completion,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        let actor = self.principal.actor();
        self.on_task(Operation::WorkOnTasks, id, |task| Command::Complete { task, actor, completion }, idem).await
    }

    /// Escalates a disagreement on one's task to `to` (the leaders).
    ///
    /// # Errors
    /// As [`Session::claim`].
    pub async fn escalate(
        &self,
        id: i64,
        to: String,
        reason: String,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        let actor = self.principal.actor();
        self.on_task(Operation::WorkOnTasks, id, |task| Command::EscalateTask { task, actor, to, reason }, idem).await
    }

    /// Rules on an escalated disagreement (leaders).
    ///
    /// # Errors
    /// As [`Session::claim`].
    pub async fn resolve_escalation(
        &self,
        id: i64,
        outcome: Option<String>,
        note: String,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        let actor = self.principal.actor();
        self.on_task(
            Operation::ResolveEscalations,
            id,
            |task| Command::ResolveEscalation { task, actor, outcome, note },
            idem,
        )
        .await
    }

    /// Pauses a task's deadline clock (hearing, expert review), with the reason.
    ///
    /// # Errors
    /// As [`Session::claim`].
    pub async fn pause_deadline(&self, id: i64, reason: String, idem: Option<String>) -> Result<Executed, StoreError> {
        self.on_task(Operation::PauseDeadlines, id, |task| Command::PauseDeadline { task, reason }, idem).await
    }

    /// Restarts a paused deadline clock.
    ///
    /// # Errors
    /// As [`Session::claim`].
    pub async fn resume_deadline(&self, id: i64, idem: Option<String>) -> Result<Executed, StoreError> {
        self.on_task(Operation::PauseDeadlines, id, |task| Command::ResumeDeadline { task }, idem).await
    }

    // ----- cases -----

    /// Reads a case file, writing the read to the record-access log first.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], [`StoreError::BadRequest`] for an empty or overlong purpose,
    /// [`StoreError::CaseNotFound`], or a database failure.
    pub async fn read_case(
        &self,
        id: &str,
        what: &str,
        purpose: &str,
    ) -> Result<(cases::Model, CaseState), StoreError> {
        self.allow(Operation::ReadCase)?;
        let purpose = purpose.trim();
        if purpose.is_empty() {
            return Err(StoreError::BadRequest("reading a case file needs a stated purpose".into()));
        }
        if purpose.chars().count() > MAX_PURPOSE {
            return Err(StoreError::BadRequest(format!("the purpose is longer than {MAX_PURPOSE} characters")));
        }
        let (row, state) = self.store.case_state(id).await?;
        self.store.log_access(id, &self.principal.user, what, purpose).await?;
        Ok((row, state))
    }

    /// Lists cases (status, flow and business key; reading one needs [`Session::read_case`]).
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] or a database failure.
    pub async fn cases(
        &self,
        filter: &super::read::CaseFilter,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<cases::Model>, StoreError> {
        self.allow(Operation::ReadCase)?;
        self.store.cases(filter, after, limit).await
    }

    /// Starts a case.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], an unknown flow, bad variables, or a database failure.
    pub async fn start_case(
        &self,
        flow: String,
        version: Option<u32>,
        business_key: Option<String>,
        variables: Variables,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        self.allow(Operation::StartCase)?;
        self.store
            .start_case(StartCase {
                flow,
                version,
                business_key,
                variables,
                actor: self.actor(),
                idempotency_key: self.idempotency(idem)?,
                at: None,
            })
            .await
    }

    /// Starts a case at the message start event named `message` of the newest version of a
    /// deployed flow (of `flow` when given; otherwise the message must start exactly one flow).
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], [`StoreError::NotFound`] when no flow starts on the
    /// message, [`StoreError::BadRequest`] when several do and no flow is named.
    pub async fn start_case_by_message(
        &self,
        message: &str,
        flow: Option<&str>,
        business_key: Option<String>,
        variables: Variables,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        self.allow(Operation::StartCase)?;
        let mut keys: Vec<String> = self.store.definition_rows(flow).await?.into_iter().map(|d| d.key).collect();
        keys.dedup();
        let mut found: Vec<(String, String)> = Vec::new();
        for key in keys {
            let loaded = self.store.loaded_definition(&key, None).await?;
            for node in &loaded.definition.flow.nodes {
                if matches!(&node.kind, NodeKind::Start(StartTrigger::Message(m)) if m == message) {
                    found.push((key.clone(), node.id.clone()));
                }
            }
        }
        let (flow, node) = match found.len() {
            0 => return Err(StoreError::NotFound(format!("no deployed flow starts on message `{message}`"))),
            1 => found.remove(0),
            _ => {
                let flows: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
                return Err(StoreError::BadRequest(format!(
                    "message `{message}` starts several flows ({}); name the flow",
                    flows.join(", ")
                )));
            }
        };
        self.store
            .start_case(StartCase {
                flow,
                version: None,
                business_key,
                variables,
                actor: self.actor(),
                idempotency_key: self.idempotency(idem)?,
                at: Some(node),
            })
            .await
    }

    async fn on_case(
        &self,
        operation: Operation,
        case_id: &str,
        command: Command,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        self.allow(operation)?;
        self.store.execute(case_id, command, &self.actor(), self.idempotency(idem)?).await
    }

    /// Delivers a message to a case.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], no one waiting for it, or a database failure.
    pub async fn correlate_message(
        &self,
        case_id: &str,
        name: String,
        variables: Variables,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        self.on_case(Operation::CorrelateMessages, case_id, Command::CorrelateMessage { name, variables }, idem).await
    }

    /// Records that a decision of the case was published (行政执法公示): the case's pending
    /// publication (at `node`, when it has several) is done and the case moves on.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], [`StoreError::NotFound`] when nothing awaits publication,
    /// or the core's refusal.
    pub async fn record_publication(
        &self,
        case_id: &str,
        node: Option<&str>,
        idem: Option<String>,
    ) -> Result<Executed, StoreError> {
        self.allow(Operation::RecordPublications)?;
        let pending: Vec<_> = self
            .store
            .case_publications(case_id)
            .await?
            .into_iter()
            .filter(|p| p.published_at.is_none() && node.is_none_or(|n| p.node_id == n))
            .collect();
        let publication = match pending.as_slice() {
            [one] => PublicationKey(one.publication_key as u32),
            [] => return Err(StoreError::NotFound(format!("case {case_id} has no decision awaiting publication"))),
            _ => return Err(StoreError::BadRequest("several publications are pending; name the node".into())),
        };
        let idem = self.idempotency(idem)?;
        self.store.execute(case_id, Command::Published { publication }, &self.actor(), idem).await
    }

    /// Suspends a case.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] or the core's refusal.
    pub async fn suspend(&self, case_id: &str, idem: Option<String>) -> Result<Executed, StoreError> {
        self.on_case(Operation::SuspendCases, case_id, Command::Suspend, idem).await
    }

    /// Resumes a suspended case.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] or the core's refusal.
    pub async fn resume(&self, case_id: &str, idem: Option<String>) -> Result<Executed, StoreError> {
        self.on_case(Operation::SuspendCases, case_id, Command::Resume, idem).await
    }

    /// Cancels a case.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] or the core's refusal.
    pub async fn cancel(&self, case_id: &str, reason: String, idem: Option<String>) -> Result<Executed, StoreError> {
        self.on_case(Operation::CancelCases, case_id, Command::Cancel { reason }, idem).await
    }

    /// Retries the job or expression behind an incident (by the incident's row id).
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], an unknown incident, or the core's refusal.
    pub async fn retry_incident(&self, id: i64, idem: Option<String>) -> Result<Executed, StoreError> {
        self.allow(Operation::RetryIncidents)?;
        let incident =
            self.store.incident_row(id).await?.ok_or_else(|| StoreError::NotFound(format!("no incident {id}")))?;
        let command = Command::RetryIncident { incident: IncidentKey(incident.incident_key as u32) };
        self.store.execute(&incident.case_id, command, &self.actor(), self.idempotency(idem)?).await
    }

    /// Moves a case to another version of its flow.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], [`StoreError::Migration`], or a database failure.
    pub async fn migrate_case(&self, case_id: &str, version: u32) -> Result<Executed, StoreError> {
        self.allow(Operation::MigrateCases)?;
        self.store.migrate_case(case_id, version, &self.principal.user).await
    }

    // ----- definitions -----

    /// Validates a definition without deploying it.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] or a database failure.
    pub async fn validate(&self, source: &str) -> Result<Vec<Problem>, StoreError> {
        self.allow(Operation::ValidateDefinitions)?;
        self.store.validate(source).await
    }

    /// Deploys a definition.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], [`StoreError::Invalid`] with the problems, or a database
    /// failure.
    pub async fn deploy(&self, source: &str) -> Result<Deployment, StoreError> {
        self.allow(Operation::DeployDefinitions)?;
        self.store.deploy(source, &self.principal.user).await
    }

    // ----- saved inbox views -----

    /// Saves an inbox view, private or shared with one of the principal's groups or roles.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] (sharing needs [`Operation::ShareViews`] and a group the
    /// principal is in), [`StoreError::BadRequest`] for an empty name.
    pub async fn save_view(
        &self,
        name: &str,
        shared_with: Option<&str>,
        filter: &InboxFilter,
    ) -> Result<inbox_views::Model, StoreError> {
        self.allow(Operation::SavePrivateViews)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::BadRequest("a view needs a name of 1 to 100 characters".into()));
        }
        if let Some(group) = shared_with {
            self.allow(Operation::ShareViews)?;
            if !self.principal.inbox_groups().iter().any(|g| g == group) {
                return Err(crate::access::Forbidden {
                    user: self.principal.user.clone(),
                    what: "share a view with a group or role they are not in",
                }
                .into());
            }
        }
        let json = serde_json::to_string(filter).map_err(|e| StoreError::BadRequest(e.to_string()))?;
        self.store.save_inbox_view(&self.principal.user, name, shared_with, &json).await
    }

    /// The views the principal can use: its own and those shared with its groups and roles.
    ///
    /// # Errors
    /// A database failure.
    pub async fn views(&self) -> Result<Vec<inbox_views::Model>, StoreError> {
        self.store.inbox_views(&self.principal.user, &self.principal.inbox_groups()).await
    }

    /// A view the principal can use.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist or is not visible to the principal.
    pub async fn view(&self, id: i64) -> Result<inbox_views::Model, StoreError> {
        let groups = self.principal.inbox_groups();
        match self.store.inbox_view(id).await? {
            Some(v) if v.owner == self.principal.user || v.shared_with.as_ref().is_some_and(|g| groups.contains(g)) => {
                Ok(v)
            }
            _ => Err(StoreError::NotFound(format!("no inbox view {id}"))),
        }
    }

    /// Deletes one of the principal's own views.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], or [`StoreError::Forbidden`] for someone else's view.
    pub async fn delete_view(&self, id: i64) -> Result<(), StoreError> {
        let view = self.view(id).await?;
        if view.owner != self.principal.user {
            return Err(
                crate::access::Forbidden { user: self.principal.user.clone(), what: "delete another's view" }.into()
            );
        }
        self.store.delete_inbox_view(id).await?;
        Ok(())
    }
}
