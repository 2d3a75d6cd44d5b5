//! `docket schema`: prints the GraphQL schema (SDL), as kept in `docs/schema.graphql`.

use std::process::ExitCode;

/// Prints the SDL on stdout.
pub fn run() -> ExitCode {
    print!("{}", crate::graphql::sdl());
    ExitCode::SUCCESS
}
