//! `docket validate FILE...`
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `docket validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Flow files to validate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let _ = args;
    ExitCode::FAILURE
}
