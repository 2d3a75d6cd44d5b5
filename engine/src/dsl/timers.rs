//! Reading timers, durations, dates and deadlines.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate};
use marked_yaml::Node;

use super::reader::{MapReader, Problems, loc_of, scalar};
use crate::calendar::{DeadlineSpec, LadderAction, LadderStep, LadderWhen, Period};
use crate::model::{Loc, Timer, TimerSpec};
use crate::problem::Code;
use crate::time::Timestamp;

const TIMER_KEYS: &[&str] = &["duration", "date", "cycle", "within"];

/// A timer: a scalar (`PT24H`, `5 working_days`, `2025-01-31`) or a mapping with one of
/// `duration`, `date`, `cycle` (cron) or `within` (legal period).
pub(crate) fn timer(node: &Node, what: &str, problems: &mut Problems) -> Option<Timer> {
    let loc = loc_of(node);
    if let Node::Scalar(_) = node {
        let (text, loc) = scalar(node, what, problems)?;
        return scalar_timer(text, loc, what, problems).map(|spec| Timer { spec, loc });
    }
    let mut map = MapReader::new(node, what.to_owned(), TIMER_KEYS, problems)?;
    let mut specs = Vec::new();
    if let Some((s, l)) = map.text("duration", problems) {
        specs.extend(duration(&s, l, problems));
    }
    if let Some((s, l)) = map.text("date", problems) {
        specs.extend(date(&s, l, problems).map(TimerSpec::Date));
    }
    if let Some((s, l)) = map.text("cycle", problems) {
        specs.extend(cycle(&s, l, problems));
    }
    if let Some((s, l)) = map.text("within", problems) {
        specs.extend(period(&s, l, problems).map(TimerSpec::Period));
    }
    let count = map_count(node);
    map.finish(problems);
    match (specs.len(), count) {
        (1, 1) => specs.pop().map(|spec| Timer { spec, loc }),
        (_, 0) | (_, 2..) => {
            problems.push(Code::BadValue, loc, format!("{what} needs exactly one of: {}", TIMER_KEYS.join(", ")));
            None
        }
        _ => None,
    }
}

fn map_count(node: &Node) -> usize {
    node.as_mapping().map(|m| m.len()).unwrap_or(0)
}

fn scalar_timer(text: &str, loc: Loc, what: &str, problems: &mut Problems) -> Option<TimerSpec> {
    let t = text.trim();
    if t.starts_with('P') {
        duration(t, loc, problems)
    } else if t.split_whitespace().count() == 2 {
        period(t, loc, problems).map(TimerSpec::Period)
    } else if t.chars().next().is_some_and(|c| c.is_ascii_digit()) && t.contains('-') {
        date(t, loc, problems).map(TimerSpec::Date)
    } else {
        problems.push(
            Code::BadDuration,
            loc,
            format!(
                "{what}: `{t}` is neither an ISO-8601 duration (PT24H), a legal period (5 working_days) nor a date (2025-01-31); write `{{ cycle: \"0 0 9 * * MON-FRI\" }}` for a cron cycle"
            ),
        );
        None
    }
}

/// An ISO-8601 duration in days, hours, minutes and seconds (`P3D`, `PT24H`, `P1W`).
pub(crate) fn duration(text: &str, loc: Loc, problems: &mut Problems) -> Option<TimerSpec> {
    match duration_millis(text) {
        Ok(millis) => Some(TimerSpec::Duration { source: text.to_owned(), millis }),
        Err(message) => {
            problems.push(Code::BadDuration, loc, message);
            None
        }
    }
}

/// The length of an ISO-8601 duration in milliseconds.
///
/// # Errors
/// A message when the text is not a duration, uses years or months (whose length depends
/// on the start date), or is zero.
pub fn duration_millis(text: &str) -> Result<i64, String> {
    let parsed = iso8601::duration(text)
        .ok()
        .filter(|_| full_iso_duration(text))
        .ok_or_else(|| format!("`{text}` is not an ISO-8601 duration such as PT24H or P3D"))?;
    let millis: i64 = match parsed {
        iso8601::Duration::Weeks(w) => i64::from(w) * 7 * 86_400_000,
        iso8601::Duration::YMDHMS { year, month, day, hour, minute, second, millisecond } => {
            if year != 0 || month != 0 {
                return Err(format!(
                    "`{text}` uses years or months, whose length depends on the start date; use days (P30D) or a legal period (30 calendar_days)"
                ));
            }
            i64::from(day) * 86_400_000
                + i64::from(hour) * 3_600_000
                + i64::from(minute) * 60_000
                + i64::from(second) * 1000
                + i64::from(millisecond)
        }
    };
    if millis == 0 {
        return Err(format!("`{text}` is a zero duration"));
    }
    Ok(millis)
}

/// The iso8601 parser accepts trailing garbage; require the whole text to be a duration.
fn full_iso_duration(text: &str) -> bool {
    text.len() > 1
        && text.starts_with('P')
        && text[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'Y' | 'M' | 'W' | 'D' | 'T' | 'H' | 'S' | '.' | ','))
        && !text.ends_with('T')
}

/// An absolute instant: RFC 3339 (`2025-01-31T09:00:00+08:00`) or a date (local midnight).
pub(crate) fn date(text: &str, loc: Loc, problems: &mut Problems) -> Option<Timestamp> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(Timestamp::from_datetime(&at));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Timestamp::start_of_local_day(day));
    }
    problems.push(
        Code::BadDate,
        loc,
        format!("`{text}` is not a date (2025-01-31) or an RFC 3339 date-time (2025-01-31T09:00:00+08:00)"),
    );
    None
}

/// A cron cycle; a classic five-field expression gets a leading `0` seconds field.
pub(crate) fn cycle(text: &str, loc: Loc, problems: &mut Problems) -> Option<TimerSpec> {
    match parse_cron(text) {
        // `0 0 9 31 2 *` parses but names no date (31 February): it would never fire.
        Ok(schedule) if schedule.after(&chrono::DateTime::UNIX_EPOCH).next().is_none() => {
            problems.push(Code::BadCron, loc, format!("`{text}` never fires: no date matches it"));
            None
        }
        Ok(schedule) => Some(TimerSpec::Cycle { source: text.to_owned(), schedule: Box::new(schedule) }),
        Err(message) => {
            problems.push(Code::BadCron, loc, message);
            None
        }
    }
}

/// Parses a cron expression (5, 6 or 7 fields).
///
/// # Errors
/// The cron parser's message, with the expression.
pub fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    let fields = text.split_whitespace().count();
    let full = if fields == 5 { format!("0 {text}") } else { text.to_owned() };
    cron::Schedule::from_str(&full).map_err(|e| {
        let reason = e.to_string();
        let reason = reason.lines().last().unwrap_or_default().trim().to_owned();
        format!("`{text}` is not a cron expression: {reason}")
    })
}

/// A legal period (`7 working_days`).
pub(crate) fn period(text: &str, loc: Loc, problems: &mut Problems) -> Option<Period> {
    match text.parse::<Period>() {
        Ok(p) => Some(p),
        Err(e) => {
            problems.push(Code::BadDuration, loc, e.0);
            None
        }
    }
}

const DEADLINE_KEYS: &[&str] = &["within", "basis", "ladder", "on_overdue"];
const LADDER_KEYS: &[&str] = &["when", "remind", "escalate_to", "notify"];
const OVERDUE_KEYS: &[&str] = &["escalate_to", "notify", "remind"];

/// A deadline mapping: `{ within, basis, ladder, on_overdue }`.
pub(crate) fn deadline(node: &Node, what: &str, problems: &mut Problems) -> Option<DeadlineSpec> {
    let mut map = MapReader::new(node, what.to_owned(), DEADLINE_KEYS, problems)?;
    let spec = deadline_fields(&mut map, problems);
    map.finish(problems);
    spec
}

/// Reads the deadline keys from a mapping that may hold other keys too (a publication node
/// writes `within` inline).
pub(crate) fn deadline_fields(map: &mut MapReader<'_>, problems: &mut Problems) -> Option<DeadlineSpec> {
    let within = map.required_text("within", problems);
    let basis = map.text("basis", problems).map(|(s, _)| s);
    let mut ladder = Vec::new();
    if let Some(node) = map.get("ladder") {
        match node {
            Node::Sequence(steps) => {
                for step in steps.iter() {
                    ladder.extend(ladder_step(step, problems));
                }
            }
            other => problems.push(Code::BadValue, loc_of(other), "`ladder` must be a list of steps"),
        }
    }
    if let Some(node) = map.get("on_overdue")
        && let Some(mut m) = MapReader::new(node, "`on_overdue`", OVERDUE_KEYS, problems)
    {
        if let Some((action, to)) = ladder_action(&mut m, problems) {
            ladder.push(LadderStep { when: LadderWhen::AtDue, action, to });
        }
        m.finish(problems);
    }
    let (text, loc) = within?;
    let within = period(&text, loc, problems)?;
    Some(DeadlineSpec { within, basis, ladder })
}

fn ladder_step(node: &Node, problems: &mut Problems) -> Option<LadderStep> {
    let mut map = MapReader::new(node, "a ladder step", LADDER_KEYS, problems)?;
    let when = map.required_text("when", problems);
    let action = ladder_action(&mut map, problems);
    map.finish(problems);
    let (when_text, when_loc) = when?;
    let when = ladder_when(&when_text, when_loc, problems)?;
    let (action, to) = action?;
    Some(LadderStep { when, action, to })
}

fn ladder_action(map: &mut MapReader<'_>, problems: &mut Problems) -> Option<(LadderAction, String)> {
    let mut found = Vec::new();
    for (key, action) in
        [("remind", LadderAction::Remind), ("escalate_to", LadderAction::EscalateTo), ("notify", LadderAction::Notify)]
    {
        if let Some((to, _)) = map.text(key, problems) {
            found.push((action, to));
        }
    }
    if found.len() != 1 {
        problems.push(
            Code::BadValue,
            map.loc,
            format!(
                "{} needs exactly one of `remind`, `escalate_to`, `notify` naming a role or `assignee`",
                map.what()
            ),
        );
        return None;
    }
    found.pop()
}

/// `due`, `2 working_days before`, `3 working_days after`.
fn ladder_when(text: &str, loc: Loc, problems: &mut Problems) -> Option<LadderWhen> {
    let t = text.trim();
    if t == "due" {
        return Some(LadderWhen::AtDue);
    }
    let (p, dir) = match t.rsplit_once(char::is_whitespace) {
        Some((p, "before")) => (p, LadderWhen::Before as fn(Period) -> LadderWhen),
        Some((p, "after")) => (p, LadderWhen::After as fn(Period) -> LadderWhen),
        _ => {
            problems.push(
                Code::BadDuration,
                loc,
                format!("`when: {t}` must be `due`, or a period and `before`/`after` (`2 working_days before`, `3 calendar_days after`)"),
            );
            return None;
        }
    };
    period(p.trim(), loc, problems).map(dir)
}
