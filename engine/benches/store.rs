//! The durable engine, measured (`cargo bench -p docket-engine --bench store`).
//!
//! On SQLite (a WAL file with `synchronous=FULL`: every acknowledged command is on disk) and
//! on PostgreSQL (127.0.0.1:5432, a fresh database; skipped when unreachable), with 1, 4 and
//! 16 concurrent clients:
//! - penalty cases/s and task completions/s end to end through the store (every command a
//!   durable transaction, group-committed), and the p50/p99 latency of a completion;
//! - timer lag p99: cases waiting on a one-second timer, fired by the workers;
//! - the group inbox (first page of 50, by due date) p50/p99 with `DOCKET_BENCH_TASKS`
//!   (default 1,000,000) open tasks in the database;
//! - pgbench's TPC-B-like tps at the same client count on the same PostgreSQL, and the ratio;
//! - the process's peak resident memory.
//!
//! `DOCKET_BENCH_SECONDS` (default 10) sets how long each load runs; `DOCKET_BENCH_CLIENTS`
//! (default `1,4,16`) the client counts.

mod penalty;

use std::sync::Arc;
use std::time::{Duration, Instant};

use docket_engine::core::{Command, TaskKey, Wait};
use docket_engine::store::entity::cases;
use docket_engine::store::{Clock, StartCase, Store, StoreConfig, WorkerConfig, Workers};
use docket_engine::time::Timestamp;
use sea_orm::{ConnectionTrait, Database, EntityTrait, Statement};
use tokio::sync::Mutex;

const TIMER_FLOW: &str =
    "id: bench-timer\nstart: wait\nnodes:\n  wait: { type: timer, timer: PT1S, next: done }\n  done: { type: end }\n";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// `DOCKET_BENCH_CLIENTS`, a comma-separated list (default `1,4,16`).
fn client_counts() -> Vec<usize> {
    std::env::var("DOCKET_BENCH_CLIENTS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect::<Vec<usize>>())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![1, 4, 16])
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn clock() -> Clock {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 4).expect("date");
    Clock::starting_at(Timestamp::start_of_local_day(start) + chrono::Duration::hours(9))
}

/// Percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Drives one penalty case to the archive; records each completion's latency.
async fn one_case(store: &Store, latencies: &Mutex<Vec<Duration>>) -> usize {
    let started = store
        .start_case(StartCase { flow: "penalty-general".into(), actor: "bench".into(), ..Default::default() })
        .await
        .expect("start");
    let case = started.case_id;
    let mut completions = 0;
    for (actor, done) in penalty::steps() {
        let (_, state) = store.case_state(&case).await.expect("state");
        let task: TaskKey = state.tasks[0].key;
        store.execute(&case, Command::Claim { task, actor: actor.clone() }, &actor.user, None).await.expect("claim");
        let t = Instant::now();
        store
            .execute(&case, Command::Complete { task, actor: actor.clone(), completion: done }, &actor.user, None)
            .await
            .expect("complete");
        latencies.lock().await.push(t.elapsed());
        completions += 1;
    }
    let (_, state) = store.case_state(&case).await.expect("state");
    let publication = state
        .tokens
        .iter()
        .find_map(|t| if let Wait::Publication(p) = t.wait { Some(p) } else { None })
        .expect("publication");
    store.execute(&case, Command::Published { publication }, "clerk", None).await.expect("published");
    completions
}

async fn load(store: &Store, clients: usize, seconds: u64) -> (f64, f64, Duration, Duration) {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let store = store.clone();
        let latencies = latencies.clone();
        handles.push(tokio::spawn(async move {
            let (mut cases, mut completions) = (0usize, 0usize);
            while Instant::now() < deadline {
                completions += one_case(&store, &latencies).await;
                cases += 1;
            }
            (cases, completions)
        }));
    }
    let (mut cases, mut completions) = (0, 0);
    for h in handles {
        let (c, k) = h.await.expect("client");
        cases += c;
        completions += k;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().await.clone();
    lat.sort();
    (cases as f64 / secs, completions as f64 / secs, pct(&lat, 0.5), pct(&lat, 0.99))
}

async fn timer_lag(store: &Store, cases_n: usize) -> Duration {
    let workers = Workers::spawn(store.clone(), WorkerConfig::new("bench"));
    let mut ids = Vec::new();
    for _ in 0..cases_n {
        let started = store
            .start_case(StartCase { flow: "bench-timer".into(), actor: "bench".into(), ..Default::default() })
            .await
            .expect("start");
        ids.push(started.case_id);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lags = Vec::new();
    for id in &ids {
        loop {
            let row = cases::Entity::find_by_id(id.clone()).one(store.db()).await.expect("case").expect("row");
            if let Some(closed) = row.closed_at {
                lags.push(Duration::from_millis((closed - row.created_at - 1000).max(0) as u64));
                break;
            }
            assert!(Instant::now() < deadline, "timers did not fire");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    workers.stop().await;
    lags.sort();
    pct(&lags, 0.99)
}

/// Inserts `n` open tasks (with their group candidate rows) straight into the tables, the
/// shape the engine writes, spread over 200 groups plus the `legal_reviewer` group.
async fn seed_tasks(store: &Store, n: u64) {
    let db = store.db();
    let backend = db.get_database_backend();
    let existing: i64 = db
        .query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) AS n FROM task_candidates".to_owned()))
        .await
        .expect("count")
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0);
    if existing as u64 >= n {
        return;
    }
    let base = 1_700_000_000_000i64;
    let chunk = 500u64;
    let mut i = 0u64;
    while i < n {
        let txn = store.begin_write().await.expect("begin");
        let end = (i + 20_000).min(n);
        while i < end {
            let upto = (i + chunk).min(end);
            let mut tasks_sql = String::from(
                "INSERT INTO tasks (id, case_id, task_key, node_id, name, flow_key, flow_version, state, candidate_users, candidate_groups, priority, due_at, created_at) VALUES ",
            );
            let mut cand_sql =
                String::from("INSERT INTO task_candidates (task_id, kind, name, due_at, priority, created_at) VALUES ");
            for k in i..upto {
                let id = 1_000_000_000 + k as i64;
                let group = if k % 100 == 0 { "legal_reviewer".to_owned() } else { format!("g{}", k % 200) };
                let due = base + ((k * 7919) % 10_000_000) as i64 * 1000;
                let sep = if k == i { "" } else { "," };
                tasks_sql.push_str(&format!(
                    "{sep}({id}, 'seed-{k}', 1, 'legal_review', '法制审核', 'penalty-general', 1, 'open', '[]', '[\"{group}\"]', 50, {due}, {base})"
                ));
                cand_sql.push_str(&format!("{sep}({id}, 'group', '{group}', {due}, 50, {base})"));
            }
            txn.execute_unprepared(&tasks_sql).await.expect("seed tasks");
            txn.execute_unprepared(&cand_sql).await.expect("seed candidates");
            i = upto;
        }
        txn.commit().await.expect("commit");
    }
    if backend == sea_orm::DatabaseBackend::Postgres {
        db.execute_unprepared("ANALYZE tasks; ANALYZE task_candidates;").await.expect("analyze");
    }
}

async fn inbox_latency(store: &Store) -> (Duration, Duration) {
    let groups = vec!["legal_reviewer".to_owned(), "g7".to_owned()];
    let mut samples = Vec::new();
    for _ in 0..20 {
        store.group_inbox(&groups, 50, None).await.expect("inbox");
    }
    for _ in 0..500 {
        let t = Instant::now();
        let page = store.group_inbox(&groups, 50, None).await.expect("inbox");
        samples.push(t.elapsed());
        assert!(!page.tasks.is_empty());
    }
    samples.sort();
    (pct(&samples, 0.5), pct(&samples, 0.99))
}

fn pgbench_tps(db_url: &str, clients: usize, seconds: u64) -> Option<f64> {
    let init = std::process::Command::new("pgbench").args(["-i", "-q", "-s", "10", db_url]).output().ok()?;
    if !init.status.success() {
        return None;
    }
    let out = std::process::Command::new("pgbench")
        .args(["-c", &clients.to_string(), "-j", &clients.min(2).to_string(), "-T", &seconds.to_string(), db_url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find(|l| l.starts_with("tps = ")).and_then(|l| l[6..].split_whitespace().next()?.parse().ok())
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn bench_store(name: &str, url: &str, pg_url: Option<&str>) {
    let seconds = env_u64("DOCKET_BENCH_SECONDS", 10);
    let tasks = env_u64("DOCKET_BENCH_TASKS", 1_000_000);
    let mut config = StoreConfig::new(url);
    config.clock = clock();
    let store = Store::connect(config).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.deploy(penalty::PENALTY, "bench").await.expect("deploy");
    store.deploy(TIMER_FLOW, "bench").await.expect("deploy");
    println!("\n== {name} ==");
    for clients in client_counts() {
        let (cases, completions, p50, p99) = load(&store, clients, seconds).await;
        let mut line = format!(
            "clients {clients:>2}: {cases:>8.1} cases/s  {completions:>8.1} completions/s  completion p50 {}  p99 {}",
            ms(p50),
            ms(p99)
        );
        if let Some(pg) = pg_url
            && let Some(tps) = pgbench_tps(pg, clients, seconds)
        {
            line.push_str(&format!("  | pgbench {tps:.0} tps, ratio {:.2}", completions / tps));
        }
        println!("{line}");
    }
    println!("timer lag p99 (1,000 one-second timers): {}", ms(timer_lag(&store, 1000).await));
    let seeding = Instant::now();
    seed_tasks(&store, tasks).await;
    println!("seeded {tasks} open tasks in {:.1} s", seeding.elapsed().as_secs_f64());
    let (p50, p99) = inbox_latency(&store).await;
    println!("group inbox, first page of 50 by due date, {tasks} open tasks: p50 {}  p99 {}", ms(p50), ms(p99));
    store.shutdown().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
        bench_store("SQLite (WAL, synchronous=FULL)", &sqlite, None).await;
        match Database::connect(format!("{POSTGRES}/test")).await {
            Ok(admin) => {
                let name = format!("docket_bench_{}", std::process::id());
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create");
                let pgbench_db = format!("docket_pgbench_{}", std::process::id());
                admin.execute_unprepared(&format!("CREATE DATABASE {pgbench_db}")).await.expect("create");
                let url = format!("{POSTGRES}/{name}");
                bench_store("PostgreSQL", &url, Some(&format!("{POSTGRES}/{pgbench_db}"))).await;
                let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {pgbench_db} WITH (FORCE)")).await;
            }
            Err(e) => println!("\nPostgreSQL not reachable at {POSTGRES}/test ({e}); skipped"),
        }
        println!("\npeak resident memory of this process: {:.0} MB", peak_rss_mb());
    });
}
