//! The validator on fixture flows.
//!
//! - `fixtures/valid/*.yaml` and the shipped `workflows/*.yaml` must have no problem.
//! - `fixtures/invalid/*.yaml` each start with `# expect: CODE LINE:COL` lines: `check`
//!   must report exactly those problems (code and location), no more, no fewer. Every
//!   problem code has at least one such file, named after it.
//! - `fixtures/regressions/*` are inputs that once broke the reader or validator; they
//!   must be checked without a panic and with every problem located.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use docket_engine::calendar::Calendars;
use docket_engine::problem::{Code, Problem};
use docket_engine::validate::{Env, check};

/// Every code the reader or validator can report.
const ALL_CODES: [Code; 19] = [
    Code::Syntax,
    Code::UnknownKey,
    Code::MissingKey,
    Code::BadValue,
    Code::DuplicateId,
    Code::UnknownTarget,
    Code::UnreachableNode,
    Code::DeadEnd,
    Code::NoDefaultBranch,
    Code::JoinDeadlock,
    Code::UnknownVariable,
    Code::RuleCycle,
    Code::BadExpression,
    Code::BadDuration,
    Code::BadDate,
    Code::BadCron,
    Code::UnknownCalendar,
    Code::UnknownFlow,
    Code::GuardBypassed,
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

fn valid_files() -> Vec<PathBuf> {
    let mut files = yaml_files(&root().join("tests/fixtures/valid"));
    files.extend(yaml_files(&root().join("../workflows")));
    files
}

/// Known calendars: the shipped ones. Known flows: every valid fixture and shipped flow.
struct Known {
    calendars: Vec<String>,
    flows: Vec<String>,
}

impl Known {
    fn load() -> Self {
        let calendars = Calendars::shipped().expect("shipped calendars").iter().map(|c| c.id().to_owned()).collect();
        let flows =
            valid_files().iter().filter_map(|f| docket_engine::dsl::parse(&read(f)).flow.map(|flow| flow.id)).collect();
        Known { calendars, flows }
    }

    fn env(&self) -> Env<'_> {
        Env { calendars: &self.calendars, flows: &self.flows }
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn show(file: &str, problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {}\n", p.display_in(file))).collect()
}

#[test]
fn valid_fixtures_and_shipped_flows_have_no_problems() {
    let known = Known::load();
    let files = valid_files();
    assert!(files.len() >= 3, "expected valid fixtures and shipped flows, found {files:?}");
    let mut failures = String::new();
    for file in &files {
        let checked = check(&read(file), &known.env());
        if checked.flow.is_none() || !checked.problems.is_empty() {
            failures += &format!("{}:\n{}", file.display(), show(&name(file), &checked.problems));
        }
    }
    assert!(failures.is_empty(), "valid flows with problems:\n{failures}");
}

/// The `# expect: CODE LINE:COL` lines of a fixture, sorted.
fn expectations(path: &Path, source: &str) -> Vec<(String, u32, u32)> {
    let mut expected: Vec<(String, u32, u32)> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# expect:"))
        .map(|rest| {
            let mut parts = rest.split_whitespace();
            let (Some(code), Some(at), None) = (parts.next(), parts.next(), parts.next()) else {
                panic!("{}: malformed `# expect: CODE LINE:COL` line: {rest}", path.display())
            };
            let (line, col) = at.split_once(':').unwrap_or_else(|| panic!("{}: bad location {at}", path.display()));
            let parse = |s: &str| s.parse::<u32>().unwrap_or_else(|_| panic!("{}: bad location {at}", path.display()));
            (code.to_owned(), parse(line), parse(col))
        })
        .collect();
    expected.sort();
    expected
}

#[test]
fn invalid_fixtures_report_exactly_the_expected_problems() {
    let known = Known::load();
    let files = yaml_files(&root().join("tests/fixtures/invalid"));
    let mut failures = String::new();
    for file in &files {
        let source = read(file);
        let expected = expectations(file, &source);
        assert!(!expected.is_empty(), "{}: no `# expect:` line", file.display());
        let checked = check(&source, &known.env());
        let mut found: Vec<(String, u32, u32)> =
            checked.problems.iter().map(|p| (p.code.as_str().to_owned(), p.loc.line, p.loc.col)).collect();
        found.sort();
        if found != expected {
            failures += &format!(
                "{}: expected {expected:?}\n  found:\n{}",
                file.display(),
                show(&name(file), &checked.problems)
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn every_code_has_an_invalid_fixture_named_after_it() {
    let dir = root().join("tests/fixtures/invalid");
    for code in ALL_CODES {
        let file = dir.join(format!("{code}.yaml"));
        assert!(file.exists(), "no fixture {} for code {code}", file.display());
        let expected = expectations(&file, &read(&file));
        assert!(expected.iter().any(|(c, _, _)| c == code.as_str()), "{} does not expect {code}", file.display());
    }
}

#[test]
fn problems_are_sorted_by_location_and_never_at_line_zero() {
    let known = Known::load();
    for file in yaml_files(&root().join("tests/fixtures/invalid")) {
        let problems = check(&read(&file), &known.env()).problems;
        assert!(problems.windows(2).all(|w| w[0] <= w[1]), "{}: unsorted", file.display());
        assert!(problems.iter().all(|p| p.loc.line >= 1 && p.loc.col >= 1), "{}: unlocated problem", file.display());
    }
}

#[test]
fn regressions_check_without_panicking() {
    let known = Known::load();
    let dir = root().join("tests/fixtures/regressions");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|d| d.map(|e| e.expect("directory entry").path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    for file in files {
        let bytes = fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let source = String::from_utf8_lossy(&bytes);
        let checked = check(&source, &known.env());
        if !source.trim().is_empty() {
            for p in &checked.problems {
                assert!(p.loc.line >= 1, "{}: problem without a line: {p:?}", file.display());
            }
        }
    }
}

/// A flow of `n` nodes in the shape of a real one: tasks with forms and deadlines,
/// exclusive gateways with loops back, parallel splits and joins, and a guard.
pub fn generated_flow(n: usize) -> String {
    let mut y = String::from(
        "id: generated\nname: generated\ncalendar: cn-mainland\nvariables:\n  amount: { type: number, default: 0 }\n  flag: { type: bool, default: false }\nrules:\n  big: \"amount > 1000.0 || flag\"\nstart: s\nnodes:\n  s: { type: start, next: n0 }\n",
    );
    let blocks = n.saturating_sub(4) / 7;
    for b in 0..blocks {
        let i = b * 7;
        let [t, x, split, job, wait, join, merge, next] = [0, 1, 2, 3, 4, 5, 6, 7].map(|k| format!("n{}", i + k));
        y += &format!(
            "  {t}:\n    type: user_task\n    candidates: {{ groups: [handler] }}\n    form: [amount]\n    outcomes: [ok, redo]\n    deadline: {{ within: 5 working_days, on_overdue: {{ escalate_to: chief }} }}\n    next: {x}\n"
        );
        y += &format!(
            "  {x}:\n    type: exclusive\n    branches:\n      - {{ when: \"{t}.outcome == 'redo'\", next: {t} }}\n      - {{ when: big, next: {split} }}\n      - {{ otherwise: {merge} }}\n"
        );
        y += &format!("  {split}: {{ type: parallel, next: [{job}, {wait}] }}\n");
        y += &format!("  {job}: {{ type: service_task, job: job{i}, retries: 2, next: {join} }}\n");
        y += &format!("  {wait}: {{ type: timer, timer: PT1H, next: {join} }}\n");
        y += &format!("  {join}: {{ type: parallel, next: {merge} }}\n");
        y += &format!("  {merge}:\n    type: exclusive\n    branches: [{{ otherwise: {next} }}]\n");
    }
    let last = blocks * 7;
    y += &format!(
        "  n{last}:\n    type: user_task\n    outcomes: [approved, rejected]\n    next: check\n  check:\n    type: exclusive\n    branches:\n      - {{ when: \"n{last}.outcome == 'approved'\", next: decide }}\n      - {{ otherwise: n0 }}\n  decide:\n    type: user_task\n    guard: {{ requires: n{last}.approved, when: big }}\n    next: done\n  done: {{ type: end }}\n"
    );
    y
}

#[test]
fn a_large_flow_validates_quickly() {
    let known = Known::load();
    let source = generated_flow(200);
    let checked = check(&source, &known.env());
    assert!(checked.is_valid(), "{}", show("generated", &checked.problems));
    let nodes = checked.flow.as_ref().map(|f| f.nodes.len()).unwrap_or_default();
    assert!(nodes >= 195, "only {nodes} nodes");
    let runs = 50;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let at = Instant::now();
            let checked = check(&source, &known.env());
            let took = at.elapsed();
            assert!(checked.problems.is_empty());
            took
        })
        .collect();
    times.sort();
    let median = times[runs / 2];
    eprintln!(
        "parse + validate of a {nodes}-node flow: median {median:?}, min {:?}, max {:?} ({} build)",
        times[0],
        times[runs - 1],
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    if !cfg!(debug_assertions) {
        // The budget is 5 ms; allow for a loaded machine.
        assert!(median < Duration::from_millis(25), "median {median:?}");
    }
}
