//! The RFC 7662 `Introspection` verifier against a real authorization server's introspection
//! endpoint (oauth2-mock-server with a real `/introspect`, see `common/idp.rs`): client
//! authentication, active / inactive / revoked / expired tokens, and the cache, observed through
//! the IdP's own request counts.

#[path = "common/idp.rs"]
mod idp;

use std::time::{Duration, Instant};

use idp::{CLIENT_ID, CLIENT_SECRET, Idp, Mcp, TokenRequest, free_port};
use mcp_auth::{
    Introspection,
    verify::{ClaimMapping, HttpOptions, IntrospectionConfigError},
};
use serde_json::json;

fn opaque(resource: &str) -> TokenRequest {
    TokenRequest::new("notes-cli")
        .scope("mcp notes:read")
        .audience(resource)
        .claims(json!({ "realm_access": { "roles": ["editor"] } }))
        .opaque()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_token_is_allowed_with_identity_and_cached() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        Introspection::builder(idp.introspection_endpoint())
            .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
            .issuer(&idp.issuer)
            .audience(&resource)
            .claims(ClaimMapping::keycloak())
            .build()
            .unwrap(),
    );
    let token = idp.token(&opaque(&resource)).await;
    assert!(token.starts_with("opaque-"), "an opaque token, not a JWT");
    let answer = mcp.whoami(&token).await;
    assert_eq!(answer.identity()["sub"], "notes-cli");
    assert_eq!(answer.identity()["client_id"], "notes-cli");
    assert_eq!(answer.strings("scopes"), ["mcp", "notes:read"]);
    assert_eq!(answer.strings("roles"), ["editor"]);
    for _ in 0..5 {
        assert_eq!(mcp.whoami(&token).await.status, 200);
    }
    assert_eq!(
        idp.count("introspect").await,
        1,
        "answers come from the cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_and_jwt_access_tokens() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        Introspection::builder(idp.introspection_endpoint())
            .client_secret_post(CLIENT_ID, CLIENT_SECRET)
            .audience(&resource)
            .build()
            .unwrap(),
    );
    // Introspection works for the IdP's JWTs too (no local key handling).
    let jwt = idp
        .token(
            &TokenRequest::new("jwt-cli")
                .scope("mcp")
                .audience(&resource),
        )
        .await;
    assert_eq!(jwt.split('.').count(), 3);
    assert_eq!(mcp.whoami(&jwt).await.identity()["sub"], "jwt-cli");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_tokens_are_401_and_briefly_remembered() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        Introspection::builder(idp.introspection_endpoint())
            .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
            .audience(&resource)
            .negative_ttl(Duration::from_millis(800))
            .build()
            .unwrap(),
    );
    let unknown = "opaque-never-issued";
    for _ in 0..3 {
        mcp.whoami(unknown)
            .await
            .assert_invalid_token(unknown, "inactive token");
    }
    assert_eq!(idp.count("introspect").await, 1, "negative answer cached");
    tokio::time::sleep(Duration::from_millis(900)).await;
    mcp.whoami(unknown)
        .await
        .assert_invalid_token(unknown, "inactive token");
    assert_eq!(
        idp.count("introspect").await,
        2,
        "negative cache entry expired"
    );

    // Active, but issued for another resource, or by another issuer.
    let elsewhere = idp.token(&opaque("https://other.example.com/mcp")).await;
    let answer = mcp.whoami(&elsewhere).await;
    answer.assert_invalid_token(&elsewhere, "other audience");
    assert!(
        answer
            .www_authenticate
            .unwrap()
            .contains("not issued for this resource")
    );
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let strict = slot.serve(
        Introspection::builder(idp.introspection_endpoint())
            .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
            .issuer("https://another-issuer.example.com")
            .audience(&resource)
            .build()
            .unwrap(),
    );
    let token = idp.token(&opaque(&resource)).await;
    strict
        .whoami(&token)
        .await
        .assert_invalid_token(&token, "other issuer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_takes_effect_when_the_cache_entry_ends() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        Introspection::builder(idp.introspection_endpoint())
            .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
            .audience(&resource)
            .cache(100, Duration::from_secs(1))
            .build()
            .unwrap(),
    );
    let token = idp.token(&opaque(&resource)).await;
    assert_eq!(mcp.whoami(&token).await.status, 200);
    idp.revoke(&token).await;
    assert_eq!(mcp.whoami(&token).await.status, 200, "cached answer");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    mcp.whoami(&token)
        .await
        .assert_invalid_token(&token, "revoked token after the cache lifetime");
    assert_eq!(idp.count("introspect").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_is_never_served_past_its_expiry() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        Introspection::builder(idp.introspection_endpoint())
            .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
            .audience(&resource)
            .cache(100, Duration::from_secs(600))
            .build()
            .unwrap(),
    );
    let token = idp.token(&opaque(&resource).expires_in(2)).await;
    assert_eq!(mcp.whoami(&token).await.status, 200);
    assert_eq!(mcp.whoami(&token).await.status, 200);
    assert_eq!(idp.count("introspect").await, 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    mcp.whoami(&token)
        .await
        .assert_invalid_token(&token, "expired while cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_trouble_is_503_never_allow() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let token = idp.token(&opaque(&resource)).await;

    // The IdP refuses this server's own credentials: a server problem, not the caller's.
    let mcp = slot.serve(
        Introspection::builder(idp.introspection_endpoint())
            .client_secret_basic(CLIENT_ID, "wrong-secret")
            .audience(&resource)
            .build()
            .unwrap(),
    );
    let answer = mcp.whoami(&token).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.retry_after.is_some());

    // Nothing listening: 503 at once.
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let down = slot.serve(
        Introspection::builder(format!("http://127.0.0.1:{}/introspect", free_port()))
            .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
            .audience(&resource)
            .http(HttpOptions::default().timeout(Duration::from_secs(2)))
            .build()
            .unwrap(),
    );
    let started = Instant::now();
    assert_eq!(down.whoami(&token).await.status, 503);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn configuration_mistakes_are_build_errors() {
    assert_eq!(
        Introspection::builder("https://idp.example.com/introspect")
            .audience("a")
            .build()
            .unwrap_err(),
        IntrospectionConfigError::NoClientAuth
    );
    assert_eq!(
        Introspection::builder("https://idp.example.com/introspect")
            .client_secret_basic("id", "secret")
            .build()
            .unwrap_err(),
        IntrospectionConfigError::NoAudience
    );
    assert!(matches!(
        Introspection::builder("http://idp.example.com/introspect")
            .client_secret_basic("id", "secret")
            .audience("a")
            .build(),
        Err(IntrospectionConfigError::Url(_))
    ));
}
