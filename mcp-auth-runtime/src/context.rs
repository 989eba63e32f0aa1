//! The caller's identity inside handlers: the [`AccessToken`] extractor, [`current_token`] and
//! [`require_auth`].

use rmcp::{
    RoleServer,
    handler::server::common::{AsRequestContext, FromContextPart},
    model::Extensions,
    service::RequestContext,
};

use crate::AccessToken;

tokio::task_local! {
    static CURRENT: AccessToken;
}

/// Why no identity is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no authenticated caller: this code runs outside a request that passed the mcp-auth layer \
     (serve the handler through AuthServer, or give stdio a local identity)"
)]
pub struct Unauthenticated;

impl From<Unauthenticated> for rmcp::ErrorData {
    fn from(e: Unauthenticated) -> Self {
        rmcp::ErrorData::invalid_request(e.to_string(), None)
    }
}

/// The verified token of the request being handled, if any.
///
/// Set for the duration of each request by the handler wrapper that
/// [`AuthServer`](crate::AuthServer) installs; it is a tokio task-local, so concurrent requests
/// never see each other's token. Outside a request (or in a task you spawned yourself) it is
/// `None`.
///
/// ```
/// assert!(mcp_auth_runtime::current_token().is_none());
/// ```
pub fn current_token() -> Option<AccessToken> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Like [`current_token`], but an error when there is no caller — use `?` in a handler.
///
/// ```
/// assert!(mcp_auth_runtime::require_auth().is_err());
/// ```
pub fn require_auth() -> Result<AccessToken, Unauthenticated> {
    current_token().ok_or(Unauthenticated)
}

/// Run `fut` with `token` as the [`current_token`]. Used by the handler wrapper; useful in
/// tests of your own handlers.
pub async fn with_token<F: std::future::Future>(token: AccessToken, fut: F) -> F::Output {
    CURRENT.scope(token, fut).await
}

pub(crate) fn scope_opt<F: std::future::Future>(
    token: Option<AccessToken>,
    fut: F,
) -> impl std::future::Future<Output = F::Output> {
    use futures_util::future::Either;
    match token {
        Some(t) => Either::Left(CURRENT.scope(t, fut)),
        None => Either::Right(fut),
    }
}

/// The token the layer attached to this request: first the HTTP request's extensions (what
/// the layer inserted), then the context's own extensions (stdio local identity, in-memory
/// transports).
pub fn token_from_extensions(extensions: &Extensions) -> Option<AccessToken> {
    if let Some(parts) = extensions.get::<http::request::Parts>()
        && let Some(t) = parts.extensions.get::<AccessToken>()
    {
        return Some(t.clone());
    }
    extensions.get::<AccessToken>().cloned()
}

/// The token of a request context. See [`token_from_extensions`].
pub fn token_from_context(ctx: &RequestContext<RoleServer>) -> Option<AccessToken> {
    token_from_extensions(&ctx.extensions)
}

/// `AccessToken` as a tool or prompt parameter: the verified caller of this request.
///
/// ```
/// use mcp_auth_runtime::AccessToken;
/// use rmcp::{tool, tool_router, handler::server::router::tool::ToolRouter};
///
/// #[derive(Clone)]
/// struct Svc { tool_router: ToolRouter<Self> }
///
/// #[tool_router]
/// impl Svc {
///     #[tool(description = "Who am I?")]
///     async fn whoami(&self, who: AccessToken) -> String {
///         who.subject().unwrap_or("anonymous").to_owned()
///     }
/// }
/// ```
///
/// A request without an identity fails with an `invalid_request` error naming the problem;
/// it never falls back to another request's token.
impl<C: AsRequestContext> FromContextPart<C> for AccessToken {
    fn from_context_part(context: &mut C) -> Result<Self, rmcp::ErrorData> {
        token_from_context(context.as_request_context()).ok_or_else(|| Unauthenticated.into())
    }
}
