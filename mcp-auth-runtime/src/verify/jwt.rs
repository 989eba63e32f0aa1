//! [`JwtVerifier`]: JWT access tokens checked against an HMAC secret, configured public keys,
//! a JWKS URL, or the key set of an issuer found by discovery. Configuration lives in
//! `jwt_builder.rs`; this file is the check itself.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, Validation, errors::ErrorKind};
use serde_json::{Map, Value};

use super::{
    TokenVerifier, VerifyError,
    cache::TtlLru,
    claims::{ClaimMapping, numeric_date},
    jwks::RemoteKeys,
    keys::KeySet,
};
use crate::AccessToken;

const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Verifies JWT access tokens (RFC 9068 and the usual IdP shapes).
///
/// Checked on every token: the signature, with an algorithm from an explicit allow-list
/// (`none` never; HS* only with a configured secret; a key's own `alg`, `use` and `kty`
/// respected); `iss`; `aud` naming this resource (RFC 8707, required unless explicitly turned
/// off; several accepted audiences may be configured); `exp` (required, no leeway); `nbf` and
/// `iat` within the leeway. A `crit` header is refused (no extension is understood); `jku`,
/// `x5u`, `jwk` and `x5c` headers are ignored: keys only ever come from the configured source.
///
/// Errors map to [`VerifyError`]: expired → `Expired`, wrong audience → `WrongAudience`, IdP
/// unreachable or answering garbage → `Unavailable` (503 with a retry hint), anything else →
/// `Invalid`.
///
/// Verified tokens are cached (keyed by the last 32 characters of the signature, a hit only
/// for the identical token; never past `exp`, 10,000 entries and 5 minutes by default), so a
/// busy client costs one signature check per cache lifetime.
///
/// ```no_run
/// use mcp_auth_runtime::verify::{ClaimMapping, JwtVerifier};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Discovery: OIDC / RFC 8414 metadata → jwks_uri → keys (fetched on first use).
/// let keycloak = JwtVerifier::discover("https://sso.example.com/realms/notes")
///     .audience("https://notes.example.com/mcp")
///     .claims(ClaimMapping::keycloak())
///     .build()?;
///
/// // A JWKS URL and an issuer.
/// let jwks = JwtVerifier::jwks("https://idp.example.com/.well-known/jwks.json")
///     .issuer("https://idp.example.com/")
///     .audience("https://notes.example.com/mcp")
///     .build()?;
/// # let _ = (keycloak, jwks); Ok(()) }
/// ```
///
/// With a shared secret (HS256), runnable:
///
/// ```
/// use mcp_auth_runtime::{TokenVerifier, VerifyError, verify::JwtVerifier};
///
/// let secret = b"a-secret-of-at-least-thirty-two-bytes!!";
/// let verifier = JwtVerifier::hmac(secret)
///     .issuer("https://issuer.example")
///     .audience("https://notes.example.com/mcp")
///     .build()
///     .unwrap();
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({
///         "iss": "https://issuer.example", "aud": "https://notes.example.com/mcp",
///         "sub": "alice", "scope": "notes:read", "exp": 4102444800u64,
///     }),
///     &jsonwebtoken::EncodingKey::from_secret(secret),
/// ).unwrap();
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let who = verifier.verify(&token).await.unwrap();
/// assert_eq!(who.subject(), Some("alice"));
/// assert!(who.has_scope("notes:read"));
/// assert!(matches!(verifier.verify("not-a-jwt").await, Err(VerifyError::Invalid(_))));
/// # });
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) keys: Keys,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) validations: HashMap<Algorithm, Validation>,
    pub(super) issuers: Vec<String>,
    pub(super) leeway: u64,
    pub(super) claims: ClaimMapping,
    pub(super) cache: Option<(TtlLru<AccessToken>, Duration)>,
}

pub(super) enum Keys {
    Static(Arc<KeySet>),
    Remote(Arc<RemoteKeys>),
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = match &self.inner.keys {
            Keys::Static(set) => format!("{} static", set.len()),
            Keys::Remote(remote) => format!("{remote:?}"),
        };
        f.debug_struct("JwtVerifier")
            .field("issuers", &self.inner.issuers)
            .field("algorithms", &self.inner.algorithms)
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

/// The verified-token cache key: the last 32 bytes of the token, which are the end of its
/// signature (the shortest signature accepted, HS256's, has 43 characters), zero-padded if
/// the token is shorter. Only tokens whose signature verified are ever inserted, so stored
/// keys are as uniform as a digest, and no one can choose them without the signing key; a
/// hit still counts only when the cached token is this exact string. (That comparison need
/// not be constant-time: reaching it already takes 192 bits of a valid signature.) A SHA-256
/// of the signature, the key before, was ~10% of a request's instructions under callgrind.
fn cache_key(token: &str) -> [u8; 32] {
    let tail = &token.as_bytes()[token.len().saturating_sub(32)..];
    let mut key = [0; 32];
    key[..tail.len()].copy_from_slice(tail);
    key
}

impl TokenVerifier for JwtVerifier {
    async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
        let inner = &*self.inner;
        if let Some(verdict) = self.verify_now(token) {
            return verdict;
        }
        let key = cache_key(token);

        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| VerifyError::invalid("not a JWT, or an unsupported `alg`"))?;
        if header.crit.is_some() {
            return Err(VerifyError::invalid("unsupported critical header (`crit`)"));
        }
        if !inner.algorithms.contains(&header.alg) {
            return Err(VerifyError::invalid(format!(
                "algorithm {:?} is not allowed",
                header.alg
            )));
        }
        let kid = header.kid.as_deref();
        let keys = match &inner.keys {
            Keys::Static(set) => set.clone(),
            Keys::Remote(remote) => {
                // Before a token may cause any traffic to the IdP, its issuer must be ours.
                self.precheck_issuer(token)?;
                remote.keys_for(kid).await?
            }
        };
        let candidates = keys.candidates(kid, header.alg)?;
        let validation = &inner.validations[&header.alg];
        let mut claims = None;
        for key in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, validation) {
                Ok(data) => {
                    claims = Some(data.claims);
                    break;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::InvalidSignature
                            | ErrorKind::InvalidEcdsaKey
                            | ErrorKind::InvalidRsaKey(_)
                            | ErrorKind::InvalidEddsaKey
                            | ErrorKind::InvalidKeyFormat
                    ) => {}
                Err(e) => return Err(map_error(e.kind())),
            }
        }
        let claims = claims.ok_or_else(|| VerifyError::invalid("signature does not verify"))?;
        let now = unix_now();
        self.check_times(&claims, now)?;

        let token = inner.claims.apply(token, claims).build();
        if let Some((cache, max_ttl)) = &inner.cache
            && let Some(exp) = token.expires_at()
        {
            let left = exp.duration_since(SystemTime::now()).unwrap_or_default();
            let at = Instant::now();
            cache.insert(key, token.clone(), at + left.min(*max_ttl), at);
        }
        Ok(token)
    }

    /// A refusal of an oversized token, or a hit in the verified-token cache.
    fn verify_now(&self, token: &str) -> Option<Result<AccessToken, VerifyError>> {
        if token.len() > MAX_TOKEN_BYTES {
            return Some(Err(VerifyError::invalid("token too large")));
        }
        let (cache, _) = self.inner.cache.as_ref()?;
        let hit = cache.get(&cache_key(token), Instant::now())?;
        if hit.raw_token() != token {
            return None;
        }
        Some(if hit.is_expired_at(SystemTime::now()) {
            Err(VerifyError::Expired)
        } else {
            Ok(hit)
        })
    }
}

impl JwtVerifier {
    fn precheck_issuer(&self, token: &str) -> Result<(), VerifyError> {
        #[derive(serde::Deserialize)]
        struct Iss {
            iss: Option<String>,
        }
        let claims: Iss = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| VerifyError::invalid("malformed JWT payload"))?;
        match claims.iss {
            Some(iss) if self.inner.issuers.contains(&iss) => Ok(()),
            Some(_) => Err(VerifyError::invalid("token from another issuer")),
            None => Err(VerifyError::invalid("token without `iss`")),
        }
    }

    /// `exp` strictly (the layer does too), `iat` within the leeway.
    fn check_times(&self, claims: &Map<String, Value>, now: u64) -> Result<(), VerifyError> {
        let exp = claims
            .get("exp")
            .and_then(numeric_date)
            .ok_or_else(|| VerifyError::invalid("`exp` is not a number"))?;
        if exp <= now {
            return Err(VerifyError::Expired);
        }
        if let Some(iat) = claims.get("iat") {
            let iat =
                numeric_date(iat).ok_or_else(|| VerifyError::invalid("`iat` is not a number"))?;
            if iat > now + self.inner.leeway {
                return Err(VerifyError::invalid("token issued in the future (`iat`)"));
            }
        }
        Ok(())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn map_error(kind: &ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::InvalidAudience => VerifyError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) if c == "aud" => VerifyError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) => {
            VerifyError::invalid(format!("required claim `{c}` is missing"))
        }
        ErrorKind::InvalidIssuer => VerifyError::invalid("wrong issuer"),
        ErrorKind::ImmatureSignature => VerifyError::invalid("token not yet valid (`nbf`)"),
        ErrorKind::InvalidAlgorithm => VerifyError::invalid("algorithm does not fit the key"),
        ErrorKind::InvalidClaimFormat(c) => VerifyError::invalid(format!("malformed `{c}`")),
        _ => VerifyError::invalid("malformed JWT"),
    }
}
