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

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::parser::types::ExecutableDocument;
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

/// The parsed documents of recent requests, by their text.
///
/// Clients send a few query texts over and over (with different variables); each is parsed
/// once while it stays in use. The schema still checks every request's document (depth,
/// complexity, directives, validation) as if it had parsed it itself.
pub struct Documents(Recent<Arc<ExecutableDocument>>);

impl Default for Documents {
    fn default() -> Documents {
        Documents(Recent::new(REMEMBERED_DOCUMENTS))
    }
}

impl Documents {
    /// Gives `request` its parsed document, from memory or parsed now. A text that does not
    /// parse is left to the schema, which reports where it fails.
    pub fn parse(&self, request: &mut async_graphql::Request) {
        if let Some(document) = self.0.get(&request.query) {
            request.set_parsed_query(ExecutableDocument::clone(&document));
        } else if let Ok(document) = async_graphql::parser::parse_query(&request.query) {
            self.0.put(&request.query, Arc::new(document.clone()));
            request.set_parsed_query(document);
        }
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
    state.documents.parse(&mut request);
    let user = principal.user.clone();
    let mut response = state.schema.execute(request.data(principal)).await;
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
    let schema = state.schema.clone();
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
