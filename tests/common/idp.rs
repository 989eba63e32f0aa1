//! A real authorization server for the verifier tests, and a small MCP server to put a verifier
//! behind.
//!
//! [`Idp`] runs `interop/idp/server.mjs` (oauth2-mock-server, installed by `scripts/setup.sh`)
//! as a child process on 127.0.0.1: OIDC metadata, JWKS, client-credentials `/token`, RFC 7662
//! `/introspect`, and test controls (request counts, key rotation, failure modes). The process
//! is killed when the [`Idp`] is dropped, exits when this test process's pipe to it closes, and
//! exits after its own lifetime (300 s) whatever happens.
//!
//! [`Mcp`] serves a `whoami` tool through `AuthServer` with the verifier under test.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use mcp_auth::prelude::*;
use mcp_auth::rmcp::{handler::server::router::tool::ToolRouter, tool, tool_handler, tool_router};
use serde_json::{Value, json};

#[path = "../hardening/test_log.rs"]
mod test_log;

/// The introspection client the IdP accepts.
pub const CLIENT_ID: &str = "mcp-rs";
/// Long enough for the suite's log check to look for it.
pub const CLIENT_SECRET: &str = "rs-secret-5c0f8e2a9b1d4763";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How to start the IdP.
#[derive(Debug, Clone, Default)]
pub struct IdpOptions {
    /// 0: any free port.
    pub port: u16,
    /// Keep keys in this file so that a restart serves the same keys.
    pub keys_file: Option<PathBuf>,
    /// Signing algorithm (default RS256).
    pub alg: Option<&'static str>,
}

/// A running authorization server process.
pub struct Idp {
    child: Child,
    pub issuer: String,
    pub port: u16,
    /// The kid the IdP signs with at start.
    pub kid: String,
    http: reqwest::Client,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What to ask `/token` for (client credentials).
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub client_id: String,
    pub scope: Option<String>,
    pub audiences: Vec<String>,
    /// Merged into the payload last (may override `iss`, `aud`, ...).
    pub claims: Option<Value>,
    pub expires_in: Option<i64>,
    pub nbf_in: Option<i64>,
    pub opaque: bool,
}

impl TokenRequest {
    pub fn new(client_id: &str) -> Self {
        Self {
            client_id: client_id.into(),
            ..Self::default()
        }
    }
    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.into());
        self
    }
    pub fn audience(mut self, aud: &str) -> Self {
        self.audiences.push(aud.into());
        self
    }
    pub fn claims(mut self, claims: Value) -> Self {
        self.claims = Some(claims);
        self
    }
    pub fn expires_in(mut self, secs: i64) -> Self {
        self.expires_in = Some(secs);
        self
    }
    pub fn nbf_in(mut self, secs: i64) -> Self {
        self.nbf_in = Some(secs);
        self
    }
    pub fn opaque(mut self) -> Self {
        self.opaque = true;
        self
    }
}

impl Idp {
    pub async fn start() -> Self {
        Self::start_with(IdpOptions::default()).await
    }

    pub async fn start_with(opts: IdpOptions) -> Self {
        test_log::watch([CLIENT_SECRET]);
        let root = root();
        assert!(
            root.join("interop/node_modules/oauth2-mock-server")
                .exists(),
            "oauth2-mock-server is not installed: run scripts/setup.sh (the README's test command does)"
        );
        let mut cmd = Command::new("node");
        cmd.current_dir(&root)
            .arg(root.join("interop/idp/server.mjs"))
            .args(["--port", &opts.port.to_string()])
            .args(["--alg", opts.alg.unwrap_or("RS256")])
            .args(["--client", &format!("{CLIENT_ID}:{CLIENT_SECRET}")])
            .args(["--lifetime", "300"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(file) = &opts.keys_file {
            cmd.arg("--keys").arg(file);
        }
        let mut child = cmd.spawn().expect("spawn node interop/idp/server.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let line = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line)
            }),
        )
        .await
        .expect("the IdP did not start within 30 s")
        .expect("join")
        .expect("read the IdP's first line");
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("IdP printed {line:?} instead of its address: {e}"));
        Self {
            child,
            issuer: info["issuer"].as_str().expect("issuer").to_owned(),
            port: info["port"].as_u64().expect("port") as u16,
            kid: info["kid"].as_str().expect("kid").to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
        }
    }

    /// Stop the process now (the port is free afterwards).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.issuer)
    }

    /// A client-credentials token over HTTP.
    pub async fn token(&self, req: &TokenRequest) -> String {
        let mut form: Vec<(&str, String)> = vec![("grant_type", "client_credentials".into())];
        if let Some(s) = &req.scope {
            form.push(("scope", s.clone()));
        }
        for a in &req.audiences {
            form.push(("aud", a.clone()));
        }
        if let Some(c) = &req.claims {
            form.push(("claims", c.to_string()));
        }
        if let Some(e) = req.expires_in {
            form.push(("expires_in", e.to_string()));
        }
        if let Some(n) = req.nbf_in {
            form.push(("nbf_in", n.to_string()));
        }
        if req.opaque {
            form.push(("opaque", "1".into()));
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let res = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(&req.client_id, Some("client-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST /token");
        assert_eq!(res.status(), 200, "token endpoint refused");
        let v: Value = res.json().await.expect("token JSON");
        let token = v["access_token"].as_str().expect("access_token").to_owned();
        test_log::watch([token.as_str()]);
        token
    }

    /// Requests the IdP has served, by endpoint (`jwks`, `openid-configuration`,
    /// `oauth-authorization-server`, `token`, `introspect`).
    pub async fn stats(&self) -> BTreeMap<String, u64> {
        self.control_get("stats").await
    }

    pub async fn count(&self, endpoint: &str) -> u64 {
        self.stats().await.get(endpoint).copied().unwrap_or(0)
    }

    pub async fn reset_stats(&self) {
        self.control_post("reset-stats", "").await;
    }

    /// Publish a new key and sign with it from now on; `retire` drops the old one from the
    /// JWKS. Returns the new kid.
    pub async fn rotate(&self, retire: bool) -> String {
        let v: Value = self
            .control_post(&format!("rotate?retire={}", u8::from(retire)), "")
            .await;
        v["kid"].as_str().expect("kid").to_owned()
    }

    /// `ok`, `error` (503), `stall` (never answers) or `garbage` (HTML).
    pub async fn jwks_mode(&self, mode: &str) {
        self.control_post(&format!("mode?jwks={mode}"), "").await;
    }

    pub async fn jwks_cache_control(&self, value: &str) {
        self.control_post(&format!("mode?cache_control={}", urlencode(value)), "")
            .await;
    }

    pub async fn revoke(&self, token: &str) {
        self.control_post("revoke", &json!({ "token": token }).to_string())
            .await;
    }

    /// A token with this issuer's `iss`, signed by a key the IdP never published.
    pub async fn orphan_token(&self, claims: Value) -> String {
        let v: Value = self.control_post("orphan-token", &claims.to_string()).await;
        let token = v["token"].as_str().expect("token").to_owned();
        test_log::watch([token.as_str()]);
        token
    }

    async fn control_get<T: serde::de::DeserializeOwned>(&self, what: &str) -> T {
        self.http
            .get(format!("{}/__control/{what}", self.issuer))
            .send()
            .await
            .expect("control")
            .json()
            .await
            .expect("control JSON")
    }

    async fn control_post(&self, what: &str, body: &str) -> Value {
        self.http
            .post(format!("{}/__control/{what}", self.issuer))
            .body(body.to_owned())
            .send()
            .await
            .expect("control")
            .json()
            .await
            .expect("control JSON")
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

// ---------------------------------------------------------------------------------------------
// The MCP server
// ---------------------------------------------------------------------------------------------

/// One tool answering with the verified identity as JSON.
#[derive(Clone)]
pub struct WhoAmI {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl WhoAmI {
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// The caller's identity, from the verified token.
    #[tool]
    async fn whoami(&self, who: AccessToken) -> String {
        json!({
            "sub": who.subject(),
            "client_id": who.client_id(),
            "iss": who.issuer(),
            "aud": who.audiences(),
            "scopes": who.scopes(),
            "roles": who.roles(),
        })
        .to_string()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for WhoAmI {}
impl mcp_auth::Protected for WhoAmI {}

/// `AuthServer` with a `whoami` tool on `127.0.0.1:0`; stops when dropped.
pub struct Mcp {
    pub url: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<Result<(), mcp_auth::ServeError>>,
}

impl Drop for Mcp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A bound port and the resource URL it will serve.
pub struct Reserved {
    listener: tokio::net::TcpListener,
    /// `http://127.0.0.1:<port>/mcp`: the resource, and so the audience tokens must carry.
    pub url: String,
}

impl Reserved {
    pub fn serve(self, verifier: impl TokenVerifier) -> Mcp {
        Mcp::start_on(self.listener, self.url, verifier)
    }
}

/// What a `whoami` call came back with.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<String>,
    /// The tool's JSON answer, on 200.
    pub identity: Option<Value>,
    pub raw: String,
}

impl Mcp {
    /// Bind a port first: the verifier needs the resource URL (its audience) before the
    /// server starts. Then call [`Reserved::serve`].
    pub async fn reserve() -> Reserved {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        Reserved { listener, url }
    }

    pub fn start_on(
        listener: tokio::net::TcpListener,
        url: String,
        verifier: impl TokenVerifier,
    ) -> Self {
        let server = AuthServer::new(WhoAmI::new())
            .name("verify-it")
            .version("1.0.0")
            .verifier(verifier)
            .resource(url.clone())
            .authorization_server("https://idp.example.com")
            .required_scopes(["mcp"]);
        let task = tokio::spawn(server.serve_with_listener(listener));
        Self {
            url,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            task,
        }
    }

    /// Call `whoami` (protocol 2026-07-28) with `token`.
    pub async fn whoami(&self, token: &str) -> Answer {
        let res = whoami_request(&self.client, &self.url, token)
            .send()
            .await
            .expect("POST /mcp");
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().expect("ASCII").to_owned())
        };
        let www_authenticate = header("www-authenticate");
        let retry_after = header("retry-after");
        let raw = res.text().await.expect("body");
        let identity = (status == 200).then(|| {
            let msg: Value = serde_json::from_str(&raw).expect("JSON-RPC response");
            let text = msg["result"]["content"][0]["text"]
                .as_str()
                .unwrap_or_else(|| panic!("no tool text in {msg}"));
            serde_json::from_str(text).expect("identity JSON")
        });
        Answer {
            status,
            www_authenticate,
            retry_after,
            identity,
            raw,
        }
    }
}

impl Answer {
    /// Assert a 401 `invalid_token` whose body and headers never contain `token`.
    pub fn assert_invalid_token(&self, token: &str, what: &str) {
        assert_eq!(self.status, 401, "{what}: {self:?}");
        let challenge = self.www_authenticate.as_deref().unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: challenge {challenge:?}"
        );
        assert!(
            !self.raw.contains(token) && !challenge.contains(token),
            "{what}: token echoed"
        );
    }

    pub fn identity(&self) -> &Value {
        self.identity
            .as_ref()
            .unwrap_or_else(|| panic!("expected 200, got {self:?}"))
    }

    pub fn strings(&self, field: &str) -> Vec<String> {
        self.identity()[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field} is not an array in {:?}", self.identity))
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect()
    }
}

/// The `whoami` call of protocol 2026-07-28 with `token`, ready to send on `client`.
pub fn whoami_request(client: &reqwest::Client, url: &str, token: &str) -> reqwest::RequestBuilder {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {
            "name": "whoami", "arguments": {},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "verify-it", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {}
            }
        }
    });
    client
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", "whoami")
        .header("Authorization", format!("Bearer {token}"))
        .body(body.to_string())
}
