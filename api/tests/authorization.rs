//! Every cell of the authorization matrix (`docket_engine::access::MATRIX`, printed in
//! `docs/authorization.md`) through HTTP: for each operation, a person holding each role,
//! and an integration with and without the operation's scope, sends a representative
//! GraphQL request. Where the policy allows it, no policy refusal comes back (the request may
//! still fail for reasons of the case, such as a task that does not exist); where it does not,
//! the answer is `FORBIDDEN` with `extensions.reason = POLICY`.

mod support;

use docket_engine::access::{MATRIX, Operation, Role, Scope};
use serde_json::{Value, json};
use support::{Gql, Server, token};

/// The requests exercising `operation`; ids that do not exist (and a business key no case
/// has) keep allowed requests harmless.
fn requests(operation: Operation, case_id: &str, user: &str) -> Vec<(String, Value)> {
    if operation == Operation::WorkOnTasks {
        let next = "mutation { claimNextTask(input: {filter: {businessKey: \"none\"}}) { taskId } }";
        return vec![request(operation, case_id, user), (next.to_owned(), json!({}))];
    }
    vec![request(operation, case_id, user)]
}

/// The first request exercising `operation`.
fn request(operation: Operation, case_id: &str, user: &str) -> (String, Value) {
    let missing_task = json!({ "t": "999999" });
    let missing_case = json!({ "c": "00000000-0000-0000-0000-000000000000" });
    let (query, variables) = match operation {
        Operation::ReadInbox => ("{ inbox(first: 1) { totalCount } }", json!({})),
        Operation::ReadAnyInbox => ("{ inbox(groups: [\"another_section\"], first: 1) { totalCount } }", json!({})),
        Operation::ReadCase => ("query($c: ID!) { case(id: $c, purpose: \"检查\") { id } }", json!({ "c": case_id })),
        Operation::ReadDefinitions => ("{ definitions { key } calendars { id } }", json!({})),
        Operation::ReadIncidents => ("{ incidents { edges { cursor } } }", json!({})),
        Operation::ReadAccessLog => ("{ accessLog { edges { cursor } } }", json!({})),
        Operation::StartCase => ("mutation { startCase(input: {flow: \"penalty-general\"}) { caseId } }", json!({})),
        Operation::WorkOnTasks => ("mutation($t: ID!) { claimTask(input: {taskId: $t}) { caseId } }", missing_task),
        Operation::AssignTasks => {
            ("mutation($t: ID!) { assignTask(input: {taskId: $t, to: \"h9\"}) { caseId } }", missing_task)
        }
        Operation::ResolveEscalations => {
            ("mutation($t: ID!) { resolveEscalation(input: {taskId: $t, note: \"x\"}) { caseId } }", missing_task)
        }
        Operation::PauseDeadlines => {
            ("mutation($t: ID!) { pauseDeadline(input: {taskId: $t, reason: \"听证\"}) { caseId } }", missing_task)
        }
        Operation::CorrelateMessages => {
            ("mutation($c: ID!) { correlateMessage(input: {caseId: $c, name: \"paid\"}) { caseId } }", missing_case)
        }
        Operation::RecordPublications => {
            ("mutation($c: ID!) { recordPublication(input: {caseId: $c}) { caseId } }", missing_case)
        }
        Operation::ValidateDefinitions => {
            ("mutation { validateDefinition(input: {source: \"id: x\"}) { valid } }", json!({}))
        }
        Operation::DeployDefinitions => {
            ("mutation { deployDefinition(input: {source: \"id: x\"}) { created } }", json!({}))
        }
        Operation::SuspendCases => ("mutation($c: ID!) { suspendCase(input: {caseId: $c}) { caseId } }", missing_case),
        Operation::CancelCases => {
            ("mutation($c: ID!) { cancelCase(input: {caseId: $c, reason: \"x\"}) { caseId } }", missing_case)
        }
        Operation::RetryIncidents => {
            ("mutation { retryIncident(input: {incidentId: \"999999\"}) { caseId } }", json!({}))
        }
        Operation::MigrateCases => {
            ("mutation($c: ID!) { migrateCase(input: {caseId: $c, version: 1}) { caseId } }", missing_case)
        }
        Operation::SavePrivateViews => {
            ("mutation { saveInboxView(input: {name: \"mine\", filter: {overdue: true}}) { id } }", json!({}))
        }
        Operation::ShareViews => (
            "mutation($g: String) { saveInboxView(input: {name: \"shared\", sharedWith: $g, filter: {}}) { id } }",
            json!({ "g": user }),
        ),
    };
    (query.to_owned(), variables)
}

/// Whether the answer is a refusal by the access policy.
fn refused_by_policy(body: &Value) -> bool {
    body["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| e["extensions"]["code"] == "FORBIDDEN" && e["extensions"]["reason"] == "POLICY")
    })
}

#[tokio::test]
async fn every_cell_of_the_matrix_holds_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let server = Server::start(dir.path(), &["--database-url", &url]);
    let starter = Gql::new(&server.base, token("h0", &["handler"], &[], &[]));
    let started = starter.ok("mutation { startCase(input: {flow: \"penalty-general\"}) { caseId } }", json!({})).await;
    let case_id = started["startCase"]["caseId"].as_str().unwrap().to_owned();

    let mut checked = 0;
    for rule in MATRIX {
        // People: one per role; the role's name doubles as the group a view is shared with.
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Integration) {
            let user = format!("{role}-user");
            let gql = Gql::new(&server.base, token(&user, &[role.as_str()], &[], &[]));
            for (query, variables) in requests(rule.operation, &case_id, role.as_str()) {
                let (status, body) = gql.send(&query, variables).await;
                assert_eq!(status, 200, "{body}");
                let allowed = rule.roles.contains(&role);
                assert_eq!(
                    !refused_by_policy(&body),
                    allowed,
                    "{role} / {:?} should be {}: {body}",
                    rule.operation,
                    if allowed { "allowed" } else { "refused" }
                );
            }
            checked += 1;
        }
        // Integrations: with every scope but this rule's, and with only this rule's.
        let others: Vec<&str> = Scope::ALL.iter().filter(|s| Some(**s) != rule.scope).map(|s| s.as_str()).collect();
        let mut cases = vec![(others, false)];
        if let Some(scope) = rule.scope {
            cases.push((vec![scope.as_str()], true));
        }
        for (scopes, allowed) in cases {
            let gql = Gql::new(&server.base, token("svc", &["integration"], &[], &scopes));
            for (query, variables) in requests(rule.operation, &case_id, "integration") {
                let (_, body) = gql.send(&query, variables).await;
                assert_eq!(!refused_by_policy(&body), allowed, "integration {scopes:?} / {:?}: {body}", rule.operation);
            }
            checked += 1;
        }
    }
    assert!(checked >= MATRIX.len() * 7, "{checked} cells");
}

/// The matrix in the docs is the one the engine enforces.
#[test]
fn the_documented_matrix_is_the_enforced_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/authorization.md");
    let doc = std::fs::read_to_string(path).expect("docs/authorization.md");
    let table = docket_engine::access::matrix_markdown();
    assert!(
        doc.contains(&table),
        "docs/authorization.md does not hold the current matrix; paste this table:\n\n{table}"
    );
}
