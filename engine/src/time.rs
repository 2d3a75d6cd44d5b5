//! Time as data: the pure core never reads a clock, so every instant it sees is a
//! [`Timestamp`] handed in by its caller.
//!
//! Legal periods are counted in days on the agency's local calendar. Mainland China keeps
//! one offset all year (UTC+08:00, no daylight saving), so a local date is derived from a
//! timestamp by a fixed shift, with no time-zone database.

use std::fmt;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Seconds east of UTC of the calendars Docket ships (China Standard Time).
pub const LOCAL_OFFSET_SECONDS: i32 = 8 * 3600;

/// An instant, as milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The local offset used for legal dates.
    pub fn local_offset() -> FixedOffset {
        FixedOffset::east_opt(LOCAL_OFFSET_SECONDS).expect("a valid fixed offset")
    }

    /// This instant as a local date-time.
    pub fn to_local(self) -> DateTime<FixedOffset> {
        Utc.timestamp_millis_opt(self.0).single().unwrap_or_default().with_timezone(&Self::local_offset())
    }

    /// The local calendar date this instant falls on.
    pub fn local_date(self) -> NaiveDate {
        self.to_local().date_naive()
    }

    /// Local midnight at the start of `date`.
    pub fn start_of_local_day(date: NaiveDate) -> Self {
        let local = date.and_time(NaiveTime::MIN);
        Timestamp((local.and_utc().timestamp() - i64::from(LOCAL_OFFSET_SECONDS)) * 1000)
    }

    /// The end of `date` (local midnight of the following day): a deadline that falls on
    /// `date` is met by anything done before this instant.
    pub fn end_of_local_day(date: NaiveDate) -> Self {
        Self::start_of_local_day(date) + Duration::days(1)
    }

    /// From a chrono date-time in any zone.
    pub fn from_datetime<Tz: TimeZone>(at: &DateTime<Tz>) -> Self {
        Timestamp(at.timestamp_millis())
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(rhs.num_milliseconds()))
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(rhs.num_milliseconds()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_local().to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_day_boundaries_are_utc_plus_eight() {
        let d = NaiveDate::from_ymd_opt(2024, 10, 10).unwrap();
        let start = Timestamp::start_of_local_day(d);
        assert_eq!(start.to_local().to_rfc3339(), "2024-10-10T00:00:00+08:00");
        assert_eq!(start.local_date(), d);
        assert_eq!((start - Duration::milliseconds(1)).local_date(), d.pred_opt().unwrap());
        assert_eq!(Timestamp::end_of_local_day(d).local_date(), d.succ_opt().unwrap());
    }
}
