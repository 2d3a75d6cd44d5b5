//! The server's configuration: command-line flags, environment variables, an optional
//! `docket.toml`, and defaults, in that order of precedence.
//!
//! Clap reads each flag and, when the flag is absent, its `DOCKET_*` environment variable,
//! into [`Overrides`]; [`FileConfig`] is the TOML file; [`Config::resolve`] takes the first
//! value set for each key. The file is `--config FILE` (or `DOCKET_CONFIG`) when given, which
//! must exist, else `docket.toml` in the working directory when there is one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::auth::{DEV_SECRET_FILE, KeyConfig};

/// The file read when no `--config` is given and it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "docket.toml";
/// The address served when none is configured.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The database used when none is configured: `./docket.db`, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://docket.db";
/// The log filter used when none is configured (`tracing` `EnvFilter` directives). The
/// database drivers are kept at `warn` so statements are not logged.
pub const DEFAULT_LOG_LEVEL: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";
/// How long one HTTP request may take before it is answered `503 TIMEOUT`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request body accepted, in bytes (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// How long a graceful shutdown may take before the process gives up and exits 1.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Values given on the command line or in the environment; `None` when neither set it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// Configuration file [default: ./docket.toml when it exists].
    #[arg(long, env = "DOCKET_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "DOCKET_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB` [default: sqlite://docket.db].
    #[arg(long, env = "DOCKET_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// This node's id, used for job and timer leases [default: HOSTNAME-PID].
    #[arg(long, env = "DOCKET_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,
    /// Log format on stderr [default: human].
    #[arg(long, env = "DOCKET_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log filter, `tracing` EnvFilter syntax such as `info,docket_engine=debug` [default: info].
    #[arg(long, env = "DOCKET_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Most commands the store commits in one transaction (group commit) [default: the store's].
    #[arg(long, env = "DOCKET_MAX_BATCH", value_name = "N")]
    pub max_batch: Option<usize>,
    /// How often idle workers look for due timers and jobs, e.g. `500ms` [default: the workers'].
    #[arg(long, env = "DOCKET_POLL_INTERVAL", value_name = "DURATION", value_parser = parse_duration)]
    pub poll_interval: Option<Duration>,
    /// Longest time one HTTP request may take, e.g. `30s` [default: 30s].
    #[arg(long, env = "DOCKET_REQUEST_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "DOCKET_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Longest time a graceful shutdown may take before exiting 1, e.g. `60s` [default: 60s].
    #[arg(long, env = "DOCKET_SHUTDOWN_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub shutdown_timeout: Option<Duration>,
    /// HS256 secret that signs bearer tokens [default: the development secret in ./docket.secret].
    #[arg(long, env = "DOCKET_JWT_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key file verifying RS256/ES256 tokens of an identity provider (instead of a secret).
    #[arg(long, env = "DOCKET_JWT_PUBLIC_KEY", value_name = "FILE")]
    pub jwt_public_key: Option<PathBuf>,
    /// Algorithm of the public key: RS256 or ES256 [default: RS256].
    #[arg(long, env = "DOCKET_JWT_ALGORITHM", value_name = "ALG")]
    pub jwt_algorithm: Option<String>,
    /// For tests and drills only: the engine's clock reads this RFC 3339 instant at start-up
    /// and runs on from there [default: the system clock].
    #[arg(long, env = "DOCKET_CLOCK_START", value_name = "INSTANT", value_parser = parse_instant, hide = true)]
    pub clock_start: Option<DateTime<FixedOffset>>,
}

/// The keys of `docket.toml`. Unknown keys are an error, so a typo is not silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`Overrides::listen`].
    pub listen: Option<String>,
    /// See [`Overrides::database_url`].
    pub database_url: Option<String>,
    /// See [`Overrides::node_id`].
    pub node_id: Option<String>,
    /// See [`Overrides::log_format`].
    pub log_format: Option<LogFormat>,
    /// See [`Overrides::log_level`].
    pub log_level: Option<String>,
    /// See [`Overrides::max_batch`].
    pub max_batch: Option<usize>,
    /// See [`Overrides::poll_interval`]; a string such as `"500ms"`.
    pub poll_interval: Option<String>,
    /// See [`Overrides::request_timeout`]; a string such as `"30s"`.
    pub request_timeout: Option<String>,
    /// See [`Overrides::max_body_bytes`].
    pub max_body_bytes: Option<usize>,
    /// See [`Overrides::shutdown_timeout`]; a string such as `"60s"`.
    pub shutdown_timeout: Option<String>,
    /// See [`Overrides::clock_start`]; an RFC 3339 string.
    pub clock_start: Option<String>,
    /// See [`Overrides::jwt_secret`].
    pub jwt_secret: Option<String>,
    /// See [`Overrides::jwt_public_key`].
    pub jwt_public_key: Option<PathBuf>,
    /// See [`Overrides::jwt_algorithm`].
    pub jwt_algorithm: Option<String>,
}

impl FileConfig {
    /// Parses the text of a `docket.toml`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the problem (TOML syntax, unknown key, wrong type).
    pub fn parse(text: &str, origin: &Path) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(format!("{}: {}", origin.display(), e.to_string().trim_end())))
    }

    /// Reads the file named by `--config`, or `docket.toml` in `dir` when it exists.
    ///
    /// # Errors
    /// When an explicitly named file cannot be read, or any file does not parse.
    pub fn load(explicit: Option<&Path>, dir: &Path) -> Result<(FileConfig, Option<PathBuf>), ConfigError> {
        let path = match explicit {
            Some(path) => path.to_owned(),
            None => {
                let implicit = dir.join(DEFAULT_CONFIG_FILE);
                if !implicit.is_file() {
                    return Ok((FileConfig::default(), None));
                }
                implicit
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError(format!("cannot read configuration file {}: {e}", path.display())))?;
        Ok((FileConfig::parse(&text, &path)?, Some(path)))
    }
}

/// A configuration problem, shown to the operator as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The resolved configuration of `docket serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Database URL, normalised by [`normalize_database_url`].
    pub database_url: String,
    /// This node's id.
    pub node_id: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter directives.
    pub log_level: String,
    /// Group-commit batch size; `None` keeps the store's default.
    pub max_batch: Option<usize>,
    /// Worker poll interval; `None` keeps the workers' default.
    pub poll_interval: Option<Duration>,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Graceful shutdown limit.
    pub shutdown_timeout: Duration,
    /// Where the engine's clock starts; `None` for the system clock.
    pub clock_start: Option<DateTime<FixedOffset>>,
    /// How bearer tokens are verified.
    pub auth: KeyConfig,
    /// The configuration file that was read, if any.
    pub file: Option<PathBuf>,
}

impl Config {
    /// Reads the configuration file (see the module docs) and resolves every key:
    /// flag or environment variable first, then the file, then the default.
    ///
    /// # Errors
    /// A [`ConfigError`] for an unreadable or invalid file or an invalid value.
    pub fn load(overrides: Overrides) -> Result<Config, ConfigError> {
        let dir = std::env::current_dir().map_err(|e| ConfigError(format!("no working directory: {e}")))?;
        let (file, path) = FileConfig::load(overrides.config.as_deref(), &dir)?;
        Config::resolve(overrides, file, path)
    }

    /// Resolves every key from the overrides, then the file, then the default.
    ///
    /// # Errors
    /// A [`ConfigError`] for an invalid value.
    pub fn resolve(o: Overrides, f: FileConfig, file: Option<PathBuf>) -> Result<Config, ConfigError> {
        let origin = file.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| DEFAULT_CONFIG_FILE.to_owned());
        let file_duration = |key: &str, value: Option<String>| -> Result<Option<Duration>, ConfigError> {
            value.map(|v| parse_duration(&v).map_err(|e| ConfigError(format!("{origin}: {key}: {e}")))).transpose()
        };
        let poll_interval = o.poll_interval.or(file_duration("poll_interval", f.poll_interval)?);
        let request_timeout = o.request_timeout.or(file_duration("request_timeout", f.request_timeout)?);
        let shutdown_timeout = o.shutdown_timeout.or(file_duration("shutdown_timeout", f.shutdown_timeout)?);
        let file_clock = f
            .clock_start
            .map(|v| parse_instant(&v).map_err(|e| ConfigError(format!("{origin}: clock_start: {e}"))))
            .transpose()?;

        let database_url = o.database_url.or(f.database_url).unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let auth = match (o.jwt_public_key.or(f.jwt_public_key), o.jwt_secret.or(f.jwt_secret)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError("jwt_secret and jwt_public_key: configure one, not both".into()));
            }
            (Some(file), None) => {
                let algorithm = match o.jwt_algorithm.or(f.jwt_algorithm).as_deref().map(str::to_ascii_uppercase) {
                    None => Algorithm::RS256,
                    Some(a) if a == "RS256" => Algorithm::RS256,
                    Some(a) if a == "ES256" => Algorithm::ES256,
                    Some(a) => return Err(ConfigError(format!("jwt_algorithm: {a:?}; use RS256 or ES256"))),
                };
                KeyConfig::PublicKey { algorithm, file }
            }
            (None, Some(secret)) => KeyConfig::Secret(secret),
            (None, None) => KeyConfig::DevSecretFile(PathBuf::from(DEV_SECRET_FILE)),
        };
        let config = Config {
            listen: o.listen.or(f.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            database_url: normalize_database_url(&database_url)?,
            node_id: o.node_id.or(f.node_id).unwrap_or_else(default_node_id),
            log_format: o.log_format.or(f.log_format).unwrap_or_default(),
            log_level: o.log_level.or(f.log_level).unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned()),
            max_batch: o.max_batch.or(f.max_batch),
            poll_interval,
            request_timeout: request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            max_body_bytes: o.max_body_bytes.or(f.max_body_bytes).unwrap_or(DEFAULT_MAX_BODY_BYTES),
            shutdown_timeout: shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            clock_start: o.clock_start.or(file_clock),
            auth,
            file,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.listen.trim().is_empty() {
            return Err(ConfigError("listen: empty address".into()));
        }
        if self.node_id.trim().is_empty() {
            return Err(ConfigError("node_id: empty".into()));
        }
        if self.max_batch == Some(0) {
            return Err(ConfigError("max_batch: must be at least 1".into()));
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError("max_body_bytes: must be at least 1".into()));
        }
        for (key, value) in [("request_timeout", self.request_timeout), ("shutdown_timeout", self.shutdown_timeout)] {
            if value.is_zero() {
                return Err(ConfigError(format!("{key}: must be longer than zero")));
            }
        }
        if let KeyConfig::Secret(secret) = &self.auth
            && secret.len() < 16
        {
            return Err(ConfigError("jwt_secret: must be at least 16 bytes".into()));
        }
        if self.poll_interval.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError("poll_interval: must be longer than zero".into()));
        }
        Ok(())
    }
}

/// Checks a database URL's scheme (the store itself opens SQLite files with `mode=rwc`,
/// creating them when missing, unless the URL names another mode).
///
/// # Errors
/// When the scheme is neither `sqlite:` nor `postgres://` / `postgresql://`.
pub fn normalize_database_url(url: &str) -> Result<String, ConfigError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(url.to_owned());
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        if rest.trim_start_matches('/').is_empty() {
            return Err(ConfigError(format!("database_url: no file in {url:?}")));
        }
        return Ok(url.to_owned());
    }
    Err(ConfigError(format!(
        "database_url: unsupported {:?}; use sqlite://PATH or postgres://USER@HOST:PORT/DB",
        redact_database_url(url)
    )))
}

/// The URL with any password replaced by `***`, for logs and messages.
pub fn redact_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_owned(),
    }
}

/// `HOSTNAME-PID`: unique per process, so a restarted node does not reuse a dead one's leases.
pub fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "docket".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Parses an RFC 3339 instant such as `2024-03-04T09:00:00+08:00`.
///
/// # Errors
/// A message naming the expected form.
pub fn parse_instant(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map_err(|e| format!("{text:?} is not an RFC 3339 instant such as 2024-03-04T09:00:00+08:00: {e}"))
}

/// Parses a duration such as `250ms`, `30s`, `5m`, `1h` (a bare number is seconds).
///
/// # Errors
/// A message for an empty string, a bad number or an unknown unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration such as 500ms, 30s or 5m"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?}; use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> FileConfig {
        FileConfig::parse(text, Path::new("docket.toml")).unwrap()
    }

    #[test]
    fn defaults_without_flags_env_or_file() {
        let c = Config::resolve(Overrides::default(), FileConfig::default(), None).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://docket.db");
        assert_eq!(c.log_format, LogFormat::Human);
        assert_eq!(c.log_level, DEFAULT_LOG_LEVEL);
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.max_body_bytes, 1024 * 1024);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(60));
        assert_eq!((c.max_batch, c.poll_interval, c.clock_start), (None, None, None));
        assert!(c.node_id.ends_with(&format!("-{}", std::process::id())), "{}", c.node_id);
    }

    #[test]
    fn file_values_apply_and_flags_win_over_them() {
        let f = file(
            r#"
            listen = "0.0.0.0:9000"
            database_url = "postgres://docket@db:5432/docket"
            node_id = "node-a"
            log_format = "json"
            log_level = "debug"
            max_batch = 64
            poll_interval = "250ms"
            request_timeout = "10s"
            max_body_bytes = 4096
            shutdown_timeout = "2m"
            clock_start = "2024-03-04T09:00:00+08:00"
            "#,
        );
        let c = Config::resolve(Overrides::default(), f.clone(), Some("docket.toml".into())).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.database_url, "postgres://docket@db:5432/docket");
        assert_eq!(c.node_id, "node-a");
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.max_batch, Some(64));
        assert_eq!(c.poll_interval, Some(Duration::from_millis(250)));
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        assert_eq!(c.max_body_bytes, 4096);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(120));
        assert_eq!(c.clock_start.map(|t| t.timestamp()), Some(1_709_514_000));

        let flags = Overrides {
            listen: Some("127.0.0.1:0".into()),
            database_url: Some("sqlite:///tmp/x.db".into()),
            log_format: Some(LogFormat::Human),
            request_timeout: Some(Duration::from_secs(5)),
            ..Overrides::default()
        };
        let c = Config::resolve(flags, f, None).unwrap();
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.database_url, "sqlite:///tmp/x.db");
        assert_eq!(c.log_format, LogFormat::Human);
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(c.node_id, "node-a", "keys without a flag still come from the file");
    }

    #[test]
    fn bad_files_are_errors() {
        let unknown = FileConfig::parse("listen = \"x\"\nlisten_addr = \"y\"\n", Path::new("d.toml")).unwrap_err();
        assert!(unknown.0.contains("d.toml") && unknown.0.contains("listen_addr"), "{unknown}");
        let wrong_type = FileConfig::parse("max_batch = \"many\"\n", Path::new("d.toml")).unwrap_err();
        assert!(wrong_type.0.contains("max_batch") || wrong_type.0.contains("integer"), "{wrong_type}");
        let bad_format = FileConfig::parse("log_format = \"xml\"\n", Path::new("d.toml")).unwrap_err();
        assert!(bad_format.0.contains("xml"), "{bad_format}");
        let bad_duration = Config::resolve(Overrides::default(), file("request_timeout = \"soon\""), None).unwrap_err();
        assert!(bad_duration.0.contains("request_timeout"), "{bad_duration}");
        let bad_clock = Config::resolve(Overrides::default(), file("clock_start = \"monday\""), None).unwrap_err();
        assert!(bad_clock.0.contains("clock_start"), "{bad_clock}");
        let zero = Config::resolve(Overrides::default(), file("max_batch = 0"), None).unwrap_err();
        assert!(zero.0.contains("max_batch"), "{zero}");
    }

    #[test]
    fn explicit_config_file_must_exist_and_implicit_one_is_optional() {
        let dir = tempfile::tempdir().unwrap();
        let (f, path) = FileConfig::load(None, dir.path()).unwrap();
        assert_eq!((f, path), (FileConfig::default(), None));

        let missing = FileConfig::load(Some(&dir.path().join("nope.toml")), dir.path()).unwrap_err();
        assert!(missing.0.contains("nope.toml"), "{missing}");

        std::fs::write(dir.path().join("docket.toml"), "node_id = \"from-file\"\n").unwrap();
        let (f, path) = FileConfig::load(None, dir.path()).unwrap();
        assert_eq!(f.node_id.as_deref(), Some("from-file"));
        assert_eq!(path, Some(dir.path().join("docket.toml")));
    }

    #[test]
    fn database_urls_are_checked() {
        assert_eq!(normalize_database_url(" sqlite://d.db ").unwrap(), "sqlite://d.db");
        assert_eq!(normalize_database_url("sqlite:///abs/d.db?mode=ro").unwrap(), "sqlite:///abs/d.db?mode=ro");
        assert_eq!(normalize_database_url("sqlite::memory:").unwrap(), "sqlite::memory:");
        assert_eq!(normalize_database_url("postgres://u@h:5432/db").unwrap(), "postgres://u@h:5432/db");
        assert_eq!(normalize_database_url("postgresql://u@h/db").unwrap(), "postgresql://u@h/db");
        assert!(normalize_database_url("mysql://u:secret@h/db").unwrap_err().0.contains("u:***@h"));
        assert!(normalize_database_url("docket.db").is_err());
        assert!(normalize_database_url("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_database_url("postgres://u:pw@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(redact_database_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_database_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_database_url("sqlite://d.db?mode=rwc"), "sqlite://d.db?mode=rwc");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5 fortnights").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
