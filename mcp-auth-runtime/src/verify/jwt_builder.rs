//! Configuration of a [`JwtVerifier`]: key source, issuer, audiences, algorithm allow-list,
//! leeway, claim mapping, HTTP and cache settings, checked once by
//! [`JwtVerifierBuilder::build`].

use std::{
    sync::{Arc, Once},
    time::Duration,
};

use jsonwebtoken::{Algorithm, Validation};

use super::{
    VerifyError,
    cache::TtlLru,
    claims::ClaimMapping,
    discovery::same_issuer,
    http::{HttpClient, HttpOptions, endpoint_url},
    jwks::{JwksOptions, RemoteKeys, Source},
    jwt::{Inner, JwtVerifier, Keys},
    keys::{KeySet, PublicKey},
};

/// Default size of the verified-token cache.
const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// Default longest time a verified token is served from the cache.
const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
const SYMMETRIC: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

/// A configuration mistake found by [`JwtVerifierBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtConfigError {
    /// No issuer: call `.issuer(..)` (discovery sets it).
    #[error("no issuer configured: call .issuer(\"https://idp.example.com\")")]
    NoIssuer,
    /// No audience: call `.audience(resource)`, or explicitly accept any audience.
    #[error(
        "no audience configured: call .audience(\"https://your.server/mcp\") (RFC 8707); \
         .danger_accept_any_audience() turns the check off"
    )]
    NoAudience,
    /// The algorithm allow-list does not fit the key source.
    #[error("algorithm allow-list: {0}")]
    Algorithms(String),
    /// The HMAC secret is shorter than 32 bytes.
    #[error("the HMAC secret must be at least 32 bytes (RFC 7518 §3.2)")]
    WeakSecret,
    /// A URL is malformed or not HTTPS (outside loopback).
    #[error("{0}")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("{0}")]
    Http(String),
}

enum SourceSpec {
    Secret(Vec<u8>),
    Keys(Vec<PublicKey>),
    Jwks(String),
    Discover(String),
}

/// Configures a [`JwtVerifier`]; start from [`JwtVerifier::discover`], [`JwtVerifier::jwks`],
/// [`JwtVerifier::public_keys`] or [`JwtVerifier::hmac`].
#[must_use = "call .build() to get the verifier"]
pub struct JwtVerifierBuilder {
    source: SourceSpec,
    issuer: Option<String>,
    audiences: Vec<String>,
    any_audience: bool,
    algorithms: Option<Vec<Algorithm>>,
    leeway: Duration,
    claims: ClaimMapping,
    http: HttpOptions,
    jwks: JwksOptions,
    cache: Option<(usize, Duration)>,
}

impl std::fmt::Debug for JwtVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Keys from the issuer's metadata (`/.well-known/oauth-authorization-server` or
    /// `/.well-known/openid-configuration`, path-inserted per RFC 8414), fetched on first use;
    /// `iss` must equal `issuer` (a trailing-slash difference is tolerated).
    pub fn discover(issuer: impl Into<String>) -> JwtVerifierBuilder {
        let issuer = issuer.into();
        Self::builder(SourceSpec::Discover(issuer.clone())).issuer(issuer)
    }

    /// Keys from a JWKS URL; set the issuer with [`JwtVerifierBuilder::issuer`].
    pub fn jwks(url: impl Into<String>) -> JwtVerifierBuilder {
        Self::builder(SourceSpec::Jwks(url.into()))
    }

    /// Fixed public keys (PEM, DER or JWK; see [`PublicKey`]).
    pub fn public_keys(keys: impl IntoIterator<Item = PublicKey>) -> JwtVerifierBuilder {
        Self::builder(SourceSpec::Keys(keys.into_iter().collect()))
    }

    /// A shared HMAC secret (HS256, HS384, HS512), at least 32 bytes.
    pub fn hmac(secret: impl AsRef<[u8]>) -> JwtVerifierBuilder {
        Self::builder(SourceSpec::Secret(secret.as_ref().to_vec()))
    }

    fn builder(source: SourceSpec) -> JwtVerifierBuilder {
        JwtVerifierBuilder {
            source,
            issuer: None,
            audiences: Vec::new(),
            any_audience: false,
            algorithms: None,
            leeway: Duration::from_secs(60),
            claims: ClaimMapping::default(),
            http: HttpOptions::default(),
            jwks: JwksOptions::default(),
            cache: Some((DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL)),
        }
    }

    /// Fetch the remote keys now (discovery included), e.g. to fail fast at startup. Not
    /// needed: keys are fetched on first use. A no-op for static keys.
    pub async fn warm_up(&self) -> Result<(), VerifyError> {
        match &self.inner.keys {
            Keys::Static(_) => Ok(()),
            Keys::Remote(remote) => remote.warm_up().await.map(drop),
        }
    }
}

impl JwtVerifierBuilder {
    /// The expected `iss` (exact match, or differing only by a trailing slash).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Accept tokens whose `aud` contains `audience` (usually this server's resource URL).
    /// Call again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accept each of `audiences`.
    pub fn audiences(mut self, audiences: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Turn the audience check off. MCP requires it (a token for another service must not be
    /// accepted here); only for IdPs that cannot set `aud`, behind other safeguards.
    pub fn danger_accept_any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// Replace the algorithm allow-list (default: RS*, PS*, ES256, ES384, EdDSA for public
    /// keys; HS256, HS384, HS512 for a secret).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Clock-skew allowance for `nbf` and `iat` (default 60 s). `exp` has none.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How claims become the [`AccessToken`](crate::AccessToken) (scopes, roles, client id; IdP
    /// presets).
    pub fn claims(mut self, mapping: ClaimMapping) -> Self {
        self.claims = mapping;
        self
    }

    /// HTTP timeouts, size cap and the HTTPS rule for discovery and JWKS.
    pub fn http(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// JWKS caching and refresh limits.
    pub fn jwks_options(mut self, options: JwksOptions) -> Self {
        self.jwks = options;
        self
    }

    /// Size and longest lifetime of the verified-token cache (default 10,000 and 5 min).
    pub fn cache(mut self, capacity: usize, max_ttl: Duration) -> Self {
        self.cache = Some((capacity, max_ttl));
        self
    }

    /// Check every token in full, every time.
    pub fn no_cache(mut self) -> Self {
        self.cache = None;
        self
    }

    /// Check the configuration and make the verifier. Nothing is fetched yet.
    pub fn build(self) -> Result<JwtVerifier, JwtConfigError> {
        install_crypto_provider();
        let issuer = self.issuer.clone().ok_or(JwtConfigError::NoIssuer)?;
        if self.audiences.is_empty() && !self.any_audience {
            return Err(JwtConfigError::NoAudience);
        }
        let symmetric = matches!(self.source, SourceSpec::Secret(_));
        let algorithms = match self.algorithms.clone() {
            Some(list) => list,
            None if symmetric => SYMMETRIC.to_vec(),
            None => ASYMMETRIC.to_vec(),
        };
        check_algorithms(&algorithms, symmetric)?;

        let keys = match self.source {
            SourceSpec::Secret(secret) => {
                if secret.len() < 32 {
                    return Err(JwtConfigError::WeakSecret);
                }
                Keys::Static(Arc::new(KeySet::from_keys(vec![
                    PublicKey::hmac(&secret).inner,
                ])))
            }
            SourceSpec::Keys(keys) => {
                if keys.is_empty() {
                    return Err(JwtConfigError::Algorithms("no public key given".into()));
                }
                Keys::Static(Arc::new(KeySet::from_keys(
                    keys.into_iter().map(|k| k.inner).collect(),
                )))
            }
            SourceSpec::Jwks(url) => {
                let url = endpoint_url(&url, self.http.allow_insecure_http)
                    .map_err(JwtConfigError::Url)?;
                let http = HttpClient::new(self.http.clone()).map_err(JwtConfigError::Http)?;
                Keys::Remote(Arc::new(RemoteKeys::new(
                    Source::Jwks(url),
                    http,
                    self.jwks.clone(),
                )))
            }
            SourceSpec::Discover(discovered) => {
                if !same_issuer(&discovered, &issuer) {
                    return Err(JwtConfigError::Url(format!(
                        "issuer `{issuer}` differs from the discovered issuer `{discovered}`"
                    )));
                }
                let issuer_url = endpoint_url(&discovered, self.http.allow_insecure_http)
                    .map_err(JwtConfigError::Url)?;
                let http = HttpClient::new(self.http.clone()).map_err(JwtConfigError::Http)?;
                Keys::Remote(Arc::new(RemoteKeys::new(
                    Source::Discover {
                        issuer_url,
                        issuer: discovered,
                    },
                    http,
                    self.jwks.clone(),
                )))
            }
        };

        // Both spellings of the issuer, with and without a trailing slash.
        let bare = issuer.trim_end_matches('/').to_owned();
        let issuers = vec![bare.clone(), format!("{bare}/")];
        let leeway = self.leeway.as_secs();
        let validations = algorithms
            .iter()
            .map(|&alg| {
                let mut v = Validation::new(alg);
                v.leeway = leeway;
                v.validate_nbf = true;
                v.validate_exp = true;
                v.set_issuer(&issuers);
                let mut required = vec!["exp", "iss"];
                if self.any_audience {
                    v.validate_aud = false;
                } else {
                    v.set_audience(&self.audiences);
                    required.push("aud");
                }
                v.set_required_spec_claims(&required);
                (alg, v)
            })
            .collect();
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                keys,
                algorithms,
                validations,
                issuers,
                leeway,
                claims: self.claims,
                cache: self
                    .cache
                    .map(|(capacity, ttl)| (TtlLru::new(capacity), ttl)),
            }),
        })
    }
}

fn check_algorithms(algorithms: &[Algorithm], symmetric: bool) -> Result<(), JwtConfigError> {
    if algorithms.is_empty() {
        return Err(JwtConfigError::Algorithms("the list is empty".into()));
    }
    for alg in algorithms {
        let is_hs = SYMMETRIC.contains(alg);
        if is_hs && !symmetric {
            return Err(JwtConfigError::Algorithms(format!(
                "{alg:?} needs a shared secret (JwtVerifier::hmac); it is never used with public keys"
            )));
        }
        if !is_hs && symmetric {
            return Err(JwtConfigError::Algorithms(format!(
                "{alg:?} needs a public key, not a shared secret"
            )));
        }
    }
    Ok(())
}

/// Pick jsonwebtoken's RustCrypto backend for the process unless one is already chosen (it
/// cannot choose by itself when another crate also turns on its `aws_lc_rs` feature).
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    });
}
