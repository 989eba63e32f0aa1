//! # mcp-auth
//!
//! Declarative, compile-time-checked, per-tool authorization for MCP servers built on
//! [rmcp](https://docs.rs/rmcp).
//!
//! Every request to the MCP endpoint passes a bearer-first HTTP layer that speaks the MCP
//! authorization spec exactly (401/403 challenges with `WWW-Authenticate`, RFC 9728 Protected
//! Resource Metadata, audience binding) before rmcp sees it; handlers read the caller through
//! an [`AccessToken`] parameter or [`current_token`].
//!
//! ```no_run
//! use mcp_auth::prelude::*;
//! use mcp_auth::rmcp::{tool, tool_handler, tool_router, handler::server::router::tool::ToolRouter};
//!
//! #[derive(Clone)]
//! struct Hello { tool_router: ToolRouter<Self> }
//!
//! #[tool_router]
//! impl Hello {
//!     #[tool(description = "Greets the caller")]
//!     async fn hello(&self, who: AccessToken) -> String {
//!         format!("hello, {}", who.subject().unwrap_or("stranger"))
//!     }
//! }
//!
//! #[tool_handler(router = self.tool_router)]
//! impl ServerHandler for Hello {}
//! impl mcp_auth::Protected for Hello {}
//!
//! # async fn run() -> Result<(), mcp_auth::ServeError> {
//! AuthServer::new(Hello { tool_router: Hello::tool_router() })
//!     .name(env!("CARGO_PKG_NAME"))
//!     .version(env!("CARGO_PKG_VERSION"))
//!     .verifier(StaticTokens::from_env("MCP_API_KEYS").expect("MCP_API_KEYS"))
//!     .resource("https://hello.example.com/mcp")
//!     .authorization_server("https://idp.example.com")
//!     .serve("0.0.0.0:8000")
//!     .await
//! # }
//! ```
#![warn(missing_docs)]

pub use mcp_auth_runtime::*;
pub use rmcp;

/// The names most servers need, in one import.
pub mod prelude {
    pub use mcp_auth_runtime::{
        AccessToken, AuthLayer, AuthServer, Protected, ProtectedResource, StaticTokens,
        TokenVerifier, VerifyError, current_token, require_auth,
    };
    pub use rmcp::ServerHandler;
}

/// The README's code blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
