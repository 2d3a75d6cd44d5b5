//! The command line: one module per subcommand.

mod calendar;
mod migrate;
mod schema;
mod serve;
mod token;
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
    /// Run the server: HTTP API, /healthz, /metrics, timer and job workers.
    Serve(serve::Args),
    /// Apply the database migrations and exit.
    Migrate(migrate::Args),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Mint a bearer token for development (signed with the configured HS256 secret).
    Token(token::Args),
}

impl Cli {
    /// Runs the chosen subcommand and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Validate(args) => validate::run(args),
            Command::Calendar(cmd) => calendar::run(cmd),
            Command::Serve(args) => serve::run(args),
            Command::Migrate(args) => migrate::run(args),
            Command::Token(args) => token::run(args),
            Command::Schema => schema::run(),
        }
    }
}
