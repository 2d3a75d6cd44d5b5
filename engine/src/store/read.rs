//! Reading the store: tasks, cases and their timelines and deadlines, definitions,
//! incidents, the record-access log and saved inbox views; and the two writes that are not
//! case commands: logging a read of a case file, and moving a case to another flow version.

use std::sync::Arc;

use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    Statement,
};

use super::audit::{AuditEntry, log_row};
use super::case_cache::{CachedCase, Staged};
use super::command_db::{CommandDb, CommandRow};
use super::entity::{
    audit_log, cases, definitions, evidence_records, idempotency_keys, inbox_views, incidents, publications,
    record_access_log, tasks,
};
use super::error::StoreError;
use super::runtime::{Executed, LoadedDefinition, Store, decode_state, write_case};
use super::sql::inline_sqlite_limits;
use super::statements;
use crate::core::{self, CaseState, TaskKey};

/// A page of rows after a cursor (an id or a sequence number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Start after this id (exclusive).
    pub after: Option<i64>,
    /// At most this many rows.
    pub limit: u64,
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Status word (`active`, `completed`, ...).
    pub status: Option<String>,
    /// Flow key.
    pub flow: Option<String>,
    /// Business key.
    pub business_key: Option<String>,
}

impl Store {
    /// A task by its id.
    ///
    /// # Errors
    /// A database failure.
    pub async fn task_row(&self, id: i64) -> Result<Option<tasks::Model>, StoreError> {
        let query = tasks::Entity::find_by_id(id).limit(1).into_query();
        let row = self.hot_rows::<tasks::Model>(&query, Some(1)).await?.into_iter().next();
        self.inner.task_locations.note(row.as_ref());
        Ok(row)
    }

    /// A case's task by its key, if it has that task (noted in the task locations).
    ///
    /// # Errors
    /// A database failure.
    pub(crate) async fn task_of_case(&self, case_id: &str, key: TaskKey) -> Result<Option<tasks::Model>, StoreError> {
        let query = tasks::Entity::find()
            .filter(tasks::Column::CaseId.eq(case_id))
            .filter(tasks::Column::TaskKey.eq(key.0 as i32))
            .limit(1)
            .into_query();
        let row = self.hot_rows::<tasks::Model>(&query, Some(1)).await?.into_iter().next();
        self.inner.task_locations.note(row.as_ref());
        Ok(row)
    }

    /// The rows of a read every task command or inbox page makes (at most `most` of them): on
    /// a SQLite file on the caller's thread, from a read-only connection (see
    /// `SqliteReaders`); on PostgreSQL on a connection for point reads (see `pg_reads`); else
    /// on the pool.
    ///
    /// # Errors
    /// A database failure.
    pub(crate) async fn hot_rows<M: CommandRow>(
        &self,
        query: &SelectStatement,
        most: Option<usize>,
    ) -> Result<Vec<M>, StoreError> {
        let stmt = inline_sqlite_limits(self.db().get_database_backend().build(query));
        self.hot_statement_rows(&stmt, most).await
    }

    /// [`Store::hot_rows`] of a statement written for the store's database (its `LIMIT`s
    /// written into the text on SQLite).
    ///
    /// # Errors
    /// A database failure.
    pub(crate) async fn hot_statement_rows<M: CommandRow>(
        &self,
        stmt: &Statement,
        most: Option<usize>,
    ) -> Result<Vec<M>, StoreError> {
        if let Some(readers) = &self.inner.readers {
            return Ok(readers.pick().statement_rows(stmt, most)?);
        }
        if let Some(readers) = &self.inner.pg_readers {
            return Ok(readers.statement_rows(stmt, most).await?);
        }
        let rows = self.db().query_all_raw(stmt.clone()).await?;
        Ok(rows
            .iter()
            .take(most.unwrap_or(usize::MAX))
            .map(|row| M::from_query_result(row, ""))
            .collect::<Result<_, _>>()?)
    }

    /// The tasks of a case, open ones first, then by key.
    ///
    /// # Errors
    /// A database failure.
    pub async fn case_tasks(&self, case_id: &str, open_only: bool) -> Result<Vec<tasks::Model>, StoreError> {
        let mut q = tasks::Entity::find().filter(tasks::Column::CaseId.eq(case_id));
        if open_only {
            q = q.filter(tasks::Column::State.is_in(["open", "escalated"]));
        }
        Ok(q.order_by_asc(tasks::Column::TaskKey).all(self.db()).await?)
    }

    /// Cases, newest first (case ids are time-ordered UUIDs), after a case id.
    ///
    /// # Errors
    /// A database failure.
    pub async fn cases(
        &self,
        filter: &CaseFilter,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<cases::Model>, StoreError> {
        let mut q = cases::Entity::find();
        if let Some(s) = &filter.status {
            q = q.filter(cases::Column::Status.eq(s.as_str()));
        }
        if let Some(f) = &filter.flow {
            q = q.filter(cases::Column::FlowKey.eq(f.as_str()));
        }
        if let Some(b) = &filter.business_key {
            q = q.filter(cases::Column::BusinessKey.eq(b.as_str()));
        }
        if let Some(a) = after {
            q = q.filter(cases::Column::Id.lt(a));
        }
        Ok(q.order_by_desc(cases::Column::Id).limit(limit).all(self.db()).await?)
    }

    /// The definition a case runs on.
    ///
    /// # Errors
    /// A database failure or an unreadable definition.
    pub async fn case_definition(&self, case: &cases::Model) -> Result<Arc<LoadedDefinition>, StoreError> {
        self.definition_by_id(self.db(), case.definition_id).await
    }

    /// A deployed definition, prepared for running (the latest version when `None`).
    ///
    /// # Errors
    /// [`StoreError::FlowNotFound`] or a database failure.
    pub async fn loaded_definition(
        &self,
        key: &str,
        version: Option<u32>,
    ) -> Result<Arc<LoadedDefinition>, StoreError> {
        self.definition(self.db(), key, version).await
    }

    /// A case's audit entries after `page.after` (a sequence number), oldest first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn timeline(&self, case_id: &str, page: Page) -> Result<Vec<audit_log::Model>, StoreError> {
        Ok(audit_log::Entity::find()
            .filter(audit_log::Column::CaseId.eq(case_id))
            .filter(audit_log::Column::Seq.gt(page.after.unwrap_or(0)))
            .order_by_asc(audit_log::Column::Seq)
            .limit(page.limit)
            .all(self.db())
            .await?)
    }

    /// Audit entries of every case after an id, in id order (the change feed).
    ///
    /// # Errors
    /// A database failure.
    pub async fn audit_after(&self, after: i64, limit: u64) -> Result<Vec<audit_log::Model>, StoreError> {
        Ok(audit_log::Entity::find()
            .filter(audit_log::Column::Id.gt(after))
            .order_by_asc(audit_log::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?)
    }

    /// The id of the newest audit entry (0 when there is none).
    ///
    /// # Errors
    /// A database failure.
    pub async fn audit_head(&self) -> Result<i64, StoreError> {
        let head: Option<Option<i64>> = audit_log::Entity::find()
            .select_only()
            .column_as(audit_log::Column::Id.max(), "id")
            .into_tuple()
            .one(self.db())
            .await?;
        Ok(head.flatten().unwrap_or(0))
    }

    /// A case's publications (pending and made).
    ///
    /// # Errors
    /// A database failure.
    pub async fn case_publications(&self, case_id: &str) -> Result<Vec<publications::Model>, StoreError> {
        Ok(publications::Entity::find()
            .filter(publications::Column::CaseId.eq(case_id))
            .order_by_asc(publications::Column::PublicationKey)
            .all(self.db())
            .await?)
    }

    /// A case's evidence records, oldest first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn case_records(&self, case_id: &str) -> Result<Vec<evidence_records::Model>, StoreError> {
        Ok(evidence_records::Entity::find()
            .filter(evidence_records::Column::CaseId.eq(case_id))
            .order_by_asc(evidence_records::Column::Id)
            .all(self.db())
            .await?)
    }

    /// Every deployed version of every definition (or of one key), by key then version.
    ///
    /// # Errors
    /// A database failure.
    pub async fn definition_rows(&self, key: Option<&str>) -> Result<Vec<definitions::Model>, StoreError> {
        let mut q = definitions::Entity::find();
        if let Some(k) = key {
            q = q.filter(definitions::Column::Key.eq(k));
        }
        Ok(q.order_by_asc(definitions::Column::Key).order_by_asc(definitions::Column::Version).all(self.db()).await?)
    }

    /// Incidents (open ones only, or all), oldest first, after an id.
    ///
    /// # Errors
    /// A database failure.
    pub async fn incidents(&self, open_only: bool, page: Page) -> Result<Vec<incidents::Model>, StoreError> {
        let mut q = incidents::Entity::find().filter(incidents::Column::Id.gt(page.after.unwrap_or(0)));
        if open_only {
            q = q.filter(incidents::Column::ResolvedAt.is_null());
        }
        Ok(q.order_by_asc(incidents::Column::Id).limit(page.limit).all(self.db()).await?)
    }

    /// An incident by its id.
    ///
    /// # Errors
    /// A database failure.
    pub async fn incident_row(&self, id: i64) -> Result<Option<incidents::Model>, StoreError> {
        Ok(incidents::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// Writes one read of a case file to the record-access log. The read is answered only
    /// after this row is written.
    ///
    /// # Errors
    /// A database failure.
    pub async fn log_access(&self, case_id: &str, user: &str, what: &str, purpose: &str) -> Result<(), StoreError> {
        record_access_log::ActiveModel {
            case_id: Set(case_id.to_owned()),
            user_id: Set(user.to_owned()),
            at: Set(self.now().0),
            what: Set(what.to_owned()),
            purpose: Set(purpose.to_owned()),
            ..Default::default()
        }
        .insert(self.db())
        .await?;
        Ok(())
    }

    /// The record-access log, newest first, before an id; of one case or one user if given.
    ///
    /// # Errors
    /// A database failure.
    pub async fn access_log(
        &self,
        case_id: Option<&str>,
        user: Option<&str>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<record_access_log::Model>, StoreError> {
        let mut q = record_access_log::Entity::find();
        if let Some(c) = case_id {
            q = q.filter(record_access_log::Column::CaseId.eq(c));
        }
        if let Some(u) = user {
            q = q.filter(record_access_log::Column::UserId.eq(u));
        }
        if let Some(b) = before {
            q = q.filter(record_access_log::Column::Id.lt(b));
        }
        Ok(q.order_by_desc(record_access_log::Column::Id).limit(limit).all(self.db()).await?)
    }

    /// Saved inbox views `user` can use: its own and those shared with any of `groups`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn inbox_views(&self, user: &str, groups: &[String]) -> Result<Vec<inbox_views::Model>, StoreError> {
        let visible = sea_orm::Condition::any()
            .add(inbox_views::Column::Owner.eq(user))
            .add(inbox_views::Column::SharedWith.is_in(groups.iter().map(String::as_str)));
        Ok(inbox_views::Entity::find()
            .filter(visible)
            .order_by_asc(inbox_views::Column::Name)
            .order_by_asc(inbox_views::Column::Id)
            .all(self.db())
            .await?)
    }

    /// A saved view by id.
    ///
    /// # Errors
    /// A database failure.
    pub async fn inbox_view(&self, id: i64) -> Result<Option<inbox_views::Model>, StoreError> {
        Ok(inbox_views::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// Saves a view under its owner and name (replacing one of the same name).
    ///
    /// # Errors
    /// A database failure.
    pub async fn save_inbox_view(
        &self,
        owner: &str,
        name: &str,
        shared_with: Option<&str>,
        filter_json: &str,
    ) -> Result<inbox_views::Model, StoreError> {
        let now = self.now().0;
        let existing = inbox_views::Entity::find()
            .filter(inbox_views::Column::Owner.eq(owner))
            .filter(inbox_views::Column::Name.eq(name))
            .one(self.db())
            .await?;
        let model = match existing {
            Some(row) => {
                let mut active: inbox_views::ActiveModel = row.into();
                active.shared_with = Set(shared_with.map(str::to_owned));
                active.filter = Set(filter_json.to_owned());
                active.updated_at = Set(now);
                active.update(self.db()).await?
            }
            None => {
                inbox_views::ActiveModel {
                    owner: Set(owner.to_owned()),
                    name: Set(name.to_owned()),
                    shared_with: Set(shared_with.map(str::to_owned)),
                    filter: Set(filter_json.to_owned()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(self.db())
                .await?
            }
        };
        Ok(model)
    }

    /// Deletes a view; whether it existed.
    ///
    /// # Errors
    /// A database failure.
    pub async fn delete_inbox_view(&self, id: i64) -> Result<bool, StoreError> {
        Ok(inbox_views::Entity::delete_by_id(id).exec(self.db()).await?.rows_affected == 1)
    }

    /// Forgets the idempotency keys of commands older than `before`; returns how many.
    ///
    /// # Errors
    /// A database failure.
    pub async fn prune_idempotency_keys(&self, before: crate::time::Timestamp) -> Result<u64, StoreError> {
        let deleted = idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::CreatedAt.lt(before.0))
            .exec(self.db())
            .await?;
        Ok(deleted.rows_affected)
    }

    /// Moves a running case to `version` of its flow: the case's nodes are re-addressed by
    /// id ([`core::migrate`]), its open tasks follow, and the audit trail records the move.
    /// One transaction, guarded by the case version like every command.
    ///
    /// # Errors
    /// [`StoreError::Migration`] when the case's position has no counterpart in the target,
    /// [`StoreError::Conflict`] when the case changed meanwhile, or a closed case.
    pub async fn migrate_case(&self, case_id: &str, version: u32, actor: &str) -> Result<Executed, StoreError> {
        let txn = self.begin_write().await?;
        let row = cases::Entity::find_by_id(case_id.to_owned())
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::CaseNotFound(case_id.to_owned()))?;
        let state: CaseState = decode_state(&row)?;
        if state.status.is_closed() {
            return Err(core::TransitionError::CaseClosed.into());
        }
        let from = self.definition_by_id(&txn, row.definition_id).await?;
        let to = self.definition(&txn, &row.flow_key, Some(version)).await?;
        let moved = core::migrate(&from.definition, &to.definition, &state)?;
        let at = self.now();
        let state_json = serde_json::to_string(&moved)
            .map_err(|e| StoreError::Corrupt { case: case_id.to_owned(), reason: e.to_string() })?;
        let detail = serde_json::json!({ "from_version": from.version, "to_version": to.version }).to_string();
        let seq = row.audit_seq + 1;
        let entry = AuditEntry { case_id, seq, at: at.0, actor, kind: "migrate", detail: &detail };
        let (audit_row, hash) = log_row(&entry, &row.audit_hash);
        let written = cases::Model {
            definition_id: to.id,
            flow_version: to.version as i32,
            state: state_json,
            version: row.version + 1,
            audit_seq: seq,
            audit_hash: hash,
            updated_at: at.0,
            ..super::runtime::with_next_timer(row, &moved)
        };
        if !write_case(&txn, &written).await? {
            return Err(StoreError::Conflict);
        }
        txn.run_owned(statements::audit_insert(txn.backend(), audit_row)).await?;
        tasks::Entity::update_many()
            .col_expr(tasks::Column::FlowVersion, Expr::value(to.version as i32))
            .filter(tasks::Column::CaseId.eq(case_id))
            .filter(tasks::Column::State.is_in(["open", "escalated"]))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        tracing::info!(case = %case_id, from = from.version, to = to.version, "case migrated");
        let executed = Executed { case_id: case_id.to_owned(), version: written.version, status: moved.status };
        let mut staged = Staged::default();
        staged.put(CachedCase { row: written, state: moved });
        self.inner.cases.absorb(staged);
        Ok(executed)
    }
}
