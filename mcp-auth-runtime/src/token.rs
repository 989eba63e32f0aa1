//! [`AccessToken`]: the verified identity of one request.

use std::{
    fmt,
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::policy::{Grants, Policy};

/// A verified access token: who is calling, for which client, with which scopes and roles.
///
/// Produced by a [`TokenVerifier`](crate::TokenVerifier), inserted into the request by the
/// HTTP layer, and read by handlers through the [`AccessToken`] extractor parameter or
/// [`current_token`](crate::current_token).
///
/// Cloning is cheap (one reference count). The raw bearer string is kept so a verifier
/// cache can compare it, but it is never shown: `Debug` prints `token: "[redacted]"`, there
/// is no `Display`, and the type is not `Serialize`.
///
/// ```
/// use mcp_auth_runtime::AccessToken;
///
/// let token = AccessToken::builder("sk-live-123")
///     .subject("alice")
///     .client_id("cli")
///     .scopes(["notes:read", "notes:write"])
///     .roles(["editor"])
///     .claim("email", "alice@example.com")
///     .build();
///
/// assert_eq!(token.subject(), Some("alice"));
/// assert!(token.has_scope("notes:write"));
/// assert!(token.has_role("editor"));
/// assert_eq!(token.claim::<String>("email").as_deref(), Some("alice@example.com"));
/// assert!(!format!("{token:?}").contains("sk-live-123"));
/// ```
#[derive(Clone)]
pub struct AccessToken {
    inner: Arc<Inner>,
}

struct Inner {
    raw: Box<str>,
    subject: Option<String>,
    client_id: Option<String>,
    issuer: Option<String>,
    audiences: Vec<String>,
    scopes: Vec<String>,
    roles: Vec<String>,
    claims: Map<String, Value>,
    expires_at: Option<SystemTime>,
    principal: Box<str>,
    /// The grants under one `'static` policy (its address), expanded at the first request
    /// with this token: a verified-token cache hands out the same token each time.
    grants: OnceLock<(usize, Grants)>,
}

impl AccessToken {
    /// `policy`'s grants for this token, expanded once per token (not per request). Only a
    /// `'static` policy is remembered: its address can never name another policy later.
    pub(crate) fn grants_under(&self, policy: &'static Policy) -> Grants {
        let address = std::ptr::from_ref(policy) as usize;
        if let Some((under, grants)) = self.inner.grants.get()
            && *under == address
        {
            return grants.clone();
        }
        let grants = policy.grants(self);
        // The first policy asking keeps the slot (a server has one).
        let _ = self.inner.grants.set((address, grants.clone()));
        grants
    }

    /// The grants [`grants_under`](Self::grants_under) remembered, if `policy` is the policy
    /// they were expanded under. Any policy may ask: only `'static` policies are remembered,
    /// and one that is never freed cannot share its address with another.
    pub(crate) fn remembered_grants(&self, policy: &Policy) -> Option<Grants> {
        let address = std::ptr::from_ref(policy) as usize;
        match self.inner.grants.get() {
            Some((under, grants)) if *under == address => Some(grants.clone()),
            _ => None,
        }
    }

    /// Start building a token for the raw bearer string `raw`.
    pub fn builder(raw: impl Into<String>) -> AccessTokenBuilder {
        AccessTokenBuilder {
            raw: raw.into(),
            subject: None,
            client_id: None,
            issuer: None,
            audiences: Vec::new(),
            scopes: Vec::new(),
            roles: Vec::new(),
            claims: Map::new(),
            expires_at: None,
        }
    }

    /// The raw bearer string. Handle with care: never log it, never forward it (MCP forbids
    /// token passthrough); it is exposed for verifier caches and constant-time comparisons.
    pub fn raw_token(&self) -> &str {
        &self.inner.raw
    }

    /// The `sub` of the token: the user or service the token speaks for.
    pub fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }

    /// The OAuth client the token was issued to (`client_id` or `azp`).
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The audiences (`aud`) the token was issued for.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// The scopes granted, as the token carries them (no hierarchy expansion).
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The roles granted, as the token carries them (no hierarchy expansion).
    pub fn roles(&self) -> &[String] {
        &self.inner.roles
    }

    /// Whether the token literally carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// Whether the token literally carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.inner.roles.iter().any(|r| r == role)
    }

    /// All claims, as a JSON object.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.inner.claims
    }

    /// One claim decoded into `T`; `None` when absent or of another shape.
    pub fn claim<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.inner
            .claims
            .get(name)
            .and_then(|v| T::deserialize(v).ok())
    }

    /// When the token stops being valid, if it says.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.inner.expires_at
    }

    /// Whether the token is past its expiry at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.inner.expires_at.is_some_and(|exp| exp <= now)
    }

    /// A stable key for the principal: issuer, subject and client id. Two tokens of the same
    /// user and client share it; it never contains the raw token. Used to bind sessions and
    /// to key rate limits.
    pub fn principal(&self) -> &str {
        &self.inner.principal
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("subject", &self.inner.subject)
            .field("client_id", &self.inner.client_id)
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("scopes", &self.inner.scopes)
            .field("roles", &self.inner.roles)
            .field("expires_at", &self.inner.expires_at)
            .finish_non_exhaustive()
    }
}

/// Builder for [`AccessToken`], used by verifiers (and tests).
#[derive(Clone)]
pub struct AccessTokenBuilder {
    raw: String,
    subject: Option<String>,
    client_id: Option<String>,
    issuer: Option<String>,
    audiences: Vec<String>,
    scopes: Vec<String>,
    roles: Vec<String>,
    claims: Map<String, Value>,
    expires_at: Option<SystemTime>,
}

impl fmt::Debug for AccessTokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenBuilder")
            .field("token", &"[redacted]")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl AccessTokenBuilder {
    /// Set the subject (`sub`).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
    /// Set the client id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }
    /// Set the issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }
    /// Add audiences.
    pub fn audiences(mut self, audiences: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }
    /// Add scopes.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }
    /// Add roles.
    pub fn roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }
    /// Set one claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
    /// Replace all claims.
    pub fn claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = claims;
        self
    }
    /// Set the expiry as an instant.
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }
    /// Set the expiry as seconds since the Unix epoch (the JWT `exp` form).
    pub fn expires_at_unix(mut self, secs: u64) -> Self {
        self.expires_at = Some(UNIX_EPOCH + Duration::from_secs(secs));
        self
    }
    /// Replace the raw bearer string (verifiers set it to the presented token).
    pub fn raw(mut self, raw: impl Into<String>) -> Self {
        self.raw = raw.into();
        self
    }
    pub(crate) fn set_raw(&mut self, raw: &str) {
        raw.clone_into(&mut self.raw);
    }
    /// Finish the token.
    pub fn build(mut self) -> AccessToken {
        self.scopes.sort_unstable();
        self.scopes.dedup();
        self.roles.sort_unstable();
        self.roles.dedup();
        let principal = principal_key(
            self.issuer.as_deref(),
            self.subject.as_deref(),
            self.client_id.as_deref(),
        );
        AccessToken {
            inner: Arc::new(Inner {
                raw: self.raw.into_boxed_str(),
                subject: self.subject,
                client_id: self.client_id,
                issuer: self.issuer,
                audiences: self.audiences,
                scopes: self.scopes,
                roles: self.roles,
                claims: self.claims,
                expires_at: self.expires_at,
                principal,
                grants: OnceLock::new(),
            }),
        }
    }
}

/// Length-prefixed so that no two different triples produce the same key.
fn principal_key(iss: Option<&str>, sub: Option<&str>, client: Option<&str>) -> Box<str> {
    let mut key = String::new();
    for part in [iss, sub, client] {
        match part {
            Some(p) => {
                key.push_str(&p.len().to_string());
                key.push(':');
                key.push_str(p);
            }
            None => key.push('-'),
        }
        key.push('|');
    }
    key.into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_raw_token() {
        let t = AccessToken::builder("super-secret-value")
            .subject("a")
            .build();
        let shown = format!("{t:?} {t:#?}");
        assert!(!shown.contains("super-secret-value"));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn principal_keys_do_not_collide_on_separators() {
        let a = AccessToken::builder("x").issuer("a|b").subject("c").build();
        let b = AccessToken::builder("x").issuer("a").subject("b|c").build();
        assert_ne!(a.principal(), b.principal());
        let c = AccessToken::builder("x").subject("s").build();
        let d = AccessToken::builder("x").client_id("s").build();
        assert_ne!(c.principal(), d.principal());
    }

    #[test]
    fn expiry_is_inclusive() {
        let t = AccessToken::builder("x").expires_at_unix(100).build();
        assert!(t.is_expired_at(UNIX_EPOCH + Duration::from_secs(100)));
        assert!(!t.is_expired_at(UNIX_EPOCH + Duration::from_secs(99)));
    }
}
