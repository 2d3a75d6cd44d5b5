//! Working-day calendars and deadline clocks.
//!
//! # Layout
//! - [`period`]: `N working_days` / `N calendar_days`.
//! - [`ladder`]: deadline specifications and escalation ladders as declared in flows.

pub mod ladder;
pub mod period;

pub use ladder::{DeadlineSpec, LadderAction, LadderStep, LadderWhen};
pub use period::{Period, PeriodParseError, PeriodUnit};
