//! Errors of building and serving.

/// A configuration mistake found while building the server. Building fails instead of
/// serving something insecure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The resource URL is missing, not absolute, or not canonicalizable.
    #[error("invalid resource URL {0}")]
    InvalidResource(String),
    /// No authorization server was configured (MCP requires at least one).
    #[error("at least one authorization server is required (`.authorization_server(..)`)")]
    NoAuthorizationServer,
    /// An authorization server is not an absolute http(s) URL.
    #[error("invalid authorization server {0}")]
    InvalidAuthorizationServer(String),
    /// No verifier was configured.
    #[error("a token verifier is required (`.verifier(..)`)")]
    NoVerifier,
    /// No resource URL was configured.
    #[error("the resource URL is required (`.resource(\"https://host/mcp\")`)")]
    NoResource,
    /// A scope is not an RFC 6749 scope-token.
    #[error(
        "invalid scope {0:?}: a scope is one or more of the characters %x21 / %x23-5B / %x5D-7E"
    )]
    InvalidScope(String),
    /// A rate given as a string is malformed.
    #[error("invalid {what}: {error}")]
    InvalidRate {
        /// Which setting (`rate_limit_per_ip`, `rate_limit_per_principal`).
        what: &'static str,
        /// What is wrong with it.
        error: crate::RateError,
    },
}

/// Serving failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Binding or accepting failed.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}
