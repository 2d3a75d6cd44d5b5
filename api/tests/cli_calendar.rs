//! `docket calendar` as a black box: the real binary, its stdout, stderr and exit code.

use std::path::PathBuf;
use std::process::{Command, Output};

fn docket(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docket"))
        .args(args)
        // Run somewhere unrelated: the shipped calendars must be inside the binary.
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the docket binary runs")
}

fn due(from: &str, add: &str, unit: &str) -> Output {
    docket(&["calendar", "due", "--calendar", "cn-mainland", "--from", from, "--add", add, "--unit", unit])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// Asserts a failure: exit status 2, nothing on stdout, one `error[CODE]:` line on stderr.
fn assert_fails(output: &Output, code: &str) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(text(&output.stdout), "");
    assert!(stderr.starts_with(&format!("error[{code}]: ")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn due_in_working_days_prints_only_the_date() {
    let output = due("2024-09-27", "5", "working_days");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), "2024-10-10\n");
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn due_in_calendar_days_moves_off_a_holiday() {
    let output = due("2024-09-21", "10", "calendar_days");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), "2024-10-08\n");
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn the_calendar_defaults_to_cn_mainland() {
    let output = docket(&["calendar", "due", "--from", "2024-09-27", "--add", "0", "--unit", "working_days"]);
    assert_eq!(text(&output.stdout), "2024-09-27\n");
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let stderr = assert_fails(&due("2024-13-01", "5", "working_days"), "bad-date");
    assert!(stderr.contains("`2024-13-01` is not a date"), "{stderr}");
    assert_fails(&due("27/09/2024", "5", "working_days"), "bad-date");
    assert_fails(&due("2024-09-27", "-1", "working_days"), "bad-amount");
    assert_fails(&due("2024-09-27", "five", "working_days"), "bad-amount");
    let stderr = assert_fails(&due("2024-09-27", "5", "fortnights"), "bad-unit");
    assert!(stderr.contains("`fortnights`"), "{stderr}");
}

#[test]
fn unknown_calendars_are_named() {
    let output = docket(&[
        "calendar",
        "due",
        "--calendar",
        "mars",
        "--from",
        "2024-09-27",
        "--add",
        "5",
        "--unit",
        "working_days",
    ]);
    let stderr = assert_fails(&output, "unknown-calendar");
    assert!(stderr.contains("`mars`") && stderr.contains("cn-mainland"), "{stderr}");
}

#[test]
fn dates_outside_the_calendar_are_refused() {
    let stderr = assert_fails(&due("2018-12-31", "5", "working_days"), "calendar-out-of-range");
    assert!(stderr.contains("2018-12-31") && stderr.contains("2019-2026"), "{stderr}");
    assert_fails(&due("2027-01-05", "1", "calendar_days"), "calendar-out-of-range");
    let stderr = assert_fails(&due("2026-12-28", "5", "working_days"), "calendar-out-of-range");
    assert!(stderr.contains("2027-01-01"), "{stderr}");
}

#[test]
fn list_shows_the_shipped_calendars() {
    let output = docket(&["calendar", "list"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), "cn-mainland\t2019-2026\t中国大陆法定节假日\n");
}

#[test]
fn check_accepts_the_shipped_calendar() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../workflows/calendars/cn-mainland.yaml");
    let output = docket(&["calendar", "check", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains(": ok: calendar `cn-mainland`"));
}

#[test]
fn check_reports_problems_with_locations() {
    let dir = std::env::temp_dir().join(format!("docket-cli-calendar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "id: bad\nname: Bad\nyears: { from: 2024, to: 2024 }\n\
         holidays:\n  - { date: 2024-10-01, name: 国庆节 }\n\
         workdays:\n  - { date: 2024-10-01, name: clash }\n  - { date: 2024-10-09, name: a Wednesday }\n",
    )
    .unwrap();
    let shown = file.to_str().unwrap();
    let output = docket(&["calendar", "check", shown]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with(&format!("{shown}:7:13: error[calendar-invalid]: 2024-10-01")), "{stdout}");
    assert!(lines[1].starts_with(&format!("{shown}:8:13: error[calendar-invalid]: 2024-10-09")), "{stdout}");

    let missing = dir.join("missing.yaml");
    assert_fails(&docket(&["calendar", "check", missing.to_str().unwrap()]), "file-unreadable");
    let _ = std::fs::remove_dir_all(&dir);
}
