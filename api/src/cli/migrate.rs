//! `docket migrate`: applies the database migrations and exits.
//!
//! The database is chosen as for `docket serve`: `--database-url`, else
//! `DOCKET_DATABASE_URL`, else `database_url` in `docket.toml` (or `--config FILE`), else
//! `sqlite://docket.db`. Exits 0 when the schema is up to date, 1 when the database cannot
//! be reached or a migration fails, 2 for a configuration error.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::server::config::{Config, Overrides, redact_database_url};

/// Arguments of `docket migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file [default: ./docket.toml when it exists].
    #[arg(long, env = "DOCKET_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB` [default: sqlite://docket.db].
    #[arg(long, env = "DOCKET_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
}

/// Applies the migrations; see the module docs.
pub fn run(args: Args) -> ExitCode {
    let overrides = Overrides { config: args.config, database_url: args.database_url, ..Overrides::default() };
    let config = match Config::load(overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("docket migrate: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let database = redact_database_url(&config.database_url);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("docket migrate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let migrated = runtime.block_on(async {
        let store = crate::server::connect(&config).await?;
        let migrated = store.migrate().await;
        store.shutdown().await;
        migrated.map_err(anyhow::Error::new)
    });
    match migrated {
        Ok(()) => {
            eprintln!("docket migrate: {database} is up to date");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("docket migrate: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
