//! Shared by the hardening tests (rate limits, lockout, audit log, limits): a server with
//! per-item `rate`s built by the macros, a way to serve any `AuthServer` on `127.0.0.1:0`,
//! clients bound to other loopback addresses, and request builders for both protocol eras.
#![allow(dead_code)]

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use mcp_auth::prelude::*;
use mcp_auth::rmcp::model::{PromptMessage, Role as Speaker};
use reqwest::{RequestBuilder, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

use crate::common::{LEGACY_2025_06_18, MODERN, initialize_body, modern_body, random_token, rpc};

pub const ISSUER: &str = "https://idp.example.com";

/// A server whose items declare rates next to their permissions.
#[derive(Clone, Default)]
pub struct Limited {
    pub calls: Arc<AtomicUsize>,
}

#[mcp_auth::server(name = "limited")]
impl Limited {
    /// Three calls a minute per principal.
    #[tool(rate = "3/min")]
    fn ping(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "pong".into()
    }

    /// Needs `notes:write`, once a minute.
    #[tool(scopes = ["notes:write"], rate = "1/min")]
    fn write(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "written".into()
    }

    /// Only for admins, once a minute.
    #[tool(roles = ["admin"], rate = "1/min")]
    fn admin(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "admin".into()
    }

    /// Not limited.
    #[tool]
    fn free(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "free".into()
    }

    /// Once a minute.
    #[prompt(rate = "1/min")]
    fn greet(&self) -> Vec<PromptMessage> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        vec![PromptMessage::new_text(Speaker::User, "hello")]
    }

    /// Once a minute.
    #[resource(uri = "notes://{id}", rate = "1/min")]
    fn note(&self, id: String) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        format!("note {id}")
    }
}

impl Limited {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A caller: token and identity.
#[derive(Debug, Clone)]
pub struct User {
    pub token: String,
    pub subject: String,
    pub client_id: String,
}

impl User {
    pub fn new(label: &str) -> Self {
        Self {
            token: random_token(label),
            subject: format!("{label}@example.com"),
            client_id: format!("client-{label}"),
        }
    }

    /// Another token of the same principal (issuer, subject, client id).
    pub fn second_token(&self) -> Self {
        Self {
            token: random_token("second"),
            ..self.clone()
        }
    }
}

/// `StaticTokens` for `users`, each with `scopes` and `roles`.
pub fn keys(users: &[&User], scopes: &[&str], roles: &[&str]) -> StaticTokens {
    crate::common::test_log::watch(users.iter().map(|u| u.token.as_str()));
    let mut keys = StaticTokens::new();
    for u in users {
        keys.insert(
            &u.token,
            AccessToken::builder("")
                .subject(&u.subject)
                .client_id(&u.client_id)
                .issuer(ISSUER)
                .scopes(scopes.iter().copied())
                .roles(roles.iter().copied()),
        );
    }
    keys
}

/// A served `AuthServer`; stops when dropped.
pub struct Running {
    /// `http://127.0.0.1:<port>/mcp`
    pub url: String,
    pub port: u16,
    task: tokio::task::JoinHandle<Result<(), mcp_auth::ServeError>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve what `build` makes of the endpoint URL (it must call `.resource(url)`).
pub async fn serve<H>(build: impl FnOnce(String) -> AuthServer<H>) -> Running
where
    H: ServerHandler + Protected,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let server = build(url.clone());
    let task = tokio::spawn(server.serve_with_listener(listener));
    Running { url, port, task }
}

/// The usual builder around `handler`: name, resource, authorization server.
pub fn server<H: ServerHandler + Protected>(handler: H, url: String) -> AuthServer<H> {
    AuthServer::new(handler)
        .name("mcp-auth-hardening")
        .resource(url)
        .authorization_server(ISSUER)
}

/// A client connecting from `127.0.0.1`.
pub fn client() -> reqwest::Client {
    client_from("127.0.0.1")
}

/// A client whose connections come from `ip` (any `127.x.y.z` works on loopback).
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("an IP address"))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

fn post(client: &reqwest::Client, url: &str, token: Option<&str>) -> RequestBuilder {
    let req = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream");
    match token {
        Some(t) => req.header("Authorization", format!("Bearer {t}")),
        None => req,
    }
}

/// A 2026-07-28 request with `Mcp-Method` and `Mcp-Name`.
pub fn modern(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    method: &str,
    name: Option<&str>,
    params: Value,
) -> RequestBuilder {
    let mut req = post(client, url, token)
        .header("MCP-Protocol-Version", MODERN)
        .header("Mcp-Method", method);
    if let Some(name) = name {
        req = req.header("Mcp-Name", name);
    }
    req.body(modern_body(1, method, params).to_string())
}

/// A 2026-07-28 `tools/call` without arguments.
pub fn call(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    tool: &str,
) -> RequestBuilder {
    modern(
        client,
        url,
        token,
        "tools/call",
        Some(tool),
        json!({ "name": tool, "arguments": {} }),
    )
}

/// A stateless 2025-06-18 request: the layer reads the body to find the target.
pub fn legacy(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> RequestBuilder {
    post(client, url, token)
        .header("MCP-Protocol-Version", LEGACY_2025_06_18)
        .body(body.to_string())
}

/// A stateless 2025-06-18 `tools/call`.
pub fn legacy_call(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    tool: &str,
) -> RequestBuilder {
    legacy(
        client,
        url,
        token,
        rpc(7, "tools/call", json!({ "name": tool, "arguments": {} })),
    )
}

/// A 2025-06-18 `initialize`.
pub fn legacy_initialize(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> RequestBuilder {
    legacy(client, url, token, initialize_body(1, LEGACY_2025_06_18))
}

/// Status, headers and the JSON body of a response.
pub async fn json_of(res: reqwest::Response) -> (StatusCode, HeaderMap, Value) {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text:?}"));
    (status, headers, body)
}

/// `Retry-After` in seconds.
pub fn retry_after(headers: &HeaderMap) -> u64 {
    headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("delay-seconds")
}

/// Assert a 429 JSON answer with `error` and a `Retry-After` within `1..=max_secs`, equal to
/// the body's `retry_after`; returns the delay.
pub async fn assert_429(res: reqwest::Response, error: &str, max_secs: u64) -> u64 {
    let (status, headers, body) = json_of(res).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/json",
        "{body}"
    );
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    let secs = retry_after(&headers);
    assert!((1..=max_secs).contains(&secs), "Retry-After {secs}");
    assert_eq!(body["retry_after"], secs, "{body}");
    secs
}
