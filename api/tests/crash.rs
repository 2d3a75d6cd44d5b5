//! Crash test: `docket serve` under a steady load of case commands is killed with SIGKILL at
//! random points, several times. After each restart the clients re-send every command that
//! was not acknowledged, with the same idempotency key. At the end every acknowledged
//! command is present exactly once, no case is stuck, and every audit chain verifies.
//! Runs on SQLite and, when reachable, on PostgreSQL (required under `CI=true`).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use docket_engine::store::entity::{audit_log, cases, tasks};
use docket_engine::store::{Store, StoreConfig};
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use support::Server;
use tokio::sync::Mutex;

/// A request the clients must see acknowledged once.
#[derive(Clone, Debug)]
struct Pending {
    /// Its idempotency key (`start-N` or `claim-N`).
    key: String,
    /// The user sending it (`hN`).
    user: String,
    query: &'static str,
    variables: Value,
}

const START: &str = "mutation($key: String, $bk: String) { startCase(input: {flow: \"penalty-general\", \
                     businessKey: $bk, idempotencyKey: $key}) { caseId } }";
const CLAIM: &str = "mutation($key: String, $task: ID!) { claimTask(input: {taskId: $task, idempotencyKey: $key}) \
                     { caseId } }";

/// Sends one request; `Ok` only when the server acknowledged it.
async fn send(client: &reqwest::Client, base: &str, p: &Pending) -> Result<Value, String> {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(support::token(&p.user, &["handler"], &[], &[]))
        .json(&json!({ "query": p.query, "variables": p.variables }))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() && body.get("errors").is_none() {
        Ok(body["data"].clone())
    } else {
        Err(format!("{status}: {body}"))
    }
}

#[derive(Default)]
struct Ledger {
    /// Acknowledged starts: idempotency key -> case id.
    started: BTreeMap<String, String>,
    /// Acknowledged claims: case id -> user.
    claimed: HashMap<String, String>,
    /// Sent but not acknowledged.
    pending: Vec<Pending>,
    next: u64,
}

fn start_request(n: u64) -> Pending {
    Pending {
        key: format!("start-{n}"),
        user: format!("h{n}"),
        query: START,
        variables: json!({ "key": format!("start-{n}"), "bk": format!("CASE-{n}") }),
    }
}

fn claim_request(n: u64, task_id: i64) -> Pending {
    Pending {
        key: format!("claim-{n}"),
        user: format!("h{n}"),
        query: CLAIM,
        variables: json!({ "key": format!("claim-{n}"), "task": task_id.to_string() }),
    }
}

/// The id of a case's open filing task.
async fn filing_task(db: &sea_orm::DatabaseConnection, case_id: &str) -> i64 {
    tasks::Entity::find()
        .filter(tasks::Column::CaseId.eq(case_id))
        .filter(tasks::Column::NodeId.eq("filing"))
        .one(db)
        .await
        .expect("query tasks")
        .expect("an acknowledged start has its filing task")
        .id
}

/// Records an acknowledged request; a start leads to its claim.
async fn acknowledged(
    ledger: &mut Ledger,
    db: &sea_orm::DatabaseConnection,
    p: &Pending,
    data: &Value,
) -> Option<Pending> {
    let n: u64 = p.key.split('-').nth(1)?.parse().ok()?;
    if p.key.starts_with("start-") {
        let case = data["startCase"]["caseId"].as_str()?.to_owned();
        ledger.started.insert(p.key.clone(), case.clone());
        Some(claim_request(n, filing_task(db, &case).await))
    } else {
        let case = data["claimTask"]["caseId"].as_str()?.to_owned();
        ledger.claimed.insert(case, p.user.clone());
        None
    }
}

/// Clients keep sending until the server dies; what was in flight stays pending.
async fn load(base: String, ledger: Arc<Mutex<Ledger>>, db: sea_orm::DatabaseConnection, clients: usize) {
    let client = reqwest::Client::new();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (client, base, ledger, db) = (client.clone(), base.clone(), ledger.clone(), db.clone());
        handles.push(tokio::spawn(async move {
            loop {
                let request = {
                    let mut l = ledger.lock().await;
                    match l.pending.pop() {
                        Some(p) => p,
                        None => {
                            l.next += 1;
                            start_request(l.next)
                        }
                    }
                };
                match send(&client, &base, &request).await {
                    Ok(body) => {
                        let mut l = ledger.lock().await;
                        if let Some(next) = acknowledged(&mut l, &db, &request, &body).await {
                            l.pending.push(next);
                        }
                    }
                    Err(_) => {
                        ledger.lock().await.pending.push(request);
                        return;
                    }
                }
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
}

fn random_millis(lo: u64, hi: u64) -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0) as u64;
    lo + nanos % (hi - lo)
}

async fn crash_and_recover(database_url: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut db = None;
    for round in 0..4 {
        let mut server = Server::start(dir.path(), &["--database-url", database_url]);
        let base = server.base.clone();
        // The test's own connection, opened once the first server has created the schema.
        let db = match &db {
            Some(db) => db,
            None => db.insert(Database::connect(database_url).await.expect("connect")),
        };
        let load = tokio::spawn(load(base, ledger.clone(), db.clone(), 4));
        tokio::time::sleep(Duration::from_millis(random_millis(400, 1500))).await;
        server.kill();
        load.await.expect("load");
        let l = ledger.lock().await;
        eprintln!(
            "round {round}: {} starts and {} claims acknowledged, {} pending",
            l.started.len(),
            l.claimed.len(),
            l.pending.len()
        );
    }

    // Recover: a last server; every pending request is re-sent until acknowledged.
    let mut server = Server::start(dir.path(), &["--database-url", database_url]);
    let client = reqwest::Client::new();
    loop {
        let Some(p) = ledger.lock().await.pending.pop() else { break };
        let body = send(&client, &server.base, &p).await.unwrap_or_else(|e| panic!("{} after recovery: {e}", p.key));
        let mut l = ledger.lock().await;
        let db = db.as_ref().expect("connected");
        if let Some(next) = acknowledged(&mut l, db, &p, &body).await {
            l.pending.push(next);
        }
    }
    assert!(server.terminate(Duration::from_secs(30)).success(), "clean shutdown after recovery");

    let l = ledger.lock().await;
    assert!(l.started.len() >= 10, "the load produced too little to test: {}", l.started.len());
    let store = Store::connect(StoreConfig::new(database_url)).await.expect("connect");
    let rows = cases::Entity::find().all(store.db()).await.expect("cases");
    assert_eq!(rows.len(), l.started.len(), "every acknowledged start is one case, and nothing else");
    for (key, case_id) in &l.started {
        let row = rows.iter().find(|r| &r.id == case_id).unwrap_or_else(|| panic!("{key}: case {case_id} lost"));
        let entries = audit_log::Entity::find()
            .filter(audit_log::Column::CaseId.eq(case_id))
            .all(store.db())
            .await
            .expect("audit");
        let starts = entries.iter().filter(|e| e.kind == "start").count();
        let claims = entries.iter().filter(|e| e.kind == "claim").count();
        assert_eq!(starts, 1, "{case_id} started once");
        assert_eq!(claims, 1, "{case_id} claimed exactly once");
        store.verify_audit(case_id).await.unwrap_or_else(|e| panic!("{e}"));
        // Not stuck: the state and the inbox agree, and the claim is the acknowledged one.
        let (_, state) = store.case_state(case_id).await.expect("state");
        let open = tasks::Entity::find()
            .filter(tasks::Column::CaseId.eq(case_id))
            .filter(tasks::Column::State.eq("open"))
            .all(store.db())
            .await
            .expect("tasks");
        assert_eq!(open.len(), state.tasks.len(), "{case_id}: inbox and state agree");
        assert_eq!(row.status, "active");
        let assignee = state.tasks.first().and_then(|t| t.assignee.clone());
        assert_eq!(assignee.as_ref(), l.claimed.get(case_id), "{case_id}: the acknowledged claim");
    }
    store.shutdown().await;
}

#[tokio::test]
async fn sigkill_under_load_loses_and_duplicates_nothing_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    crash_and_recover(&url).await;
}

#[tokio::test]
async fn sigkill_under_load_loses_and_duplicates_nothing_on_postgres() {
    let Some(db) = support::pg_database().await else { return };
    crash_and_recover(&db.url).await;
}
