//! Fault injection against a real authorization server process (`interop/idp/server.mjs`,
//! oauth2-mock-server, see `common/idp.rs`) and a real RFC 7662 introspection endpoint (the
//! IdP's own `/introspect`, reached through a fault-injecting HTTP proxy written here, since
//! the IdP has no failure modes for introspection).
//!
//! Faults: slow beyond the configured timeout, 5xx, garbage JSON, an oversized answer, a JWKS
//! of 10,000 keys, connection refused. For each one, over many rounds of concurrent calls:
//!
//! - every call fails closed (503 with `Retry-After`, or 401 for a token whose key is not
//!   there), never 200, never a hang: the slowest answer is measured against the configured
//!   timeout;
//! - no growth: tokio's alive-task count and the process RSS are read before and after;
//! - recovery: when the IdP is well again, calls succeed again, and the time it takes is
//!   measured.
//!
//! The tests take a process-wide lock so that the RSS and task figures of one are not
//! disturbed by another.

#[path = "common/idp.rs"]
mod idp;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use idp::{CLIENT_ID, CLIENT_SECRET, Idp, IdpOptions, Mcp, TokenRequest, free_port};
use mcp_auth::{
    Introspection,
    verify::{HttpOptions, JwksOptions, JwtVerifier},
};
use serde_json::{Value, json};

/// One test at a time: RSS and task counts are process-wide.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The IdP timeout configured in every verifier here.
const TIMEOUT: Duration = Duration::from_millis(500);
/// How much later than the timeout a refusal may arrive (debug build, loaded machine).
const SLACK: Duration = Duration::from_millis(750);
/// Concurrent calls per round.
const CONCURRENCY: usize = 16;
/// Largest RSS growth over a fault's rounds (after two warm-up rounds) taken as allocator
/// noise: for 320 calls, a leak of 52 KiB per call would exceed it.
const RSS_SLACK: u64 = 16 << 20;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

// ---------------------------------------------------------------------------------------------
// A fault-injecting proxy in front of the IdP
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mode {
    /// Forward to the IdP.
    Ok,
    /// Wait this long, then forward.
    Slow(Duration),
    /// Answer with this status.
    Status(u16),
    /// 200 with truncated JSON.
    Garbage,
    /// 200 with a JSON document of this many bytes.
    Huge(usize),
    /// The IdP's JWKS padded with junk RSA keys to `count` keys, the IdP's own first or last.
    ManyKeys { count: usize, real_first: bool },
}

struct Proxy {
    upstream: String,
    port: u16,
    mode: Mutex<Mode>,
    hits: AtomicUsize,
    client: reqwest::Client,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The padded JWKS, made once per mode (so that the proxy's own allocations do not blur
    /// the RSS figures).
    many_keys: Mutex<Option<(bool, Arc<String>)>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Arc<Self> {
        let proxy = Arc::new(Self {
            upstream: upstream.to_owned(),
            port: free_port(),
            mode: Mutex::new(Mode::Ok),
            hits: AtomicUsize::new(0),
            client: reqwest::Client::new(),
            task: Mutex::new(None),
            many_keys: Mutex::new(None),
        });
        proxy.listen().await;
        proxy
    }

    /// Accept connections (again).
    async fn listen(self: &Arc<Self>) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the proxy port");
        let app = Router::new()
            .route("/introspect", post(introspect))
            .route("/jwks", get(jwks))
            .layer(axum::middleware::map_response(close_connection))
            .with_state(self.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Stop accepting: connections are refused until [`Proxy::listen`]. (Every answer closes
    /// its connection, so no pooled connection survives.)
    fn refuse(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn mode(&self) -> Mode {
        self.mode.lock().unwrap().clone()
    }

    /// Answer for `mode`, or `None` to forward.
    async fn fault(&self, mode: &Mode) -> Option<Response> {
        match mode {
            Mode::Ok | Mode::ManyKeys { .. } => None,
            Mode::Slow(d) => {
                tokio::time::sleep(*d).await;
                None
            }
            Mode::Status(s) => Some(
                (
                    StatusCode::from_u16(*s).unwrap(),
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"error":"server_error"}"#,
                )
                    .into_response(),
            ),
            Mode::Garbage => Some(
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"active": tru"#,
                )
                    .into_response(),
            ),
            Mode::Huge(n) => {
                // Made once: the proxy's own allocations must not blur the RSS figures.
                static HUGE: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
                let body = HUGE.get_or_init(|| {
                    Bytes::from(format!(r#"{{"active":true,"pad":"{}"}}"#, "x".repeat(*n)))
                });
                Some(([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response())
            }
        }
    }
}

async fn close_connection(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CONNECTION, "close".parse().unwrap());
    res
}

async fn introspect(State(p): State<Arc<Proxy>>, headers: HeaderMap, body: Bytes) -> Response {
    p.hits.fetch_add(1, Ordering::SeqCst);
    let mode = p.mode();
    if let Some(r) = p.fault(&mode).await {
        return r;
    }
    let mut req = p
        .client
        .post(format!("{}/introspect", p.upstream))
        .header(
            header::CONTENT_TYPE,
            headers
                .get(header::CONTENT_TYPE)
                .cloned()
                .unwrap_or_else(|| "application/x-www-form-urlencoded".parse().unwrap()),
        )
        .body(body);
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        req = req.header(header::AUTHORIZATION, auth.clone());
    }
    match req.send().await {
        Ok(res) => {
            let status = res.status();
            let body = res.bytes().await.unwrap_or_default();
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

async fn jwks(State(p): State<Arc<Proxy>>) -> Response {
    p.hits.fetch_add(1, Ordering::SeqCst);
    let mode = p.mode();
    if let Some(r) = p.fault(&mode).await {
        return r;
    }
    if let Mode::ManyKeys { real_first, .. } = mode
        && let Some((first, body)) = p.many_keys.lock().unwrap().clone()
        && first == real_first
    {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    let Ok(res) = p.client.get(format!("{}/jwks", p.upstream)).send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut set: Value = res.json().await.unwrap_or_default();
    if let Mode::ManyKeys { count, real_first } = mode {
        let real: Vec<Value> = set["keys"].as_array().cloned().unwrap_or_default();
        let junk = (0..count.saturating_sub(real.len())).map(|i| {
            let mut n = [0xc3u8; 256];
            n[..8].copy_from_slice(&(i as u64).to_be_bytes());
            n[0] |= 0x80;
            json!({ "kty": "RSA", "kid": format!("junk-{i}"), "use": "sig", "alg": "RS256",
                    "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB" })
        });
        let keys: Vec<Value> = if real_first {
            real.into_iter().chain(junk).collect()
        } else {
            junk.chain(real).collect()
        };
        set = json!({ "keys": keys });
        *p.many_keys.lock().unwrap() = Some((real_first, Arc::new(set.to_string())));
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        set.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Measured {
    calls: usize,
    statuses: std::collections::BTreeMap<u16, usize>,
    without_retry_after: usize,
    latencies: Vec<Duration>,
    tasks_before: usize,
    tasks_after: usize,
    rss_before: u64,
    rss_after: u64,
}

impl Measured {
    fn max(&self) -> Duration {
        self.latencies.iter().copied().max().unwrap_or_default()
    }
    fn p50(&self) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l.get(l.len() / 2).copied().unwrap_or_default()
    }
}

/// What a `whoami` call got.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
}

/// `whoami` (2026-07-28) on a fresh connection each time: no idle keep-alive connection (and
/// so no server-side connection task) outlives a call, so the task count measures the server
/// and its verifier only.
async fn whoami(mcp: &Mcp, token: &str) -> Answer {
    static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(|| {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    });
    let res = idp::whoami_request(&CLIENT, &mcp.url, token)
        .header("Connection", "close")
        .send()
        .await
        .expect("POST /mcp");
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let _ = res.bytes().await;
    Answer {
        status,
        retry_after,
    }
}

/// `rounds` rounds of `CONCURRENCY` concurrent `whoami` calls under a fault (after a
/// warm-up round), with tasks and RSS read before and after.
async fn hammer(mcp: &Mcp, token: &str, rounds: usize) -> Measured {
    let mut m = Measured::default();
    let round = || {
        futures_util::future::join_all((0..CONCURRENCY).map(|_| async {
            let start = Instant::now();
            let a = whoami(mcp, token).await;
            (a, start.elapsed())
        }))
    };
    // Warm up (connections, allocator), then settle.
    round().await;
    round().await;
    settle(usize::MAX).await;
    m.tasks_before = alive_tasks();
    m.rss_before = rss_bytes();
    for _ in 0..rounds {
        for (a, t) in round().await {
            m.calls += 1;
            *m.statuses.entry(a.status).or_default() += 1;
            if a.status == 503 && a.retry_after.is_none() {
                m.without_retry_after += 1;
            }
            m.latencies.push(t);
        }
    }
    m.tasks_after = settle(m.tasks_before).await;
    m.rss_after = rss_bytes();
    m
}

/// Wait (at most 3 s) until no more than `target` tasks are alive; the count then.
async fn settle(target: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(3);
    tokio::time::sleep(Duration::from_millis(100)).await;
    while alive_tasks() > target && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    alive_tasks()
}

/// Call until 200; how long that took (at most `within`).
async fn recovery(mcp: &Mcp, token: &str, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        let a = whoami(mcp, token).await;
        if a.status == 200 {
            return Some(start.elapsed());
        }
        assert!(
            matches!(a.status, 401 | 503),
            "while recovering: unexpected {a:?}"
        );
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Assert the fault's figures and print them.
fn check(name: &str, m: &Measured, allowed: &[u16], budget: Duration, recovered: Option<Duration>) {
    eprintln!(
        "fault {name}: {} calls → {:?}; latency p50 {:?} max {:?} (budget {:?}); alive tasks \
         {} → {}; RSS {:.1} → {:.1} MiB; recovered in {:?}",
        m.calls,
        m.statuses,
        m.p50(),
        m.max(),
        budget,
        m.tasks_before,
        m.tasks_after,
        mib(m.rss_before),
        mib(m.rss_after),
        recovered
    );
    for status in m.statuses.keys() {
        assert!(
            allowed.contains(status),
            "{name}: status {status} under the fault ({:?})",
            m.statuses
        );
    }
    assert_eq!(m.without_retry_after, 0, "{name}: 503 without Retry-After");
    assert!(
        m.max() <= budget,
        "{name}: slowest refusal {:?}, budget {budget:?}",
        m.max()
    );
    assert!(
        m.tasks_after <= m.tasks_before + 2,
        "{name}: alive tasks grew from {} to {}",
        m.tasks_before,
        m.tasks_after
    );
    assert!(
        m.rss_after <= m.rss_before + RSS_SLACK,
        "{name}: RSS grew from {:.1} to {:.1} MiB",
        mib(m.rss_before),
        mib(m.rss_after)
    );
    assert!(recovered.is_some(), "{name}: no recovery");
}

// ---------------------------------------------------------------------------------------------
// JWKS faults, on the IdP process itself
// ---------------------------------------------------------------------------------------------

/// A discovery-based verifier with a short timeout and backoff, on a fresh server.
async fn jwt_server(issuer: &str) -> (Mcp, String) {
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::discover(issuer)
            .audience(&resource)
            .no_cache()
            .http(
                HttpOptions::default()
                    .timeout(TIMEOUT)
                    .connect_timeout(TIMEOUT),
            )
            .jwks_options(
                JwksOptions::default()
                    .retry_backoff(Duration::from_millis(100), Duration::from_millis(300)),
            )
            .build()
            .unwrap(),
    );
    (mcp, resource)
}

fn token_request(resource: &str) -> TokenRequest {
    TokenRequest::new("fault-cli")
        .scope("mcp")
        .audience(resource)
}

/// The IdP's JWKS endpoint stalls, fails or answers garbage before the verifier ever had
/// keys: every call is 503 within the timeout; then the endpoint heals.
async fn jwks_mode_fault(mode: &str, rounds: usize) {
    let _serial = SERIAL.lock().await;
    let idp = Idp::start().await;
    let (mcp, resource) = jwt_server(&idp.issuer).await;
    let token = idp.token(&token_request(&resource)).await;
    idp.jwks_mode(mode).await;
    let m = hammer(&mcp, &token, rounds).await;
    let fetches = idp.count("jwks").await;
    idp.jwks_mode("ok").await;
    let recovered = recovery(&mcp, &token, Duration::from_secs(5)).await;
    check(
        &format!("JWKS {mode}"),
        &m,
        &[503],
        TIMEOUT + SLACK,
        recovered,
    );
    eprintln!(
        "fault JWKS {mode}: {fetches} JWKS requests reached the IdP for {} calls",
        m.calls + CONCURRENCY
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_stalling_beyond_the_timeout() {
    jwks_mode_fault("stall", 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_answering_5xx() {
    jwks_mode_fault("error", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_answering_garbage() {
    jwks_mode_fault("garbage", 20).await;
}

/// The IdP process dies (connection refused) before the verifier had keys, then comes back
/// on the same port with the same keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_connection_refused_then_back() {
    let _serial = SERIAL.lock().await;
    let port = free_port();
    let keys = std::env::temp_dir().join(format!(
        "mcp-auth-faults-keys-{}-{port}.json",
        std::process::id()
    ));
    let opts = IdpOptions {
        port,
        keys_file: Some(keys.clone()),
        ..IdpOptions::default()
    };
    let idp = Idp::start_with(opts.clone()).await;
    let (mcp, resource) = jwt_server(&idp.issuer).await;
    let token = idp.token(&token_request(&resource)).await;
    idp.kill();
    let m = hammer(&mcp, &token, 20).await;
    let idp = Idp::start_with(opts).await;
    let recovered = recovery(&mcp, &token, Duration::from_secs(5)).await;
    check(
        "IdP connection refused",
        &m,
        &[503],
        TIMEOUT + SLACK,
        recovered,
    );
    drop(idp);
    let _ = std::fs::remove_file(keys);
}

/// A JWKS of 10,000 keys (about 3.7 MB). With the default 512 KiB response cap it is refused
/// outright (503); with the cap raised, at most `max_keys` (32) are kept: a token signed by a
/// key listed first works, one listed last is refused (401), and neither costs unbounded
/// memory or traffic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_of_ten_thousand_keys() {
    let _serial = SERIAL.lock().await;
    let idp = Idp::start().await;
    let proxy = Proxy::start(&idp.issuer).await;
    let verifier = |resource: &str, max_bytes: Option<usize>| {
        let mut http = HttpOptions::default()
            .timeout(Duration::from_secs(5))
            .connect_timeout(TIMEOUT);
        if let Some(b) = max_bytes {
            http = http.max_response_bytes(b);
        }
        JwtVerifier::jwks(proxy.url("/jwks"))
            .issuer(&idp.issuer)
            .audience(resource)
            .no_cache()
            .http(http)
            .jwks_options(
                JwksOptions::default()
                    .retry_backoff(Duration::from_millis(100), Duration::from_millis(300)),
            )
            .build()
            .unwrap()
    };

    // Default cap: refused as too large, at once.
    proxy.set(Mode::ManyKeys {
        count: 10_000,
        real_first: true,
    });
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(verifier(&resource, None));
    let token = idp.token(&token_request(&resource)).await;
    let m = hammer(&mcp, &token, 10).await;
    proxy.set(Mode::Ok);
    let recovered = recovery(&mcp, &token, Duration::from_secs(5)).await;
    check(
        "JWKS of 10,000 keys, default 512 KiB cap",
        &m,
        &[503],
        Duration::from_secs(5) + SLACK,
        recovered,
    );
    drop(mcp);

    // Cap raised to 16 MiB: parsed, 32 keys kept.
    for real_first in [true, false] {
        proxy.set(Mode::ManyKeys {
            count: 10_000,
            real_first,
        });
        let before = proxy.hits.load(Ordering::SeqCst);
        let slot = Mcp::reserve().await;
        let resource = slot.url.clone();
        let mcp = slot.serve(verifier(&resource, Some(16 << 20)));
        let token = idp.token(&token_request(&resource)).await;
        let first = Instant::now();
        let status = whoami(&mcp, &token).await.status;
        let first = first.elapsed();
        let m = hammer(&mcp, &token, 10).await;
        let fetched = proxy.hits.load(Ordering::SeqCst) - before;
        let want = if real_first { 200 } else { 401 };
        assert_eq!(status, want, "real key first: {real_first}");
        check(
            &format!(
                "JWKS of 10,000 keys, 16 MiB cap, the IdP's key {}",
                if real_first {
                    "first"
                } else {
                    "last (beyond max_keys)"
                }
            ),
            &m,
            &[want],
            Duration::from_secs(5) + SLACK,
            Some(first),
        );
        eprintln!(
            "fault JWKS of 10,000 keys (real key first: {real_first}): first call {first:?}, \
             {fetched} JWKS downloads for {} calls (refreshes for unknown kids are rate-limited)",
            m.calls + CONCURRENCY + 1
        );
        assert!(
            fetched <= 1 + 10,
            "{fetched} downloads of the 10,000-key JWKS"
        );
    }
    proxy.refuse();
}

// ---------------------------------------------------------------------------------------------
// Introspection faults, through the proxy in front of the IdP's /introspect
// ---------------------------------------------------------------------------------------------

async fn introspection_server(proxy: &Proxy) -> (Mcp, String) {
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        Introspection::builder(proxy.url("/introspect"))
            .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
            .audience(&resource)
            .no_cache()
            .http(
                HttpOptions::default()
                    .timeout(TIMEOUT)
                    .connect_timeout(TIMEOUT),
            )
            .build()
            .unwrap(),
    );
    (mcp, resource)
}

async fn introspection_fault(name: &str, mode: Mode, rounds: usize) {
    let _serial = SERIAL.lock().await;
    let idp = Idp::start().await;
    let proxy = Proxy::start(&idp.issuer).await;
    let (mcp, resource) = introspection_server(&proxy).await;
    let token = idp.token(&token_request(&resource).opaque()).await;
    assert_eq!(
        whoami(&mcp, &token).await.status,
        200,
        "healthy before the fault"
    );
    proxy.set(mode);
    let m = hammer(&mcp, &token, rounds).await;
    proxy.set(Mode::Ok);
    let recovered = recovery(&mcp, &token, Duration::from_secs(5)).await;
    check(
        &format!("introspection {name}"),
        &m,
        &[503],
        TIMEOUT + SLACK,
        recovered,
    );
    proxy.refuse();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_slower_than_the_timeout() {
    introspection_fault(
        "slow (2 s, timeout 0.5 s)",
        Mode::Slow(Duration::from_secs(2)),
        8,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_answering_500() {
    introspection_fault("500", Mode::Status(500), 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_answering_garbage_json() {
    introspection_fault("garbage JSON", Mode::Garbage, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_answering_2_mib() {
    introspection_fault("2 MiB answer", Mode::Huge(2 << 20), 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_connection_refused_then_back() {
    let _serial = SERIAL.lock().await;
    let idp = Idp::start().await;
    let proxy = Proxy::start(&idp.issuer).await;
    let (mcp, resource) = introspection_server(&proxy).await;
    let token = idp.token(&token_request(&resource).opaque()).await;
    assert_eq!(
        whoami(&mcp, &token).await.status,
        200,
        "healthy before the fault"
    );
    proxy.refuse();
    let m = hammer(&mcp, &token, 20).await;
    proxy.listen().await;
    let recovered = recovery(&mcp, &token, Duration::from_secs(5)).await;
    check(
        "introspection connection refused",
        &m,
        &[503],
        TIMEOUT + SLACK,
        recovered,
    );
    proxy.refuse();
}
