//! `docket calendar ...`: working-day calendar tools for admins and scripts.
//!
//! Output is meant for scripts: `due` prints the date alone. A failure prints one line on
//! stderr, `error[CODE]: message`, with the same codes the API uses, and exits with status 2.
//! `check` prints one line per problem and exits with status 1 when there are any.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use docket_engine::calendar::{Calendar, CalendarError, Calendars, Period, PeriodUnit};

/// Calendar subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the due date of a period, e.g.
    /// `docket calendar due --from 2024-09-27 --add 5 --unit working_days` prints 2024-10-10.
    Due(DueArgs),
    /// List the shipped calendars: id, years known, name (tab-separated).
    List,
    /// Check a calendar file; prints `FILE:LINE:COL: error[calendar-invalid]: message` per
    /// problem and exits with status 1 if there are any.
    Check(CheckArgs),
}

/// Arguments of `docket calendar due`. Values are taken as text and checked here, so that
/// a bad value gets the same `error[CODE]:` line as any other failure.
#[derive(Debug, clap::Args)]
pub struct DueArgs {
    /// The id of a shipped calendar.
    #[arg(long, default_value = "cn-mainland")]
    calendar: String,
    /// The day the period starts (not counted), as YYYY-MM-DD.
    #[arg(long, allow_hyphen_values = true)]
    from: String,
    /// The length of the period, a whole number of days.
    #[arg(long, allow_hyphen_values = true)]
    add: String,
    /// `working_days` or `calendar_days`.
    #[arg(long, allow_hyphen_values = true)]
    unit: String,
}

/// Arguments of `docket calendar check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The calendar YAML file to check.
    file: PathBuf,
}

/// Runs a calendar subcommand and returns the process exit code.
pub fn run(cmd: Command) -> ExitCode {
    let result = match cmd {
        Command::Due(args) => due(&args),
        Command::List => list(),
        Command::Check(args) => check(&args.file),
    };
    result.unwrap_or_else(|failure| {
        // One line, whatever the message contains.
        let message = failure.message.replace('\n', " ");
        let _ = writeln!(std::io::stderr().lock(), "error[{}]: {message}", failure.code);
        ExitCode::from(2)
    })
}

/// A failure reported as `error[CODE]: message`.
struct Failure {
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }
}

impl From<CalendarError> for Failure {
    fn from(error: CalendarError) -> Self {
        Failure::new(error.code(), error.to_string())
    }
}

fn due(args: &DueArgs) -> Result<ExitCode, Failure> {
    let from = NaiveDate::parse_from_str(args.from.trim(), "%Y-%m-%d").map_err(|_| {
        Failure::new("bad-date", format!("`{}` is not a date, expected YYYY-MM-DD (e.g. 2024-09-27)", args.from))
    })?;
    let amount =
        args.add.trim().parse::<u32>().map_err(|_| {
            Failure::new("bad-amount", format!("`{}` is not a whole number of days (0 or more)", args.add))
        })?;
    let unit = args.unit.trim().parse::<PeriodUnit>().map_err(|e| Failure::new("bad-unit", e.to_string()))?;
    let calendar = Calendars::shipped()?.get(&args.calendar)?;
    let date = calendar.add(from, Period { amount, unit })?;
    print(&format!("{date}\n"))
}

fn list() -> Result<ExitCode, Failure> {
    let mut out = String::new();
    for calendar in Calendars::shipped()?.iter() {
        out.push_str(&format!("{}\t{}\t{}\n", calendar.id(), calendar.years(), calendar.name()));
    }
    print(&out)
}

fn check(file: &Path) -> Result<ExitCode, Failure> {
    let shown = file.display();
    let source = std::fs::read_to_string(file)
        .map_err(|e| Failure::new("file-unreadable", format!("cannot read {shown}: {e}")))?;
    match Calendar::from_yaml(&source) {
        Ok(calendar) => print(&format!(
            "{shown}: ok: calendar `{}` ({}) knows {}: {} holiday days, {} adjusted working days\n",
            calendar.id(),
            calendar.name(),
            calendar.years(),
            calendar.holidays().count(),
            calendar.adjusted_workdays().count(),
        )),
        Err(CalendarError::Invalid { problems }) => {
            let mut out = String::new();
            for p in &problems {
                let at = match (p.line, p.column) {
                    (Some(line), Some(column)) => format!("{shown}:{line}:{column}"),
                    (Some(line), None) => format!("{shown}:{line}"),
                    _ => shown.to_string(),
                };
                out.push_str(&format!("{at}: error[calendar-invalid]: {}\n", p.message.replace('\n', " ")));
            }
            print(&out)?;
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(other.into()),
    }
}

/// Writes `text` to stdout; a closed pipe is a failure, not a panic.
fn print(text: &str) -> Result<ExitCode, Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::new("output-failed", format!("cannot write the output: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
