//! The initial schema of the durable engine: definitions, cases, the task inbox, timers, jobs,
//! incidents, publications, the outbox, the hash-chained audit log, evidence records and
//! idempotency keys. Built with the sea-query schema builder only (no raw SQL), so SQLite and
//! PostgreSQL get the same tables, columns and indexes.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;

/// The tables this migration creates, in creation order.
const CREATED: &[&str] = &[
    "definitions",
    "cases",
    "tasks",
    "task_candidates",
    "timers",
    "jobs",
    "incidents",
    "publications",
    "outbox",
    "audit_log",
    "evidence_records",
    "idempotency_keys",
];

/// Creates (and, going down, drops) every table of the engine.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_definitions(manager).await?;
        create_cases(manager).await?;
        create_tasks(manager).await?;
        create_task_candidates(manager).await?;
        create_timers(manager).await?;
        create_jobs(manager).await?;
        create_incidents(manager).await?;
        create_publications(manager).await?;
        create_outbox(manager).await?;
        create_audit_log(manager).await?;
        create_evidence_records(manager).await?;
        create_idempotency_keys(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Reverse creation order: `cases` references `definitions`.
        for table in CREATED.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }

    /// Run in one transaction on every backend (SQLite has transactional DDL too), so a crash
    /// mid-migration never leaves half a schema behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Definitions {
    Table,
    Id,
    Key,
    Version,
    Name,
    Source,
    ContentHash,
    DeployedBy,
    DeployedAt,
}

async fn create_definitions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Definitions as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::Key, 100))
                .col(integer(T::Version))
                .col(string_len(T::Name, 200))
                .col(text(T::Source))
                .col(string_len(T::ContentHash, 64))
                .col(string_len(T::DeployedBy, 100))
                .col(big_integer(T::DeployedAt))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("uq_definitions_key_version", &[T::Key, T::Version], true),
            ("uq_definitions_key_content_hash", &[T::Key, T::ContentHash], true),
        ],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    Id,
    DefinitionId,
    FlowKey,
    FlowVersion,
    BusinessKey,
    Status,
    State,
    Version,
    ParentCaseId,
    ParentCall,
    AuditSeq,
    AuditHash,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
}

async fn create_cases(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Cases as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(string_len(T::Id, 36).primary_key())
                .col(big_integer(T::DefinitionId))
                .col(string_len(T::FlowKey, 100))
                .col(integer(T::FlowVersion))
                .col(string_len_null(T::BusinessKey, 200))
                .col(string_len(T::Status, 16))
                .col(text(T::State))
                .col(big_integer(T::Version))
                .col(string_len_null(T::ParentCaseId, 36))
                .col(integer_null(T::ParentCall))
                .col(big_integer(T::AuditSeq).default(0))
                .col(string_len(T::AuditHash, 64).default(""))
                .col(big_integer(T::CreatedAt))
                .col(big_integer(T::UpdatedAt))
                .col(big_integer_null(T::ClosedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_cases_definition_id")
                        .from(T::Table, T::DefinitionId)
                        .to(Definitions::Table, Definitions::Id),
                )
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("idx_cases_business_key", &[T::BusinessKey], false),
            ("idx_cases_status_flow_key", &[T::Status, T::FlowKey], false),
            ("idx_cases_parent_case_id", &[T::ParentCaseId], false),
        ],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    Id,
    CaseId,
    TaskKey,
    NodeId,
    Name,
    FlowKey,
    FlowVersion,
    BusinessKey,
    State,
    Assignee,
    CandidateUsers,
    CandidateGroups,
    Priority,
    DueAt,
    CreatedAt,
    ClosedAt,
    CompletedBy,
    Outcome,
}

async fn create_tasks(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Tasks as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(integer(T::TaskKey))
                .col(string_len(T::NodeId, 100))
                .col(string_len(T::Name, 200))
                .col(string_len(T::FlowKey, 100))
                .col(integer(T::FlowVersion))
                .col(string_len_null(T::BusinessKey, 200))
                .col(string_len(T::State, 16))
                .col(string_len_null(T::Assignee, 100))
                .col(text(T::CandidateUsers))
                .col(text(T::CandidateGroups))
                .col(integer(T::Priority))
                .col(big_integer_null(T::DueAt))
                .col(big_integer(T::CreatedAt))
                .col(big_integer_null(T::ClosedAt))
                .col(string_len_null(T::CompletedBy, 100))
                .col(string_len_null(T::Outcome, 100))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("uq_tasks_case_id_task_key", &[T::CaseId, T::TaskKey], true),
            ("idx_tasks_assignee_state_due_at", &[T::Assignee, T::State, T::DueAt], false),
            ("idx_tasks_state_due_at", &[T::State, T::DueAt], false),
            ("idx_tasks_case_id", &[T::CaseId], false),
        ],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum TaskCandidates {
    Table,
    TaskId,
    Kind,
    Name,
    DueAt,
    Priority,
    CreatedAt,
}

async fn create_task_candidates(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use TaskCandidates as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_integer(T::TaskId))
                .col(string_len(T::Kind, 8))
                .col(string_len(T::Name, 100))
                .col(big_integer_null(T::DueAt))
                .col(integer(T::Priority))
                .col(big_integer(T::CreatedAt))
                .primary_key(Index::create().col(T::TaskId).col(T::Kind).col(T::Name))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("idx_task_candidates_by_due_at", &[T::Kind, T::Name, T::DueAt, T::TaskId], false),
            ("idx_task_candidates_by_priority", &[T::Kind, T::Name, T::Priority, T::TaskId], false),
            ("idx_task_candidates_by_created_at", &[T::Kind, T::Name, T::CreatedAt, T::TaskId], false),
        ],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Timers {
    Table,
    Id,
    CaseId,
    TimerKey,
    DueAt,
    Purpose,
    LeaseOwner,
    LeaseUntil,
}

/// Creates `timers` as this migration did (the sixth migration drops it, and creates it again
/// going down).
pub(crate) async fn create_timers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Timers as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(integer(T::TimerKey))
                .col(big_integer(T::DueAt))
                .col(text(T::Purpose))
                .col(string_len_null(T::LeaseOwner, 100))
                .col(big_integer_null(T::LeaseUntil))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[("uq_timers_case_id_timer_key", &[T::CaseId, T::TimerKey], true), ("idx_timers_due_at", &[T::DueAt], false)],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum Jobs {
    Table,
    Id,
    CaseId,
    JobKey,
    NodeId,
    JobType,
    Attempt,
    RunAt,
    Payload,
    LeaseOwner,
    LeaseUntil,
    LastError,
}

async fn create_jobs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Jobs as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(integer(T::JobKey))
                .col(string_len(T::NodeId, 100))
                .col(string_len(T::JobType, 100))
                .col(integer(T::Attempt))
                .col(big_integer(T::RunAt))
                .col(text(T::Payload))
                .col(string_len_null(T::LeaseOwner, 100))
                .col(big_integer_null(T::LeaseUntil))
                .col(text_null(T::LastError))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("uq_jobs_case_id_job_key", &[T::CaseId, T::JobKey], true),
            ("idx_jobs_job_type_run_at", &[T::JobType, T::RunAt], false),
            ("idx_jobs_run_at", &[T::RunAt], false),
        ],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum Incidents {
    Table,
    Id,
    CaseId,
    IncidentKey,
    NodeId,
    Code,
    Message,
    CreatedAt,
    ResolvedAt,
}

async fn create_incidents(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Incidents as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(integer(T::IncidentKey))
                .col(string_len(T::NodeId, 100))
                .col(string_len(T::Code, 50))
                .col(text(T::Message))
                .col(big_integer(T::CreatedAt))
                .col(big_integer_null(T::ResolvedAt))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("uq_incidents_case_id_incident_key", &[T::CaseId, T::IncidentKey], true),
            ("idx_incidents_resolved_at", &[T::ResolvedAt], false),
        ],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum Publications {
    Table,
    Id,
    CaseId,
    PublicationKey,
    NodeId,
    Category,
    DueAt,
    OpenedAt,
    PublishedAt,
}

async fn create_publications(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Publications as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(integer(T::PublicationKey))
                .col(string_len(T::NodeId, 100))
                .col(string_len(T::Category, 20))
                .col(big_integer(T::DueAt))
                .col(big_integer(T::OpenedAt))
                .col(big_integer_null(T::PublishedAt))
                .to_owned(),
        )
        .await?;
    create_indexes(
        manager,
        T::Table,
        &[
            ("uq_publications_case_id_publication_key", &[T::CaseId, T::PublicationKey], true),
            ("idx_publications_published_at_due_at", &[T::PublishedAt, T::DueAt], false),
        ],
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum Outbox {
    Table,
    Id,
    CaseId,
    Kind,
    Payload,
    CreatedAt,
    DeliveredAt,
}

async fn create_outbox(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Outbox as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(string_len(T::Kind, 50))
                .col(text(T::Payload))
                .col(big_integer(T::CreatedAt))
                .col(big_integer_null(T::DeliveredAt))
                .to_owned(),
        )
        .await?;
    create_indexes(manager, T::Table, &[("idx_outbox_delivered_at_id", &[T::DeliveredAt, T::Id], false)]).await
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    CaseId,
    Seq,
    At,
    Actor,
    Kind,
    Detail,
    PrevHash,
    Hash,
}

async fn create_audit_log(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use AuditLog as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(big_integer(T::Seq))
                .col(big_integer(T::At))
                .col(string_len(T::Actor, 100))
                .col(string_len(T::Kind, 50))
                .col(text(T::Detail))
                .col(string_len(T::PrevHash, 64))
                .col(string_len(T::Hash, 64))
                .to_owned(),
        )
        .await?;
    create_indexes(manager, T::Table, &[("uq_audit_log_case_id_seq", &[T::CaseId, T::Seq], true)]).await
}

#[derive(DeriveIden, Clone, Copy)]
enum EvidenceRecords {
    Table,
    Id,
    CaseId,
    TaskKey,
    Kind,
    Sha256,
    Size,
    Uri,
    AttachedBy,
    AttachedAt,
}

async fn create_evidence_records(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use EvidenceRecords as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::CaseId, 36))
                .col(integer(T::TaskKey))
                .col(string_len(T::Kind, 30))
                .col(string_len(T::Sha256, 64))
                .col(big_integer(T::Size))
                .col(text(T::Uri))
                .col(string_len(T::AttachedBy, 100))
                .col(big_integer(T::AttachedAt))
                .to_owned(),
        )
        .await?;
    create_indexes(manager, T::Table, &[("idx_evidence_records_case_id_task_key", &[T::CaseId, T::TaskKey], false)])
        .await
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    Key,
    CaseId,
    Response,
    CreatedAt,
}

async fn create_idempotency_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use IdempotencyKeys as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(string_len(T::Key, 200).primary_key())
                .col(string_len_null(T::CaseId, 36))
                .col(text(T::Response))
                .col(big_integer(T::CreatedAt))
                .to_owned(),
        )
        .await
}
