//! Malformed and hostile requests: every one gets a precise 4xx, never a 5xx, never a handler
//! run, and the server keeps answering.

mod common;

use common::*;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};

/// The layer's 400: `invalid_request` in the JSON body (and in the challenge, if any).
async fn assert_invalid_request(res: reqwest::Response) {
    if let Some(h) = res.headers().get("www-authenticate") {
        let (_, p) = parse_challenge(h.to_str().unwrap());
        assert_eq!(p["error"], "invalid_request", "{h:?}");
    }
    let (headers, body) = expect_status(res, 400).await;
    assert_eq!(headers["content-type"], "application/json");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "invalid_request", "{v}");
    assert!(v["error_description"].is_string());
}

/// The server still serves a normal call.
async fn assert_still_serving(server: &TestServer) {
    let user = server.tokens.user(0);
    let res = server
        .modern_call(Some(&user.token), "whoami", json!({}))
        .send()
        .await
        .expect("server still reachable");
    assert_eq!(res.status(), 200);
    assert_eq!(tool_text(&rpc_response(res).await), user.answer());
}

fn bearer_of(user: &Principal) -> String {
    format!("Bearer {}", user.token)
}

#[tokio::test]
async fn token_in_the_query_string_is_refused() {
    let server = start().await;
    let user = server.tokens.user(0).clone();
    for query in [
        format!("access_token={}", user.token),
        format!("x=1&access_token={}", user.token),
        format!("access%5Ftoken={}", user.token),
        "access_token".to_owned(),
    ] {
        let url = format!("{}?{query}", server.url);
        let body = modern_body(1, "tools/call", json!({ "name": "count", "arguments": {} }));
        let base = || {
            server
                .client
                .post(&url)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", MODERN)
                .header("Mcp-Method", "tools/call")
                .header("Mcp-Name", "count")
                .body(body.to_string())
        };
        // Alone, and together with a perfectly valid header.
        assert_invalid_request(base().send().await.unwrap()).await;
        assert_invalid_request(
            base()
                .header(AUTHORIZATION, bearer_of(&user))
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    assert_eq!(server.calls(), 0);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let server = start().await;
    let a = bearer_of(server.tokens.user(0));
    let b = bearer_of(server.tokens.user(1));
    for (first, second) in [(&a, &a), (&a, &b)] {
        let res = server
            .modern_call(None, "count", json!({}))
            .header(AUTHORIZATION, first)
            .header(AUTHORIZATION, second)
            .send()
            .await
            .unwrap();
        assert_invalid_request(res).await;
    }
    assert_eq!(server.calls(), 0);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn non_utf8_authorization_is_refused() {
    let server = start().await;
    for raw in [
        &b"Bearer \xff\xfe"[..],
        b"Bearer tok-\xc3\xa9",
        b"\xffBearer abc",
    ] {
        let res = server
            .modern_call(None, "count", json!({}))
            .header(AUTHORIZATION, HeaderValue::from_bytes(raw).unwrap())
            .send()
            .await
            .unwrap();
        assert_invalid_request(res).await;
    }
    assert_eq!(server.calls(), 0);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn oversized_authorization_is_431() {
    let server = start().await;
    let huge = format!("Bearer {}", "a".repeat(9 * 1024));
    let res = server
        .modern_call(None, "count", json!({}))
        .header(AUTHORIZATION, huge)
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("www-authenticate").is_none());
    let (headers, body) = expect_status(res, 431).await;
    assert_eq!(headers["content-type"], "application/json");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "invalid_request");
    assert!(!body.contains("aaaaaaaa"));
    assert_eq!(server.calls(), 0);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn the_authorization_cap_is_8_kib_inclusive() {
    let server = start().await;
    let value = |len: usize| format!("Bearer {}", "b".repeat(len - "Bearer ".len()));
    let res = server
        .modern_call(None, "count", json!({}))
        .header(AUTHORIZATION, value(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "8192 bytes is within the cap");
    assert_eq!(challenge_of(&res)["error"], "invalid_token");
    let res = server
        .modern_call(None, "count", json!({}))
        .header(AUTHORIZATION, value(8 * 1024 + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 431);
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn empty_bearer_is_refused() {
    let server = start().await;
    for value in ["Bearer ", "Bearer", "bearer     "] {
        let res = server
            .modern_call(None, "count", json!({}))
            .header(AUTHORIZATION, value)
            .send()
            .await
            .unwrap();
        assert_invalid_request(res).await;
    }
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn everything_under_the_endpoint_is_protected() {
    let server = start().await;
    for path in [
        "/mcp",
        "/mcp/",
        "/mcp/anything",
        "/mcp?x=1",
        "/mcp/.well-known/x",
    ] {
        let res = server
            .client
            .post(format!("{}{path}", server.base))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert_eq!(
            challenge_of(&res),
            map([
                ("resource_metadata", server.metadata_url().as_str()),
                ("scope", "mcp"),
            ]),
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Authenticated but malformed
// ---------------------------------------------------------------------------------------------

/// An authenticated modern POST with the given content type and body.
async fn authed_post(server: &TestServer, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    server
        .client
        .post(&server.url)
        .header("Content-Type", content_type)
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", MODERN)
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", "count")
        .header(AUTHORIZATION, bearer_of(server.tokens.user(0)))
        .body(body)
        .send()
        .await
        .unwrap()
}

fn assert_client_error(status: reqwest::StatusCode, what: &str) {
    assert!(
        status.is_client_error(),
        "{what}: expected 4xx, got {status}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_4xx_never_5xx() {
    let server = start().await;
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "invalid JSON",
            "application/json",
            b"{\"jsonrpc\": \"2.0\", ".to_vec(),
        ),
        ("empty body", "application/json", Vec::new()),
        (
            "JSON but not JSON-RPC",
            "application/json",
            b"[1, 2, 3]".to_vec(),
        ),
        (
            "not UTF-8",
            "application/json",
            vec![0xff, 0xfe, 0x00, 0x7b],
        ),
        (
            "wrong content type",
            "text/plain",
            modern_body(1, "tools/call", json!({ "name": "count", "arguments": {} }))
                .to_string()
                .into_bytes(),
        ),
        (
            "form content type",
            "application/x-www-form-urlencoded",
            b"a=b".to_vec(),
        ),
    ];
    for (what, content_type, body) in cases {
        let res = authed_post(&server, content_type, body).await;
        assert_client_error(res.status(), what);
        if content_type != "application/json" {
            assert_eq!(res.status(), 415, "{what}");
        }
    }
    assert_eq!(server.calls(), 0);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn a_5_mib_body_is_413() {
    let server = start().await;
    let mut big = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 5 * 1024 * 1024));
    big.extend(br#""}}}"#);
    match server
        .client
        .post(&server.url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", LEGACY_2025_11_25)
        .header(AUTHORIZATION, bearer_of(server.tokens.user(0)))
        .body(big)
        .send()
        .await
    {
        Ok(res) => assert_eq!(res.status(), 413),
        // The server may answer and close before the client finished writing.
        Err(e) => panic!("no response to the oversized body: {e}"),
    }
    assert_eq!(server.calls(), 0);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn foreign_host_is_refused_after_authentication() {
    let server = start().await;
    // No token: the layer answers first, whatever the Host.
    let res = server
        .modern_call(None, "count", json!({}))
        .header("Host", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A valid token does not lift rmcp's DNS-rebinding protection.
    let res = server
        .modern_call(Some(&server.tokens.user(0).token), "count", json!({}))
        .header("Host", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(server.calls(), 0);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn missing_accept_is_406() {
    let server = start().await;
    let res = server
        .client
        .post(&server.url)
        .header("Content-Type", "application/json")
        .header("MCP-Protocol-Version", MODERN)
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", "count")
        .header(AUTHORIZATION, bearer_of(server.tokens.user(0)))
        .body(modern_body(1, "tools/call", json!({ "name": "count", "arguments": {} })).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 406);
    assert_eq!(server.calls(), 0);
}

// ---------------------------------------------------------------------------------------------
// Malformed Mcp-Session-Id
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_session_ids_in_session_mode() {
    let server = start_with(Options::default().legacy_sessions(true)).await;
    let user = server.tokens.user(0).clone();
    let session = server.open_session(LEGACY_2025_11_25, &user.token).await;
    let call = || {
        server.legacy_call(
            LEGACY_2025_11_25,
            Some(&user.token),
            None,
            "count",
            json!({}),
        )
    };

    // Not visible ASCII.
    let res = call()
        .header(
            "Mcp-Session-Id",
            HeaderValue::from_bytes(b"\xff\xfe-sid").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_invalid_request(res).await;

    // Two session ids, even if one is the caller's own.
    let res = call()
        .header("Mcp-Session-Id", &session)
        .header("Mcp-Session-Id", "other")
        .send()
        .await
        .unwrap();
    assert_invalid_request(res).await;

    // Garbage that is at least ASCII: an unknown session.
    for garbage in ["", "../../etc/passwd", &"z".repeat(4096), "\"quoted\""] {
        let res = call()
            .header("Mcp-Session-Id", garbage)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let (_, body) = expect_status(res, status.as_u16()).await;
        assert!(
            status == 404 || status == 400,
            "{garbage:?}: expected 404 or 400, got {status}: {body}"
        );
    }
    assert_eq!(server.calls(), 0);

    // The real session still works.
    let res = call()
        .header("Mcp-Session-Id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(tool_text(&rpc_response(res).await), "1");
}

#[tokio::test]
async fn malformed_session_ids_on_a_stateless_server() {
    let server = start().await;
    let user = server.tokens.user(0).clone();
    for value in [
        HeaderValue::from_bytes(b"\xff\xfe-sid").unwrap(),
        HeaderValue::from_static("not-a-session"),
    ] {
        let res = server
            .modern_call(Some(&user.token), "whoami", json!({}))
            .header("Mcp-Session-Id", value.clone())
            .send()
            .await
            .unwrap();
        assert!(
            !res.status().is_server_error(),
            "{value:?}: {}",
            res.status()
        );
    }
    assert_still_serving(&server).await;
}
