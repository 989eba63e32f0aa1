//! Shared by the JWT targets: the verifier under test, an HMAC signer, and the oracle that
//! every accepted token must satisfy.
#![allow(dead_code)]

use std::{
    future::Future,
    pin::pin,
    sync::LazyLock,
    task::{Context, Poll, Waker},
    time::{SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use mcp_auth_runtime::{AccessToken, verify::JwtVerifier};
use serde_json::Value;

pub const SECRET: &[u8] = b"fuzzing-secret-of-at-least-32-bytes!!";
pub const ISSUER: &str = "https://issuer.fuzz.test";
pub const AUDIENCE: &str = "https://mcp.fuzz.test/mcp";
/// The verifier's `nbf` / `iat` leeway (its default).
pub const LEEWAY: u64 = 60;

pub fn verifier() -> &'static JwtVerifier {
    static V: LazyLock<JwtVerifier> = LazyLock::new(|| {
        JwtVerifier::hmac(SECRET)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .no_cache()
            .build()
            .expect("verifier")
    });
    &V
}

/// Poll a future once: verification with static keys must never wait on anything.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a static-key verification waited on something"),
    }
}

/// `b64(header).b64(claims).HMAC` with the algorithm the header names (HS256 otherwise).
pub fn sign(header: &[u8], claims: &[u8]) -> String {
    let _ = verifier(); // installs jsonwebtoken's crypto provider
    let alg = serde_json::from_slice::<Value>(header)
        .ok()
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned))
        .and_then(|a| match a.as_str() {
            "HS384" => Some(Algorithm::HS384),
            "HS512" => Some(Algorithm::HS512),
            _ => None,
        })
        .unwrap_or(Algorithm::HS256);
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(SECRET), alg)
            .expect("HMAC signing cannot fail");
    format!("{message}.{signature}")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A NumericDate as the documentation defines it (a non-negative number of seconds).
fn seconds(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let f = v.as_f64()?;
    (f.is_finite() && (0.0..1e15).contains(&f)).then_some(f as u64)
}

fn segment(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("three segments");
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .expect("accepted a non-base64url segment");
    serde_json::from_slice(&bytes).expect("accepted a segment that is not JSON")
}

/// Everything the verifier promises about a token it accepted.
pub fn check_accepted(token: &str, verified: &AccessToken) {
    assert_eq!(token.split('.').count(), 3, "accepted {token:?}");
    let header = segment(token, 0);
    let alg = header["alg"]
        .as_str()
        .expect("accepted a header without `alg`");
    assert!(
        matches!(alg, "HS256" | "HS384" | "HS512"),
        "accepted alg {alg:?} with an HMAC secret"
    );
    assert!(header.get("crit").is_none(), "accepted a `crit` header");

    let claims = segment(token, 1);
    let now = now();
    let exp = claims
        .get("exp")
        .and_then(seconds)
        .expect("accepted without a numeric `exp`");
    assert!(
        exp > now,
        "accepted an expired token (exp {exp}, now {now})"
    );
    for name in ["nbf", "iat"] {
        if let Some(v) = claims.get(name) {
            let t = seconds(v).unwrap_or_else(|| panic!("accepted a non-numeric `{name}`: {v}"));
            assert!(
                t <= now + LEEWAY,
                "accepted `{name}` {t} in the future (now {now})"
            );
        }
    }
    let iss = claims["iss"].as_str().expect("accepted without `iss`");
    assert!(
        iss == ISSUER || iss.strip_suffix('/') == Some(ISSUER),
        "accepted issuer {iss:?}"
    );
    let ours = match &claims["aud"] {
        Value::String(a) => a == AUDIENCE,
        Value::Array(list) => list.iter().any(|a| a == AUDIENCE),
        _ => false,
    };
    assert!(ours, "accepted audience {}", claims["aud"]);
    assert_eq!(
        verified.subject(),
        claims.get("sub").and_then(Value::as_str)
    );
    assert_eq!(verified.issuer(), Some(iss));
    assert_eq!(verified.raw_token(), token);
    let expires = verified
        .expires_at()
        .expect("accepted token without expiry");
    assert_eq!(
        expires
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
        exp
    );
}
