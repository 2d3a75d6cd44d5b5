//! Timer start events: a flow's `type: start` nodes with a `timer` begin cases on their own.
//!
//! Deploying a new version of a flow replaces the flow's rows in `start_timers` (in the deploy's
//! transaction) with one row per timer start event of that version, due at its first
//! occurrence. Only the newest version of a flow starts cases by timer, as with message start
//! events. The timer worker of every node takes due rows with a lease, starts a case at the
//! start event and moves the row to the next occurrence of a cycle (a one-time timer's row is
//! removed).
//!
//! Exactly once: the start carries an idempotency key made of the definition, the start event
//! and the occurrence, so a node that dies between starting the case and moving the row on
//! leaves a row whose next taker gets the first case back instead of starting another.
//! Occurrences missed while no node ran fire once, not once per missed occurrence.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entity::start_timers;
use super::error::StoreError;
use super::runtime::{StartCase, Store};
use crate::calendar::Calendar;
use crate::core::Variables;
use crate::model::{Flow, NodeKind, StartTrigger, Timer};
use crate::time::Timestamp;

/// The timer start events of a flow.
fn timer_starts(flow: &Flow) -> impl Iterator<Item = (&str, &Timer)> {
    flow.nodes.iter().filter_map(|n| match &n.kind {
        NodeKind::Start(StartTrigger::Timer(timer)) => Some((n.id.as_str(), timer)),
        _ => None,
    })
}

/// Replaces the start timers of `flow`'s key with those of the version just deployed
/// (`definition_id`), each due at its first occurrence after `now` (on the flow's `calendar`).
/// A timer that can never fire (a cycle with no further occurrence) is left out, with a warning.
///
/// # Errors
/// A database failure.
pub(crate) async fn replace<C: ConnectionTrait>(
    db: &C,
    definition_id: i64,
    flow: &Flow,
    now: Timestamp,
    calendar: Option<&Calendar>,
) -> Result<(), StoreError> {
    start_timers::Entity::delete_many().filter(start_timers::Column::FlowKey.eq(&flow.id)).exec(db).await?;
    for (node, timer) in timer_starts(flow) {
        let due = match timer.due_after(now, calendar) {
            Ok(due) => due,
            Err(reason) => {
                tracing::warn!(flow = %flow.id, node, %reason, "timer start event will not fire");
                continue;
            }
        };
        start_timers::Entity::insert(start_timers::ActiveModel {
            definition_id: Set(definition_id),
            flow_key: Set(flow.id.clone()),
            node_id: Set(node.to_owned()),
            due_at: Set(due.0),
            ..Default::default()
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Fires one taken start timer: starts its case (idempotent per occurrence), then moves the
/// row to the next occurrence or removes it. A start that fails for a reason a retry may
/// cure leaves the row leased, so it is taken again when the lease ends.
pub(crate) async fn fire(store: &Store, row: start_timers::Model) {
    let loaded = match store.definition_by_id(store.db(), row.definition_id).await {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::warn!(flow = %row.flow_key, node = %row.node_id, error = %e, "start timer's flow unreadable");
            return;
        }
    };
    let flow = &loaded.definition.flow;
    let Some((_, timer)) = timer_starts(flow).find(|(node, _)| *node == row.node_id) else {
        remove(store, &row).await;
        return;
    };
    let start = StartCase {
        flow: loaded.key.clone(),
        version: Some(loaded.version),
        business_key: None,
        variables: Variables::new(),
        actor: "engine".into(),
        idempotency_key: Some(occurrence_key(&row)),
        at: Some(row.node_id.clone()),
    };
    match store.start_case(start).await {
        Ok(executed) => {
            let lag = Ord::max(store.now().0 - row.due_at, 0) as f64 / 1000.0;
            metrics::histogram!("docket_timer_lag_seconds").record(lag);
            tracing::info!(flow = %row.flow_key, node = %row.node_id, case = %executed.case_id, "started by timer");
        }
        Err(e) if e.is_retryable() => {
            tracing::warn!(flow = %row.flow_key, node = %row.node_id, error = %e, "timer start will be retried");
            return;
        }
        Err(e) => tracing::warn!(flow = %row.flow_key, node = %row.node_id, error = %e, "timer start refused"),
    }
    if !timer.repeats() {
        remove(store, &row).await;
        return;
    }
    let calendar = store.calendar_of(flow);
    let after = Timestamp(Ord::max(store.now().0, row.due_at));
    match timer.due_after(after, calendar) {
        Ok(next) => {
            let moved = start_timers::Entity::update_many()
                .col_expr(start_timers::Column::DueAt, Expr::value(next.0))
                .col_expr(start_timers::Column::LeaseOwner, Expr::value(Option::<String>::None))
                .col_expr(start_timers::Column::LeaseUntil, Expr::value(Option::<i64>::None))
                .filter(unchanged(&row))
                .exec(store.db())
                .await;
            if let Err(e) = moved {
                tracing::warn!(flow = %row.flow_key, node = %row.node_id, error = %e, "start timer not moved on");
            }
        }
        Err(reason) => {
            tracing::warn!(flow = %row.flow_key, node = %row.node_id, %reason, "timer start event will not fire again");
            remove(store, &row).await;
        }
    }
}

/// The idempotency key of one occurrence of a start timer.
fn occurrence_key(row: &start_timers::Model) -> String {
    format!("start-timer\u{1f}{}\u{1f}{}\u{1f}{}", row.definition_id, row.node_id, row.due_at)
}

/// The row as it was taken: neither redeployed nor moved on by another node meanwhile.
fn unchanged(row: &start_timers::Model) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(start_timers::Column::Id.eq(row.id))
        .add(start_timers::Column::DefinitionId.eq(row.definition_id))
        .add(start_timers::Column::DueAt.eq(row.due_at))
}

async fn remove(store: &Store, row: &start_timers::Model) {
    if let Err(e) = start_timers::Entity::delete_many().filter(unchanged(row)).exec(store.db()).await {
        tracing::warn!(flow = %row.flow_key, node = %row.node_id, error = %e, "start timer not removed");
    }
}
