//! Rate limits over real HTTP: per item (`#[tool(rate = "3/min")]`, also on prompts and
//! resources) in both protocol eras, per principal and per client address on the builder, and
//! in the generated handler on a transport without HTTP. Limits are keyed by principal, never
//! by the raw token: two tokens of one principal share a budget.

mod common;
mod hardening;

use std::time::Duration;

use common::{rpc, rpc_response};
use hardening::{
    Limited, User, assert_429, call, client, client_from, json_of, keys, legacy, legacy_call,
    modern, serve, server,
};
use mcp_auth::rmcp::{ServiceExt, model::CallToolRequestParams};
use mcp_auth::{AccessToken, Authenticated, BuildError, Rate, RateError};
use serde_json::json;

#[tokio::test]
async fn a_tool_rate_answers_429_before_the_handler() {
    let (alice, bob) = (User::new("alice"), User::new("bob"));
    let alice2 = alice.second_token();
    let handler = Limited::default();
    let h = handler.clone();
    let s = serve(|url| server(h, url).verifier(keys(&[&alice, &alice2, &bob], &[], &[]))).await;
    let c = client();

    for _ in 0..3 {
        let res = call(&c, &s.url, Some(&alice.token), "ping")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(handler.calls(), 3);
    let res = call(&c, &s.url, Some(&alice.token), "ping")
        .send()
        .await
        .unwrap();
    let secs = assert_429(res, "rate_limited", 20).await;
    assert!(secs >= 19, "3/min refills one call every 20 s, got {secs}");
    assert_eq!(handler.calls(), 3, "no handler ran for the refused call");

    // Keyed by principal: another token of alice shares her budget...
    let res = call(&c, &s.url, Some(&alice2.token), "ping")
        .send()
        .await
        .unwrap();
    assert_429(res, "rate_limited", 20).await;
    // ...and the older protocol, whose target is read from the body, too.
    let res = legacy_call(&c, &s.url, Some(&alice.token), "ping")
        .send()
        .await
        .unwrap();
    assert_429(res, "rate_limited", 20).await;
    // Bob has his own; unrated tools are unaffected.
    let res = call(&c, &s.url, Some(&bob.token), "ping")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = call(&c, &s.url, Some(&alice.token), "free")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(handler.calls(), 5);
}

#[tokio::test]
async fn scopes_and_roles_are_checked_before_the_rate() {
    let writer = User::new("writer");
    let reader = User::new("reader");
    let mut verifier = keys(&[&writer], &["notes:write"], &[]);
    verifier.insert(
        &reader.token,
        AccessToken::builder("")
            .subject(&reader.subject)
            .issuer(hardening::ISSUER),
    );
    let handler = Limited::default();
    let h = handler.clone();
    let s = serve(|url| server(h, url).verifier(verifier)).await;
    let c = client();

    // A step-up does not spend the budget.
    for _ in 0..3 {
        let res = call(&c, &s.url, Some(&reader.token), "write")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
    }
    let res = call(&c, &s.url, Some(&writer.token), "write")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = call(&c, &s.url, Some(&writer.token), "write")
        .send()
        .await
        .unwrap();
    assert_429(res, "rate_limited", 60).await;
    // A hidden tool stays hidden (answered like an unknown one), never 429.
    for _ in 0..3 {
        let res = call(&c, &s.url, Some(&writer.token), "admin")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let msg = rpc_response(res).await;
        assert!(msg.get("error").is_some(), "{msg}");
    }
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn prompts_and_resources_have_rates_too() {
    let alice = User::new("alice");
    let handler = Limited::default();
    let h = handler.clone();
    let s = serve(|url| server(h, url).verifier(keys(&[&alice], &[], &[]))).await;
    let c = client();
    let t = Some(alice.token.as_str());

    let greet = || {
        modern(
            &c,
            &s.url,
            t,
            "prompts/get",
            Some("greet"),
            json!({ "name": "greet" }),
        )
    };
    assert_eq!(greet().send().await.unwrap().status(), 200);
    assert_429(greet().send().await.unwrap(), "rate_limited", 60).await;

    let read = |uri: &str| {
        modern(
            &c,
            &s.url,
            t,
            "resources/read",
            Some(uri),
            json!({ "uri": uri }),
        )
    };
    assert_eq!(read("notes://1").send().await.unwrap().status(), 200);
    // One rate per declared item: another URI of the same template shares it.
    assert_429(read("notes://2").send().await.unwrap(), "rate_limited", 60).await;
    let body = rpc(9, "resources/read", json!({ "uri": "notes://3" }));
    assert_429(
        legacy(&c, &s.url, t, body).send().await.unwrap(),
        "rate_limited",
        60,
    )
    .await;
    assert_eq!(handler.calls(), 2);
}

#[tokio::test]
async fn per_principal_limit_on_the_builder() {
    let (alice, bob) = (User::new("alice"), User::new("bob"));
    let alice2 = alice.second_token();
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice, &alice2, &bob], &[], &[]))
            .rate_limit_per_principal("2/min")
    })
    .await;
    let c = client();
    assert_eq!(
        call(&c, &s.url, Some(&alice.token), "free")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        call(&c, &s.url, Some(&alice2.token), "free")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Every request counts, whatever the method, and whichever of alice's tokens.
    let res = modern(
        &c,
        &s.url,
        Some(&alice.token),
        "tools/list",
        None,
        json!({}),
    )
    .send()
    .await
    .unwrap();
    let secs = assert_429(res, "rate_limited", 30).await;
    assert!(
        secs >= 29,
        "2/min refills one request every 30 s, got {secs}"
    );
    assert_eq!(
        call(&c, &s.url, Some(&bob.token), "free")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A request without a valid token is not the principal's: 401, not 429.
    let res = call(&c, &s.url, None, "free").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn per_address_limit_on_the_builder() {
    let alice = User::new("alice");
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &[], &[]))
            .rate_limit_per_ip("3/min")
    })
    .await;
    let here = client_from("127.0.0.1");
    let there = client_from("127.0.0.2");
    let t = Some(alice.token.as_str());
    assert_eq!(
        call(&here, &s.url, t, "free")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Counted before authentication: a request without a token spends the address's budget.
    assert_eq!(
        call(&here, &s.url, None, "free")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        call(&here, &s.url, t, "free")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, headers, body) =
        json_of(call(&here, &s.url, t, "free").send().await.unwrap()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "rate_limited");
    assert!(hardening::retry_after(&headers) >= 19);
    // Another address is unaffected, with the same token.
    assert_eq!(
        call(&there, &s.url, t, "free")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_malformed_rate_fails_the_build() {
    let err = server(Limited::default(), "http://127.0.0.1:1/mcp".into())
        .verifier(keys(&[], &[], &[]))
        .rate_limit_per_principal("100/fortnight")
        .into_router()
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::InvalidRate {
            what: "rate_limit_per_principal",
            error: RateError::Unit("fortnight".into()),
        }
    );
    assert!(
        err.to_string().contains("rate_limit_per_principal"),
        "{err}"
    );
    // Typed rates need no parsing.
    assert!(
        server(Limited::default(), "http://127.0.0.1:1/mcp".into())
            .verifier(keys(&[], &[], &[]))
            .rate_limit_per_ip(Rate::per_minute(1000))
            .into_router()
            .is_ok()
    );
}

/// Without HTTP (stdio, in-memory) the generated handler enforces the rate itself and answers
/// with a JSON-RPC error.
#[tokio::test]
async fn the_handler_enforces_rates_without_http() {
    let handler = Limited::default();
    let calls = handler.clone();
    let identity = AccessToken::builder("")
        .subject("local@example.com")
        .issuer(hardening::ISSUER)
        .build();
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = Authenticated::with_local_identity(handler, identity)
            .serve(server_io)
            .await
        {
            let _ = running.waiting().await;
        }
    });
    let client = ().serve(client_io).await.expect("client connects");
    for _ in 0..3 {
        let res = client
            .call_tool(CallToolRequestParams::new("ping"))
            .await
            .expect("allowed");
        assert_ne!(res.is_error, Some(true));
    }
    let err = client
        .call_tool(CallToolRequestParams::new("ping"))
        .await
        .expect_err("the fourth call is refused");
    let text = format!("{err:?}");
    assert!(text.contains("-32029"), "{text}");
    assert!(text.contains("rate_limited"), "{text}");
    assert_eq!(calls.calls(), 3);
    let _ = tokio::time::timeout(Duration::from_secs(5), client.cancel()).await;
}
