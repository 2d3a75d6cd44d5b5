//! Docket's workflow engine.
//!
//! # Layout
//! - [`access`]: the access policy (roles, service scopes, the authorization matrix).
//! - [`time`]: instants as data ([`time::Timestamp`]) and local legal dates.
//! - [`calendar`]: working-day calendars, legal periods, deadline clocks and escalation ladders.
//! - [`model`]: the flow model (nodes, timers, expressions) that YAML is parsed into.
//! - [`dsl`]: the YAML flow language, read with source locations.
//! - [`validate`]: the validator: graph checks and compliance guards proven on the graph.
//! - [`core`]: the pure case state machine: (flow, case state, command) -> (state, effects).
//! - [`store`]: the durable engine around the core: SQLite/PostgreSQL, group commit, workers.

pub mod access;
pub mod calendar;
pub mod core;
pub mod dsl;
pub mod model;
pub mod problem;
pub mod store;
pub mod time;
pub mod validate;
