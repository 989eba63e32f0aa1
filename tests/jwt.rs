//! `JwtVerifier` against a real authorization server (oauth2-mock-server on loopback, see
//! `common/idp.rs`), through `AuthServer` over HTTP: the tokens come from the IdP's
//! client-credentials endpoint; the keys from its discovery document and JWKS.

#[path = "common/idp.rs"]
mod idp;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use idp::{Idp, Mcp, TokenRequest};
use mcp_auth::{
    DevIssuer, DevUser, Introspection, TokenVerifier,
    verify::{JwtVerifier, PublicKey},
};
use serde_json::{Value, json};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A JWT from parts: base64url(JSON header) . base64url(JSON payload) . signature.
fn forge(header: Value, payload: Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

fn payload_of(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_token_is_allowed_with_identity_scopes_and_roles() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let verifier = JwtVerifier::discover(&idp.issuer)
        .audience(&resource)
        .build()
        .expect("verifier");
    let mcp = slot.serve(verifier);

    let token = idp
        .token(
            &TokenRequest::new("notes-cli")
                .scope("mcp notes:read")
                .audience(&resource)
                .claims(json!({ "roles": ["editor"] })),
        )
        .await;
    let answer = mcp.whoami(&token).await;
    let who = answer.identity();
    assert_eq!(who["sub"], "notes-cli");
    assert_eq!(who["client_id"], "notes-cli");
    assert_eq!(who["iss"], idp.issuer.as_str());
    assert_eq!(answer.strings("aud"), std::slice::from_ref(&resource));
    assert_eq!(answer.strings("scopes"), ["mcp", "notes:read"]);
    assert_eq!(answer.strings("roles"), ["editor"]);

    // More requests and a second token: no more traffic to the IdP than the first discovery
    // (RFC 8414 URL → 404, then OIDC) and one JWKS download.
    let other = idp
        .token(
            &TokenRequest::new("other-cli")
                .scope("mcp")
                .audience(&resource),
        )
        .await;
    for _ in 0..5 {
        assert_eq!(mcp.whoami(&token).await.status, 200);
        assert_eq!(mcp.whoami(&other).await.identity()["sub"], "other-cli");
    }
    let stats = idp.stats().await;
    assert_eq!(stats.get("jwks"), Some(&1), "{stats:?}");
    assert_eq!(stats.get("openid-configuration"), Some(&1), "{stats:?}");
    assert_eq!(
        stats.get("oauth-authorization-server"),
        Some(&1),
        "{stats:?}"
    );
    eprintln!("IdP requests after 12 verified calls: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_with_401() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::discover(&idp.issuer)
            .audience(&resource)
            .build()
            .unwrap(),
    );
    let good = || TokenRequest::new("cli").scope("mcp").audience(&resource);
    let valid = idp.token(&good()).await;
    assert_eq!(mcp.whoami(&valid).await.status, 200);
    let [head, body, sig]: [&str; 3] = valid.split('.').collect::<Vec<_>>().try_into().unwrap();

    let mut cases: Vec<(&str, String)> = vec![
        (
            "wrong audience",
            idp.token(
                &TokenRequest::new("cli")
                    .scope("mcp")
                    .audience("https://other.example.com/mcp"),
            )
            .await,
        ),
        (
            "no audience",
            idp.token(&TokenRequest::new("cli").scope("mcp")).await,
        ),
        (
            "wrong issuer",
            idp.token(&good().claims(json!({ "iss": "https://evil.example.com" })))
                .await,
        ),
        ("expired", idp.token(&good().expires_in(-120)).await),
        ("not yet valid", idp.token(&good().nbf_in(600)).await),
        (
            "issued in the future",
            idp.token(&good().claims(json!({ "iat": now() + 3600 })))
                .await,
        ),
        (
            "no exp",
            idp.token(&good().claims(json!({ "exp": null }))).await,
        ),
        (
            "unknown key",
            idp.orphan_token(json!({ "aud": resource, "scope": "mcp" }))
                .await,
        ),
    ];
    // Tampered signature: flip one character in the middle of it.
    let mut bytes = sig.as_bytes().to_vec();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    cases.push((
        "tampered signature",
        format!("{head}.{body}.{}", String::from_utf8(bytes).unwrap()),
    ));
    // Tampered payload: more scopes, same signature.
    let mut claims = payload_of(&valid);
    claims["scope"] = json!("mcp notes:admin");
    cases.push((
        "tampered payload",
        format!(
            "{head}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ),
    ));
    // `alg: none`, unsigned.
    cases.push((
        "alg none",
        forge(
            json!({ "alg": "none", "typ": "JWT" }),
            payload_of(&valid),
            "",
        ),
    ));
    // Key confusion: HS256 "signed" with the IdP's public key material as the secret.
    let jwks = reqwest::get(idp.jwks_uri())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some(idp.kid.clone()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &payload_of(&valid),
        &jsonwebtoken::EncodingKey::from_secret(jwks.as_bytes()),
    )
    .unwrap();
    cases.push(("HS256 with the public key as secret", confused));
    // An unknown critical header.
    cases.push((
        "crit",
        forge(
            json!({ "alg": "RS256", "kid": idp.kid, "crit": ["exp-ext"], "exp-ext": 1 }),
            payload_of(&valid),
            sig,
        ),
    ));
    cases.push(("garbage", "not.a.jwt".to_owned()));

    // The same verdicts, read directly from a verifier: each case fails for its own reason.
    let direct = JwtVerifier::discover(&idp.issuer)
        .audience(&resource)
        .build()
        .unwrap();
    for (what, token) in &cases {
        let err = direct.verify(token).await.expect_err(what);
        let expected = match *what {
            "wrong audience" | "no audience" => "audience",
            "wrong issuer" => "another issuer",
            "expired" => "expired",
            "not yet valid" => "nbf",
            "issued in the future" => "iat",
            "no exp" => "`exp`",
            "unknown key" => "no signing key matches",
            "tampered signature" | "tampered payload" => "signature does not verify",
            "alg none" | "garbage" => "not a JWT",
            "HS256 with the public key as secret" => "not allowed",
            "crit" => "crit",
            other => panic!("no expectation for {other}"),
        };
        assert!(
            err.to_string().contains(expected),
            "{what}: got {err:?}, expected it to mention {expected:?}"
        );
    }
    // Count from here: the test's own JWKS download and the direct verifier count too.
    let before = idp.count("jwks").await;
    for (what, token) in &cases {
        let answer = mcp.whoami(token).await;
        answer.assert_invalid_token(token, what);
        let challenge = answer.www_authenticate.unwrap_or_default();
        match *what {
            "expired" => assert!(challenge.contains("expired"), "{what}: {challenge}"),
            "wrong audience" | "no audience" => assert!(
                challenge.contains("not issued for this resource"),
                "{what}: {challenge}"
            ),
            _ => {}
        }
    }
    // The valid token still works. Of the refused tokens only the orphan (an unknown kid)
    // caused a JWKS refresh; the others were refused before any key lookup or with the
    // cached keys.
    assert_eq!(mcp.whoami(&valid).await.status, 200);
    let refreshes = idp.count("jwks").await - before;
    assert_eq!(
        refreshes,
        1,
        "JWKS refreshes caused by {} refused tokens",
        cases.len()
    );
    eprintln!(
        "JWKS refreshes caused by {} refused tokens: {refreshes}",
        cases.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jku_and_jwk_headers_are_never_followed() {
    let idp = Idp::start().await;
    // An "attacker" key server that counts connections.
    let attacker = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attacker_url = format!("http://{}/jwks", attacker.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let accept = tokio::spawn(async move {
        while let Ok((_sock, _)) = attacker.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });

    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::discover(&idp.issuer)
            .audience(&resource)
            .build()
            .unwrap(),
    );
    let claims = json!({
        "iss": idp.issuer, "aud": resource, "scope": "mcp", "sub": "mallory",
        "exp": now() + 600,
    });
    let with_jku = forge(
        json!({ "alg": "RS256", "kid": "attacker-key", "jku": attacker_url, "x5u": attacker_url }),
        claims.clone(),
        "c2lnbmF0dXJl",
    );
    let with_jwk = forge(
        json!({ "alg": "RS256", "jwk": { "kty": "RSA", "n": "AQAB", "e": "AQAB" } }),
        claims,
        "c2lnbmF0dXJl",
    );
    mcp.whoami(&with_jku)
        .await
        .assert_invalid_token(&with_jku, "jku");
    mcp.whoami(&with_jwk)
        .await
        .assert_invalid_token(&with_jwk, "jwk");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    accept.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_url_static_keys_and_several_audiences() {
    let idp = Idp::start().await;
    let token_for = |aud: &str| TokenRequest::new("cli").scope("mcp").audience(aud);

    // A JWKS URL with an explicit issuer, accepting two audiences.
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::jwks(idp.jwks_uri())
            .issuer(&idp.issuer)
            .audiences([resource.as_str(), "api://notes"])
            .build()
            .unwrap(),
    );
    assert_eq!(
        mcp.whoami(&idp.token(&token_for(&resource)).await)
            .await
            .status,
        200
    );
    assert_eq!(
        mcp.whoami(&idp.token(&token_for("api://notes")).await)
            .await
            .status,
        200
    );
    let other = idp.token(&token_for("api://other")).await;
    mcp.whoami(&other)
        .await
        .assert_invalid_token(&other, "third audience");

    // A public key given in code (the IdP's JWK, copied out of band).
    let jwks: Value = reqwest::get(idp.jwks_uri())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = PublicKey::from_jwk(&jwks["keys"][0].to_string()).unwrap();
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::public_keys([key])
            .issuer(&idp.issuer)
            .audience(&resource)
            .build()
            .unwrap(),
    );
    assert_eq!(
        mcp.whoami(&idp.token(&token_for(&resource)).await)
            .await
            .status,
        200
    );
}

#[test]
fn configuration_mistakes_are_build_errors() {
    use mcp_auth::verify::{Algorithm, JwtConfigError};
    assert_eq!(
        JwtVerifier::discover("https://idp.example.com")
            .build()
            .unwrap_err(),
        JwtConfigError::NoAudience
    );
    assert_eq!(
        JwtVerifier::jwks("https://idp.example.com/jwks")
            .audience("a")
            .build()
            .unwrap_err(),
        JwtConfigError::NoIssuer
    );
    assert!(matches!(
        JwtVerifier::discover("http://idp.example.com")
            .audience("a")
            .build(),
        Err(JwtConfigError::Url(_))
    ));
    assert!(matches!(
        JwtVerifier::discover("https://idp.example.com")
            .audience("a")
            .algorithms([Algorithm::RS256, Algorithm::HS256])
            .build(),
        Err(JwtConfigError::Algorithms(_))
    ));
    assert_eq!(
        JwtVerifier::hmac(b"short")
            .issuer("i")
            .audience("a")
            .build()
            .unwrap_err(),
        JwtConfigError::WeakSecret
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_issuer_tokens_work_end_to_end() {
    let dev = DevIssuer::start().await.unwrap();
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(dev.verifier(&resource).build().unwrap());
    let user = DevUser::new("alice@example.com")
        .audience(&resource)
        .scopes(["mcp", "notes:read"])
        .roles(["admin"]);
    let answer = mcp.whoami(&dev.mint(&user)).await;
    assert_eq!(answer.identity()["sub"], "alice@example.com");
    assert_eq!(answer.strings("roles"), ["admin"]);
    assert_eq!(answer.strings("scopes"), ["mcp", "notes:read"]);
    let stranger = dev.mint(
        &DevUser::new("bob")
            .audience("https://elsewhere/mcp")
            .scopes(["mcp"]),
    );
    mcp.whoami(&stranger)
        .await
        .assert_invalid_token(&stranger, "dev token for another audience");

    // The same issuer's introspection endpoint, with an opaque token.
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let (id, secret) = dev.introspection_client();
    let mcp = slot.serve(
        Introspection::builder(dev.introspection_endpoint())
            .client_secret_basic(id, secret)
            .issuer(dev.issuer())
            .audience(&resource)
            .build()
            .unwrap(),
    );
    let opaque = dev.mint_opaque(&user.clone().audience(&resource));
    assert_eq!(
        mcp.whoami(&opaque).await.identity()["sub"],
        "alice@example.com"
    );
    mcp.whoami("dev-opaque-unknown")
        .await
        .assert_invalid_token("dev-opaque-unknown", "unknown opaque token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_of_api_keys_then_jwt_fails_closed() {
    use mcp_auth::{AccessToken, StaticTokens, verify::Chain};

    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let keys = StaticTokens::new().with_token(
        "sk-ci-bot-0123456789",
        AccessToken::builder("")
            .subject("ci-bot")
            .client_id("ci")
            .scopes(["mcp"]),
    );
    let jwt = JwtVerifier::discover(&idp.issuer)
        .audience(&resource)
        .build()
        .unwrap();
    let mcp = slot.serve(Chain::new().or(keys).or(jwt));

    assert_eq!(
        mcp.whoami("sk-ci-bot-0123456789").await.identity()["sub"],
        "ci-bot"
    );
    let token = idp
        .token(&TokenRequest::new("person").scope("mcp").audience(&resource))
        .await;
    assert_eq!(mcp.whoami(&token).await.identity()["sub"], "person");
    mcp.whoami("sk-unknown")
        .await
        .assert_invalid_token("sk-unknown", "neither an API key nor a JWT");

    // With the IdP gone, a JWT with a kid the cache lacks cannot be decided: the chain says
    // 503 (never "allow", never a plain 401), while API keys keep working.
    let orphan = idp
        .orphan_token(json!({ "aud": resource, "scope": "mcp" }))
        .await;
    idp.kill();
    let answer = mcp.whoami(&orphan).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(mcp.whoami("sk-ci-bot-0123456789").await.status, 200);
}
