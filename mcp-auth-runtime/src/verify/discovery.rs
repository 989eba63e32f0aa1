//! Authorization-server discovery: RFC 8414 (`oauth-authorization-server`) and OpenID Connect
//! Discovery (`openid-configuration`), with the path-insertion rules of RFC 8414 §3.1 and the
//! order the MCP specification gives clients.

use serde::Deserialize;
use url::Url;

use super::http::{FetchError, HttpClient};

/// The metadata URLs to try for `issuer`, in order.
///
/// Without a path component: `/.well-known/oauth-authorization-server`, then
/// `/.well-known/openid-configuration`. With a path `/tenant`:
/// `/.well-known/oauth-authorization-server/tenant`, `/.well-known/openid-configuration/tenant`,
/// then `/tenant/.well-known/openid-configuration` (OIDC's own appending rule, which Keycloak,
/// Entra ID and Okta serve).
pub(crate) fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let at = |p: &str| {
        let mut u = issuer.clone();
        u.set_path(p);
        u.set_query(None);
        u.set_fragment(None);
        u
    };
    if path.is_empty() {
        vec![
            at("/.well-known/oauth-authorization-server"),
            at("/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            at(&format!("/.well-known/oauth-authorization-server{path}")),
            at(&format!("/.well-known/openid-configuration{path}")),
            at(&format!("{path}/.well-known/openid-configuration")),
        ]
    }
}

/// The parts of the metadata document the verifiers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerMetadata {
    /// The `issuer` as the document states it.
    pub(crate) issuer: String,
    pub(crate) jwks_uri: Option<Url>,
    pub(crate) introspection_endpoint: Option<Url>,
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    introspection_endpoint: Option<String>,
}

/// Two issuer strings name the same issuer when they differ at most by a trailing slash
/// (`https://tenant.auth0.com/` vs `https://tenant.auth0.com`).
pub(crate) fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Fetch and check the metadata of `issuer`. A 4xx moves on to the next candidate URL; a
/// network error, timeout or 5xx stops at once (every candidate is on the same host), so an
/// unreachable IdP costs one timeout, not three.
pub(crate) async fn discover(
    http: &HttpClient,
    issuer: &Url,
    configured: &str,
) -> Result<ServerMetadata, FetchError> {
    let mut last = None;
    for url in metadata_urls(issuer) {
        match http.get(&url).await {
            Ok(fetched) => return parse(http, &url, &fetched.body, configured),
            Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => {
                tracing::debug!(target: "mcp_auth::verify", %url, status, "no metadata here");
                last = Some(FetchError::garbage(
                    &url,
                    format!("no authorization server metadata (HTTP {status})"),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| FetchError::garbage(issuer, "no metadata URL to try")))
}

fn parse(
    http: &HttpClient,
    url: &Url,
    body: &[u8],
    configured: &str,
) -> Result<ServerMetadata, FetchError> {
    let raw: RawMetadata = serde_json::from_slice(body)
        .map_err(|e| FetchError::garbage(url, format!("metadata is not valid JSON: {e}")))?;
    if !same_issuer(&raw.issuer, configured) {
        // RFC 8414 §3.3 / OIDC Discovery §4.3: a mismatch means a spoofed or misconfigured
        // document; nothing in it may be used.
        return Err(FetchError::garbage(
            url,
            format!(
                "metadata names issuer `{}`, expected `{configured}`",
                raw.issuer
            ),
        ));
    }
    let endpoint = |field: &str, v: Option<String>| -> Result<Option<Url>, FetchError> {
        v.map(|s| {
            http.check_url(&s)
                .map_err(|e| FetchError::garbage(url, format!("{field}: {e}")))
        })
        .transpose()
    };
    Ok(ServerMetadata {
        jwks_uri: endpoint("jwks_uri", raw.jwks_uri)?,
        introspection_endpoint: endpoint("introspection_endpoint", raw.introspection_endpoint)?,
        issuer: raw.issuer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(issuer: &str) -> Vec<String> {
        metadata_urls(&Url::parse(issuer).unwrap())
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn root_issuer() {
        assert_eq!(
            urls("https://idp.example.com"),
            [
                "https://idp.example.com/.well-known/oauth-authorization-server",
                "https://idp.example.com/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            urls("https://idp.example.com/"),
            urls("https://idp.example.com")
        );
    }

    #[test]
    fn path_issuer_inserts_then_appends() {
        assert_eq!(
            urls("https://kc.example.com:8443/realms/notes/"),
            [
                "https://kc.example.com:8443/.well-known/oauth-authorization-server/realms/notes",
                "https://kc.example.com:8443/.well-known/openid-configuration/realms/notes",
                "https://kc.example.com:8443/realms/notes/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn trailing_slash_is_the_same_issuer() {
        assert!(same_issuer("https://t.auth0.com/", "https://t.auth0.com"));
        assert!(!same_issuer("https://t.auth0.com/a", "https://t.auth0.com"));
    }
}
