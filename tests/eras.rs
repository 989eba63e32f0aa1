//! Both protocol eras through the layer: legacy (`initialize`, optional sessions) and the
//! stateless 2026-07-28 revision (`Mcp-Method`/`Mcp-Name` headers and `_meta`), in JSON and
//! SSE response modes.

mod common;

use common::*;
use serde_json::{Value, json};

const TOOLS: [&str; 5] = ["count", "echo", "slow_whoami", "whoami", "whoami_ctx"];

fn tool_names(message: &Value) -> Vec<String> {
    let mut names: Vec<String> = message["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {message}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn assert_server_info(info: &Value) {
    assert_eq!(info["name"], SERVER_NAME, "serverInfo {info}");
    assert_eq!(info["version"], SERVER_VERSION, "serverInfo {info}");
}

/// `whoami`, `whoami_ctx`, `slow_whoami` and `echo` through `call`, which sends one
/// `tools/call` and returns the JSON-RPC answer.
async fn assert_tools_answer<F, Fut>(user: &Principal, call: F)
where
    F: Fn(&'static str, Value) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    for tool in ["whoami", "whoami_ctx", "slow_whoami"] {
        assert_eq!(
            tool_text(&call(tool, json!({})).await),
            user.answer(),
            "{tool}"
        );
    }
    let echoed = call("echo", json!({ "text": "héllo \"world\"" })).await;
    assert_eq!(tool_text(&echoed), "héllo \"world\"");
}

// ---------------------------------------------------------------------------------------------
// Legacy era, stateless server (the default)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn legacy_initialize_reports_the_configured_name() {
    let server = start().await;
    let user = server.tokens.user(0);
    for version in [LEGACY_2025_06_18, LEGACY_2025_11_25] {
        let res = server
            .legacy_initialize(version, Some(&user.token))
            .send()
            .await
            .unwrap();
        assert!(
            res.headers().get("mcp-session-id").is_none(),
            "a stateless server opens no session"
        );
        let (headers, body) = expect_status(res, 200).await;
        assert_eq!(headers["content-type"], "application/json");
        let v = parse_rpc_body("application/json", &body);
        assert_eq!(v["id"], 1);
        assert_eq!(v["result"]["protocolVersion"], version);
        assert_server_info(&v["result"]["serverInfo"]);
        assert_ne!(v["result"]["serverInfo"]["name"], "rmcp");
    }
}

#[tokio::test]
async fn legacy_stateless_lists_and_calls_tools() {
    let server = start().await;
    let user = server.tokens.user(1).clone();
    for version in [LEGACY_2025_06_18, LEGACY_2025_11_25] {
        let res = server
            .legacy(
                version,
                Some(&user.token),
                None,
                rpc(7, "tools/list", json!({})),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let list = rpc_response(res).await;
        assert_eq!(list["id"], 7);
        assert_eq!(tool_names(&list), TOOLS);

        assert_tools_answer(&user, |tool, args| {
            let req = server.legacy_call(version, Some(&user.token), None, tool, args);
            async move {
                let res = req.send().await.unwrap();
                assert_eq!(res.status(), 200);
                rpc_response(res).await
            }
        })
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// 2026-07-28 era
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn modern_stateless_lists_and_calls_tools() {
    let server = start().await;
    let user = server.tokens.user(2).clone();
    let res = server
        .modern(Some(&user.token), "tools/list", None, json!({}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("mcp-session-id").is_none());
    let (headers, body) = expect_status(res, 200).await;
    assert_eq!(headers["content-type"], "application/json");
    let list = parse_rpc_body("application/json", &body);
    assert_eq!(tool_names(&list), TOOLS);
    // A list may depend on the caller: never cacheable across tokens.
    assert_eq!(list["result"]["cacheScope"], "private", "{list}");

    assert_tools_answer(&user, |tool, args| {
        let req = server.modern_call(Some(&user.token), tool, args);
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            rpc_response(res).await
        }
    })
    .await;
}

#[tokio::test]
async fn modern_discover_reports_the_configured_name() {
    let server = start().await;
    let user = server.tokens.user(0);
    let res = server
        .modern(Some(&user.token), "server/discover", None, json!({}))
        .send()
        .await
        .unwrap();
    let (_, body) = expect_status(res, 200).await;
    let v = parse_rpc_body("application/json", &body);
    let result = &v["result"];
    assert!(
        result["supportedVersions"]
            .as_array()
            .is_some_and(|vs| vs.contains(&json!(MODERN))),
        "{v}"
    );
    assert_server_info(&result["_meta"]["io.modelcontextprotocol/serverInfo"]);
}

#[tokio::test]
async fn modern_header_body_mismatch_is_still_refused() {
    let server = start().await;
    let user = server.tokens.user(0);
    // Mcp-Name says `echo`, the body calls `whoami`.
    let res = server
        .modern(
            Some(&user.token),
            "tools/call",
            Some("echo"),
            json!({ "name": "whoami", "arguments": {} }),
        )
        .send()
        .await
        .unwrap();
    let (_, body) = expect_status(res, 400).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32020, "{v}");
    assert_eq!(server.calls(), 0);
}

// ---------------------------------------------------------------------------------------------
// SSE responses (json_response = false)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sse_mode_answers_both_eras() {
    let server = start_with(Options::default().json_response(false)).await;
    let user = server.tokens.user(3).clone();

    let modern = server
        .modern_call(Some(&user.token), "whoami_ctx", json!({}))
        .send()
        .await
        .unwrap();
    let legacy = server
        .legacy_call(
            LEGACY_2025_11_25,
            Some(&user.token),
            None,
            "whoami",
            json!({}),
        )
        .send()
        .await
        .unwrap();
    for res in [modern, legacy] {
        let (headers, body) = expect_status(res, 200).await;
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream"),
            "{headers:?}"
        );
        assert!(body.contains("data:"), "{body:?}");
        let message = parse_rpc_body("text/event-stream", &body);
        assert_eq!(tool_text(&message), user.answer());
    }

    let res = server
        .legacy_initialize(LEGACY_2025_06_18, Some(&user.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_server_info(&rpc_response(res).await["result"]["serverInfo"]);
}

// ---------------------------------------------------------------------------------------------
// Legacy session mode
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn legacy_session_mode_issues_and_honours_session_ids() {
    let server = start_with(Options::default().legacy_sessions(true)).await;
    let user = server.tokens.user(0).clone();
    for version in [LEGACY_2025_06_18, LEGACY_2025_11_25] {
        let res = server
            .legacy_initialize(version, Some(&user.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let session = res
            .headers()
            .get("mcp-session-id")
            .expect("Mcp-Session-Id on initialize")
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!session.is_empty());
        let init = rpc_response(res).await;
        assert_server_info(&init["result"]["serverInfo"]);

        let res = server
            .legacy(
                version,
                Some(&user.token),
                Some(&session),
                json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);

        let res = server
            .legacy(
                version,
                Some(&user.token),
                Some(&session),
                rpc(3, "tools/list", json!({})),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(tool_names(&rpc_response(res).await), TOOLS);

        assert_tools_answer(&user, |tool, args| {
            let req = server.legacy_call(version, Some(&user.token), Some(&session), tool, args);
            async move {
                let res = req.send().await.unwrap();
                assert_eq!(res.status(), 200);
                rpc_response(res).await
            }
        })
        .await;
    }
}

#[tokio::test]
async fn legacy_session_mode_still_serves_stateless_modern_requests() {
    let server = start_with(Options::default().legacy_sessions(true)).await;
    let user = server.tokens.user(1);
    let res = server
        .modern_call(Some(&user.token), "whoami", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("mcp-session-id").is_none());
    assert_eq!(tool_text(&rpc_response(res).await), user.answer());
}
