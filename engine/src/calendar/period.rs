//! Legal periods: "7 working_days", "90 calendar_days".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a period counts days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodUnit {
    /// Only working days count: weekends and statutory holidays are skipped, adjusted
    /// weekend working days (调休) count.
    WorkingDays,
    /// Every day counts; a period whose last day is not a working day ends on the next
    /// working day.
    CalendarDays,
}

impl PeriodUnit {
    /// The word used in the flow language and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodUnit::WorkingDays => "working_days",
            PeriodUnit::CalendarDays => "calendar_days",
        }
    }
}

impl FromStr for PeriodUnit {
    type Err = PeriodParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "working_days" | "working_day" => Ok(PeriodUnit::WorkingDays),
            "calendar_days" | "calendar_day" => Ok(PeriodUnit::CalendarDays),
            other => {
                Err(PeriodParseError(format!("unknown unit `{other}`, expected `working_days` or `calendar_days`")))
            }
        }
    }
}

/// A number of days on a calendar, counted from (and excluding) a start day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    /// How many days.
    pub amount: u32,
    /// Which days count.
    pub unit: PeriodUnit,
}

impl Period {
    /// `amount` working days.
    pub const fn working_days(amount: u32) -> Self {
        Period { amount, unit: PeriodUnit::WorkingDays }
    }

    /// `amount` calendar days.
    pub const fn calendar_days(amount: u32) -> Self {
        Period { amount, unit: PeriodUnit::CalendarDays }
    }
}

/// A period written wrongly; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PeriodParseError(pub String);

impl FromStr for Period {
    type Err = PeriodParseError;
    /// Parses `N working_days` or `N calendar_days` (one or more spaces between).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split_whitespace();
        let (Some(amount), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(PeriodParseError(format!(
                "`{s}` is not a period, expected `N working_days` or `N calendar_days`"
            )));
        };
        let amount =
            amount.parse::<u32>().map_err(|_| PeriodParseError(format!("`{amount}` is not a whole number of days")))?;
        Ok(Period { amount, unit: unit.parse()? })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_periods() {
        let p: Period = "7 working_days".parse().unwrap();
        assert_eq!(p, Period::working_days(7));
        assert_eq!(p.to_string(), "7 working_days");
        assert_eq!("90  calendar_days".parse::<Period>().unwrap(), Period::calendar_days(90));
    }

    #[test]
    fn rejects_bad_periods() {
        assert!("7".parse::<Period>().is_err());
        assert!("seven working_days".parse::<Period>().is_err());
        assert!("7 fortnights".parse::<Period>().is_err());
        assert!("-1 working_days".parse::<Period>().is_err());
        assert!("1 working_days extra".parse::<Period>().is_err());
    }
}
