//! [`DevIssuer`]: an authorization server embedded in the process for development and
//! examples. It makes an ephemeral ES256 key at start, serves its metadata, JWKS and an
//! RFC 7662 introspection endpoint on loopback, and mints tokens for demo users. A server
//! verifies its tokens exactly as it would a real IdP's, so moving to one is a one-line change:
//!
//! ```text
//! JwtVerifier::discover(dev.issuer())            // development
//! JwtVerifier::discover("https://sso.example.com/realms/notes")   // production
//! ```

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::{elliptic_curve::sec1::ToEncodedPoint, pkcs8::EncodePrivateKey};
use rand_core::{OsRng, RngCore};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::verify::{JwtVerifier, JwtVerifierBuilder};

/// Opaque tokens remembered for introspection at most.
const MAX_OPAQUE: usize = 10_000;

/// A demo user to mint a token for.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth_runtime::DevUser;
///
/// let alice = DevUser::new("alice@example.com")
///     .audience("http://127.0.0.1:8000/mcp")
///     .scopes(["mcp", "notes:read"])
///     .roles(["editor"])
///     .ttl(Duration::from_secs(3600));
/// # let _ = alice;
/// ```
#[derive(Debug, Clone)]
pub struct DevUser {
    subject: String,
    client_id: String,
    audiences: Vec<String>,
    scopes: Vec<String>,
    roles: Vec<String>,
    ttl: Duration,
    claims: Map<String, Value>,
}

impl DevUser {
    /// A user with this `sub`, client id `mcp-auth-dev`, no scopes or roles, valid 12 hours.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            client_id: "mcp-auth-dev".into(),
            audiences: Vec::new(),
            scopes: Vec::new(),
            roles: Vec::new(),
            ttl: Duration::from_secs(12 * 3600),
            claims: Map::new(),
        }
    }
    /// The OAuth client the token is issued to (`client_id` claim).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }
    /// Add an audience (`aud`): the resource URL of the server that will accept the token.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }
    /// Add scopes (`scope`, space-delimited).
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }
    /// Add roles (`roles` array).
    pub fn roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }
    /// How long the token is valid (default 12 hours).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
    /// Any other claim (e.g. an IdP-shaped `realm_access`).
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

/// Why the dev issuer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevIssuerError {
    /// Binding or reading the socket failed.
    #[error("dev issuer: {0}")]
    Io(#[from] std::io::Error),
    /// The dev issuer only listens on loopback.
    #[error("dev issuer: {0} is not a loopback address")]
    NotLoopback(SocketAddr),
    /// The signing key could not be made.
    #[error("dev issuer: {0}")]
    Key(String),
}

/// An embedded development authorization server on `127.0.0.1`.
///
/// Serves `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`
/// (same document), `/jwks` (one ephemeral ES256 key, made at start and never stored), and
/// `/introspect` (RFC 7662, for its own JWTs and opaque tokens; client
/// [`DevIssuer::introspection_client`], `client_secret_basic` or `client_secret_post`). It
/// stops when dropped. For development only: anyone who can run code on the machine could
/// read the minted tokens from the output.
///
/// ```
/// use mcp_auth_runtime::{DevIssuer, DevUser, TokenVerifier};
///
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// let dev = DevIssuer::start().await.unwrap();
/// let resource = "http://127.0.0.1:8000/mcp";
/// let token = dev.mint(&DevUser::new("alice").audience(resource).scopes(["mcp"]).roles(["admin"]));
///
/// // Exactly what a server does with a real IdP: discovery → JWKS → signature and claims.
/// let verifier = dev.verifier(resource).build().unwrap();
/// let who = verifier.verify(&token).await.unwrap();
/// assert_eq!(who.subject(), Some("alice"));
/// assert!(who.has_role("admin"));
/// # });
/// ```
pub struct DevIssuer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    issuer: String,
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
    client_id: String,
    client_secret: String,
    opaque: Mutex<HashMap<[u8; 32], Map<String, Value>>>,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.shared.issuer)
            .field("kid", &self.shared.kid)
            .finish_non_exhaustive()
    }
}

impl Drop for DevIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DevIssuer {
    /// Start on `127.0.0.1` with a port chosen by the OS.
    pub async fn start() -> Result<Self, DevIssuerError> {
        Self::bind("127.0.0.1:0").await
    }

    /// Start on a loopback address of your choice (e.g. `127.0.0.1:9000`).
    pub async fn bind(addr: impl tokio::net::ToSocketAddrs) -> Result<Self, DevIssuerError> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(DevIssuerError::NotLoopback(addr));
        }
        let issuer = format!("http://{addr}");

        let secret = p256::SecretKey::random(&mut OsRng);
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| DevIssuerError::Key(e.to_string()))?;
        let point = secret.public_key().to_encoded_point(false);
        let (x, y) = match (point.x(), point.y()) {
            (Some(x), Some(y)) => (x.to_vec(), y.to_vec()),
            _ => return Err(DevIssuerError::Key("no affine coordinates".into())),
        };
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest([&x[..], &y[..]].concat())[..12]);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&x), "y": URL_SAFE_NO_PAD.encode(&y),
        });
        let decoding = DecodingKey::from_ec_components(
            jwk["x"].as_str().unwrap_or_default(),
            jwk["y"].as_str().unwrap_or_default(),
        )
        .map_err(|e| DevIssuerError::Key(e.to_string()))?;
        let shared = Arc::new(Shared {
            issuer,
            kid,
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            decoding,
            jwk,
            client_id: "mcp-auth-dev-introspection".into(),
            client_secret: random_hex(24),
            opaque: Mutex::new(HashMap::new()),
        });

        let router = Router::new()
            .route("/.well-known/openid-configuration", get(metadata))
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/jwks", get(jwks))
            .route("/introspect", post(introspect))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(target: "mcp_auth::dev_issuer", error = %e, "dev issuer stopped");
            }
        });
        tracing::info!(target: "mcp_auth::dev_issuer", issuer = %shared.issuer, "dev issuer started");
        Ok(Self { shared, addr, task })
    }

    /// The issuer URL, e.g. `http://127.0.0.1:41234` (the `iss` of every token).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.shared.issuer)
    }

    /// The RFC 7662 introspection endpoint.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.shared.issuer)
    }

    /// The client id and secret the introspection endpoint accepts.
    pub fn introspection_client(&self) -> (&str, &str) {
        (&self.shared.client_id, &self.shared.client_secret)
    }

    /// A [`JwtVerifier`] for this issuer, accepting tokens for `audience`: the same line a
    /// real IdP takes, `JwtVerifier::discover(issuer).audience(audience)`.
    pub fn verifier(&self, audience: impl Into<String>) -> JwtVerifierBuilder {
        JwtVerifier::discover(self.issuer()).audience(audience)
    }

    /// A signed JWT access token (`typ: at+jwt`, ES256) for `user`.
    pub fn mint(&self, user: &DevUser) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.shared.kid.clone());
        let claims = self.claims_for(user);
        jsonwebtoken::encode(&header, &claims, &self.shared.encoding)
            .expect("the dev issuer's own key signs")
    }

    /// An opaque token for `user`, known only to this issuer's introspection endpoint.
    pub fn mint_opaque(&self, user: &DevUser) -> String {
        let token = format!("dev-opaque-{}", random_hex(24));
        let mut map = self.shared.opaque.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_OPAQUE {
            map.clear();
        }
        map.insert(
            Sha256::digest(token.as_bytes()).into(),
            self.claims_for(user),
        );
        token
    }

    fn claims_for(&self, user: &DevUser) -> Map<String, Value> {
        let now = unix_now();
        let mut claims = user.claims.clone();
        let aud = match user.audiences.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        for (k, v) in [
            ("iss", json!(self.shared.issuer)),
            ("sub", json!(user.subject)),
            ("aud", aud),
            ("client_id", json!(user.client_id)),
            ("scope", json!(user.scopes.join(" "))),
            ("roles", json!(user.roles)),
            ("iat", json!(now)),
            ("nbf", json!(now)),
            ("exp", json!(now + user.ttl.as_secs())),
            ("jti", json!(random_hex(12))),
        ] {
            claims.insert(k.to_owned(), v);
        }
        claims
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

async fn metadata(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{}/jwks", s.issuer),
        "introspection_endpoint": format!("{}/introspect", s.issuer),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
        "grant_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": [],
    }))
}

async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({ "keys": [s.jwk] })),
    )
        .into_response()
}

async fn introspect(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if !client_authenticated(&s, &headers, &form) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"introspection\"")],
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some(token) = form.get("token") else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request"})),
        )
            .into_response();
    };
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let opaque = s
        .opaque
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&digest)
        .cloned();
    let claims = opaque.or_else(|| {
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[&s.issuer]);
        v.validate_aud = false;
        v.leeway = 0;
        jsonwebtoken::decode::<Map<String, Value>>(token, &s.decoding, &v)
            .ok()
            .map(|d| d.claims)
    });
    let active = claims.filter(|c| c.get("exp").and_then(Value::as_u64) > Some(unix_now()));
    let body = match active {
        Some(mut claims) => {
            claims.insert("active".into(), json!(true));
            claims.insert("token_type".into(), json!("Bearer"));
            Value::Object(claims)
        }
        None => json!({"active": false}),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn client_authenticated(s: &Shared, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let (id, secret) = match basic_credentials(headers) {
        Some(pair) => pair,
        None => match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return false,
        },
    };
    let id_ok: bool = id.as_bytes().ct_eq(s.client_id.as_bytes()).into();
    let secret_ok: bool = secret.as_bytes().ct_eq(s.client_secret.as_bytes()).into();
    id_ok & secret_ok
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}
