//! `docket serve`: runs the server (HTTP API, health, metrics, timer and job workers).
//!
//! Every option can also be set by a `DOCKET_*` environment variable or a key of
//! `docket.toml`; flags win over the environment, which wins over the file, which wins over
//! the defaults (see `docs/operations.md`). Exits 0 after a graceful shutdown, 1 when
//! start-up or serving fails, 2 for a configuration error.

use std::process::ExitCode;

use crate::server::{self, config::Config, config::Overrides, logging};

/// Arguments of `docket serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    overrides: Overrides,
}

/// Resolves the configuration, starts the runtime and serves until shut down.
pub fn run(args: Args) -> ExitCode {
    let config = match Config::load(args.overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("docket serve: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = logging::init(config.log_format, &config.log_level) {
        eprintln!("docket serve: configuration error: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("docket serve: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "docket serve failed");
            eprintln!("docket serve: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
