//! The GraphQL endpoints:
//!
//! - `POST /graphql`: a query or mutation with `Authorization: Bearer TOKEN`. No token, a
//!   bad signature or an expired token is answered `401` with an `UNAUTHENTICATED` error
//!   and no data. A body that is not a GraphQL request is `400 BAD_REQUEST`, one over the
//!   body limit `413 PAYLOAD_TOO_LARGE` (both after the token check).
//! - `GET /graphql`: GraphiQL, the in-browser IDE (it sends the token you give it).
//! - `GET /graphql/ws`: subscriptions over graphql-ws (`graphql-transport-ws`, and the older
//!   `graphql-ws`); the token goes in the `connection_init` payload as
//!   `{"authorization": "Bearer TOKEN"}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Data, Name, Pos, ServerError, Value};
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::app::AppState;
use crate::graphql::error::coded;
use crate::recent::Recent;

/// How many parsed documents are remembered.
const REMEMBERED_DOCUMENTS: usize = 512;

/// A parsed document kept for its text, and whether it has passed the schema's full
/// validation.
pub struct Remembered {
    document: ExecutableDocument,
    /// Whether full validation may be skipped once passed: every operation is a query or a
    /// mutation of one field, so a variable refused by the field that reads it stops the
    /// request before any write (two mutation fields run one after the other, and the
    /// second one's bad variable would be found after the first had run).
    may_skip: bool,
    validated: AtomicBool,
    /// Each operation's name and the variables it requires.
    required: Vec<(Option<Name>, Vec<Required>)>,
}

/// A variable an operation requires: of a non-null type, without a default value.
struct Required {
    name: Name,
    /// Its type, as written.
    ty: String,
    /// Where it is declared.
    at: Pos,
}

/// The variables each operation of `document` requires.
fn required_variables(document: &ExecutableDocument) -> Vec<(Option<Name>, Vec<Required>)> {
    document
        .operations
        .iter()
        .map(|(name, operation)| {
            let required = operation
                .node
                .variable_definitions
                .iter()
                .filter(|v| !v.node.var_type.node.nullable && v.node.default_value.is_none())
                .map(|v| Required { name: v.node.name.node.clone(), ty: v.node.var_type.node.to_string(), at: v.pos })
                .collect();
            (name.cloned(), required)
        })
        .collect()
}

/// Whether `document`'s requests may skip full validation once one has passed it (see
/// [`Remembered`]).
fn may_skip_validation(document: &ExecutableDocument) -> bool {
    document.operations.iter().all(|(_, operation)| {
        let selections = &operation.node.selection_set.node.items;
        match operation.node.ty {
            OperationType::Query => true,
            OperationType::Mutation => {
                matches!(selections.as_slice(), [one] if matches!(one.node, Selection::Field(_)))
            }
            OperationType::Subscription => false,
        }
    })
}

impl Remembered {
    /// Whether a request with this document passed every validation rule once. The rules
    /// that look at the document alone (fields, types, fragments, variable definitions and
    /// where they are used) then pass for every later request with it: neither the text nor
    /// the schema changes while the server runs.
    pub fn validated(&self) -> bool {
        self.validated.load(Ordering::Relaxed)
    }

    /// The error for `request` (with this document) when it leaves out, or sends `null` for,
    /// a variable its operation requires: located at the variable's declaration. (The
    /// executor would report only that the variable "is not defined".) A request naming no
    /// operation of a document with several is left to the schema.
    pub fn missing_variable(&self, request: &async_graphql::Request) -> Option<ServerError> {
        let operation = match (request.operation_name.as_deref(), self.required.as_slice()) {
            (Some(name), all) => all.iter().find(|(op, _)| op.as_deref() == Some(name))?,
            (None, [only]) => only,
            (None, _) => return None,
        };
        let missing = operation.1.iter().find(|r| request.variables.get(&r.name).is_none_or(|v| *v == Value::Null))?;
        let message = format!("the variable `${}` of type `{}` is required", missing.name, missing.ty);
        Some(ServerError::new(message, Some(missing.at)))
    }

    /// Notes that a request with this document passed full validation (and was answered
    /// without errors); ignored for a document that must always be validated in full.
    fn mark_validated(&self) {
        if self.may_skip {
            self.validated.store(true, Ordering::Relaxed);
        }
    }
}

/// The parsed documents of recent requests, by their text.
///
/// Clients send a few query texts over and over (with different variables); each is parsed
/// once while it stays in use, and validated in full until one request with it is answered
/// without errors. After that its requests (queries, and mutations of one field) go to the
/// schema that checks only what can differ between them (see [`crate::graphql::Schemas`]):
/// the depth and complexity limits as always, and the variables' values as the resolvers
/// read them.
pub struct Documents(Recent<Arc<Remembered>>);

impl Default for Documents {
    fn default() -> Documents {
        Documents(Recent::new(REMEMBERED_DOCUMENTS))
    }
}

impl Documents {
    /// Gives `request` its parsed document, from memory or parsed now, and returns what is
    /// remembered of it. A text that does not parse is left to the schema, which reports
    /// where it fails.
    pub fn parse(&self, request: &mut async_graphql::Request) -> Option<Arc<Remembered>> {
        if let Some(remembered) = self.0.get(&request.query) {
            request.set_parsed_query(remembered.document.clone());
            return Some(remembered);
        }
        let document = async_graphql::parser::parse_query(&request.query).ok()?;
        let (may_skip, required) = (may_skip_validation(&document), required_variables(&document));
        let remembered =
            Arc::new(Remembered { document: document.clone(), may_skip, validated: AtomicBool::new(false), required });
        self.0.put(&request.query, remembered.clone());
        request.set_parsed_query(document);
        Some(remembered)
    }
}

/// `GET /graphql`: GraphiQL.
pub async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql/ws").title("Docket").finish())
}

/// A GraphQL error body with this status and code, and no data.
pub fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// `POST /graphql`.
pub async fn execute(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let principal = match state.auth.principal_from_header(authorization) {
        Ok(principal) => principal,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.0),
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "the request body is over the limit");
        }
        Err(rejection) => return refuse(rejection.status(), "BAD_REQUEST", &rejection.body_text()),
    };
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let message = format!("the body is not a GraphQL request (`{{\"query\": ...}}`): {e}");
            return refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", &message);
        }
    };
    let remembered = state.documents.parse(&mut request);
    let validated = remembered.as_ref().is_some_and(|r| r.validated());
    let schema = if validated { &state.schemas.validated } else { &state.schemas.full };
    let user = principal.user.clone();
    let mut response = match remembered.as_ref().and_then(|r| r.missing_variable(&request)) {
        Some(missing) => async_graphql::Response::from_errors(vec![missing]),
        None => schema.execute(request.data(principal)).await,
    };
    if let Some(remembered) = remembered
        && !validated
        && response.errors.is_empty()
    {
        remembered.mark_validated();
    }
    for error in &mut response.errors {
        // Parse and validation errors, and the depth and complexity limits, come from the
        // GraphQL layer without a code; every error gets one.
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_QUERY");
        }
    }
    if response.is_err() {
        let codes: Vec<String> = response
            .errors
            .iter()
            .filter_map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).map(|c| c.to_string()))
            .collect();
        tracing::debug!(%user, ?codes, "GraphQL request answered with errors");
    }
    GraphQLResponse::from(response).into_response()
}

/// `GET /graphql/ws`: subscriptions, authenticated by the `connection_init` payload.
pub async fn subscriptions(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = state.schemas.full.clone();
    let auth = state.auth.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let header = ["authorization", "Authorization"]
                        .iter()
                        .find_map(|k| payload.get(*k))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned);
                    let principal =
                        auth.principal_from_header(header.as_deref()).map_err(|e| coded("UNAUTHENTICATED", e.0))?;
                    let mut data = Data::default();
                    data.insert(principal);
                    Ok(data)
                })
                .serve()
        })
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skips(text: &str) -> bool {
        may_skip_validation(&async_graphql::parser::parse_query(text).expect("a document"))
    }

    #[test]
    fn queries_and_single_field_mutations_may_skip_full_validation() {
        assert!(skips("query($n: Int!) { inbox(first: $n) { totalCount } me { user } }"));
        assert!(skips("mutation($t: ID!) { claimTask(input: {taskId: $t}) { version } }"));
        assert!(skips("query A { me { user } } query B { me { roles } }"));
        // A second mutation field would run after the first; its variables are checked first.
        assert!(!skips(
            "mutation($t: ID!, $u: ID!) { a: claimTask(input: {taskId: $t}) { version } b: claimTask(input: {taskId: $u}) { version } }"
        ));
        assert!(!skips("mutation { ...F } fragment F on Mutation { claimTask(input: {taskId: 1}) { version } }"));
        assert!(!skips(
            "query A { me { user } } mutation B { a: claimTask(input: {taskId: 1}) { version } b: unclaimTask(input: {taskId: 1}) { version } }"
        ));
        assert!(!skips("subscription { inboxChanged { kind } }"));
    }

    #[test]
    fn a_document_is_marked_validated_only_when_it_may_skip() {
        let documents = Documents::default();
        for (text, skips) in [
            ("{ me { user } }", true),
            (
                "mutation { a: unclaimTask(input: {taskId: 1}) { version } b: unclaimTask(input: {taskId: 2}) { version } }",
                false,
            ),
        ] {
            let mut request = async_graphql::Request::new(text);
            let remembered = documents.parse(&mut request).expect("parsed");
            assert!(!remembered.validated(), "not validated before a request passed");
            remembered.mark_validated();
            let again = documents.parse(&mut async_graphql::Request::new(text)).expect("remembered");
            assert!(Arc::ptr_eq(&remembered, &again), "the same entry");
            assert_eq!(again.validated(), skips, "{text}");
        }
        assert!(documents.parse(&mut async_graphql::Request::new("{ me { ")).is_none(), "a text that does not parse");
    }

    #[test]
    fn a_request_lacking_a_required_variable_is_named_at_its_declaration() {
        let documents = Documents::default();
        let text = "query($id: ID!, $first: Int = 3, $purpose: String) { task(id: $id) { id } }";
        let remembered = documents.parse(&mut async_graphql::Request::new(text)).expect("parsed");
        let with = |variables: serde_json::Value| {
            async_graphql::Request::new(text).variables(async_graphql::Variables::from_json(variables))
        };
        assert!(remembered.missing_variable(&with(json!({ "id": "7" }))).is_none(), "defaulted and nullable ones");
        for variables in [json!({ "first": 2 }), json!({ "id": null })] {
            let error = remembered.missing_variable(&with(variables)).expect("the id is missing");
            assert_eq!(error.message, "the variable `$id` of type `ID!` is required");
            assert_eq!(error.locations, vec![Pos { line: 1, column: 7 }]);
        }
        let two = "query A($a: Int!) { me { user } } query B { me { roles } }";
        let remembered = documents.parse(&mut async_graphql::Request::new(two)).expect("parsed");
        let named = |name: &str| async_graphql::Request::new(two).operation_name(name);
        assert!(remembered.missing_variable(&named("A")).is_some(), "A requires $a");
        assert!(remembered.missing_variable(&named("B")).is_none(), "B requires nothing");
        assert!(remembered.missing_variable(&async_graphql::Request::new(two)).is_none(), "left to the schema");
    }
}
