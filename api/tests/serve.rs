//! `docket serve` and `docket migrate` end to end: the real binary on a fresh SQLite file
//! and on a fresh PostgreSQL database, driven over HTTP.
//!
//! PostgreSQL is `postgres://postgres@127.0.0.1:5432` (database `test` for administration;
//! each test creates and drops its own database). Under `CI=true` an unreachable
//! PostgreSQL fails the test; elsewhere the PostgreSQL test is skipped with a message.

mod support;

use std::process::Command;
use std::time::Duration;

use docket_engine::store::entity::tasks;
use reqwest::StatusCode;
use sea_orm::{Database, EntityTrait};
use serde_json::{Value, json};
use support::{DOCKET, Gql, Server, pg_database, token};

/// How long a graceful shutdown of an idle server may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().expect("http client")
}

async fn get(server: &Server, path: &str) -> (StatusCode, String) {
    let response = client().get(server.url(path)).send().await.expect("GET");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

fn handler(server: &Server, user: &str) -> Gql {
    Gql::new(&server.base, token(user, &["handler"], &[], &[]))
}

const START: &str = "mutation($key: String) { startCase(input: {flow: \"penalty-general\", businessKey: \"赣能执罚〔2024〕1号\", \
                     variables: {party_name: \"某某能源有限公司\"}, idempotencyKey: $key}) { caseId version status } }";
const CLAIM: &str = "mutation($task: ID!, $key: String) { claimTask(input: {taskId: $task, idempotencyKey: $key}) \
                     { caseId version task { assignee } } }";

/// The id of the case's open `filing` task, from the handler's group inbox.
async fn filing_task(gql: &Gql, case_id: &str) -> String {
    let data = gql.ok("{ inbox(first: 200) { nodes { id caseId node } } }", json!({})).await;
    let nodes = data["inbox"]["nodes"].as_array().expect("nodes").clone();
    let task = nodes.iter().find(|t| t["caseId"] == case_id && t["node"] == "filing");
    task.unwrap_or_else(|| panic!("case {case_id} has no open filing task in {nodes:?}"))["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// The scenario both stores run: health, a penalty case, claims, errors, metrics, SIGTERM.
async fn exercise(server: &mut Server, database_url: &str) {
    let (status, body) = get(server, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health, json!({"status": "ok", "database": "ok", "workers": "ok"}));

    let h1 = handler(server, "h1");
    let started = h1.ok(START, json!({})).await["startCase"].clone();
    let case_id = started["caseId"].as_str().expect("caseId").to_owned();
    assert_eq!(started["status"], "ACTIVE", "{started}");
    let task = filing_task(&h1, &case_id).await;

    let claimed = h1.ok(CLAIM, json!({"task": task, "key": "claim-h1"})).await["claimTask"].clone();
    assert_eq!(claimed["caseId"], case_id.as_str());
    assert_eq!(claimed["task"]["assignee"], "h1");
    assert!(claimed["version"].as_i64() > started["version"].as_i64(), "{started} then {claimed}");

    // The same command with the same key answers the first result again.
    let again = h1.ok(CLAIM, json!({"task": task, "key": "claim-h1"})).await["claimTask"].clone();
    assert_eq!(again["version"], claimed["version"]);

    // A key sent again with another command is refused, not answered with the first result.
    let unclaim =
        "mutation($task: ID!, $key: String) { unclaimTask(input: {taskId: $task, idempotencyKey: $key}) { version } }";
    assert_eq!(h1.error(unclaim, json!({"task": task, "key": "claim-h1"})).await, "IDEMPOTENCY_MISMATCH");

    let h2 = handler(server, "h2");
    assert_eq!(h2.error(CLAIM, json!({"task": task})).await, "ALREADY_CLAIMED");

    // Errors carry codes.
    assert_eq!(h1.error(CLAIM, json!({"task": "999999"})).await, "NOT_FOUND");
    assert_eq!(h1.error(CLAIM, json!({"task": "not-a-number"})).await, "VALIDATION");
    let no_flow = "mutation { startCase(input: {flow: \"no-such-flow\"}) { caseId } }";
    assert_eq!(h1.error(no_flow, json!({})).await, "NOT_FOUND");
    let huge = json!({"query": "{ me { user } }", "variables": {"x": "x".repeat(1 << 20)}});
    let response = client().post(server.url("/graphql")).bearer_auth(&h1.token).json(&huge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE", "{body}");
    let (status, body) = get(server, "/no-such-route").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");

    // The command is in the database the test did not talk to directly.
    let db = Database::connect(database_url).await.expect("connect to the server's database");
    let row = tasks::Entity::find_by_id(task.parse::<i64>().unwrap()).one(&db).await.unwrap().unwrap();
    assert_eq!(row.assignee.as_deref(), Some("h1"));
    db.close().await.unwrap();

    let (status, metrics) = get(server, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("docket_commands_total"), "{metrics}");
    assert!(metrics.contains("docket_http_requests_total"), "{metrics}");
    assert!(metrics.contains("docket_conflicts_total"), "{metrics}");

    let status = server.terminate(STOP_TIMEOUT);
    assert_eq!(status.code(), Some(0), "exit status {status}\nstderr:\n{}", server.stderr());
    let log = server.stderr();
    assert!(log.contains("shutdown complete"), "{log}");
}

#[tokio::test]
async fn serves_sqlite_and_shuts_down_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let mut server = Server::start(dir.path(), &["--database-url", &url]);
    exercise(&mut server, &url).await;
    assert!(dir.path().join("d.db").is_file());
}

#[tokio::test]
async fn serves_postgres_and_shuts_down_on_sigterm() {
    let Some(db) = pg_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--database-url", &db.url]);
    exercise(&mut server, &db.url).await;
}

/// `docket.toml` in the working directory configures the server; a restart keeps the
/// cases and deploys the unchanged shipped workflows as a no-op; logs are JSON lines.
#[tokio::test]
async fn config_file_restart_and_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docket.toml"),
        "listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://from-file.db\"\nlog_format = \"json\"\nnode_id = \"n1\"\n",
    )
    .unwrap();

    let mut first = Server::spawn(command(&["serve"]), dir.path());
    assert!(dir.path().join("from-file.db").is_file(), "the file's database_url is used");
    let h1 = handler(&first, "h1");
    let started = h1.ok(START, json!({"key": "start-1"})).await["startCase"].clone();
    let case_id = started["caseId"].as_str().unwrap().to_owned();
    let task = filing_task(&h1, &case_id).await;
    h1.ok(CLAIM, json!({"task": task})).await;
    assert_eq!(first.terminate(STOP_TIMEOUT).code(), Some(0));
    let deployed = deployments(&first.stderr());
    assert!(deployed.iter().any(|d| d["key"] == "penalty-general" && d["created"] == true), "{deployed:?}");

    // Restart: the flag beats the file for the log format; the case is still claimed.
    let mut second = Server::spawn(command(&["serve", "--log-format", "human"]), dir.path());
    assert_eq!(handler(&second, "h2").error(CLAIM, json!({"task": task})).await, "ALREADY_CLAIMED");
    let replay = handler(&second, "h1").ok(START, json!({"key": "start-1"})).await;
    assert_eq!(replay["startCase"]["caseId"].as_str(), Some(case_id.as_str()));
    assert_eq!(second.terminate(STOP_TIMEOUT).code(), Some(0));
    let log = second.stderr();
    assert!(log.contains("shipped workflow deployed") && log.contains("created=false"), "{log}");
    assert!(!log.contains("created=true"), "unchanged workflows are not deployed again:\n{log}");
}

/// A server started in the last weeks of its calendar's last year warns that deadlines past
/// it will fail until the next year's holiday notice is added; earlier, it does not.
#[tokio::test]
async fn warns_at_start_when_the_calendar_runs_out_soon() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let args = ["serve", "--listen", "127.0.0.1:0", "--database-url", &url];
    let mut late = Server::spawn_with_clock(command(&args), dir.path(), Some("2026-11-26T09:00:00+08:00"));
    assert_eq!(late.terminate(STOP_TIMEOUT).code(), Some(0));
    let log = late.stderr();
    assert!(log.contains("the working-day calendar runs out soon") && log.contains("days_left=35"), "{log}");
    assert!(log.contains("workflows/calendars/cn-mainland.yaml"), "{log}");

    let mut early = Server::spawn(command(&args), dir.path());
    assert_eq!(early.terminate(STOP_TIMEOUT).code(), Some(0));
    assert!(!early.stderr().contains("runs out soon"), "{}", early.stderr());
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(DOCKET);
    command.args(args);
    command
}

/// The `shipped workflow deployed` events of a JSON log; every stderr line must be JSON.
fn deployments(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}")))
        .filter(|event| event["message"] == "shipped workflow deployed")
        .collect()
}

#[test]
fn migrate_applies_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let output = command(&["migrate", "--database-url", &url]).current_dir(dir.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("up to date"), "{stderr}");
    }
    assert!(dir.path().join("m.db").is_file());

    let output = command(&["migrate", "--database-url", "mysql://x/y"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn serve_refuses_a_bad_configuration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docket.toml"), "listen_on = \"127.0.0.1:0\"\n").unwrap();
    let output = command(&["serve"]).current_dir(dir.path()).env_remove("DOCKET_CONFIG").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("listen_on"), "{stderr}");
    assert!(output.stdout.is_empty());
}
