//! Timer specifications: ISO-8601 durations, absolute dates, cron cycles and legal periods.

use std::fmt;

use super::Loc;
use crate::calendar::{Calendar, Period};
use crate::time::Timestamp;

/// When a timer fires, as written in a flow.
#[derive(Clone, PartialEq)]
pub enum TimerSpec {
    /// An ISO-8601 duration after the timer is armed (`PT24H`, `P3D`). Months and years are
    /// not allowed: their length depends on the start date.
    Duration {
        /// The duration as written.
        source: String,
        /// Its length in milliseconds.
        millis: i64,
    },
    /// An absolute instant (`2025-01-31T00:00:00+08:00`, or a date meaning local midnight).
    Date(Timestamp),
    /// A cron cycle (seconds minutes hours day-of-month month day-of-week [year]), in local time.
    Cycle {
        /// The expression as written.
        source: String,
        /// The parsed schedule.
        schedule: Box<cron::Schedule>,
    },
    /// A legal period on the flow's calendar (`5 working_days`); fires at the end of the
    /// period's last day.
    Period(Period),
}

impl fmt::Debug for TimerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimerSpec::Duration { source, .. } => write!(f, "Duration({source})"),
            TimerSpec::Date(at) => write!(f, "Date({at})"),
            TimerSpec::Cycle { source, .. } => write!(f, "Cycle({source})"),
            TimerSpec::Period(p) => write!(f, "Period({p})"),
        }
    }
}

/// A timer with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    /// When it fires.
    pub spec: TimerSpec,
    /// Where it was written.
    pub loc: Loc,
}

impl Timer {
    /// When this timer fires if armed at `now`: a duration after `now`, its date, the cycle's
    /// next occurrence after `now`, or the end of the period's last day on `calendar`.
    ///
    /// # Errors
    /// A cycle with no further occurrence, a period without a calendar, or a period that needs
    /// a day outside the calendar's known years.
    pub fn due_after(&self, now: Timestamp, calendar: Option<&Calendar>) -> Result<Timestamp, String> {
        match &self.spec {
            TimerSpec::Duration { millis, .. } => Ok(Timestamp(now.0.saturating_add(*millis))),
            TimerSpec::Date(at) => Ok(*at),
            TimerSpec::Cycle { source, schedule } => schedule
                .after(&now.to_local())
                .next()
                .map(|at| Timestamp::from_datetime(&at))
                .ok_or_else(|| format!("cron cycle `{source}` has no further occurrence")),
            TimerSpec::Period(period) => {
                let calendar = calendar.ok_or("the flow has no calendar for a legal period")?;
                let date = calendar.add(now.local_date(), *period).map_err(|e| e.to_string())?;
                Ok(Timestamp::end_of_local_day(date))
            }
        }
    }

    /// Whether the timer fires again and again (a cron cycle) rather than once.
    pub fn repeats(&self) -> bool {
        matches!(self.spec, TimerSpec::Cycle { .. })
    }
}
