//! The servers under test, each run in a child process of the driver (`load serve ..`) so that
//! its memory can be read from `/proc`: (a) bare rmcp with the same tools and no auth — the
//! limit; (b) mcp-auth: the same tools behind `#[mcp_auth::server]` with per-tool scopes and
//! roles, RS256 JWTs, a filtered list. (c), the Python SDK, is `interop/bench/server.py`.

use std::{net::SocketAddr, sync::Arc};

use mcp_auth::prelude::*;
use mcp_auth::rmcp::{
    handler::server::router::tool::ToolRouter,
    handler::server::wrapper::Parameters,
    tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
use mcp_auth::verify::PublicKey;
use schemars::JsonSchema;
use serde::Deserialize;

/// The issuer named in the benchmark's tokens.
pub const ISSUER: &str = "https://idp.bench.invalid";

#[derive(Deserialize, JsonSchema)]
pub struct EchoArgs {
    /// The text to send back.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct AddArgs {
    /// First addend.
    a: i64,
    /// Second addend.
    b: i64,
}

// ---------------------------------------------------------------------------------------------
// (a) bare rmcp: the tools the benchmark's caller may use on (b), no auth. The router is built
// once (rmcp's default `Self::tool_router()` would rebuild it for every stateless request).

#[derive(Clone)]
pub struct Bare;

fn bare_router() -> &'static ToolRouter<Bare> {
    static ROUTER: std::sync::OnceLock<ToolRouter<Bare>> = std::sync::OnceLock::new();
    ROUTER.get_or_init(Bare::tool_router)
}

#[tool_router]
impl Bare {
    #[tool(description = "Echo the text back.")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        args.text
    }

    #[tool(description = "Add two numbers.")]
    async fn add(&self, Parameters(args): Parameters<AddArgs>) -> String {
        (args.a + args.b).to_string()
    }
}

#[tool_handler(router = bare_router(), name = "bench", version = "0.1.0")]
impl mcp_auth::rmcp::ServerHandler for Bare {}

// ---------------------------------------------------------------------------------------------
// (b) mcp-auth: the same tools with requirements, and one the caller may not see.

mcp_auth::roles! {
    /// admin ⊃ editor ⊃ viewer.
    pub enum Role { Admin > Editor > Viewer }
}

mcp_auth::scopes! {
    /// bench:admin ⊃ bench:write ⊃ bench:read.
    pub enum Scope { "bench:admin" > "bench:write" > "bench:read" }
}

#[derive(Clone, Default)]
pub struct Ours;

#[mcp_auth::server(name = "bench", version = "0.1.0", roles = Role, scopes = Scope)]
impl Ours {
    /// Echo the text back.
    #[tool(scopes = ["bench:read"], roles = ["viewer"])]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        args.text
    }

    /// Add two numbers.
    #[tool(scopes = ["bench:write"], roles = ["editor"])]
    async fn add(&self, Parameters(args): Parameters<AddArgs>) -> String {
        (args.a + args.b).to_string()
    }

    /// Reset everything (admins; hidden from the benchmark's editor).
    #[tool(scopes = ["bench:admin"], roles = ["admin"])]
    async fn reset(&self) -> String {
        "0".into()
    }
}

// ---------------------------------------------------------------------------------------------

/// `load serve <bare|ours> --sse? --public-key PATH`: bind 127.0.0.1:0, print
/// `LISTEN <addr>`, serve until killed.
pub fn serve(args: &[String]) -> anyhow::Result<()> {
    let kind = args.first().map(String::as_str).unwrap_or_default();
    let sse = args.iter().any(|a| a == "--sse");
    let public_key = args
        .iter()
        .position(|a| a == "--public-key")
        .and_then(|i| args.get(i + 1));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        match kind {
            "bare" => {
                announce(addr);
                serve_bare(listener, !sse).await
            }
            "ours" => {
                let pem = std::fs::read(public_key.ok_or_else(|| {
                    anyhow::anyhow!("serve ours: --public-key PATH is required")
                })?)?;
                let resource = format!("http://{addr}/mcp");
                let verifier = JwtVerifier::public_keys([PublicKey::from_pem(&pem)?])
                    .issuer(ISSUER)
                    .audience(&resource)
                    .build()?;
                let server = AuthServer::new(Ours)
                    .verifier(verifier)
                    .resource(&resource)
                    .authorization_server(ISSUER)
                    .required_scopes(["mcp"])
                    .json_response(!sse);
                // For an A/B of the header deadline's cost (BENCHMARKS.md); on by default.
                let server = match std::env::var("LOAD_HEADER_READ_TIMEOUT").as_deref() {
                    Ok("off") => server.header_read_timeout(None),
                    _ => server,
                };
                announce(addr);
                server.serve_with_listener(listener).await?;
                Ok(())
            }
            other => anyhow::bail!("serve: unknown server `{other}` (bare | ours)"),
        }
    })
}

fn announce(addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "LISTEN {addr}");
    let _ = out.flush();
}

/// Bare rmcp on axum, stateless, with `TCP_NODELAY` like any well-configured server (the
/// limit, not a strawman).
async fn serve_bare(listener: tokio::net::TcpListener, json: bool) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(json);
    let service = StreamableHttpService::new(
        || Ok(Bare),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).await?;
    Ok(())
}
