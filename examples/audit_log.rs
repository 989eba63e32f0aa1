//! The audit log as JSON lines: `cargo run --example audit_log -- --demo`.
//!
//! Every authorization decision is a `tracing` event under the target `mcp_auth::audit`
//! (fields: decision, reason, status, limit, subject, client_id, issuer, method, item,
//! client_ip, latency_us, transport — never a token). This example sends them, and nothing
//! else, to stdout as one JSON object per line, ready for a log shipper:
//!
//! ```json
//! {"timestamp":"…","level":"INFO","message":"authorization decision","decision":"deny","reason":"rate_limited","status":429,"limit":"operation","subject":"viewer@example.com","client_id":"audit-demo","issuer":"http://127.0.0.1:…","method":"tools/call","item":"search","client_ip":"127.0.0.1","latency_us":41,"transport":"http","target":"mcp_auth::audit"}
//! ```
//!
//! Without `--demo` it serves on `MCP_ADDR` (default 127.0.0.1:8000) and prints a dev token on
//! stderr; with `--demo` it makes a few calls of its own (allowed, step-up, rate-limited,
//! a bad token) and exits. `RUST_LOG` replaces the filter (default `mcp_auth::audit=info`).

use std::time::Duration;

use mcp_auth::prelude::*;
use mcp_auth::{DevIssuer, DevUser, Lockout};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Library;

#[mcp_auth::server(name = "library")]
impl Library {
    /// Search the catalogue: twice a minute per principal.
    #[tool(scopes = ["books:read"], rate = "2/min")]
    async fn search(&self) -> String {
        "3 books".into()
    }

    /// Lend a book.
    #[tool(scopes = ["books:lend"])]
    async fn lend(&self, who: AccessToken) -> String {
        format!("lent to {}", who.subject().unwrap_or("-"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("mcp_auth::audit=info")),
        )
        .with_writer(std::io::stdout)
        .init();

    let demo = std::env::args().any(|a| a == "--demo");
    let addr = match (demo, std::env::var("MCP_ADDR")) {
        (true, _) => "127.0.0.1:0".to_owned(),
        (false, Ok(addr)) => addr,
        (false, Err(_)) => "127.0.0.1:8000".to_owned(),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let resource = format!("http://{}/mcp", listener.local_addr()?);

    let dev = DevIssuer::start().await?;
    let viewer = dev.mint(
        &DevUser::new("viewer@example.com")
            .client_id("audit-demo")
            .audience(&resource)
            .scopes(["books:read"]),
    );
    let server = AuthServer::new(Library)
        .name("audit-log-example")
        .verifier(dev.verifier(&resource).build()?)
        .resource(&resource)
        .authorization_server(dev.issuer())
        .rate_limit_per_ip("600/min")
        .lockout(Lockout::new(20, Duration::from_secs(60)));

    if !demo {
        eprintln!("serving {resource}; a viewer token (books:read):\n{viewer}");
        return Ok(server.serve_with_listener(listener).await?);
    }

    let task = tokio::spawn(server.serve_with_listener(listener));
    let client = reqwest::Client::new();
    let call = |token: &str, tool: &str| {
        client
            .post(&resource)
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", "tools/call")
            .header("Mcp-Name", tool)
            .body(format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
            ))
            .send()
    };
    for (token, tool) in [
        (viewer.as_str(), "search"),
        (viewer.as_str(), "lend"),
        (viewer.as_str(), "search"),
        (viewer.as_str(), "search"),
        ("not-a-token", "search"),
    ] {
        let status = call(token, tool).await?.status();
        eprintln!("{tool}: {status}");
    }
    task.abort();
    Ok(())
}
