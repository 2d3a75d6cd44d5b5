//! `docket token`: mints a bearer token for development and tests, signed with the configured
//! HS256 secret (`--jwt-secret`, `DOCKET_JWT_SECRET`, `docket.toml`, or the development
//! secret `docket.secret` that `docket serve` uses when none is configured). Prints the token
//! on stdout. Exits 2 for bad arguments or a configuration that holds only a public key.

use std::process::ExitCode;
use std::time::Duration;

use crate::auth::{Authenticator, Claims, principal_of};
use crate::server::config::{Config, Overrides, parse_duration};

/// Arguments of `docket token`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The user (or service) id, the token's subject.
    #[arg(long)]
    user: String,
    /// Display name [default: the user id].
    #[arg(long)]
    name: Option<String>,
    /// Roles, comma-separated: handler, section_chief, legal_reviewer, leader, admin, supervisor,
    /// integration.
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    /// Groups, comma-separated.
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// Scopes of a service token (role integration), comma-separated: cases:read, cases:start,
    /// messages:correlate, tasks:read, definitions:read, publications:record.
    #[arg(long, value_delimiter = ',')]
    scopes: Vec<String>,
    /// How long the token is valid, e.g. `8h`.
    #[arg(long, default_value = "8h", value_parser = parse_duration)]
    ttl: Duration,
    #[command(flatten)]
    overrides: Overrides,
}

/// Mints and prints the token.
pub fn run(args: Args) -> ExitCode {
    let config = match Config::load(args.overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("docket token: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: args.user,
        name: args.name,
        roles: args.roles,
        groups: args.groups,
        scopes: args.scopes,
        exp: now + args.ttl.as_secs() as i64,
        iat: Some(now),
    };
    if let Err(e) = principal_of(claims.clone()) {
        eprintln!("docket token: {e}");
        return ExitCode::from(2);
    }
    let minted = Authenticator::new(&config.auth).and_then(|auth| auth.mint(&claims));
    match minted {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("docket token: {e}");
            ExitCode::from(2)
        }
    }
}
