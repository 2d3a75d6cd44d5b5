//! What the store and API benchmarks share: settings from the environment, percentiles, the
//! penalty-case load through the store, seeding open tasks, and memory readings.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use docket_engine::core::{Command, TaskKey, Wait};
use docket_engine::store::{Clock, InboxFilter, InboxQuery, InboxScope, InboxSort, StartCase, Store};
use docket_engine::time::Timestamp;
use sea_orm::{ConnectionTrait, Statement};
use tokio::sync::Mutex;

/// `DOCKET_BENCH_CLIENTS`, a comma-separated list (default `1,4,16,256`).
pub fn client_counts() -> Vec<usize> {
    std::env::var("DOCKET_BENCH_CLIENTS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect::<Vec<usize>>())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![1, 4, 16, 256])
}

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn clock() -> Clock {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 4).expect("date");
    Clock::starting_at(Timestamp::start_of_local_day(start) + chrono::Duration::hours(9))
}

/// Percentile of sorted samples.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Drives one penalty case to the archive; records each completion's latency.
pub async fn one_case(store: &Store, latencies: &Mutex<Vec<Duration>>) -> usize {
    let started = store
        .start_case(StartCase { flow: "penalty-general".into(), actor: "bench".into(), ..Default::default() })
        .await
        .expect("start");
    let case = started.case_id;
    let mut completions = 0;
    for (actor, done) in crate::penalty::steps() {
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

pub async fn load(store: &Store, clients: usize, seconds: u64) -> (f64, f64, Duration, Duration) {
    let store = store.clone();
    run_clients(clients, seconds, move |_, _, latencies| {
        let store = store.clone();
        async move { one_case(&store, &latencies).await }
    })
    .await
}

/// Runs `clients` clients until `seconds` pass, each running one case after another with
/// `case(client, n, latencies)` (which returns the case's completions and records their
/// latencies); cases/s, completions/s, completion p50 and p99.
pub async fn run_clients<F, Fut>(clients: usize, seconds: u64, case: F) -> (f64, f64, Duration, Duration)
where
    F: Fn(usize, u64, Arc<Mutex<Vec<Duration>>>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = usize> + Send,
{
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let (case, latencies) = (case.clone(), latencies.clone());
        handles.push(tokio::spawn(async move {
            let (mut cases, mut completions, mut n) = (0usize, 0usize, 0u64);
            while Instant::now() < deadline {
                n += 1;
                completions += case(c, n, latencies.clone()).await;
                cases += 1;
            }
            (cases, completions)
        }));
    }
    let (mut cases, mut completions) = (0, 0);
    for h in handles {
        let (a, b) = h.await.expect("client");
        cases += a;
        completions += b;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().await.clone();
    lat.sort();
    (cases as f64 / secs, completions as f64 / secs, pct(&lat, 0.5), pct(&lat, 0.99))
}

/// Cases parked at their first task (filing), claimed by its handler: what
/// [`complete_parked`] completes.
pub async fn park_cases(store: &Store, n: usize) -> Vec<(String, TaskKey)> {
    let parked = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let mut handles = Vec::new();
    for c in 0..16 {
        let (store, parked) = (store.clone(), parked.clone());
        handles.push(tokio::spawn(async move {
            let (actor, _) = crate::penalty::steps()[0].clone();
            for _ in (c..n).step_by(16) {
                let started = store
                    .start_case(StartCase {
                        flow: "penalty-general".into(),
                        actor: "bench".into(),
                        ..Default::default()
                    })
                    .await
                    .expect("start");
                let (_, state) = store.case_state(&started.case_id).await.expect("state");
                let task = state.tasks[0].key;
                let claim = Command::Claim { task, actor: actor.clone() };
                store.execute(&started.case_id, claim, &actor.user, None).await.expect("claim");
                parked.lock().await.push((started.case_id, task));
            }
        }));
    }
    for h in handles {
        h.await.expect("parking client");
    }
    Arc::try_unwrap(parked).expect("parked").into_inner()
}

/// Task completions alone: `clients` clients each complete parked tasks (one durable command
/// each, the filing's completion with its record) until `seconds` pass or the parked tasks
/// run out, the first parked first (their cases have left the case cache, which keeps the
/// most recently used). Completions/s, p50, p99, and the seconds it ran.
pub async fn complete_parked(
    store: &Store,
    clients: usize,
    seconds: u64,
    parked: Vec<(String, TaskKey)>,
) -> (f64, Duration, Duration, f64) {
    let parked = Arc::new(Mutex::new(parked.into_iter().rev().collect::<Vec<_>>()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (store, parked) = (store.clone(), parked.clone());
        handles.push(tokio::spawn(async move {
            let (actor, done) = crate::penalty::steps()[0].clone();
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let Some((case, task)) = parked.lock().await.pop() else { break };
                let command = Command::Complete { task, actor: actor.clone(), completion: done.clone() };
                let t = Instant::now();
                store.execute(&case, command, &actor.user, None).await.expect("complete");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await.expect("client"));
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort();
    (latencies.len() as f64 / secs, pct(&latencies, 0.5), pct(&latencies, 0.99), secs)
}

/// Inserts `n` open tasks (with their group candidate rows) straight into the tables, the
/// shape the engine writes, spread over 200 groups plus the `legal_reviewer` group (unless
/// an earlier run of this benchmark on the same database inserted them already).
pub async fn seed_tasks(store: &Store, n: u64) {
    let db = store.db();
    let backend = db.get_database_backend();
    let existing: i64 = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM task_candidates WHERE task_id >= 1000000000".to_owned(),
        ))
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
                let group = seeded_group(k);
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

/// The group inbox of the reviewer `rev` (roles and groups `legal_reviewer` and `g7`): the
/// first page of 50 by due date, of tasks offered to either group or to `rev` by name. This is
/// the query `inbox(first: 50)` runs for that reviewer through the API.
pub fn reviewer_inbox() -> InboxQuery {
    let groups = vec!["legal_reviewer".to_owned(), "g7".to_owned()];
    InboxQuery {
        scope: InboxScope::Offered { groups, user: Some("rev".to_owned()) },
        filter: InboxFilter::default(),
        sort: InboxSort::default(),
        limit: 50,
        after: None,
    }
}

/// How many of the `n` tasks [`seed_tasks`] inserts are offered to the reviewer of
/// [`reviewer_inbox`]: those of the `legal_reviewer` group and of `g7`.
pub fn seeded_for_reviewer(n: u64) -> usize {
    (0..n).filter(|&k| matches!(seeded_group(k).as_str(), "legal_reviewer" | "g7")).count()
}

/// The candidate group of the `k`th task [`seed_tasks`] inserts: `legal_reviewer` for every
/// hundredth, otherwise one of 200 groups `g0`..`g199`.
fn seeded_group(k: u64) -> String {
    if k.is_multiple_of(100) { "legal_reviewer".to_owned() } else { format!("g{}", k % 200) }
}

/// p50 and p99 of [`reviewer_inbox`] through the store, over 500 reads after 20 to warm up,
/// with `seeded` tasks from [`seed_tasks`] in the database (a page holds at least
/// [`seeded_for_reviewer`] of them, up to 50).
pub async fn inbox_latency(store: &Store, seeded: u64) -> (Duration, Duration) {
    inbox_latency_sorted(store, seeded, InboxSort::default()).await
}

/// [`inbox_latency`] with the page in another order.
pub async fn inbox_latency_sorted(store: &Store, seeded: u64, sort: InboxSort) -> (Duration, Duration) {
    let query = InboxQuery { sort, ..reviewer_inbox() };
    let least = seeded_for_reviewer(seeded).min(50);
    let mut samples = Vec::new();
    for _ in 0..20 {
        store.inbox(&query).await.expect("inbox");
    }
    for _ in 0..500 {
        let t = Instant::now();
        let page = store.inbox(&query).await.expect("inbox");
        samples.push(t.elapsed());
        assert!((least..=50).contains(&page.tasks.len()), "an inbox page of {} tasks", page.tasks.len());
    }
    samples.sort();
    (pct(&samples, 0.5), pct(&samples, 0.99))
}

/// Peak resident memory of this process, in MB.
pub fn peak_rss_mb() -> f64 {
    peak_rss_mb_of("self")
}

/// Peak resident memory of a process (`self` or a pid), in MB.
pub fn peak_rss_mb_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// USER_HZ on Linux: the unit of the CPU times in `/proc`.
const TICKS_PER_SECOND: f64 = 100.0;

/// The fields of a `/proc/.../stat` text after the command name (which is in parentheses):
/// utime and stime are the 12th and 13th of them, cutime and cstime (the CPU of children that
/// ended and were waited for) the 14th and 15th.
fn stat_ticks(stat: &str, fields: std::ops::Range<usize>) -> u64 {
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let all: Vec<&str> = rest.split_whitespace().collect();
    fields.filter_map(|i| all.get(i)?.parse::<u64>().ok()).sum()
}

/// CPU time (user + system) used so far by this process's threads named `name` (all threads
/// when `None`), from `/proc` (zero where `/proc` is missing).
pub fn cpu_time(name: Option<&str>) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Duration::ZERO };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let path = task.path();
        if let Some(name) = name {
            let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            // The kernel keeps the first 15 bytes of a thread's name.
            if comm.trim() != &name[..name.len().min(15)] {
                continue;
            }
        }
        ticks += stat_ticks(&std::fs::read_to_string(path.join("stat")).unwrap_or_default(), 11..13);
    }
    Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND)
}

/// CPU time (user + system) used so far by the processes of this machine named `name` and by
/// their children that ended (a PostgreSQL server's: its postmaster reaps the backends of
/// closed connections, so their CPU stays counted), from `/proc`; `None` when no such process
/// is visible (a server on another machine).
pub fn processes_cpu_time(name: &str) -> Option<Duration> {
    let mut ticks = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        if !entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        *ticks.get_or_insert(0) += stat_ticks(&stat, 11..15);
    }
    ticks.map(|t| Duration::from_secs_f64(t as f64 / TICKS_PER_SECOND))
}
