//! Serving over stdio (and other non-HTTP transports) with an explicit identity policy.
//!
//! The MCP spec says stdio servers should not run the OAuth flow and should take credentials
//! from the environment. There is no bearer header to check, so the choice is explicit:
//!
//! - [`StdioAuth::Deny`] (the default): no identity; only items that declare no scopes and no
//!   roles can be used — protected items are hidden exactly like unknown ones;
//! - [`StdioAuth::Identity`]: run every request as one configured local identity;
//! - [`StdioAuth::from_env`]: read a credential from an environment variable and verify it
//!   once at start with any [`TokenVerifier`] (e.g. the same API keys the HTTP server uses).

use rmcp::{ServerHandler, ServiceExt};

use crate::{AccessToken, Authenticated, Protected, TokenVerifier, VerifyError};

/// Who a stdio session runs as.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum StdioAuth {
    /// No identity: protected items are refused (fail closed).
    #[default]
    Deny,
    /// Every request runs as this identity.
    Identity(AccessToken),
}

/// Why a stdio identity could not be established.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StdioAuthError {
    /// The variable is unset or empty.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The verifier refused the credential.
    #[error("the credential in {var} was refused: {source}")]
    Refused {
        /// The variable.
        var: String,
        /// Why.
        source: VerifyError,
    },
}

impl StdioAuth {
    /// Verify the credential held by the environment variable `var` with `verifier`, once.
    ///
    /// ```
    /// use mcp_auth_runtime::{AccessToken, StaticTokens, StdioAuth};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let keys = StaticTokens::new().with_token("k-123", AccessToken::builder("").subject("me"));
    /// // SAFETY: single-threaded doctest.
    /// unsafe { std::env::set_var("DOC_MCP_KEY", "k-123") };
    /// let auth = StdioAuth::from_env("DOC_MCP_KEY", &keys).await.unwrap();
    /// assert!(matches!(auth, StdioAuth::Identity(t) if t.subject() == Some("me")));
    /// # });
    /// ```
    pub async fn from_env(
        var: &str,
        verifier: &impl TokenVerifier,
    ) -> Result<Self, StdioAuthError> {
        let raw = std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| StdioAuthError::MissingEnv(var.to_owned()))?;
        let token =
            verifier
                .verify(raw.trim())
                .await
                .map_err(|source| StdioAuthError::Refused {
                    var: var.to_owned(),
                    source,
                })?;
        Ok(Self::Identity(token))
    }

    /// Wrap a handler for a non-HTTP transport under this policy.
    pub fn wrap<H: ServerHandler + Protected>(self, handler: H) -> Authenticated<H> {
        match self {
            Self::Deny => Authenticated::new(handler),
            Self::Identity(token) => Authenticated::with_local_identity(handler, token),
        }
    }
}

/// Serve `handler` on stdin/stdout under `auth` until the client disconnects.
///
/// ```no_run
/// use mcp_auth_runtime::{StaticTokens, StdioAuth, serve_stdio};
/// # #[derive(Clone)] struct Notes;
/// # impl rmcp::ServerHandler for Notes {}
/// # impl mcp_auth_runtime::Protected for Notes {}
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = StaticTokens::from_env("MCP_API_KEYS")?;
/// let auth = StdioAuth::from_env("MCP_API_KEY", &keys).await.unwrap_or_default();
/// serve_stdio(Notes, auth).await?;
/// # Ok(()) }
/// ```
pub async fn serve_stdio<H: ServerHandler + Protected>(
    handler: H,
    auth: StdioAuth,
) -> Result<(), std::io::Error> {
    let running = auth
        .wrap(handler)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(std::io::Error::other)?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}
