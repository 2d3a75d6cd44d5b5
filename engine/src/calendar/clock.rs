//! Deadlines as clocks, not timers.
//!
//! A statutory deadline can stop and start again: the time needed for a hearing, tender,
//! auction, inspection, testing, quarantine, appraisal or expert review is not counted in a
//! licensing period (行政许可法 第四十五条). A single timer set at the start cannot express
//! that, so a [`DeadlineClock`] keeps a ledger (when it started, every pause and resume) and
//! recomputes the due date from it on demand. It is pure: every instant is handed in, and
//! nothing here reads the system clock.
//!
//! # Day granularity
//! Periods count whole local days (UTC+8), so pauses are counted by local date too:
//! - the day the clock **starts** is not counted (the period begins the next day);
//! - the day a pause **begins** still counts: the clock ran on it;
//! - the days after it, up to and including the day of the **resume**, do not count: the
//!   resume day is treated like a new start day, so counting continues the day after it.
//!
//! So a pause and resume on the same day costs nothing, and a pause on Monday resumed on
//! Tuesday gives back one working day (Tuesday). In effect the days of the period's unit
//! in `(pause day, resume day]` extend the due date; for a period in working days only
//! working days in that interval matter, for calendar days every day does.
//!
//! Precisely, a pause on day P while the clock is due on D leaves `remaining` units: the
//! working days in `(P, D]`, or for calendar days the days from P to the nominal last day
//! (before it was moved off a holiday), at least zero. Resumed on day R, the clock is due
//! `remaining` units after R, or on the first working day on or after R when nothing
//! remains (a pause on the due day itself). A pause that begins after the due date has
//! passed changes nothing: the deadline was already missed.
//!
//! # While paused
//! A paused clock has no due date: [`DeadlineClock::due`] returns `Ok(None)` and
//! [`DeadlineClock::ladder_dates`] is empty, so the engine cancels timers on pause and
//! schedules them again on resume. [`DeadlineClock::due_if_resumed_on`] answers "when would
//! it be due if we resumed on this day", for display.
//!
//! # Instants
//! A deadline on day D is missed at the **end** of D ([`Timestamp::end_of_local_day`]):
//! that is the instant of the due date, of at-due steps and of after-due steps (each acts
//! when a deadline that much later would be missed). Reminders (`remind` steps, and every
//! step *before* the due date) act at the **start** of their day
//! ([`Timestamp::start_of_local_day`]) so the addressee has the whole day to act.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ladder::{DeadlineSpec, LadderAction, LadderWhen};
use super::working::{Calendar, CalendarError};
use super::{Period, PeriodUnit};
use crate::time::Timestamp;

/// A running deadline: its declaration plus the ledger of when it ran.
///
/// The fields are public so that the ledger can be stored and shown; change them through
/// [`pause`](DeadlineClock::pause) and [`resume`](DeadlineClock::resume), which keep it in
/// time order. A hand-made ledger that is out of order does not panic: intervals that run
/// backwards are ignored and pauses before the start are moved to the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineClock {
    /// The period, its legal basis and its escalation ladder.
    pub spec: DeadlineSpec,
    /// When the clock started; its local date is the (uncounted) start day.
    pub started: Timestamp,
    /// Every pause, oldest first; only the last may still be open.
    pub pauses: Vec<Pause>,
}

/// One interval during which the period did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// When the clock stopped.
    pub from: Timestamp,
    /// When it started again; `None` while still paused.
    pub to: Option<Timestamp>,
    /// Why (听证, 检验, 专家评审 …), shown on the case timeline: a pause must be justified.
    pub reason: String,
}

/// A pause or resume that does not fit the ledger. Each has a stable
/// [`code`](ClockError::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The clock is already paused; pauses do not nest.
    #[error("the deadline clock is already paused (since {since}: {reason})")]
    AlreadyPaused {
        /// When the open pause began.
        since: Timestamp,
        /// Why it was paused.
        reason: String,
    },
    /// The clock is running, so there is nothing to resume.
    #[error("the deadline clock is not paused")]
    NotPaused,
    /// The instant is earlier than the clock's latest event; the ledger only moves forward.
    #[error("{at} is before the deadline clock's latest event at {latest}")]
    OutOfOrder {
        /// The instant given.
        at: Timestamp,
        /// The latest instant already in the ledger.
        latest: Timestamp,
    },
}

impl ClockError {
    /// A stable, machine-readable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            ClockError::AlreadyPaused { .. } => "clock-already-paused",
            ClockError::NotPaused => "clock-not-paused",
            ClockError::OutOfOrder { .. } => "clock-out-of-order",
        }
    }
}

impl DeadlineClock {
    /// A clock for `spec` started at `at`, running.
    pub fn start(spec: DeadlineSpec, at: Timestamp) -> Self {
        DeadlineClock { spec, started: at, pauses: Vec::new() }
    }

    /// Stops the clock at `at` for `reason`.
    ///
    /// # Errors
    /// [`ClockError::AlreadyPaused`] if it is paused; [`ClockError::OutOfOrder`] if `at` is
    /// before the start or the latest resume.
    pub fn pause(&mut self, at: Timestamp, reason: impl Into<String>) -> Result<(), ClockError> {
        if let Some(open) = self.open_pause() {
            return Err(ClockError::AlreadyPaused { since: open.from, reason: open.reason.clone() });
        }
        let latest = self.latest_event();
        if at < latest {
            return Err(ClockError::OutOfOrder { at, latest });
        }
        self.pauses.push(Pause { from: at, to: None, reason: reason.into() });
        Ok(())
    }

    /// Starts the clock again at `at`.
    ///
    /// # Errors
    /// [`ClockError::NotPaused`] if it is running; [`ClockError::OutOfOrder`] if `at` is
    /// before the pause began.
    pub fn resume(&mut self, at: Timestamp) -> Result<(), ClockError> {
        let Some(open) = self.pauses.iter_mut().rev().find(|p| p.to.is_none()) else {
            return Err(ClockError::NotPaused);
        };
        if at < open.from {
            return Err(ClockError::OutOfOrder { at, latest: open.from });
        }
        open.to = Some(at);
        Ok(())
    }

    /// Whether the clock is stopped (a pause is open).
    pub fn is_paused(&self) -> bool {
        self.open_pause().is_some()
    }

    /// The local date the period ends on, counting the ledger's pauses out; `None` while
    /// paused (see the module doc for the day rule).
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when the computation needs a day the calendar does not
    /// know.
    pub fn due(&self, calendar: &Calendar) -> Result<Option<NaiveDate>, CalendarError> {
        if self.is_paused() {
            return Ok(None);
        }
        self.compute_due(calendar, None).map(Some)
    }

    /// The due date if the open pause ended on `date` (a date before the pause began counts
    /// as the pause day). For a running clock, the same as [`due`](Self::due).
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] as for [`due`](Self::due).
    pub fn due_if_resumed_on(&self, calendar: &Calendar, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.compute_due(calendar, Some(date))
    }

    /// The instant the deadline is missed: the end of the due date; `None` while paused.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] as for [`due`](Self::due).
    pub fn due_instant(&self, calendar: &Calendar) -> Result<Option<Timestamp>, CalendarError> {
        Ok(self.due(calendar)?.map(Timestamp::end_of_local_day))
    }

    /// Whether the deadline has been missed at `now`. A paused clock is never overdue: the
    /// period is not running.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] as for [`due`](Self::due).
    pub fn is_overdue(&self, calendar: &Calendar, now: Timestamp) -> Result<bool, CalendarError> {
        Ok(self.due_instant(calendar)?.is_some_and(|missed| now >= missed))
    }

    /// For each ladder step (by its index in the spec), the local date it acts on:
    /// `before: p` is `p` before the due date counted backwards in `p`'s unit
    /// ([`Calendar::sub`]), but never before the day the clock last started running (its
    /// start or latest resume: a reminder due earlier is sent that day); `at_due` is the due
    /// date; `after: p` is [`Calendar::add`] of `p` to the due date. Empty while paused.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] when a date needs a day the calendar does not know.
    pub fn ladder_dates(&self, calendar: &Calendar) -> Result<Vec<(usize, NaiveDate)>, CalendarError> {
        let Some(due) = self.due(calendar)? else {
            return Ok(Vec::new());
        };
        let running_since = self
            .pauses
            .iter()
            .filter_map(|p| p.to)
            .map(Timestamp::local_date)
            .fold(self.started.local_date(), NaiveDate::max);
        self.spec
            .ladder
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let date = match step.when {
                    LadderWhen::Before(period) => before(calendar, due, period, running_since)?,
                    LadderWhen::AtDue => due,
                    LadderWhen::After(period) => calendar.add(due, period)?,
                };
                Ok((index, date))
            })
            .collect()
    }

    /// [`ladder_dates`](Self::ladder_dates) as instants: reminders and steps before the due
    /// date at the start of their day, other steps at its end (see the module doc).
    ///
    /// # Errors
    /// As for [`ladder_dates`](Self::ladder_dates).
    pub fn ladder_instants(&self, calendar: &Calendar) -> Result<Vec<(usize, Timestamp)>, CalendarError> {
        let dates = self.ladder_dates(calendar)?;
        Ok(dates
            .into_iter()
            .zip(&self.spec.ladder)
            .map(|((index, date), step)| {
                let early = matches!(step.when, LadderWhen::Before(_)) || step.action == LadderAction::Remind;
                let at = if early { Timestamp::start_of_local_day(date) } else { Timestamp::end_of_local_day(date) };
                (index, at)
            })
            .collect())
    }

    /// The latest open pause, if any.
    fn open_pause(&self) -> Option<&Pause> {
        self.pauses.iter().rev().find(|p| p.to.is_none())
    }

    /// The latest instant in the ledger; new events may not come before it.
    fn latest_event(&self) -> Timestamp {
        self.pauses.iter().flat_map(|p| [Some(p.from), p.to]).flatten().fold(self.started, Timestamp::max)
    }

    /// Replays the ledger (see the module doc); an open pause ends on `open_until`, or on
    /// its own day when that is `None`.
    fn compute_due(&self, calendar: &Calendar, open_until: Option<NaiveDate>) -> Result<NaiveDate, CalendarError> {
        let unit = self.spec.within.unit;
        let mut anchor = self.started.local_date();
        let mut remaining = self.spec.within.amount;
        let mut resumed = false;
        for pause in &self.pauses {
            let due = due_from(calendar, anchor, remaining, unit, resumed)?;
            let paused_on = pause.from.local_date().max(anchor);
            if paused_on > due {
                return Ok(due);
            }
            let resumed_on = match pause.to {
                Some(to) => to.local_date(),
                None => open_until.unwrap_or(paused_on),
            };
            remaining = match unit {
                PeriodUnit::WorkingDays => calendar.working_days_in(paused_on, due)?,
                PeriodUnit::CalendarDays => {
                    let used = (paused_on - anchor).num_days();
                    remaining.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX))
                }
            };
            anchor = resumed_on.max(paused_on);
            resumed = true;
        }
        due_from(calendar, anchor, remaining, unit, resumed)
    }
}

/// The due date of `remaining` units counted from `anchor`. After a resume with nothing
/// left, the first working day on or after the resume day.
fn due_from(
    calendar: &Calendar,
    anchor: NaiveDate,
    remaining: u32,
    unit: PeriodUnit,
    resumed: bool,
) -> Result<NaiveDate, CalendarError> {
    if resumed && remaining == 0 {
        calendar.working_day_on_or_after(anchor)
    } else {
        calendar.add(anchor, Period { amount: remaining, unit })
    }
}

/// `period` before `due`, but not before `floor`.
fn before(calendar: &Calendar, due: NaiveDate, period: Period, floor: NaiveDate) -> Result<NaiveDate, CalendarError> {
    if due <= floor || calendar.days_in(period.unit, floor, due)? <= period.amount {
        return Ok(floor.min(due));
    }
    Ok(calendar.sub(due, period)?.max(floor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::LadderStep;
    use chrono::{Days, Duration};
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// `hour` o'clock local time on `date`.
    fn at(date: NaiveDate, hour: i64) -> Timestamp {
        Timestamp::start_of_local_day(date) + Duration::hours(hour)
    }

    fn cn() -> &'static Calendar {
        Calendar::shipped("cn-mainland").unwrap()
    }

    fn spec(within: Period) -> DeadlineSpec {
        DeadlineSpec {
            within,
            basis: Some("行政许可法 第四十二条".into()),
            ladder: vec![
                LadderStep {
                    when: LadderWhen::Before(Period::working_days(2)),
                    action: LadderAction::Remind,
                    to: "assignee".into(),
                },
                LadderStep { when: LadderWhen::AtDue, action: LadderAction::Notify, to: "assignee".into() },
                LadderStep {
                    when: LadderWhen::After(Period::working_days(1)),
                    action: LadderAction::EscalateTo,
                    to: "section_chief".into(),
                },
            ],
        }
    }

    #[test]
    fn without_pauses_the_due_date_is_the_period() {
        let clock = DeadlineClock::start(spec(Period::working_days(5)), at(d(2024, 9, 27), 10));
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 10, 10)));
        assert_eq!(clock.due_instant(cn()).unwrap(), Some(Timestamp::start_of_local_day(d(2024, 10, 11))));
        assert!(!clock.is_overdue(cn(), at(d(2024, 10, 10), 23)).unwrap());
        assert!(clock.is_overdue(cn(), at(d(2024, 10, 11), 0)).unwrap());
    }

    #[test]
    fn a_pause_within_one_day_costs_nothing() {
        let mut clock = DeadlineClock::start(spec(Period::working_days(5)), at(d(2024, 9, 27), 10));
        clock.pause(at(d(2024, 9, 30), 9), "检验").unwrap();
        assert!(clock.is_paused());
        assert_eq!(clock.due(cn()).unwrap(), None);
        assert!(clock.ladder_dates(cn()).unwrap().is_empty());
        clock.resume(at(d(2024, 9, 30), 17)).unwrap();
        assert!(!clock.is_paused());
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 10, 10)));
    }

    #[test]
    fn paused_working_days_extend_the_due_date() {
        let mut clock = DeadlineClock::start(spec(Period::working_days(5)), at(d(2024, 9, 27), 10));
        // Paused Mon 30 Sep, resumed Wed 9 Oct: the holiday doesn't matter, 8 and 9 Oct do,
        // so two working days more: Fri 11 Oct and Sat 12 Oct (an adjusted working day).
        clock.pause(at(d(2024, 9, 30), 15), "专家评审").unwrap();
        assert_eq!(clock.due_if_resumed_on(cn(), d(2024, 10, 9)).unwrap(), d(2024, 10, 12));
        clock.resume(at(d(2024, 10, 9), 9)).unwrap();
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 10, 12)));
        // Friday to Monday gives back one working day (Monday); the weekend was off anyway.
        let mut weekend = DeadlineClock::start(spec(Period::working_days(5)), at(d(2024, 11, 4), 10));
        assert_eq!(weekend.due(cn()).unwrap(), Some(d(2024, 11, 11)));
        weekend.pause(at(d(2024, 11, 8), 16), "听证").unwrap();
        weekend.resume(at(d(2024, 11, 11), 9)).unwrap();
        assert_eq!(weekend.due(cn()).unwrap(), Some(d(2024, 11, 12)));
    }

    #[test]
    fn paused_calendar_days_extend_the_nominal_end() {
        // 10 days from 21 Sep end on 1 Oct, a holiday, so on 8 Oct.
        let mut clock = DeadlineClock::start(spec(Period::calendar_days(10)), at(d(2024, 9, 21), 10));
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 10, 8)));
        // Three days paused move the nominal end to 4 Oct, still a holiday: still 8 Oct.
        clock.pause(at(d(2024, 9, 23), 10), "检测").unwrap();
        clock.resume(at(d(2024, 9, 26), 10)).unwrap();
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 10, 8)));
        // Five more days move it to 9 Oct, a working day.
        clock.pause(at(d(2024, 9, 26), 11), "检测").unwrap();
        clock.resume(at(d(2024, 10, 1), 10)).unwrap();
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 10, 9)));
    }

    #[test]
    fn a_pause_on_the_due_day_resumes_due_on_the_resume_day() {
        let mut clock = DeadlineClock::start(spec(Period::working_days(1)), at(d(2024, 11, 7), 10));
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 11, 8)));
        clock.pause(at(d(2024, 11, 8), 16), "鉴定").unwrap();
        clock.resume(at(d(2024, 11, 9), 10)).unwrap(); // a Saturday
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 11, 11)));
    }

    #[test]
    fn a_pause_after_the_deadline_was_missed_changes_nothing() {
        let mut clock = DeadlineClock::start(spec(Period::working_days(1)), at(d(2024, 11, 7), 10));
        clock.pause(at(d(2024, 11, 12), 10), "late").unwrap();
        clock.resume(at(d(2024, 11, 20), 10)).unwrap();
        assert_eq!(clock.due(cn()).unwrap(), Some(d(2024, 11, 8)));
    }

    #[test]
    fn pause_and_resume_must_alternate_in_time_order() {
        let mut clock = DeadlineClock::start(spec(Period::working_days(5)), at(d(2024, 9, 27), 10));
        assert_eq!(clock.resume(at(d(2024, 9, 27), 11)), Err(ClockError::NotPaused));
        let early = clock.pause(at(d(2024, 9, 26), 10), "x").unwrap_err();
        assert_eq!(early.code(), "clock-out-of-order");
        clock.pause(at(d(2024, 9, 30), 10), "听证").unwrap();
        let twice = clock.pause(at(d(2024, 9, 30), 11), "again").unwrap_err();
        assert_eq!(twice.code(), "clock-already-paused");
        assert!(twice.to_string().contains("听证"));
        assert_eq!(clock.resume(at(d(2024, 9, 30), 9)).unwrap_err().code(), "clock-out-of-order");
        clock.resume(at(d(2024, 10, 8), 9)).unwrap();
        assert_eq!(clock.resume(at(d(2024, 10, 8), 10)).unwrap_err().code(), "clock-not-paused");
        assert_eq!(clock.pause(at(d(2024, 10, 8), 8), "x").unwrap_err().code(), "clock-out-of-order");
    }

    #[test]
    fn ladder_dates_and_instants() {
        let clock = DeadlineClock::start(spec(Period::working_days(5)), at(d(2024, 9, 27), 10));
        // Due Thu 10 Oct: remind 2 working days before (Tue 8 Oct), notify at due, escalate
        // one working day after (Fri 11 Oct).
        let dates = clock.ladder_dates(cn()).unwrap();
        assert_eq!(dates, vec![(0, d(2024, 10, 8)), (1, d(2024, 10, 10)), (2, d(2024, 10, 11))]);
        let instants = clock.ladder_instants(cn()).unwrap();
        assert_eq!(
            instants,
            vec![
                (0, Timestamp::start_of_local_day(d(2024, 10, 8))),
                (1, Timestamp::end_of_local_day(d(2024, 10, 10))),
                (2, Timestamp::end_of_local_day(d(2024, 10, 11))),
            ]
        );
    }

    #[test]
    fn early_reminders_are_sent_on_the_day_the_clock_last_started() {
        let clock = DeadlineClock::start(spec(Period::working_days(1)), at(d(2024, 9, 27), 10));
        assert_eq!(clock.ladder_dates(cn()).unwrap()[0], (0, d(2024, 9, 27)));
        let mut resumed = DeadlineClock::start(spec(Period::working_days(3)), at(d(2024, 11, 4), 10));
        resumed.pause(at(d(2024, 11, 5), 10), "检疫").unwrap();
        resumed.resume(at(d(2024, 11, 7), 10)).unwrap();
        // Due Mon 11 Nov; 2 working days before is Thu 7 Nov, the resume day.
        assert_eq!(resumed.due(cn()).unwrap(), Some(d(2024, 11, 11)));
        assert_eq!(resumed.ladder_dates(cn()).unwrap()[0], (0, d(2024, 11, 7)));
    }

    #[test]
    fn out_of_range_is_an_error_not_a_guess() {
        let clock = DeadlineClock::start(spec(Period::working_days(5)), at(d(2026, 12, 28), 10));
        assert_eq!(clock.due(cn()).unwrap_err().code(), "calendar-out-of-range");
        assert!(clock.ladder_dates(cn()).is_err());
    }

    #[test]
    fn clocks_serialize_for_storage() {
        let mut clock = DeadlineClock::start(spec(Period::working_days(5)), at(d(2024, 9, 27), 10));
        clock.pause(at(d(2024, 9, 30), 10), "听证").unwrap();
        let json = serde_json::to_string(&clock).unwrap();
        assert_eq!(serde_json::from_str::<DeadlineClock>(&json).unwrap(), clock);
    }

    fn any_day() -> impl Strategy<Value = NaiveDate> {
        (0u64..(365 * 7)).prop_map(|n| d(2019, 1, 1) + Days::new(n))
    }

    #[derive(Debug, Clone)]
    enum Op {
        Pause(i64),
        Resume(i64),
    }

    fn any_op() -> impl Strategy<Value = Op> {
        let step = -2 * 86_400_000i64..5 * 86_400_000i64;
        prop_oneof![step.clone().prop_map(Op::Pause), step.prop_map(Op::Resume)]
    }

    proptest! {
        #[test]
        fn pausing_for_k_working_days_moves_the_due_date_by_k_working_days(
            start in any_day(), n in 1u32..40, offset in 0u32..40, k in 0u32..30,
        ) {
            let offset = offset % n; // the pause begins before the due date
            let mut clock = DeadlineClock::start(spec(Period::working_days(n)), at(start, 8));
            let due = clock.due(cn()).unwrap().unwrap();
            let paused_on = cn().add(start, Period::working_days(offset)).unwrap();
            let resumed_on = cn().add(paused_on, Period::working_days(k)).unwrap();
            prop_assert_eq!(cn().working_days_in(paused_on, resumed_on).unwrap(), k);
            clock.pause(at(paused_on, 9), "p").unwrap();
            clock.resume(at(resumed_on, 15)).unwrap();
            let moved = clock.due(cn()).unwrap().unwrap();
            prop_assert_eq!(moved, cn().add(due, Period::working_days(k)).unwrap());
            prop_assert_eq!(cn().working_days_in(due, moved).unwrap(), k);
        }

        #[test]
        fn pausing_for_k_calendar_days_moves_the_nominal_end_by_k_days(
            start in any_day(), n in 1u32..60, offset in 0u32..60, k in 0u32..30,
        ) {
            let offset = offset % n;
            let mut clock = DeadlineClock::start(spec(Period::calendar_days(n)), at(start, 8));
            let paused_on = start + Days::new(u64::from(offset));
            clock.pause(at(paused_on, 9), "p").unwrap();
            clock.resume(at(paused_on + Days::new(u64::from(k)), 15)).unwrap();
            let moved = clock.due(cn()).unwrap().unwrap();
            prop_assert_eq!(moved, cn().add(start, Period::calendar_days(n + k)).unwrap());
        }

        #[test]
        fn pause_and_resume_in_any_order_never_panic(
            start in any_day(), n in 0u32..30, ops in proptest::collection::vec(any_op(), 0..12),
        ) {
            let mut clock = DeadlineClock::start(spec(Period::working_days(n)), at(start, 10));
            let mut now = clock.started;
            for op in ops {
                let (result, paused_after) = match op {
                    Op::Pause(delta) => {
                        now = now + Duration::milliseconds(delta);
                        (clock.pause(now, "p"), true)
                    }
                    Op::Resume(delta) => {
                        now = now + Duration::milliseconds(delta);
                        (clock.resume(now), false)
                    }
                };
                if result.is_ok() {
                    prop_assert_eq!(clock.is_paused(), paused_after);
                }
                // The ledger stays in time order whatever was refused.
                let events: Vec<Timestamp> =
                    clock.pauses.iter().flat_map(|p| [Some(p.from), p.to]).flatten().collect();
                prop_assert!(events.windows(2).all(|w| w[0] <= w[1]));
                prop_assert!(events.first().is_none_or(|first| *first >= clock.started));
                prop_assert!(clock.pauses.iter().rev().skip(1).all(|p| p.to.is_some()));
                let _ = clock.due(cn());
                let _ = clock.due_if_resumed_on(cn(), start);
                let _ = clock.ladder_instants(cn());
                if let Ok(Some(due)) = clock.due(cn()) {
                    prop_assert!(due >= start);
                }
            }
        }
    }
}
