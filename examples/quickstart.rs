//! A protected MCP server in one file: `cargo run --example quickstart`.
//!
//! Serves Streamable HTTP on http://127.0.0.1:8000/mcp behind the bearer-first layer and
//! prints three ready dev tokens (admin, editor, viewer) with a copy-paste `curl` line.
//! Set `MCP_ADDR` to listen elsewhere.

use mcp_auth::prelude::*;
use mcp_auth::rmcp::{
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone)]
struct Notes {
    tool_router: ToolRouter<Self>,
}

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// Text to send back.
    text: String,
}

#[tool_router]
impl Notes {
    /// Who is calling? Answers from the verified token.
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

    /// Echo the text back, signed by the caller.
    #[tool]
    async fn echo(
        &self,
        Parameters(args): Parameters<EchoArgs>,
    ) -> Result<String, mcp_auth::rmcp::ErrorData> {
        let who = require_auth()?;
        Ok(format!("{}: {}", who.subject().unwrap_or("-"), args.text))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Notes {}

/// No per-tool declarations yet: every tool is open to any authenticated caller.
impl mcp_auth::Protected for Notes {}

fn dev_token(role: &str) -> String {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("OS randomness");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("dev-{role}-{hex}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("MCP_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let resource = format!("http://{local}/mcp");

    let mut keys = StaticTokens::new();
    let mut printed = Vec::new();
    for (role, scopes) in [
        (
            "admin",
            &["mcp", "notes:read", "notes:write", "notes:admin"][..],
        ),
        ("editor", &["mcp", "notes:read", "notes:write"][..]),
        ("viewer", &["mcp", "notes:read"][..]),
    ] {
        let token = dev_token(role);
        keys.insert(
            &token,
            AccessToken::builder("")
                .subject(format!("{role}@example.com"))
                .client_id("quickstart")
                .issuer(format!("http://{local}"))
                .scopes(scopes.iter().copied())
                .roles([role]),
        );
        printed.push((role, token));
    }

    println!("mcp-auth quickstart: protected MCP server at {resource}");
    println!("metadata: http://{local}/.well-known/oauth-protected-resource/mcp\n");
    for (role, token) in &printed {
        println!("  {role:<7} {token}");
    }
    let admin = &printed[0].1;
    println!(
        "\ntry:\n  curl -s {resource} -H 'Authorization: Bearer {admin}' \\\n    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\\n    -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: whoami' \\\n    -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"whoami\",\"arguments\":{{}},\"_meta\":{{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{{}}}}}}}}'"
    );
    println!(
        "\nclient config:\n  {{\"mcpServers\":{{\"notes\":{{\"url\":\"{resource}\",\"headers\":{{\"Authorization\":\"Bearer {admin}\"}}}}}}}}\n"
    );

    AuthServer::new(Notes {
        tool_router: Notes::tool_router(),
    })
    .name(env!("CARGO_PKG_NAME"))
    .version(env!("CARGO_PKG_VERSION"))
    .verifier(keys)
    .resource(resource)
    .authorization_server(format!("http://{local}"))
    .required_scopes(["mcp"])
    .serve_with_listener(listener)
    .await?;
    Ok(())
}
