//! Shared by the tests that run the real `docket serve`: the server process and fresh
//! PostgreSQL databases. Under `CI=true` an unreachable PostgreSQL fails the test;
//! elsewhere PostgreSQL tests are skipped with a message.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use sea_orm::{ConnectOptions, ConnectionTrait, Database};

/// The binary under test.
pub const DOCKET: &str = env!("CARGO_BIN_EXE_docket");
/// The PostgreSQL server (database `test` for administration).
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
/// Cases run "in 2024" so every legal period falls inside the shipped calendar.
pub const CLOCK_START: &str = "2024-03-04T09:00:00+08:00";
/// The HS256 secret every test server verifies tokens with.
pub const TEST_SECRET: &str = "docket-test-secret-0123456789";

/// How long start-up (migrations, deployment) may take in a debug build.
pub const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running `docket serve`, killed on drop if still running; its stderr is kept and
/// printed when a test fails.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `docket serve --listen 127.0.0.1:0 ARGS` in `dir` and waits for its
    /// `listening on http://ADDR` line.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut command = Command::new(DOCKET);
        command.arg("serve").arg("--listen").arg("127.0.0.1:0").args(args);
        Server::spawn(command, dir)
    }

    /// Starts `docket serve` with exactly these arguments in `dir`.
    pub fn spawn(command: Command, dir: &Path) -> Server {
        Server::spawn_with_clock(command, dir, Some(CLOCK_START))
    }

    /// Starts `docket serve` with these arguments; `clock` sets `DOCKET_CLOCK_START`, `None`
    /// leaves the server on the system clock (for tests that share a database with the test
    /// process's own store).
    pub fn spawn_with_clock(mut command: Command, dir: &Path, clock: Option<&str>) -> Server {
        for (name, _) in std::env::vars() {
            if name.starts_with("DOCKET_") {
                command.env_remove(name);
            }
        }
        command.env_remove("RUST_LOG");
        command.env("DOCKET_JWT_SECRET", TEST_SECRET);
        if let Some(clock) = clock {
            command.env("DOCKET_CLOCK_START", clock);
        }
        let mut child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn docket serve");

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, base: String::new(), stderr };
        // The first line on stdout is the only one: `listening on http://ADDR`.
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => match line.strip_prefix("listening on ") {
                Some(addr) => server.base = addr.trim().to_owned(),
                None => panic!("unexpected stdout line {line:?}\nstderr:\n{}", server.stderr()),
            },
            Err(e) => panic!("no `listening on` line ({e:?})\nstderr:\n{}", server.stderr()),
        }
        assert!(server.base.starts_with("http://127.0.0.1:"), "{}", server.base);
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit within {within:?} of SIGTERM\nstderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Server {
    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- docket serve stderr ---\n{}", self.stderr());
        }
    }
}

/// A bearer token for `user` with these roles and groups (and scopes, for a service),
/// valid for an hour, signed with [`TEST_SECRET`].
pub fn token(user: &str, roles: &[&str], groups: &[&str], scopes: &[&str]) -> String {
    token_expiring(user, roles, groups, scopes, 3600)
}

/// A token that expires `seconds` from now (negative: already expired).
pub fn token_expiring(user: &str, roles: &[&str], groups: &[&str], scopes: &[&str], seconds: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = serde_json::json!({
        "sub": user,
        "name": user,
        "roles": roles,
        "groups": groups,
        "scopes": scopes,
        "exp": now + seconds,
        "iat": now,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("sign token")
}

/// A GraphQL client of one server, as one principal.
#[derive(Clone)]
pub struct Gql {
    /// `http://127.0.0.1:PORT/graphql`.
    pub url: String,
    /// The bearer token.
    pub token: String,
    client: reqwest::Client,
}

impl Gql {
    /// A client of `base` sending `token`.
    pub fn new(base: &str, token: String) -> Gql {
        let client =
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().expect("http client");
        Gql { url: format!("{base}/graphql"), token, client }
    }

    /// Sends a query; returns the HTTP status and the JSON body.
    pub async fn send(&self, query: &str, variables: serde_json::Value) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    /// Sends a query that must succeed; returns `data`.
    pub async fn ok(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        let (status, body) = self.send(query, variables).await;
        assert!(
            status.is_success() && body.get("errors").is_none(),
            "{status}: {body}
query: {query}"
        );
        body["data"].clone()
    }

    /// Sends a query that must fail; returns the first error's `extensions.code`.
    pub async fn error(&self, query: &str, variables: serde_json::Value) -> String {
        let (_, body) = self.send(query, variables).await;
        let code = body["errors"][0]["extensions"]["code"].as_str();
        code.unwrap_or_else(|| {
            panic!(
                "expected an error: {body}
query: {query}"
            )
        })
        .to_owned()
    }
}

/// A fresh PostgreSQL database, dropped with the guard.
pub struct PgDatabase {
    /// Its URL.
    pub url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                if let Ok(admin) = Database::connect(format!("{POSTGRES}/test")).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

/// Creates a fresh database; `None` with a message when PostgreSQL is unreachable outside CI.
pub async fn pg_database() -> Option<PgDatabase> {
    let mut options = ConnectOptions::new(format!("{POSTGRES}/test"));
    options.connect_timeout(Duration::from_secs(5)).sqlx_logging(false);
    let admin = match Database::connect(options).await {
        Ok(admin) => admin,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is required under CI=true but not reachable at {POSTGRES}/test: {e}");
            }
            eprintln!("skipping: PostgreSQL not reachable at {POSTGRES}/test ({e})");
            return None;
        }
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("docket_t_api_{}_{nanos}", std::process::id());
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
    Some(PgDatabase { url: format!("{POSTGRES}/{name}"), name })
}
