//! `docket validate FILE...`: checks flow definitions before they are deployed.
//!
//! Prints one line per problem on stdout, `FILE:LINE:COL: error[CODE]: message` (the
//! format editors and CI annotate), and a summary on stderr. Exits 0 when every file is
//! valid, 1 otherwise.
//!
//! The files are checked together: a call activity may start any flow given on the same
//! command line (a flow and its sub-flows are validated and deployed together). Calendars
//! are the ones shipped in the binary.

use std::path::PathBuf;
use std::process::ExitCode;

use docket_engine::calendar::Calendars;
use docket_engine::dsl;
use docket_engine::validate::{Env, check_parsed};

/// Arguments of `docket validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Flow files to validate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Validates every file; see the module docs for output and exit code.
pub fn run(args: Args) -> ExitCode {
    let calendars: Vec<String> = match Calendars::shipped() {
        Ok(registry) => registry.iter().map(|c| c.id().to_owned()).collect(),
        Err(e) => {
            eprintln!("docket validate: the shipped calendars are broken: {e}");
            return ExitCode::FAILURE;
        }
    };

    // Read and parse every file first: the flows given are the ones calls may start.
    let mut inputs = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(source) => inputs.push((name, Ok(dsl::parse(&source)))),
            Err(e) => inputs.push((name, Err(e))),
        }
    }
    let flows: Vec<String> =
        inputs.iter().filter_map(|(_, parsed)| parsed.as_ref().ok()?.flow.as_ref().map(|f| f.id.clone())).collect();
    let env = Env { calendars: &calendars, flows: &flows };

    let (mut invalid, mut problems) = (0usize, 0usize);
    for (name, parsed) in inputs {
        match parsed {
            Err(e) => {
                println!("{name}: error[io]: {e}");
                invalid += 1;
                problems += 1;
            }
            Ok(parsed) => {
                let checked = check_parsed(parsed, &env);
                for p in &checked.problems {
                    println!("{}", p.display_in(&name));
                }
                if !checked.is_valid() {
                    invalid += 1;
                    problems += checked.problems.len().max(1);
                }
            }
        }
    }

    let files = args.files.len();
    let plural = |n: usize, one: &str, many: &str| if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") };
    if invalid == 0 {
        eprintln!("{} valid", plural(files, "flow", "flows"));
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{} in {} of {}",
            plural(problems, "problem", "problems"),
            plural(invalid, "file", "files"),
            plural(files, "file", "files")
        );
        ExitCode::FAILURE
    }
}
