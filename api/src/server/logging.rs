//! Structured logs with `tracing`, written to stderr (stdout carries only the
//! `listening on http://ADDR` line): human-readable lines by default, one JSON object per
//! line with `--log-format json`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use super::config::{ConfigError, LogFormat};

/// Installs the global subscriber.
///
/// # Errors
/// When `filter` is not valid `EnvFilter` syntax, or a subscriber is already installed.
pub fn init(format: LogFormat, filter: &str) -> Result<(), ConfigError> {
    let filter = EnvFilter::try_new(filter).map_err(|e| ConfigError(format!("log_level: {filter:?}: {e}")))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
    installed.map_err(|e| ConfigError(format!("cannot install the logger: {e}")))
}
