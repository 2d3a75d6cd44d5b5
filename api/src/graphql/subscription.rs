//! The subscription root: inbox changes, over graphql-ws (`/graphql/ws`).

use async_graphql::{Context, Enum, Result, Subscription as SubscriptionRoot};
use chrono::{DateTime, Utc};
use docket_engine::access::{Operation, Principal, authorize};
use docket_engine::store::{ChangeFeed, TaskChange};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::error::{OrGraphql, coded};
use super::types::{Task, instant, principal, store};

/// Live updates.
pub struct Subscription;

/// What happened to a task.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "docket_engine::store::ChangeKind")]
pub enum InboxChangeKind {
    /// It entered inboxes.
    Created,
    /// Its assignee changed (claim, unclaim, delegate, assign).
    Assigned,
    /// A disagreement on it was escalated.
    Escalated,
    /// The escalation was ruled on.
    Resolved,
    /// Its due date moved, or an escalation ladder offered it to another group.
    Updated,
    /// It was completed or cancelled.
    Closed,
}

/// A change to a task in one of my inboxes.
pub struct InboxChange(TaskChange);

#[async_graphql::Object]
impl InboxChange {
    /// What happened.
    async fn kind(&self) -> InboxChangeKind {
        self.0.kind.into()
    }
    /// The task as it is after the change.
    async fn task(&self) -> Task {
        Task(self.0.task.clone())
    }
    /// Who made the change (`engine` for timers and jobs).
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        instant(self.0.at)
    }
}

/// Whether a change concerns the principal: the task is in one of its inboxes, or it made the
/// change; those who may read any inbox see every change.
fn concerns(store: &docket_engine::store::Store, principal: &Principal, change: &TaskChange) -> bool {
    authorize(principal, Operation::ReadAnyInbox).is_ok()
        || change.actor == principal.user
        || store.session(principal).works_on(&change.task)
}

#[SubscriptionRoot]
impl Subscription {
    /// Changes to tasks in my inboxes, as they commit (on any node).
    async fn inbox_changes(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = InboxChange> + use<>> {
        let principal = principal(ctx)?.clone();
        store(ctx)?.session(&principal).allow(Operation::ReadInbox).gql()?;
        let feed = ctx.data::<ChangeFeed>().map_err(|_| coded("UNAVAILABLE", "live updates are not running"))?;
        let receiver = feed.subscribe();
        let store = store(ctx)?.clone();
        Ok(futures_util::stream::unfold((receiver, principal, store), |(mut receiver, principal, store)| async move {
            loop {
                match receiver.recv().await {
                    Ok(change) if concerns(&store, &principal, &change) => {
                        return Some((InboxChange(change), (receiver, principal, store)));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, user = %principal.user, "a slow subscriber missed inbox changes");
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }))
    }
}
