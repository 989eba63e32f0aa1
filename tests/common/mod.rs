//! Shared harness for the HTTP integration tests: a real `AuthServer` on `127.0.0.1:0`, a set
//! of generated tokens, request builders for both protocol eras, and parsers for what comes
//! back (`WWW-Authenticate` challenges, JSON and SSE bodies).
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

#[path = "../hardening/test_log.rs"]
pub mod test_log;

use mcp_auth::prelude::*;
use mcp_auth::rmcp::{
    ErrorData,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// The authorization server every test server names.
pub const AUTH_SERVER: &str = "https://idp.example.com";
/// The baseline scope every request needs.
pub const BASELINE: &str = "mcp";
/// The name the test servers report in `serverInfo`.
pub const SERVER_NAME: &str = "mcp-auth-it";
/// The version the test servers report in `serverInfo`.
pub const SERVER_VERSION: &str = "9.8.7";
/// The issuer stamped on every generated identity.
pub const ISSUER: &str = "https://idp.example.com";
/// `Retry-After` of the always-unavailable verifier.
pub const RETRY_AFTER_SECS: u64 = 7;

/// The stateless protocol revision.
pub const MODERN: &str = "2026-07-28";
/// Legacy revisions (initialize + optional sessions).
pub const LEGACY_2025_06_18: &str = "2025-06-18";
pub const LEGACY_2025_11_25: &str = "2025-11-25";

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// A valid caller: its bearer string and the answer `whoami` gives for it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token: String,
    pub subject: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

impl Principal {
    /// What `whoami`, `whoami_ctx` and `slow_whoami` answer for this caller.
    pub fn answer(&self) -> String {
        format!("{}|{}", self.subject, self.client_id)
    }
}

/// Every token a test server knows, plus one it does not.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Valid callers with distinct subjects and client ids; every third has extra scopes.
    pub users: Vec<Principal>,
    /// Known, holds `mcp`, but expired (`exp = 10`).
    pub expired: String,
    /// Known and unexpired, but without the `mcp` scope.
    pub no_scope: String,
    /// Well-formed but never registered.
    pub unknown: String,
    /// Same issuer and subject as `users[0]`, but another client id: another principal.
    pub twin: Principal,
}

impl Tokens {
    pub fn generate(users: usize) -> Self {
        let users = (0..users)
            .map(|i| {
                let mut scopes = vec![BASELINE.to_owned()];
                if i % 3 == 0 {
                    scopes.push("notes:read".into());
                    scopes.push("notes:write".into());
                }
                Principal {
                    token: random_token(&format!("user{i}")),
                    subject: format!("user-{i}@example.com"),
                    client_id: format!("client-{i}"),
                    scopes,
                }
            })
            .collect::<Vec<Principal>>();
        let twin = Principal {
            token: random_token("twin"),
            subject: users
                .first()
                .map_or("user-0@example.com".into(), |u| u.subject.clone()),
            client_id: "client-twin".into(),
            scopes: vec![BASELINE.to_owned()],
        };
        Self {
            users,
            twin,
            expired: random_token("expired"),
            no_scope: random_token("noscope"),
            unknown: random_token("unknown"),
        }
    }

    pub fn user(&self, i: usize) -> &Principal {
        &self.users[i]
    }

    /// Every raw token string, known or not (for "never echoed" checks).
    pub fn all_raw(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.users.iter().map(|p| p.token.as_str()).collect();
        all.extend([
            self.twin.token.as_str(),
            self.expired.as_str(),
            self.no_scope.as_str(),
            self.unknown.as_str(),
        ]);
        all
    }

    pub fn verifier(&self) -> StaticTokens {
        let mut keys = StaticTokens::new();
        for p in self.users.iter().chain([&self.twin]) {
            keys.insert(
                &p.token,
                AccessToken::builder("")
                    .subject(&p.subject)
                    .client_id(&p.client_id)
                    .issuer(ISSUER)
                    .scopes(p.scopes.iter().cloned()),
            );
        }
        keys.insert(
            &self.expired,
            AccessToken::builder("")
                .subject("expired@example.com")
                .client_id("client-expired")
                .issuer(ISSUER)
                .scopes([BASELINE])
                .expires_at_unix(10),
        );
        keys.insert(
            &self.no_scope,
            AccessToken::builder("")
                .subject("noscope@example.com")
                .client_id("client-noscope")
                .issuer(ISSUER)
                .scopes(["notes:read"]),
        );
        keys
    }
}

/// `tok-<label>-<32 hex digits>`: a valid RFC 6750 b64token.
pub fn random_token(label: &str) -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("OS randomness");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("tok-{label}-{hex}")
}

/// A verifier whose backend is always down.
pub struct Unavailable;

impl TokenVerifier for Unavailable {
    async fn verify(&self, _token: &str) -> Result<AccessToken, VerifyError> {
        Err(VerifyError::unavailable(
            "the IdP is down (test)",
            Duration::from_secs(RETRY_AFTER_SECS),
        ))
    }
}

/// A careless verifier: accepts any token as an identity that expired long ago, leaving the
/// expiry check to the layer.
pub struct ReturnsExpired;

impl TokenVerifier for ReturnsExpired {
    async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
        Ok(AccessToken::builder(token)
            .subject("late@example.com")
            .client_id("client-late")
            .issuer(ISSUER)
            .scopes([BASELINE])
            .expires_at_unix(10)
            .build())
    }
}

// ---------------------------------------------------------------------------------------------
// The MCP handler under test
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
pub struct TestTools {
    tool_router: ToolRouter<Self>,
    /// Incremented by every tool that runs.
    calls: Arc<AtomicUsize>,
}

#[derive(Deserialize, JsonSchema)]
pub struct EchoArgs {
    /// Text to send back.
    pub text: String,
}

fn who(token: &AccessToken) -> String {
    format!(
        "{}|{}",
        token.subject().unwrap_or("-"),
        token.client_id().unwrap_or("-")
    )
}

#[tool_router]
impl TestTools {
    pub fn new(calls: Arc<AtomicUsize>) -> Self {
        Self {
            tool_router: Self::tool_router(),
            calls,
        }
    }

    /// The caller, from the `AccessToken` extractor.
    #[tool]
    async fn whoami(&self, token: AccessToken) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        who(&token)
    }

    /// The caller, from the task-local `current_token()`.
    #[tool]
    async fn whoami_ctx(&self) -> Result<String, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let token = mcp_auth::current_token().ok_or_else(|| {
            ErrorData::internal_error("current_token() is None inside a handler", None)
        })?;
        Ok(who(&token))
    }

    /// The caller from `current_token()`, after yielding for a few milliseconds so that
    /// many requests interleave on the same worker threads.
    #[tool]
    async fn slow_whoami(&self) -> Result<String, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let before = mcp_auth::require_auth()?;
        tokio::time::sleep(Duration::from_millis(3)).await;
        tokio::task::yield_now().await;
        let after = mcp_auth::require_auth()?;
        if before.principal() != after.principal() {
            return Err(ErrorData::internal_error(
                "current_token() changed across an await",
                None,
            ));
        }
        Ok(who(&after))
    }

    /// Echo `text` back.
    #[tool]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        args.text
    }

    /// Count this call and answer with the running total.
    #[tool]
    async fn count(&self) -> String {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        n.to_string()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TestTools {}

// Hand-written rmcp handler without declarations: every tool open to authenticated callers.
impl mcp_auth::Protected for TestTools {}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// Which verifier a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verifier {
    /// [`Tokens::verifier`]: the generated static tokens.
    Static,
    /// [`Unavailable`].
    Unavailable,
    /// [`ReturnsExpired`].
    ReturnsExpired,
}

/// How to build a test server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of valid principals to generate.
    pub users: usize,
    pub legacy_sessions: bool,
    pub json_response: bool,
    pub verifier: Verifier,
    pub resource_name: Option<&'static str>,
    pub resource_documentation: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            users: 4,
            legacy_sessions: false,
            json_response: true,
            verifier: Verifier::Static,
            resource_name: None,
            resource_documentation: None,
        }
    }
}

impl Options {
    pub fn users(mut self, n: usize) -> Self {
        self.users = n;
        self
    }
    pub fn legacy_sessions(mut self, on: bool) -> Self {
        self.legacy_sessions = on;
        self
    }
    pub fn json_response(mut self, on: bool) -> Self {
        self.json_response = on;
        self
    }
    /// Use [`Unavailable`] instead of the static tokens.
    pub fn unavailable(mut self) -> Self {
        self.verifier = Verifier::Unavailable;
        self
    }
    /// Use [`ReturnsExpired`] instead of the static tokens.
    pub fn returns_expired(mut self) -> Self {
        self.verifier = Verifier::ReturnsExpired;
        self
    }
    pub fn resource_name(mut self, name: &'static str) -> Self {
        self.resource_name = Some(name);
        self
    }
    pub fn resource_documentation(mut self, url: &'static str) -> Self {
        self.resource_documentation = Some(url);
        self
    }
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// `http://127.0.0.1:<port>/mcp`: the resource and the MCP endpoint.
    pub url: String,
    pub tokens: Tokens,
    pub client: reqwest::Client,
    calls: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Result<(), mcp_auth::ServeError>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The root package has no tokio-util dev-dependency, so the server's own
        // CancellationToken is out of reach: abort the serving task instead.
        self.task.abort();
    }
}

/// A server with default options.
pub async fn start() -> TestServer {
    start_with(Options::default()).await
}

pub async fn start_with(opts: Options) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let base = format!("http://{addr}");
    let url = format!("{base}/mcp");
    let tokens = Tokens::generate(opts.users);
    // A whole-suite run with MCP_AUTH_TEST_LOG set: log everything, remember these tokens.
    test_log::watch(tokens.all_raw());
    let calls = Arc::new(AtomicUsize::new(0));

    let server = AuthServer::new(TestTools::new(calls.clone()));
    let server = match opts.verifier {
        Verifier::Static => server.verifier(tokens.verifier()),
        Verifier::Unavailable => server.verifier(Unavailable),
        Verifier::ReturnsExpired => server.verifier(ReturnsExpired),
    };
    let mut server = server
        .name(SERVER_NAME)
        .version(SERVER_VERSION)
        .resource(url.clone())
        .authorization_server(AUTH_SERVER)
        .required_scopes([BASELINE])
        .legacy_sessions(opts.legacy_sessions)
        .json_response(opts.json_response);
    if let Some(name) = opts.resource_name {
        server = server.resource_name(name);
    }
    if let Some(doc) = opts.resource_documentation {
        server = server.resource_documentation(doc);
    }
    let task = tokio::spawn(server.serve_with_listener(listener));

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client");
    TestServer {
        addr,
        base,
        url,
        tokens,
        client,
        calls,
        task,
    }
}

impl TestServer {
    /// How many times any tool handler ran.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// `<base>/.well-known/oauth-protected-resource/mcp`
    pub fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.base)
    }

    /// A POST to the MCP endpoint with the transport's content headers and no credentials.
    pub fn post(&self) -> reqwest::RequestBuilder {
        self.client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
    }

    /// A 2026-07-28 stateless request for `method`, with `Mcp-Method`, `Mcp-Name` (when
    /// given) and the per-request `_meta`.
    pub fn modern(
        &self,
        token: Option<&str>,
        method: &str,
        name: Option<&str>,
        params: Value,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .post()
            .header("MCP-Protocol-Version", MODERN)
            .header("Mcp-Method", method);
        if let Some(name) = name {
            req = req.header("Mcp-Name", name);
        }
        req = bearer(req, token);
        req.body(modern_body(1, method, params).to_string())
    }

    /// A 2026-07-28 `tools/call`.
    pub fn modern_call(
        &self,
        token: Option<&str>,
        tool: &str,
        args: Value,
    ) -> reqwest::RequestBuilder {
        self.modern(
            token,
            "tools/call",
            Some(tool),
            json!({ "name": tool, "arguments": args }),
        )
    }

    /// A legacy (`version` < 2026-07-28) request for `method`, optionally in a session.
    pub fn legacy(
        &self,
        version: &str,
        token: Option<&str>,
        session: Option<&str>,
        body: Value,
    ) -> reqwest::RequestBuilder {
        let mut req = self.post().header("MCP-Protocol-Version", version);
        if let Some(session) = session {
            req = req.header("Mcp-Session-Id", session);
        }
        bearer(req, token).body(body.to_string())
    }

    /// A legacy `initialize` for `version`.
    pub fn legacy_initialize(&self, version: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        self.legacy(version, token, None, initialize_body(1, version))
    }

    /// A legacy `tools/call`, with a fresh JSON-RPC id (ids must be unique within a session).
    pub fn legacy_call(
        &self,
        version: &str,
        token: Option<&str>,
        session: Option<&str>,
        tool: &str,
        args: Value,
    ) -> reqwest::RequestBuilder {
        self.legacy(
            version,
            token,
            session,
            rpc(
                next_id(),
                "tools/call",
                json!({ "name": tool, "arguments": args }),
            ),
        )
    }

    /// `initialize` + `notifications/initialized` in legacy session mode; returns the
    /// session id.
    pub async fn open_session(&self, version: &str, token: &str) -> String {
        let res = self
            .legacy_initialize(version, Some(token))
            .send()
            .await
            .expect("initialize");
        assert_eq!(res.status(), 200, "initialize failed");
        let session = res
            .headers()
            .get("mcp-session-id")
            .expect("legacy session mode returns Mcp-Session-Id")
            .to_str()
            .expect("ASCII session id")
            .to_owned();
        let init = rpc_response(res).await;
        assert!(init.get("result").is_some(), "initialize: {init}");
        let res = self
            .legacy(
                version,
                Some(token),
                Some(&session),
                json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
            )
            .send()
            .await
            .expect("notifications/initialized");
        assert_eq!(res.status(), 202, "notifications/initialized");
        session
    }
}

fn bearer(req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
    match token {
        Some(t) => req.header("Authorization", format!("Bearer {t}")),
        None => req,
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

/// A process-wide fresh JSON-RPC id (starting at 100).
pub fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(100);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A JSON-RPC request.
pub fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// The `_meta` every 2026-07-28 request carries.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": { "name": "mcp-auth-it", "version": "1.0" },
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// A 2026-07-28 request: `params` with `_meta` added.
pub fn modern_body(id: u64, method: &str, mut params: Value) -> Value {
    if !params.is_object() {
        params = json!({});
    }
    params["_meta"] = modern_meta();
    rpc(id, method, params)
}

pub fn initialize_body(id: u64, version: &str) -> Value {
    rpc(
        id,
        "initialize",
        json!({
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": { "name": "mcp-auth-it", "version": "1.0" }
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// The JSON-RPC message of a response, whether it came as `application/json` or as SSE (the
/// first `data:` event that is a JSON-RPC response or error).
pub async fn rpc_response(res: reqwest::Response) -> Value {
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = res.text().await.expect("response body");
    parse_rpc_body(&content_type, &text)
}

pub fn parse_rpc_body(content_type: &str, text: &str) -> Value {
    if content_type.starts_with("text/event-stream") {
        sse_messages(text)
            .into_iter()
            .find(|m| m.get("result").is_some() || m.get("error").is_some())
            .unwrap_or_else(|| panic!("no JSON-RPC response in SSE body: {text:?}"))
    } else {
        serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("not JSON ({e}), content-type {content_type:?}: {text:?}"))
    }
}

/// Every `data:` payload of an SSE body that parses as JSON.
pub fn sse_messages(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if data.is_empty() {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<Value>(&data.join("\n")) {
            out.push(v);
        }
    }
    out
}

/// The text of the first content block of a successful `tools/call` response.
pub fn tool_text(message: &Value) -> String {
    let result = message
        .get("result")
        .unwrap_or_else(|| panic!("no result in {message}"));
    assert_ne!(
        result.get("isError"),
        Some(&Value::Bool(true)),
        "tool error: {message}"
    );
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {message}"))
        .to_owned()
}

/// Parse `WWW-Authenticate: <scheme> k="v", k2=token, ...` into its scheme and parameters.
/// Quoted values are unescaped (`\"` → `"`, `\\` → `\`). Panics on malformed input or a
/// repeated parameter, so tests see exactly what was sent.
pub fn parse_challenge(header: &str) -> (String, BTreeMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            assert!(
                c != ',' && c != '"',
                "malformed challenge (key) in {header:?}"
            );
            key.push(c);
            chars.next();
        }
        assert_eq!(chars.next(), Some('='), "missing '=' in {header:?}");
        let key = key.trim().to_owned();
        assert!(!key.is_empty(), "empty parameter name in {header:?}");
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.push(chars.next().expect("dangling escape")),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => panic!("unterminated quoted string in {header:?}"),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c == ' ' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        assert!(
            params.insert(key.clone(), value).is_none(),
            "parameter {key} repeated in {header:?}"
        );
    }
    (scheme.to_owned(), params)
}

/// The parsed `WWW-Authenticate` of a response (exactly one header, scheme `Bearer`).
pub fn challenge_of(res: &reqwest::Response) -> BTreeMap<String, String> {
    let all: Vec<_> = res.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(all.len(), 1, "expected one WWW-Authenticate, got {all:?}");
    let (scheme, params) = parse_challenge(all[0].to_str().expect("ASCII challenge"));
    assert_eq!(scheme, "Bearer");
    params
}

/// Build a map from pairs, for exact comparisons.
pub fn map<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Assert a response's status, returning its headers and body text.
pub async fn expect_status(
    res: reqwest::Response,
    status: u16,
) -> (reqwest::header::HeaderMap, String) {
    let got = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.expect("body");
    assert_eq!(
        got, status,
        "unexpected status; headers {headers:?}, body {body:?}"
    );
    (headers, body)
}

/// Headers and body rendered as one string, to search for leaked secrets.
pub fn dump(headers: &reqwest::header::HeaderMap, body: &str) -> String {
    let mut out = String::new();
    for (k, v) in headers {
        out.push_str(k.as_str());
        out.push_str(": ");
        out.push_str(&String::from_utf8_lossy(v.as_bytes()));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(body);
    out
}
