//! The durable engine, measured (`cargo bench -p docket-engine --bench store`).
//!
//! On SQLite (a WAL file with `synchronous=FULL`: every acknowledged command is on disk) and
//! on PostgreSQL (127.0.0.1:5432, a fresh database; skipped when unreachable), with 1, 4, 16
//! and 256 concurrent clients (the last where the SQLite throughput goal is measured):
//! - penalty cases/s and task completions/s end to end through the store (every command a
//!   durable transaction, group-committed), and the p50/p99 latency of a completion;
//! - task completions alone: claimed tasks of parked cases completed, one command each (the
//!   unit pgbench's transaction is compared with), their rate and p50/p99;
//! - timer lag p99: cases waiting on a one-second timer, fired by the workers;
//! - the group inbox (first page of 50, by due date) p50/p99 with `DOCKET_BENCH_TASKS`
//!   (default 1,000,000) open tasks in the database;
//! - pgbench's TPC-B-like tps at the same client count on the same PostgreSQL, and the ratio
//!   (none at 256 clients unless the server allows that many connections), with pgbench's
//!   default connection (TLS when the server offers it) and without TLS (as the store speaks
//!   to a server on this machine);
//! - the process's peak resident memory.
//!
//! `DOCKET_BENCH_SECONDS` (default 10) sets how long each load runs; `DOCKET_BENCH_CLIENTS`
//! (default `1,4,16,256`) the client counts; `DOCKET_BENCH_STORES` (default `sqlite,postgres`) the
//! stores; with `DOCKET_BENCH_KEEP` set, the PostgreSQL database the store ran on is kept (its
//! address printed) for a look at its tables afterwards.

mod penalty;
mod support;

/// The allocator the `docket` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use docket_engine::store::entity::cases;
use docket_engine::store::{InboxSort, SortKey, StartCase, Store, StoreConfig, WorkerConfig, Workers};
use sea_orm::{ConnectionTrait, Database, EntityTrait};
use support::{
    client_counts, clock, complete_parked, cpu_time, env_u64, inbox_latency, inbox_latency_sorted, load, ms,
    park_cases, pct, peak_rss_mb, processes_cpu_time, seed_tasks,
};

const TIMER_FLOW: &str =
    "id: bench-timer\nstart: wait\nnodes:\n  wait: { type: timer, timer: PT1S, next: done }\n  done: { type: end }\n";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

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

/// CPU time the PostgreSQL server has used so far, when it runs on this machine.
fn server_cpu(pg_url: Option<&str>) -> Option<Duration> {
    pg_url.and_then(|_| processes_cpu_time("postgres"))
}

/// How many bytes of WAL the PostgreSQL server has written in all, or `None` on SQLite.
async fn wal_written(store: &Store) -> Option<i64> {
    let db = store.db();
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return None;
    }
    let sql = "SELECT CAST(pg_current_wal_insert_lsn() - CAST('0/0' AS pg_lsn) AS BIGINT) AS n";
    let row = db.query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql)).await.ok()??;
    row.try_get::<i64>("", "n").ok()
}

/// This machine's CPU time stolen by the hypervisor for other guests, and all its CPU time, in
/// clock ticks (`/proc/stat`); `None` where there is no such file.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    Some((*ticks.get(7)?, ticks.iter().take(8).sum()))
}

/// pgbench's TPC-B-like tps with `clients` clients for `seconds` (after initialising its
/// tables), and the server's CPU per transaction meanwhile when the server is on this machine.
fn pgbench_tps(db_url: &str, clients: usize, seconds: u64) -> Option<(f64, Option<Duration>)> {
    let init = std::process::Command::new("pgbench").args(["-i", "-q", "-s", "10", db_url]).output().ok()?;
    if !init.status.success() {
        return None;
    }
    let server_before = server_cpu(Some(db_url));
    let out = std::process::Command::new("pgbench")
        .args(["-c", &clients.to_string(), "-j", &clients.min(2).to_string(), "-T", &seconds.to_string(), db_url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tps: f64 =
        text.lines().find(|l| l.starts_with("tps = ")).and_then(|l| l[6..].split_whitespace().next()?.parse().ok())?;
    let server = server_before
        .zip(server_cpu(Some(db_url)))
        .map(|(before, after)| (after - before).div_f64((tps * seconds as f64).max(1.0)));
    Some((tps, server))
}

async fn bench_store(name: &str, url: &str, pg_url: Option<&str>) {
    let seconds = env_u64("DOCKET_BENCH_SECONDS", 10);
    let tasks = env_u64("DOCKET_BENCH_TASKS", 1_000_000);
    let mut config = StoreConfig::new(url);
    config.clock = clock();
    config.committers = env_u64("DOCKET_BENCH_COMMITTERS", config.committers as u64) as usize;
    let store = Store::connect(config).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.deploy(penalty::PENALTY, "bench").await.expect("deploy");
    store.deploy(TIMER_FLOW, "bench").await.expect("deploy");
    println!("\n== {name} ==");
    for clients in client_counts() {
        let (cpu_before, committer_before) = (cpu_time(None), cpu_time(Some("docket-committer")));
        let (cases, completions, p50, p99) = load(&store, clients, seconds).await;
        let case_count = cases * seconds as f64;
        let cpu_per_case = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6 / case_count.max(1.0));
        let mut line = format!(
            "clients {clients:>2}: {cases:>8.1} cases/s  {completions:>8.1} completions/s  completion p50 {}  p99 {}  \
             | CPU per case {}",
            ms(p50),
            ms(p99),
            cpu_per_case(cpu_time(None) - cpu_before),
        );
        let committer = cpu_time(Some("docket-committer")) - committer_before;
        if !committer.is_zero() {
            line.push_str(&format!(" (SQLite committer thread {})", cpu_per_case(committer)));
        }
        // The oldest parked cases are completed first; the newest (as many as the case cache
        // holds) are parked beyond them, so every completion reads its case first.
        let to_park =
            (3.0 * completions * seconds as f64).clamp(2_000.0, 40_000.0) as usize + store.config().cached_cases;
        let parked = park_cases(&store, to_park).await;
        let parked_n = parked.len();
        // On stderr, so that a profiler can be started for the load alone.
        eprintln!("parked {parked_n} cases; completing their tasks with {clients} clients for {seconds} s");
        let (own_before, server_before) = (cpu_time(None), server_cpu(pg_url));
        let (wal_before, steal_before) = (wal_written(&store).await, machine_ticks());
        let (alone, alone_p50, alone_p99, ran) = complete_parked(&store, clients, seconds, parked).await;
        let (wal_after, steal_after) = (wal_written(&store).await, machine_ticks());
        let done = (alone * ran).round();
        let per_completion = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6 / done.max(1.0));
        let mut alone_line = format!(
            "            completions alone: {alone:>8.1}/s  p50 {}  p99 {}  ({done} of {parked_n} parked tasks in {ran:.1} s)  \
             | CPU per completion {}",
            ms(alone_p50),
            ms(alone_p99),
            per_completion(cpu_time(None) - own_before),
        );
        if let (Some(before), Some(after)) = (server_before, server_cpu(pg_url)) {
            alone_line.push_str(&format!(", the server's {}", per_completion(after - before)));
        }
        if let (Some(before), Some(after)) = (wal_before, wal_after) {
            alone_line.push_str(&format!(", WAL {:.0} bytes", (after - before) as f64 / done.max(1.0)));
        }
        if let (Some((stolen_0, all_0)), Some((stolen_1, all_1))) = (steal_before, steal_after) {
            let share = (stolen_1 - stolen_0) as f64 / (all_1 - all_0).max(1) as f64;
            alone_line.push_str(&format!("  | CPU stolen by other guests {:.0}%", share * 100.0));
        }
        if let Some(pg) = pg_url
            && let Some((tps, server)) = pgbench_tps(pg, clients, seconds)
        {
            line.push_str(&format!("  | pgbench {tps:.0} tps, ratio {:.2}", completions / tps));
            if let Some(per_txn) = server {
                line.push_str(&format!(" (the server's CPU per transaction {:.0} µs)", per_txn.as_secs_f64() * 1e6));
            }
            alone_line.push_str(&format!("  | ratio {:.2}", alone / tps));
            // The store speaks to a server on this machine without TLS; pgbench's default
            // (`sslmode=prefer`) negotiates it when the server offers it. Both, to compare like
            // with like.
            if let Some((plain, _)) = pgbench_tps(&format!("{pg}?sslmode=disable"), clients, seconds) {
                line.push_str(&format!("; without TLS {plain:.0} tps, ratio {:.2}", completions / plain));
                alone_line.push_str(&format!("; without TLS {:.2}", alone / plain));
            }
        }
        println!("{line}");
        println!("{alone_line}");
    }
    println!("timer lag p99 (1,000 one-second timers): {}", ms(timer_lag(&store, 1000).await));
    let seeding = Instant::now();
    seed_tasks(&store, tasks).await;
    println!("seeded {tasks} open tasks in {:.1} s", seeding.elapsed().as_secs_f64());
    let (p50, p99) = inbox_latency(&store, tasks).await;
    println!("group inbox, first page of 50 by due date, {tasks} open tasks: p50 {}  p99 {}", ms(p50), ms(p99));
    let by_priority = InboxSort { key: SortKey::Priority, descending: true };
    let (p50, p99) = inbox_latency_sorted(&store, tasks, by_priority).await;
    println!(
        "group inbox, first page of 50 by priority ({} tasks in its groups): p50 {}  p99 {}",
        support::seeded_for_reviewer(tasks),
        ms(p50),
        ms(p99)
    );
    store.shutdown().await;
}

fn main() {
    let stores: Vec<String> = std::env::var("DOCKET_BENCH_STORES")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
        if stores.iter().any(|s| s == "sqlite") {
            bench_store("SQLite (WAL, synchronous=FULL)", &sqlite, None).await;
        }
        if !stores.iter().any(|s| s == "postgres") {
            println!("\npeak resident memory of this process: {:.0} MB", peak_rss_mb());
            return;
        }
        match Database::connect(format!("{POSTGRES}/test")).await {
            Ok(admin) => {
                let name = format!("docket_bench_{}", std::process::id());
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create");
                let pgbench_db = format!("docket_pgbench_{}", std::process::id());
                admin.execute_unprepared(&format!("CREATE DATABASE {pgbench_db}")).await.expect("create");
                let url = format!("{POSTGRES}/{name}");
                bench_store("PostgreSQL", &url, Some(&format!("{POSTGRES}/{pgbench_db}"))).await;
                if std::env::var_os("DOCKET_BENCH_KEEP").is_some() {
                    println!("\nkept the benchmark's database: {url}");
                } else {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
                let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {pgbench_db} WITH (FORCE)")).await;
            }
            Err(e) => println!("\nPostgreSQL not reachable at {POSTGRES}/test ({e}); skipped"),
        }
        println!("\npeak resident memory of this process: {:.0} MB", peak_rss_mb());
    });
}
