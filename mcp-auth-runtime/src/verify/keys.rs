//! Signature keys: configured public keys and secrets, parsed JWKS documents, and the rule
//! that picks which keys may check a given token header.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::VerifyError;

/// Candidate keys tried for one token at most (same `kid` published twice, or key
/// configurations without ids).
const MAX_CANDIDATES: usize = 4;
/// Smallest RSA modulus accepted from a JWKS, in bits.
const MIN_RSA_BITS: usize = 2048;

/// The key types a JWT algorithm can be checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    /// An EC key whose curve is known (from a JWK `crv`).
    P256,
    P384,
    /// An EC key from PEM/DER whose curve was not stated; the signature check decides.
    EcAnyCurve,
    Ed25519,
    Hmac,
}

impl KeyKind {
    fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            KeyKind::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::P256 => alg == ES256,
            KeyKind::P384 => alg == ES384,
            KeyKind::EcAnyCurve => matches!(alg, ES256 | ES384),
            KeyKind::Ed25519 => alg == EdDSA,
            KeyKind::Hmac => matches!(alg, HS256 | HS384 | HS512),
        }
    }
}

/// One key able to check signatures, with the constraints it was published with.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    pub(crate) kid: Option<String>,
    /// The key's own `alg`, when stated: tokens with another `alg` never use it.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) kind: KeyKind,
    pub(crate) key: DecodingKey,
}

impl VerifyingKey {
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        self.kind.fits(alg) && self.alg.is_none_or(|own| own == alg)
    }
}

/// A public key (or an HMAC secret) configured in code for [`JwtVerifier`](super::JwtVerifier).
///
/// ```
/// use mcp_auth_runtime::verify::{Algorithm, PublicKey};
///
/// let pem = b"-----BEGIN PUBLIC KEY-----
/// MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErnmux3qBYDj+AQwE/iST6cpvQxEY
/// kXk/+FEiyJ43R+3TvCyXh2tkIqZOaknNMbbejPi1EOQ5VpALK/a+ZjiRFw==
/// -----END PUBLIC KEY-----";
/// let key = PublicKey::from_pem(pem).unwrap().kid("2024-06").algorithm(Algorithm::ES256);
/// # let _ = key;
/// assert!(PublicKey::from_pem(b"not a key").is_err());
/// ```
#[derive(Clone)]
pub struct PublicKey {
    pub(crate) inner: VerifyingKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.inner.kid)
            .field("alg", &self.inner.alg)
            .field("kind", &self.inner.kind)
            .finish_non_exhaustive()
    }
}

/// A key that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key: {0}")]
pub struct KeyError(pub(crate) String);

impl PublicKey {
    /// A PEM public key: RSA (`RSA PUBLIC KEY` or `PUBLIC KEY`), EC P-256/P-384 or Ed25519
    /// (`PUBLIC KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let (key, kind) = if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
            (k, KeyKind::Rsa)
        } else if let Ok(k) = DecodingKey::from_ec_pem(pem) {
            (k, KeyKind::EcAnyCurve)
        } else if let Ok(k) = DecodingKey::from_ed_pem(pem) {
            (k, KeyKind::Ed25519)
        } else {
            return Err(KeyError(
                "not a PEM RSA, EC or Ed25519 public key".to_owned(),
            ));
        };
        Ok(Self::new(key, kind))
    }

    /// An RSA public key as PKCS#1 `RSAPublicKey` DER.
    pub fn rsa_der(der: &[u8]) -> Self {
        Self::new(DecodingKey::from_rsa_der(der), KeyKind::Rsa)
    }

    /// An EC public key as its SEC1 point encoding (`04 || x || y`).
    pub fn ec_der(der: &[u8]) -> Self {
        let kind = match der.len() {
            65 => KeyKind::P256,
            97 => KeyKind::P384,
            _ => KeyKind::EcAnyCurve,
        };
        Self::new(DecodingKey::from_ec_der(der), kind)
    }

    /// An Ed25519 public key as its 32 raw bytes.
    pub fn ed25519_raw(bytes: &[u8]) -> Self {
        Self::new(DecodingKey::from_ed_der(bytes), KeyKind::Ed25519)
    }

    /// One JWK (a public key, as published in a JWKS). Keys for encryption, HMAC keys,
    /// RSA keys under 2048 bits and unsupported curves are refused.
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        let raw: RawJwk =
            serde_json::from_str(json).map_err(|e| KeyError(format!("not a JWK: {e}")))?;
        raw.into_key().map(|inner| Self { inner }).map_err(KeyError)
    }

    /// Only tokens whose header carries this `kid` use the key.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.inner.kid = Some(kid.into());
        self
    }

    /// Only tokens signed with `alg` use the key.
    pub fn algorithm(mut self, alg: Algorithm) -> Self {
        self.inner.alg = Some(alg);
        self
    }

    pub(crate) fn hmac(secret: &[u8]) -> Self {
        Self::new(DecodingKey::from_secret(secret), KeyKind::Hmac)
    }

    fn new(key: DecodingKey, kind: KeyKind) -> Self {
        Self {
            inner: VerifyingKey {
                kid: None,
                alg: None,
                kind,
                key,
            },
        }
    }
}

/// A set of keys, from configuration or from one JWKS download.
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (&k.kid, k.kind)))
            .finish()
    }
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

impl RawJwk {
    fn into_key(self) -> Result<VerifyingKey, String> {
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err("not a signature key (`use`)".into());
        }
        if self
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
        {
            return Err("`key_ops` does not allow `verify`".into());
        }
        let alg = match self.alg.as_deref() {
            None => None,
            Some(a) => Some(
                a.parse::<Algorithm>()
                    .map_err(|_| format!("unsupported key alg `{a}`"))?,
            ),
        };
        let field = |v: Option<String>, name: &str| {
            v.ok_or_else(|| format!("{} key without `{name}`", self.kty))
        };
        let decoded_len = |s: &str| URL_SAFE_NO_PAD.decode(s).map(|b| b.len()).ok();
        let (kind, key) = match self.kty.as_str() {
            "RSA" => {
                let n = field(self.n.clone(), "n")?;
                let e = field(self.e.clone(), "e")?;
                let bits = decoded_len(&n).ok_or("RSA `n` is not base64url")? * 8;
                if bits < MIN_RSA_BITS {
                    return Err(format!("RSA key of {bits} bits is too small"));
                }
                let key = DecodingKey::from_rsa_components(&n, &e).map_err(|e| e.to_string())?;
                (KeyKind::Rsa, key)
            }
            "EC" => {
                let (kind, len) = match self.crv.as_deref() {
                    Some("P-256") => (KeyKind::P256, 32),
                    Some("P-384") => (KeyKind::P384, 48),
                    other => return Err(format!("unsupported EC curve {other:?}")),
                };
                let x = field(self.x.clone(), "x")?;
                let y = field(self.y.clone(), "y")?;
                if decoded_len(&x) != Some(len) || decoded_len(&y) != Some(len) {
                    return Err("EC coordinates of the wrong length".into());
                }
                let key = DecodingKey::from_ec_components(&x, &y).map_err(|e| e.to_string())?;
                (kind, key)
            }
            "OKP" => {
                if self.crv.as_deref() != Some("Ed25519") {
                    return Err(format!("unsupported OKP curve {:?}", self.crv));
                }
                let x = field(self.x.clone(), "x")?;
                if decoded_len(&x) != Some(32) {
                    return Err("Ed25519 key of the wrong length".into());
                }
                let key = DecodingKey::from_ed_components(&x).map_err(|e| e.to_string())?;
                (KeyKind::Ed25519, key)
            }
            // Symmetric keys are never taken from a key set: HS* needs a configured secret.
            "oct" => return Err("symmetric keys are not accepted from a key set".into()),
            other => return Err(format!("unsupported key type {other}")),
        };
        let key = VerifyingKey {
            kid: self.kid,
            alg,
            kind,
            key,
        };
        if let Some(alg) = key.alg
            && !key.kind.fits(alg)
        {
            return Err(format!("key alg {alg:?} does not fit its key type"));
        }
        Ok(key)
    }
}

impl KeySet {
    pub(crate) fn from_keys(keys: Vec<VerifyingKey>) -> Self {
        Self { keys }
    }

    /// Parse a JWKS document. Unusable keys are skipped (logged at debug); at most
    /// `max_keys` keys are kept. A set without any usable key is an error.
    pub(crate) fn from_jwks(body: &[u8], max_keys: usize) -> Result<Self, String> {
        let raw: RawJwkSet =
            serde_json::from_slice(body).map_err(|e| format!("not a JWK set: {e}"))?;
        let mut keys = Vec::new();
        for (i, value) in raw.keys.into_iter().enumerate() {
            if keys.len() == max_keys {
                tracing::warn!(
                    target: "mcp_auth::verify",
                    max_keys,
                    "JWKS has more usable keys than the limit; the rest are ignored"
                );
                break;
            }
            let parsed = serde_json::from_value::<RawJwk>(value)
                .map_err(|e| e.to_string())
                .and_then(RawJwk::into_key);
            match parsed {
                Ok(key) => keys.push(key),
                Err(reason) => {
                    tracing::debug!(target: "mcp_auth::verify", index = i, %reason, "JWK skipped");
                }
            }
        }
        if keys.is_empty() {
            return Err("the JWK set has no usable signature key".into());
        }
        Ok(Self { keys })
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether a token with this `kid` can find its key here (without a kid: any key).
    pub(crate) fn knows(&self, kid: Option<&str>) -> bool {
        match kid {
            Some(kid) => self.keys.iter().any(|k| k.kid.as_deref() == Some(kid)),
            None => !self.keys.is_empty(),
        }
    }

    /// The keys that may check a token signed with `alg` under `kid`.
    ///
    /// A token with a `kid` uses only keys with that id, or keys configured without an id. A
    /// token without a `kid` is only accepted when exactly one key fits, so that a crafted
    /// token cannot make the server try every key.
    pub(crate) fn candidates(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<&VerifyingKey>, VerifyError> {
        let fitting = self.keys.iter().filter(|k| k.accepts(alg));
        let found: Vec<&VerifyingKey> = match kid {
            Some(kid) => {
                let by_id: Vec<_> = fitting
                    .clone()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .collect();
                if by_id.is_empty() {
                    fitting.filter(|k| k.kid.is_none()).collect()
                } else {
                    by_id
                }
            }
            None => {
                let all: Vec<_> = fitting.collect();
                if all.len() > 1 {
                    return Err(VerifyError::invalid(
                        "token has no `kid` and several keys fit its algorithm",
                    ));
                }
                all
            }
        };
        if found.is_empty() {
            return Err(VerifyError::invalid(match kid {
                Some(_) => "no signing key matches the token's `kid` and `alg`",
                None => "no signing key matches the token's `alg`",
            }));
        }
        Ok(found.into_iter().take(MAX_CANDIDATES).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWKS from JWK texts in which `N` stands for a 2048-bit modulus.
    fn jwks(keys: &[&str]) -> String {
        let n = URL_SAFE_NO_PAD.encode([0xc5u8; 256]);
        format!(
            r#"{{"keys":[{}]}}"#,
            keys.join(",").replace("\"N\"", &format!("\"{n}\""))
        )
    }

    fn set(keys: &[&str]) -> KeySet {
        KeySet::from_jwks(jwks(keys).as_bytes(), 8).unwrap()
    }

    #[test]
    fn respects_use_alg_and_kty() {
        let set = set(&[
            r#"{"kty":"RSA","kid":"a","alg":"RS256","use":"sig","n":"N","e":"AQAB"}"#,
            r#"{"kty":"RSA","kid":"enc","use":"enc","n":"N","e":"AQAB"}"#,
            r#"{"kty":"oct","kid":"h","k":"c2VjcmV0"}"#,
            r#"{"kty":"RSA","kid":"b","n":"N","e":"AQAB","key_ops":["encrypt"]}"#,
        ]);
        assert_eq!(set.len(), 1, "only the signature RSA key is usable");
        assert!(set.candidates(Some("a"), Algorithm::RS256).is_ok());
        assert!(
            set.candidates(Some("a"), Algorithm::PS256).is_err(),
            "key alg pins RS256"
        );
        assert!(
            set.candidates(Some("a"), Algorithm::ES256).is_err(),
            "kty mismatch"
        );
        assert!(
            set.candidates(Some("h"), Algorithm::HS256).is_err(),
            "no oct from JWKS"
        );
        assert!(set.candidates(Some("zzz"), Algorithm::RS256).is_err());
    }

    #[test]
    fn small_rsa_keys_are_refused() {
        let small = URL_SAFE_NO_PAD.encode([0xffu8; 128]);
        let json = format!(r#"{{"keys":[{{"kty":"RSA","kid":"s","n":"{small}","e":"AQAB"}}]}}"#);
        assert!(KeySet::from_jwks(json.as_bytes(), 8).is_err());
    }

    #[test]
    fn no_kid_needs_exactly_one_fitting_key() {
        let two = set(&[
            r#"{"kty":"RSA","kid":"a","n":"N","e":"AQAB"}"#,
            r#"{"kty":"RSA","kid":"b","n":"N","e":"AQAB"}"#,
        ]);
        assert!(two.candidates(None, Algorithm::RS256).is_err());
        let one = set(&[r#"{"kty":"RSA","kid":"a","n":"N","e":"AQAB"}"#]);
        assert_eq!(one.candidates(None, Algorithm::RS256).unwrap().len(), 1);
    }

    #[test]
    fn key_count_is_bounded() {
        let many: Vec<String> = (0..20)
            .map(|i| format!(r#"{{"kty":"RSA","kid":"k{i}","n":"N","e":"AQAB"}}"#))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            KeySet::from_jwks(jwks(&many).as_bytes(), 5).unwrap().len(),
            5
        );
        assert!(KeySet::from_jwks(b"{\"keys\":[]}", 5).is_err());
        assert!(KeySet::from_jwks(b"<html>", 5).is_err());
    }
}
