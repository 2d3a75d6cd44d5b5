//! The `docket` binary. Thin: parses the command line and hands over to [`cli`]; the
//! server behind `docket serve` is in [`server`], the embedded shipped flows in [`workflows`].

mod auth;
mod cli;
mod graphql;
mod server;
mod workflows;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}
