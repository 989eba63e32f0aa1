//! [`Introspection`]: opaque (or any) tokens checked at the authorization server's RFC 7662
//! endpoint, with a bounded cache.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::{Map, Value};
use url::Url;

use super::{
    TokenVerifier, VerifyError,
    cache::TtlLru,
    claims::{ClaimMapping, audiences, numeric_date},
    discovery::same_issuer,
    http::{HttpClient, HttpOptions, endpoint_url},
    static_tokens::sha256,
};
use crate::AccessToken;

const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Verifies tokens with an OAuth 2.0 Token Introspection endpoint (RFC 7662).
///
/// The server authenticates to the endpoint as a client (`client_secret_basic` or
/// `client_secret_post`). `active: false` → 401. For an active token, `exp` (→ `Expired`),
/// `nbf`, `iss` (when configured) and `aud` (required by default, → `WrongAudience`) are
/// checked. The endpoint unreachable, slow, answering 5xx, garbage, or refusing the server's
/// own credentials → 503 (`Unavailable`), never "allow".
///
/// Answers are cached in a bounded LRU keyed by the SHA-256 of the token: active ones until
/// `exp` but at most [`IntrospectionBuilder::cache`]'s lifetime (60 s by default, so a revoked
/// token stops working within it), refusals for a short time (5 s by default).
///
/// ```no_run
/// use mcp_auth_runtime::verify::{ClaimMapping, Introspection};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Introspection::builder("https://sso.example.com/realms/notes/protocol/openid-connect/token/introspect")
///     .client_secret_basic("notes-mcp", std::env::var("INTROSPECTION_SECRET")?)
///     .issuer("https://sso.example.com/realms/notes")
///     .audience("https://notes.example.com/mcp")
///     .claims(ClaimMapping::keycloak())
///     .build()?;
/// # let _ = verifier; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Introspection {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Url,
    http: HttpClient,
    client_id: String,
    client_secret: String,
    post_credentials: bool,
    issuer: Option<String>,
    audiences: Vec<String>,
    any_audience: bool,
    claims: ClaimMapping,
    leeway: u64,
    cache: Option<TtlLru<Answer>>,
    max_ttl: Duration,
    negative_ttl: Duration,
}

#[derive(Clone)]
enum Answer {
    Active(AccessToken),
    Refused(VerifyError),
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A configuration mistake found by [`IntrospectionBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectionConfigError {
    /// RFC 7662 endpoints require client authentication.
    #[error(
        "no client credentials: call .client_secret_basic(id, secret) or .client_secret_post(id, secret)"
    )]
    NoClientAuth,
    /// No audience: call `.audience(resource)`, or explicitly accept any audience.
    #[error(
        "no audience configured: call .audience(\"https://your.server/mcp\") (RFC 8707); \
         .danger_accept_any_audience() turns the check off"
    )]
    NoAudience,
    /// The endpoint URL is malformed or not HTTPS (outside loopback).
    #[error("{0}")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("{0}")]
    Http(String),
}

/// Configures an [`Introspection`] verifier.
#[must_use = "call .build() to get the verifier"]
pub struct IntrospectionBuilder {
    endpoint: String,
    credentials: Option<(String, String, bool)>,
    issuer: Option<String>,
    audiences: Vec<String>,
    any_audience: bool,
    claims: ClaimMapping,
    leeway: Duration,
    http: HttpOptions,
    cache: Option<(usize, Duration)>,
    negative_ttl: Duration,
}

impl std::fmt::Debug for IntrospectionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionBuilder")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Introspection {
    /// Start configuring a verifier for the introspection `endpoint`.
    pub fn builder(endpoint: impl Into<String>) -> IntrospectionBuilder {
        IntrospectionBuilder {
            endpoint: endpoint.into(),
            credentials: None,
            issuer: None,
            audiences: Vec::new(),
            any_audience: false,
            claims: ClaimMapping::default(),
            leeway: Duration::from_secs(60),
            http: HttpOptions::default(),
            cache: Some((10_000, Duration::from_secs(60))),
            negative_ttl: Duration::from_secs(5),
        }
    }
}

impl IntrospectionBuilder {
    /// Authenticate with HTTP Basic (`client_secret_basic`, the RFC 6749 default).
    pub fn client_secret_basic(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.credentials = Some((client_id.into(), secret.into(), false));
        self
    }

    /// Authenticate with `client_id` and `client_secret` in the form body
    /// (`client_secret_post`).
    pub fn client_secret_post(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.credentials = Some((client_id.into(), secret.into(), true));
        self
    }

    /// Refuse tokens whose `iss` (when the endpoint reports one) is not `issuer`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Accept tokens whose `aud` contains `audience`; call again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Turn the audience check off (see [`JwtVerifierBuilder::danger_accept_any_audience`]).
    ///
    /// [`JwtVerifierBuilder::danger_accept_any_audience`]: super::JwtVerifierBuilder::danger_accept_any_audience
    pub fn danger_accept_any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// How the response's claims become the [`AccessToken`].
    pub fn claims(mut self, mapping: ClaimMapping) -> Self {
        self.claims = mapping;
        self
    }

    /// Clock-skew allowance for `nbf` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// HTTP timeouts, size cap and the HTTPS rule.
    pub fn http(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Cache up to `capacity` answers; an active token is reused for at most `max_ttl`
    /// (default 10,000 and 60 s) and never past its `exp`.
    pub fn cache(mut self, capacity: usize, max_ttl: Duration) -> Self {
        self.cache = Some((capacity, max_ttl));
        self
    }

    /// Ask the endpoint on every request.
    pub fn no_cache(mut self) -> Self {
        self.cache = None;
        self
    }

    /// How long a refused token is remembered (default 5 s; zero turns it off).
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// Check the configuration and make the verifier.
    pub fn build(self) -> Result<Introspection, IntrospectionConfigError> {
        let (client_id, client_secret, post_credentials) = self
            .credentials
            .ok_or(IntrospectionConfigError::NoClientAuth)?;
        if self.audiences.is_empty() && !self.any_audience {
            return Err(IntrospectionConfigError::NoAudience);
        }
        let endpoint = endpoint_url(&self.endpoint, self.http.allow_insecure_http)
            .map_err(IntrospectionConfigError::Url)?;
        let http = HttpClient::new(self.http).map_err(IntrospectionConfigError::Http)?;
        let (cache, max_ttl) = match self.cache {
            Some((capacity, ttl)) => (Some(TtlLru::new(capacity)), ttl),
            None => (None, Duration::ZERO),
        };
        Ok(Introspection {
            inner: Arc::new(Inner {
                endpoint,
                http,
                client_id,
                client_secret,
                post_credentials,
                issuer: self.issuer,
                audiences: self.audiences,
                any_audience: self.any_audience,
                claims: self.claims,
                leeway: self.leeway.as_secs(),
                cache,
                max_ttl,
                negative_ttl: self.negative_ttl,
            }),
        })
    }
}

impl TokenVerifier for Introspection {
    async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
        let inner = &*self.inner;
        if let Some(verdict) = self.verify_now(token) {
            return verdict;
        }
        let digest = sha256(token);
        let answer = self.ask(token).await?;
        let now = Instant::now();
        if let Some(cache) = &inner.cache {
            match &answer {
                Ok(t) => {
                    let left = t
                        .expires_at()
                        .map_or(inner.max_ttl, |exp| {
                            exp.duration_since(SystemTime::now()).unwrap_or_default()
                        })
                        .min(inner.max_ttl);
                    cache.insert(digest, Answer::Active(t.clone()), now + left, now);
                }
                Err(e) => {
                    cache.insert(
                        digest,
                        Answer::Refused(e.clone()),
                        now + inner.negative_ttl,
                        now,
                    );
                }
            }
        }
        answer
    }

    /// A refusal of an oversized token, or the cached answer of the endpoint.
    fn verify_now(&self, token: &str) -> Option<Result<AccessToken, VerifyError>> {
        if token.len() > MAX_TOKEN_BYTES {
            return Some(Err(VerifyError::invalid("token too large")));
        }
        // Never sent to the endpoint, nor cached: the layer relies on `Ok` implying a
        // well-formed token.
        if !crate::layer::is_b64token(token.as_bytes()) {
            return Some(Err(VerifyError::invalid("malformed token")));
        }
        let cache = self.inner.cache.as_ref()?;
        Some(match cache.get(&sha256(token), Instant::now())? {
            Answer::Active(t) if t.is_expired_at(SystemTime::now()) => Err(VerifyError::Expired),
            Answer::Active(t) => Ok(t),
            Answer::Refused(e) => Err(e),
        })
    }
}

impl Introspection {
    /// One round trip. The outer error is "could not decide" (not cached); the inner result
    /// is the endpoint's verdict.
    async fn ask(&self, token: &str) -> Result<Result<AccessToken, VerifyError>, VerifyError> {
        let inner = &*self.inner;
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        let basic = if inner.post_credentials {
            form.push(("client_id", inner.client_id.as_str()));
            form.push(("client_secret", inner.client_secret.as_str()));
            None
        } else {
            Some((inner.client_id.as_str(), inner.client_secret.as_str()))
        };
        let unavailable = |reason: String, retry: Option<Duration>| {
            tracing::warn!(target: "mcp_auth::verify", %reason, "introspection failed");
            VerifyError::unavailable(
                format!("introspection: {reason}"),
                retry.unwrap_or(Duration::from_secs(2)),
            )
        };
        let res = inner
            .http
            .post_form(&inner.endpoint, &form, basic)
            .await
            .map_err(|e| unavailable(e.to_string(), e.retry_after()))?;
        match res.status {
            200 => {}
            401 | 403 => {
                return Err(unavailable(
                    format!(
                        "the endpoint refused this server's client credentials (HTTP {})",
                        res.status
                    ),
                    None,
                ));
            }
            other => return Err(unavailable(format!("HTTP {other}"), None)),
        }
        let body: Map<String, Value> = serde_json::from_slice(&res.body)
            .map_err(|e| unavailable(format!("response is not a JSON object: {e}"), None))?;
        Ok(self.judge(token, body))
    }

    fn judge(&self, token: &str, body: Map<String, Value>) -> Result<AccessToken, VerifyError> {
        let inner = &*self.inner;
        if body.get("active") != Some(&Value::Bool(true)) {
            return Err(VerifyError::invalid("token is not active"));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Some(exp) = body.get("exp") {
            match numeric_date(exp) {
                Some(exp) if exp <= now => return Err(VerifyError::Expired),
                Some(_) => {}
                None => return Err(VerifyError::invalid("malformed `exp`")),
            }
        }
        if let Some(nbf) = body.get("nbf").and_then(numeric_date)
            && nbf > now + inner.leeway
        {
            return Err(VerifyError::invalid("token not yet valid (`nbf`)"));
        }
        if let (Some(expected), Some(iss)) = (&inner.issuer, body.get("iss"))
            && !iss.as_str().is_some_and(|iss| same_issuer(iss, expected))
        {
            return Err(VerifyError::invalid("wrong issuer"));
        }
        if !inner.any_audience {
            let aud = audiences(&body);
            if !aud.iter().any(|a| inner.audiences.contains(a)) {
                return Err(VerifyError::WrongAudience);
            }
        }
        Ok(inner.claims.apply(token, body).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_token_is_refused_without_asking_the_endpoint() {
        // Nothing listens on the discard port: asking would end in `Unavailable`.
        let verifier = Introspection::builder("http://127.0.0.1:9/introspect")
            .client_secret_basic("rs", "rs-secret")
            .audience("http://127.0.0.1/mcp")
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for token in ["has space", "quote\"", "bang!", "ümlaut"] {
            let verdict = rt.block_on(verifier.verify(token));
            assert_eq!(
                verdict.unwrap_err(),
                VerifyError::invalid("malformed token")
            );
        }
        let well_formed = rt.block_on(verifier.verify("opaque-token_1.2~3+4/5=="));
        assert!(
            matches!(well_formed, Err(VerifyError::Unavailable { .. })),
            "a well-formed token is sent: {well_formed:?}"
        );
    }
}
