//! The command line: one module per subcommand.

mod calendar;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Docket: a workflow engine for administrative law enforcement.
#[derive(Debug, Parser)]
#[command(name = "docket", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate flow definitions; prints `FILE:LINE:COL: error[CODE]: message` per problem.
    Validate(validate::Args),
    /// Working-day calendar tools.
    #[command(subcommand)]
    Calendar(calendar::Command),
}

impl Cli {
    /// Runs the chosen subcommand and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Validate(args) => validate::run(args),
            Command::Calendar(cmd) => calendar::run(cmd),
        }
    }
}
