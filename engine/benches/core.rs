//! Benchmarks of the pure core (`cargo bench -p docket-engine`):
//! - the shipped penalty flow driven to completion in memory, on one core: cases/s and
//!   node transitions/s (commands are built before the clock starts: building them is the
//!   caller's work, applying them is the core's);
//! - reading and validating a generated 200-node flow.
//!
//! After criterion's own report, a plain summary prints the figures the README quotes.

mod penalty;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use docket_engine::calendar::Calendar;
use docket_engine::core::*;
use docket_engine::time::Timestamp;
use docket_engine::validate;

fn definition() -> Definition {
    let parsed = docket_engine::dsl::parse(penalty::PENALTY);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    Definition::new(Arc::new(parsed.flow.expect("penalty flow"))).expect("runnable")
}

/// Drives one penalty case (major: with legal review) from start to archive and returns
/// the commands it took. Case-local ids are deterministic, so the same list replays on a
/// fresh case.
fn record_case(def: &Definition, env: &Env<'_>) -> Vec<Command> {
    let mut state = CaseState::new();
    let mut commands = Vec::new();
    let mut run = |state: &mut CaseState, cmd: Command| {
        commands.push(cmd.clone());
        apply(def, state, cmd, env).expect("accepted")
    };
    run(&mut state, Command::Start { variables: Default::default() });
    for (actor, done) in penalty::steps() {
        let task = state.tasks[0].key;
        run(&mut state, Command::Claim { task, actor: actor.clone() });
        run(&mut state, Command::Complete { task, actor, completion: done });
    }
    let publication = state
        .tokens
        .iter()
        .find_map(|t| match t.wait {
            Wait::Publication(p) => Some(p),
            _ => None,
        })
        .expect("waiting for publication");
    run(&mut state, Command::Published { publication });
    assert_eq!(state.status, CaseStatus::Completed);
    commands
}

/// Applies recorded commands to a fresh case; returns the node transitions taken.
fn replay(def: &Definition, env: &Env<'_>, commands: Vec<Command>) -> u64 {
    let mut state = CaseState::new();
    for cmd in commands {
        apply(def, &mut state, cmd, env).expect("accepted");
    }
    debug_assert_eq!(state.status, CaseStatus::Completed);
    state.steps
}

/// A flow of about 200 nodes: blocks of task -> exclusive -> (parallel split -> two tasks ->
/// join) | task, repeated.
fn generated_flow(blocks: usize) -> String {
    let mut nodes = vec!["  done: { type: end }".to_owned()];
    let mut next = "done".to_owned();
    for i in (0..blocks).rev() {
        nodes.push(format!("  j{i}: {{ type: parallel, next: {next} }}"));
        nodes.push(format!("  a{i}: {{ type: user_task, candidates: {{ groups: [handler] }}, next: j{i} }}"));
        nodes.push(format!("  b{i}: {{ type: user_task, candidates: {{ groups: [handler] }}, next: j{i} }}"));
        nodes.push(format!("  p{i}: {{ type: parallel, next: [a{i}, b{i}] }}"));
        nodes.push(format!("  q{i}: {{ type: user_task, deadline: {{ within: 5 working_days }}, next: {next} }}"));
        nodes.push(format!(
            "  x{i}: {{ type: exclusive, branches: [ {{ when: \"n > {i}\", next: p{i} }}, {{ otherwise: q{i} }} ] }}"
        ));
        nodes.push(format!("  t{i}: {{ type: user_task, form: [n], next: x{i} }}"));
        next = format!("t{i}");
    }
    format!(
        "id: generated\ncalendar: cn-mainland\nvariables:\n  n: {{ type: integer, default: 0 }}\nstart: {next}\nnodes:\n{}\n",
        nodes.join("\n")
    )
}

fn env(calendar: &'static Calendar) -> Env<'static> {
    Env {
        now: Timestamp::start_of_local_day(chrono::NaiveDate::from_ymd_opt(2024, 3, 4).expect("date")),
        calendar: Some(calendar),
    }
}

fn benches(c: &mut Criterion) {
    let def = definition();
    let calendar = Calendar::shipped("cn-mainland").expect("calendar");
    let env = env(calendar);
    let commands = record_case(&def, &env);
    let steps = replay(&def, &env, commands.clone());

    // Building the commands (the caller's work) is outside the measurement.
    let mut group = c.benchmark_group("penalty_case");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cases", |b| {
        b.iter_batched(|| commands.clone(), |cmds| black_box(replay(&def, &env, cmds)), BatchSize::SmallInput)
    });
    group.throughput(Throughput::Elements(steps));
    group.bench_function("node_transitions", |b| {
        b.iter_batched(|| commands.clone(), |cmds| black_box(replay(&def, &env, cmds)), BatchSize::SmallInput)
    });
    group.finish();

    let source = generated_flow(29);
    let calendars = vec!["cn-mainland".to_owned()];
    let venv = validate::Env { calendars: &calendars, flows: &[] };
    let checked = validate::check(&source, &venv);
    assert!(checked.is_valid(), "{:?}", checked.problems);
    c.bench_function(
        &format!("parse_validate_{}_nodes", checked.flow.as_ref().map(|f| f.nodes.len()).unwrap_or(0)),
        |b| b.iter(|| black_box(validate::check(black_box(&source), &venv))),
    );
}

/// A plain summary, measured on one thread for at least two seconds each.
fn summary() {
    let def = definition();
    let calendar = Calendar::shipped("cn-mainland").expect("calendar");
    let env = env(calendar);
    let commands = record_case(&def, &env);
    let (mut cases, mut steps, mut busy) = (0u64, 0u64, Duration::ZERO);
    while busy < Duration::from_secs(2) {
        let batch: Vec<Vec<Command>> = (0..1000).map(|_| commands.clone()).collect();
        let started = Instant::now();
        for cmds in batch {
            steps += replay(&def, &env, cmds);
            cases += 1;
        }
        busy += started.elapsed();
    }
    let secs = busy.as_secs_f64();
    println!("\nsummary (one core):");
    println!(
        "  penalty cases to completion: {:>12.0} cases/s ({} commands per case)",
        cases as f64 / secs,
        commands.len()
    );
    println!(
        "  node transitions:            {:>12.0} transitions/s ({} per case)",
        steps as f64 / secs,
        steps / cases.max(1)
    );

    let source = generated_flow(29);
    let calendars = vec!["cn-mainland".to_owned()];
    let venv = validate::Env { calendars: &calendars, flows: &[] };
    let nodes = validate::check(&source, &venv).flow.map(|f| f.nodes.len()).unwrap_or(0);
    let mut runs = 0u32;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        black_box(validate::check(&source, &venv));
        runs += 1;
    }
    println!(
        "  parse + validate {nodes}-node flow: {:>8.3} ms",
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
    );
}

criterion_group!(core_benches, benches);

fn main() {
    core_benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
