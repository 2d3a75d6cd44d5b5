//! Core scenario tests, one file per concern, sharing [`fixtures`].

mod fixtures;

mod deadlines;
mod escalation;
mod events;
mod gateways;
mod penalty;
mod properties;
mod tasks;
