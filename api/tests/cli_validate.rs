//! `docket validate` as users run it: the shipped flows pass, a broken flow fails with a
//! located problem.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root; paths passed to the binary are relative to it, so that the output
/// names files as a user in the repository would see them.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

fn docket(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docket")).args(args).current_dir(workspace()).output().expect("run docket")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn shipped_flows() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(workspace().join("workflows"))
        .expect("workflows/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| format!("workflows/{}", p.file_name().expect("name").to_string_lossy()))
        .collect();
    files.sort();
    files
}

#[test]
fn shipped_flows_are_valid() {
    let files = shipped_flows();
    assert!(!files.is_empty());
    let args: Vec<&str> = std::iter::once("validate").chain(files.iter().map(String::as_str)).collect();
    let out = docket(&args);
    assert_eq!(stdout(&out), "", "stderr: {}", stderr(&out));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("valid"), "{}", stderr(&out));
}

#[test]
fn a_broken_flow_fails_with_a_located_problem() {
    let file = "engine/tests/fixtures/invalid/guard-bypassed.yaml";
    let out = docket(&["validate", file]);
    assert_eq!(out.status.code(), Some(1), "stdout: {}", stdout(&out));
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "engine/tests/fixtures/invalid/guard-bypassed.yaml:47:12: error[guard-bypassed]: `decide` can be reached with `major` possibly true without `legal_review` having outcome `approved`: filing -> evidence -> chief_approval -> approval_result -> decide"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(stderr(&out).contains("1 problem in 1 file"), "{}", stderr(&out));
}

#[test]
fn flows_given_together_may_call_each_other() {
    let caller = "engine/tests/fixtures/valid/all-features.yaml";
    let alone = docket(&["validate", caller]);
    assert_eq!(alone.status.code(), Some(1));
    assert!(stdout(&alone).contains("error[unknown-flow]"), "{}", stdout(&alone));
    let together = docket(&["validate", caller, "engine/tests/fixtures/valid/legal-review.yaml"]);
    assert!(together.status.success(), "{}", stdout(&together));
}

#[test]
fn an_unreadable_file_is_reported_and_the_others_still_checked() {
    let out = docket(&["validate", "no/such/file.yaml", "workflows/penalty-general.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.starts_with("no/such/file.yaml: error[io]: "), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}
