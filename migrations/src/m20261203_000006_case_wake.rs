//! A case carries its own next timer; the `timers` table goes.
//!
//! A case's armed timers are already in its state document (the source of truth), and the
//! timer worker only ever needs the earliest one of each case. Keeping one row per armed timer
//! meant every deadline ladder rung was a row with three B-trees, inserted when the task opened
//! and deleted when it closed: more rows than the audit log. Instead the case row holds its
//! next timer (`wake_at`, `wake_timer`) and the lease of the node firing it (`wake_lease_owner`,
//! `wake_lease_until`), written by the command's own update of the case; a partial index on
//! `wake_at` serves the timer worker.
//!
//! Up fills the new columns from the `timers` table (each case's earliest timer); down creates
//! the table again with one row per timer of each case's state that is not suspended, as the
//! engine before this migration wrote them.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_schema::{Timers, create_timers};

/// Moves each case's next timer onto its row and drops `timers`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    WakeAt,
    WakeTimer,
    WakeLeaseOwner,
    WakeLeaseUntil,
}

const WAKE_INDEX: &str = "idx_cases_wake_at";

/// Each case's earliest timer (by due instant, then key), from the `timers` table.
const FILL_WAKE: &str = "UPDATE cases SET \
     wake_at = (SELECT t.due_at FROM timers t WHERE t.case_id = cases.id ORDER BY t.due_at, t.timer_key LIMIT 1), \
     wake_timer = (SELECT t.timer_key FROM timers t WHERE t.case_id = cases.id ORDER BY t.due_at, t.timer_key LIMIT 1) \
     WHERE id IN (SELECT case_id FROM timers)";

/// One `timers` row per timer in the state of each case that is neither suspended nor closed.
fn restore_timers(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "INSERT INTO timers (case_id, timer_key, due_at, purpose) \
             SELECT c.id, (t.value ->> 'key')::integer, (t.value ->> 'due')::bigint, (t.value -> 'purpose')::text \
             FROM cases c, json_array_elements(c.state::json -> 'timers') t \
             WHERE c.status IN ('new', 'active')"
        }
        _ => {
            "INSERT INTO timers (case_id, timer_key, due_at, purpose) \
             SELECT c.id, json_extract(t.value, '$.key'), json_extract(t.value, '$.due'), \
             json(json_extract(t.value, '$.purpose')) \
             FROM cases c, json_each(c.state, '$.timers') t \
             WHERE c.status IN ('new', 'active')"
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on every store: the timers move, or nothing changes.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        let columns = [
            big_integer_null(Cases::WakeAt),
            integer_null(Cases::WakeTimer),
            string_len_null(Cases::WakeLeaseOwner, 100),
            big_integer_null(Cases::WakeLeaseUntil),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Cases::Table).add_column(&mut column).to_owned()).await?;
        }
        manager.get_connection().execute_unprepared(FILL_WAKE).await?;
        manager
            .create_index(
                Index::create()
                    .name(WAKE_INDEX)
                    .table(Cases::Table)
                    .col(Cases::WakeAt)
                    .and_where(Expr::col(Cases::WakeAt).is_not_null())
                    .to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(Timers::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_timers(manager).await?;
        let db = manager.get_connection();
        db.execute_unprepared(restore_timers(db.get_database_backend())).await?;
        manager.drop_index(Index::drop().name(WAKE_INDEX).table(Cases::Table).to_owned()).await?;
        for column in [Cases::WakeLeaseUntil, Cases::WakeLeaseOwner, Cases::WakeTimer, Cases::WakeAt] {
            manager.alter_table(Table::alter().table(Cases::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
