//! [`StaticTokens`]: API keys and other opaque tokens known in advance.

use std::{path::Path, time::SystemTime};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{TokenVerifier, VerifyError};
use crate::AccessToken;

/// API keys / opaque tokens mapped to identities.
///
/// Keys are never stored: only their SHA-256 digests are. A lookup hashes the presented token
/// and compares it with **every** stored digest in constant time (`subtle`), so neither the
/// position of a match nor a common prefix shows in the timing.
///
/// Load keys from code, from an environment variable or from a file; the text format of the
/// last two is JSON:
///
/// ```json
/// [
///   {"token": "sk-admin-…", "subject": "alice", "scopes": ["mcp", "notes:admin"], "roles": ["admin"]},
///   {"token_sha256": "9f86d0…", "subject": "ci-bot", "client_id": "ci", "scopes": ["mcp"]}
/// ]
/// ```
///
/// `token_sha256` (hex) lets a file hold no secret at all.
///
/// ```
/// use mcp_auth_runtime::{AccessToken, StaticTokens, TokenVerifier};
///
/// let keys = StaticTokens::new()
///     .with_token("sk-alice", AccessToken::builder("").subject("alice").scopes(["mcp"]));
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let who = keys.verify("sk-alice").await.unwrap();
/// assert_eq!(who.subject(), Some("alice"));
/// assert_eq!(who.raw_token(), "sk-alice");
/// assert!(keys.verify("sk-alicf").await.is_err());
/// # });
/// ```
#[derive(Default)]
pub struct StaticTokens {
    entries: Vec<Entry>,
}

struct Entry {
    digest: [u8; 32],
    identity: crate::token::AccessTokenBuilder,
}

impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticTokens")
            .field("keys", &self.entries.len())
            .finish()
    }
}

/// Errors while loading static tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaticTokensError {
    /// The environment variable is not set or not Unicode.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The file could not be read.
    #[error("cannot read token file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON is not a list of token entries.
    #[error("invalid token list: {0}")]
    Parse(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    token: Option<String>,
    token_sha256: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    issuer: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    claims: serde_json::Map<String, serde_json::Value>,
    expires_at: Option<u64>,
}

impl StaticTokens {
    /// An empty set; every token is rejected.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a token and the identity it stands for. The builder's own raw value is ignored:
    /// the verified token carries the presented string.
    pub fn with_token(
        mut self,
        token: impl AsRef<str>,
        identity: crate::token::AccessTokenBuilder,
    ) -> Self {
        self.insert(token, identity);
        self
    }

    /// Add a token in place.
    pub fn insert(&mut self, token: impl AsRef<str>, identity: crate::token::AccessTokenBuilder) {
        self.entries.push(Entry {
            digest: sha256(token.as_ref()),
            identity,
        });
    }

    /// Add a token known only by its SHA-256 digest.
    pub fn insert_digest(&mut self, digest: [u8; 32], identity: crate::token::AccessTokenBuilder) {
        self.entries.push(Entry { digest, identity });
    }

    /// Parse the JSON list format shown above.
    pub fn from_json(json: &str) -> Result<Self, StaticTokensError> {
        let list: Vec<FileEntry> =
            serde_json::from_str(json).map_err(|e| StaticTokensError::Parse(e.to_string()))?;
        let mut out = Self::new();
        for (i, e) in list.into_iter().enumerate() {
            let digest = match (&e.token, &e.token_sha256) {
                (Some(t), None) if !t.is_empty() => sha256(t),
                (None, Some(hex)) => parse_hex32(hex).ok_or_else(|| {
                    StaticTokensError::Parse(format!(
                        "entry {i}: token_sha256 must be 64 hex digits"
                    ))
                })?,
                _ => {
                    return Err(StaticTokensError::Parse(format!(
                        "entry {i}: give exactly one of a non-empty `token` or `token_sha256`"
                    )));
                }
            };
            let mut b = AccessToken::builder("")
                .scopes(e.scopes)
                .roles(e.roles)
                .claims(e.claims);
            if let Some(s) = e.subject {
                b = b.subject(s);
            }
            if let Some(c) = e.client_id {
                b = b.client_id(c);
            }
            if let Some(iss) = e.issuer {
                b = b.issuer(iss);
            }
            if let Some(exp) = e.expires_at {
                b = b.expires_at_unix(exp);
            }
            out.insert_digest(digest, b);
        }
        Ok(out)
    }

    /// Load the JSON list from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, StaticTokensError> {
        let json = std::env::var(var).map_err(|_| StaticTokensError::MissingEnv(var.to_owned()))?;
        Self::from_json(&json)
    }

    /// Load the JSON list from a file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, StaticTokensError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| StaticTokensError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&json)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is loaded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn lookup(&self, token: &str) -> Option<&Entry> {
        let digest = sha256(token);
        let mut found: Option<&Entry> = None;
        // Visit every entry whatever matches, so timing does not reveal the position.
        for entry in &self.entries {
            let hit: bool = entry.digest.ct_eq(&digest).into();
            if hit && found.is_none() {
                found = Some(entry);
            }
        }
        found
    }
}

impl TokenVerifier for StaticTokens {
    async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
        self.check(token)
    }

    fn verify_now(&self, token: &str) -> Option<Result<AccessToken, VerifyError>> {
        Some(self.check(token))
    }
}

impl StaticTokens {
    fn check(&self, token: &str) -> Result<AccessToken, VerifyError> {
        // A key outside RFC 6750's syntax could never be sent in a well-formed header; the
        // layer relies on `Ok` implying a well-formed token.
        if !crate::layer::is_b64token(token.as_bytes()) {
            return Err(VerifyError::invalid("malformed token"));
        }
        let entry = self
            .lookup(token)
            .ok_or_else(|| VerifyError::invalid("unknown token"))?;
        let mut identity = entry.identity.clone();
        identity.set_raw(token);
        let verified = identity.build();
        if verified.is_expired_at(SystemTime::now()) {
            return Err(VerifyError::Expired);
        }
        Ok(verified)
    }
}

pub(crate) fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn json_with_plain_and_hashed_tokens() {
        let digest = Sha256::digest(b"hashed-key");
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let json = format!(
            r#"[{{"token":"plain-key","subject":"a","scopes":["mcp"]}},
                {{"token_sha256":"{hex}","subject":"b","roles":["admin"],"expires_at":4102444800}}]"#
        );
        let keys = StaticTokens::from_json(&json).unwrap();
        assert_eq!(keys.len(), 2);
        let a = block(keys.verify("plain-key")).unwrap();
        assert_eq!(a.subject(), Some("a"));
        let b = block(keys.verify("hashed-key")).unwrap();
        assert!(b.has_role("admin"));
        assert_eq!(
            block(keys.verify("nope")).unwrap_err(),
            VerifyError::invalid("unknown token")
        );
    }

    #[test]
    fn a_key_outside_the_bearer_syntax_is_never_accepted() {
        let keys = StaticTokens::new()
            .with_token("key with space", AccessToken::builder("").subject("a"))
            .with_token("bang!", AccessToken::builder("").subject("b"))
            .with_token("fine-key", AccessToken::builder("").subject("c"));
        for token in ["key with space", "bang!"] {
            assert_eq!(
                block(keys.verify(token)).unwrap_err(),
                VerifyError::invalid("malformed token")
            );
            assert!(keys.verify_now(token).unwrap().is_err());
        }
        assert_eq!(block(keys.verify("fine-key")).unwrap().subject(), Some("c"));
    }

    #[test]
    fn expired_static_key_is_rejected() {
        let keys =
            StaticTokens::from_json(r#"[{"token":"old","subject":"a","expires_at":10}]"#).unwrap();
        assert_eq!(block(keys.verify("old")).unwrap_err(), VerifyError::Expired);
    }

    #[test]
    fn bad_entries_are_reported() {
        assert!(StaticTokens::from_json(r#"[{"subject":"a"}]"#).is_err());
        assert!(StaticTokens::from_json(r#"[{"token":"","subject":"a"}]"#).is_err());
        assert!(StaticTokens::from_json(r#"[{"token_sha256":"zz","subject":"a"}]"#).is_err());
        assert!(StaticTokens::from_json(r#"[{"token":"a","scope":"x"}]"#).is_err());
        assert!(StaticTokens::from_json("{").is_err());
    }

    #[test]
    fn env_and_file() {
        let dir = std::env::temp_dir().join(format!("mcp-auth-static-{}", std::process::id()));
        std::fs::write(&dir, r#"[{"token":"file-key","subject":"f"}]"#).unwrap();
        let keys = StaticTokens::from_file(&dir).unwrap();
        assert!(block(keys.verify("file-key")).is_ok());
        std::fs::remove_file(&dir).unwrap();
        assert!(matches!(
            StaticTokens::from_env("MCP_AUTH_SURELY_UNSET_VAR"),
            Err(StaticTokensError::MissingEnv(_))
        ));
    }
}
