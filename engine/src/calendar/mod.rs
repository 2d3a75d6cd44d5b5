//! Working-day calendars and deadline clocks.
//!
//! # Layout
//! - [`period`]: `N working_days` / `N calendar_days`.
//! - [`ladder`]: deadline specifications and escalation ladders as declared in flows.
//! - [`working`]: the working-day [`Calendar`], the [`Calendars`] registry and period
//!   arithmetic (`add`, `sub`, `working_days_in`), with the legal rules they follow.
//! - [`clock`]: the [`DeadlineClock`], a deadline that can pause (行政许可法 art. 45).
//! - `data`: the calendar YAML format, its checks, and the calendars shipped in the binary.

pub mod clock;
mod data;
pub mod ladder;
pub mod period;
pub mod working;

pub use clock::{ClockError, DeadlineClock, Pause};
pub use ladder::{DeadlineSpec, LadderAction, LadderStep, LadderWhen};
pub use period::{Period, PeriodParseError, PeriodUnit};
pub use working::{Calendar, CalendarError, CalendarProblem, Calendars, DayKind, YearRange};
