//! Deadline clocks on tasks: due dates on the calendar, ladders, pauses.

use chrono::NaiveDate;
use serde_json::json;

use super::fixtures::*;
use crate::calendar::LadderAction;
use crate::core::*;
use crate::time::Timestamp;

fn end_of(y: i32, m: u32, d: u32) -> Timestamp {
    Timestamp::end_of_local_day(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

#[test]
fn filing_is_due_in_seven_working_days_across_the_national_day() {
    let mut c = Case::new(penalty());
    c.now = at(2024, 9, 27);
    let effects = c.start(json!({}));
    let due = effects.iter().find_map(|e| match e {
        Effect::CreateTask { due, .. } => *due,
        _ => None,
    });
    // 9-29 (adjusted Sunday) and 9-30 count, 10-1..10-7 do not, then 10-8..10-12 (10-12 is an
    // adjusted Saturday): the seventh working day is 2024-10-12.
    assert_eq!(due, Some(end_of(2024, 10, 12)));
}

#[test]
fn ladder_reminds_escalates_and_notifies() {
    let mut c = Case::new(penalty());
    c.start(json!({}));
    let mut ladder = c.timers(|p| matches!(p, TimerPurpose::Ladder { .. }));
    ladder.sort_by_key(|(_, due)| *due);
    assert_eq!(ladder.len(), 3, "remind before, escalate at due, notify after");
    let task = c.task_at("filing");
    let mut actions = Vec::new();
    for (timer, _) in ladder {
        for e in c.fire(timer) {
            if let Effect::Ladder { action, to, task: t, .. } = e {
                assert_eq!(t, Some(task));
                actions.push((action, to));
            }
        }
    }
    assert_eq!(
        actions,
        [
            (LadderAction::Remind, "assignee".to_owned()),
            (LadderAction::EscalateTo, "section_chief".to_owned()),
            (LadderAction::Notify, "leader".to_owned()),
        ]
    );
    // Escalation makes the section chief a candidate of the overdue task.
    c.claim(task, &Actor::new("chief", &["section_chief"])).unwrap();
}

#[test]
fn pausing_moves_the_due_date_by_the_paused_working_days() {
    let mut c = Case::new(penalty());
    c.now = at(2024, 3, 4); // Monday
    c.start(json!({}));
    let task = c.task_at("filing");
    c.now = at(2024, 3, 5);
    let effects = c.apply(Command::PauseDeadline { task, reason: "expert review".into() }).unwrap();
    assert!(effects.contains(&Effect::SetTaskDue { task, due: None }));
    assert!(c.timers(|p| matches!(p, TimerPurpose::Ladder { .. })).is_empty());
    assert_eq!(c.apply(Command::PauseDeadline { task, reason: "again".into() }).unwrap_err().code(), "DEADLINE");
    c.now = at(2024, 3, 8); // Friday: paused for 3 working days
    let effects = c.apply(Command::ResumeDeadline { task }).unwrap();
    let due = effects.iter().find_map(|e| match e {
        Effect::SetTaskDue { due, .. } => *due,
        _ => None,
    });
    // Unpaused due: 2024-03-13; three paused working days later: 2024-03-18 (Monday).
    assert_eq!(due, Some(end_of(2024, 3, 18)));
}

#[test]
fn a_deadline_beyond_the_calendar_is_an_incident_not_a_guess() {
    let mut c = Case::new(penalty());
    c.now = at(2026, 12, 28);
    let effects = c.start(json!({}));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::RaiseIncident { code, .. } if code == "calendar")),
        "{effects:?}"
    );
}
