//! Several nodes: three `docket serve` processes share one PostgreSQL database. 10,000
//! timers due within the same few seconds fire exactly once each; a job whose node is
//! killed is finished by another node once the lease runs out. Needs PostgreSQL (required
//! under `CI=true`, skipped with a message elsewhere).

mod support;

use std::time::{Duration, Instant};

use docket_engine::store::entity::{audit_log, cases, jobs};
use docket_engine::store::{StartCase, Store, StoreConfig};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use support::Server;

const TIMER_FLOW: &str =
    "id: nodes-timer\nstart: wait\nnodes:\n  wait: { type: timer, timer: PT3S, next: done }\n  done: { type: end }\n";
const JOB_FLOW: &str = "id: nodes-job\nvariables:\n  sleep_ms: { type: integer, default: 3000 }\nstart: work\nnodes:\n  work: { type: service_task, job: sleep, next: done }\n  done: { type: end }\n";

/// A `docket serve` process with a known node id, on the system clock (the test's own store
/// starts the cases, so both must read the same clock).
fn node(url: &str, name: &str, dir: &std::path::Path) -> (String, Server) {
    let mut command = std::process::Command::new(support::DOCKET);
    command.args(["serve", "--listen", "127.0.0.1:0", "--database-url", url, "--node-id", name]);
    (name.to_owned(), Server::spawn_with_clock(command, dir, None))
}

async fn completed(store: &Store, flow: &str) -> u64 {
    cases::Entity::find()
        .filter(cases::Column::FlowKey.eq(flow))
        .filter(cases::Column::Status.eq("completed"))
        .count(store.db())
        .await
        .expect("count")
}

#[tokio::test]
async fn three_nodes_share_timers_and_take_over_a_dead_nodes_job() {
    let Some(db) = support::pg_database().await else { return };
    let url = db.url.clone();
    let dir = tempfile::tempdir().expect("tempdir");

    // The test's own handle on the database: it deploys and starts cases; it runs no workers.
    let store = Store::connect(StoreConfig::new(url.clone())).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.deploy(TIMER_FLOW, "test").await.expect("deploy timers");
    store.deploy(JOB_FLOW, "test").await.expect("deploy job");
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..10_000 {
        let store = store.clone();
        starts.spawn(async move {
            store.start_case(StartCase { flow: "nodes-timer".into(), actor: "test".into(), ..Default::default() }).await
        });
    }
    while let Some(r) = starts.join_next().await {
        r.expect("join").expect("start");
    }

    let nodes: Vec<(String, Server)> = (0..3).map(|i| node(&url, &format!("node-{i}"), dir.path())).collect();
    let deadline = Instant::now() + Duration::from_secs(300);
    while completed(&store, "nodes-timer").await < 10_000 {
        assert!(Instant::now() < deadline, "timers did not all fire");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let fired =
        audit_log::Entity::find().filter(audit_log::Column::Kind.eq("fire_timer")).count(store.db()).await.unwrap();
    assert_eq!(fired, 10_000, "every timer fired exactly once");

    // A job: the node that takes it is killed mid-work; another node finishes it after the
    // lease (30 s) runs out.
    let job_case = store
        .start_case(StartCase { flow: "nodes-job".into(), actor: "test".into(), ..Default::default() })
        .await
        .expect("start job case")
        .case_id;
    let deadline = Instant::now() + Duration::from_secs(30);
    let owner = loop {
        let row = jobs::Entity::find().filter(jobs::Column::CaseId.eq(&job_case)).one(store.db()).await.unwrap();
        if let Some(owner) = row.and_then(|j| j.lease_owner) {
            break owner;
        }
        assert!(Instant::now() < deadline, "no node took the job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut nodes = nodes;
    let victim = nodes.iter().position(|(id, _)| *id == owner).expect("the owner is one of ours");
    nodes.remove(victim).1.kill(); // SIGKILL while the job sleeps
    let deadline = Instant::now() + Duration::from_secs(120);
    while completed(&store, "nodes-job").await < 1 {
        assert!(Instant::now() < deadline, "the job was not taken over");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let finisher = audit_log::Entity::find()
        .filter(audit_log::Column::CaseId.eq(&job_case))
        .filter(audit_log::Column::Kind.eq("job_succeeded"))
        .count(store.db())
        .await
        .unwrap();
    assert_eq!(finisher, 1, "the job's result was applied once");
    store.verify_audit(&job_case).await.expect("audit chain");

    drop(nodes);
    store.shutdown().await;
}
