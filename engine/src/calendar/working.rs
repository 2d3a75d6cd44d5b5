//! Working-day calendars and the arithmetic of legal periods.
//!
//! # The rules, and where they come from
//! - **The start day is not counted.** 民事诉讼法 on 期间 (第八十五条 of the 2021 text):
//!   "期间开始的时和日，不计算在期间内". Administrative procedure borrows this rule, so a
//!   period of N days started on day S counts from S + 1.
//! - **Periods in working days skip weekends and statutory holidays.** 行政处罚法 (2021)
//!   第八十五条: the "二日、三日、五日、七日" of that law are 工作日, 不含法定节假日;
//!   行政许可法 第八十二条: its periods are counted in 工作日, 不含法定节假日; 行政强制法
//!   第六十九条: its periods of ten days or less are 工作日. Adjusted weekend working days
//!   (调休上班, set by the State Council's annual notice) are working days and count.
//! - **A period in calendar days whose last day is a day off ends on the next working day.**
//!   民事诉讼法 第八十五条: "期间届满的最后一日是法定休假日的，以法定休假日后的第一日为期间届满的日期";
//!   weekends are 法定休假日 as well as holidays.
//! - **Zero days is the start day itself**, in either unit: a period of no days ends where
//!   it starts, and there is no "last day" that could fall on a holiday.
//! - **Dates are local dates** (UTC+8, see [`crate::time`]); a deadline on day D is met by
//!   anything done before the end of D.
//!
//! # Why calendars refuse to guess
//! Which days are off is decided each year by a State Council notice
//! (国务院办公厅关于…部分节假日安排的通知), published a few weeks before the year starts. A
//! calendar therefore knows a fixed range of years, and any computation that reads a day
//! outside it fails with [`CalendarError::OutOfRange`] instead of pretending the year has no
//! holidays: a wrong due date on a penalty case is worse than a loud error.
//!
//! # Speed
//! Deadlines are recomputed on every case transition, so [`Calendar::add`] must not walk day
//! by day. On load the calendar precomputes, per day, the number of working days before it,
//! and the position of every working day; `add`, `sub` and `working_days_in` are a few array
//! lookups (O(1)).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::data;
use super::{Period, PeriodUnit};

/// The years a calendar knows, both ends included: only for these years have the holiday
/// notices been entered, so only these days can be classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearRange {
    /// The first year known.
    pub from: i32,
    /// The last year known.
    pub to: i32,
}

impl YearRange {
    /// Whether `year` is one of the known years.
    pub fn contains_year(self, year: i32) -> bool {
        (self.from..=self.to).contains(&year)
    }
}

impl fmt::Display for YearRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to { write!(f, "{}", self.from) } else { write!(f, "{}-{}", self.from, self.to) }
    }
}

/// What kind of day a date is, so that a UI can say why a day was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A Monday to Friday that is not a holiday.
    Working,
    /// A Saturday or Sunday that is not an adjusted working day.
    Weekend,
    /// A statutory holiday (放假), whatever the weekday.
    Holiday,
    /// A weekend day worked instead of a holiday day (调休上班): it counts as a working day.
    AdjustedWorkday,
}

impl DayKind {
    /// Whether periods in working days count this day.
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Working | DayKind::AdjustedWorkday)
    }

    /// The word used on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Working => "working",
            DayKind::Weekend => "weekend",
            DayKind::Holiday => "holiday",
            DayKind::AdjustedWorkday => "adjusted_workday",
        }
    }
}

/// One thing wrong in a calendar file, with where it is so an admin can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarProblem {
    /// 1-based line in the YAML source, when known.
    pub line: Option<usize>,
    /// 1-based column in the YAML source, when known.
    pub column: Option<usize>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl fmt::Display for CalendarProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Why a calendar could not be loaded or could not answer. Each variant has a stable
/// [`code`](CalendarError::code) that the API and the command line show to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The computation needed a day the calendar has no holiday notice for.
    #[error(
        "{date} is outside calendar `{calendar}`, which only knows the years {years}; \
         add that year's holiday notice to the calendar"
    )]
    OutOfRange {
        /// The calendar's id.
        calendar: String,
        /// The first date the computation needed that is outside the calendar.
        date: NaiveDate,
        /// The years the calendar knows.
        years: YearRange,
    },
    /// The calendar data is malformed or contradicts itself.
    #[error("invalid calendar: {}", join_problems(.problems))]
    Invalid {
        /// Every problem found, in source order where possible.
        problems: Vec<CalendarProblem>,
    },
    /// No calendar with this id is loaded.
    #[error("unknown calendar `{id}`; known calendars: {}", known.join(", "))]
    UnknownCalendar {
        /// The id asked for.
        id: String,
        /// The ids that exist, so the user can pick one.
        known: Vec<String>,
    },
}

impl CalendarError {
    /// A stable, machine-readable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::OutOfRange { .. } => "calendar-out-of-range",
            CalendarError::Invalid { .. } => "calendar-invalid",
            CalendarError::UnknownCalendar { .. } => "unknown-calendar",
        }
    }

    /// An `Invalid` error with a single problem and no location.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        CalendarError::Invalid { problems: vec![CalendarProblem { line: None, column: None, message: message.into() }] }
    }
}

fn join_problems(problems: &[CalendarProblem]) -> String {
    let parts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// A working-day calendar over a fixed range of years: which days are working days, and
/// the period arithmetic built on that.
///
/// Cheap to query (every query is a few array lookups) and immutable once built; share it
/// by reference or wrap it in an `Arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// The key flows name it by (`calendar: cn-mainland`).
    id: String,
    /// A human name.
    name: String,
    /// The years known.
    years: YearRange,
    /// 1 January of `years.from`.
    first: NaiveDate,
    /// `first` as days from the common era, so a date's index is one subtraction.
    first_num: i32,
    /// The day before `first`, reported when a backwards count runs off the start.
    before_first: NaiveDate,
    /// The day after 31 December of `years.to`, reported when a count runs off the end.
    after_last: NaiveDate,
    /// The kind of every day, indexed from `first`.
    kinds: Vec<DayKind>,
    /// `working_before[i]`: working days strictly before day `i`; one longer than `kinds`.
    working_before: Vec<u32>,
    /// `working_at[k]`: the index of the k-th working day (0-based).
    working_at: Vec<u32>,
    /// The names of holidays and adjusted working days ("国庆节", "国庆节调休").
    names: BTreeMap<NaiveDate, String>,
}

impl Calendar {
    /// Loads a calendar from its YAML form (see `workflows/calendars/cn-mainland.yaml`).
    ///
    /// # Errors
    /// [`CalendarError::Invalid`] listing every problem with its line and column: YAML that
    /// does not parse, unknown or missing fields, bad dates, a range whose `from` is after its
    /// `to`, a date outside `years`, a day listed twice, a day both holiday and workday, or an
    /// adjusted workday that is not a Saturday or Sunday.
    pub fn from_yaml(source: &str) -> Result<Calendar, CalendarError> {
        data::parse(source)
    }

    /// The shipped calendar with this id, parsed once and kept for the life of the process.
    ///
    /// # Errors
    /// [`CalendarError::UnknownCalendar`] when no shipped calendar has this id.
    pub fn shipped(id: &str) -> Result<&'static Calendar, CalendarError> {
        Calendars::shipped()?.get(id)
    }

    /// Builds the lookup tables from already validated days. `holidays` and `workdays` must
    /// be disjoint, inside `years`, and the workdays must be weekend days; `data` checks this.
    pub(crate) fn from_days(
        id: String,
        name: String,
        years: YearRange,
        holidays: BTreeMap<NaiveDate, String>,
        workdays: BTreeMap<NaiveDate, String>,
    ) -> Result<Calendar, CalendarError> {
        let bad_years = || CalendarError::invalid(format!("years {years} cannot be represented"));
        let first = NaiveDate::from_ymd_opt(years.from, 1, 1).ok_or_else(bad_years)?;
        let last = NaiveDate::from_ymd_opt(years.to, 12, 31).ok_or_else(bad_years)?;
        let before_first = first.pred_opt().ok_or_else(bad_years)?;
        let after_last = last.succ_opt().ok_or_else(bad_years)?;
        if last < first {
            return Err(bad_years());
        }
        let mut kinds = Vec::new();
        let mut working_before = vec![0u32];
        let mut working_at = Vec::new();
        let mut count = 0u32;
        for (index, day) in first.iter_days().take_while(|d| *d <= last).enumerate() {
            let kind = if holidays.contains_key(&day) {
                DayKind::Holiday
            } else if workdays.contains_key(&day) {
                DayKind::AdjustedWorkday
            } else if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                DayKind::Weekend
            } else {
                DayKind::Working
            };
            if kind.is_working() {
                working_at.push(u32::try_from(index).map_err(|_| bad_years())?);
                count += 1;
            }
            kinds.push(kind);
            working_before.push(count);
        }
        let mut names = holidays;
        names.extend(workdays);
        Ok(Calendar {
            id,
            name,
            years,
            first,
            first_num: first.num_days_from_ce(),
            before_first,
            after_last,
            kinds,
            working_before,
            working_at,
            names,
        })
    }

    /// The id flows use to name this calendar.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The human name shown in lists.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The years this calendar can answer for.
    pub fn years(&self) -> YearRange {
        self.years
    }

    /// The last day this calendar knows (31 December of its last year).
    pub fn last_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.years.to, 12, 31).unwrap_or(NaiveDate::MAX)
    }

    /// How many days after `date` this calendar still knows (negative once `date` is past
    /// its last year). Working-day deadlines that end later fail with
    /// [`CalendarError::OutOfRange`] until the next year's holiday notice is added.
    pub fn days_known_after(&self, date: NaiveDate) -> i64 {
        (self.last_day() - date).num_days()
    }

    /// Whether `date` is inside the known years, i.e. whether queries about it can succeed.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.index(date).is_ok()
    }

    /// Whether periods in working days count `date`.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when `date` is outside the known years.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.day_kind(date)?.is_working())
    }

    /// Why `date` is or is not a working day.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when `date` is outside the known years.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind, CalendarError> {
        let i = self.index(date)?;
        self.kinds.get(i).copied().ok_or_else(|| self.out_of_range(date))
    }

    /// The name of the holiday or adjusted working day on `date` ("国庆节"), if it is one.
    pub fn day_name(&self, date: NaiveDate) -> Option<&str> {
        self.names.get(&date).map(String::as_str)
    }

    /// Every statutory holiday day, in date order, with its name.
    pub fn holidays(&self) -> impl Iterator<Item = (NaiveDate, &str)> {
        self.named_days(DayKind::Holiday)
    }

    /// Every adjusted weekend working day (调休上班), in date order, with its name.
    pub fn adjusted_workdays(&self) -> impl Iterator<Item = (NaiveDate, &str)> {
        self.named_days(DayKind::AdjustedWorkday)
    }

    /// The day a period started on `from` ends (its due date): the start day is not
    /// counted; `N working_days` is the N-th working day after `from`; `N calendar_days` is
    /// `from + N`, moved to the next working day when that is not one; zero days is `from`.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when `from`, or any day the count needs, is outside the
    /// known years (the error names the first such day).
    pub fn add(&self, from: NaiveDate, period: Period) -> Result<NaiveDate, CalendarError> {
        let i = self.index(from)?;
        if period.amount == 0 {
            return Ok(from);
        }
        let n = period.amount as usize;
        match period.unit {
            PeriodUnit::WorkingDays => {
                // Working days up to and including `from`, plus N: the (that)-th working day.
                let k = (self.working_before[i + 1] as usize).saturating_add(n - 1);
                self.working_day_at(k, self.after_last)
            }
            PeriodUnit::CalendarDays => {
                let j = i.saturating_add(n);
                if j >= self.kinds.len() {
                    let date = from.checked_add_days(Days::new(n as u64)).unwrap_or(self.after_last);
                    return Err(self.out_of_range(date));
                }
                if self.kinds[j].is_working() {
                    self.date_at(j)
                } else {
                    self.working_day_at(self.working_before[j] as usize, self.after_last)
                }
            }
        }
    }

    /// The day `period` before `from`, for reminders ahead of a due date: `N working_days`
    /// is the N-th working day before `from`; `N calendar_days` is `from - N`, moved to the
    /// previous working day when that is not one (a reminder is never later than promised);
    /// zero days is `from`.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when `from`, or any day the count needs, is outside the
    /// known years.
    pub fn sub(&self, from: NaiveDate, period: Period) -> Result<NaiveDate, CalendarError> {
        let i = self.index(from)?;
        if period.amount == 0 {
            return Ok(from);
        }
        let n = period.amount as usize;
        match period.unit {
            PeriodUnit::WorkingDays => {
                let before = self.working_before[i] as usize;
                match before.checked_sub(n) {
                    Some(k) => self.working_day_at(k, self.before_first),
                    None => Err(self.out_of_range(self.before_first)),
                }
            }
            PeriodUnit::CalendarDays => {
                let Some(j) = i.checked_sub(n) else {
                    let date = from.checked_sub_days(Days::new(n as u64)).unwrap_or(self.before_first);
                    return Err(self.out_of_range(date));
                };
                if self.kinds[j].is_working() {
                    self.date_at(j)
                } else {
                    match (self.working_before[j + 1] as usize).checked_sub(1) {
                        Some(k) => self.working_day_at(k, self.before_first),
                        None => Err(self.out_of_range(self.before_first)),
                    }
                }
            }
        }
    }

    /// The number of working days in `(from_exclusive, to_inclusive]`: how many working days
    /// a pause from one day to the other took off the clock. Zero when `to_inclusive` is not
    /// after `from_exclusive`.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when either date is outside the known years.
    pub fn working_days_in(&self, from_exclusive: NaiveDate, to_inclusive: NaiveDate) -> Result<u32, CalendarError> {
        let a = self.index(from_exclusive)?;
        let b = self.index(to_inclusive)?;
        Ok(self.working_before[b + 1].saturating_sub(self.working_before[a + 1]))
    }

    /// The number of days of `unit` in `(from_exclusive, to_inclusive]`, so that callers can
    /// treat both units alike. Zero when `to_inclusive` is not after `from_exclusive`.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when either date is outside the known years.
    pub fn days_in(
        &self,
        unit: PeriodUnit,
        from_exclusive: NaiveDate,
        to_inclusive: NaiveDate,
    ) -> Result<u32, CalendarError> {
        match unit {
            PeriodUnit::WorkingDays => self.working_days_in(from_exclusive, to_inclusive),
            PeriodUnit::CalendarDays => {
                let a = self.index(from_exclusive)?;
                let b = self.index(to_inclusive)?;
                Ok(u32::try_from(b.saturating_sub(a)).unwrap_or(u32::MAX))
            }
        }
    }

    /// `date` if it is a working day, otherwise the next working day after it.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when `date`, or the days up to the next working day,
    /// are outside the known years.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let i = self.index(date)?;
        if self.kinds[i].is_working() {
            Ok(date)
        } else {
            self.working_day_at(self.working_before[i] as usize, self.after_last)
        }
    }

    /// The index of `date` in the tables.
    fn index(&self, date: NaiveDate) -> Result<usize, CalendarError> {
        let offset = i64::from(date.num_days_from_ce()) - i64::from(self.first_num);
        match usize::try_from(offset) {
            Ok(i) if i < self.kinds.len() => Ok(i),
            _ => Err(self.out_of_range(date)),
        }
    }

    /// The date of day `i`, which the caller has checked is in the tables.
    fn date_at(&self, i: usize) -> Result<NaiveDate, CalendarError> {
        self.first.checked_add_days(Days::new(i as u64)).ok_or_else(|| self.out_of_range(self.after_last))
    }

    /// The k-th working day (0-based), or `OutOfRange` naming `beyond` when there is none.
    fn working_day_at(&self, k: usize, beyond: NaiveDate) -> Result<NaiveDate, CalendarError> {
        match self.working_at.get(k) {
            Some(&i) => self.date_at(i as usize),
            None => Err(self.out_of_range(beyond)),
        }
    }

    fn named_days(&self, kind: DayKind) -> impl Iterator<Item = (NaiveDate, &str)> {
        self.names
            .iter()
            .filter(move |(date, _)| self.day_kind(**date).ok() == Some(kind))
            .map(|(date, name)| (*date, name.as_str()))
    }

    fn out_of_range(&self, date: NaiveDate) -> CalendarError {
        CalendarError::OutOfRange { calendar: self.id.clone(), date, years: self.years }
    }
}

/// The loaded calendars, by id: flows name their calendar (`calendar: cn-mainland`) and the
/// engine looks it up here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendars {
    by_id: BTreeMap<String, Calendar>,
}

impl Calendars {
    /// An empty registry, for deployments that load their own calendars.
    pub fn new() -> Self {
        Calendars::default()
    }

    /// The calendars shipped in `workflows/calendars/`, embedded in the binary so that it
    /// works from any directory; parsed on first use and kept for the life of the process.
    ///
    /// # Errors
    /// [`CalendarError::Invalid`] if a shipped file is broken (a test keeps this from
    /// happening in a release).
    pub fn shipped() -> Result<&'static Calendars, CalendarError> {
        static SHIPPED: OnceLock<Result<Calendars, CalendarError>> = OnceLock::new();
        SHIPPED.get_or_init(Calendars::load_shipped).as_ref().map_err(Clone::clone)
    }

    /// A fresh copy of the shipped calendars, for a registry that admins then extend.
    ///
    /// # Errors
    /// [`CalendarError::Invalid`] if a shipped file is broken, naming the file.
    pub fn load_shipped() -> Result<Calendars, CalendarError> {
        let mut calendars = Calendars::new();
        for (file, source) in data::SHIPPED {
            let calendar = Calendar::from_yaml(source).map_err(|e| match e {
                CalendarError::Invalid { problems } => CalendarError::Invalid {
                    problems: problems
                        .into_iter()
                        .map(|p| CalendarProblem { message: format!("{file}: {}", p.message), ..p })
                        .collect(),
                },
                other => other,
            })?;
            if calendars.insert(calendar).is_some() {
                return Err(CalendarError::invalid(format!("{file}: a calendar with this id is shipped twice")));
            }
        }
        Ok(calendars)
    }

    /// Adds `calendar`, replacing (and returning) any calendar with the same id.
    pub fn insert(&mut self, calendar: Calendar) -> Option<Calendar> {
        self.by_id.insert(calendar.id.clone(), calendar)
    }

    /// The calendar with this id.
    ///
    /// # Errors
    /// [`CalendarError::UnknownCalendar`], listing the ids that exist.
    pub fn get(&self, id: &str) -> Result<&Calendar, CalendarError> {
        self.by_id.get(id).ok_or_else(|| CalendarError::UnknownCalendar {
            id: id.to_owned(),
            known: self.by_id.keys().cloned().collect(),
        })
    }

    /// All calendars, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Calendar> {
        self.by_id.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cn() -> &'static Calendar {
        Calendar::shipped("cn-mainland").unwrap()
    }

    /// A one-year calendar with a three-day holiday and one adjusted Sunday.
    fn tiny() -> Calendar {
        Calendar::from_yaml(
            "id: tiny\nname: Tiny\nyears: { from: 2024, to: 2024 }\n\
             holidays:\n  - { from: 2024-10-01, to: 2024-10-03, name: H }\n\
             workdays:\n  - { date: 2024-09-29, name: W }\n",
        )
        .unwrap()
    }

    #[test]
    fn classifies_days() {
        let c = tiny();
        assert_eq!(c.day_kind(d(2024, 9, 27)).unwrap(), DayKind::Working);
        assert_eq!(c.day_kind(d(2024, 9, 28)).unwrap(), DayKind::Weekend);
        assert_eq!(c.day_kind(d(2024, 9, 29)).unwrap(), DayKind::AdjustedWorkday);
        assert_eq!(c.day_kind(d(2024, 10, 1)).unwrap(), DayKind::Holiday);
        assert_eq!(c.day_name(d(2024, 10, 2)), Some("H"));
        assert_eq!(c.day_name(d(2024, 10, 4)), None);
        assert_eq!(c.holidays().count(), 3);
        assert_eq!(c.adjusted_workdays().collect::<Vec<_>>(), vec![(d(2024, 9, 29), "W")]);
    }

    #[test]
    fn working_days_skip_holidays_and_count_adjusted_days() {
        let c = tiny();
        // Fri 27 Sep: Sun 29 (adjusted) 1, Mon 30 2, Fri 4 Oct 3, Mon 7 Oct 4.
        assert_eq!(c.add(d(2024, 9, 27), Period::working_days(1)).unwrap(), d(2024, 9, 29));
        assert_eq!(c.add(d(2024, 9, 27), Period::working_days(3)).unwrap(), d(2024, 10, 4));
        assert_eq!(c.add(d(2024, 9, 27), Period::working_days(4)).unwrap(), d(2024, 10, 7));
        // The start day is not counted even when it is a holiday.
        assert_eq!(c.add(d(2024, 10, 1), Period::working_days(1)).unwrap(), d(2024, 10, 4));
    }

    #[test]
    fn calendar_days_ending_on_a_day_off_move_to_the_next_working_day() {
        let c = tiny();
        assert_eq!(c.add(d(2024, 9, 24), Period::calendar_days(3)).unwrap(), d(2024, 9, 27));
        assert_eq!(c.add(d(2024, 9, 24), Period::calendar_days(4)).unwrap(), d(2024, 9, 29));
        assert_eq!(c.add(d(2024, 9, 24), Period::calendar_days(7)).unwrap(), d(2024, 10, 4));
        assert_eq!(c.add(d(2024, 10, 2), Period::calendar_days(3)).unwrap(), d(2024, 10, 7));
    }

    #[test]
    fn zero_days_is_the_start_day() {
        let c = tiny();
        for unit in [PeriodUnit::WorkingDays, PeriodUnit::CalendarDays] {
            let zero = Period { amount: 0, unit };
            assert_eq!(c.add(d(2024, 10, 1), zero).unwrap(), d(2024, 10, 1));
            assert_eq!(c.sub(d(2024, 10, 1), zero).unwrap(), d(2024, 10, 1));
        }
    }

    #[test]
    fn sub_counts_backwards() {
        let c = tiny();
        assert_eq!(c.sub(d(2024, 10, 4), Period::working_days(1)).unwrap(), d(2024, 9, 30));
        assert_eq!(c.sub(d(2024, 10, 4), Period::working_days(2)).unwrap(), d(2024, 9, 29));
        assert_eq!(c.sub(d(2024, 10, 4), Period::working_days(3)).unwrap(), d(2024, 9, 27));
        // 4 Oct - 2 days = 2 Oct, a holiday: the reminder moves earlier, to Mon 30 Sep.
        assert_eq!(c.sub(d(2024, 10, 4), Period::calendar_days(2)).unwrap(), d(2024, 9, 30));
    }

    #[test]
    fn counts_working_days_between() {
        let c = tiny();
        assert_eq!(c.working_days_in(d(2024, 9, 27), d(2024, 10, 7)).unwrap(), 4);
        assert_eq!(c.working_days_in(d(2024, 10, 7), d(2024, 9, 27)).unwrap(), 0);
        assert_eq!(c.working_days_in(d(2024, 10, 7), d(2024, 10, 7)).unwrap(), 0);
        assert_eq!(c.days_in(PeriodUnit::CalendarDays, d(2024, 9, 27), d(2024, 10, 7)).unwrap(), 10);
    }

    #[test]
    fn refuses_dates_outside_the_known_years() {
        let c = tiny();
        let err = c.is_working_day(d(2023, 12, 31)).unwrap_err();
        assert_eq!(err.code(), "calendar-out-of-range");
        assert_eq!(
            err.to_string(),
            "2023-12-31 is outside calendar `tiny`, which only knows the years 2024; \
             add that year's holiday notice to the calendar"
        );
        let past_end = c.add(d(2024, 12, 30), Period::working_days(2)).unwrap_err();
        assert!(matches!(past_end, CalendarError::OutOfRange { date, .. } if date == d(2025, 1, 1)));
        let far = c.add(d(2024, 12, 30), Period::calendar_days(10)).unwrap_err();
        assert!(matches!(far, CalendarError::OutOfRange { date, .. } if date == d(2025, 1, 9)));
        let before = c.sub(d(2024, 1, 2), Period::working_days(2)).unwrap_err();
        assert!(matches!(before, CalendarError::OutOfRange { date, .. } if date == d(2023, 12, 31)));
        assert!(c.add(d(2024, 12, 30), Period::working_days(u32::MAX)).is_err());
        assert!(c.add(d(2024, 12, 30), Period::calendar_days(u32::MAX)).is_err());
        assert!(c.sub(d(2024, 12, 30), Period::calendar_days(u32::MAX)).is_err());
        assert!(c.working_days_in(d(2024, 1, 1), d(2025, 1, 1)).is_err());
    }

    #[test]
    fn a_calendar_says_how_long_it_still_knows_the_days() {
        assert_eq!(cn().last_day(), d(2026, 12, 31));
        assert_eq!(cn().days_known_after(d(2026, 11, 26)), 35);
        assert_eq!(cn().days_known_after(d(2026, 12, 31)), 0);
        assert_eq!(cn().days_known_after(d(2027, 1, 2)), -2);
        assert!(cn().add(d(2026, 11, 26), Period::working_days(30)).is_err(), "past the known days");
    }

    #[test]
    fn registry_names_unknown_calendars() {
        let err = Calendars::shipped().unwrap().get("mars").unwrap_err();
        assert_eq!(err.code(), "unknown-calendar");
        assert_eq!(err.to_string(), "unknown calendar `mars`; known calendars: cn-mainland");
        let mut own = Calendars::load_shipped().unwrap();
        assert!(own.insert(tiny()).is_none());
        assert_eq!(own.iter().map(Calendar::id).collect::<Vec<_>>(), vec!["cn-mainland", "tiny"]);
    }

    #[test]
    fn shipped_example_from_the_design() {
        assert_eq!(cn().add(d(2024, 9, 27), Period::working_days(5)).unwrap(), d(2024, 10, 10));
        assert_eq!(cn().years(), YearRange { from: 2019, to: 2026 });
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // Leave the last half year free so that modest periods stay inside the calendar.
        (0u64..(365 * 7 + 180)).prop_map(|n| d(2019, 1, 1) + Days::new(n))
    }

    fn any_unit() -> impl Strategy<Value = PeriodUnit> {
        prop_oneof![Just(PeriodUnit::WorkingDays), Just(PeriodUnit::CalendarDays)]
    }

    proptest! {
        #[test]
        fn add_is_monotonic_in_n(from in any_date(), a in 0u32..90, b in 0u32..90, unit in any_unit()) {
            let (lo, hi) = (a.min(b), a.max(b));
            let x = cn().add(from, Period { amount: lo, unit }).unwrap();
            let y = cn().add(from, Period { amount: hi, unit }).unwrap();
            prop_assert!(x <= y);
        }

        #[test]
        fn adding_working_days_lands_on_a_working_day(from in any_date(), n in 1u32..90) {
            let due = cn().add(from, Period::working_days(n)).unwrap();
            prop_assert!(cn().is_working_day(due).unwrap());
            prop_assert_eq!(cn().working_days_in(from, due).unwrap(), n);
        }

        #[test]
        fn adding_calendar_days_lands_on_the_first_working_day_from_the_nominal_end(
            from in any_date(), n in 1u32..120,
        ) {
            let due = cn().add(from, Period::calendar_days(n)).unwrap();
            let nominal = from + Days::new(u64::from(n));
            prop_assert!(due >= nominal);
            prop_assert!(cn().is_working_day(due).unwrap());
            for day in nominal.iter_days().take_while(|x| *x < due) {
                prop_assert!(!cn().is_working_day(day).unwrap());
            }
        }

        #[test]
        fn sub_undoes_add_from_a_working_day(from in any_date(), n in 0u32..60) {
            let start = cn().working_day_on_or_after(from).unwrap();
            let due = cn().add(start, Period::working_days(n)).unwrap();
            prop_assert_eq!(cn().sub(due, Period::working_days(n)).unwrap(), start);
        }

        #[test]
        fn agrees_with_a_day_by_day_count(from in any_date(), n in 1u32..40) {
            let mut day = from;
            let mut left = n;
            while left > 0 {
                day = day.succ_opt().unwrap();
                if cn().is_working_day(day).unwrap() {
                    left -= 1;
                }
            }
            prop_assert_eq!(cn().add(from, Period::working_days(n)).unwrap(), day);
        }
    }
}
