//! API keys for machines: `cargo run --example api_keys`.
//!
//! Keys come from `MCP_API_KEYS`, a JSON list (see `StaticTokens`):
//!
//! ```sh
//! MCP_API_KEYS='[{"token":"sk-ci-123","subject":"ci-bot","scopes":["mcp"]}]' cargo run --example api_keys
//! ```
//!
//! Without it, two demo keys are made and printed. Only SHA-256 digests of keys are kept in
//! memory, and lookups take constant time. Set `MCP_ADDR` to listen elsewhere.

use mcp_auth::prelude::*;

#[derive(Clone)]
struct Hello;

// Open to any authenticated caller: the server declares no roles or scopes.
#[mcp_auth::server]
impl Hello {
    /// Who is calling, from the verified key.
    #[tool]
    async fn whoami(&self, who: AccessToken) -> String {
        format!(
            "subject={} scopes=[{}]",
            who.subject().unwrap_or("-"),
            who.scopes().join(" ")
        )
    }
}

fn random_key() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("OS randomness");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sk-{hex}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("MCP_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let resource = format!("http://{}/mcp", listener.local_addr()?);

    let keys = match StaticTokens::from_env("MCP_API_KEYS") {
        Ok(keys) => keys,
        Err(_) => {
            let (ci, ops) = (random_key(), random_key());
            println!("demo keys (set MCP_API_KEYS to use your own):");
            println!("  ci-bot  {ci}\n  ops     {ops}\n");
            StaticTokens::new()
                .with_token(
                    &ci,
                    AccessToken::builder("").subject("ci-bot").scopes(["mcp"]),
                )
                .with_token(
                    &ops,
                    AccessToken::builder("").subject("ops").scopes(["mcp"]),
                )
        }
    };
    println!("api_keys: MCP server at {resource} ({} keys)", keys.len());
    println!(
        "try:\n  curl -s {resource} -H 'Authorization: Bearer <key>' -H 'Content-Type: application/json' \\\n    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \\\n    -H 'Mcp-Method: tools/call' -H 'Mcp-Name: whoami' \\\n    -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"whoami\",\"arguments\":{{}},\"_meta\":{{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{{}}}}}}}}'"
    );

    AuthServer::new(Hello)
        .name(env!("CARGO_PKG_NAME"))
        .version(env!("CARGO_PKG_VERSION"))
        .verifier(keys)
        .resource(resource)
        // The metadata document must name an authorization server; with API keys it is only
        // informational. Point it at your IdP if clients should be able to get tokens.
        .authorization_server(
            std::env::var("MCP_ISSUER").unwrap_or_else(|_| "https://auth.example.com".into()),
        )
        .required_scopes(["mcp"])
        .serve_with_listener(listener)
        .await?;
    Ok(())
}
