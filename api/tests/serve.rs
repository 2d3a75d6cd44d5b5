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
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use support::{DOCKET, Server, pg_database};

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

async fn post(server: &Server, path: &str, body: &Value, idempotency_key: Option<&str>) -> (StatusCode, Value) {
    let mut request = client().post(server.url(path)).json(body);
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("POST");
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, value)
}

fn claim(task: u32, user: &str) -> Value {
    json!({"actor": user, "command": {"Claim": {"task": task, "actor": {"user": user, "groups": ["handler"]}}}})
}

/// The key of the case's open `filing` task, read from the database (the interim JSON API
/// has no queries; the key comes from the case's id counter, so it is not a constant).
async fn filing_task(database_url: &str, case_id: &str) -> u32 {
    let db = Database::connect(database_url).await.expect("connect to the server's database");
    let task = tasks::Entity::find()
        .filter(tasks::Column::CaseId.eq(case_id))
        .filter(tasks::Column::NodeId.eq("filing"))
        .filter(tasks::Column::State.eq("open"))
        .one(&db)
        .await
        .expect("query tasks")
        .unwrap_or_else(|| panic!("case {case_id} has no open filing task"));
    db.close().await.expect("close");
    u32::try_from(task.task_key).expect("task key")
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error body: {body}"))
}

/// The scenario both stores run: health, a penalty case, claims, errors, metrics, SIGTERM.
async fn exercise(server: &mut Server, database_url: &str) {
    let (status, body) = get(server, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health, json!({"status": "ok", "database": "ok", "workers": "ok"}));

    let start = json!({
        "flow": "penalty-general",
        "business_key": "赣能执罚〔2024〕1号",
        "variables": {"party_name": "某某能源有限公司"},
        "actor": "h1",
    });
    let (status, started) = post(server, "/v1/cases", &start, None).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let case_id = started["case_id"].as_str().expect("case_id").to_owned();
    assert_eq!(started["status"], "active", "{started}");
    let commands = format!("/v1/cases/{case_id}/commands");
    let task = filing_task(database_url, &case_id).await;
    let claim_as = |user: &str| claim(task, user);

    let (status, claimed) = post(server, &commands, &claim_as("h1"), Some("claim-h1")).await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["case_id"], case_id.as_str());
    assert!(claimed["version"].as_i64() > started["version"].as_i64(), "{started} then {claimed}");

    // The same request with the same key answers the first result again.
    let (status, again) = post(server, &commands, &claim_as("h1"), Some("claim-h1")).await;
    assert_eq!((status, &again), (StatusCode::OK, &claimed));

    let (status, refused) = post(server, &commands, &claim_as("h2"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(error_code(&refused), "ALREADY_CLAIMED");

    // Errors are JSON with codes.
    let (status, missing) = post(server, "/v1/cases/no-such-case/commands", &claim_as("h1"), None).await;
    assert_eq!((status, error_code(&missing)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{missing}");
    let (status, missing) = post(server, &commands, &claim(task + 1000, "h1"), None).await;
    assert_eq!((status, error_code(&missing)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{missing}");
    let (status, no_flow) = post(server, "/v1/cases", &json!({"flow": "no-such-flow", "actor": "h1"}), None).await;
    assert_eq!((status, error_code(&no_flow)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{no_flow}");
    let (status, bad) = post(server, &commands, &json!({"actor": "h1", "command": {"Claim": {}}}), None).await;
    assert_eq!((status, error_code(&bad)), (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION"), "{bad}");
    let fire = json!({"actor": "h1", "command": {"FireTimer": {"timer": 1}}});
    let (status, engine_only) = post(server, &commands, &fire, None).await;
    assert_eq!((status, error_code(&engine_only)), (StatusCode::UNPROCESSABLE_ENTITY, "UNSUPPORTED_COMMAND"));
    let huge = json!({"flow": "penalty-general", "actor": "h1", "variables": {"party_name": "x".repeat(1 << 20)}});
    let (status, too_large) = post(server, "/v1/cases", &huge, None).await;
    assert_eq!((status, error_code(&too_large)), (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"));
    let (status, body) = get(server, "/no-such-route").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&serde_json::from_str(&body).unwrap()), "NOT_FOUND");

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
    let (status, started) =
        post(&first, "/v1/cases", &json!({"flow": "penalty-general", "actor": "h1"}), Some("start-1")).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let case_id = started["case_id"].as_str().unwrap().to_owned();
    let url = format!("sqlite://{}", dir.path().join("from-file.db").display());
    let task = filing_task(&url, &case_id).await;
    let (status, claimed) = post(&first, &format!("/v1/cases/{case_id}/commands"), &claim(task, "h1"), None).await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    assert_eq!(first.terminate(STOP_TIMEOUT).code(), Some(0));
    let deployed = deployments(&first.stderr());
    assert!(deployed.iter().any(|d| d["key"] == "penalty-general" && d["created"] == true), "{deployed:?}");

    // Restart: the flag beats the file for the log format; the case is still claimed.
    let mut second = Server::spawn(command(&["serve", "--log-format", "human"]), dir.path());
    let (status, refused) = post(&second, &format!("/v1/cases/{case_id}/commands"), &claim(task, "h2"), None).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "ALREADY_CLAIMED"));
    let (status, replay) =
        post(&second, "/v1/cases", &json!({"flow": "penalty-general", "actor": "h1"}), Some("start-1")).await;
    assert_eq!((status, replay["case_id"].as_str()), (StatusCode::CREATED, Some(case_id.as_str())));
    assert_eq!(second.terminate(STOP_TIMEOUT).code(), Some(0));
    let log = second.stderr();
    assert!(log.contains("shipped workflow deployed") && log.contains("created=false"), "{log}");
    assert!(!log.contains("created=true"), "unchanged workflows are not deployed again:\n{log}");
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
