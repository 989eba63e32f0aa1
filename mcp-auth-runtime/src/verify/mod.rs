//! Token verification: the [`TokenVerifier`] trait and its implementations.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use crate::AccessToken;

mod cache;
mod chain;
mod claims;
mod discovery;
mod http;
mod introspection;
mod jwks;
mod jwt;
mod jwt_builder;
mod keys;
mod static_tokens;

pub use chain::Chain;
pub use claims::{ClaimMapping, ClaimPath};
pub use http::HttpOptions;
pub use introspection::{Introspection, IntrospectionBuilder, IntrospectionConfigError};
pub use jsonwebtoken::Algorithm;
pub use jwks::JwksOptions;
pub use jwt::JwtVerifier;
pub use jwt_builder::{JwtConfigError, JwtVerifierBuilder};
pub use keys::{KeyError, PublicKey};
pub use static_tokens::{StaticTokens, StaticTokensError};

/// Why a token was not accepted.
///
/// The HTTP layer maps each variant to the wire: the first three become
/// `401 invalid_token`, [`VerifyError::Unavailable`] becomes `503` with `Retry-After`.
/// Descriptions are shown to the client, so they must never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is unknown, malformed, or its signature does not verify.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token was valid once but is past its expiry.
    #[error("token expired")]
    Expired,
    /// The token was issued for another resource (RFC 8707 audience).
    #[error("token audience does not include this resource")]
    WrongAudience,
    /// The verifier could not decide because its backend (IdP, JWKS, introspection
    /// endpoint) is unreachable. The request fails closed with 503.
    #[error("token verification unavailable: {reason}")]
    Unavailable {
        /// What went wrong, for logs (never the token).
        reason: String,
        /// When the client may retry.
        retry_after: Duration,
    },
}

impl VerifyError {
    /// An [`VerifyError::Invalid`] with a description.
    pub fn invalid(description: impl Into<String>) -> Self {
        Self::Invalid(description.into())
    }

    /// An [`VerifyError::Unavailable`] asking clients to retry after `retry_after`.
    pub fn unavailable(reason: impl Into<String>, retry_after: Duration) -> Self {
        Self::Unavailable {
            reason: reason.into(),
            retry_after,
        }
    }
}

/// Turns a bearer string into an [`AccessToken`], or says why not.
///
/// Implement it for your own token format; the crate ships [`StaticTokens`] (API keys).
/// A verifier must not log the token and must fail closed: when in doubt, return an error.
///
/// ```
/// use mcp_auth_runtime::{AccessToken, TokenVerifier, VerifyError};
///
/// struct OnlyAlice;
///
/// impl TokenVerifier for OnlyAlice {
///     async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
///         if token == "alice-token" {
///             Ok(AccessToken::builder(token).subject("alice").scopes(["mcp"]).build())
///         } else {
///             Err(VerifyError::invalid("unknown token"))
///         }
///     }
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert!(OnlyAlice.verify("alice-token").await.is_ok());
/// assert!(OnlyAlice.verify("mallory").await.is_err());
/// # });
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verify `token` (the part after `Bearer `).
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send;

    /// The verdict on `token` if it can be reached at once, without I/O: a cache hit, or a
    /// check that never waits. The layer asks this first and awaits [`verify`](Self::verify)
    /// only on `None`, which keeps the common case free of a boxed future. When it answers,
    /// it must answer exactly as `verify` would. The default is `None`.
    ///
    /// The layer asks it with the credential as sent, before checking its RFC 6750 syntax
    /// (a `b64token`), and checks that only when the answer is not `Ok`: a verifier must never
    /// accept a token outside that syntax. JWTs cannot be (base64url and dots); the bundled
    /// verifiers refuse other malformed tokens themselves.
    ///
    /// ```
    /// use mcp_auth_runtime::{AccessToken, StaticTokens, TokenVerifier};
    ///
    /// let keys = StaticTokens::new().with_token("sk-1", AccessToken::builder("").subject("ci"));
    /// let verdict = keys.verify_now("sk-1").expect("static keys never wait");
    /// assert_eq!(verdict.unwrap().subject(), Some("ci"));
    /// ```
    fn verify_now(&self, token: &str) -> Option<Result<AccessToken, VerifyError>> {
        let _ = token;
        None
    }
}

/// Object-safe form of [`TokenVerifier`], implemented for every verifier. The layer stores
/// an `Arc<dyn DynVerifier>`.
#[doc(hidden)]
pub trait DynVerifier: Send + Sync + 'static {
    fn verify_dyn<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<AccessToken, VerifyError>> + Send + 'a>>;

    fn verify_now_dyn(&self, token: &str) -> Option<Result<AccessToken, VerifyError>>;
}

impl<T: TokenVerifier> DynVerifier for T {
    fn verify_dyn<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<AccessToken, VerifyError>> + Send + 'a>> {
        Box::pin(self.verify(token))
    }

    fn verify_now_dyn(&self, token: &str) -> Option<Result<AccessToken, VerifyError>> {
        self.verify_now(token)
    }
}

impl<T: TokenVerifier> TokenVerifier for Arc<T> {
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send {
        (**self).verify(token)
    }

    fn verify_now(&self, token: &str) -> Option<Result<AccessToken, VerifyError>> {
        (**self).verify_now(token)
    }
}

/// A shared, type-erased verifier.
pub(crate) type SharedVerifier = Arc<dyn DynVerifier>;
