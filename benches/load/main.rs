//! The side-by-side load benchmark (`scripts/bench.sh`; `scripts/bench-smoke.sh` runs
//! `--smoke`). See BENCHMARKS.md.
//!
//! Starts, on loopback, each in its own process and in JSON and SSE response modes:
//! (a) bare rmcp with the same tools and no auth, (b) mcp-auth with RS256 JWTs, per-tool
//! scopes and roles and a filtered list, (c) the official Python SDK with bearer auth
//! (`interop/bench/server.py`). Then drives them with `wrk` in alternating rounds — for each
//! scenario the three servers run back to back, in an order that rotates every round — for
//! `tools/call` and `tools/list`, in the 2026-07-28 era (stateless, `Mcp-Method`/`Mcp-Name`,
//! `_meta`) and the legacy 2025-06-18 era (stateless), at 1, 32 and 256 connections. Prints
//! req/s, p50, p99, errors and the ratio to bare rmcp (per round, then the median), peak RSS of
//! every server and RSS after 100,000 requests with distinct tokens, and checks the targets.
//!
//! ```text
//! load [--rounds N] [--duration SECS] [--tokens N] [--only FILTER] [--no-python] [--out FILE]
//!      [--syscalls]     also count each server's system calls and context switches per
//!                       request (`perf stat`; counts, so the VM's timing noise does not reach them)
//!      [--pin]          servers on CPU 0 with one tokio worker (Python: its one process), wrk
//!                       on CPU 1 (`taskset`): the load generator does not compete with the
//!                       server, and throughput is the server's own work per request
//! load --smoke          a few seconds: every scenario once per server, asserts no errors
//! load serve bare|ours [--sse] [--public-key PATH]      (internal: one server)
//! ```

#[path = "../common/mod.rs"]
mod common;
mod servers;
mod wrk;

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Bare,
    Ours,
    Python,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Bare => "bare rmcp",
            Kind::Ours => "mcp-auth",
            Kind::Python => "python sdk",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    Json,
    Sse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Era {
    Modern,
    Legacy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    Call,
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Scenario {
    method: Method,
    era: Era,
    mode: Mode,
    connections: usize,
}

impl Scenario {
    fn label(&self) -> String {
        format!(
            "{} {} {} c={}",
            match self.method {
                Method::Call => "tools/call",
                Method::List => "tools/list",
            },
            match self.era {
                Era::Modern => "2026-07-28",
                Era::Legacy => "2025-06-18",
            },
            match self.mode {
                Mode::Json => "json",
                Mode::Sse => "sse",
            },
            self.connections
        )
    }
}

const ECHO_TEXT: &str = "hello-bench";
const MODERN: &str = "2026-07-28";
const LEGACY: &str = "2025-06-18";

/// Headers and body of one request of `method` in `era`, with `token`.
fn request(method: Method, era: Era, token: &str) -> (Vec<(&'static str, String)>, String) {
    let mut headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("Accept", "application/json, text/event-stream".to_owned()),
        ("Authorization", format!("Bearer {token}")),
    ];
    let (name, mut params) = match method {
        Method::Call => (
            "tools/call",
            json!({ "name": "echo", "arguments": { "text": ECHO_TEXT } }),
        ),
        Method::List => ("tools/list", json!({})),
    };
    match era {
        Era::Modern => {
            headers.push(("MCP-Protocol-Version", MODERN.to_owned()));
            headers.push(("Mcp-Method", name.to_owned()));
            if method == Method::Call {
                headers.push(("Mcp-Name", "echo".to_owned()));
            }
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientInfo": { "name": "mcp-auth-bench", "version": "1.0" },
                "io.modelcontextprotocol/clientCapabilities": {}
            });
        }
        Era::Legacy => headers.push(("MCP-Protocol-Version", LEGACY.to_owned())),
    }
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": name, "params": params });
    (headers, body.to_string())
}

/// Two strings every correct answer contains (a cheap check `wrk` runs on every response).
fn expected(method: Method) -> [&'static str; 2] {
    match method {
        Method::Call => ["\"result\"", ECHO_TEXT],
        Method::List => ["\"result\"", "\"add\""],
    }
}

/// The full check, for the probes: the JSON-RPC result is exactly the expected answer.
fn check_answer(method: Method, kind: Kind, content_type: &str, body: &str) -> anyhow::Result<()> {
    let message: Value = if content_type.starts_with("text/event-stream") {
        let data = body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .find(|d| d.starts_with('{'))
            .with_context(|| format!("no JSON event in {body:?}"))?;
        serde_json::from_str(data)?
    } else {
        serde_json::from_str(body).with_context(|| format!("not JSON: {body:?}"))?
    };
    let result = message
        .get("result")
        .with_context(|| format!("no result: {message}"))?;
    match method {
        Method::Call => {
            let text = &result["content"][0]["text"];
            ensure!(text == ECHO_TEXT, "{kind:?}: wrong answer {message}");
        }
        Method::List => {
            let mut names: Vec<&str> = result["tools"]
                .as_array()
                .context("no tools")?
                .iter()
                .filter_map(|t| t["name"].as_str())
                .collect();
            names.sort_unstable();
            ensure!(
                names == ["add", "echo"],
                "{kind:?}: the caller should see exactly add and echo, got {names:?}"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Server processes

struct Server {
    kind: Kind,
    mode: Mode,
    child: Child,
    url: String,
    /// A token for this server (its audience is this server's URL).
    token: String,
}

impl Server {
    /// Start one server; with `cpu`, on that CPU only, with one tokio worker.
    fn start(
        kind: Kind,
        mode: Mode,
        keys: &common::KeyPair,
        cpu: Option<usize>,
    ) -> anyhow::Result<Self> {
        let mut cmd = match kind {
            Kind::Python => {
                let python = Path::new(ROOT).join(".venv/bin/python");
                ensure!(
                    python.exists(),
                    "{} is missing: run scripts/setup.sh",
                    python.display()
                );
                let mut c = wrk::command(python, cpu);
                c.arg(Path::new(ROOT).join("interop/bench/server.py"))
                    .arg("--issuer")
                    .arg(servers::ISSUER);
                c
            }
            Kind::Bare | Kind::Ours => {
                let mut c = wrk::command(std::env::current_exe()?, cpu);
                c.args(["serve", if kind == Kind::Bare { "bare" } else { "ours" }]);
                if cpu.is_some() {
                    // Read by tokio's runtime builder.
                    c.env("TOKIO_WORKER_THREADS", "1");
                }
                c
            }
        };
        cmd.arg("--public-key").arg(&keys.public_path);
        if mode == Mode::Sse {
            cmd.arg("--sse");
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("start {kind:?}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            for _ in lines {} // keep the pipe drained
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                bail!("{kind:?} {mode:?} did not start: {other:?}");
            }
        };
        let addr: SocketAddr = line
            .strip_prefix("LISTEN ")
            .with_context(|| format!("unexpected first line {line:?}"))?
            .parse()?;
        let url = format!("http://{addr}/mcp");
        let token = keys.sign(&common::claims(
            servers::ISSUER,
            &url,
            "bench-user",
            "mcp bench:write",
            &["editor"],
        ));
        Ok(Self {
            kind,
            mode,
            child,
            url,
            token,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the server process has used (user + system), in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the `(comm)`: state is field 3; utime and stime are fields 14 and 15.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12)) / clock_ticks_per_second()
    }

    /// (VmRSS, VmHWM) in KiB.
    fn memory(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Send `n` requests of every scenario shape through reqwest and check each answer.
    async fn probe(
        &self,
        client: &reqwest::Client,
        method: Method,
        era: Era,
        n: usize,
    ) -> anyhow::Result<()> {
        let (headers, body) = request(method, era, &self.token);
        let mut tasks = Vec::new();
        for _ in 0..n {
            let mut req = client.post(&self.url).body(body.clone());
            for (k, v) in &headers {
                req = req.header(*k, v);
            }
            tasks.push(async move {
                let res = req.send().await?;
                let status = res.status();
                let ct = res
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let text = res.text().await?;
                ensure!(status == 200, "status {status}: {text}");
                check_answer(method, self.kind, &ct, &text)
            });
        }
        for r in futures_util::future::join_all(tasks).await {
            r.with_context(|| {
                format!(
                    "{} {:?} {:?} {:?}",
                    self.kind.label(),
                    self.mode,
                    method,
                    era
                )
            })?;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
    rounds: usize,
    duration: Duration,
    tokens: usize,
    only: Option<String>,
    python: bool,
    out: Option<PathBuf>,
    smoke: bool,
    syscalls: bool,
    pin: bool,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        rounds: 3,
        duration: Duration::from_secs(3),
        tokens: 100_000,
        only: None,
        python: true,
        out: None,
        smoke: false,
        syscalls: false,
        pin: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--rounds" => o.rounds = value()?.parse()?,
            "--duration" => o.duration = Duration::from_secs(value()?.parse()?),
            "--tokens" => o.tokens = value()?.parse()?,
            "--only" => o.only = Some(value()?.clone()),
            "--out" => o.out = Some(PathBuf::from(value()?)),
            "--no-python" => o.python = false,
            "--smoke" => o.smoke = true,
            "--syscalls" => o.syscalls = true,
            "--pin" => o.pin = true,
            "--bench" => {} // added by `cargo bench`
            other => bail!("unknown option {other}; see benches/load/main.rs"),
        }
    }
    ensure!(o.rounds >= 1, "--rounds must be at least 1");
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return servers::serve(&args[1..]);
    }
    // `cargo test --benches` runs bench targets without `--bench`: nothing to do there (the
    // smoke run is scripts/bench-smoke.sh).
    if !args.iter().any(|a| a == "--bench" || a == "--smoke")
        && std::env::var_os("MCP_AUTH_LOAD").is_none()
    {
        println!("load benchmark: run scripts/bench.sh (or scripts/bench-smoke.sh)");
        return Ok(());
    }
    let o = options(&args)?;
    if o.smoke { smoke(&o) } else { full(&o) }
}

// ---------------------------------------------------------------------------------------------
// Smoke: every scenario shape once against every server, no timing.

fn smoke(o: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = common::temp_dir("smoke");
    let keys = common::KeyPair::generate(Algorithm::RS256, &dir);
    let mut servers = Vec::new();
    for mode in [Mode::Json, Mode::Sse] {
        for kind in [Kind::Bare, Kind::Ours, Kind::Python] {
            if kind == Kind::Python && !o.python {
                continue;
            }
            servers.push(Server::start(kind, mode, &keys, None)?);
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::new();
    let mut checks = 0;
    rt.block_on(async {
        for s in &servers {
            for method in [Method::Call, Method::List] {
                for era in [Era::Modern, Era::Legacy] {
                    s.probe(&client, method, era, 8).await?;
                    checks += 8;
                }
            }
        }
        // A few distinct tokens, each verified cold.
        let ours = servers.iter().find(|s| s.kind == Kind::Ours).expect("ours");
        let n = o.tokens.min(4);
        flood(&client, ours, &keys, n, 8).await?;
        checks += n;
        anyhow::Ok(())
    })?;
    let mut wrk_note = "wrk not installed: skipped the wrk run".to_owned();
    if Command::new("wrk").arg("--version").output().is_ok() {
        let s = servers
            .iter()
            .find(|s| s.kind == Kind::Ours && s.mode == Mode::Sse)
            .expect("ours");
        let (headers, body) = request(Method::Call, Era::Modern, &s.token);
        let m = wrk::run(
            &wrk::Spec {
                url: &s.url,
                headers: &headers,
                body: &body,
                expect: expected(Method::Call),
            },
            4,
            Duration::from_secs(1),
            &dir,
            None,
        )?;
        ensure!(m.requests > 0, "wrk sent no request");
        ensure!(m.errors == 0, "wrk: {} errors of {}", m.errors, m.requests);
        wrk_note = format!("wrk: {} requests, 0 errors", m.requests);
    }
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "bench-smoke: {checks} checked answers over 3 servers x 2 response modes x 2 eras x 2 methods, 0 errors; {wrk_note}; {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `n` `tools/call` requests to `server`, each with a distinct freshly minted token, `conc` at
/// a time; every answer checked.
async fn flood(
    client: &reqwest::Client,
    server: &Server,
    keys: &common::KeyPair,
    n: usize,
    conc: usize,
) -> anyhow::Result<()> {
    let tokens = mint_distinct(keys, &server.url, n);
    send_all(client, server, Arc::new(tokens), conc).await
}

fn mint_distinct(keys: &common::KeyPair, audience: &str, n: usize) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let per = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t * per..((t + 1) * per).min(n))
                        .map(|i| {
                            keys.sign(&common::claims(
                                servers::ISSUER,
                                audience,
                                &format!("user-{i:06}"),
                                "mcp bench:write",
                                &["editor"],
                            ))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("mint thread"))
            .collect()
    })
}

async fn send_all(
    client: &reqwest::Client,
    server: &Server,
    tokens: Arc<Vec<String>>,
    conc: usize,
) -> anyhow::Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..conc {
        let (client, tokens, next, url) = (
            client.clone(),
            tokens.clone(),
            next.clone(),
            server.url.clone(),
        );
        let kind = server.kind;
        workers.push(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(token) = tokens.get(i) else {
                    return anyhow::Ok(());
                };
                let (headers, body) = request(Method::Call, Era::Modern, token);
                let mut req = client.post(&url).body(body);
                for (k, v) in &headers {
                    req = req.header(*k, v);
                }
                let res = req.send().await?;
                let status = res.status();
                let ct = res
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let text = res.text().await?;
                ensure!(status == 200, "token {i}: status {status}: {text}");
                check_answer(Method::Call, kind, &ct, &text)?;
            }
        });
    }
    for r in futures_util::future::join_all(workers).await {
        r?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The full run

#[derive(Debug, Clone, Copy)]
struct Run {
    round: usize,
    scenario: Scenario,
    kind: Kind,
    m: wrk::Measured,
    /// Server CPU time (user + system) per answered request, in µs.
    cpu_us: f64,
    /// System calls and context switches of the server per answered request (`--syscalls`).
    kernel: Option<(f64, f64)>,
}

/// `perf stat` counting one server's system calls and context switches (all its threads)
/// while a run lasts.
struct KernelCount {
    perf: Child,
    file: PathBuf,
}

impl KernelCount {
    fn start(pid: u32, dir: &Path) -> anyhow::Result<Self> {
        let file = dir.join(format!("perf-{pid}.csv"));
        let perf = Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                "raw_syscalls:sys_enter,context-switches",
            ])
            .args(["-p", &pid.to_string(), "-o"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("--syscalls needs `perf` (Debian package linux-perf)")?;
        // perf attaches to every thread of the process before the run starts.
        std::thread::sleep(Duration::from_millis(100));
        Ok(Self { perf, file })
    }

    /// Stop counting: (system calls, context switches).
    fn finish(mut self) -> anyhow::Result<(u64, u64)> {
        Command::new("kill")
            .args(["-INT", &self.perf.id().to_string()])
            .status()?;
        self.perf.wait()?;
        let text = std::fs::read_to_string(&self.file)?;
        let count = |event: &str| {
            text.lines()
                .find(|l| l.contains(event))
                .and_then(|l| l.split(',').next())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .with_context(|| format!("perf stat counted no {event}: {text}"))
        };
        Ok((count("raw_syscalls:sys_enter")?, count("context-switches")?))
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn fmt_us(us: f64) -> String {
    if !us.is_finite() {
        "-".into()
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024 / 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem} GiB, Linux {}", kernel.trim())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn full(o: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    Command::new("wrk")
        .arg("--version")
        .output()
        .context("wrk is not installed: scripts/bench.sh installs it (apt-get install wrk)")?;
    let dir = common::temp_dir("load");
    let keys = common::KeyPair::generate(Algorithm::RS256, &dir);
    let mut out = String::new();
    let load_start = loadavg();
    writeln!(out, "# mcp-auth load benchmark\n")?;
    writeln!(out, "- machine: {}", machine())?;
    writeln!(
        out,
        "- load generator: wrk 1 thread, on the same machine (loopback); {} rounds x {} s per run; {}",
        o.rounds,
        o.duration.as_secs(),
        if o.pin {
            "pinned (--pin): every server on CPU 0 with 1 tokio worker (bare, mcp-auth) / its 1 uvicorn process (python), wrk on CPU 1"
        } else {
            "servers on 2 tokio workers (bare, mcp-auth) / 1 uvicorn process (python)"
        }
    )?;
    writeln!(out, "- load average at start: {load_start}")?;

    let kinds: Vec<Kind> = [Kind::Bare, Kind::Ours, Kind::Python]
        .into_iter()
        .filter(|k| o.python || *k != Kind::Python)
        .collect();
    let mut servers: BTreeMap<(Kind, Mode), Server> = BTreeMap::new();
    for mode in [Mode::Json, Mode::Sse] {
        for &kind in &kinds {
            servers.insert(
                (kind, mode),
                Server::start(kind, mode, &keys, o.pin.then_some(0))?,
            );
        }
    }
    // Every server answers every shape correctly before anything is timed.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = reqwest::Client::new();
    rt.block_on(async {
        for s in servers.values() {
            for method in [Method::Call, Method::List] {
                for era in [Era::Modern, Era::Legacy] {
                    s.probe(&client, method, era, 4).await?;
                }
            }
        }
        anyhow::Ok(())
    })?;

    let mut scenarios = Vec::new();
    for method in [Method::Call, Method::List] {
        for era in [Era::Modern, Era::Legacy] {
            for mode in [Mode::Json, Mode::Sse] {
                for connections in [1, 32, 256] {
                    let s = Scenario {
                        method,
                        era,
                        mode,
                        connections,
                    };
                    if o.only
                        .as_ref()
                        .is_none_or(|f| s.label().contains(f.as_str()))
                    {
                        scenarios.push(s);
                    }
                }
            }
        }
    }
    ensure!(!scenarios.is_empty(), "--only matches no scenario");

    // Warm-up: one second per server.
    for s in servers.values() {
        let (headers, body) = request(Method::Call, Era::Modern, &s.token);
        wrk::run(
            &wrk::Spec {
                url: &s.url,
                headers: &headers,
                body: &body,
                expect: expected(Method::Call),
            },
            32,
            Duration::from_secs(1),
            &dir,
            o.pin.then_some(1),
        )?;
    }

    let mut runs: Vec<Run> = Vec::new();
    let total = o.rounds * scenarios.len() * kinds.len();
    for round in 0..o.rounds {
        for scenario in &scenarios {
            let mut order = kinds.clone();
            order.rotate_left(round % kinds.len());
            for kind in order {
                let s = &servers[&(kind, scenario.mode)];
                let (headers, body) = request(scenario.method, scenario.era, &s.token);
                let counting = if o.syscalls {
                    Some(KernelCount::start(s.pid(), &dir)?)
                } else {
                    None
                };
                let cpu_before = s.cpu_seconds();
                let m = wrk::run(
                    &wrk::Spec {
                        url: &s.url,
                        headers: &headers,
                        body: &body,
                        expect: expected(scenario.method),
                    },
                    scenario.connections,
                    o.duration,
                    &dir,
                    o.pin.then_some(1),
                )?;
                let cpu_us = (s.cpu_seconds() - cpu_before) * 1e6 / m.requests.max(1) as f64;
                let kernel = match counting {
                    Some(c) => {
                        let (calls, switches) = c.finish()?;
                        let n = m.requests.max(1) as f64;
                        Some((calls as f64 / n, switches as f64 / n))
                    }
                    None => None,
                };
                runs.push(Run {
                    round,
                    scenario: *scenario,
                    kind,
                    m,
                    cpu_us,
                    kernel,
                });
                eprintln!(
                    "[{}/{total}] round {} {:<34} {:<10} {:>9.0} req/s  p50 {:>9}  p99 {:>9}  cpu {:>6.1} µs/req  errors {}{}",
                    runs.len(),
                    round + 1,
                    scenario.label(),
                    kind.label(),
                    m.rps,
                    fmt_us(m.p50_us),
                    fmt_us(m.p99_us),
                    cpu_us,
                    m.errors,
                    kernel.map_or(String::new(), |(calls, switches)| format!(
                        "  syscalls {calls:.2}/req  switches {switches:.2}/req"
                    ))
                );
            }
        }
    }
    let load_end = loadavg();
    let peak: BTreeMap<(Kind, Mode), (u64, u64)> =
        servers.iter().map(|(k, s)| (*k, s.memory())).collect();

    // ---- tables
    let get = |sc: &Scenario, kind: Kind| -> Vec<&Run> {
        runs.iter()
            .filter(|r| r.scenario == *sc && r.kind == kind)
            .collect()
    };
    let per_round_ratio = |sc: &Scenario, a: Kind, b: Kind, f: &dyn Fn(&Run) -> f64| {
        (0..o.rounds)
            .filter_map(|round| {
                let x = runs
                    .iter()
                    .find(|r| r.round == round && r.scenario == *sc && r.kind == a)?;
                let y = runs
                    .iter()
                    .find(|r| r.round == round && r.scenario == *sc && r.kind == b)?;
                Some(f(x) / f(y))
            })
            .collect::<Vec<f64>>()
    };
    let med = |sc: &Scenario, kind: Kind, f: &dyn Fn(&Run) -> f64| {
        median(get(sc, kind).iter().map(|r| f(r)).collect())
    };
    let errors =
        |sc: &Scenario, kind: Kind| -> u64 { get(sc, kind).iter().map(|r| r.m.errors).sum() };
    let rps = |r: &Run| r.m.rps;
    let p50 = |r: &Run| r.m.p50_us;
    let p99 = |r: &Run| r.m.p99_us;
    let cpu = |r: &Run| r.cpu_us;
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let python = kinds.contains(&Kind::Python);

    writeln!(out, "- load average at end: {load_end}\n")?;
    writeln!(
        out,
        "## Throughput (req/s, median of {} rounds; ratios: median of the per-round ratios, each round's values in brackets)\n",
        o.rounds
    )?;
    writeln!(
        out,
        "| scenario | bare rmcp | mcp-auth | mcp-auth / bare | python sdk | mcp-auth / python | server CPU µs/req bare / ours (ours/bare) | errors (bare/ours/py) |"
    )?;
    writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    let mut c32_ratios = Vec::new();
    let mut cpu_ratios: Vec<(String, f64)> = Vec::new();
    let mut py_ratios = Vec::new();
    let mut all_errors = 0;
    for sc in &scenarios {
        let r = per_round_ratio(sc, Kind::Ours, Kind::Bare, &rps);
        let (py_rps, py_ratio, py_err) = if python {
            let pr = per_round_ratio(sc, Kind::Ours, Kind::Python, &rps);
            let m = median(pr.clone());
            py_ratios.push((sc.label(), m));
            (
                format!("{:.0}", med(sc, Kind::Python, &rps)),
                format!("{m:.1}x"),
                errors(sc, Kind::Python),
            )
        } else {
            ("-".into(), "-".into(), 0)
        };
        let ratio = median(r.clone());
        if sc.connections == 32 {
            c32_ratios.push((sc.label(), ratio));
        }
        let (eb, eo) = (errors(sc, Kind::Bare), errors(sc, Kind::Ours));
        all_errors += eb + eo + py_err;
        let cpu_ratio = median(per_round_ratio(sc, Kind::Ours, Kind::Bare, &cpu));
        cpu_ratios.push((sc.label(), cpu_ratio));
        writeln!(
            out,
            "| {} | {:.0} | {:.0} | **{:.3}** [{}] | {} | {} | {:.1} / {:.1} ({:.3}) | {}/{}/{} |",
            sc.label(),
            med(sc, Kind::Bare, &rps),
            med(sc, Kind::Ours, &rps),
            ratio,
            list(&r),
            py_rps,
            py_ratio,
            med(sc, Kind::Bare, &cpu),
            med(sc, Kind::Ours, &cpu),
            cpu_ratio,
            eb,
            eo,
            py_err
        )?;
    }
    writeln!(
        out,
        "\n## Latency (median over rounds of each run's p50 / p99)\n"
    )?;
    writeln!(
        out,
        "| scenario | bare p50 | mcp-auth p50 | p50 ratio | bare p99 | mcp-auth p99 | python p50 | python p99 |"
    )?;
    writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    let mut c1 = Vec::new();
    for sc in &scenarios {
        let ratio = median(per_round_ratio(sc, Kind::Ours, Kind::Bare, &p50));
        let ours_p50 = med(sc, Kind::Ours, &p50);
        if sc.connections == 1 {
            c1.push((sc.label(), ratio, ours_p50));
        }
        writeln!(
            out,
            "| {} | {} | {} | {:.2} | {} | {} | {} | {} |",
            sc.label(),
            fmt_us(med(sc, Kind::Bare, &p50)),
            fmt_us(ours_p50),
            ratio,
            fmt_us(med(sc, Kind::Bare, &p99)),
            fmt_us(med(sc, Kind::Ours, &p99)),
            if python {
                fmt_us(med(sc, Kind::Python, &p50))
            } else {
                "-".into()
            },
            if python {
                fmt_us(med(sc, Kind::Python, &p99))
            } else {
                "-".into()
            },
        )?;
    }

    if o.syscalls {
        writeln!(
            out,
            "\n## Kernel work per request (`perf stat` on the whole server process; median over rounds)\n"
        )?;
        writeln!(
            out,
            "| scenario | syscalls bare | syscalls mcp-auth | syscalls python | context switches bare | context switches mcp-auth | context switches python |"
        )?;
        writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        let calls = |r: &Run| r.kernel.map_or(f64::NAN, |k| k.0);
        let switches = |r: &Run| r.kernel.map_or(f64::NAN, |k| k.1);
        let cell = |sc: &Scenario, kind: Kind, f: &dyn Fn(&Run) -> f64| {
            if kinds.contains(&kind) {
                format!("{:.2}", med(sc, kind, f))
            } else {
                "-".into()
            }
        };
        for sc in &scenarios {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                sc.label(),
                cell(sc, Kind::Bare, &calls),
                cell(sc, Kind::Ours, &calls),
                cell(sc, Kind::Python, &calls),
                cell(sc, Kind::Bare, &switches),
                cell(sc, Kind::Ours, &switches),
                cell(sc, Kind::Python, &switches),
            )?;
        }
    }

    // ---- memory: peak under load, then 100k distinct tokens
    writeln!(out, "\n## Memory\n")?;
    writeln!(out, "| server | mode | peak RSS after the load rounds |")?;
    writeln!(out, "| --- | --- | ---: |")?;
    for ((kind, mode), (_, hwm)) in &peak {
        writeln!(
            out,
            "| {} | {:?} | {:.1} MiB |",
            kind.label(),
            mode,
            *hwm as f64 / 1024.0
        )?;
    }
    let mut rss_delta = None;
    if o.tokens > 0 {
        eprintln!("minting {} distinct RS256 tokens ...", o.tokens);
        let t = Instant::now();
        let ours = &servers[&(Kind::Ours, Mode::Json)];
        let bare = &servers[&(Kind::Bare, Mode::Json)];
        let tokens = Arc::new(mint_distinct(&keys, &ours.url, o.tokens));
        eprintln!("minted in {:.1}s; sending ...", t.elapsed().as_secs_f64());
        let mut rows = Vec::new();
        for s in [bare, ours] {
            let before = s.memory();
            let t = Instant::now();
            rt.block_on(send_all(&client, s, tokens.clone(), 32))?;
            let secs = t.elapsed().as_secs_f64();
            let after = s.memory();
            rows.push((s.kind, before, after, secs));
        }
        writeln!(
            out,
            "\n{} `tools/call` requests (2026-07-28, JSON), each with a distinct RS256 token (every one verified cold by mcp-auth), 32 at a time, all answers checked:\n",
            o.tokens
        )?;
        writeln!(out, "| server | RSS before | RSS after | peak RSS | time |")?;
        writeln!(out, "| --- | ---: | ---: | ---: | ---: |")?;
        for (kind, before, after, secs) in &rows {
            writeln!(
                out,
                "| {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {secs:.1} s |",
                kind.label(),
                before.0 as f64 / 1024.0,
                after.0 as f64 / 1024.0,
                after.1 as f64 / 1024.0
            )?;
        }
        let delta = (rows[1].2.0 as f64 - rows[0].2.0 as f64) / 1024.0;
        rss_delta = Some(delta);
    }

    // ---- targets
    writeln!(out, "\n## Targets\n")?;
    let verdict = |ok: bool| if ok { "**met**" } else { "**missed**" };
    if !c32_ratios.is_empty() {
        let worst = c32_ratios
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("nonempty");
        writeln!(
            out,
            "- throughput at c=32 >= 0.95x bare rmcp: {} (worst {:.3} in {}; all: {})",
            verdict(worst.1 >= 0.95),
            worst.1,
            worst.0,
            c32_ratios
                .iter()
                .map(|(l, r)| format!("{l}: {r:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    if !cpu_ratios.is_empty() {
        let c32: Vec<f64> = cpu_ratios
            .iter()
            .filter(|(l, _)| l.ends_with("c=32"))
            .map(|x| x.1)
            .collect();
        writeln!(
            out,
            "- (context, less sensitive to other load on the machine) server CPU per request, mcp-auth / bare: median {:.3} over all scenarios, {:.3} at c=32 (1/0.95 = 1.053 would match the throughput target)",
            median(cpu_ratios.iter().map(|x| x.1).collect()),
            median(c32)
        )?;
    }
    if !c1.is_empty() {
        let worst_ratio = c1.iter().map(|x| x.1).fold(0.0, f64::max);
        let worst_p50 = c1.iter().map(|x| x.2).fold(0.0, f64::max);
        writeln!(
            out,
            "- p50 at c=1 <= 1.1x bare: {} (worst {worst_ratio:.2}); p50 at c=1 < 2 ms in every mode: {} (worst {})",
            verdict(worst_ratio <= 1.1),
            verdict(worst_p50 < 2000.0),
            fmt_us(worst_p50)
        )?;
    }
    if python && !py_ratios.is_empty() {
        let worst = py_ratios
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("nonempty");
        let c32_worst = py_ratios
            .iter()
            .filter(|(l, _)| l.ends_with("c=32"))
            .map(|x| x.1)
            .fold(f64::INFINITY, f64::min);
        writeln!(
            out,
            "- >= 30x the Python SDK: at c=32 {} (worst {c32_worst:.1}x); over every scenario worst {:.1}x ({})",
            verdict(c32_worst >= 30.0),
            worst.1,
            worst.0
        )?;
    }
    if let Some(d) = rss_delta {
        writeln!(
            out,
            "- RSS after {} distinct tokens <= bare + 30 MB: {} (mcp-auth - bare = {d:.1} MiB)",
            o.tokens,
            verdict(d <= 30.0 * 1e6 / (1024.0 * 1024.0))
        )?;
    }
    writeln!(out, "- errors over all runs: {all_errors}")?;
    writeln!(
        out,
        "\n(total time {:.0} s)",
        started.elapsed().as_secs_f64()
    )?;

    println!("{out}");
    if let Some(path) = &o.out {
        std::fs::write(path, &out)?;
        eprintln!("written to {}", path.display());
    }
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
    ensure!(all_errors == 0, "{all_errors} errors during the load runs");
    Ok(())
}
