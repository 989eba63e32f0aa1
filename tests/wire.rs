//! The exact wire answers of the bearer-first layer: status, `WWW-Authenticate` parameters,
//! JSON body, and the guarantee that a refused request never reaches a handler.

mod common;

use common::*;
use serde_json::{Value, json};

fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {body:?}"))
}

fn assert_json_error(headers: &reqwest::header::HeaderMap, body: &str, error: &str) -> Value {
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    let v = json_body(body);
    assert_eq!(v["error"], error, "body {v}");
    assert!(
        v["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "error_description missing in {v}"
    );
    v
}

#[test]
fn challenge_parser_handles_escapes_and_tokens() {
    let (scheme, p) = parse_challenge(
        r#"Bearer error="invalid_token", error_description="a \"quoted\" \\ thing, ok", realm=x"#,
    );
    assert_eq!(scheme, "Bearer");
    assert_eq!(
        p,
        map([
            ("error", "invalid_token"),
            ("error_description", r#"a "quoted" \ thing, ok"#),
            ("realm", "x"),
        ])
    );
}

#[tokio::test]
async fn no_token_gets_the_discovery_challenge_without_error() {
    let server = start().await;
    let requests = [
        server.modern_call(None, "whoami", json!({})),
        server.legacy_call(LEGACY_2025_06_18, None, None, "whoami", json!({})),
        server.legacy_initialize(LEGACY_2025_11_25, None),
        server
            .client
            .get(&server.url)
            .header("Accept", "text/event-stream"),
        server.client.delete(&server.url),
    ];
    for req in requests {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            challenge_of(&res),
            map([
                ("resource_metadata", server.metadata_url().as_str()),
                ("scope", "mcp"),
            ]),
            "no `error` parameter when no credentials were sent"
        );
        let (headers, body) = expect_status(res, 401).await;
        let v = assert_json_error(&headers, &body, "unauthorized");
        assert_eq!(
            v.as_object().unwrap().len(),
            2,
            "only error and error_description: {v}"
        );
    }
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn unknown_token_is_invalid_token() {
    let server = start().await;
    let res = server
        .modern_call(Some(&server.tokens.unknown), "whoami", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge_of(&res),
        map([
            ("error", "invalid_token"),
            ("error_description", "the access token is invalid"),
            ("resource_metadata", server.metadata_url().as_str()),
        ])
    );
    let (headers, body) = expect_status(res, 401).await;
    let v = assert_json_error(&headers, &body, "invalid_token");
    assert_eq!(v["error_description"], "the access token is invalid");
}

#[tokio::test]
async fn malformed_token_is_invalid_token() {
    let server = start().await;
    let res = server
        .modern_call(None, "whoami", json!({}))
        .header("Authorization", "Bearer has spaces \"and quotes\"")
        .send()
        .await
        .unwrap();
    let challenge = challenge_of(&res);
    assert_eq!(challenge["error"], "invalid_token");
    assert_eq!(challenge["resource_metadata"], server.metadata_url());
    let (headers, body) = expect_status(res, 401).await;
    assert_json_error(&headers, &body, "invalid_token");
    assert!(!dump(&headers, &body).contains("and quotes"));
}

#[tokio::test]
async fn expired_token_is_invalid_token() {
    let server = start().await;
    let res = server
        .modern_call(Some(&server.tokens.expired), "whoami", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge_of(&res),
        map([
            ("error", "invalid_token"),
            ("error_description", "the access token has expired"),
            ("resource_metadata", server.metadata_url().as_str()),
        ])
    );
    let (headers, body) = expect_status(res, 401).await;
    assert_json_error(&headers, &body, "invalid_token");
}

#[tokio::test]
async fn missing_baseline_scope_is_403_insufficient_scope() {
    let server = start().await;
    let res = server
        .modern_call(Some(&server.tokens.no_scope), "whoami", json!({}))
        .send()
        .await
        .unwrap();
    let challenge = challenge_of(&res);
    assert_eq!(
        challenge.keys().collect::<Vec<_>>(),
        ["error", "error_description", "resource_metadata", "scope"]
    );
    assert_eq!(challenge["error"], "insufficient_scope");
    assert_eq!(challenge["scope"], "mcp");
    assert_eq!(challenge["resource_metadata"], server.metadata_url());
    assert!(!challenge["error_description"].is_empty());
    let (headers, body) = expect_status(res, 403).await;
    let v = assert_json_error(&headers, &body, "insufficient_scope");
    assert_eq!(v["scope"], "mcp");
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn verifier_unavailable_is_503_with_retry_after() {
    let server = start_with(Options::default().unavailable()).await;
    let token = server.tokens.user(0).token.clone();
    for req in [
        server.modern_call(Some(&token), "whoami", json!({})),
        server.legacy_call(LEGACY_2025_06_18, Some(&token), None, "whoami", json!({})),
    ] {
        let res = req.send().await.unwrap();
        assert!(
            res.headers().get("www-authenticate").is_none(),
            "no challenge when the IdP is down: {:?}",
            res.headers()
        );
        let (headers, body) = expect_status(res, 503).await;
        assert_eq!(headers["retry-after"], "7");
        assert_json_error(&headers, &body, "temporarily_unavailable");
        assert!(!dump(&headers, &body).contains(&token));
    }
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn no_token_is_401_even_when_the_verifier_is_down() {
    let server = start_with(Options::default().unavailable()).await;
    let res = server
        .modern_call(None, "whoami", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge_of(&res),
        map([
            ("resource_metadata", server.metadata_url().as_str()),
            ("scope", "mcp"),
        ])
    );
    expect_status(res, 401).await;
}

/// The layer checks expiry itself, whatever the verifier says.
#[tokio::test]
async fn the_layer_refuses_an_expired_identity_from_a_careless_verifier() {
    let server = start_with(Options::default().returns_expired()).await;
    let res = server
        .modern_call(Some("anything-at-all"), "count", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge_of(&res),
        map([
            ("error", "invalid_token"),
            ("error_description", "the access token has expired"),
            ("resource_metadata", server.metadata_url().as_str()),
        ])
    );
    let (headers, body) = expect_status(res, 401).await;
    assert_json_error(&headers, &body, "invalid_token");
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let server = start().await;
    let user = server.tokens.user(1);
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let res = server
            .modern_call(None, "whoami", json!({}))
            .header("Authorization", format!("{scheme} {}", user.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "scheme {scheme}");
        assert_eq!(tool_text(&rpc_response(res).await), user.answer());
    }
}

#[tokio::test]
async fn other_schemes_get_the_no_token_challenge() {
    let server = start().await;
    for value in ["Basic dXNlcjpwYXNz", "Digest username=\"a\"", "Token abc"] {
        let res = server
            .modern_call(None, "whoami", json!({}))
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(
            challenge_of(&res),
            map([
                ("resource_metadata", server.metadata_url().as_str()),
                ("scope", "mcp"),
            ]),
            "{value}"
        );
        let (headers, body) = expect_status(res, 401).await;
        assert_json_error(&headers, &body, "invalid_request");
        assert!(!dump(&headers, &body).contains("dXNlcjpwYXNz"));
    }
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn valid_token_reaches_the_tool() {
    let server = start().await;
    let user = server.tokens.user(0);
    let res = server
        .modern_call(Some(&user.token), "whoami", json!({}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("www-authenticate").is_none());
    let (headers, body) = expect_status(res, 200).await;
    assert_eq!(headers["content-type"], "application/json");
    let v = parse_rpc_body("application/json", &body);
    assert_eq!(v["id"], 1);
    assert_eq!(tool_text(&v), user.answer());
}

/// Every rejection, and a success, with every token the server knows in play: no response
/// header or body ever contains a raw token.
#[tokio::test]
async fn tokens_are_never_echoed() {
    let server = start().await;
    let t = &server.tokens;
    let presented = [
        t.unknown.as_str(),
        t.expired.as_str(),
        t.no_scope.as_str(),
        t.user(0).token.as_str(),
    ];
    let mut responses = Vec::new();
    for token in presented {
        responses.push(
            server
                .modern_call(Some(token), "echo", json!({ "text": "hi" }))
                .send()
                .await
                .unwrap(),
        );
        responses.push(
            server
                .legacy_call(LEGACY_2025_11_25, Some(token), None, "whoami", json!({}))
                .send()
                .await
                .unwrap(),
        );
        // Token in the query string, and two Authorization headers.
        responses.push(
            server
                .client
                .post(format!("{}?access_token={token}", server.url))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .header("Authorization", format!("Bearer {token}"))
                .body("{}")
                .send()
                .await
                .unwrap(),
        );
        responses.push(
            server
                .post()
                .header("Authorization", format!("Bearer {token}"))
                .header("Authorization", format!("Bearer {token}x"))
                .body("{}")
                .send()
                .await
                .unwrap(),
        );
    }
    let unavailable = start_with(Options::default().unavailable()).await;
    responses.push(
        unavailable
            .modern_call(Some(&t.user(0).token), "whoami", json!({}))
            .send()
            .await
            .unwrap(),
    );
    let mut statuses = Vec::new();
    for res in responses {
        statuses.push(res.status().as_u16());
        let headers = res.headers().clone();
        let body = res.text().await.unwrap();
        let all = dump(&headers, &body);
        for raw in t.all_raw() {
            assert!(!all.contains(raw), "token leaked in {all}");
        }
    }
    assert_eq!(
        statuses,
        [
            401, 401, 400, 400, // unknown
            401, 401, 400, 400, // expired
            403, 403, 400, 400, // no scope
            200, 200, 400, 400, // valid
            503
        ]
    );
}

/// Rejected requests are answered by the layer alone: the tool that counts its calls never
/// runs, whatever the era, until a valid request arrives.
#[tokio::test]
async fn no_handler_runs_for_a_rejected_request() {
    let server = start().await;
    let t = &server.tokens;
    let mut rejected = Vec::new();
    let credentials: Vec<Option<String>> = vec![
        None,
        Some(format!("Bearer {}", t.unknown)),
        Some(format!("Bearer {}", t.expired)),
        Some(format!("Bearer {}", t.no_scope)),
        Some("Basic dXNlcjpwYXNz".into()),
        Some("Bearer ".into()),
        Some("Bearer a b".into()),
        Some(format!("Bearer {}", "a".repeat(9 * 1024))),
    ];
    for auth in &credentials {
        let mut modern = server.modern_call(None, "count", json!({}));
        let mut legacy = server.legacy_call(LEGACY_2025_06_18, None, None, "count", json!({}));
        if let Some(auth) = auth {
            modern = modern.header("Authorization", auth);
            legacy = legacy.header("Authorization", auth);
        }
        rejected.push(modern);
        rejected.push(legacy);
    }
    let valid = format!("Bearer {}", t.user(0).token);
    // A valid token, but sent in a way the layer refuses.
    rejected.push(
        server
            .client
            .post(format!("{}?access_token={}", server.url, t.user(0).token))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", MODERN)
            .header("Mcp-Method", "tools/call")
            .header("Mcp-Name", "count")
            .header("Authorization", &valid)
            .body(
                modern_body(1, "tools/call", json!({ "name": "count", "arguments": {} }))
                    .to_string(),
            ),
    );
    rejected.push(
        server
            .modern_call(None, "count", json!({}))
            .header("Authorization", &valid)
            .header("Authorization", &valid),
    );
    for req in rejected {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        assert!(
            [400, 401, 403, 431].contains(&status),
            "unexpected status {status}"
        );
    }
    assert_eq!(server.calls(), 0, "a handler ran for a rejected request");

    let res = server
        .modern_call(Some(&t.user(0).token), "count", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(tool_text(&rpc_response(res).await), "1");
    assert_eq!(server.calls(), 1);
}
