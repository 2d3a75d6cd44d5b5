//! The GraphQL API (`/graphql`, `/graphql/ws`): schema, limits and the SDL.
//!
//! # Layout
//! - [`query`], [`mutation`], [`subscription`]: the roots;
//! - [`types`]: output types (tasks, cases, definitions ...); [`inputs`]: input objects;
//! - [`cursor`]: opaque cursors and page sizes; [`error`]: errors with stable codes.
//!
//! Resolvers never decide who may do what: they call the principal's
//! [`Session`](docket_engine::store::Session), where the engine checks the access policy and
//! the case's rules.

pub mod cursor;
pub mod error;
pub mod inputs;
pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;

use async_graphql::{Schema, ValidationMode};
use docket_engine::store::{ChangeFeed, Store};

pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

/// The schema type.
pub type DocketSchema = Schema<Query, Mutation, Subscription>;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 16;
/// Highest query complexity accepted (each field counts 1).
pub const MAX_COMPLEXITY: usize = 2_000;

/// The schema with its limits, serving `store`, with live updates from `feed`, validating
/// documents in `validation` mode.
fn build(store: Store, feed: Option<ChangeFeed>, validation: ValidationMode) -> DocketSchema {
    let mut builder = Schema::build(Query, Mutation, Subscription)
        .data(store)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32)
        .limit_directives(16)
        .validation_mode(validation);
    if let Some(feed) = feed {
        builder = builder.data(feed);
    }
    builder.finish()
}

/// The schema twice: once validating every document in full, once for documents that
/// already passed full validation (see `server::graphql::Documents`).
#[derive(Clone)]
pub struct Schemas {
    /// Validates each request's document with every rule.
    pub full: DocketSchema,
    /// Checks only what can differ between requests of one document: the depth and
    /// complexity limits, fragment cycles, and (as the resolvers read them) the values of
    /// the variables. A variable's value of the wrong type is then refused by the field
    /// that reads it, with the field's location, instead of by validation.
    pub validated: DocketSchema,
}

impl Schemas {
    /// Both schemas, serving `store`, with live updates from `feed`.
    pub fn new(store: Store, feed: Option<ChangeFeed>) -> Schemas {
        Schemas {
            full: build(store.clone(), feed.clone(), ValidationMode::Strict),
            validated: build(store, feed, ValidationMode::Fast),
        }
    }
}

/// The schema in SDL, as exported to `docs/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, Subscription).finish().sdl()
}

#[cfg(test)]
mod tests {
    /// `docs/schema.graphql` is the schema the server serves; regenerate it with
    /// `cargo run -p docket-api --bin docket -- schema > docs/schema.graphql`.
    #[test]
    fn the_exported_schema_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.graphql");
        let exported = std::fs::read_to_string(path).unwrap_or_default();
        let current = super::sdl();
        assert!(
            exported == current,
            "docs/schema.graphql is out of date; run `cargo run -p docket-api --bin docket -- schema > docs/schema.graphql`"
        );
    }
}
