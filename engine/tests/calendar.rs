//! The shipped mainland calendar against its own data file and against known answers.
//!
//! The YAML is read here with plain `serde_yaml::Value`, independently of the loader, so a
//! loader bug cannot hide a data bug (or the other way round).

use chrono::{Datelike, Days, NaiveDate, Weekday};
use docket_engine::calendar::{Calendar, CalendarError, DayKind, Period};

const SOURCE: &str = include_str!("../../workflows/calendars/cn-mainland.yaml");

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn date(value: &serde_yaml::Value) -> NaiveDate {
    NaiveDate::parse_from_str(value.as_str().expect("a date string"), "%Y-%m-%d").unwrap()
}

fn cn() -> &'static Calendar {
    Calendar::shipped("cn-mainland").unwrap()
}

/// Every holiday day listed in the file, ranges expanded.
fn holidays_in_file() -> Vec<NaiveDate> {
    let doc: serde_yaml::Value = serde_yaml::from_str(SOURCE).unwrap();
    let mut days = Vec::new();
    for entry in doc["holidays"].as_sequence().unwrap() {
        let (from, to) = match entry.get("date") {
            Some(day) => (date(day), date(day)),
            None => (date(&entry["from"]), date(&entry["to"])),
        };
        days.extend(from.iter_days().take_while(|day| *day <= to));
    }
    days
}

/// Every adjusted weekend working day listed in the file.
fn workdays_in_file() -> Vec<NaiveDate> {
    let doc: serde_yaml::Value = serde_yaml::from_str(SOURCE).unwrap();
    doc["workdays"].as_sequence().unwrap().iter().map(|entry| date(&entry["date"])).collect()
}

#[test]
fn the_embedded_calendar_is_the_file() {
    assert_eq!(Calendar::from_yaml(SOURCE).unwrap(), *cn());
    assert_eq!(cn().years().to_string(), "2019-2026");
}

#[test]
fn every_adjusted_workday_is_a_working_day_and_is_counted() {
    let workdays = workdays_in_file();
    assert!(workdays.len() >= 50, "only {} adjusted workdays", workdays.len());
    for &day in &workdays {
        assert!(matches!(day.weekday(), Weekday::Sat | Weekday::Sun), "{day} is not a weekend day");
        assert_eq!(cn().day_kind(day).unwrap(), DayKind::AdjustedWorkday, "{day}");
        assert!(cn().is_working_day(day).unwrap(), "{day}");
        assert!(cn().day_name(day).is_some_and(|name| name.ends_with("调休")), "{day}");

        // From the day before, one working day lands on it.
        let day_before = day.pred_opt().unwrap();
        assert_eq!(cn().add(day_before, Period::working_days(1)).unwrap(), day, "from {day_before}");

        // From the Friday before, one working day lands on the first working day after that
        // Friday: the Saturday when both weekend days are worked, else this day.
        let friday = day - Days::new(u64::from(day.weekday().days_since(Weekday::Fri)));
        let saturday = friday.succ_opt().unwrap();
        let expected = if workdays.contains(&saturday) { saturday } else { day };
        assert_eq!(cn().add(friday, Period::working_days(1)).unwrap(), expected, "from {friday}");

        // And counting back one working day from the day after lands on it.
        let day_after = day.succ_opt().unwrap();
        assert_eq!(cn().sub(day_after, Period::working_days(1)).unwrap(), day, "back from {day_after}");
    }
    assert_eq!(cn().adjusted_workdays().map(|(day, _)| day).collect::<Vec<_>>(), sorted(workdays));
}

#[test]
fn every_holiday_is_not_a_working_day() {
    let holidays = holidays_in_file();
    for &day in &holidays {
        assert_eq!(cn().day_kind(day).unwrap(), DayKind::Holiday, "{day}");
        assert!(!cn().is_working_day(day).unwrap(), "{day}");
        // A period in working days never ends on a holiday (1 Jan 2019 has no eve in range).
        let eve = day.pred_opt().unwrap();
        if cn().covers(eve) {
            let due = cn().add(eve, Period::working_days(1)).unwrap();
            assert!(due > day, "one working day after the eve of {day} is {due}");
        }
    }
    assert_eq!(cn().holidays().map(|(day, _)| day).collect::<Vec<_>>(), sorted(holidays));
}

#[test]
fn notable_days() {
    // The 2020 Spring Festival extension: 31 Jan to 2 Feb off, 1 Feb no longer worked,
    // back to work on Monday 3 Feb.
    for day in [d(2020, 1, 31), d(2020, 2, 1), d(2020, 2, 2)] {
        assert_eq!(cn().day_kind(day).unwrap(), DayKind::Holiday, "{day}");
    }
    assert_eq!(cn().add(d(2020, 1, 23), Period::working_days(1)).unwrap(), d(2020, 2, 3));
    // 2023 New Year began on Saturday 31 Dec 2022.
    assert_eq!(cn().day_name(d(2022, 12, 31)), Some("元旦"));
    // 2025: 除夕 became a statutory holiday.
    assert_eq!(cn().day_kind(d(2025, 1, 28)).unwrap(), DayKind::Holiday);
    // An ordinary weekend and an ordinary weekday.
    assert_eq!(cn().day_kind(d(2024, 11, 9)).unwrap(), DayKind::Weekend);
    assert_eq!(cn().day_kind(d(2024, 11, 11)).unwrap(), DayKind::Working);
}

#[test]
fn working_days_per_year_match_a_hand_count() {
    // 2024: 262 weekdays, 19 of them holidays, 8 adjusted weekend days worked.
    assert_eq!(cn().working_days_in(d(2023, 12, 31), d(2024, 12, 31)).unwrap(), 251);
    // 2025: 261 weekdays, 18 of them holidays, 5 adjusted weekend days worked.
    assert_eq!(cn().working_days_in(d(2024, 12, 31), d(2025, 12, 31)).unwrap(), 248);
}

#[test]
fn known_working_day_periods() {
    // Fri 27 Sep 2024: Sun 29 Sep (adjusted) 1, Mon 30 Sep 2, then 8, 9, 10 Oct.
    assert_eq!(cn().add(d(2024, 9, 27), Period::working_days(5)).unwrap(), d(2024, 10, 10));
    // 20 working days to decide a licence (行政许可法 art. 42) from 20 Jan 2025, across the
    // Spring Festival (28 Jan - 4 Feb off, 26 Jan and 8 Feb worked).
    assert_eq!(cn().add(d(2025, 1, 20), Period::working_days(20)).unwrap(), d(2025, 2, 21));
    assert_eq!(cn().working_days_in(d(2025, 1, 20), d(2025, 2, 21)).unwrap(), 20);
    // Zero days is the start day itself.
    assert_eq!(cn().add(d(2024, 10, 1), Period::working_days(0)).unwrap(), d(2024, 10, 1));
}

#[test]
fn calendar_day_periods_ending_on_a_day_off_move_to_the_next_working_day() {
    // 21 Sep + 10 = 1 Oct 2024, National Day: the period ends on Tue 8 Oct.
    assert_eq!(cn().add(d(2024, 9, 21), Period::calendar_days(10)).unwrap(), d(2024, 10, 8));
    // 15 days to pay a fine (行政处罚法 art. 67) from 16 Jan 2025 end on 31 Jan, in the
    // Spring Festival: so on 5 Feb.
    assert_eq!(cn().add(d(2025, 1, 16), Period::calendar_days(15)).unwrap(), d(2025, 2, 5));
    // Ending on Sunday 29 Sep 2024, an adjusted working day: it stays there.
    assert_eq!(cn().add(d(2024, 9, 19), Period::calendar_days(10)).unwrap(), d(2024, 9, 29));
    // Ending on an ordinary Saturday: the Monday.
    assert_eq!(cn().add(d(2024, 11, 2), Period::calendar_days(7)).unwrap(), d(2024, 11, 11));
    // 0 days is the start day, even a holiday.
    assert_eq!(cn().add(d(2024, 10, 1), Period::calendar_days(0)).unwrap(), d(2024, 10, 1));
}

#[test]
fn dates_outside_the_known_years_are_errors() {
    let out_of_range = |result: Result<_, CalendarError>, expected: NaiveDate| match result {
        Err(CalendarError::OutOfRange { calendar, date, years }) => {
            assert_eq!(calendar, "cn-mainland");
            assert_eq!(date, expected);
            assert_eq!(years.to_string(), "2019-2026");
        }
        other => panic!("expected OutOfRange for {expected}, got {other:?}"),
    };
    out_of_range(cn().is_working_day(d(2018, 12, 31)).map(|_| ()), d(2018, 12, 31));
    out_of_range(cn().is_working_day(d(2027, 1, 5)).map(|_| ()), d(2027, 1, 5));
    out_of_range(cn().add(d(2027, 1, 5), Period::working_days(1)).map(|_| ()), d(2027, 1, 5));
    out_of_range(cn().add(d(2018, 12, 31), Period::calendar_days(3)).map(|_| ()), d(2018, 12, 31));
    // Running into 2027: 29, 30, 31 Dec are three working days, the fourth is unknown.
    assert_eq!(cn().add(d(2026, 12, 28), Period::working_days(3)).unwrap(), d(2026, 12, 31));
    out_of_range(cn().add(d(2026, 12, 28), Period::working_days(5)).map(|_| ()), d(2027, 1, 1));
    out_of_range(cn().add(d(2026, 12, 28), Period::calendar_days(10)).map(|_| ()), d(2027, 1, 7));
    out_of_range(cn().sub(d(2019, 1, 3), Period::working_days(5)).map(|_| ()), d(2018, 12, 31));
    let err = cn().add(d(2026, 12, 28), Period::working_days(5)).unwrap_err();
    assert_eq!(err.code(), "calendar-out-of-range");
    assert_eq!(
        err.to_string(),
        "2027-01-01 is outside calendar `cn-mainland`, which only knows the years 2019-2026; \
         add that year's holiday notice to the calendar"
    );
}

fn sorted(mut days: Vec<NaiveDate>) -> Vec<NaiveDate> {
    days.sort();
    days
}
