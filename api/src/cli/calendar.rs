//! `docket calendar ...`
use std::process::ExitCode;

/// Calendar subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub fn run(cmd: Command) -> ExitCode {
    match cmd {}
}
