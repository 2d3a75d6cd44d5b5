//! Workers: timers fire exactly once across nodes, timer start events start one case per
//! occurrence, jobs survive the death of their node.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use docket_engine::core::CaseStatus;
use docket_engine::store::entity::{audit_log, cases, definitions, idempotency_keys, start_timers};
use docket_engine::store::{JobHandler, StartCase, Store, WorkerConfig, Workers, builtin_handlers};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

const TIMER_FLOW: &str = r#"
id: wait-and-close
start: wait
nodes:
  wait: { type: timer, timer: PT2S, next: done }
  done: { type: end }
"#;

const JOB_FLOW: &str = r#"
id: notify
start: send
nodes:
  send: { type: service_task, job: deliver, retries: 3, backoff: { initial: PT1S }, next: done }
  done: { type: end }
"#;

async fn start_many(store: &Store, flow: &str, n: usize) {
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..n {
        let store = store.clone();
        let flow = flow.to_owned();
        starts.spawn(async move {
            store
                .start_case(StartCase {
                    flow,
                    actor: "test".into(),
                    business_key: Some(format!("bk-{i}")),
                    ..Default::default()
                })
                .await
        });
    }
    while let Some(r) = starts.join_next().await {
        r.unwrap().expect("start");
    }
}

async fn wait_until_closed(store: &Store, n: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let done = cases::Entity::find().filter(cases::Column::Status.eq("completed")).count(store.db()).await.unwrap();
        if done == n {
            return;
        }
        assert!(Instant::now() < deadline, "only {done} of {n} cases completed in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn fired_once_each(store: &Store, n: u64) {
    let fired =
        audit_log::Entity::find().filter(audit_log::Column::Kind.eq("fire_timer")).count(store.db()).await.unwrap();
    assert_eq!(fired, n, "every timer fired exactly once");
}

fn worker_config(node: &str) -> WorkerConfig {
    let mut config = WorkerConfig::new(node);
    config.poll_interval = Duration::from_millis(50);
    config
}

#[tokio::test]
async fn timers_fire_once_on_one_node() {
    let (store, _dir) = support::sqlite().await;
    store.deploy(TIMER_FLOW, "admin").await.unwrap();
    start_many(&store, "wait-and-close", 500).await;
    let workers = Workers::spawn(store.clone(), worker_config("solo"));
    wait_until_closed(&store, 500, Duration::from_secs(60)).await;
    fired_once_each(&store, 500).await;
    workers.stop().await;
    store.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_timers_fire_exactly_once_across_three_nodes() {
    let Some(db) = support::pg_database().await else { return };
    let nodes: Vec<Store> = futures_nodes(&db.url, 3).await;
    nodes[0].deploy(TIMER_FLOW, "admin").await.unwrap();
    start_many(&nodes[0], "wait-and-close", 10_000).await;
    let workers: Vec<Workers> =
        nodes.iter().enumerate().map(|(i, s)| Workers::spawn(s.clone(), worker_config(&format!("node-{i}")))).collect();
    wait_until_closed(&nodes[0], 10_000, Duration::from_secs(300)).await;
    fired_once_each(&nodes[0], 10_000).await;
    for w in workers {
        w.stop().await;
    }
    for s in nodes {
        s.shutdown().await;
    }
}

async fn futures_nodes(url: &str, n: usize) -> Vec<Store> {
    let mut nodes = Vec::new();
    for i in 0..n {
        let mut config = support::config(url);
        config.node_id = format!("node-{i}");
        nodes.push(Store::connect(config).await.expect("connect"));
    }
    nodes[0].migrate().await.expect("migrate");
    nodes
}

/// A handler that never finishes: the node running it is as good as dead.
fn stuck(started: Arc<AtomicUsize>) -> JobHandler {
    Arc::new(move |_| {
        started.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::pending())
    })
}

#[tokio::test]
async fn a_job_whose_node_dies_is_finished_by_another() {
    let Some(db) = support::pg_database().await else { return };
    let nodes = futures_nodes(&db.url, 2).await;
    nodes[0].deploy(JOB_FLOW, "admin").await.unwrap();
    start_many(&nodes[0], "notify", 1).await;

    let started = Arc::new(AtomicUsize::new(0));
    let mut dying = worker_config("dying");
    dying.lease = Duration::from_secs(1);
    dying.handlers = HashMap::from([("deliver".to_owned(), stuck(started.clone()))]);
    let dying = Workers::spawn(nodes[0].clone(), dying);
    let deadline = Instant::now() + Duration::from_secs(10);
    while started.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the first node never took the job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut healthy = worker_config("healthy");
    healthy.handlers = builtin_handlers();
    let noop = healthy.handlers["noop"].clone();
    healthy.handlers.insert("deliver".into(), noop);
    let healthy = Workers::spawn(nodes[1].clone(), healthy);
    wait_until_closed(&nodes[1], 1, Duration::from_secs(30)).await;
    let (row, state) = {
        let row = cases::Entity::find().one(nodes[1].db()).await.unwrap().unwrap();
        let (_, state) = nodes[1].case_state(&row.id).await.unwrap();
        (row, state)
    };
    assert_eq!(state.status, CaseStatus::Completed);
    nodes[1].verify_audit(&row.id).await.unwrap();
    healthy.stop().await;
    drop(dying);
}

/// A flow begun by hand at `begin`, and by a timer start event `tick`.
fn timer_start_flow(timer: &str) -> String {
    format!(
        r#"
id: ticking
start: begin
nodes:
  begin: {{ type: start, next: done }}
  tick: {{ type: start, timer: {timer}, next: done }}
  done: {{ type: end }}
"#
    )
}

async fn cases_of(store: &Store, flow: &str) -> Vec<cases::Model> {
    cases::Entity::find().filter(cases::Column::FlowKey.eq(flow)).all(store.db()).await.unwrap()
}

/// Every case started by a timer start event holds the occurrence's idempotency key, and no
/// two cases share an occurrence.
async fn one_case_per_occurrence(store: &Store, flow: &str) -> usize {
    let started = cases_of(store, flow).await;
    let keys = idempotency_keys::Entity::find()
        .filter(idempotency_keys::Column::Key.starts_with("start-timer\u{1f}"))
        .all(store.db())
        .await
        .unwrap();
    let mut by_key: Vec<Option<String>> = keys.iter().map(|k| k.case_id.clone()).collect();
    by_key.sort();
    by_key.dedup();
    assert_eq!(by_key.len(), keys.len(), "two occurrences answered with one case");
    assert_eq!(started.len(), keys.len(), "a case started by timer without its occurrence's key, or twice");
    started.len()
}

#[tokio::test]
async fn a_one_time_timer_start_event_starts_one_case_and_a_new_version_replaces_it() {
    let (store, _dir) = support::sqlite().await;
    store.deploy(&timer_start_flow("PT1S"), "admin").await.unwrap();
    let rows = start_timers::Entity::find().all(store.db()).await.unwrap();
    assert_eq!(rows.len(), 1, "the deploy schedules the timer start event");
    let workers = Workers::spawn(store.clone(), worker_config("solo"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while cases_of(&store, "ticking").await.is_empty() {
        assert!(Instant::now() < deadline, "the timer start event never fired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(one_case_per_occurrence(&store, "ticking").await, 1, "a one-time timer starts one case");
    let case = &cases_of(&store, "ticking").await[0];
    assert_eq!(case.status, "completed");
    assert!(start_timers::Entity::find().all(store.db()).await.unwrap().is_empty(), "fired once, then removed");

    // Version 2 schedules its own start event; version 1's cases are untouched.
    store.deploy(&timer_start_flow("{ cycle: \"0 0 9 * * *\" }"), "admin").await.unwrap();
    let rows = start_timers::Entity::find().all(store.db()).await.unwrap();
    assert_eq!(rows.len(), 1);
    let v2 = definitions::Entity::find()
        .filter(definitions::Column::Key.eq("ticking"))
        .filter(definitions::Column::Version.eq(2))
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rows[0].definition_id, v2.id);
    assert!(rows[0].due_at > store.now().0, "a cycle is due at its next occurrence");
    workers.stop().await;
    store.shutdown().await;
}

#[tokio::test]
async fn a_cycle_start_event_starts_one_case_per_occurrence_across_three_nodes() {
    let Some(db) = support::pg_database().await else { return };
    let nodes = futures_nodes(&db.url, 3).await;
    let began = Instant::now();
    nodes[0].deploy(&timer_start_flow("{ cycle: \"* * * * * *\" }"), "admin").await.unwrap();
    let workers: Vec<Workers> =
        nodes.iter().enumerate().map(|(i, s)| Workers::spawn(s.clone(), worker_config(&format!("node-{i}")))).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while cases_of(&nodes[0], "ticking").await.len() < 3 {
        assert!(Instant::now() < deadline, "a cycle of one second did not start three cases in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for w in workers {
        w.stop().await;
    }
    let elapsed = began.elapsed().as_secs() as usize;
    let started = one_case_per_occurrence(&nodes[0], "ticking").await;
    assert!(started <= elapsed + 1, "{started} cases in {elapsed} s from a cycle of one second");
    for case in cases_of(&nodes[0], "ticking").await {
        assert_eq!(case.status, "completed");
        nodes[0].verify_audit(&case.id).await.unwrap();
    }
    for s in nodes {
        s.shutdown().await;
    }
}
