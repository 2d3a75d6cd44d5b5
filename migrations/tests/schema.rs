//! The migrations apply, roll back and re-apply cleanly on SQLite and on PostgreSQL, and the
//! resulting schema enforces the constraints the engine relies on.
//!
//! PostgreSQL is expected at `postgres://postgres@127.0.0.1:5432/test` (override with
//! `DOCKET_TEST_POSTGRES_URL`); each run works in a fresh schema `mig_<random>` that is dropped
//! afterwards, so runs can go in parallel. Under `CI=true` an unreachable PostgreSQL fails the
//! test; otherwise the PostgreSQL half is skipped with a message.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use docket_migrations::{Migrator, MigratorTrait, TABLES};
use sea_orm_migration::SchemaManager;
use sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait,
};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Up, check, down, check, up, check; then the constraint smoke test.
async fn exercise(db: &DatabaseConnection) -> Result<(), DbErr> {
    timers_move_onto_their_cases_and_back(db).await?;
    assignees_become_inbox_rows_and_back(db).await?;
    Migrator::up(db, None).await?;
    assert_tables(db, true).await?;
    assert!(Migrator::get_pending_migrations(db).await?.is_empty(), "migrations still pending after up");

    Migrator::down(db, None).await?;
    assert_tables(db, false).await?;
    assert_eq!(Migrator::get_pending_migrations(db).await?.len(), Migrator::migrations().len());

    Migrator::up(db, None).await?;
    assert_tables(db, true).await?;
    // Applying again is a no-op.
    Migrator::up(db, None).await?;

    partial_indexes_serve_lookups(db).await?;
    inbox_rows_are_read_by_the_right_index(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        let options = "SELECT CAST(reloptions AS TEXT) FROM pg_class WHERE relname = 'cases' AND relkind = 'r' \
                       AND relnamespace = CAST(current_schema() AS regnamespace)";
        assert_eq!(rows_of(db, options).await?, ["{fillfactor=60}"], "case rows leave room on their pages");
        let options = options.replace("'cases'", "'tasks'");
        assert_eq!(rows_of(db, &options).await?, ["{fillfactor=70}"], "task rows leave room on their pages");
    }
    constraints(db).await
}

/// Rows of a query, each as text columns joined by `|`.
async fn rows_of(db: &DatabaseConnection, sql: &str) -> Result<Vec<String>, DbErr> {
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await?;
    rows.iter().map(|r| r.try_get_by_index::<String>(0)).collect()
}

/// The sixth migration moves each case's earliest `timers` row onto the case, and going down
/// writes one row per timer of each armed case's state again.
async fn timers_move_onto_their_cases_and_back(db: &DatabaseConnection) -> Result<(), DbErr> {
    let cast = |column: &str| format!("CAST({column} AS TEXT)");
    Migrator::up(db, Some(5)).await?;
    let (early, late) = (r#"{"Catch":{"token":1,"node":2}}"#, r#"{"Ladder":{"token":1,"step":0}}"#);
    let state = format!(
        r#"{{"status":"active","timers":[{{"key":7,"due":2000,"purpose":{late}}},{{"key":3,"due":1000,"purpose":{early}}}]}}"#
    );
    let paused = format!(r#"{{"status":"suspended","timers":[{{"key":4,"due":500,"purpose":{early}}}]}}"#);
    db.execute_unprepared(
        "INSERT INTO definitions (key, version, name, source, content_hash, deployed_by, deployed_at) \
         VALUES ('waits', 1, 'Waits', 'flow: waits', 'h', 'tester', 1)",
    )
    .await?;
    for (id, status, state) in [("c-armed", "active", &state), ("c-paused", "suspended", &paused)] {
        db.execute_unprepared(&format!(
            "INSERT INTO cases (id, definition_id, flow_key, flow_version, status, state, version, created_at, updated_at) \
             SELECT '{id}', id, 'waits', 1, '{status}', '{state}', 3, 1, 1 FROM definitions"
        ))
        .await?;
    }
    db.execute_unprepared(&format!(
        "INSERT INTO timers (case_id, timer_key, due_at, purpose) VALUES \
         ('c-armed', 7, 2000, '{late}'), ('c-armed', 3, 1000, '{early}')"
    ))
    .await?;

    Migrator::up(db, None).await?;
    let woken = format!(
        "SELECT id || ':' || COALESCE({}, '-') || '@' || COALESCE({}, '-') FROM cases ORDER BY id",
        cast("wake_timer"),
        cast("wake_at")
    );
    assert_eq!(rows_of(db, &woken).await?, ["c-armed:3@1000", "c-paused:-@-"]);
    assert!(!SchemaManager::new(db).has_table("timers").await?, "timers dropped");

    Migrator::down(db, Some(Migrator::migrations().len() as u32 - 5)).await?;
    let restored = format!(
        "SELECT case_id || ':' || {} || '@' || {} || ' ' || purpose FROM timers ORDER BY case_id, timer_key",
        cast("timer_key"),
        cast("due_at")
    );
    assert_eq!(rows_of(db, &restored).await?, [format!("c-armed:3@1000 {early}"), format!("c-armed:7@2000 {late}")]);
    db.execute_unprepared("DELETE FROM timers").await?;
    db.execute_unprepared("DELETE FROM cases").await?;
    db.execute_unprepared("DELETE FROM definitions").await?;
    Migrator::down(db, None).await
}

/// The eighth migration gives each open task someone holds an `assignee` inbox row and drops
/// the task indexes a claim or completion changed; going down, the rows go and the indexes
/// come back.
async fn assignees_become_inbox_rows_and_back(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, Some(7)).await?;
    db.execute_unprepared(
        "INSERT INTO tasks (id, case_id, task_key, node_id, name, flow_key, flow_version, state, assignee, \
         candidate_users, candidate_groups, priority, due_at, created_at) VALUES \
         (1, 'c', 1, 'n', 'held', 'f', 1, 'open', 'wang', '[]', '[\"review\"]', 50, 9000, 100), \
         (2, 'c', 2, 'n', 'free', 'f', 1, 'open', NULL, '[]', '[\"review\"]', 50, NULL, 200), \
         (3, 'c', 3, 'n', 'ruled', 'f', 1, 'escalated', 'li', '[]', '[\"review\"]', 70, NULL, 300), \
         (4, 'c', 4, 'n', 'done', 'f', 1, 'completed', 'wang', '[]', '[\"review\"]', 50, 1, 400)",
    )
    .await?;
    let indexes = |table: &str| match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "SELECT indexname FROM pg_indexes WHERE tablename = '{table}' AND schemaname = current_schema() \
             AND indexname LIKE 'idx_%' ORDER BY indexname"
        ),
        _ => format!("SELECT name FROM sqlite_master WHERE tbl_name = '{table}' AND name LIKE 'idx_%' ORDER BY name"),
    };
    let before = (rows_of(db, &indexes("tasks")).await?, rows_of(db, &indexes("task_candidates")).await?);
    assert_eq!(before.0, ["idx_tasks_assignee_state_due_at", "idx_tasks_business_key"]);

    Migrator::up(db, None).await?;
    let rows = "SELECT CAST(task_id AS TEXT) || ':' || kind || ':' || name || '@' || CAST(due_at AS TEXT) || '/' \
                || CAST(priority AS TEXT) || '/' || CAST(created_at AS TEXT) FROM task_candidates ORDER BY task_id";
    let no_due = i64::MAX;
    assert_eq!(
        rows_of(db, rows).await?,
        ["1:assignee:wang@9000/50/100".to_owned(), format!("3:assignee:li@{no_due}/70/300")]
    );
    assert!(rows_of(db, &indexes("tasks")).await?.is_empty(), "a claim or completion changes no indexed column");
    assert_eq!(rows_of(db, &indexes("task_candidates")).await?, ["idx_task_candidates_by_due_at"]);

    Migrator::down(db, Some(Migrator::migrations().len() as u32 - 7)).await?;
    assert!(rows_of(db, rows).await?.is_empty(), "the assignee rows went");
    assert_eq!((rows_of(db, &indexes("tasks")).await?, rows_of(db, &indexes("task_candidates")).await?), before);
    db.execute_unprepared("DELETE FROM tasks").await?;
    Migrator::down(db, None).await
}

/// A transaction in which a plan is the one a statement the engine sends gets: on PostgreSQL
/// the generic plan of a prepared statement (which a long-lived connection keeps), without
/// sequential scans (an empty table is read whole otherwise).
async fn planning(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_generic_plan")
            .await?;
    }
    Ok(txn)
}

/// The plan of `query` (parameters `$1`, `$2`, ...) run with `args` (SQL literals), one line
/// per plan node.
async fn plan_of(txn: &DatabaseTransaction, name: &str, query: &str, args: &[&str]) -> Result<Vec<String>, DbErr> {
    let backend = txn.get_database_backend();
    let plan = match backend {
        DbBackend::Postgres => {
            txn.execute_unprepared(&format!("PREPARE {name} AS {query}")).await?;
            format!("EXPLAIN EXECUTE {name} ({})", args.join(", "))
        }
        _ => {
            (1..=args.len()).rev().fold(format!("EXPLAIN QUERY PLAN {query}"), |q, n| q.replace(&format!("${n}"), "?"))
        }
    };
    let rows = txn.query_all_raw(Statement::from_string(backend, plan)).await?;
    let column = if backend == DbBackend::Postgres { 0 } else { 3 };
    rows.iter().map(|r| r.try_get_by_index::<String>(column)).collect()
}

/// The indexes on mostly empty columns hold only rows with a value, and a lookup of one value
/// (a parameter, as the engine sends it) still uses them.
async fn partial_indexes_serve_lookups(db: &DatabaseConnection) -> Result<(), DbErr> {
    let lookups = [
        ("idx_cases_business_key", "SELECT id FROM cases WHERE business_key = $1"),
        ("idx_cases_parent_case_id", "SELECT id FROM cases WHERE parent_case_id = $1"),
    ];
    let backend = db.get_database_backend();
    let txn = planning(db).await?;
    for (k, (index, query)) in lookups.iter().enumerate() {
        let text = plan_of(&txn, &format!("lookup_{k}"), query, &["'x'"]).await?;
        assert!(text.iter().any(|line| line.contains(index)), "{query} does not use {index}: {text:?}");
        let definition = match backend {
            DbBackend::Postgres => format!("SELECT indexdef AS sql FROM pg_indexes WHERE indexname = '{index}'"),
            _ => format!("SELECT sql FROM sqlite_master WHERE name = '{index}'"),
        };
        let row = txn.query_one_raw(Statement::from_string(backend, definition)).await?.expect("the index");
        let sql: String = row.try_get("", "sql")?;
        assert!(sql.contains("IS NOT NULL"), "{index} is partial: {sql}");
    }
    txn.rollback().await
}

/// On empty tables, where a planner costs every index alike, the statements a command runs on
/// one task's inbox rows read them through the table's key, and an inbox page reads its range
/// of the inbox index (the ninth migration).
async fn inbox_rows_are_read_by_the_right_index(db: &DatabaseConnection) -> Result<(), DbErr> {
    let task = "task_id = (SELECT id FROM tasks WHERE case_id = $1 AND task_key = $2)";
    let by_key = [
        (
            "replace_assignee",
            format!("DELETE FROM task_candidates WHERE {task} AND kind = $3"),
            vec!["'c'", "1", "'assignee'"],
        ),
        ("drop_rows", format!("DELETE FROM task_candidates WHERE {task}"), vec!["'c'", "1"]),
        ("move_due", format!("UPDATE task_candidates SET due_at = $3 WHERE {task}"), vec!["'c'", "1", "5"]),
    ];
    let key = match db.get_database_backend() {
        DbBackend::Postgres => "using task_candidates_pkey on task_candidates",
        _ => "SEARCH task_candidates USING PRIMARY KEY",
    };
    let txn = planning(db).await?;
    for (name, query, args) in &by_key {
        let text = plan_of(&txn, name, query, args).await?;
        assert!(text.iter().any(|line| line.contains(key)), "{query} does not read the key: {text:?}");
    }
    let page = "SELECT task_id FROM task_candidates WHERE kind = $1 AND name = $2 ORDER BY due_at, task_id LIMIT 51";
    let text = plan_of(&txn, "page", page, &["'group'", "'review'"]).await?;
    assert!(text.iter().any(|line| line.contains("idx_task_candidates_by_due_at")), "{page}: {text:?}");
    assert!(!text.iter().any(|line| line.contains("TEMP B-TREE") || line.contains("Sort")), "{page} sorts: {text:?}");
    txn.rollback().await
}

async fn assert_tables(db: &DatabaseConnection, present: bool) -> Result<(), DbErr> {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        assert_eq!(manager.has_table(table).await?, present, "table {table} present should be {present}");
    }
    Ok(())
}

/// Defaults, auto-increment, unique keys and the foreign key behave the same on both stores.
async fn constraints(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared(
        "INSERT INTO definitions (key, version, name, source, content_hash, deployed_by, deployed_at) \
         VALUES ('penalty', 1, 'Penalty', 'flow: penalty', 'abc', 'tester', 1)",
    )
    .await?;
    // unique(key, version)
    let dup = db
        .execute_unprepared(
            "INSERT INTO definitions (key, version, name, source, content_hash, deployed_by, deployed_at) \
             VALUES ('penalty', 1, 'Penalty', 'flow: penalty', 'def', 'tester', 2)",
        )
        .await;
    assert!(dup.is_err(), "duplicate (key, version) accepted");
    // unique(key, content_hash)
    let dup = db
        .execute_unprepared(
            "INSERT INTO definitions (key, version, name, source, content_hash, deployed_by, deployed_at) \
             VALUES ('penalty', 2, 'Penalty', 'flow: penalty', 'abc', 'tester', 2)",
        )
        .await;
    assert!(dup.is_err(), "duplicate (key, content_hash) accepted");

    // Defaults of audit_seq / audit_hash; the definition id was generated.
    db.execute_unprepared(
        "INSERT INTO cases (id, definition_id, flow_key, flow_version, status, state, version, created_at, updated_at) \
         SELECT '00000000-0000-0000-0000-000000000001', id, 'penalty', 1, 'active', '{}', 1, 5, 5 \
         FROM definitions WHERE key = 'penalty'",
    )
    .await?;
    let row = db
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT audit_seq, audit_hash FROM cases WHERE id = '00000000-0000-0000-0000-000000000001'",
        ))
        .await?
        .expect("case row");
    assert_eq!(row.try_get::<i64>("", "audit_seq")?, 0);
    assert_eq!(row.try_get::<String>("", "audit_hash")?, "");

    // Foreign key cases.definition_id -> definitions.id.
    let orphan = db
        .execute_unprepared(
            "INSERT INTO cases (id, definition_id, flow_key, flow_version, status, state, version, created_at, updated_at) \
             VALUES ('00000000-0000-0000-0000-000000000002', 999999, 'penalty', 1, 'active', '{}', 1, 5, 5)",
        )
        .await;
    assert!(orphan.is_err(), "case with an unknown definition accepted");

    // Composite primary key of task_candidates.
    let candidate = "INSERT INTO task_candidates (task_id, kind, name, due_at, priority, created_at) \
                     VALUES (1, 'group', 'clerks', NULL, 50, 7)";
    db.execute_unprepared(candidate).await?;
    assert!(db.execute_unprepared(candidate).await.is_err(), "duplicate task candidate accepted");

    // Big auto-increment ids.
    for key in [1, 2] {
        db.execute_unprepared(&format!(
            "INSERT INTO outbox (case_id, kind, payload, created_at) VALUES ('c', 'k', '{{}}', {key})"
        ))
        .await?;
    }
    let row = db
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT MIN(id) AS lo, MAX(id) AS hi FROM outbox",
        ))
        .await?
        .expect("outbox ids");
    let (lo, hi): (i64, i64) = (row.try_get("", "lo")?, row.try_get("", "hi")?);
    assert!(hi > lo, "outbox ids not increasing: {lo}, {hi}");
    Ok(())
}

#[tokio::test]
async fn migrations_on_sqlite() {
    let db = Database::connect("sqlite::memory:").await.expect("open in-memory SQLite");
    exercise(&db).await.expect("migrations on SQLite");
}

#[tokio::test]
async fn migrations_on_postgres() {
    let base_url = std::env::var("DOCKET_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");

    let mut admin_options = ConnectOptions::new(base_url.clone());
    admin_options.max_connections(1).connect_timeout(Duration::from_secs(5)).acquire_timeout(Duration::from_secs(5));
    let admin = match Database::connect(admin_options).await {
        Ok(admin) => admin,
        Err(e) if ci => panic!("CI=true but PostgreSQL at {base_url} is not reachable: {e}"),
        Err(e) => {
            eprintln!("skipping: PostgreSQL not reachable at {base_url} ({e}); set CI=true to make this fail");
            return;
        }
    };

    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").subsec_nanos();
    let schema = format!("mig_{}_{nanos}", std::process::id());
    admin.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\"")).await.expect("create test schema");

    let mut options = ConnectOptions::new(base_url.clone());
    options.max_connections(2).set_schema_search_path(schema.clone());
    // Run on a separate task so a failed assertion still lets us drop the schema below.
    let outcome = tokio::spawn(async move {
        let db = Database::connect(options).await?;
        let result = exercise(&db).await;
        db.close().await?;
        result
    })
    .await;

    admin.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE")).await.expect("drop test schema");
    admin.close().await.expect("close admin pool");
    match outcome {
        Ok(result) => result.expect("migrations on PostgreSQL"),
        Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
    }
}

/// On SQLite the candidate rows move into a `WITHOUT ROWID` table and back without loss.
#[tokio::test]
async fn sqlite_candidates_are_rebuilt_in_their_primary_key_and_back_without_loss() {
    let db = Database::connect("sqlite::memory:").await.expect("open in-memory SQLite");
    let definition = |db: DatabaseConnection| async move {
        let row = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT sql FROM sqlite_master WHERE name = 'task_candidates'".to_owned(),
            ))
            .await
            .expect("read the schema")
            .expect("the table exists");
        let sql: String = row.try_get("", "sql").expect("sql");
        (db, sql)
    };
    let rows = |db: DatabaseConnection| async move {
        let found = db
            .query_all_raw(sea_orm_migration::sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT task_id, kind, name, due_at, priority, created_at FROM task_candidates \
                 INDEXED BY idx_task_candidates_by_due_at WHERE kind = 'group' AND name = 'review' ORDER BY task_id"
                    .to_owned(),
            ))
            .await
            .expect("read the candidates");
        let rows: Vec<(i64, Option<i64>, i32)> = found
            .iter()
            .map(|r| {
                (
                    r.try_get("", "task_id").unwrap(),
                    r.try_get("", "due_at").unwrap(),
                    r.try_get("", "priority").unwrap(),
                )
            })
            .collect();
        (db, rows)
    };
    Migrator::up(&db, Some(3)).await.expect("the first three migrations");
    db.execute_unprepared(
        "INSERT INTO task_candidates (task_id, kind, name, due_at, priority, created_at) VALUES \
         (1, 'group', 'review', 20, 50, 1), (2, 'group', 'review', NULL, 70, 2), (2, 'user', 'rev1', 10, 70, 2)",
    )
    .await
    .expect("offer two tasks");
    let expected = vec![(1, Some(20), 50), (2, None, 70)];

    Migrator::up(&db, None).await.expect("the rest");
    let (db, sql) = definition(db).await;
    assert!(sql.contains("WITHOUT ROWID"), "{sql}");
    let (db, found) = rows(db).await;
    assert_eq!(found, expected);
    let duplicate = db.execute_unprepared("INSERT INTO task_candidates VALUES (1, 'group', 'review', 5, 1, 3)").await;
    assert!(duplicate.is_err(), "the primary key still holds");

    let after_third = Migrator::migrations().len() as u32 - 3;
    Migrator::down(&db, Some(after_third)).await.expect("back to three");
    let (db, sql) = definition(db).await;
    assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
    let (_, found) = rows(db).await;
    assert_eq!(found, expected);
}
