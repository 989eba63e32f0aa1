//! A protected MCP server in one file: `cargo run --example quickstart`.
//!
//! Serves Streamable HTTP on http://127.0.0.1:8000/mcp (set `MCP_ADDR` to move it). An
//! embedded dev issuer plays the identity provider: it makes a signing key at start, serves its
//! OpenID configuration and JWKS on 127.0.0.1, and mints one JWT per demo user (admin, editor,
//! viewer). The server verifies those like any IdP's tokens — discovery, JWKS, signature,
//! issuer, audience, expiry — so the zero-setup path is the production path. To use a real IdP,
//! replace `dev.verifier(..)` with `JwtVerifier::discover("https://your-idp/...")`.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use mcp_auth::prelude::*;
use mcp_auth::rmcp::{ErrorData, handler::server::wrapper::Parameters};
use mcp_auth::{DevIssuer, DevUser};
use schemars::JsonSchema;
use serde::Deserialize;

mcp_auth::roles! {
    /// admin ⊃ editor ⊃ viewer.
    pub enum Role { Admin > Editor > Viewer }
}

mcp_auth::scopes! {
    /// What a token may be used for.
    pub enum Scope { "counter:admin" > "counter:write" > "counter:read" }
}

#[derive(Clone, Default)]
struct Counter {
    value: Arc<AtomicU64>,
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// How much to add.
    by: u64,
}

#[mcp_auth::server(roles = Role, scopes = Scope)]
impl Counter {
    /// Who is calling? Answers from the verified token. Open to any authenticated caller.
    #[tool]
    async fn whoami(&self, who: AccessToken) -> String {
        format!(
            "subject={} client={} scopes=[{}] roles=[{}]",
            who.subject().unwrap_or("-"),
            who.client_id().unwrap_or("-"),
            who.scopes().join(" "),
            who.roles().join(" ")
        )
    }

    /// Read the counter.
    #[tool(scopes = ["counter:read"], annotations(read_only_hint = true))]
    async fn get(&self) -> String {
        self.value.load(Ordering::Relaxed).to_string()
    }

    /// Add to the counter (editors).
    #[tool(scopes = ["counter:write"], roles = ["editor"])]
    async fn add(&self, Parameters(args): Parameters<AddArgs>) -> Result<String, ErrorData> {
        let who = require_auth()?;
        let now = self.value.fetch_add(args.by, Ordering::Relaxed) + args.by;
        Ok(format!(
            "{} added {}: {now}",
            who.subject().unwrap_or("-"),
            args.by
        ))
    }

    /// Reset the counter (admins).
    #[tool(scopes = ["counter:admin"], roles = ["admin"], annotations(destructive_hint = true))]
    async fn reset(&self) -> String {
        self.value.store(0, Ordering::Relaxed);
        "0".into()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("MCP_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let resource = format!("http://{local}/mcp");

    // The embedded identity provider (loopback only, ephemeral key).
    let dev = DevIssuer::start().await?;
    let mut printed = Vec::new();
    for (role, scopes) in [
        ("admin", &["mcp", "counter:admin"][..]),
        ("editor", &["mcp", "counter:write"][..]),
        ("viewer", &["mcp", "counter:read"][..]),
    ] {
        let user = DevUser::new(format!("{role}@example.com"))
            .client_id("quickstart")
            .audience(&resource)
            .scopes(scopes.iter().copied())
            .roles([role]);
        printed.push((role, dev.mint(&user)));
    }

    println!("mcp-auth quickstart: protected MCP server at {resource}");
    println!("  metadata:   http://{local}/.well-known/oauth-protected-resource/mcp");
    println!("  dev issuer: {} (JWKS {})\n", dev.issuer(), dev.jwks_uri());
    for (role, token) in &printed {
        println!("{role} token:\n{token}\n");
    }
    let viewer = &printed[2].1;
    println!(
        "try (as the viewer):\n  curl -s {resource} -H 'Authorization: Bearer {viewer}' \\\n    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\\n    -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: whoami' \\\n    -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"whoami\",\"arguments\":{{}},\"_meta\":{{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{{}}}}}}}}'\n"
    );
    println!(
        "client config:\n  {{\"mcpServers\":{{\"quickstart\":{{\"url\":\"{resource}\",\"headers\":{{\"Authorization\":\"Bearer <a token above>\"}}}}}}}}\n"
    );
    println!(
        "the viewer sees whoami and get; `add` needs the editor role, `reset` the admin role.\n"
    );

    AuthServer::new(Counter::default())
        // Real JWT verification: OIDC discovery → JWKS → signature, iss, aud, exp.
        // In production: JwtVerifier::discover("https://your-idp.example.com").audience(&resource)
        .verifier(dev.verifier(&resource).build()?)
        .resource(&resource)
        .authorization_server(dev.issuer())
        .required_scopes(["mcp"])
        .serve_with_listener(listener)
        .await?;
    Ok(())
}
