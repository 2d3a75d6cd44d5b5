//! Rows a batch appends, written just before it commits with one statement per table (per
//! few hundred rows) instead of one per command: audit entries, evidence records, outbox
//! events, and timers armed and disarmed. Nothing in a batch reads them back, so writing them
//! late changes no answer; timer operations keep their order.

use sea_orm::sea_query::{Condition, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};

use super::entity::{audit_log, evidence_records, outbox, timers};

/// Rows per statement: well under SQLite's and PostgreSQL's limits on bound parameters.
const CHUNK: usize = 400;

/// A timer row armed (inserted or re-armed) or disarmed (deleted), in command order.
pub(crate) enum TimerOp {
    /// Insert, or update the due instant and clear the lease of an existing row.
    Arm(timers::ActiveModel),
    /// Delete the timer with this key of this case.
    Disarm {
        /// The case.
        case_id: String,
        /// The timer key.
        key: i32,
    },
}

/// Writes waiting for the end of the batch.
#[derive(Default)]
pub(crate) struct Deferred {
    pub audit: Vec<audit_log::ActiveModel>,
    pub evidence: Vec<evidence_records::ActiveModel>,
    pub outbox: Vec<outbox::ActiveModel>,
    pub timers: Vec<TimerOp>,
}

impl Deferred {
    /// Writes everything, in the batch's transaction.
    pub(crate) async fn flush(self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        for chunk in self.audit.chunks(CHUNK) {
            audit_log::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
        }
        for chunk in self.evidence.chunks(CHUNK) {
            evidence_records::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
        }
        for chunk in self.outbox.chunks(CHUNK) {
            outbox::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
        }
        let mut ops = self.timers.into_iter().peekable();
        while let Some(op) = ops.next() {
            match op {
                TimerOp::Arm(first) => {
                    let mut rows = vec![first];
                    while rows.len() < CHUNK
                        && let Some(TimerOp::Arm(_)) = ops.peek()
                    {
                        if let Some(TimerOp::Arm(row)) = ops.next() {
                            rows.push(row);
                        }
                    }
                    timers::Entity::insert_many(rows)
                        .on_conflict(
                            OnConflict::columns([timers::Column::CaseId, timers::Column::TimerKey])
                                .update_columns([
                                    timers::Column::DueAt,
                                    timers::Column::Purpose,
                                    timers::Column::LeaseOwner,
                                    timers::Column::LeaseUntil,
                                ])
                                .to_owned(),
                        )
                        .exec_without_returning(txn)
                        .await?;
                }
                TimerOp::Disarm { case_id, key } => {
                    let mut which =
                        Condition::any().add(timers::Column::CaseId.eq(case_id).and(timers::Column::TimerKey.eq(key)));
                    let mut n = 1;
                    while n < CHUNK
                        && let Some(TimerOp::Disarm { .. }) = ops.peek()
                    {
                        if let Some(TimerOp::Disarm { case_id, key }) = ops.next() {
                            which = which.add(timers::Column::CaseId.eq(case_id).and(timers::Column::TimerKey.eq(key)));
                            n += 1;
                        }
                    }
                    timers::Entity::delete_many().filter(which).exec(txn).await?;
                }
            }
        }
        Ok(())
    }
}
