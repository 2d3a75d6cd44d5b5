//! The GraphQL API through real HTTP and websocket connections to `docket serve`, on SQLite
//! and on PostgreSQL: reviewers, leaders, admins, supervisors and integrations at work.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{Gql, Server, pg_database, token, token_expiring};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn person(server: &Server, user: &str, roles: &[&str]) -> Gql {
    Gql::new(&server.base, token(user, roles, &[], &[]))
}

fn record(kind: &str) -> Value {
    json!({ "kind": kind, "sha256": "ab".repeat(32), "size": 1024, "uri": format!("s3://evidence/{kind}") })
}

const START: &str = "mutation($bk: String, $vars: JSON) { startCase(input: {flow: \"penalty-general\", \
                     businessKey: $bk, variables: $vars}) { caseId status } }";
const CLAIM: &str = "mutation($task: ID!) { claimTask(input: {taskId: $task}) { caseId task { assignee status } } }";
const CLAIM_NEXT: &str =
    "mutation($bk: String) { claimNextTask(input: {filter: {businessKey: $bk}}) { taskId task { node assignee } } }";
const CLAIM_NEXT_OF_CASE: &str =
    "mutation($case: ID) { claimNextTask(input: {caseId: $case}) { taskId task { node assignee } } }";
const COMPLETE: &str = "mutation($input: CompleteTaskInput!) { completeTask(input: $input) { caseId status } }";

/// The open task at `node` of the case with business key `bk`, from `gql`'s group inbox.
async fn task_at(gql: &Gql, bk: &str, node: &str) -> Vec<String> {
    let data = gql
        .ok(
            "query($bk: String) { inbox(filter: {businessKey: $bk}, first: 50) { nodes { id node } } }",
            json!({ "bk": bk }),
        )
        .await;
    let nodes = data["inbox"]["nodes"].as_array().expect("nodes").clone();
    nodes.iter().filter(|t| t["node"] == node).map(|t| t["id"].as_str().unwrap().to_owned()).collect()
}

/// Claims and completes one task.
async fn work(gql: &Gql, task: &str, completion: Value) {
    gql.ok(CLAIM, json!({ "task": task })).await;
    let mut input = completion;
    input["taskId"] = json!(task);
    gql.ok(COMPLETE, json!({ "input": input })).await;
}

/// Starts a major penalty case and drives it to legal review: filing, evidence by two
/// officers, the section chief's approval.
async fn to_legal_review(server: &Server, bk: &str) -> String {
    let h1 = person(server, "h1", &["handler"]);
    let started = h1.ok(START, json!({ "bk": bk, "vars": { "party_name": "某某能源有限公司" } })).await;
    let case_id = started["startCase"]["caseId"].as_str().unwrap().to_owned();
    let filing = task_at(&h1, bk, "filing").await;
    work(&h1, &filing[0], json!({ "variables": { "party_name": "某某能源有限公司" }, "records": [record("text")] }))
        .await;
    let evidence = task_at(&h1, bk, "evidence").await;
    assert_eq!(evidence.len(), 2, "two officers gather evidence");
    for (task, officer) in evidence.iter().zip(["h2", "h3"]) {
        let gql = person(server, officer, &["handler"]);
        let completion = json!({
            "variables": { "fine_amount": 80000.0, "license_revocation": false },
            "records": [record("text"), record("audio_video")],
        });
        work(&gql, task, completion).await;
    }
    // The section chief takes the case's next task by the case's id.
    let chief = person(server, "c1", &["section_chief"]);
    let next = chief.ok(CLAIM_NEXT_OF_CASE, json!({ "case": case_id })).await;
    assert_eq!(next["claimNextTask"]["task"], json!({ "node": "chief_approval", "assignee": "c1" }), "{next}");
    let approval = next["claimNextTask"]["taskId"].clone();
    chief.ok(COMPLETE, json!({ "input": { "taskId": approval, "outcome": "approved" } })).await;
    case_id
}

fn checklist() -> Value {
    let ids =
        ["subject", "authority", "facts", "evidence", "law", "procedure", "discretion", "documents", "rights", "other"];
    Value::Array(ids.iter().map(|id| json!({ "id": id, "satisfied": true })).collect())
}

/// A graphql-ws connection, initialised with `token`.
async fn subscribe(
    server: &Server,
    token: &str,
    query: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::Text(init.to_string().into())).await.unwrap();
    let ack = next_message(&mut socket).await.expect("an answer to connection_init");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    socket.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    socket
}

async fn next_message(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next()).await.ok()??.ok()?;
        match message {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// A reviewer sees the review task arrive through the subscription, claims it; a second
/// reviewer's claim fails; the first escalates a disagreement, a leader rules, the
/// reviewer completes with the ruled outcome; the leader decides.
async fn review_scenario(server: &Server) {
    let r1 = person(server, "r1", &["legal_reviewer"]);
    let r2 = person(server, "r2", &["legal_reviewer"]);
    let mut socket =
        subscribe(server, &r1.token, "subscription { inboxChanges { kind actor task { id node businessKey } } }").await;
    // The subscription is live before the case starts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bk = "赣能执罚〔2024〕7号";
    let case_id = to_legal_review(server, bk).await;
    // The review's deadline is armed: its overdue step is a timer of the case.
    let watcher = person(server, "s0", &["supervisor"]);
    let open = "query($id: ID!) { case(id: $id, purpose: \"核对审核期限\") { deadlines { kind what overdue } } }";
    let open = watcher.ok(open, json!({ "id": case_id })).await;
    let deadlines = open["case"]["deadlines"].as_array().unwrap();
    assert!(deadlines.iter().any(|d| d["kind"] == "TIMER" && d["what"] == "ladder" && d["overdue"] == false), "{open}");

    let review = loop {
        let message = next_message(&mut socket).await.expect("an inbox change");
        assert_eq!(message["type"], "next", "{message}");
        let change = &message["payload"]["data"]["inboxChanges"];
        if change["task"]["node"] == "legal_review" && change["kind"] == "CREATED" {
            assert_eq!(change["task"]["businessKey"], bk);
            break change["task"]["id"].as_str().unwrap().to_owned();
        }
    };

    let task = r1
        .ok(
            "query($id: ID!) { task(id: $id) { status outcomes checklist { id required } requiredRecords form { name } } }",
            json!({ "id": review }),
        )
        .await;
    assert_eq!(task["task"]["status"], "UNCLAIMED");
    assert_eq!(task["task"]["outcomes"], json!(["approved", "rejected"]));
    assert_eq!(task["task"]["checklist"].as_array().unwrap().len(), 10);

    // Separation of duties: an officer who gathered evidence may not review the case.
    let h2_reviewer = person(server, "h2", &["legal_reviewer"]);
    let (_, body) = h2_reviewer.send(CLAIM, json!({ "task": review })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    // Taking the next task passes over the one the officer may not take.
    let next = h2_reviewer.ok(CLAIM_NEXT, json!({ "bk": bk })).await;
    assert_eq!(next["claimNextTask"], Value::Null, "{next}");
    let next = h2_reviewer.ok(CLAIM_NEXT_OF_CASE, json!({ "case": case_id })).await;
    assert_eq!(next["claimNextTask"], Value::Null, "{next}");
    let mixed = "mutation($case: ID) { claimNextTask(input: {caseId: $case, filter: {overdue: true}}) { taskId } }";
    assert_eq!(h2_reviewer.error(mixed, json!({ "case": case_id })).await, "VALIDATION");

    let claimed = r1.ok(CLAIM, json!({ "task": review })).await;
    assert_eq!(claimed["claimTask"]["task"], json!({ "assignee": "r1", "status": "CLAIMED" }));
    assert_eq!(r2.error(CLAIM, json!({ "task": review })).await, "ALREADY_CLAIMED");
    // The reviewer disagrees with the handling section and escalates; a leader rules.
    let escalate = "mutation($t: ID!) { escalateTask(input: {taskId: $t, reason: \"承办机构对审核意见有异议\"}) { task { status } } }";
    assert_eq!(r1.ok(escalate, json!({ "t": review })).await["escalateTask"]["task"]["status"], "ESCALATED");
    let complete = json!({ "input": { "taskId": review, "outcome": "rejected", "checklist": checklist() } });
    assert_eq!(r1.error(COMPLETE, complete.clone()).await, "ESCALATED");
    let leader = person(server, "l1", &["leader"]);
    let escalated = leader
        .ok("{ inbox(filter: {state: ESCALATED}) { totalCount nodes { id escalation { by reason } } } }", json!({}))
        .await;
    assert_eq!(escalated["inbox"]["totalCount"], 1, "{escalated}");
    assert_eq!(escalated["inbox"]["nodes"][0]["escalation"]["by"], "r1");
    let rule = "mutation($t: ID!) { resolveEscalation(input: {taskId: $t, outcome: \"approved\", note: \"经集体讨论，同意\"}) \
                { task { status ruling } } }";
    assert_eq!(r2.error(rule, json!({ "t": review })).await, "FORBIDDEN");
    let ruled = leader.ok(rule, json!({ "t": review })).await;
    assert_eq!(ruled["resolveEscalation"]["task"], json!({ "status": "CLAIMED", "ruling": "approved" }));
    assert_eq!(r1.error(COMPLETE, complete).await, "VALIDATION", "the ruling binds the outcome");
    r1.ok(COMPLETE, json!({ "input": { "taskId": review, "outcome": "approved", "checklist": checklist() } })).await;

    // The leader takes the case's next task from the inbox rather than by id.
    let next = leader.ok(CLAIM_NEXT, json!({ "bk": bk })).await;
    assert_eq!(next["claimNextTask"]["task"], json!({ "node": "decide", "assignee": "l1" }), "{next}");
    let decide = [next["claimNextTask"]["taskId"].as_str().unwrap().to_owned()];
    let input = json!({ "taskId": decide[0], "variables": { "fine_amount": 80000.0 }, "records": [record("text")] });
    leader.ok(COMPLETE, json!({ "input": input })).await;
    assert_eq!(leader.ok(CLAIM_NEXT, json!({ "bk": bk })).await["claimNextTask"], Value::Null, "nothing left");
    let none = leader.ok(CLAIM_NEXT_OF_CASE, json!({ "case": case_id })).await;
    assert_eq!(none["claimNextTask"], Value::Null, "nothing left on the case");

    // The case file shows where the case is; reading it is logged with its purpose.
    let file = leader
        .ok(
            "query($id: ID!) { case(id: $id, purpose: \"签发处罚决定前核对\") { status position auditVerified \
             deadlines { kind what } timeline(first: 100) { edges { node { kind actor } } } } }",
            json!({ "id": case_id }),
        )
        .await;
    assert_eq!(file["case"]["position"], json!(["publish"]));
    assert_eq!(file["case"]["auditVerified"], true);
    assert!(file["case"]["deadlines"].as_array().unwrap().iter().any(|d| d["kind"] == "PUBLICATION"), "{file}");
    let kinds: Vec<&str> = file["case"]["timeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"escalate_task") && kinds.contains(&"resolve_escalation"), "{kinds:?}");
    let supervisor = person(server, "s1", &["supervisor"]);
    // Task records are for those working on the task; others read the case file, logged.
    let records = "query($id: ID!) { task(id: $id) { records { kind } } }";
    assert_eq!(supervisor.error(records, json!({ "id": review })).await, "FORBIDDEN");
    let decided = leader.ok(records, json!({ "id": decide[0] })).await;
    assert_eq!(decided["task"]["records"], json!([{ "kind": "text" }]));
    let log = supervisor
        .ok("query($c: ID) { accessLog(caseId: $c) { edges { node { user what purpose } } } }", json!({ "c": case_id }))
        .await;
    assert_eq!(
        log["accessLog"]["edges"][0]["node"],
        json!({ "user": "l1", "what": "case", "purpose": "签发处罚决定前核对" })
    );
    assert_eq!(
        leader.error("query($id: ID!) { case(id: $id, purpose: \" \") { id } }", json!({ "id": case_id })).await,
        "VALIDATION"
    );
}

#[tokio::test]
async fn reviewers_work_a_case_through_http_and_websocket_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let server = Server::start(dir.path(), &["--database-url", &url]);
    review_scenario(&server).await;
}

#[tokio::test]
async fn reviewers_work_a_case_through_http_and_websocket_on_postgres() {
    let Some(db) = pg_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--database-url", &db.url]);
    review_scenario(&server).await;
}

/// Keyset pages: while cases keep arriving, paging through the inbox sees every task that
/// existed when paging began, once, in order.
async fn pagination_scenario(server: &Server) {
    let h = person(server, "h1", &["handler"]);
    for n in 0..25 {
        h.ok(START, json!({ "bk": format!("PAGE-{n}") })).await;
    }
    let before: HashSet<String> = {
        let data = h.ok("{ inbox(first: 200) { totalCount nodes { id } } }", json!({})).await;
        assert_eq!(data["inbox"]["totalCount"], 25);
        data["inbox"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
    };
    let inserter = {
        let h = h.clone();
        tokio::spawn(async move {
            for n in 0..20 {
                h.ok(START, json!({ "bk": format!("LATE-{n}") })).await;
            }
        })
    };
    let page = "query($after: String) { inbox(first: 4, after: $after, sort: {field: CREATED, direction: ASC}) { \
                edges { cursor node { id createdAt } } pageInfo { hasNextPage endCursor } } }";
    let mut seen: Vec<String> = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = h.ok(page, json!({ "after": after })).await;
        for edge in data["inbox"]["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
        }
        if data["inbox"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["inbox"]["pageInfo"]["endCursor"].clone();
    }
    inserter.await.unwrap();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no task seen twice: {seen:?}");
    assert!(before.iter().all(|id| unique.contains(id)), "every task that existed was seen");
    let ids: Vec<i64> = seen.iter().map(|s| s.parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "creation order: {ids:?}");

    // Page sizes and cursors are checked.
    assert_eq!(h.error("{ inbox(first: 1000) { totalCount } }", json!({})).await, "VALIDATION");
    assert_eq!(h.error("{ inbox(after: \"garbage\") { totalCount } }", json!({})).await, "VALIDATION");
    let by_due = h.ok("{ inbox(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let cursor = by_due["inbox"]["pageInfo"]["endCursor"].clone();
    let other_sort = "query($c: String) { inbox(after: $c, sort: {field: PRIORITY}) { totalCount } }";
    assert_eq!(h.error(other_sort, json!({ "c": cursor })).await, "VALIDATION");
}

#[tokio::test]
async fn pagination_is_stable_under_concurrent_inserts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let server = Server::start(dir.path(), &["--database-url", &url]);
    pagination_scenario(&server).await;
}

#[tokio::test]
async fn pagination_is_stable_under_concurrent_inserts_on_postgres() {
    let Some(db) = pg_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--database-url", &db.url]);
    pagination_scenario(&server).await;
}

const BROKEN_FLOW: &str = "id: broken\nstart: a\nnodes:\n  a:\n    type: user_task\n    candidates: { groups: [handler] }\n    next: nowhere\n";

/// Admins validate and deploy definitions; problems come back with line and column.
#[tokio::test]
async fn admins_deploy_and_get_located_problems() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let server = Server::start(dir.path(), &["--database-url", &url]);
    let admin = person(&server, "a1", &["admin"]);
    let deploy = "mutation($s: String!) { deployDefinition(input: {source: $s}) { created definition { key version } \
                  problems { code message line column } } }";
    let refused = admin.ok(deploy, json!({ "s": BROKEN_FLOW })).await;
    let problems = refused["deployDefinition"]["problems"].as_array().unwrap().clone();
    assert!(refused["deployDefinition"]["definition"].is_null());
    let missing = problems.iter().find(|p| p["message"].as_str().unwrap().contains("nowhere")).expect("{problems:?}");
    assert_eq!((missing["line"].as_u64(), missing["column"].as_u64()), (Some(7), Some(11)), "{missing}");
    let validated = admin
        .ok(
            "mutation($s: String!) { validateDefinition(input: {source: $s}) { valid problems { line } } }",
            json!({ "s": BROKEN_FLOW }),
        )
        .await;
    assert_eq!(validated["validateDefinition"]["valid"], false);

    let good = BROKEN_FLOW.replace("nowhere", "done").replace("id: broken", "id: tiny") + "  done: { type: end }\n";
    let deployed = admin.ok(deploy, json!({ "s": good })).await;
    assert_eq!(deployed["deployDefinition"]["definition"], json!({ "key": "tiny", "version": 1 }));
    assert_eq!(deployed["deployDefinition"]["created"], true);
    let v2 = good.replace("type: end }", "type: end, name: 结束 }");
    let deployed = admin.ok(deploy, json!({ "s": v2 })).await;
    assert_eq!(deployed["deployDefinition"]["definition"]["version"], 2);
    let listed = admin
        .ok("{ definitions(key: \"tiny\") { key latest { version } versions { version deployedBy } } }", json!({}))
        .await;
    assert_eq!(
        listed["definitions"][0]["versions"],
        json!([{ "version": 1, "deployedBy": "a1" }, { "version": 2, "deployedBy": "a1" }])
    );

    // A case started on version 1 moves to version 2 when an admin migrates it.
    let h = person(&server, "h1", &["handler"]);
    let case = h.ok("mutation { startCase(input: {flow: \"tiny\", version: 1}) { caseId } }", json!({})).await;
    let case_id = case["startCase"]["caseId"].clone();
    let migrate = "mutation($c: ID!) { migrateCase(input: {caseId: $c, version: 2}) { version } }";
    assert_eq!(h.error(migrate, json!({ "c": case_id })).await, "FORBIDDEN");
    admin.ok(migrate, json!({ "c": case_id })).await;
    let file = admin
        .ok("query($c: ID!) { case(id: $c, purpose: \"迁移核对\") { flowVersion position } }", json!({ "c": case_id }))
        .await;
    assert_eq!(file["case"], json!({ "flowVersion": 2, "position": ["a"] }));

    // A message start event: a complaint received starts a case there.
    let complaints = "id: complaints\nstart: begin\nnodes:\n  begin: { type: start, next: intake }\n  \
                      complaint: { type: start, message: complaint_received, next: intake }\n  \
                      intake: { type: user_task, candidates: { groups: [handler] }, next: done }\n  done: { type: end }\n";
    let deployed = admin.ok(deploy, json!({ "s": complaints })).await;
    assert_eq!(deployed["deployDefinition"]["problems"], json!([]), "{deployed}");
    let by_message = "mutation($m: String!) { startCaseByMessage(input: {message: $m, businessKey: \"TS-1\", \
                      variables: {}}) { caseId status } }";
    let started = h.ok(by_message, json!({ "m": "complaint_received" })).await;
    let case_id = started["startCaseByMessage"]["caseId"].clone();
    let file =
        h.ok("query($c: ID!) { case(id: $c, purpose: \"受理投诉\") { flow position } }", json!({ "c": case_id })).await;
    assert_eq!(file["case"], json!({ "flow": "complaints", "position": ["intake"] }));
    assert_eq!(h.error(by_message, json!({ "m": "nobody_listens" })).await, "NOT_FOUND");
    let supervisor = person(&server, "s1", &["supervisor"]);
    assert_eq!(supervisor.error(by_message, json!({ "m": "complaint_received" })).await, "FORBIDDEN");
}

/// No token, a forged or expired token, unknown roles: 401 and no data; websockets too.
#[tokio::test]
async fn bad_tokens_get_401_and_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let server = Server::start(dir.path(), &["--database-url", &url]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let query = json!({ "query": "{ me { user } }" });
    let forged = {
        let claims = json!({ "sub": "x", "roles": ["admin"], "exp": 4_102_444_800u64 });
        let key = jsonwebtoken::EncodingKey::from_secret(b"not-the-server-secret-at-all");
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
    };
    for auth in [
        None,
        Some("Basic YWRtaW46YWRtaW4=".to_owned()),
        Some(format!("Bearer {forged}")),
        Some(format!("Bearer {}", token_expiring("x", &["admin"], &[], &[], -3600))),
        Some(format!("Bearer {}", token("x", &["wizard"], &[], &[]))),
    ] {
        let mut request = client.post(format!("{}/graphql", server.base)).json(&query);
        if let Some(auth) = &auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        let body: Value = response.json().await.unwrap();
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    }
    let me = person(&server, "r1", &["legal_reviewer"]).ok("{ me { user roles } }", json!({})).await;
    assert_eq!(me["me"], json!({ "user": "r1", "roles": ["legal_reviewer"] }));

    // A websocket without a valid token is refused at connection_init.
    let url = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {forged}") } });
    socket.send(Message::Text(init.to_string().into())).await.unwrap();
    let answer = next_message(&mut socket).await;
    assert!(answer.as_ref().is_none_or(|m| m["type"] != "connection_ack"), "{answer:?}");

    // GraphiQL is served to browsers.
    let page = client.get(format!("{}/graphql", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("graphiql"), "{page}");
}

/// Depth and complexity limits; errors never carry SQL or traces.
#[tokio::test]
async fn hostile_queries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let server = Server::start(dir.path(), &["--database-url", &url]);
    let s = person(&server, "s1", &["supervisor"]);
    // GraphiQL's introspection stays within the limits; a deeper query does not.
    let of_type = |n: usize| format!("{}name{}", "ofType { ".repeat(n), " }".repeat(n));
    s.ok(&format!("{{ __schema {{ types {{ fields {{ type {{ {} }} }} }} }} }}", of_type(7)), json!({})).await;
    // Each is sent twice: the second time its parsed document is remembered, and the limits
    // still hold.
    for _ in 0..2 {
        let (_, body) = s
            .send(&format!("{{ __schema {{ types {{ fields {{ type {{ {} }} }} }} }} }}", of_type(20)), json!({}))
            .await;
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("nested too deep"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_QUERY", "{body}");
    }
    let mut wide = String::from("{ ");
    for n in 0..700 {
        wide.push_str(&format!("m{n}:me{{user roles}} "));
    }
    wide.push('}');
    assert!(wide.len() < 16 * 1024, "short enough to be remembered");
    for _ in 0..2 {
        let (_, body) = s.send(&wide, json!({})).await;
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("complex"), "{body}");
    }
    let (_, body) = s.send("{ me { user ", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(body["errors"][0]["locations"].is_array(), "parse errors are located: {body}");
    assert!(!message.contains("SELECT") && !message.contains("panicked"), "{message}");
    // One document with two operations: remembered, it still serves either one, by name.
    let client = reqwest::Client::new();
    let document = "query Who { me { user } } query What { me { roles } }";
    for _ in 0..2 {
        for (operation, field) in [("Who", "user"), ("What", "roles")] {
            let body: Value = client
                .post(format!("{}/graphql", server.base))
                .bearer_auth(token("s1", &["supervisor"], &[], &[]))
                .json(&json!({ "query": document, "operationName": operation }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let me = body["data"]["me"].as_object().unwrap_or_else(|| panic!("{body}"));
            assert_eq!(me.keys().collect::<Vec<_>>(), vec![field], "{body}");
        }
    }
    // A document answered without errors is not validated in full again; its variables still
    // are checked, each bad value refused with a code and a location, and nothing runs.
    let (a, b) = (&s, person(&server, "h1", &["handler"]));
    let page = "query($n: Int!, $state: TaskStateInput) { inbox(first: $n, filter: {state: $state}) { totalCount } }";
    let start =
        "mutation($flow: String!, $bk: String) { startCase(input: {flow: $flow, businessKey: $bk}) { caseId } }";
    a.ok(page, json!({ "n": 5 })).await;
    b.ok(start, json!({ "flow": "penalty-general", "bk": "VAR-0" })).await;
    for (who, query, variables) in [
        (a, page, json!({ "n": "five" })),
        (a, page, json!({ "n": 5, "state": "NOT_A_STATE" })),
        (a, page, json!({ "n": 1.5 })),
        (&b, start, json!({ "bk": "VAR-1" })),
        (&b, start, json!({ "flow": null, "bk": "VAR-2" })),
        (&b, start, json!({ "flow": ["penalty-general"], "bk": "VAR-3" })),
    ] {
        let (status, body) = who.send(query, variables.clone()).await;
        assert!(status.is_success() || status.is_client_error(), "{status}: {body}");
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_QUERY", "{variables}: {body}");
        assert!(error["locations"].is_array(), "{variables}: {body}");
        let message = error["message"].as_str().unwrap();
        assert!(!message.contains("panicked") && !message.contains("SELECT"), "{message}");
        if query == start && variables.get("flow").is_none_or(Value::is_null) {
            // A missing required variable is named as such.
            assert_eq!(message, "the variable `$flow` of type `String!` is required");
        }
    }
    // Two mutation fields run one after the other: their variables are always validated
    // first, so the second's bad value stops the first too.
    let two = "mutation($bk: String, $flow: String!) { a: startCase(input: {flow: \"penalty-general\", businessKey: \
               $bk}) { caseId } b: startCase(input: {flow: $flow}) { caseId } }";
    b.ok(two, json!({ "bk": "VAR-4", "flow": "penalty-general" })).await;
    let (_, body) = b.send(two, json!({ "bk": "VAR-5", "flow": 7 })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_QUERY", "{body}");
    assert!(body["data"].is_null(), "{body}");
    let started = a.ok("{ cases(first: 10) { edges { node { businessKey } } } }", json!({})).await;
    let mut keys: Vec<String> =
        started["cases"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["businessKey"].to_string()).collect();
    keys.sort();
    assert_eq!(keys, ["\"VAR-0\"", "\"VAR-4\"", "null"], "only the well-formed starts ran");
}

/// A section shares one saved view; members use it, others do not see it, only its owner
/// deletes it.
#[tokio::test]
async fn a_review_section_shares_a_saved_view() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("v.db").display());
    let server = Server::start(dir.path(), &["--database-url", &url]);
    let handler = person(&server, "h1", &["handler"]);
    for n in 0..3 {
        handler.ok(START, json!({ "bk": format!("VIEW-{n}") })).await;
    }
    let chief = Gql::new(&server.base, token("c1", &["section_chief"], &["review"], &[]));
    let save = "mutation($g: String) { saveInboxView(input: {name: \"重大案件\", sharedWith: $g, \
                filter: {flow: \"penalty-general\", businessKey: \"VIEW-1\"}}) { id owner sharedWith filter { flow businessKey overdue } } }";
    assert_eq!(chief.error(save, json!({ "g": "finance" })).await, "FORBIDDEN", "only one's own groups");
    let saved = chief.ok(save, json!({ "g": "review" })).await["saveInboxView"].clone();
    assert_eq!(saved["filter"], json!({ "flow": "penalty-general", "businessKey": "VIEW-1", "overdue": null }));
    let view = saved["id"].clone();

    // A handler in the review section uses it; its filter narrows the inbox to one case.
    let member = Gql::new(&server.base, token("h2", &["handler"], &["review"], &[]));
    let views = member.ok("{ inboxViews { id name owner } }", json!({})).await;
    assert_eq!(views["inboxViews"], json!([{ "id": view, "name": "重大案件", "owner": "c1" }]));
    let page =
        member.ok("query($v: ID) { inbox(view: $v) { totalCount nodes { businessKey } } }", json!({ "v": view })).await;
    assert_eq!(page["inbox"]["totalCount"], 1);
    assert_eq!(page["inbox"]["nodes"][0]["businessKey"], "VIEW-1");
    // Fields of `filter` override the view's.
    let page = member
        .ok(
            "query($v: ID) { inbox(view: $v, filter: {businessKey: \"VIEW-2\"}) { nodes { businessKey } } }",
            json!({ "v": view }),
        )
        .await;
    assert_eq!(page["inbox"]["nodes"][0]["businessKey"], "VIEW-2");

    // Outsiders neither see nor use it; members may not delete it.
    let outsider = person(&server, "h3", &["handler"]);
    assert_eq!(outsider.ok("{ inboxViews { id } }", json!({})).await["inboxViews"], json!([]));
    assert_eq!(
        outsider.error("query($v: ID) { inbox(view: $v) { totalCount } }", json!({ "v": view })).await,
        "NOT_FOUND"
    );
    let delete = "mutation($v: ID!) { deleteInboxView(input: {id: $v}) }";
    assert_eq!(member.error(delete, json!({ "v": view })).await, "FORBIDDEN");
    chief.ok(delete, json!({ "v": view })).await;
    assert_eq!(member.ok("{ inboxViews { id } }", json!({})).await["inboxViews"], json!([]));
}
