//! The attack corpus: one table of hostile credentials, each sent over real HTTP to an
//! `AuthServer` whose verifier is a `Chain` of
//!
//! 1. `StaticTokens` (one API key),
//! 2. `JwtVerifier::public_keys` with a real RSA-2048 key (`kid` `rs-1`, RS256) and a real
//!    P-256 key (`kid` `es-1`, ES256) given as PEM, issuer `https://static.corpus.test`,
//! 3. `JwtVerifier::jwks` on a real JWKS endpoint served here (another RSA and P-256 key pair),
//!    issuer `https://remote.corpus.test`, counting its fetches.
//!
//! The keys are made fresh for every run by Node's `crypto.generateKeyPairSync` (Node is
//! already needed by the test suite); no private key is stored anywhere.
//!
//! Each case asserts the status, that the body is a clear JSON error (`error` and
//! `error_description` from the layer, or a JSON-RPC error for an item the caller may not
//! see), that the credential is never echoed, and that **no handler ran** (a call counter on
//! every tool). Positive controls (RS256 and ES256 from both key sources, the API key,
//! lowercase `bearer`) prove the same server accepts what it should. A listener standing for
//! "elsewhere" (the target of `jku` / `x5u` headers, serving the attacker's key) must never be
//! contacted.
//!
//! Two more tests: the API-key comparison shows no timing signal between a near miss (one
//! byte off) and a far miss, and a NUL byte in the header never reaches a handler.

mod common;

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{Router, routing::get};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD},
};
use common::parse_challenge;
use jsonwebtoken::{Algorithm, EncodingKey};
use mcp_auth::prelude::*;
use mcp_auth::{
    Chain,
    verify::{JwtVerifier, PublicKey},
};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};

const STATIC_ISS: &str = "https://static.corpus.test";
const REMOTE_ISS: &str = "https://remote.corpus.test";

mcp_auth::roles! {
    /// Roles of the corpus server.
    pub enum Role { Admin > Editor }
}
mcp_auth::scopes! {
    /// Scopes of the corpus server.
    pub enum Scope { "notes:write" > "notes:read" }
}

/// The server under attack: every tool counts its runs.
#[derive(Clone)]
struct Target {
    calls: Arc<AtomicUsize>,
}

#[mcp_auth::server(name = "corpus", roles = Role, scopes = Scope)]
impl Target {
    /// The caller (open to any authenticated caller).
    #[tool]
    async fn whoami(&self, who: AccessToken) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        format!(
            "{}|{}",
            who.subject().unwrap_or("-"),
            who.client_id().unwrap_or("-")
        )
    }

    /// Admins holding `notes:write` only.
    #[tool(scopes = ["notes:write"], roles = ["admin"])]
    async fn admin_tool(&self, who: AccessToken) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        format!("admin {}", who.subject().unwrap_or("-"))
    }
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// One key pair made by Node.
struct KeyPair {
    private_pem: String,
    public_pem: String,
    public_der: Vec<u8>,
    jwk: Value,
}

impl KeyPair {
    fn encoding(&self, alg: Algorithm) -> EncodingKey {
        match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(self.private_pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(self.private_pem.as_bytes()),
        }
        .expect("private key")
    }
}

struct Keys {
    /// Static RSA key `rs-1`.
    rsa: KeyPair,
    /// Static P-256 key `es-1`.
    ec: KeyPair,
    /// JWKS RSA key `rr-1`.
    remote_rsa: KeyPair,
    /// JWKS P-256 key `re-1`.
    remote_ec: KeyPair,
    /// A key nobody trusts.
    attacker: KeyPair,
}

const KEYGEN: &str = r#"
const c = require('crypto');
const out = {};
for (const [name, type, opts, pkcs] of [
  ['rsa', 'rsa', { modulusLength: 2048 }, 'pkcs1'],
  ['ec', 'ec', { namedCurve: 'P-256' }, 'pkcs8'],
  ['remote_rsa', 'rsa', { modulusLength: 2048 }, 'pkcs1'],
  ['remote_ec', 'ec', { namedCurve: 'P-256' }, 'pkcs8'],
  ['attacker', 'rsa', { modulusLength: 2048 }, 'pkcs1'],
]) {
  const { publicKey, privateKey } = c.generateKeyPairSync(type, opts);
  out[name] = {
    private_pem: privateKey.export({ type: pkcs, format: 'pem' }),
    public_pem: publicKey.export({ type: 'spki', format: 'pem' }),
    public_der: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    jwk: publicKey.export({ format: 'jwk' }),
  };
}
process.stdout.write(JSON.stringify(out));
"#;

fn generate_keys() -> Keys {
    let out = Command::new("node")
        .args(["-e", KEYGEN])
        .output()
        .expect("node is needed by the test suite (scripts/setup.sh)");
    assert!(out.status.success(), "keygen: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("keygen JSON");
    let pair = |name: &str| KeyPair {
        private_pem: v[name]["private_pem"].as_str().unwrap().to_owned(),
        public_pem: v[name]["public_pem"].as_str().unwrap().to_owned(),
        public_der: STANDARD
            .decode(v[name]["public_der"].as_str().unwrap())
            .unwrap(),
        jwk: v[name]["jwk"].clone(),
    };
    Keys {
        rsa: pair("rsa"),
        ec: pair("ec"),
        remote_rsa: pair("remote_rsa"),
        remote_ec: pair("remote_ec"),
        attacker: pair("attacker"),
    }
}

fn jwk_with(jwk: &Value, kid: &str, alg: &str) -> Value {
    let mut k = jwk.clone();
    k["kid"] = json!(kid);
    k["alg"] = json!(alg);
    k["use"] = json!("sig");
    k
}

// ---------------------------------------------------------------------------------------------
// Token forging
// ---------------------------------------------------------------------------------------------

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `b64(header).b64(claims).signature`, from raw JSON texts (so duplicate names survive).
fn sign_raw(header: &str, claims: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign");
    format!("{message}.{signature}")
}

fn sign(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    sign_raw(&header.to_string(), &claims.to_string(), key, alg)
}

/// An unsigned token from raw segments.
fn unsigned(header: &str, claims: &str, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header), b64(claims))
}

// ---------------------------------------------------------------------------------------------
// The servers
// ---------------------------------------------------------------------------------------------

/// A counting HTTP server on loopback answering every path with `body`.
async fn counting_server(body: Value) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(get(move || {
        let counter = counter.clone();
        let body = body.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            axum::Json(body)
        }
    }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hits)
}

struct Corpus {
    url: String,
    resource: String,
    client: reqwest::Client,
    calls: Arc<AtomicUsize>,
    keys: Keys,
    api_key: String,
    jwks_hits: Arc<AtomicUsize>,
    elsewhere: String,
    elsewhere_hits: Arc<AtomicUsize>,
    /// The chain's two JWT verifiers, to read their reasons directly.
    static_jwt: JwtVerifier,
    remote_jwt: JwtVerifier,
    task: tokio::task::JoinHandle<Result<(), mcp_auth::ServeError>>,
}

impl Drop for Corpus {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Corpus {
    let keys = generate_keys();
    let (jwks_base, jwks_hits) = counting_server(json!({ "keys": [
        jwk_with(&keys.remote_rsa.jwk, "rr-1", "RS256"),
        jwk_with(&keys.remote_ec.jwk, "re-1", "ES256"),
    ]}))
    .await;
    // "Elsewhere": serves the attacker's key to whoever asks.
    let (elsewhere, elsewhere_hits) = counting_server(json!({ "keys": [
        jwk_with(&keys.attacker.jwk, "evil", "RS256"),
    ]}))
    .await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!("http://{}/mcp", listener.local_addr().unwrap());
    let api_key = common::random_token("corpus-api");
    let static_jwt = JwtVerifier::public_keys([
        PublicKey::from_pem(keys.rsa.public_pem.as_bytes())
            .unwrap()
            .kid("rs-1"),
        PublicKey::from_pem(keys.ec.public_pem.as_bytes())
            .unwrap()
            .kid("es-1"),
    ])
    .issuer(STATIC_ISS)
    .audience(&resource)
    .build()
    .unwrap();
    let remote_jwt = JwtVerifier::jwks(format!("{jwks_base}/jwks"))
        .issuer(REMOTE_ISS)
        .audience(&resource)
        .build()
        .unwrap();
    let bot = || {
        AccessToken::builder("")
            .subject("api-bot")
            .client_id("ci")
            .issuer("local")
            .scopes(["mcp"])
    };
    let chain = Chain::new()
        .or(StaticTokens::new()
            .with_token(&api_key, bot())
            // Configured by mistake: no well-formed header can carry it.
            .with_token(format!("{api_key}!"), bot()))
        .or(static_jwt.clone())
        .or(remote_jwt.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let server = AuthServer::new(Target {
        calls: calls.clone(),
    })
    .name("corpus")
    .version("1.0.0")
    .verifier(chain)
    .resource(resource.clone())
    .authorization_server(STATIC_ISS)
    .required_scopes(["mcp"]);
    let task = tokio::spawn(server.serve_with_listener(listener));
    // Installed by JwtVerifier::build already; harmless if so.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    Corpus {
        url: resource.clone(),
        resource,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        calls,
        keys,
        api_key,
        jwks_hits,
        elsewhere,
        elsewhere_hits,
        static_jwt,
        remote_jwt,
        task,
    }
}

impl Corpus {
    /// A claim set every verifier accepts, for `iss`.
    fn claims(&self, iss: &str) -> Value {
        let now = now();
        json!({
            "iss": iss, "aud": self.resource, "sub": "alice", "client_id": "cli",
            "scope": "mcp", "exp": now + 600, "iat": now, "nbf": now - 5,
        })
    }

    /// RS256 with the static RSA key `rs-1`.
    fn rs(&self, claims: &Value) -> String {
        sign(
            &json!({ "alg": "RS256", "typ": "JWT", "kid": "rs-1" }),
            claims,
            &self.keys.rsa.encoding(Algorithm::RS256),
            Algorithm::RS256,
        )
    }

    /// RS256 with the static key, claims `claims(STATIC_ISS)` changed by `edit`.
    fn rs_with(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut c = self.claims(STATIC_ISS);
        edit(&mut c);
        self.rs(&c)
    }

    /// RS256 with the static RSA key over raw header and claim texts.
    fn rs_raw(&self, header: &str, claims: &str) -> String {
        sign_raw(
            header,
            claims,
            &self.keys.rsa.encoding(Algorithm::RS256),
            Algorithm::RS256,
        )
    }

    fn call(&self, tool: &str, query: Option<&str>, auth: &[Vec<u8>]) -> reqwest::RequestBuilder {
        let url = match query {
            Some(q) => format!("{}?{q}", self.url),
            None => self.url.clone(),
        };
        let body = common::modern_body(
            common::next_id(),
            "tools/call",
            json!({ "name": tool, "arguments": {} }),
        );
        let mut req = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", common::MODERN)
            .header("Mcp-Method", "tools/call")
            .header("Mcp-Name", tool)
            .body(body.to_string());
        for value in auth {
            req = req.header(
                AUTHORIZATION,
                HeaderValue::from_bytes(value).expect("a header value reqwest can send"),
            );
        }
        req
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn bearer(token: &str) -> Vec<Vec<u8>> {
    vec![format!("Bearer {token}").into_bytes()]
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// What a case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The layer's refusal: this status and this `error` in the JSON body.
    Refused(u16, &'static str),
    /// Authenticated, but the item is hidden from this caller: answered exactly like an
    /// unknown tool (HTTP 200, a JSON-RPC error), its handler never runs.
    Hidden,
}

struct Case {
    name: String,
    tool: &'static str,
    query: Option<String>,
    auth: Vec<Vec<u8>>,
    /// Secrets that must not appear in the answer.
    secret: Option<String>,
    expect: Expect,
}

impl Case {
    fn new(name: impl Into<String>, auth: Vec<Vec<u8>>, expect: Expect) -> Self {
        Self {
            name: name.into(),
            tool: "whoami",
            query: None,
            auth,
            secret: None,
            expect,
        }
    }

    /// `Authorization: Bearer <token>`.
    fn token(name: impl Into<String>, token: String, expect: Expect) -> Self {
        let mut c = Self::new(name, bearer(&token), expect);
        c.secret = Some(token);
        c
    }

    fn tool(mut self, tool: &'static str) -> Self {
        self.tool = tool;
        self
    }

    fn query(mut self, q: String) -> Self {
        self.query = Some(q);
        self
    }

    fn secret(mut self, s: &str) -> Self {
        self.secret = Some(s.to_owned());
        self
    }
}

/// Which JWT verifier of the chain a token is aimed at.
#[derive(Debug, Clone, Copy)]
enum Via {
    Static,
    Remote,
}

const UNSUPPORTED: &str = "not a JWT, or an unsupported `alg`";
const NO_KEY: &str = "no signing key matches the token's `kid` and `alg`";
const BAD_SIGNATURE: &str = "signature does not verify";
const MALFORMED: &str = "malformed JWT";
const HS_REFUSED: &str = "algorithm HS256 is not allowed";

/// The cause the targeted verifier gives for each JWT case (the wire says `invalid_token`
/// for all of them, on purpose).
#[rustfmt::skip]
const REASONS: &[(&str, Via, &str)] = &[
    ("alg `none`, no signature", Via::Static, UNSUPPORTED),
    ("alg `None`, no signature", Via::Static, UNSUPPORTED),
    ("alg `NONE`, no signature", Via::Static, UNSUPPORTED),
    ("alg `none` keeping a valid signature", Via::Static, UNSUPPORTED),
    ("HS256 signed with the RSA public key PEM (algorithm confusion)", Via::Static, HS_REFUSED),
    ("HS256 signed with the RSA public key DER (algorithm confusion)", Via::Static, HS_REFUSED),
    ("HS256 signed with the JWKS key's modulus (algorithm confusion)", Via::Remote, HS_REFUSED),
    ("HS256 signed with the EC public key PEM (algorithm confusion)", Via::Static, HS_REFUSED),
    ("ES256 signature presented for the RSA key `rs-1`", Via::Static, NO_KEY),
    ("ES256 signature presented for the JWKS RSA key `rr-1`", Via::Remote, NO_KEY),
    ("RS256 header over an ES256 signature for `es-1`", Via::Static, NO_KEY),
    ("RS256 signed by an unknown key claiming `rs-1`", Via::Static, BAD_SIGNATURE),
    ("alg `EdDSA` claiming the RSA key", Via::Static, NO_KEY),
    ("kid with path traversal", Via::Static, NO_KEY),
    ("kid with path traversal to the real kid", Via::Static, NO_KEY),
    ("SQL-ish kid", Via::Static, NO_KEY),
    ("kid with an escaped NUL after the real kid", Via::Static, NO_KEY),
    ("huge kid (5,000 characters)", Via::Static, NO_KEY),
    ("kid of the wrong type (a number)", Via::Static, UNSUPPORTED),
    ("jku pointing elsewhere (serving the attacker's key)", Via::Remote, NO_KEY),
    ("x5u pointing elsewhere", Via::Remote, NO_KEY),
    ("jwk header embedding the attacker's key", Via::Static, BAD_SIGNATURE),
    ("x5c header embedding the attacker's key", Via::Static, BAD_SIGNATURE),
    ("jku pointing elsewhere on the static issuer", Via::Static, NO_KEY),
    ("unknown crit extension (validly signed)", Via::Static, "critical header"),
    ("empty crit list (validly signed)", Via::Static, "critical header"),
    ("missing exp", Via::Static, "required claim `exp` is missing"),
    ("past exp", Via::Static, "token expired"),
    ("exp as a string", Via::Static, "required claim `exp` is missing"),
    ("future nbf", Via::Static, "`nbf`"),
    ("far-future iat", Via::Static, "`iat`"),
    ("wrong iss", Via::Static, "wrong issuer"),
    ("the other verifier's iss on this verifier's key", Via::Static, "wrong issuer"),
    ("missing iss", Via::Static, "required claim `iss` is missing"),
    ("missing aud", Via::Static, "audience"),
    ("aud array without us", Via::Static, "audience"),
    ("aud of our origin without the path", Via::Static, "audience"),
    ("aud of the wrong type (an object naming us)", Via::Static, "audience"),
    ("signature stripped (`h.p.`)", Via::Static, BAD_SIGNATURE),
    ("signature and its dot stripped (`h.p`)", Via::Static, UNSUPPORTED),
    ("truncated inside the signature", Via::Static, BAD_SIGNATURE),
    ("truncated inside the payload", Via::Static, UNSUPPORTED),
    ("an extra segment (`h.p.s.x`)", Via::Static, UNSUPPORTED),
    ("five segments (JWE shape)", Via::Static, UNSUPPORTED),
    ("standard base64 (`+`, `/`, padding) instead of base64url", Via::Static, UNSUPPORTED),
    ("padded base64url segments", Via::Static, UNSUPPORTED),
    ("a raw NUL byte inside the claims (validly signed)", Via::Static, MALFORMED),
    ("claims that are a JSON array (validly signed)", Via::Static, MALFORMED),
    ("a header that is not JSON", Via::Static, UNSUPPORTED),
    ("duplicate `alg` in the header (`none`, then RS256)", Via::Static, UNSUPPORTED),
    ("duplicate `kid` in the header", Via::Static, UNSUPPORTED),
    ("duplicate `sub` in the claims (validly signed)", Via::Static, MALFORMED),
    ("duplicate `aud` in the claims, ours then another (validly signed)", Via::Static, MALFORMED),
    ("duplicate `exp` in the claims, past then future (validly signed)", Via::Static, MALFORMED),
    ("duplicate `iss` in the claims (validly signed)", Via::Static, MALFORMED),
];

const INVALID_TOKEN: Expect = Expect::Refused(401, "invalid_token");
const INVALID_REQUEST: Expect = Expect::Refused(400, "invalid_request");
const INSUFFICIENT_SCOPE: Expect = Expect::Refused(403, "insufficient_scope");

fn cases(c: &Corpus) -> Vec<Case> {
    let key = &c.api_key;
    let good = c.rs(&c.claims(STATIC_ISS));
    let [g_head, g_body, g_sig]: [&str; 3] =
        good.split('.').collect::<Vec<_>>().try_into().unwrap();
    let claims = c.claims(STATIC_ISS);
    let claims_text = claims.to_string();
    let remote_claims = c.claims(REMOTE_ISS);
    let ec_enc = c.keys.ec.encoding(Algorithm::ES256);
    let attacker = c.keys.attacker.encoding(Algorithm::RS256);
    let hs = |secret: &[u8], kid: &str, claims: &Value| {
        sign(
            &json!({ "alg": "HS256", "typ": "JWT", "kid": kid }),
            claims,
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
    };
    let attacker_rs =
        |header: Value, claims: &Value| sign(&header, claims, &attacker, Algorithm::RS256);
    let flip_last = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        let last = b.len() - 1;
        b[last] = if b[last] == b'a' { b'b' } else { b'a' };
        String::from_utf8(b).unwrap()
    };
    let flip_first = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b[0] = if b[0] == b'x' { b'y' } else { b'x' };
        String::from_utf8(b).unwrap()
    };
    let dup_claims = |name: &str, first: Value, second: Value| {
        // `{"name": first, ...the rest..., "name": second}` as raw text.
        let mut rest = claims.clone();
        rest.as_object_mut().unwrap().remove(name);
        let inner = rest.to_string();
        let inner = &inner[1..inner.len() - 1];
        format!("{{\"{name}\":{first},{inner},\"{name}\":{second}}}")
    };
    let hidden_caller = |roles: Value| {
        c.rs_with(|cl| {
            cl["scope"] = json!("mcp notes:write");
            cl["roles"] = roles;
        })
    };

    let mut v = vec![
        // --- The Authorization header itself --------------------------------------------
        Case::new(
            "empty token: `Bearer `",
            vec![b"Bearer ".to_vec()],
            INVALID_REQUEST,
        ),
        Case::new(
            "scheme alone: `Bearer`",
            vec![b"Bearer".to_vec()],
            INVALID_REQUEST,
        ),
        Case::new(
            "two Authorization headers, the same valid key",
            [bearer(key), bearer(key)].concat(),
            INVALID_REQUEST,
        )
        .secret(key),
        Case::new(
            "two Authorization headers, API key and JWT",
            [bearer(key), bearer(&good)].concat(),
            INVALID_REQUEST,
        )
        .secret(key),
        Case::new(
            "token in the query string, no header",
            vec![],
            INVALID_REQUEST,
        )
        .query(format!("access_token={key}"))
        .secret(key),
        Case::token(
            "token in the query string and a valid header",
            key.clone(),
            INVALID_REQUEST,
        )
        .query(format!("access_token={key}")),
        Case::new(
            "Cyrillic look-alike scheme `Веаrer`",
            vec![format!("Веаrer {key}").into_bytes()],
            INVALID_REQUEST,
        )
        .secret(key),
        Case::new(
            "fullwidth look-alike scheme `Ｂearer`",
            vec![format!("Ｂearer {key}").into_bytes()],
            INVALID_REQUEST,
        )
        .secret(key),
        Case::new(
            "no-break space after `Bearer`",
            vec![format!("Bearer\u{a0}{key}").into_bytes()],
            INVALID_REQUEST,
        )
        .secret(key),
        Case::new(
            "zero-width space inside the token",
            vec![format!("Bearer {}\u{200b}{}", &key[..8], &key[8..]).into_bytes()],
            INVALID_REQUEST,
        )
        .secret(key),
        Case::new(
            "`Basic` scheme carrying the key",
            vec![format!("Basic {}", STANDARD.encode(format!("x:{key}"))).into_bytes()],
            Expect::Refused(401, "invalid_request"),
        ),
        Case::new(
            "tab instead of a space after `Bearer`",
            vec![format!("Bearer\t{key}").into_bytes()],
            Expect::Refused(401, "invalid_request"),
        )
        .secret(key),
        Case::new(
            "whitespace inside the token",
            vec![format!("Bearer {} {}", &key[..8], &key[8..]).into_bytes()],
            INVALID_TOKEN,
        )
        .secret(key),
        Case::token(
            "API key differing in its last byte",
            flip_last(key),
            INVALID_TOKEN,
        ),
        Case::token(
            "API key differing in its first byte",
            flip_first(key),
            INVALID_TOKEN,
        ),
        Case::token(
            "a configured API key outside RFC 6750's syntax (ends in `!`)",
            format!("{key}!"),
            INVALID_TOKEN,
        ),
        Case::token(
            "API key one byte short",
            key[..key.len() - 1].to_owned(),
            INVALID_TOKEN,
        ),
        Case::token(
            "a 100 KB token",
            format!("{good}{}", "A".repeat(100 * 1024)),
            Expect::Refused(431, "invalid_request"),
        ),
        // --- `alg` ------------------------------------------------------------------------
        Case::token(
            "alg `none`, no signature",
            unsigned(r#"{"alg":"none","typ":"JWT"}"#, &claims_text, ""),
            INVALID_TOKEN,
        ),
        Case::token(
            "alg `None`, no signature",
            unsigned(r#"{"alg":"None","typ":"JWT"}"#, &claims_text, ""),
            INVALID_TOKEN,
        ),
        Case::token(
            "alg `NONE`, no signature",
            unsigned(r#"{"alg":"NONE","typ":"JWT"}"#, &claims_text, ""),
            INVALID_TOKEN,
        ),
        Case::token(
            "alg `none` keeping a valid signature",
            format!(
                "{}.{g_body}.{g_sig}",
                b64(r#"{"alg":"none","typ":"JWT","kid":"rs-1"}"#)
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "HS256 signed with the RSA public key PEM (algorithm confusion)",
            hs(c.keys.rsa.public_pem.as_bytes(), "rs-1", &claims),
            INVALID_TOKEN,
        ),
        Case::token(
            "HS256 signed with the RSA public key DER (algorithm confusion)",
            hs(&c.keys.rsa.public_der, "rs-1", &claims),
            INVALID_TOKEN,
        ),
        Case::token(
            "HS256 signed with the JWKS key's modulus (algorithm confusion)",
            hs(
                c.keys.remote_rsa.jwk["n"].as_str().unwrap().as_bytes(),
                "rr-1",
                &remote_claims,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "HS256 signed with the EC public key PEM (algorithm confusion)",
            hs(c.keys.ec.public_pem.as_bytes(), "es-1", &claims),
            INVALID_TOKEN,
        ),
        Case::token(
            "ES256 signature presented for the RSA key `rs-1`",
            sign(
                &json!({ "alg": "ES256", "kid": "rs-1" }),
                &claims,
                &ec_enc,
                Algorithm::ES256,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "ES256 signature presented for the JWKS RSA key `rr-1`",
            sign(
                &json!({ "alg": "ES256", "kid": "rr-1" }),
                &remote_claims,
                &c.keys.remote_ec.encoding(Algorithm::ES256),
                Algorithm::ES256,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "RS256 header over an ES256 signature for `es-1`",
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":"RS256","kid":"es-1"}"#),
                g_body,
                sign(
                    &json!({ "alg": "ES256", "kid": "es-1" }),
                    &claims,
                    &ec_enc,
                    Algorithm::ES256
                )
                .rsplit('.')
                .next()
                .unwrap()
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "RS256 signed by an unknown key claiming `rs-1`",
            attacker_rs(json!({ "alg": "RS256", "kid": "rs-1" }), &claims),
            INVALID_TOKEN,
        ),
        Case::token(
            "alg `EdDSA` claiming the RSA key",
            unsigned(r#"{"alg":"EdDSA","kid":"rs-1"}"#, &claims_text, g_sig),
            INVALID_TOKEN,
        ),
        // --- `kid` ------------------------------------------------------------------------
        Case::token(
            "kid with path traversal",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"../../../../../../etc/passwd"}"#,
                &claims_text,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "kid with path traversal to the real kid",
            c.rs_raw(r#"{"alg":"RS256","kid":"../keys/rs-1"}"#, &claims_text),
            INVALID_TOKEN,
        ),
        Case::token(
            "SQL-ish kid",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1' OR '1'='1' --"}"#,
                &claims_text,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "kid with an escaped NUL after the real kid",
            c.rs_raw(r#"{"alg":"RS256","kid":"rs-1\u0000"}"#, &claims_text),
            INVALID_TOKEN,
        ),
        Case::token(
            "huge kid (5,000 characters)",
            c.rs_raw(
                &format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(5000)),
                &claims_text,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "kid of the wrong type (a number)",
            c.rs_raw(r#"{"alg":"RS256","kid":1}"#, &claims_text),
            INVALID_TOKEN,
        ),
        // --- Headers pointing elsewhere --------------------------------------------------
        Case::token(
            "jku pointing elsewhere (serving the attacker's key)",
            attacker_rs(
                json!({ "alg": "RS256", "kid": "evil", "jku": format!("{}/jwks", c.elsewhere) }),
                &remote_claims,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "x5u pointing elsewhere",
            attacker_rs(
                json!({ "alg": "RS256", "kid": "evil", "x5u": format!("{}/cert.pem", c.elsewhere) }),
                &remote_claims,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "jwk header embedding the attacker's key",
            attacker_rs(
                json!({ "alg": "RS256", "jwk": jwk_with(&c.keys.attacker.jwk, "evil", "RS256") }),
                &claims,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "x5c header embedding the attacker's key",
            attacker_rs(
                json!({ "alg": "RS256", "kid": "rs-1", "x5c": [STANDARD.encode(&c.keys.attacker.public_der)] }),
                &claims,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "jku pointing elsewhere on the static issuer",
            attacker_rs(
                json!({ "alg": "RS256", "kid": "evil", "jku": format!("{}/jwks", c.elsewhere) }),
                &claims,
            ),
            INVALID_TOKEN,
        ),
        // --- crit ---------------------------------------------------------------------------
        Case::token(
            "unknown crit extension (validly signed)",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1","crit":["exp-ext"],"exp-ext":1}"#,
                &claims_text,
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "empty crit list (validly signed)",
            c.rs_raw(r#"{"alg":"RS256","kid":"rs-1","crit":[]}"#, &claims_text),
            INVALID_TOKEN,
        ),
        // --- Claims -------------------------------------------------------------------------
        Case::token(
            "missing exp",
            c.rs_with(|cl| {
                cl.as_object_mut().unwrap().remove("exp");
            }),
            INVALID_TOKEN,
        ),
        Case::token(
            "past exp",
            c.rs_with(|cl| cl["exp"] = json!(now() - 120)),
            INVALID_TOKEN,
        ),
        Case::token(
            "exp as a string",
            c.rs_with(|cl| cl["exp"] = json!((now() + 600).to_string())),
            INVALID_TOKEN,
        ),
        Case::token(
            "future nbf",
            c.rs_with(|cl| cl["nbf"] = json!(now() + 3600)),
            INVALID_TOKEN,
        ),
        Case::token(
            "far-future iat",
            c.rs_with(|cl| cl["iat"] = json!(now() + 86_400 * 365)),
            INVALID_TOKEN,
        ),
        Case::token(
            "wrong iss",
            c.rs_with(|cl| cl["iss"] = json!("https://evil.example.com")),
            INVALID_TOKEN,
        ),
        Case::token(
            "the other verifier's iss on this verifier's key",
            c.rs_with(|cl| cl["iss"] = json!(REMOTE_ISS)),
            INVALID_TOKEN,
        ),
        Case::token(
            "missing iss",
            c.rs_with(|cl| {
                cl.as_object_mut().unwrap().remove("iss");
            }),
            INVALID_TOKEN,
        ),
        Case::token(
            "missing aud",
            c.rs_with(|cl| {
                cl.as_object_mut().unwrap().remove("aud");
            }),
            INVALID_TOKEN,
        ),
        Case::token(
            "aud array without us",
            c.rs_with(|cl| cl["aud"] = json!(["https://a.example/mcp", "https://b.example/mcp"])),
            INVALID_TOKEN,
        ),
        Case::token(
            "aud of our origin without the path",
            c.rs_with(|cl| cl["aud"] = json!(c.resource.trim_end_matches("/mcp"))),
            INVALID_TOKEN,
        ),
        Case::token(
            "aud of the wrong type (an object naming us)",
            c.rs_with(|cl| cl["aud"] = json!({ "aud": c.resource })),
            INVALID_TOKEN,
        ),
        // --- Structure ----------------------------------------------------------------------
        Case::token(
            "signature stripped (`h.p.`)",
            format!("{g_head}.{g_body}."),
            INVALID_TOKEN,
        ),
        Case::token(
            "signature and its dot stripped (`h.p`)",
            format!("{g_head}.{g_body}"),
            INVALID_TOKEN,
        ),
        Case::token(
            "truncated inside the signature",
            good[..good.len() - 10].to_owned(),
            INVALID_TOKEN,
        ),
        Case::token(
            "truncated inside the payload",
            good[..g_head.len() + 1 + g_body.len() / 2].to_owned(),
            INVALID_TOKEN,
        ),
        Case::token(
            "an extra segment (`h.p.s.x`)",
            format!("{good}.{g_sig}"),
            INVALID_TOKEN,
        ),
        Case::token(
            "five segments (JWE shape)",
            format!("{g_head}.{g_body}.{g_sig}.{g_sig}.{g_sig}"),
            INVALID_TOKEN,
        ),
        Case::token(
            "standard base64 (`+`, `/`, padding) instead of base64url",
            format!(
                "{}.{}.{}",
                STANDARD.encode(r#"{"alg":"RS256","kid":"rs-1"}"#),
                STANDARD.encode(&claims_text),
                STANDARD.encode(URL_SAFE_NO_PAD.decode(g_sig).unwrap())
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "padded base64url segments",
            format!(
                "{}.{}.{}",
                URL_SAFE.encode(r#"{"alg":"RS256","kid":"rs-1"}"#),
                URL_SAFE.encode(&claims_text),
                g_sig
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "a raw NUL byte inside the claims (validly signed)",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1"}"#,
                &claims_text.replacen("alice", "ali\u{0}ce", 1),
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "claims that are a JSON array (validly signed)",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1"}"#,
                &format!("[{claims_text}]"),
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "a header that is not JSON",
            format!("{}.{g_body}.{g_sig}", b64("alg=RS256")),
            INVALID_TOKEN,
        ),
        // --- Duplicate names -------------------------------------------------------------------
        Case::token(
            "duplicate `alg` in the header (`none`, then RS256)",
            c.rs_raw(r#"{"alg":"none","kid":"rs-1","alg":"RS256"}"#, &claims_text),
            INVALID_TOKEN,
        ),
        Case::token(
            "duplicate `kid` in the header",
            c.rs_raw(r#"{"alg":"RS256","kid":"evil","kid":"rs-1"}"#, &claims_text),
            INVALID_TOKEN,
        ),
        Case::token(
            "duplicate `sub` in the claims (validly signed)",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1"}"#,
                &dup_claims("sub", json!("alice"), json!("admin")),
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "duplicate `aud` in the claims, ours then another (validly signed)",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1"}"#,
                &dup_claims("aud", json!(c.resource), json!("https://other.example/mcp")),
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "duplicate `exp` in the claims, past then future (validly signed)",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1"}"#,
                &dup_claims("exp", json!(now() - 60), json!(now() + 600)),
            ),
            INVALID_TOKEN,
        ),
        Case::token(
            "duplicate `iss` in the claims (validly signed)",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1"}"#,
                &dup_claims("iss", json!("https://evil.example"), json!(STATIC_ISS)),
            ),
            INVALID_TOKEN,
        ),
        // RFC 7519 §4 lets a parser keep the last duplicate: the later `scope` lacks `mcp`.
        Case::token(
            "duplicate `scope`, the last one without the baseline (validly signed)",
            c.rs_raw(
                r#"{"alg":"RS256","kid":"rs-1"}"#,
                &dup_claims("scope", json!("mcp"), json!("notes:read")),
            ),
            INSUFFICIENT_SCOPE,
        ),
        // --- scope / roles of the wrong type ------------------------------------------------
        Case::token(
            "scope claim is a number",
            c.rs_with(|cl| cl["scope"] = json!(7)),
            INSUFFICIENT_SCOPE,
        ),
        Case::token(
            "scope claim is an object naming the scope",
            c.rs_with(|cl| cl["scope"] = json!({ "mcp": true })),
            INSUFFICIENT_SCOPE,
        ),
        Case::token(
            "scope claim is a boolean",
            c.rs_with(|cl| cl["scope"] = json!(true)),
            INSUFFICIENT_SCOPE,
        ),
        Case::token(
            "scp claim is an object and scope is absent",
            c.rs_with(|cl| {
                cl.as_object_mut().unwrap().remove("scope");
                cl["scp"] = json!({ "mcp": 1 });
            }),
            INSUFFICIENT_SCOPE,
        ),
        Case::token(
            "scope claim is an array of non-strings",
            c.rs_with(|cl| cl["scope"] = json!([["mcp"], { "mcp": 1 }, 7])),
            INSUFFICIENT_SCOPE,
        ),
        Case::token(
            "roles claim is an object naming the role",
            hidden_caller(json!({ "admin": true })),
            Expect::Hidden,
        )
        .tool("admin_tool"),
        Case::token(
            "roles claim is a number",
            hidden_caller(json!(1)),
            Expect::Hidden,
        )
        .tool("admin_tool"),
        Case::token(
            "roles claim is a nested array",
            hidden_caller(json!([["admin"]])),
            Expect::Hidden,
        )
        .tool("admin_tool"),
        Case::token(
            "the role, but notes:write as an object",
            c.rs_with(|cl| {
                cl["scope"] = json!("mcp");
                cl["scp"] = json!({ "notes:write": true });
                cl["roles"] = json!(["admin"]);
            }),
            INSUFFICIENT_SCOPE,
        )
        .tool("admin_tool"),
    ];
    for case in &mut v {
        if case.secret.is_none() && case.auth.len() == 1 {
            let text = String::from_utf8_lossy(&case.auth[0]).into_owned();
            if let Some((_, t)) = text.split_once(' ')
                && t.len() >= 16
            {
                case.secret = Some(t.to_owned());
            }
        }
    }
    v
}

/// Check one refused case; `Err` describes what went wrong.
async fn run_case(c: &Corpus, case: &Case) -> Result<(), String> {
    let before = c.calls();
    let req = c.call(case.tool, case.query.as_deref(), &case.auth);
    let res = req.send().await.map_err(|e| format!("send: {e}"))?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.map_err(|e| format!("body: {e}"))?;
    let ran = c.calls() - before;
    if ran != 0 {
        return Err(format!(
            "a handler ran {ran} time(s); status {status}: {body}"
        ));
    }
    if let Some(secret) = &case.secret {
        let mut all = body.clone();
        for (k, v) in &headers {
            all.push_str(&format!("\n{k}: {}", String::from_utf8_lossy(v.as_bytes())));
        }
        // Long secrets: any 16-byte window of them would be an echo.
        let probe = &secret[..secret.len().min(16)];
        if all.contains(secret.as_str()) || (secret.len() >= 16 && all.contains(probe)) {
            return Err("the credential was echoed".into());
        }
    }
    let json: Value = serde_json::from_str(&body)
        .map_err(|e| format!("status {status}: body is not JSON ({e}): {body:?}"))?;
    match case.expect {
        Expect::Refused(want, error) => {
            if status != want {
                return Err(format!("status {status}, expected {want}: {body}"));
            }
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !content_type.starts_with("application/json") {
                return Err(format!("content-type {content_type:?}"));
            }
            if json["error"] != error {
                return Err(format!("error {}, expected {error:?}", json["error"]));
            }
            let description = json["error_description"].as_str().unwrap_or_default();
            if description.is_empty() {
                return Err(format!("no error_description: {json}"));
            }
            if let Some(h) = headers.get("www-authenticate") {
                let (scheme, params) = parse_challenge(h.to_str().map_err(|e| e.to_string())?);
                if scheme != "Bearer" || !params.contains_key("resource_metadata") {
                    return Err(format!("challenge {h:?}"));
                }
                if want == 401 && error == "invalid_token" && params["error"] != "invalid_token" {
                    return Err(format!("challenge {h:?}"));
                }
                if want == 403 && !params.contains_key("scope") {
                    return Err(format!("step-up without scope: {h:?}"));
                }
            } else if matches!(want, 401 | 403) {
                return Err("401/403 without WWW-Authenticate".into());
            }
        }
        Expect::Hidden => {
            if status != 200 {
                return Err(format!("status {status}, expected 200: {body}"));
            }
            let code = json["error"]["code"].as_i64();
            let message = json["error"]["message"].as_str().unwrap_or_default();
            if code.is_none() || message.is_empty() || json.get("result").is_some() {
                return Err(format!("not a JSON-RPC error: {json}"));
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attack_corpus_is_refused_without_running_a_handler() {
    let c = start().await;
    let started = Instant::now();

    // Positive controls: the same server accepts each legitimate credential, once each.
    let answer_of = |res: String| -> Value { serde_json::from_str(&res).unwrap() };
    let remote_rs = sign(
        &json!({ "alg": "RS256", "kid": "rr-1" }),
        &c.claims(REMOTE_ISS),
        &c.keys.remote_rsa.encoding(Algorithm::RS256),
        Algorithm::RS256,
    );
    let remote_es = sign(
        &json!({ "alg": "ES256", "kid": "re-1" }),
        &c.claims(REMOTE_ISS),
        &c.keys.remote_ec.encoding(Algorithm::ES256),
        Algorithm::ES256,
    );
    let static_es = sign(
        &json!({ "alg": "ES256", "kid": "es-1" }),
        &c.claims(STATIC_ISS),
        &c.keys.ec.encoding(Algorithm::ES256),
        Algorithm::ES256,
    );
    let admin = c.rs_with(|cl| {
        cl["scope"] = json!("mcp notes:write");
        cl["roles"] = json!(["admin"]);
    });
    let controls: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "RS256, static PEM key",
            "whoami",
            format!("Bearer {}", c.rs(&c.claims(STATIC_ISS))).into_bytes(),
            "alice|cli",
        ),
        (
            "ES256, static PEM key",
            "whoami",
            format!("Bearer {static_es}").into_bytes(),
            "alice|cli",
        ),
        (
            "RS256, JWKS key",
            "whoami",
            format!("Bearer {remote_rs}").into_bytes(),
            "alice|cli",
        ),
        (
            "ES256, JWKS key",
            "whoami",
            format!("Bearer {remote_es}").into_bytes(),
            "alice|cli",
        ),
        (
            "API key",
            "whoami",
            format!("Bearer {}", c.api_key).into_bytes(),
            "api-bot|ci",
        ),
        (
            "lowercase `bearer`",
            "whoami",
            format!("bearer {}", c.api_key).into_bytes(),
            "api-bot|ci",
        ),
        (
            "uppercase `BEARER`",
            "whoami",
            format!("BEARER {}", c.api_key).into_bytes(),
            "api-bot|ci",
        ),
        (
            "admin role with notes:write",
            "admin_tool",
            format!("Bearer {admin}").into_bytes(),
            "admin alice",
        ),
    ];
    for (name, tool, auth, want) in &controls {
        let before = c.calls();
        let res = c
            .call(tool, None, std::slice::from_ref(auth))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_eq!(status, 200, "control {name}: {body}");
        let msg = answer_of(body);
        assert_eq!(common::tool_text(&msg), *want, "control {name}");
        assert_eq!(
            c.calls() - before,
            1,
            "control {name}: the handler ran once"
        );
    }

    let cases = cases(&c);
    let mut failures = Vec::new();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        match run_case(&c, case).await {
            Ok(()) => {
                let key = match case.expect {
                    Expect::Refused(s, e) => format!("{s} {e}"),
                    Expect::Hidden => "200 JSON-RPC error (hidden item)".into(),
                };
                *by_status.entry(key).or_default() += 1;
            }
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }
    // The cause, read from the verifier itself: each JWT is refused for the reason the case
    // is about, not for an incidental one.
    let mut checked = 0;
    for (name, via, reason) in REASONS {
        let case = cases
            .iter()
            .find(|c| c.name == *name)
            .unwrap_or_else(|| panic!("REASONS names an unknown case {name:?}"));
        let text = String::from_utf8_lossy(&case.auth[0]).into_owned();
        let token = text.strip_prefix("Bearer ").expect("a bearer case");
        let verifier = match via {
            Via::Static => &c.static_jwt,
            Via::Remote => &c.remote_jwt,
        };
        match verifier.verify(token).await {
            Ok(_) => failures.push(format!("{name}: accepted by the {via:?} verifier")),
            Err(e) if e.to_string().contains(reason) => checked += 1,
            Err(e) => failures.push(format!("{name}: refused for {e}, expected {reason:?}")),
        }
    }
    // Let any stray fetch land before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let elsewhere = c.elsewhere_hits.load(Ordering::SeqCst);
    let jwks = c.jwks_hits.load(Ordering::SeqCst);
    eprintln!(
        "attack corpus: {} cases + {} positive controls in {:?}; outcomes {by_status:?}; \
         {checked} refusal causes read from the verifiers; JWKS fetches from the configured source: {jwks}; requests to \"elsewhere\": {elsewhere}",
        cases.len(),
        controls.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    assert_eq!(
        elsewhere, 0,
        "a jku/x5u/jwk/x5c header made the server fetch a key"
    );
    assert!(
        jwks <= 1 + 10,
        "{jwks} JWKS fetches: unknown kids must stay within the refresh bound"
    );
    assert_eq!(c.calls(), controls.len(), "only the controls ran a handler");
}

/// A NUL byte cannot be carried by an HTTP header: hyper refuses the request before the
/// layer (and so before any handler) sees it, and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_in_the_authorization_header_never_reaches_a_handler() {
    let c = start().await;
    let addr = c
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let body = common::modern_body(
        1,
        "tools/call",
        json!({ "name": "whoami", "arguments": {} }),
    )
    .to_string();
    for auth in [
        format!("Bearer {}\0", c.api_key),
        format!("Bearer \0{}", c.api_key),
        format!("Bearer\0{}", c.api_key),
    ] {
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n\
             Mcp-Method: tools/call\r\nMcp-Name: whoami\r\nAuthorization: {auth}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let addr = addr.clone();
        let response = tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        })
        .await
        .unwrap();
        let status_line = response.lines().next().unwrap_or_default().to_owned();
        assert!(
            status_line.starts_with("HTTP/1.1 4"),
            "NUL in Authorization: {status_line:?}"
        );
        assert!(!response.contains(&c.api_key), "the key was echoed");
    }
    assert_eq!(c.calls(), 0);
    let res = c
        .call("whoami", None, &bearer(&c.api_key))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "still serving");
}

// ---------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------

fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("StaticTokens::verify waited on something"),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// `StaticTokens` compares SHA-256 digests in constant time against every entry. A key one
/// byte off from a real one (a near miss) and a random key (a far miss) must take the same
/// time. Measured as paired differences within each round (so drifts of the machine's load
/// cancel), in alternating order: the median near-minus-far difference must be below the
/// noise threshold, and is printed next to the same statistic for two far misses (A/A).
#[test]
fn an_api_key_one_byte_off_shows_no_timing_signal() {
    const KEYS: usize = 200;
    const ROUNDS: usize = 1_001;
    const BATCH: usize = 5;
    /// The largest median difference, relative to the median verification time, taken as
    /// noise rather than signal.
    const THRESHOLD: f64 = 0.01;

    let mut verifier = StaticTokens::new();
    let keys: Vec<String> = (0..KEYS)
        .map(|i| common::random_token(&format!("k{i}")))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        verifier.insert(k, AccessToken::builder("").subject(format!("s{i}")));
    }
    let real = &keys[KEYS / 2];
    let mut near = real.clone().into_bytes();
    let last = near.len() - 1;
    near[last] = if near[last] == b'0' { b'1' } else { b'0' };
    let near = String::from_utf8(near).unwrap();
    // Same label, fresh random part: same length, different in (almost) every byte.
    let far = common::random_token(&format!("k{}", KEYS / 2));
    let far2 = common::random_token(&format!("k{}", KEYS / 2));
    assert_eq!(near.len(), real.len());
    assert_eq!(far.len(), real.len());
    assert!(ready(verifier.verify(real)).is_ok());

    let time = |token: &str| {
        let start = Instant::now();
        for _ in 0..BATCH {
            assert!(ready(verifier.verify(std::hint::black_box(token))).is_err());
        }
        start.elapsed().as_secs_f64() * 1e9 / BATCH as f64
    };
    for _ in 0..50 {
        time(&near);
        time(&far);
        time(&far2);
    }
    let (mut signal, mut noise, mut all) = (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    for round in 0..ROUNDS {
        let (n, f, f2) = if round.is_multiple_of(2) {
            let n = time(&near);
            let f = time(&far);
            (n, f, time(&far2))
        } else {
            let f2 = time(&far2);
            let f = time(&far);
            (time(&near), f, f2)
        };
        signal.push(n - f);
        noise.push(f2 - f);
        all.push(f);
    }
    let (d_signal, d_noise, typical) = (median(&mut signal), median(&mut noise), median(&mut all));
    let (rel_signal, rel_noise) = (d_signal.abs() / typical, d_noise.abs() / typical);
    eprintln!(
        "StaticTokens with {KEYS} keys, {ROUNDS} rounds x {BATCH} verifications in {:?}: \
         median verification {typical:.0} ns; median near-minus-far {d_signal:+.0} ns \
         ({:.2}%), far-minus-far (A/A) {d_noise:+.0} ns ({:.2}%); threshold {:.0}%",
        started.elapsed(),
        rel_signal * 100.0,
        rel_noise * 100.0,
        THRESHOLD * 100.0
    );
    assert!(
        rel_signal < THRESHOLD,
        "near miss vs far miss: median difference {d_signal:+.0} ns of {typical:.0} ns"
    );
}
