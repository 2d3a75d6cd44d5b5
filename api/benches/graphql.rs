//! The GraphQL API, measured against the runtime underneath it
//! (`cargo bench -p docket-api --bench graphql`).
//!
//! On SQLite and on PostgreSQL (skipped when unreachable), a real `docket serve` (the bench
//! build of the binary) on a fresh database, and an in-process store on the same database:
//! - task completions/s and completion p50/p99 with `DOCKET_BENCH_CLIENTS` (default 16)
//!   clients running penalty cases end to end: through the store in-process as the store
//!   benchmark does; in-process through the calls the API's resolvers make (a [`Session`]
//!   per principal: each step takes the case's next task by the case's id, as an
//!   integration that started the case does, and completes it); and through `/graphql` over
//!   HTTP, the same steps (`claimNextTask(input: {caseId})`, `completeTask`);
//! - the group inbox (first page of 50 by due date, a reviewer in two groups) p50/p99 with
//!   `DOCKET_BENCH_TASKS` (default 1,000,000) open tasks, through the store and through
//!   `/graphql`;
//! - the server's peak resident memory.
//!
//! What the API adds is the difference between the p50 through `/graphql` and the p50 of the
//! same steps in-process (HTTP, JSON, GraphQL and tokens); the difference to the store
//! benchmark's steps is printed too. `DOCKET_BENCH_SECONDS` (default 10)
//! sets the length of each load, `DOCKET_BENCH_STORES` (default `sqlite,postgres`) the stores.
//! Each load prints the CPU it used per completion (this process's; through `/graphql` also
//! the server's, and on PostgreSQL the database server's), and how many commands shared a
//! commit on average (`docket_commit_batch_size`: this process's recorder, the server's
//! `/metrics`).
//!
//! With `DOCKET_BENCH_CALLGRIND=FILE` the server runs under `valgrind --tool=callgrind`,
//! counting its instructions during the `/graphql` load only, and the benchmark prints the
//! server's instructions per completion: a figure that, unlike times on a shared machine, is
//! the same from run to run (its latencies are then meaningless).

#[path = "../../engine/benches/penalty/mod.rs"]
mod penalty;
#[path = "../../engine/benches/support/mod.rs"]
mod support;

/// The allocator the `docket` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use docket_engine::access::{Principal, Role};
use docket_engine::core::Actor;
use docket_engine::store::{Session, Store, StoreConfig};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::{ConnectionTrait, Database};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Value, json};
use support::{clock, cpu_time, env_u64, load, ms, pct, peak_rss_mb_of, processes_cpu_time, run_clients, seed_tasks};
use tokio::sync::Mutex;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
const SECRET: &str = "docket-bench-secret-0123456789";

fn token(user: &str, roles: &[String]) -> String {
    let claims = json!({ "sub": user, "roles": roles, "exp": 4_102_444_800u64 });
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("sign")
}

/// `token` as an `Authorization` header.
fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value")
}

/// A running `docket serve`.
struct Server {
    child: Child,
    url: String,
}

/// `DOCKET_BENCH_CALLGRIND`: a file for the server, run under `valgrind --tool=callgrind`, to
/// write the instructions it ran during the `/graphql` load to (and only then).
fn callgrind_out() -> Option<String> {
    std::env::var("DOCKET_BENCH_CALLGRIND").ok().filter(|path| !path.is_empty())
}

impl Server {
    /// Starts `docket serve` on `database_url`; under callgrind when [`callgrind_out`] names a
    /// file (its workers then poll once a minute, so that the instructions counted during the
    /// load are the requests', however slowly they run).
    fn start(database_url: &str) -> Server {
        let mut command = match callgrind_out() {
            Some(out) => {
                let mut valgrind = Command::new("valgrind");
                valgrind
                    .args(["--tool=callgrind", "--instr-atstart=no", &format!("--callgrind-out-file={out}")])
                    .arg(env!("CARGO_BIN_EXE_docket"));
                valgrind
            }
            None => Command::new(env!("CARGO_BIN_EXE_docket")),
        };
        command.args(["serve", "--listen", "127.0.0.1:0", "--database-url", database_url, "--log-level", "warn"]);
        if callgrind_out().is_some() {
            command.args(["--poll-interval", "60s"]);
        }
        let mut child = command
            .env("DOCKET_JWT_SECRET", SECRET)
            .env("DOCKET_CLOCK_START", "2024-03-04T09:00:00+08:00")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn docket serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("listening line");
        let base = line.trim().strip_prefix("listening on ").expect("listening on").to_owned();
        Server { child, url: format!("{base}/graphql") }
    }

    /// Under callgrind, starts (`true`) or stops counting the server's instructions.
    fn count_instructions(&self, on: bool) {
        if callgrind_out().is_some() {
            let status = Command::new("callgrind_control")
                .args(["-i", if on { "on" } else { "off" }, &self.child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("callgrind_control");
            assert!(status.success(), "callgrind_control -i {on}");
        }
    }
}

/// The instructions a callgrind output file counted (its `totals:` line).
fn counted_instructions(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| line.strip_prefix("totals:")).and_then(|n| n.trim().parse().ok())
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// The clients' bearer tokens, one per user, minted once: a client keeps its token (and the
/// benchmark measures the server, not the signing of tokens).
struct Tokens(HashMap<String, HeaderValue>);

impl Tokens {
    /// Tokens for the handler who starts cases, every step's actor, and the chief who
    /// publishes.
    fn new() -> Tokens {
        let mut users = vec![("h1".to_owned(), vec!["handler".to_owned()])];
        users.extend(penalty::steps().into_iter().map(|(actor, _)| (actor.user, actor.groups)));
        users.push(("chief".to_owned(), vec!["section_chief".to_owned()]));
        Tokens(users.into_iter().map(|(user, roles)| (user.clone(), bearer(&token(&user, &roles)))).collect())
    }

    fn of(&self, user: &str) -> &HeaderValue {
        &self.0[user]
    }
}

/// One client's HTTP/1.1 connection to the server, kept open across its cases as an
/// integration keeps its connection. Requests go straight onto it (no pool, no redirects, no
/// proxy): the client shares the machine's two cores with the server, so what it spends on
/// each request is taken from the server and would count against the API.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Connection {
    /// Connects to the server at `url` (`http://host:port/graphql`).
    async fn open(url: &str) -> Connection {
        let authority = url.strip_prefix("http://").and_then(|rest| rest.split('/').next()).expect("http://host:port/");
        let stream = tokio::net::TcpStream::connect(authority).await.expect("connect to the server");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        Connection { sender, host: HeaderValue::from_str(authority).expect("host") }
    }

    /// POSTs `query` with `variables` to `/graphql` as `token`'s holder; returns `data`,
    /// after checking that the answer has no errors.
    async fn gql<T: DeserializeOwned>(&mut self, token: &HeaderValue, query: &Query, variables: &str) -> T {
        let body = format!("{{\"query\":{},\"variables\":{variables}}}", query.0);
        let request = Request::post("/graphql")
            .header(header::HOST, self.host.clone())
            .header(header::AUTHORIZATION, token.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a request");
        self.sender.ready().await.expect("the connection");
        let response = self.sender.send_request(request).await.expect("POST /graphql");
        let bytes = response.into_body().collect().await.expect("the answer").to_bytes();
        match serde_json::from_slice::<Answer<T>>(&bytes) {
            Ok(Answer { data: Some(data), errors: None }) => data,
            _ => panic!("{}\n{}", String::from_utf8_lossy(&bytes), query.0),
        }
    }
}

/// A GraphQL answer: its data, read into what the client needs of it, and any errors.
#[derive(Deserialize)]
struct Answer<T> {
    data: Option<T>,
    errors: Option<IgnoredAny>,
}

/// A query text, written as a JSON string once.
struct Query(String);

impl Query {
    fn new(text: &str) -> Query {
        Query(serde_json::to_string(text).expect("JSON"))
    }
}

/// `value` as a JSON string.
fn quoted(value: &str) -> String {
    serde_json::to_string(value).expect("JSON")
}

/// The queries a client sends, each written as JSON once, and the rest of each step's
/// completion input (all but its task): a client builds its requests from them without a
/// JSON tree per request.
struct Requests {
    start: Query,
    next: Query,
    complete: Query,
    publish: Query,
    steps: Vec<(String, String)>,
}

impl Requests {
    fn new() -> Requests {
        let steps = penalty::steps()
            .into_iter()
            .map(|(actor, done)| {
                let input = json!({
                    "outcome": done.outcome,
                    "variables": done.variables,
                    "checklist": done.checklist.keys().map(|id| json!({ "id": id, "satisfied": true })).collect::<Vec<_>>(),
                    "records": done.records.iter().map(|r| json!({ "kind": r.kind, "sha256": r.sha256, "size": r.size, "uri": r.uri })).collect::<Vec<_>>(),
                });
                let fields = input.to_string();
                (actor.user, fields[1..fields.len() - 1].to_owned())
            })
            .collect();
        Requests {
            start: Query::new(START),
            next: Query::new(NEXT),
            complete: Query::new(COMPLETE),
            publish: Query::new(PUBLISH),
            steps,
        }
    }
}

#[derive(Deserialize)]
struct Started {
    #[serde(rename = "startCase")]
    start_case: CaseRef,
}

#[derive(Deserialize)]
struct CaseRef {
    #[serde(rename = "caseId")]
    case_id: String,
}

#[derive(Deserialize)]
struct Next {
    #[serde(rename = "claimNextTask")]
    claim_next_task: Option<Claimed>,
}

#[derive(Deserialize)]
struct Claimed {
    #[serde(rename = "taskId")]
    task_id: String,
}

const START: &str =
    "mutation($bk: String) { startCase(input: {flow: \"penalty-general\", businessKey: $bk}) { caseId } }";
const NEXT: &str = "mutation($c: ID) { claimNextTask(input: {caseId: $c}) { taskId } }";
const COMPLETE: &str = "mutation($i: CompleteTaskInput!) { completeTask(input: $i) { version } }";
const PUBLISH: &str = "mutation($c: ID!) { recordPublication(input: {caseId: $c}) { status } }";

/// One penalty case through the API; returns its completions.
async fn one_case(
    connection: &mut Connection,
    tokens: &Tokens,
    requests: &Requests,
    bk: &str,
    latencies: &Mutex<Vec<Duration>>,
) -> usize {
    let bk = format!("{{\"bk\":{}}}", quoted(bk));
    let started: Started = connection.gql(tokens.of("h1"), &requests.start, &bk).await;
    let case = format!("{{\"c\":{}}}", quoted(&started.start_case.case_id));
    let mut completions = 0;
    for (user, rest) in &requests.steps {
        let token = tokens.of(user);
        let next: Next = connection.gql(token, &requests.next, &case).await;
        let task = quoted(&next.claim_next_task.expect("the case's next task").task_id);
        let input = format!("{{\"i\":{{\"taskId\":{task},{rest}}}}}");
        let t = Instant::now();
        let _: IgnoredAny = connection.gql(token, &requests.complete, &input).await;
        latencies.lock().await.push(t.elapsed());
        completions += 1;
    }
    let _: IgnoredAny = connection.gql(tokens.of("chief"), &requests.publish, &case).await;
    completions
}

/// The principal the API makes of a bench token (`token(user, roles)`).
fn principal(user: &str, roles: &[String]) -> Principal {
    Principal {
        user: user.to_owned(),
        name: user.to_owned(),
        roles: roles.iter().map(|r| Role::parse(r).expect("a role")).collect(),
        groups: Vec::new(),
        scopes: Vec::new(),
    }
}

/// One penalty case through the calls the resolvers make, in-process; returns its
/// completions.
async fn one_case_in_sessions(store: &Store, bk: &str, latencies: &Mutex<Vec<Duration>>) -> usize {
    let handler = principal("h1", &["handler".to_owned()]);
    let started = store
        .session(&handler)
        .start_case("penalty-general".into(), None, Some(bk.to_owned()), Default::default(), None)
        .await
        .expect("start");
    let mut completions = 0;
    for (Actor { user, groups }, done) in penalty::steps() {
        let who = principal(&user, &groups);
        let session: Session<'_> = store.session(&who);
        let (task, _) = session.claim_next_of_case(&started.case_id).await.expect("claim").expect("a task");
        let t = Instant::now();
        session.complete(task, done, None).await.expect("complete");
        latencies.lock().await.push(t.elapsed());
        completions += 1;
    }
    let chief = principal("chief", &["section_chief".to_owned()]);
    store.session(&chief).record_publication(&started.case_id, None, None).await.expect("publication");
    completions
}

async fn session_load(store: &Store, clients: usize, seconds: u64) -> (f64, f64, Duration, Duration) {
    let store = store.clone();
    run_clients(clients, seconds, move |c, n, latencies| {
        let store = store.clone();
        async move { one_case_in_sessions(&store, &format!("SES-{c}-{n}"), &latencies).await }
    })
    .await
}

async fn api_load(url: &str, clients: usize, seconds: u64) -> (f64, f64, Duration, Duration) {
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(Mutex::new(Connection::open(url).await));
    }
    let connections = Arc::new(connections);
    let (tokens, requests) = (Arc::new(Tokens::new()), Arc::new(Requests::new()));
    run_clients(clients, seconds, move |c, n, latencies| {
        let (connections, tokens, requests) = (connections.clone(), tokens.clone(), requests.clone());
        async move {
            // Client `c` alone uses connection `c`.
            let mut connection = connections[c].lock().await;
            one_case(&mut connection, &tokens, &requests, &format!("API-{c}-{n}"), &latencies).await
        }
    })
    .await
}

/// p50 and p99 of the reviewer's inbox through `/graphql`, with `seeded` tasks from
/// [`seed_tasks`] in the database.
async fn api_inbox(url: &str, seeded: u64) -> (Duration, Duration) {
    let least = support::seeded_for_reviewer(seeded).min(50);
    let mut connection = Connection::open(url).await;
    let claims = json!({ "sub": "rev", "roles": ["legal_reviewer"], "groups": ["g7"], "exp": 4_102_444_800u64 });
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    let token = bearer(&jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("sign"));
    let query = Query::new(
        "{ inbox(first: 50) { edges { cursor node { id name due businessKey } } pageInfo { hasNextPage } } }",
    );
    let mut samples = Vec::new();
    for i in 0..520 {
        let t = Instant::now();
        let data: Value = connection.gql(&token, &query, "{}").await;
        if i >= 20 {
            samples.push(t.elapsed());
        }
        let page = data["inbox"]["edges"].as_array().map_or(0, Vec::len);
        assert!((least..=50).contains(&page), "an inbox page of {page} tasks");
    }
    samples.sort();
    (pct(&samples, 0.5), pct(&samples, 0.99))
}

/// Commands committed and commits made so far (`docket_commit_batch_size`'s sum and count)
/// in a Prometheus exposition.
fn commits_of(exposition: &str) -> (f64, f64) {
    let value = |name: &str| {
        exposition.lines().find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok()).unwrap_or(0.0)
    };
    (value("docket_commit_batch_size_sum "), value("docket_commit_batch_size_count "))
}

/// Commands per commit between two readings of [`commits_of`].
fn per_commit((commands0, commits0): (f64, f64), (commands1, commits1): (f64, f64)) -> f64 {
    (commands1 - commands0) / (commits1 - commits0).max(1.0)
}

/// The server's `/metrics` text.
async fn exposition_of(url: &str) -> String {
    let mut connection = Connection::open(url).await;
    let request = Request::get("/metrics")
        .header(header::HOST, connection.host.clone())
        .body(Full::new(Bytes::new()))
        .expect("a request");
    connection.sender.ready().await.expect("the connection");
    let response = connection.sender.send_request(request).await.expect("GET /metrics");
    let bytes = response.into_body().collect().await.expect("the answer").to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// CPU time used since a load started: by this process, by the `docket` server (when one
/// runs) and by the PostgreSQL server's processes (when `postgres`).
#[derive(Clone, Copy)]
struct Cpu {
    postgres: bool,
    at: Instant,
    own: Duration,
    server: Duration,
    database: Duration,
}

impl Cpu {
    fn now(postgres: bool) -> Cpu {
        Cpu {
            postgres,
            at: Instant::now(),
            own: cpu_time(None),
            server: processes_cpu_time("docket").unwrap_or_default(),
            database: if postgres { processes_cpu_time("postgres").unwrap_or_default() } else { Duration::ZERO },
        }
    }

    /// How many completions a load made since `self` at `rate` completions/s.
    fn completions(self, rate: f64) -> f64 {
        rate * self.at.elapsed().as_secs_f64()
    }

    /// Microseconds of each kind of CPU per completion since `self`, for a load that made
    /// `completions`: `(this process, the server, the database)`.
    fn per_completion(self, completions: f64) -> (f64, f64, f64) {
        let later = Cpu::now(self.postgres);
        let per = |a: Duration, b: Duration| (b.saturating_sub(a)).as_secs_f64() * 1e6 / completions.max(1.0);
        (per(self.own, later.own), per(self.server, later.server), per(self.database, later.database))
    }
}

/// `(this process, the server, the database)` CPU per completion and the commands per
/// commit, as printed.
fn cpu_line(label: &str, (own, server, database): (f64, f64, f64), postgres: bool, commands_per_commit: f64) -> String {
    let mut line = format!("          CPU per completion: {label} {own:.0} µs");
    if server > 0.0 {
        line += &format!(", server {server:.0} µs");
    }
    if postgres {
        line += &format!(", PostgreSQL {database:.0} µs");
    }
    line + &format!("; {commands_per_commit:.2} commands per commit")
}

async fn bench(name: &str, url: &str, metrics: &PrometheusHandle) {
    let seconds = env_u64("DOCKET_BENCH_SECONDS", 10);
    let tasks = env_u64("DOCKET_BENCH_TASKS", 1_000_000);
    let clients = env_u64("DOCKET_BENCH_CLIENTS", 16) as usize;
    let mut config = StoreConfig::new(url);
    config.clock = clock();
    let store = Store::connect(config).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.deploy(penalty::PENALTY, "docket").await.expect("deploy");
    println!("\n== {name} ==");
    let postgres = url.starts_with("postgres");
    let (cpu, commits) = (Cpu::now(postgres), commits_of(&metrics.render()));
    let (_, runtime_rate, runtime_p50, runtime_p99) = load(&store, clients, seconds).await;
    let runtime_cpu = cpu.per_completion(cpu.completions(runtime_rate));
    let runtime_grouping = per_commit(commits, commits_of(&metrics.render()));
    println!(
        "runtime   clients {clients:>2}: {runtime_rate:>8.1} completions/s  completion p50 {}  p99 {}   (the store benchmark's steps)",
        ms(runtime_p50),
        ms(runtime_p99)
    );
    println!("{}", cpu_line("in-process", runtime_cpu, postgres, runtime_grouping));
    let (cpu, commits) = (Cpu::now(postgres), commits_of(&metrics.render()));
    let (_, session_rate, session_p50, session_p99) = session_load(&store, clients, seconds).await;
    let session_cpu = cpu.per_completion(cpu.completions(session_rate));
    let session_grouping = per_commit(commits, commits_of(&metrics.render()));
    println!(
        "sessions  clients {clients:>2}: {session_rate:>8.1} completions/s  completion p50 {}  p99 {}   (the API's steps, in-process)",
        ms(session_p50),
        ms(session_p99)
    );
    println!("{}", cpu_line("in-process", session_cpu, postgres, session_grouping));
    let server = Server::start(url);
    let (cpu, commits) = (Cpu::now(postgres), commits_of(&exposition_of(&server.url).await));
    server.count_instructions(true);
    let (_, api_rate, api_p50, api_p99) = api_load(&server.url, clients, seconds).await;
    server.count_instructions(false);
    let api_grouping = per_commit(commits, commits_of(&exposition_of(&server.url).await));
    let api_completions = cpu.completions(api_rate);
    let api_cpu = cpu.per_completion(api_completions);
    println!(
        "/graphql  clients {clients:>2}: {api_rate:>8.1} completions/s  completion p50 {}  p99 {}   (API adds {} at p50 over the same steps in-process, {} over the store benchmark's)",
        ms(api_p50),
        ms(api_p99),
        ms(api_p50.saturating_sub(session_p50)),
        ms(api_p50.saturating_sub(runtime_p50))
    );
    println!("{}", cpu_line("client", api_cpu, postgres, api_grouping));
    let seeding = Instant::now();
    seed_tasks(&store, tasks).await;
    println!("seeded {tasks} open tasks in {:.1} s", seeding.elapsed().as_secs_f64());
    let (p50, p99) = support::inbox_latency(&store, tasks).await;
    println!("runtime  group inbox, first 50 by due date: p50 {}  p99 {}", ms(p50), ms(p99));
    let (api50, api99) = api_inbox(&server.url, tasks).await;
    println!(
        "/graphql group inbox, first 50 by due date: p50 {}  p99 {}   (API adds {} at p50)",
        ms(api50),
        ms(api99),
        ms(api50.saturating_sub(p50))
    );
    println!("server peak resident memory: {:.0} MB", peak_rss_mb_of(&server.child.id().to_string()));
    drop(server);
    if let Some(out) = callgrind_out() {
        match counted_instructions(&out) {
            Some(n) => println!(
                "server instructions per completion through /graphql: {:.0} (callgrind, {out})",
                n as f64 / api_completions.max(1.0)
            ),
            None => println!("no instruction count in {out}"),
        }
    }
    store.shutdown().await;
}

fn main() {
    let stores = std::env::var("DOCKET_BENCH_STORES").unwrap_or_else(|_| "sqlite,postgres".into()).to_lowercase();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let metrics = PrometheusBuilder::new().install_recorder().expect("a metrics recorder");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = format!("sqlite://{}", dir.path().join("api-bench.db").display());
        if stores.contains("sqlite") {
            bench("SQLite (WAL, synchronous=FULL)", &sqlite, &metrics).await;
        }
        if !stores.contains("postgres") {
            return;
        }
        match Database::connect(format!("{POSTGRES}/test")).await {
            Ok(admin) => {
                let name = format!("docket_api_bench_{}", std::process::id());
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create");
                bench("PostgreSQL", &format!("{POSTGRES}/{name}"), &metrics).await;
                let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            }
            Err(e) => println!("\nPostgreSQL not reachable at {POSTGRES}/test ({e}); skipped"),
        }
    });
}
