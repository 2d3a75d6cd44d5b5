//! Carrying out the core's effects on the tables, inside the command's transaction.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::command_db::{CommandDb, RunIn};

use super::entity::{incidents, jobs, outbox, task_candidates, tasks};
use super::error::StoreError;
use super::inbox::{ASSIGNEE, GROUP, NO_DUE, USER};
use super::runtime::LoadedDefinition;
use super::statements::{self, NewTask};
use crate::core::{Command, Effect, RecordRef, TaskKey};
use crate::model::Candidates;
use crate::time::Timestamp;

/// The case a command ran on, as its effects need it.
pub(crate) struct CaseContext<'a> {
    /// The case.
    pub case_id: &'a str,
    /// Its business key, copied onto its tasks for inbox filters.
    pub business_key: Option<&'a str>,
    /// Its definition.
    pub loaded: &'a LoadedDefinition,
    /// When the command ran.
    pub at: Timestamp,
    /// Who ran it.
    pub actor: &'a str,
}

/// Applies every effect of one command, in order.
pub(crate) async fn apply_effects(
    txn: &impl CommandDb,
    case: &CaseContext<'_>,
    command: &Command,
    effects: &[Effect],
) -> Result<(), StoreError> {
    let (case_id, at) = (case.case_id, case.at);
    // Engine events consume their row: a finished job, a publication made. (A case's timers
    // are in its state; its next one is on its row, which the command's case update wrote.)
    match command {
        Command::Published { publication } => {
            // The decision is public now (行政执法公示).
            txn.run_owned(statements::publication_made(txn.backend(), case_id, publication.0, at)).await?;
        }
        Command::JobSucceeded { job, .. } | Command::JobFailed { job, .. } => {
            jobs::Entity::delete_many()
                .filter(jobs::Column::CaseId.eq(case_id))
                .filter(jobs::Column::JobKey.eq(job.0 as i32))
                .run_in(txn)
                .await?;
        }
        _ => {}
    }
    for effect in effects {
        apply(txn, case, effect).await?;
    }
    Ok(())
}

async fn apply(txn: &impl CommandDb, case: &CaseContext<'_>, effect: &Effect) -> Result<(), StoreError> {
    let CaseContext { case_id, business_key, loaded, at, actor } = *case;
    let flow = &loaded.definition.flow;
    match effect {
        Effect::CreateTask { task, node, instance: _, candidates, assignee, priority, due } => {
            let n = flow.node(*node);
            let row = NewTask {
                case_id,
                task: *task,
                node_id: &n.id,
                name: n.name.as_deref().unwrap_or(&n.id),
                flow_key: &loaded.key,
                flow_version: loaded.version as i32,
                business_key,
                assignee: assignee.as_deref(),
                candidate_users: json_list(&candidates.users),
                candidate_groups: json_list(&candidates.groups),
                priority: *priority,
                due_at: due.map(|d| d.0),
                created_at: at,
            };
            txn.run_owned(statements::task_insert(txn.backend(), row)).await?;
            let mut rows = offered_rows(candidates);
            rows.extend(assignee.as_deref().map(|user| (ASSIGNEE, user)));
            offer(txn, case_id, *task, &rows).await?;
        }
        Effect::AssignTask { task, assignee } => {
            let backend = txn.backend();
            txn.run_owned(statements::task_assign(backend, case_id, *task, assignee.as_deref())).await?;
            txn.run_owned(statements::inbox_rows_drop_kind(backend, case_id, *task, ASSIGNEE)).await?;
            if let Some(user) = assignee {
                offer(txn, case_id, *task, &[(ASSIGNEE, user.as_str())]).await?;
            }
        }
        Effect::CompleteTask { task, by, outcome, records } => {
            let complete = statements::task_complete(txn.backend(), case_id, *task, by, outcome.as_deref(), at);
            txn.run_owned(complete).await?;
            drop_candidates(txn, case_id, *task).await?;
            insert_records(txn, case_id, *task, records, by, at).await?;
        }
        Effect::AttachRecord { task, record } => {
            insert_records(txn, case_id, *task, std::slice::from_ref(record), actor, at).await?;
        }
        Effect::EscalateTask { task, to, .. } => {
            task_rows(case_id, *task).col_expr(tasks::Column::State, Expr::value("escalated")).run_in(txn).await?;
            offer(txn, case_id, *task, &[(GROUP, to.as_str())]).await?;
        }
        Effect::ResolveEscalation { task, release, .. } => {
            task_rows(case_id, *task).col_expr(tasks::Column::State, Expr::value("open")).run_in(txn).await?;
            if let Some(group) = release {
                task_candidates::Entity::delete_many()
                    .filter(of_task(case_id, *task))
                    .filter(task_candidates::Column::Kind.eq(GROUP))
                    .filter(task_candidates::Column::Name.eq(group.as_str()))
                    .run_in(txn)
                    .await?;
            }
        }
        Effect::CancelTask { task } => {
            task_rows(case_id, *task)
                .col_expr(tasks::Column::State, Expr::value("cancelled"))
                .col_expr(tasks::Column::ClosedAt, Expr::value(at.0))
                .run_in(txn)
                .await?;
            drop_candidates(txn, case_id, *task).await?;
        }
        Effect::SetTaskDue { task, due } => {
            let due = due.map(|d| d.0);
            task_rows(case_id, *task).col_expr(tasks::Column::DueAt, Expr::value(due)).run_in(txn).await?;
            task_candidates::Entity::update_many()
                .col_expr(task_candidates::Column::DueAt, Expr::value(due.unwrap_or(NO_DUE)))
                .filter(of_task(case_id, *task))
                .run_in(txn)
                .await?;
        }
        Effect::Ladder { token, task, action, to } => {
            if *action == crate::calendar::LadderAction::EscalateTo
                && let Some(task) = task
            {
                offer(txn, case_id, *task, &[(GROUP, to.as_str())]).await?;
            }
            let payload = serde_json::json!({ "token": token, "task": task, "action": action, "to": to });
            emit(txn, case_id, "deadline_ladder", payload, at).await?;
        }
        // Timers live in the case state; the case update wrote its next one.
        Effect::ScheduleTimer { .. } | Effect::CancelTimer { .. } => {}
        Effect::CreateJob { job, node, job_type, attempt, run_at, variables } => {
            let model = jobs::ActiveModel {
                case_id: Set(case_id.to_owned()),
                job_key: Set(job.0 as i32),
                node_id: Set(flow.node(*node).id.clone()),
                job_type: Set(job_type.clone()),
                attempt: Set(*attempt as i32),
                run_at: Set(run_at.0),
                payload: Set(serde_json::to_string(variables).unwrap_or_default()),
                lease_owner: Set(None),
                lease_until: Set(None),
                last_error: Set(None),
                ..Default::default()
            };
            jobs::Entity::insert(model)
                .on_conflict(
                    OnConflict::columns([jobs::Column::CaseId, jobs::Column::JobKey])
                        .update_columns([
                            jobs::Column::Attempt,
                            jobs::Column::RunAt,
                            jobs::Column::Payload,
                            jobs::Column::LeaseOwner,
                            jobs::Column::LeaseUntil,
                        ])
                        .to_owned(),
                )
                .run_in(txn)
                .await?;
        }
        Effect::CancelJob { job } => {
            jobs::Entity::delete_many()
                .filter(jobs::Column::CaseId.eq(case_id))
                .filter(jobs::Column::JobKey.eq(job.0 as i32))
                .run_in(txn)
                .await?;
        }
        Effect::RaiseIncident { incident, node, code, message } => {
            incidents::Entity::insert(incidents::ActiveModel {
                case_id: Set(case_id.to_owned()),
                incident_key: Set(incident.0 as i32),
                node_id: Set(flow.node(*node).id.clone()),
                code: Set(code.clone()),
                message: Set(message.clone()),
                created_at: Set(at.0),
                resolved_at: Set(None),
                ..Default::default()
            })
            .run_in(txn)
            .await?;
        }
        Effect::ResolveIncident { incident } => {
            incidents::Entity::update_many()
                .col_expr(incidents::Column::ResolvedAt, Expr::value(at.0))
                .filter(incidents::Column::CaseId.eq(case_id))
                .filter(incidents::Column::IncidentKey.eq(incident.0 as i32))
                .run_in(txn)
                .await?;
        }
        Effect::OpenPublication { publication, node, category, due } => {
            let node_id = &flow.node(*node).id;
            let open = statements::publication_open(txn.backend(), case_id, publication.0, node_id, category, *due, at);
            txn.run_owned(open).await?;
        }
        Effect::StartCall { .. } | Effect::CancelCall { .. } | Effect::Escalate { .. } | Effect::CloseCase { .. } => {
            let kind = match effect {
                Effect::StartCall { .. } => "call_started",
                Effect::CancelCall { .. } => "call_cancelled",
                Effect::Escalate { .. } => "escalated",
                _ => "case_closed",
            };
            emit(txn, case_id, kind, serde_json::to_value(effect).unwrap_or_default(), at).await?;
        }
    }
    Ok(())
}

/// How many of a command's effects schedule a job's retry (for `docket_job_retries_total`,
/// counted once the transaction that runs a command's statements commits, not where they are
/// recorded).
pub(crate) fn job_retries(effects: &[Effect]) -> u64 {
    effects.iter().filter(|e| matches!(e, Effect::CreateJob { attempt, .. } if *attempt > 1)).count() as u64
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

fn task_rows(case_id: &str, task: TaskKey) -> sea_orm::UpdateMany<tasks::Entity> {
    tasks::Entity::update_many()
        .filter(tasks::Column::CaseId.eq(case_id))
        .filter(tasks::Column::TaskKey.eq(task.0 as i32))
}

/// The inbox rows of a case's task: `task_id = (the task's row id)`. A scalar subquery, not
/// `IN (...)`, so that the rows are read by the primary key `(task_id, kind, name)`: a join
/// could be planned from the inbox index instead. That index leads with the name (the ninth
/// migration), so a statement that adds only a kind, as replacing the `assignee` row does,
/// cannot be read through it.
fn of_task(case_id: &str, task: TaskKey) -> Expr {
    let id = Expr::SubQuery(None, Box::new(task_id_of(case_id, task).into()));
    ExprTrait::eq(Expr::col((task_candidates::Entity, task_candidates::Column::TaskId)), id)
}

/// The row id of a case's task, as a subquery.
fn task_id_of(case_id: &str, task: TaskKey) -> SelectStatement {
    Query::select()
        .column(tasks::Column::Id)
        .from(tasks::Entity)
        .and_where(tasks::Column::CaseId.eq(case_id))
        .and_where(tasks::Column::TaskKey.eq(task.0 as i32))
        .to_owned()
}

/// The inbox rows of a task offered to `candidates`: `(kind, name)`, groups first.
fn offered_rows(candidates: &Candidates) -> Vec<(&'static str, &str)> {
    let groups = candidates.groups.iter().map(|g| (GROUP, g.as_str()));
    groups.chain(candidates.users.iter().map(|u| (USER, u.as_str()))).collect()
}

/// Gives a case's task the inbox rows `(kind, name)` (see [`statements::inbox_rows_add`]).
async fn offer(txn: &impl CommandDb, case_id: &str, task: TaskKey, rows: &[(&str, &str)]) -> Result<(), StoreError> {
    if let Some(insert) = statements::inbox_rows_add(txn.backend(), case_id, task, rows) {
        txn.run_owned(insert).await?;
    }
    Ok(())
}

async fn drop_candidates(txn: &impl CommandDb, case_id: &str, task: TaskKey) -> Result<(), StoreError> {
    txn.run_owned(statements::inbox_rows_drop(txn.backend(), case_id, task)).await?;
    Ok(())
}

/// Files records with a task: one statement for all of them.
async fn insert_records(
    txn: &impl CommandDb,
    case_id: &str,
    task: TaskKey,
    records: &[RecordRef],
    by: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    if let Some(insert) = statements::records_insert(txn.backend(), case_id, task, records, by, at) {
        txn.run_owned(insert).await?;
    }
    Ok(())
}

/// Writes an event to the outbox, in the command's transaction.
async fn emit(
    txn: &impl CommandDb,
    case_id: &str,
    kind: &str,
    payload: serde_json::Value,
    at: Timestamp,
) -> Result<(), StoreError> {
    outbox::Entity::insert(outbox::ActiveModel {
        case_id: Set(case_id.to_owned()),
        kind: Set(kind.to_owned()),
        payload: Set(payload.to_string()),
        created_at: Set(at.0),
        delivered_at: Set(None),
        ..Default::default()
    })
    .run_in(txn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::JobKey;
    use crate::model::NodeIdx;

    #[test]
    fn only_later_attempts_of_a_job_count_as_retries() {
        let job = |attempt| Effect::CreateJob {
            job: JobKey(1),
            node: NodeIdx(0),
            job_type: "notify".into(),
            attempt,
            run_at: Timestamp(0),
            variables: Default::default(),
        };
        assert_eq!(job_retries(&[job(1)]), 0);
        assert_eq!(job_retries(&[job(1), job(2), Effect::CancelJob { job: JobKey(1) }, job(3)]), 2);
    }
}
