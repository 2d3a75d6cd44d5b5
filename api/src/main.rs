//! The `docket` binary. Thin: parses the command line and hands over to [`cli`]; the
//! server behind `docket serve` is in [`server`], the embedded shipped flows in [`workflows`].

mod auth;
mod cli;
mod graphql;
mod recent;
mod server;
mod workflows;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a command allocates many short-lived values on the committer's and the request
/// threads; it measured faster than the system allocator in the store benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}
