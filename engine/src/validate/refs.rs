//! References outside the flow: its calendar (`unknown-calendar`, or `missing-key` when a
//! legal period needs one) and the flows its call activities start (`unknown-flow`).

use super::Env;
use crate::model::{BoundaryTrigger, Flow, Loc, NodeKind, StartTrigger, Timer, TimerSpec};
use crate::problem::{Code, Problem};

pub(crate) fn check(flow: &Flow, env: &Env, problems: &mut Vec<Problem>) {
    calendar(flow, env, problems);
    for node in &flow.nodes {
        if let NodeKind::Call(call) = &node.kind {
            let key = call.flow.name.as_str();
            if key != flow.id && !env.flows.iter().any(|f| f == key) {
                let hint = match super::text::suggest(key, env.flows.iter().map(String::as_str)) {
                    Some(s) => format!("; did you mean `{s}`?"),
                    None => String::new(),
                };
                problems.push(Problem::new(
                    Code::UnknownFlow,
                    call.flow.loc,
                    format!("call `{}` starts flow `{key}`, which is not deployed{hint}", node.id),
                ));
            }
        }
    }
}

fn calendar(flow: &Flow, env: &Env, problems: &mut Vec<Problem>) {
    match &flow.calendar {
        Some(id) => {
            if !env.calendars.iter().any(|c| c == id) {
                let known = if env.calendars.is_empty() {
                    "no calendar is known".to_owned()
                } else {
                    format!("known calendars: {}", env.calendars.join(", "))
                };
                problems.push(Problem::new(
                    Code::UnknownCalendar,
                    flow.calendar_loc,
                    format!("calendar `{id}` does not exist; {known}"),
                ));
            }
        }
        None => {
            // The engine counts legal periods and deadlines on the flow's calendar; without
            // one, the first case to reach them would fail with an incident.
            if let Some((loc, what)) = first_calendar_use(flow) {
                problems.push(Problem::new(
                    Code::MissingKey,
                    loc,
                    format!("{what} is counted on the flow's working-day calendar, but the flow has no `calendar:`; add one, e.g. `calendar: cn-mainland`"),
                ));
            }
        }
    }
}

/// The first place, in file order, that needs the flow's calendar.
fn first_calendar_use(flow: &Flow) -> Option<(Loc, String)> {
    let period = |t: &Timer, what: &str| match &t.spec {
        TimerSpec::Period(p) => Some((t.loc, format!("`{p}` ({what})"))),
        _ => None,
    };
    let mut uses: Vec<(Loc, String)> = Vec::new();
    for node in &flow.nodes {
        let id = &node.id;
        match &node.kind {
            NodeKind::Start(StartTrigger::Timer(t)) | NodeKind::TimerCatch(t) => {
                uses.extend(period(t, &format!("the timer of node `{id}`")));
            }
            NodeKind::UserTask(task) if task.deadline.is_some() => {
                uses.push((
                    node.loc,
                    format!(
                        "the deadline of node `{id}` ({})",
                        task.deadline.as_ref().map(|d| d.within.to_string()).unwrap_or_default()
                    ),
                ));
            }
            NodeKind::Publication(p) => {
                uses.push((node.loc, format!("the publication period of node `{id}` ({})", p.deadline.within)));
            }
            _ => {}
        }
        for b in &node.boundary {
            if let BoundaryTrigger::Timer(t) = &b.trigger {
                uses.extend(period(t, &format!("boundary timer `{}`", b.id)));
            }
        }
    }
    uses.into_iter().min_by_key(|(loc, _)| *loc)
}
