//! Runtime of [mcp-auth](https://docs.rs/mcp-auth): token verification, the bearer-first HTTP
//! layer, the policy, and the auth-aware MCP server builder on rmcp.
//!
//! Most applications use the `mcp-auth` facade crate and its macros; this crate holds what
//! they expand to.
#![warn(missing_docs)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod audit;
pub mod challenge;
mod client_ip;
mod context;
pub mod declared;
mod dev_issuer;
mod error;
mod guard;
pub mod layer;
mod lockout;
pub mod operation;
pub mod policy;
pub mod ratelimit;
mod resource;
mod server;
mod session;
mod stdio;
mod token;
pub mod verify;

pub use challenge::Rejection;
pub use context::{
    Unauthenticated, current_token, require_auth, token_from_context, token_from_extensions,
    with_token,
};
pub use dev_issuer::{DevIssuer, DevIssuerError, DevUser};
pub use error::{BuildError, ServeError};
pub use guard::PolicyGuard;
pub use layer::{AuthLayer, AuthService};
pub use lockout::Lockout;
pub use policy::Protected;
pub use ratelimit::{IntoRate, Rate, RateError};
pub use resource::{ProtectedResource, ProtectedResourceBuilder, WELL_KNOWN_PRM};
pub use server::{
    AuthServer, Authenticated, DEFAULT_MAX_BODY_BYTES, DEFAULT_SESSION_CAPACITY,
    HEADER_READ_TIMEOUT, SHUTDOWN_GRACE, serve_router,
};
pub use stdio::{StdioAuth, StdioAuthError, serve_stdio};
pub use token::{AccessToken, AccessTokenBuilder};
pub use verify::{
    Chain, ClaimMapping, Introspection, JwtVerifier, StaticTokens, StaticTokensError,
    TokenVerifier, VerifyError,
};
