//! RFC 9728 Protected Resource Metadata over HTTP, and the build errors of `AuthServer`.

mod common;

use common::*;
use mcp_auth::{AuthServer, BuildError, StaticTokens};
use serde_json::{Value, json};

fn expected_document(server: &TestServer) -> Value {
    json!({
        "resource": server.url,
        "authorization_servers": [AUTH_SERVER],
        "scopes_supported": ["mcp"],
        "bearer_methods_supported": ["header"],
    })
}

fn metadata_paths(server: &TestServer) -> [String; 2] {
    [
        server.metadata_url(),
        format!("{}/.well-known/oauth-protected-resource", server.base),
    ]
}

#[tokio::test]
async fn get_serves_the_exact_document_at_both_paths() {
    let server = start().await;
    for url in metadata_paths(&server) {
        let res = server.client.get(&url).send().await.unwrap();
        let (headers, body) = expect_status(res, 200).await;
        assert_eq!(headers["content-type"], "application/json", "{url}");
        assert_eq!(headers["access-control-allow-origin"], "*", "{url}");
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc, expected_document(&server), "{url}");
    }
}

#[tokio::test]
async fn no_authentication_is_needed_even_with_bad_credentials() {
    let server = start().await;
    for auth in ["Bearer nope", "Basic dXNlcjpwYXNz", "Bearer "] {
        let res = server
            .client
            .get(server.metadata_url())
            .header("Authorization", auth)
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("www-authenticate").is_none());
        let (_, body) = expect_status(res, 200).await;
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            expected_document(&server)
        );
    }
}

#[tokio::test]
async fn head_answers_200_with_an_empty_body() {
    let server = start().await;
    for url in metadata_paths(&server) {
        let res = server.client.head(&url).send().await.unwrap();
        let (headers, body) = expect_status(res, 200).await;
        assert_eq!(headers["content-type"], "application/json", "{url}");
        assert_eq!(headers["access-control-allow-origin"], "*", "{url}");
        assert!(body.is_empty(), "HEAD body must be empty: {body:?}");
    }
}

#[tokio::test]
async fn options_preflight_is_open() {
    let server = start().await;
    for url in metadata_paths(&server) {
        let res = server
            .client
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", "https://client.example.org")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "mcp-protocol-version")
            .send()
            .await
            .unwrap();
        let (headers, body) = expect_status(res, 204).await;
        assert!(body.is_empty());
        assert_eq!(headers["access-control-allow-origin"], "*", "{url}");
        let methods = headers["access-control-allow-methods"].to_str().unwrap();
        let methods: Vec<&str> = methods.split(',').map(str::trim).collect();
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert!(methods.contains(&m), "{m} not allowed: {methods:?}");
        }
        assert!(headers.contains_key("access-control-allow-headers"));
    }
}

#[tokio::test]
async fn resource_name_and_documentation_are_published() {
    let server = start_with(
        Options::default()
            .resource_name("Notes \"test\" server")
            .resource_documentation("https://docs.example.com/notes"),
    )
    .await;
    let res = server
        .client
        .get(server.metadata_url())
        .send()
        .await
        .unwrap();
    let (_, body) = expect_status(res, 200).await;
    let mut expected = expected_document(&server);
    expected["resource_name"] = json!("Notes \"test\" server");
    expected["resource_documentation"] = json!("https://docs.example.com/notes");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), expected);
}

#[tokio::test]
async fn the_challenge_points_at_the_document() {
    let server = start().await;
    let res = server
        .modern_call(None, "whoami", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let url = challenge_of(&res)["resource_metadata"].clone();
    assert!(url.starts_with("http://127.0.0.1:"), "absolute URL: {url}");
    let res = server.client.get(&url).send().await.unwrap();
    let (_, body) = expect_status(res, 200).await;
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc, expected_document(&server));
    assert_eq!(doc["resource"], server.url);
}

// ---------------------------------------------------------------------------------------------
// Build errors
// ---------------------------------------------------------------------------------------------

fn base() -> AuthServer<TestTools> {
    AuthServer::new(TestTools::new(Default::default()))
        .verifier(StaticTokens::new())
        .resource("http://127.0.0.1:8000/mcp")
        .authorization_server(AUTH_SERVER)
        .required_scopes([BASELINE])
}

fn build_error(server: AuthServer<TestTools>) -> BuildError {
    match server.into_router() {
        Ok(_) => panic!("the build should have failed"),
        Err(e) => e,
    }
}

#[test]
fn a_complete_configuration_builds() {
    assert!(base().into_router().is_ok());
}

#[test]
fn missing_authorization_server_is_refused() {
    let server = AuthServer::new(TestTools::new(Default::default()))
        .verifier(StaticTokens::new())
        .resource("http://127.0.0.1:8000/mcp");
    assert_eq!(build_error(server), BuildError::NoAuthorizationServer);
}

#[test]
fn invalid_authorization_server_is_refused() {
    for bad in ["idp.example.com", "/issuer", "ftp://idp.example.com"] {
        let server = AuthServer::new(TestTools::new(Default::default()))
            .verifier(StaticTokens::new())
            .resource("http://127.0.0.1:8000/mcp")
            .authorization_server(bad);
        assert!(
            matches!(
                build_error(server),
                BuildError::InvalidAuthorizationServer(_)
            ),
            "{bad}"
        );
    }
}

#[test]
fn missing_or_invalid_resource_is_refused() {
    let no_resource = AuthServer::new(TestTools::new(Default::default()))
        .verifier(StaticTokens::new())
        .authorization_server(AUTH_SERVER);
    assert_eq!(build_error(no_resource), BuildError::NoResource);

    for bad in [
        "/mcp",
        "mcp",
        "not a url",
        "ftp://example.com/mcp",
        "https://example.com/mcp#fragment",
        "https://example.com/mcp?x=1",
        "https://user:pass@example.com/mcp",
        "http://public.example.com/mcp",
    ] {
        let err = build_error(base().resource(bad));
        assert!(
            matches!(err, BuildError::InvalidResource(_)),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn missing_verifier_is_refused() {
    let server = AuthServer::new(TestTools::new(Default::default()))
        .resource("http://127.0.0.1:8000/mcp")
        .authorization_server(AUTH_SERVER);
    assert_eq!(build_error(server), BuildError::NoVerifier);
}

#[test]
fn invalid_scope_is_refused() {
    let err = build_error(base().required_scopes(["two words"]));
    assert_eq!(err, BuildError::InvalidScope("two words".into()));
}
