//! Legacy `Mcp-Session-Id`s are bound to the principal that created them: anyone else, and
//! any unknown or deleted id, gets the same 404 and no handler runs.

mod common;

use common::*;
use serde_json::{Value, json};

const V: &str = LEGACY_2025_11_25;

async fn session_server() -> TestServer {
    start_with(Options::default().legacy_sessions(true)).await
}

/// A `tools/call` of `count` in `session` by `token`.
async fn count_in(server: &TestServer, token: &str, session: &str) -> reqwest::Response {
    server
        .legacy_call(V, Some(token), Some(session), "count", json!({}))
        .send()
        .await
        .unwrap()
}

/// Assert the layer's 404 for a session that is not this caller's; returns the body.
async fn assert_session_not_found(res: reqwest::Response) -> Value {
    assert!(
        res.headers().get("www-authenticate").is_none(),
        "a session refusal is not an auth challenge"
    );
    let (headers, body) = expect_status(res, 404).await;
    assert_eq!(headers["content-type"], "application/json");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "session_not_found", "{v}");
    assert!(v["error_description"].is_string());
    v
}

#[tokio::test]
async fn the_owner_can_use_its_session() {
    let server = session_server().await;
    let a = server.tokens.user(0).clone();
    let session = server.open_session(V, &a.token).await;
    let res = server
        .legacy_call(V, Some(&a.token), Some(&session), "whoami", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(tool_text(&rpc_response(res).await), a.answer());
    let res = count_in(&server, &a.token, &session).await;
    assert_eq!(res.status(), 200);
    assert_eq!(tool_text(&rpc_response(res).await), "2");
}

#[tokio::test]
async fn another_principal_cannot_use_the_session() {
    let server = session_server().await;
    let a = server.tokens.user(0).clone();
    let b = server.tokens.user(1).clone();
    let twin = server.tokens.twin.clone();
    let session = server.open_session(V, &a.token).await;
    assert_eq!(server.calls(), 0);

    // POST, GET (standalone stream) and DELETE by B, and by A's subject on another client.
    for intruder in [&b.token, &twin.token] {
        assert_session_not_found(count_in(&server, intruder, &session).await).await;
        let get = server
            .client
            .get(&server.url)
            .header("Accept", "text/event-stream")
            .header("MCP-Protocol-Version", V)
            .header("Mcp-Session-Id", &session)
            .header("Authorization", format!("Bearer {intruder}"))
            .send()
            .await
            .unwrap();
        assert_session_not_found(get).await;
        let delete = server
            .client
            .delete(&server.url)
            .header("MCP-Protocol-Version", V)
            .header("Mcp-Session-Id", &session)
            .header("Authorization", format!("Bearer {intruder}"))
            .send()
            .await
            .unwrap();
        assert_session_not_found(delete).await;
    }
    assert_eq!(server.calls(), 0, "an intruder's call ran");

    // The intruders' DELETEs did not end A's session.
    let res = count_in(&server, &a.token, &session).await;
    assert_eq!(res.status(), 200);
    assert_eq!(tool_text(&rpc_response(res).await), "1");
}

#[tokio::test]
async fn unknown_session_looks_exactly_like_someone_elses() {
    let server = session_server().await;
    let a = server.tokens.user(0).clone();
    let b = server.tokens.user(1).clone();
    let session = server.open_session(V, &a.token).await;

    let foreign = assert_session_not_found(count_in(&server, &b.token, &session).await).await;
    let unknown = assert_session_not_found(
        count_in(&server, &b.token, "00000000-0000-0000-0000-000000000000").await,
    )
    .await;
    assert_eq!(
        foreign, unknown,
        "no oracle for other principals' session ids"
    );
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn a_session_id_is_not_a_credential() {
    let server = session_server().await;
    let a = server.tokens.user(0).clone();
    let session = server.open_session(V, &a.token).await;
    let res = server
        .legacy_call(V, None, Some(&session), "count", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenge = challenge_of(&res);
    assert_eq!(challenge["resource_metadata"], server.metadata_url());
    assert!(!challenge.contains_key("error"));
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn a_deleted_session_is_gone() {
    let server = session_server().await;
    let a = server.tokens.user(0).clone();
    let session = server.open_session(V, &a.token).await;
    let res = count_in(&server, &a.token, &session).await;
    assert_eq!(res.status(), 200);
    drop(res);

    let delete = server
        .client
        .delete(&server.url)
        .header("MCP-Protocol-Version", V)
        .header("Mcp-Session-Id", &session)
        .header("Authorization", format!("Bearer {}", a.token))
        .send()
        .await
        .unwrap();
    assert!(
        delete.status().is_success(),
        "DELETE by the owner: {}",
        delete.status()
    );

    assert_session_not_found(count_in(&server, &a.token, &session).await).await;
    assert_eq!(server.calls(), 1);

    // A new session works.
    let fresh = server.open_session(V, &a.token).await;
    assert_ne!(fresh, session);
    let res = count_in(&server, &a.token, &fresh).await;
    assert_eq!(res.status(), 200);
    assert_eq!(tool_text(&rpc_response(res).await), "2");
}
