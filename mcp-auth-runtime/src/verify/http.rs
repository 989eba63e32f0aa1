//! HTTP to identity providers: one bounded, timed-out client for discovery, JWKS and
//! introspection. HTTPS is required except on loopback; bodies are read incrementally up to a
//! cap; redirects are not followed (a redirect could leave HTTPS or the IdP's host).

use std::{net::IpAddr, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use url::Url;

/// How the verifiers talk to an identity provider.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth_runtime::verify::HttpOptions;
///
/// let http = HttpOptions::default()
///     .timeout(Duration::from_secs(3))
///     .max_response_bytes(256 * 1024);
/// # let _ = http;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Whole-request deadline, from connecting until the body is read (default 5 s).
    pub timeout: Duration,
    /// Deadline for the TCP (and TLS) connection (default 2 s).
    pub connect_timeout: Duration,
    /// Largest response body accepted (default 512 KiB); a larger one is an error.
    pub max_response_bytes: usize,
    /// Allow `http://` URLs on hosts other than loopback (default `false`). Only for a
    /// private network you trust: tokens and client secrets would cross it in clear text.
    pub allow_insecure_http: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            max_response_bytes: 512 * 1024,
            allow_insecure_http: false,
        }
    }
}

impl HttpOptions {
    /// Set [`HttpOptions::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Set [`HttpOptions::connect_timeout`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Set [`HttpOptions::max_response_bytes`].
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }
    /// Set [`HttpOptions::allow_insecure_http`].
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }
}

/// Why an IdP endpoint URL was refused at configuration time.
pub(crate) fn endpoint_url(raw: &str, allow_insecure_http: bool) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{raw}` must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(format!("`{raw}` must not have a fragment"));
    }
    match url.scheme() {
        "https" => {
            if cfg!(not(feature = "rustls")) && !is_loopback(&url) {
                return Err(format!(
                    "`{raw}` needs HTTPS, but mcp-auth-runtime was built without its `rustls` feature"
                ));
            }
        }
        "http" if is_loopback(&url) || allow_insecure_http => {}
        "http" => {
            return Err(format!(
                "`{raw}` must use https:// (plain http is only accepted on loopback)"
            ));
        }
        other => return Err(format!("`{raw}`: unsupported scheme {other}")),
    }
    if url.host().is_none() {
        return Err(format!("`{raw}` has no host"));
    }
    Ok(url)
}

/// `localhost`, `127.0.0.0/8` or `[::1]`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A failed exchange with the IdP. Its text goes to logs and to
/// [`VerifyError::Unavailable`](super::VerifyError::Unavailable); it never holds a token or a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("{url}: timed out")]
    Timeout { url: String },
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status {
        url: String,
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("{url}: response larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: {reason}")]
    Garbage { url: String, reason: String },
}

impl FetchError {
    /// The IdP's own `Retry-After`, if it sent one (bounded to 1..=300 s).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn garbage(url: &Url, reason: impl Into<String>) -> Self {
        FetchError::Garbage {
            url: url.to_string(),
            reason: reason.into(),
        }
    }
}

/// A successful response: status 2xx, the body, and its `Cache-Control: max-age`.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<Duration>,
}

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

/// The client shared by one verifier: hyper-util's pooled HTTP/1.1 client, with rustls when
/// the `rustls` feature is on.
#[derive(Clone)]
pub(crate) struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
    options: HttpOptions,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    pub(crate) fn new(options: HttpOptions) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(options.connect_timeout));
        http.set_nodelay(true);
        http.enforce_http(false);
        #[cfg(feature = "rustls")]
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        #[cfg(not(feature = "rustls"))]
        let connector = http;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .build(connector);
        Ok(Self { client, options })
    }

    /// Check a URL learned at run time (e.g. a discovered `jwks_uri`) like a configured one.
    pub(crate) fn check_url(&self, raw: &str) -> Result<Url, String> {
        endpoint_url(raw, self.options.allow_insecure_http)
    }

    /// `GET url` with `Accept: application/json`; 2xx only.
    pub(crate) async fn get(&self, url: &Url) -> Result<Fetched, FetchError> {
        let req = Request::get(url.as_str())
            .header(header::ACCEPT, "application/json")
            .body(Full::default());
        let fetched = self.send(url, req).await?;
        if !(200..300).contains(&fetched.status) {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: fetched.status,
                retry_after: None,
            });
        }
        Ok(fetched)
    }

    /// `POST url` with a form body; any status below 500 is returned to the caller.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Fetched, FetchError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = Request::post(url.as_str())
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            // RFC 6749 §2.3.1: form-urlencode both parts before Basic encoding.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(id), enc(secret));
            req = req.header(
                header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(pair)),
            );
        }
        self.send(url, req.body(Full::new(Bytes::from(body)))).await
    }

    async fn send(
        &self,
        url: &Url,
        req: Result<Request<Full<Bytes>>, http::Error>,
    ) -> Result<Fetched, FetchError> {
        let shown = || url.to_string();
        let mut req = req.map_err(|e| FetchError::Transport {
            url: shown(),
            reason: e.to_string(),
        })?;
        req.headers_mut().insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("mcp-auth/", env!("CARGO_PKG_VERSION"))),
        );
        let limit = self.options.max_response_bytes;
        let exchange = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| FetchError::Transport {
                    url: shown(),
                    reason: chain(&e),
                })?;
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            let too_large = || FetchError::TooLarge {
                url: shown(),
                limit,
            };
            let declared = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if declared.is_some_and(|n| n > limit as u64) {
                return Err(too_large());
            }
            // Read incrementally; stop as soon as the cap is passed.
            let body = Limited::new(res.into_body(), limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        too_large()
                    } else {
                        FetchError::Transport {
                            url: shown(),
                            reason: format!("reading the body: {e}"),
                        }
                    }
                })?
                .to_bytes()
                .to_vec();
            if status >= 500 || status == 429 {
                return Err(FetchError::Status {
                    url: shown(),
                    status,
                    retry_after: retry_after(&headers),
                });
            }
            Ok(Fetched {
                status,
                body,
                max_age: max_age(&headers),
            })
        };
        match tokio::time::timeout(self.options.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout { url: shown() }),
        }
    }
}

/// An error and its causes on one line (hyper's own text is terse).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `Cache-Control: max-age=N` (ignoring `no-store`/`no-cache`, which make it zero).
pub(crate) fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let mut out = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let lower = directive.to_ascii_lowercase();
            if lower == "no-store" || lower == "no-cache" {
                return Some(Duration::ZERO);
            }
            if let Some(n) = lower.strip_prefix("max-age=")
                && let Ok(secs) = n.trim_matches('"').parse::<u64>()
            {
                out = Some(Duration::from_secs(secs));
            }
        }
    }
    out
}

fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.clamp(1, 300)))
}

/// rustls with the process's default crypto provider if one is installed, else `ring`, and
/// the platform's certificate verifier (system roots). Nothing process-wide is installed.
#[cfg(feature = "rustls")]
fn tls_config() -> Result<rustls::ClientConfig, String> {
    use std::sync::Arc;
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| format!("TLS verifier: {e}"))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS config: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_required_except_loopback() {
        assert!(endpoint_url("https://idp.example.com/jwks", false).is_ok());
        assert!(endpoint_url("http://127.0.0.1:9000/jwks", false).is_ok());
        assert!(endpoint_url("http://127.8.9.10/jwks", false).is_ok());
        assert!(endpoint_url("http://localhost:9000", false).is_ok());
        assert!(endpoint_url("http://[::1]:9000/", false).is_ok());
        assert!(endpoint_url("http://idp.example.com/jwks", false).is_err());
        assert!(endpoint_url("http://idp.example.com/jwks", true).is_ok());
        assert!(endpoint_url("http://localhost.evil.com/", false).is_err());
        assert!(endpoint_url("ftp://idp.example.com/", false).is_err());
        assert!(endpoint_url("https://user:pw@idp.example.com/", false).is_err());
        assert!(endpoint_url("not a url", false).is_err());
    }

    #[test]
    fn cache_control_max_age() {
        let mut h = http::HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert(
            http::header::CACHE_CONTROL,
            "public, max-age=3600, must-revalidate".parse().unwrap(),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(3600)));
        h.insert(http::header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(max_age(&h), Some(Duration::ZERO));
    }
}
