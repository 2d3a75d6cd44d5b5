//! Workers: timers fire exactly once across nodes, timer start events start one case per
//! occurrence, jobs survive the death of their node.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use docket_engine::core::{Actor, CaseStatus, Command};
use docket_engine::store::entity::{audit_log, cases, definitions, idempotency_keys, start_timers};
use docket_engine::store::{JobHandler, StartCase, Store, WorkerConfig, Workers, builtin_handlers};
use sea_orm::sea_query::Expr;
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

const TWO_WAITS: &str = r#"
id: two-waits
start: fork
nodes:
  fork: { type: parallel, next: [short, long] }
  short: { type: timer, timer: PT1S, next: join }
  long: { type: timer, timer: PT2S, next: join }
  join: { type: parallel, next: done }
  done: { type: end }
"#;

async fn case_row(store: &Store, case: &str) -> cases::Model {
    cases::Entity::find_by_id(case).one(store.db()).await.unwrap().expect("the case row")
}

/// The row's next timer is the one its state names (`CaseState::next_timer`), or none.
async fn assert_next_timer_is_the_states(store: &Store, case: &str) -> cases::Model {
    let row = case_row(store, case).await;
    let (_, state) = store.case_state(case).await.unwrap();
    let next = state.next_timer();
    assert_eq!(row.wake_timer, next.map(|t| t.key.0 as i32), "next timer of {:?}", state.timers);
    assert_eq!(row.wake_at, next.map(|t| t.due.0));
    row
}

#[tokio::test]
async fn a_case_row_names_its_next_timer_and_the_worker_fires_each_in_turn() {
    support::on_both(|store| async move {
        store.deploy(TWO_WAITS, "admin").await.unwrap();
        let case = store.start_case(StartCase { flow: "two-waits".into(), actor: "t".into(), ..Default::default() });
        let case = case.await.unwrap().case_id;
        let row = assert_next_timer_is_the_states(&store, &case).await;
        let (_, state) = store.case_state(&case).await.unwrap();
        assert_eq!(state.timers.len(), 2);
        assert_eq!(row.wake_at, state.timers.iter().map(|t| t.due.0).min(), "the earlier of the two");

        store.execute(&case, Command::Suspend, "chief", None).await.unwrap();
        let row = case_row(&store, &case).await;
        assert_eq!((row.wake_at, row.wake_timer), (None, None), "a suspended case's timers are disarmed");
        store.execute(&case, Command::Resume, "chief", None).await.unwrap();
        assert!(assert_next_timer_is_the_states(&store, &case).await.wake_at.is_some(), "armed again");

        let workers = Workers::spawn(store.clone(), worker_config("solo"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while case_row(&store, &case).await.status != "completed" {
            assert!(Instant::now() < deadline, "the two timers did not both fire");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        workers.stop().await;
        fired_once_each(&store, 2).await;
        let row = assert_next_timer_is_the_states(&store, &case).await;
        assert_eq!((row.wake_at, row.wake_lease_until), (None, None), "a closed case waits for nothing");
        store.verify_audit(&case).await.unwrap();
    })
    .await;
}

const WATCHED_TASKS: &str = r#"
id: watched-tasks
start: first
nodes:
  first:
    type: user_task
    candidates: { groups: [handler] }
    boundary:
      - { id: first_reminder, timer: PT1H, interrupting: false, next: reminded }
    next: second
  second:
    type: user_task
    candidates: { groups: [handler] }
    boundary:
      - { id: second_reminder, timer: PT2H, interrupting: false, next: reminded }
    next: done
  reminded: { type: end }
  done: { type: end }
"#;

/// A node's lease on a case's next timer is on the case row, which commands update too: a
/// command that leaves the next timer alone keeps the lease (another node must not fire it
/// meanwhile), one that moves it to another timer ends the lease.
#[tokio::test]
async fn a_lease_on_the_next_timer_outlives_commands_that_keep_it() {
    support::on_both(|store| async move {
        store.deploy(WATCHED_TASKS, "admin").await.unwrap();
        let case =
            store.start_case(StartCase { flow: "watched-tasks".into(), actor: "t".into(), ..Default::default() });
        let case = case.await.unwrap().case_id;
        let first = assert_next_timer_is_the_states(&store, &case).await;
        let lease_until = store.now().0 + 30_000;
        cases::Entity::update_many()
            .col_expr(cases::Column::WakeLeaseOwner, Expr::value("node-x"))
            .col_expr(cases::Column::WakeLeaseUntil, Expr::value(lease_until))
            .filter(cases::Column::Id.eq(&case))
            .exec(store.db())
            .await
            .unwrap();

        let (_, state) = store.case_state(&case).await.unwrap();
        let task = state.tasks[0].key;
        let h = Actor::new("h", &["handler"]);
        store.execute(&case, Command::Claim { task, actor: h.clone() }, "h", None).await.unwrap();
        let row = assert_next_timer_is_the_states(&store, &case).await;
        assert_eq!(row.wake_timer, first.wake_timer);
        assert_eq!((row.wake_lease_owner.as_deref(), row.wake_lease_until), (Some("node-x"), Some(lease_until)));

        let done = Command::Complete { task, actor: h, completion: Default::default() };
        store.execute(&case, done, "h", None).await.unwrap();
        let row = assert_next_timer_is_the_states(&store, &case).await;
        assert_ne!(row.wake_timer, first.wake_timer, "the second task's reminder is next");
        assert_eq!((row.wake_lease_owner, row.wake_lease_until), (None, None), "the lease ended with its timer");
    })
    .await;
}

/// A timer whose firing fails for good (here the case's state cannot be read) is set aside
/// for an hour instead of being retried every round.
#[tokio::test]
async fn a_timer_that_cannot_fire_is_set_aside() {
    let (store, dir) = support::sqlite().await;
    store.deploy(TIMER_FLOW, "admin").await.unwrap();
    let case = store.start_case(StartCase { flow: "wait-and-close".into(), actor: "t".into(), ..Default::default() });
    let case = case.await.unwrap().case_id;
    store.shutdown().await;
    // Another node, which has not seen the case, finds its state unreadable.
    let url = format!("sqlite://{}", dir.path().join("docket.db").display());
    let store = Store::connect(support::config(url)).await.unwrap();
    cases::Entity::update_many()
        .col_expr(cases::Column::State, Expr::value("{ not json"))
        .filter(cases::Column::Id.eq(&case))
        .exec(store.db())
        .await
        .unwrap();
    let workers = Workers::spawn(store.clone(), worker_config("solo"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = case_row(&store, &case).await;
        if row.wake_lease_owner.as_deref() == Some("failed") {
            let pause = row.wake_lease_until.unwrap() - store.now().0;
            assert!(pause > 3_500_000, "set aside for about an hour, not {pause} ms");
            break;
        }
        assert!(Instant::now() < deadline, "the failing timer was not set aside");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    workers.stop().await;
    fired_once_each(&store, 0).await;
    store.shutdown().await;
}
