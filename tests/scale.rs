//! Isolation at scale: 100,000 `tools/call`s across 1,000 tokens at concurrency 256 over real
//! HTTP, in each of three modes (protocol 2026-07-28 stateless; the `initialize` era
//! stateless, alternating 2025-06-18 and 2025-11-25; the `initialize` era in legacy session
//! mode, one session per principal). Every answer is checked against the caller that sent it:
//! zero identity mix-ups, zero 5xx, zero failures of any kind.
//!
//! The verifier is a `JwtVerifier` with an HMAC secret and its verified-token cache (the
//! production configuration for a shared-secret IdP): each of the 1,000 tokens is checked in
//! full once, then served from the cache, keyed by the token's SHA-256. The tools are the
//! shared `TestTools` (`whoami` reads the `AccessToken` extractor, `whoami_ctx` the task-local
//! `current_token()`). 256 workers each keep one connection alive and send their share of
//! calls one after the other, each with a token chosen so that consecutive calls on one
//! connection come from different principals. The client is a minimal HTTP/1.1 client (below),
//! so that the time goes to the server under test. Run times are in SECURITY.md.

mod common;

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

use common::{LEGACY_2025_06_18, LEGACY_2025_11_25, MODERN, TestTools};
use mcp_auth::{AuthServer, verify::JwtVerifier};
use serde_json::{Value, json};

const CALLS: usize = 100_000;
const TOKENS: usize = 1_000;
const CONCURRENCY: usize = 256;
const SECRET: &[u8] = b"scale-test-secret-of-at-least-32-bytes";
const ISSUER: &str = "https://issuer.scale.test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Modern,
    LegacyStateless,
    LegacySessions,
}

struct Caller {
    token: String,
    answer: String,
    session: Option<String>,
}

fn callers(resource: &str) -> Vec<Caller> {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
    (0..TOKENS)
        .map(|i| {
            let (sub, client) = (format!("user-{i}@scale.test"), format!("client-{i}"));
            let token = jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &json!({ "iss": ISSUER, "aud": resource, "sub": sub, "client_id": client,
                         "scope": "mcp", "exp": exp }),
                &key,
            )
            .unwrap();
            Caller {
                token,
                answer: format!("{sub}|{client}"),
                session: None,
            }
        })
        .collect()
}

#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    mixups: Vec<String>,
    server_errors: usize,
    failures: Vec<String>,
    statuses: BTreeMap<u16, usize>,
}

fn request_body(mode: Mode, n: usize, tool: &str) -> (String, Option<&'static str>) {
    let params = json!({ "name": tool, "arguments": {} });
    match mode {
        Mode::Modern => (
            common::modern_body(n as u64 + 1, "tools/call", params).to_string(),
            Some(MODERN),
        ),
        Mode::LegacyStateless => (
            common::rpc(n as u64 + 1, "tools/call", params).to_string(),
            Some(if n.is_multiple_of(2) {
                LEGACY_2025_06_18
            } else {
                LEGACY_2025_11_25
            }),
        ),
        Mode::LegacySessions => (
            common::rpc(n as u64 + 1, "tools/call", params).to_string(),
            Some(LEGACY_2025_11_25),
        ),
    }
}

async fn run(mode: Mode) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let server = AuthServer::new(TestTools::new(calls.clone()))
        .name(common::SERVER_NAME)
        .version(common::SERVER_VERSION)
        .verifier(
            JwtVerifier::hmac(SECRET)
                .issuer(ISSUER)
                .audience(&url)
                .build()
                .unwrap(),
        )
        .resource(url.clone())
        .authorization_server(common::AUTH_SERVER)
        .required_scopes(["mcp"])
        .legacy_sessions(mode == Mode::LegacySessions);
    let task = tokio::spawn(server.serve_with_listener(listener));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let post = |client: &reqwest::Client| {
        client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
    };

    let mut callers = callers(&url);
    // Part of the suite-wide log check (MCP_AUTH_TEST_LOG): these tokens and the HMAC secret.
    common::test_log::watch(callers.iter().map(|c| c.token.as_str()));
    common::test_log::issued([std::str::from_utf8(SECRET).unwrap()]);
    let setup = Instant::now();
    if mode == Mode::LegacySessions {
        // One session per principal, opened 64 at a time.
        for chunk in callers.chunks_mut(64) {
            let opened = futures_util::future::join_all(chunk.iter().map(|c| async {
                let res = post(&client)
                    .header("MCP-Protocol-Version", LEGACY_2025_11_25)
                    .header("Authorization", format!("Bearer {}", c.token))
                    .body(common::initialize_body(1, LEGACY_2025_11_25).to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200, "initialize");
                let session = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
                let _ = res.bytes().await;
                let res = post(&client)
                    .header("MCP-Protocol-Version", LEGACY_2025_11_25)
                    .header("Authorization", format!("Bearer {}", c.token))
                    .header("Mcp-Session-Id", &session)
                    .body(
                        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })
                            .to_string(),
                    )
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 202, "notifications/initialized");
                session
            }))
            .await;
            for (c, s) in chunk.iter_mut().zip(opened) {
                c.session = Some(s);
            }
        }
    }
    let setup = setup.elapsed();
    let callers = Arc::new(callers);

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|w| {
            let (callers, next, addr) = (callers.clone(), next.clone(), addr.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut conn = Conn::open(&addr).await;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= CALLS {
                        break;
                    }
                    // Consecutive calls of one worker (one connection) from different callers;
                    // all 1,000 callers in use at every moment.
                    let who = &callers[(n * 7 + w) % TOKENS];
                    let tool = if n.is_multiple_of(2) {
                        "whoami"
                    } else {
                        "whoami_ctx"
                    };
                    let (body, version) = request_body(mode, n, tool);
                    let mut head = format!(
                        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                         Accept: application/json, text/event-stream\r\n\
                         Authorization: Bearer {}\r\nContent-Length: {}\r\n",
                        who.token,
                        body.len()
                    );
                    if let Some(v) = version {
                        head.push_str(&format!("MCP-Protocol-Version: {v}\r\n"));
                    }
                    if mode == Mode::Modern {
                        head.push_str(&format!("Mcp-Method: tools/call\r\nMcp-Name: {tool}\r\n"));
                    }
                    if let Some(s) = &who.session {
                        head.push_str(&format!("Mcp-Session-Id: {s}\r\n"));
                    }
                    head.push_str("\r\n");
                    let (status, content_type, text) = match conn.exchange(&head, &body).await {
                        Ok(r) => r,
                        Err(e) => {
                            tally.failures.push(format!("#{n}: {e}"));
                            conn = Conn::open(&addr).await;
                            continue;
                        }
                    };
                    *tally.statuses.entry(status).or_default() += 1;
                    if status >= 500 {
                        tally.server_errors += 1;
                    }
                    if status != 200 {
                        tally
                            .failures
                            .push(format!("#{n} {tool}: {status}: {text}"));
                        continue;
                    }
                    let msg: Value = common::parse_rpc_body(&content_type, &text);
                    match msg["result"]["content"][0]["text"].as_str() {
                        Some(a) if a == who.answer => tally.ok += 1,
                        Some(a) => tally
                            .mixups
                            .push(format!("#{n} {tool}: expected {}, got {a}", who.answer)),
                        None => tally.failures.push(format!("#{n} {tool}: {msg}")),
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for w in workers {
        let t = w.await.expect("worker");
        total.ok += t.ok;
        total.server_errors += t.server_errors;
        total.mixups.extend(t.mixups);
        total.failures.extend(t.failures);
        for (s, n) in t.statuses {
            *total.statuses.entry(s).or_default() += n;
        }
    }
    let elapsed = started.elapsed();
    task.abort();
    eprintln!(
        "{mode:?}: {CALLS} calls, {TOKENS} tokens, concurrency {CONCURRENCY}: {:?} ({:.0} calls/s; \
         setup {setup:?}); statuses {:?}; identity mix-ups {}; 5xx {}; other failures {}",
        elapsed,
        CALLS as f64 / elapsed.as_secs_f64(),
        total.statuses,
        total.mixups.len(),
        total.server_errors,
        total.failures.len()
    );
    assert!(
        total.mixups.is_empty(),
        "{} calls saw another caller: {:#?}",
        total.mixups.len(),
        &total.mixups[..total.mixups.len().min(10)]
    );
    assert_eq!(total.server_errors, 0, "5xx answers");
    assert!(
        total.failures.is_empty(),
        "{} calls failed: {:#?}",
        total.failures.len(),
        &total.failures[..total.failures.len().min(10)]
    );
    assert_eq!(total.ok, CALLS);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        CALLS,
        "every call ran its handler once"
    );
}

/// A minimal HTTP/1.1 keep-alive client: one connection, one request at a time, bodies with
/// `Content-Length` or chunked. The server under test is the subject here, so the client is
/// kept as cheap as possible (a debug-build `reqwest` costs about as much per call as the
/// server does).
struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    async fn open(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        Self {
            stream: BufReader::new(stream),
        }
    }

    /// Send `head` + `body`; the status, content type and body of the answer.
    async fn exchange(&mut self, head: &str, body: &str) -> std::io::Result<(u16, String, String)> {
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("status line {line:?}")))?;
        let (mut length, mut chunked, mut content_type) = (None, false, String::new());
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            let v = v.trim();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "content-type" => content_type = v.to_owned(),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| std::io::Error::other(format!("chunk size {line:?}")))?;
                let start = out.len();
                out.resize(start + size, 0);
                self.stream.read_exact(&mut out[start..]).await?;
                line.clear();
                self.stream.read_line(&mut line).await?;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            out.resize(n, 0);
            self.stream.read_exact(&mut out).await?;
        } else {
            return Err(std::io::Error::other("answer without a length"));
        }
        Ok((
            status,
            content_type,
            String::from_utf8_lossy(&out).into_owned(),
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_100k_calls_1k_tokens_no_mixups() {
    run(Mode::Modern).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_stateless_100k_calls_1k_tokens_no_mixups() {
    run(Mode::LegacyStateless).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_sessions_100k_calls_1k_tokens_no_mixups() {
    run(Mode::LegacySessions).await;
}
