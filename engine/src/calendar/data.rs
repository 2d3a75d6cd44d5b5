//! Calendars as data: the YAML format admins edit, its checks, and the calendars shipped
//! inside the binary.
//!
//! ```yaml
//! id: cn-mainland
//! name: 中国大陆法定节假日
//! years: { from: 2019, to: 2026 }
//! holidays:                 # days off, whatever the weekday
//!   - { from: 2024-10-01, to: 2024-10-07, name: 国庆节 }
//!   - { date: 2024-06-10, name: 端午节 }
//! workdays:                 # weekend days worked instead (调休上班)
//!   - { date: 2024-09-29, name: 国庆节调休 }
//! ```
//!
//! Parsing is serde_yaml (its errors carry line and column). The checks that need the
//! whole file (a day listed twice, a day both off and worked) are located afterwards with
//! `marked_yaml`, so every problem an admin sees points at a line.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::working::{Calendar, CalendarError, CalendarProblem, YearRange};

/// The calendars in `workflows/calendars/`, embedded so the binary works from any directory.
/// A test checks that every YAML file in that folder is listed here.
pub(crate) const SHIPPED: &[(&str, &str)] =
    &[("cn-mainland.yaml", include_str!("../../../workflows/calendars/cn-mainland.yaml"))];

/// The earliest and latest years a calendar may cover, and its longest span: bounds that
/// keep the per-day tables small and every date representable.
const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 9999;
const MAX_SPAN_YEARS: i32 = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    id: String,
    name: String,
    years: YearRange,
    #[serde(default)]
    holidays: Vec<HolidayEntry>,
    #[serde(default)]
    workdays: Vec<WorkdayEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    date: Option<YamlDate>,
    from: Option<YamlDate>,
    to: Option<YamlDate>,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkdayEntry {
    date: YamlDate,
    name: String,
}

/// A `YYYY-MM-DD` date with an error message an admin can act on.
#[derive(Clone, Copy)]
struct YamlDate(NaiveDate);

impl<'de> Deserialize<'de> for YamlDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map(YamlDate)
            .map_err(|_| D::Error::custom(format!("`{text}` is not a date, expected YYYY-MM-DD")))
    }
}

/// Where in the file a problem is, resolved to a line and column at the end.
#[derive(Clone, Copy)]
enum Place {
    /// A top-level key.
    Key(&'static str),
    /// A field of the `index`-th entry of `holidays` or `workdays` (the entry itself if the
    /// field is absent).
    Entry { section: &'static str, index: usize, field: &'static str },
}

/// Parses and checks a calendar file; see [`Calendar::from_yaml`].
pub(super) fn parse(source: &str) -> Result<Calendar, CalendarError> {
    let file: CalendarFile =
        serde_yaml::from_str(source).map_err(|e| CalendarError::Invalid { problems: vec![syntax_problem(&e)] })?;
    let mut problems: Vec<(Place, String)> = Vec::new();
    check_id(&file, &mut problems);
    let years_ok = check_years(file.years, &mut problems);

    let mut holidays: BTreeMap<NaiveDate, String> = BTreeMap::new();
    let mut workdays: BTreeMap<NaiveDate, String> = BTreeMap::new();
    let in_years = |date: NaiveDate| years_ok && file.years.contains_year(date.year());

    for (index, entry) in file.holidays.iter().enumerate() {
        let at = |field| Place::Entry { section: "holidays", index, field };
        if entry.name.trim().is_empty() {
            problems.push((at("name"), "a holiday needs a `name`".into()));
        }
        let (from, to, from_field, to_field) = match (entry.date, entry.from, entry.to) {
            (Some(date), None, None) => (date.0, date.0, "date", "date"),
            (None, Some(from), Some(to)) => (from.0, to.0, "from", "to"),
            (Some(_), _, _) => {
                problems.push((at("date"), "give either `date` or `from` and `to`, not both".into()));
                continue;
            }
            (None, Some(_), None) => {
                problems.push((at("from"), "a range with `from` needs `to` as well".into()));
                continue;
            }
            (None, None, Some(_)) => {
                problems.push((at("to"), "a range with `to` needs `from` as well".into()));
                continue;
            }
            (None, None, None) => {
                problems.push((at("name"), "a holiday needs `date`, or `from` and `to`".into()));
                continue;
            }
        };
        if from > to {
            problems.push((at(to_field), format!("the range ends ({to}) before it starts ({from})")));
            continue;
        }
        if !years_ok {
            continue;
        }
        let outside = [(from, from_field), (to, to_field)].into_iter().find(|(day, _)| !in_years(*day));
        if let Some((day, field)) = outside {
            problems.push((at(field), format!("{day} is outside the calendar's years {}", file.years)));
            continue;
        }
        let mut repeated = None;
        for day in from.iter_days().take_while(|day| *day <= to) {
            if let Some(previous) = holidays.get(&day) {
                repeated.get_or_insert((day, previous.clone()));
            } else {
                holidays.insert(day, entry.name.trim().to_owned());
            }
        }
        if let Some((day, previous)) = repeated {
            let message = format!("{day} is already listed as a holiday ({previous})");
            problems.push((at(from_field), message));
        }
    }

    for (index, entry) in file.workdays.iter().enumerate() {
        let at = |field| Place::Entry { section: "workdays", index, field };
        let day = entry.date.0;
        if entry.name.trim().is_empty() {
            problems.push((at("name"), "an adjusted workday needs a `name`".into()));
        }
        if !years_ok {
            continue;
        }
        if !in_years(day) {
            problems.push((at("date"), format!("{day} is outside the calendar's years {}", file.years)));
        } else if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            let message = format!(
                "{day} is a {}; an adjusted workday (调休) must be a Saturday or Sunday, \
                 Monday to Friday are working days already",
                weekday_name(day.weekday())
            );
            problems.push((at("date"), message));
        } else if let Some(holiday) = holidays.get(&day) {
            let message = format!("{day} is listed both as a holiday ({holiday}) and as an adjusted workday");
            problems.push((at("date"), message));
        } else if let Some(previous) = workdays.get(&day) {
            let message = format!("{day} is already listed as an adjusted workday ({previous})");
            problems.push((at("date"), message));
        } else {
            workdays.insert(day, entry.name.trim().to_owned());
        }
    }

    if !problems.is_empty() {
        return Err(CalendarError::Invalid { problems: locate(source, problems) });
    }
    Calendar::from_days(file.id.trim().to_owned(), file.name.trim().to_owned(), file.years, holidays, workdays)
}

fn check_id(file: &CalendarFile, problems: &mut Vec<(Place, String)>) {
    let id = file.id.trim();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        let message = format!("`{id}` is not a calendar id: use letters, digits, `-` and `_`, e.g. `cn-mainland`");
        problems.push((Place::Key("id"), message));
    }
    if file.name.trim().is_empty() {
        problems.push((Place::Key("name"), "the calendar needs a `name`".into()));
    }
}

/// Checks `years`; the per-date checks are skipped when it is unusable.
fn check_years(years: YearRange, problems: &mut Vec<(Place, String)>) -> bool {
    let message = if years.from > years.to {
        format!("`years` starts ({}) after it ends ({})", years.from, years.to)
    } else if years.from < MIN_YEAR || years.to > MAX_YEAR {
        format!("`years` must lie within {MIN_YEAR}-{MAX_YEAR}")
    } else if years.to - years.from >= MAX_SPAN_YEARS {
        format!("`years` spans more than {MAX_SPAN_YEARS} years")
    } else {
        return true;
    };
    problems.push((Place::Key("years"), message));
    false
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// A serde_yaml error as a problem, its location moved out of the message into fields.
fn syntax_problem(error: &serde_yaml::Error) -> CalendarProblem {
    let text = error.to_string();
    match error.location() {
        Some(at) => {
            let suffix = format!(" at line {} column {}", at.line(), at.column());
            let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
            CalendarProblem { line: Some(at.line()), column: Some(at.column()), message }
        }
        None => CalendarProblem { line: None, column: None, message: text },
    }
}

/// Resolves each problem's place to a line and column, in source order.
fn locate(source: &str, problems: Vec<(Place, String)>) -> Vec<CalendarProblem> {
    let root = marked_yaml::parse_yaml(0, source).ok();
    let mut located: Vec<CalendarProblem> = problems
        .into_iter()
        .map(|(place, message)| {
            let marker = root.as_ref().and_then(|root| {
                let map = root.as_mapping()?;
                let node = match place {
                    Place::Key(key) => map.get_node(key)?,
                    Place::Entry { section, index, field } => {
                        let entry = map.get_node(section)?.as_sequence()?.get_node(index)?;
                        entry.as_mapping().and_then(|m| m.get_node(field)).unwrap_or(entry)
                    }
                };
                node.span().start().copied()
            });
            CalendarProblem { line: marker.map(|m| m.line()), column: marker.map(|m| m.column()), message }
        })
        .collect();
    located.sort_by_key(|p| (p.line.unwrap_or(usize::MAX), p.column.unwrap_or(usize::MAX)));
    located
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::DayKind;

    const HEAD: &str = "id: t\nname: T\nyears: { from: 2024, to: 2024 }\n";

    fn messages(source: &str) -> Vec<String> {
        match Calendar::from_yaml(source) {
            Err(CalendarError::Invalid { problems }) => problems.iter().map(ToString::to_string).collect(),
            other => panic!("expected invalid data, got {other:?}"),
        }
    }

    #[test]
    fn every_calendar_file_in_the_repository_is_shipped() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/calendars");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
            .collect();
        on_disk.sort();
        let mut shipped: Vec<String> = SHIPPED.iter().map(|(name, _)| (*name).to_owned()).collect();
        shipped.sort();
        assert_eq!(on_disk, shipped, "list every file of workflows/calendars in data::SHIPPED");
        for (name, source) in SHIPPED {
            assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), *source);
            Calendar::from_yaml(source).unwrap();
        }
    }

    #[test]
    fn loads_single_days_and_ranges() {
        let c = Calendar::from_yaml(&format!(
            "{HEAD}holidays:\n  - {{ date: 2024-01-01, name: 元旦 }}\n  - {{ from: 2024-10-01, to: 2024-10-07, name: 国庆节 }}\n\
             workdays:\n  - {{ date: 2024-09-29, name: 国庆节调休 }}\n"
        ))
        .unwrap();
        assert_eq!(c.id(), "t");
        assert_eq!(c.holidays().count(), 8);
        assert_eq!(c.day_kind(NaiveDate::from_ymd_opt(2024, 9, 29).unwrap()).unwrap(), DayKind::AdjustedWorkday);
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = Calendar::from_yaml(&format!("{HEAD}holidays:\n  - {{ date: 2024-02-30, name: X }}\n")).unwrap_err();
        assert_eq!(err.code(), "calendar-invalid");
        let CalendarError::Invalid { problems } = err else { panic!("{err:?}") };
        assert_eq!(problems[0].line, Some(5));
        assert!(problems[0].message.contains("`2024-02-30` is not a date"), "{}", problems[0].message);

        let unknown = messages(&format!("{HEAD}holidayz: []\n"));
        assert!(unknown[0].starts_with("line 4, column 1: unknown field `holidayz`"), "{unknown:?}");
        assert!(messages("id: [\n")[0].starts_with("line "));
    }

    #[test]
    fn rejects_inconsistent_data_with_locations() {
        let source = format!(
            "{HEAD}holidays:\n\
             \x20 - {{ from: 2024-10-07, to: 2024-10-01, name: backwards }}\n\
             \x20 - {{ date: 2023-12-31, name: outside }}\n\
             \x20 - {{ from: 2024-05-01, to: 2024-05-05, name: 劳动节 }}\n\
             \x20 - {{ date: 2024-05-03, name: twice }}\n\
             \x20 - {{ date: 2024-06-10, from: 2024-06-10, to: 2024-06-10, name: both }}\n\
             workdays:\n\
             \x20 - {{ date: 2024-04-29, name: a Monday }}\n\
             \x20 - {{ date: 2024-05-04, name: off and on }}\n\
             \x20 - {{ date: 2024-04-28, name: ok }}\n\
             \x20 - {{ date: 2024-04-28, name: again }}\n\
             \x20 - {{ date: 2025-01-04, name: next year }}\n"
        );
        let found = messages(&source);
        let expected = [
            "line 5, column 29: the range ends (2024-10-01) before it starts (2024-10-07)",
            "line 6, column 13: 2023-12-31 is outside the calendar's years 2024",
            "line 8, column 13: 2024-05-03 is already listed as a holiday (劳动节)",
            "line 9, column 13: give either `date` or `from` and `to`, not both",
            "line 11, column 13: 2024-04-29 is a Monday; an adjusted workday (调休) must be a Saturday or Sunday, \
             Monday to Friday are working days already",
            "line 12, column 13: 2024-05-04 is listed both as a holiday (劳动节) and as an adjusted workday",
            "line 14, column 13: 2024-04-28 is already listed as an adjusted workday (ok)",
            "line 15, column 13: 2025-01-04 is outside the calendar's years 2024",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn rejects_bad_headers() {
        let found = messages("id: 'has space'\nname: ''\nyears: { from: 2026, to: 2019 }\n");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[2].contains("`years` starts (2026) after it ends (2019)"));
        assert!(messages("id: x\nname: X\nyears: { from: 1, to: 2 }\n")[0].contains("must lie within"));
    }
}
