//! The mutation root. Every mutation goes through the principal's session: the access
//! policy first, then the case's own rules in the core.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::error::{OrGraphql, from_store, invalid};
use super::inputs::{
    AttachRecordInput, CancelCaseInput, CaseInput, ClaimNextTaskInput, CompleteTaskInput, CorrelateMessageInput,
    DefinitionInput, DeleteInboxViewInput, EscalateTaskInput, HandOverInput, MigrateCaseInput, PauseDeadlineInput,
    RecordPublicationInput, ResolveEscalationInput, RetryIncidentInput, SaveInboxViewInput, StartCaseByMessageInput,
    StartCaseInput, TaskInput, task_id, variables,
};
use super::query::{InboxView, inbox_filter};
use super::types::{CommandResult, DefinitionVersion, Problem, principal, store};
use docket_engine::store::StoreError;

/// Writes.
pub struct Mutation;

/// The result of validating a definition.
#[derive(SimpleObject)]
pub struct ValidationResult {
    /// Whether it can be deployed.
    pub valid: bool,
    /// Every problem, with line and column.
    pub problems: Vec<Problem>,
}

/// The result of deploying a definition.
#[derive(SimpleObject)]
pub struct DeployResult {
    /// The deployed version (an existing one when the source is unchanged); absent when the
    /// definition has problems.
    pub definition: Option<DefinitionVersion>,
    /// Whether a new version was created.
    pub created: bool,
    /// The validator's problems, with line and column; empty when deployed.
    pub problems: Vec<Problem>,
}

fn done(executed: docket_engine::store::Executed, task: Option<i64>) -> CommandResult {
    CommandResult { executed, task_id: task }
}

#[Object]
impl Mutation {
    /// Starts a case.
    async fn start_case(&self, ctx: &Context<'_>, input: StartCaseInput) -> Result<CommandResult> {
        let session = store(ctx)?.session(principal(ctx)?);
        let version =
            input.version.map(|v| u32::try_from(v).map_err(|_| invalid("`version` must be positive"))).transpose()?;
        let executed = session
            .start_case(input.flow, version, input.business_key, variables(input.variables)?, input.idempotency_key)
            .await
            .gql()?;
        Ok(done(executed, None))
    }

    /// Starts a case at the message start event of the deployed flow that starts on this
    /// message (a complaint received, a referral from another agency).
    async fn start_case_by_message(&self, ctx: &Context<'_>, input: StartCaseByMessageInput) -> Result<CommandResult> {
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session
            .start_case_by_message(
                &input.message,
                input.flow.as_deref(),
                input.business_key,
                variables(input.variables)?,
                input.idempotency_key,
            )
            .await
            .gql()?;
        Ok(done(executed, None))
    }

    /// Takes a task from a group inbox.
    async fn claim_task(&self, ctx: &Context<'_>, input: TaskInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let executed = store(ctx)?.session(principal(ctx)?).claim(id, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Takes the next task of one's group inbox: the first unclaimed task (by due date
    /// unless `sort` says otherwise) that the filter (and view) keep and one may take; or,
    /// with `caseId`, the first unclaimed task of that case one may take. A task someone else
    /// takes first, or that one may not take (separation of duties, a suspended case), is
    /// passed over. `null` when none is left. A retried request may take another task (the
    /// first stays one's own, in "my tasks"), so it takes no idempotency key.
    async fn claim_next_task(
        &self,
        ctx: &Context<'_>,
        input: Option<ClaimNextTaskInput>,
    ) -> Result<Option<CommandResult>> {
        let input = input.unwrap_or_default();
        let session = store(ctx)?.session(principal(ctx)?);
        if let Some(case_id) = &input.case_id {
            if input.view.is_some() || input.filter.is_some() || input.sort.is_some() {
                return Err(invalid("`caseId` takes no `view`, `filter` or `sort`"));
            }
            let claimed = session.claim_next_of_case(case_id.as_str()).await.gql()?;
            return Ok(claimed.map(|(id, executed)| done(executed, Some(id))));
        }
        let filter = inbox_filter(&session, input.view.as_ref(), input.filter).await?;
        let sort = input.sort.unwrap_or_default().to_sort();
        let claimed = session.claim_next(filter, sort).await.gql()?;
        Ok(claimed.map(|(id, executed)| done(executed, Some(id))))
    }

    /// Puts one's task back into its group inbox.
    async fn unclaim_task(&self, ctx: &Context<'_>, input: TaskInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let executed = store(ctx)?.session(principal(ctx)?).unclaim(id, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Hands one's task to another user.
    async fn delegate_task(&self, ctx: &Context<'_>, input: HandOverInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.delegate(id, input.to, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Assigns a task to a user (section chiefs and leaders).
    async fn assign_task(&self, ctx: &Context<'_>, input: HandOverInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.assign(id, input.to, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Attaches a record to one's task.
    async fn attach_record(&self, ctx: &Context<'_>, input: AttachRecordInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let record = input.record.to_record()?;
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.attach_record(id, record, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Completes one's task: outcome, form variables, checklist answers, records.
    async fn complete_task(&self, ctx: &Context<'_>, input: CompleteTaskInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let completion = input.to_completion()?;
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.complete(id, completion, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Escalates a disagreement on one's task to the leaders (or `to`).
    async fn escalate_task(&self, ctx: &Context<'_>, input: EscalateTaskInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.escalate(id, input.to, input.reason, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Rules on an escalated disagreement (leaders).
    async fn resolve_escalation(&self, ctx: &Context<'_>, input: ResolveEscalationInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.resolve_escalation(id, input.outcome, input.note, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Stops a task's deadline clock (hearing, expert review: 行政许可法 art. 45).
    async fn pause_deadline(&self, ctx: &Context<'_>, input: PauseDeadlineInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.pause_deadline(id, input.reason, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Restarts a paused deadline clock.
    async fn resume_deadline(&self, ctx: &Context<'_>, input: TaskInput) -> Result<CommandResult> {
        let id = task_id(&input.task_id)?;
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.resume_deadline(id, input.idempotency_key).await.gql()?;
        Ok(done(executed, Some(id)))
    }

    /// Delivers a message to a case.
    async fn correlate_message(&self, ctx: &Context<'_>, input: CorrelateMessageInput) -> Result<CommandResult> {
        let session = store(ctx)?.session(principal(ctx)?);
        let vars = variables(input.variables)?;
        let executed =
            session.correlate_message(input.case_id.as_str(), input.name, vars, input.idempotency_key).await.gql()?;
        Ok(done(executed, None))
    }

    /// Records that the case's decision was published (行政执法公示); the case moves on.
    async fn record_publication(&self, ctx: &Context<'_>, input: RecordPublicationInput) -> Result<CommandResult> {
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session
            .record_publication(input.case_id.as_str(), input.node.as_deref(), input.idempotency_key)
            .await
            .gql()?;
        Ok(done(executed, None))
    }

    /// Suspends a case: its timers stop and no task can be worked on.
    async fn suspend_case(&self, ctx: &Context<'_>, input: CaseInput) -> Result<CommandResult> {
        let session = store(ctx)?.session(principal(ctx)?);
        Ok(done(session.suspend(input.case_id.as_str(), input.idempotency_key).await.gql()?, None))
    }

    /// Resumes a suspended case.
    async fn resume_case(&self, ctx: &Context<'_>, input: CaseInput) -> Result<CommandResult> {
        let session = store(ctx)?.session(principal(ctx)?);
        Ok(done(session.resume(input.case_id.as_str(), input.idempotency_key).await.gql()?, None))
    }

    /// Cancels a case.
    async fn cancel_case(&self, ctx: &Context<'_>, input: CancelCaseInput) -> Result<CommandResult> {
        let session = store(ctx)?.session(principal(ctx)?);
        let executed = session.cancel(input.case_id.as_str(), input.reason, input.idempotency_key).await.gql()?;
        Ok(done(executed, None))
    }

    /// Retries the job or expression behind an incident.
    async fn retry_incident(&self, ctx: &Context<'_>, input: RetryIncidentInput) -> Result<CommandResult> {
        let id = input
            .incident_id
            .parse::<i64>()
            .map_err(|_| invalid(format!("`{}` is not an incident id", input.incident_id.as_str())))?;
        let session = store(ctx)?.session(principal(ctx)?);
        Ok(done(session.retry_incident(id, input.idempotency_key).await.gql()?, None))
    }

    /// Moves a running case to another version of its flow (nodes are matched by id).
    async fn migrate_case(&self, ctx: &Context<'_>, input: MigrateCaseInput) -> Result<CommandResult> {
        let version = u32::try_from(input.version).map_err(|_| invalid("`version` must be positive"))?;
        let session = store(ctx)?.session(principal(ctx)?);
        Ok(done(session.migrate_case(input.case_id.as_str(), version).await.gql()?, None))
    }

    /// Validates a definition without deploying it.
    async fn validate_definition(&self, ctx: &Context<'_>, input: DefinitionInput) -> Result<ValidationResult> {
        let session = store(ctx)?.session(principal(ctx)?);
        let problems: Vec<Problem> = session.validate(&input.source).await.gql()?.iter().map(Problem::from).collect();
        Ok(ValidationResult { valid: problems.is_empty(), problems })
    }

    /// Deploys a definition as the next version of its key (an unchanged source returns the
    /// existing version). A definition with problems is not deployed; the problems come back
    /// with line and column.
    async fn deploy_definition(&self, ctx: &Context<'_>, input: DefinitionInput) -> Result<DeployResult> {
        let store = store(ctx)?;
        let session = store.session(principal(ctx)?);
        match session.deploy(&input.source).await {
            Ok(deployment) => {
                let row = store
                    .definition_rows(Some(&deployment.key))
                    .await
                    .gql()?
                    .into_iter()
                    .find(|r| r.version as u32 == deployment.version);
                Ok(DeployResult {
                    definition: row.map(DefinitionVersion),
                    created: deployment.created,
                    problems: Vec::new(),
                })
            }
            Err(StoreError::Invalid(problems)) => Ok(DeployResult {
                definition: None,
                created: false,
                problems: problems.iter().map(Problem::from).collect(),
            }),
            Err(e) => Err(from_store(e)),
        }
    }

    /// Saves an inbox view (private, or shared with one of my groups or roles).
    async fn save_inbox_view(&self, ctx: &Context<'_>, input: SaveInboxViewInput) -> Result<InboxView> {
        let session = store(ctx)?.session(principal(ctx)?);
        let filter = input.filter.to_filter();
        Ok(InboxView(session.save_view(&input.name, input.shared_with.as_deref(), &filter).await.gql()?))
    }

    /// Deletes one of my inbox views.
    async fn delete_inbox_view(&self, ctx: &Context<'_>, input: DeleteInboxViewInput) -> Result<ID> {
        let id = input.id.parse::<i64>().map_err(|_| invalid(format!("`{}` is not a view id", input.id.as_str())))?;
        store(ctx)?.session(principal(ctx)?).delete_view(id).await.gql()?;
        Ok(input.id)
    }
}
