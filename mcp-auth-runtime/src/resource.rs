//! The protected resource: its canonical URL, where its metadata lives, and the RFC 9728
//! Protected Resource Metadata document, all computed once at build time.

use std::collections::BTreeSet;

use bytes::Bytes;
use serde::Serialize;

use crate::error::BuildError;

/// The well-known suffix of RFC 9728.
pub const WELL_KNOWN_PRM: &str = "/.well-known/oauth-protected-resource";

/// What this MCP server is, as OAuth sees it: the resource URL clients connect to and put in
/// the token's audience, the authorization servers that issue tokens for it, and the scopes
/// it knows.
///
/// ```
/// use mcp_auth_runtime::ProtectedResource;
///
/// let res = ProtectedResource::builder("HTTPS://Notes.Example.com/mcp/")
///     .authorization_server("https://idp.example.com")
///     .scopes_supported(["notes:read"])
///     .build()
///     .unwrap();
/// assert_eq!(res.resource(), "https://notes.example.com/mcp");
/// assert_eq!(
///     res.metadata_url(),
///     "https://notes.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// assert_eq!(res.mcp_path(), "/mcp");
/// ```
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    resource: String,
    origin: String,
    path: String,
    host: String,
    port: Option<u16>,
    metadata_url: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    document: Bytes,
}

/// Builder for [`ProtectedResource`].
#[derive(Debug, Clone, Default)]
pub struct ProtectedResourceBuilder {
    resource: String,
    authorization_servers: Vec<String>,
    scopes: BTreeSet<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    allow_insecure: bool,
}

#[derive(Serialize)]
struct Document<'a> {
    resource: &'a str,
    authorization_servers: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    scopes_supported: &'a [String],
    bearer_methods_supported: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<&'a str>,
}

impl ProtectedResource {
    /// Start describing the resource at `resource_url` (the public URL of the MCP endpoint).
    pub fn builder(resource_url: impl Into<String>) -> ProtectedResourceBuilder {
        ProtectedResourceBuilder {
            resource: resource_url.into(),
            ..Default::default()
        }
    }

    /// The canonical resource URL (RFC 8707; lowercase scheme and host, no fragment, no
    /// trailing slash). Tokens must name it in `aud`.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The absolute URL of the metadata document (path-suffixed form).
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path of the MCP endpoint (`/mcp`), `/` when the resource is at the root.
    pub fn mcp_path(&self) -> &str {
        if self.path.is_empty() {
            "/"
        } else {
            &self.path
        }
    }

    /// The metadata paths served: path-suffixed and root forms.
    pub fn metadata_paths(&self) -> Vec<String> {
        let mut paths = vec![WELL_KNOWN_PRM.to_owned()];
        if !self.path.is_empty() {
            paths.push(format!("{WELL_KNOWN_PRM}{}", self.path));
        }
        paths
    }

    /// Authorization servers, as configured.
    pub fn authorization_servers(&self) -> &[String] {
        &self.authorization_servers
    }

    /// `scopes_supported` of the document (sorted, without `offline_access`).
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes_supported
    }

    /// The `Host` values a request to this resource carries: `host` and `host:port`.
    pub fn allowed_hosts(&self) -> Vec<String> {
        let mut hosts = vec![self.host.clone()];
        if let Some(port) = self.port {
            hosts.push(format!("{}:{port}", self.host));
        }
        hosts
    }

    /// The serialized metadata document.
    pub fn document(&self) -> &Bytes {
        &self.document
    }

    /// The scheme and authority, e.g. `https://notes.example.com`.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl ProtectedResourceBuilder {
    /// Add an authorization server (issuer URL). At least one is required.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Add scopes to `scopes_supported`. `offline_access` is dropped (spec: SHOULD NOT).
    pub fn scopes_supported(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Human-readable name (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Documentation URL (`resource_documentation`).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// Allow an `http://` resource on a non-loopback host (e.g. a lab network). Off by
    /// default: bearer tokens over plain HTTP leak.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure = allow;
        self
    }

    /// Validate and canonicalize.
    pub fn build(self) -> Result<ProtectedResource, BuildError> {
        let url = url::Url::parse(&self.resource)
            .map_err(|e| BuildError::InvalidResource(format!("{}: {e}", self.resource)))?;
        let scheme = url.scheme();
        if scheme != "https" && scheme != "http" {
            return Err(BuildError::InvalidResource(format!(
                "{}: the scheme must be https (or http on loopback)",
                self.resource
            )));
        }
        if url.fragment().is_some() {
            return Err(BuildError::InvalidResource(format!(
                "{}: a resource URL must not have a fragment",
                self.resource
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BuildError::InvalidResource(format!(
                "{}: a resource URL must not carry credentials",
                self.resource
            )));
        }
        if url.query().is_some() {
            return Err(BuildError::InvalidResource(format!(
                "{}: a resource URL must not have a query",
                self.resource
            )));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => {
                return Err(BuildError::InvalidResource(format!(
                    "{}: the resource URL needs a host",
                    self.resource
                )));
            }
        };
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if scheme == "http" && !loopback && !self.allow_insecure {
            return Err(BuildError::InvalidResource(format!(
                "{}: use https for a non-loopback host (or allow_insecure_http)",
                self.resource
            )));
        }
        let origin = url.origin().ascii_serialization();
        let path = url.path().trim_end_matches('/').to_owned();
        let resource = format!("{origin}{path}");
        let metadata_url = format!("{origin}{WELL_KNOWN_PRM}{path}");

        if self.authorization_servers.is_empty() {
            return Err(BuildError::NoAuthorizationServer);
        }
        let mut authorization_servers = Vec::with_capacity(self.authorization_servers.len());
        for issuer in self.authorization_servers {
            let parsed = url::Url::parse(&issuer)
                .map_err(|e| BuildError::InvalidAuthorizationServer(format!("{issuer}: {e}")))?;
            if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
                return Err(BuildError::InvalidAuthorizationServer(format!(
                    "{issuer}: must be an absolute http(s) URL"
                )));
            }
            authorization_servers.push(issuer);
        }
        for scope in &self.scopes {
            if !crate::policy::is_scope_token(scope) {
                return Err(BuildError::InvalidScope(scope.clone()));
            }
        }
        let scopes_supported: Vec<String> = self
            .scopes
            .into_iter()
            .filter(|s| s != "offline_access")
            .collect();
        let document = serde_json::to_vec(&Document {
            resource: &resource,
            authorization_servers: &authorization_servers,
            scopes_supported: &scopes_supported,
            bearer_methods_supported: ["header"],
            resource_name: self.resource_name.as_deref(),
            resource_documentation: self.resource_documentation.as_deref(),
        })
        .map_err(|e| BuildError::InvalidResource(e.to_string()))?;
        Ok(ProtectedResource {
            resource,
            origin,
            path,
            host,
            port: url.port(),
            metadata_url,
            authorization_servers,
            scopes_supported,
            document: Bytes::from(document),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(url: &str) -> Result<ProtectedResource, BuildError> {
        ProtectedResource::builder(url)
            .authorization_server("https://idp.example.com")
            .build()
    }

    #[test]
    fn canonical_forms() {
        let r = build("HTTPS://API.Example.COM:8443/Mcp/").unwrap();
        assert_eq!(r.resource(), "https://api.example.com:8443/Mcp");
        assert_eq!(
            r.metadata_url(),
            "https://api.example.com:8443/.well-known/oauth-protected-resource/Mcp"
        );
        assert_eq!(
            r.allowed_hosts(),
            ["api.example.com", "api.example.com:8443"]
        );
        let root = build("https://api.example.com/").unwrap();
        assert_eq!(root.resource(), "https://api.example.com");
        assert_eq!(root.mcp_path(), "/");
        assert_eq!(root.metadata_paths(), [WELL_KNOWN_PRM]);
        let v6 = build("http://[::1]:8000/mcp").unwrap();
        assert_eq!(v6.allowed_hosts(), ["[::1]", "[::1]:8000"]);
    }

    #[test]
    fn rejects_bad_resources() {
        for bad in [
            "not a url",
            "/mcp",
            "ftp://x.example/mcp",
            "https://x.example/mcp#frag",
            "https://u:p@x.example/mcp",
            "https://x.example/mcp?a=b",
            "http://public.example.com/mcp",
        ] {
            assert!(build(bad).is_err(), "{bad} should be rejected");
        }
        assert!(matches!(
            ProtectedResource::builder("https://x.example/mcp").build(),
            Err(BuildError::NoAuthorizationServer)
        ));
    }

    #[test]
    fn document_drops_offline_access() {
        let r = ProtectedResource::builder("https://x.example/mcp")
            .authorization_server("https://idp.example")
            .scopes_supported(["b", "offline_access", "a"])
            .resource_name("X")
            .build()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(r.document()).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "resource": "https://x.example/mcp",
                "authorization_servers": ["https://idp.example"],
                "scopes_supported": ["a", "b"],
                "bearer_methods_supported": ["header"],
                "resource_name": "X"
            })
        );
    }
}
