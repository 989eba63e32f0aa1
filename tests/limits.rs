//! Every size limit is configurable and holds over real HTTP: the `Authorization` header
//! (431), the request headers as a whole (431, hyper's own cap), the body (413, before any
//! handler and whether or not a `Content-Length` announces it), the JWKS document and its key
//! count, the introspection response, and the tables that remember sessions and rate-limit keys.

mod common;
mod hardening;

use std::time::Duration;

use axum::{Router, routing::get};
use common::{LEGACY_2025_06_18, rpc};
use hardening::{Limited, User, call, client, json_of, keys, legacy, serve, server};
use mcp_auth::{
    DevIssuer, DevUser, Introspection, JwtVerifier,
    verify::{HttpOptions, JwksOptions},
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn the_authorization_header_cap_is_configurable() {
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[], &[], &[]))
            .max_authorization_bytes(64)
    })
    .await;
    let c = client();
    let header = |len: usize| format!("Bearer {}", "a".repeat(len - "Bearer ".len()));
    let res = c
        .post(&s.url)
        .header("Authorization", header(64))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "64 bytes are within the cap");
    let (status, _, body) = json_of(
        c.post(&s.url)
            .header("Authorization", header(65))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 431);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn oversized_request_headers_are_refused_by_the_server() {
    let alice = User::new("alice");
    let s = serve(|url| server(Limited::default(), url).verifier(keys(&[&alice], &[], &[]))).await;
    let c = client();
    let mut req = call(&c, &s.url, Some(&alice.token), "free");
    for i in 0..512 {
        req = req.header(format!("x-filler-{i}"), "f".repeat(1024));
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 431, "hyper caps the header block");
    let res = call(&c, &s.url, Some(&alice.token), "free")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "and keeps serving");
}

/// A client that holds a connection without completing a request (slowloris) is disconnected
/// once the header read timeout passes: silent after connecting, stalled in the first bytes
/// (before the server knows HTTP/1.1 from HTTP/2), or trickling its headers a byte at a
/// time, on a fresh connection or on a kept-alive one after a response (where sitting idle is
/// cut off too). A client that sends its headers in time is served, kept-alive connection
/// included; with the deadline off, nothing cuts the connection.
#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let timeout = Duration::from_millis(600);
    let alice = User::new("alice");
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &["mcp"], &[]))
            .header_read_timeout(timeout)
    })
    .await;
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-Slow: ",
        s.port
    );
    for (case, first, trickle) in [
        ("silent", "", false),
        ("one byte of the HTTP/2 preface", "P", false),
        ("trickled headers", head.as_str(), true),
    ] {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        tcp.write_all(first.as_bytes()).await.unwrap();
        let held = held_until_closed(&mut tcp, trickle, started, case).await;
        // (Less a moment: the server's clock starts when it accepts, around when ours does.)
        assert!(
            held >= timeout - Duration::from_millis(50) && held < timeout * 4,
            "{case}: the server closed the connection after {held:?} (timeout {timeout:?})"
        );
    }

    // On a kept-alive connection the deadline runs again from the end of each response:
    // trickling the second request's headers is cut off, and so is sitting idle.
    let probe = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\r\n",
        s.port
    );
    for (case, trickle) in [("kept-alive, trickled", true), ("kept-alive, idle", false)] {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
            .await
            .unwrap();
        tcp.write_all(probe.as_bytes()).await.unwrap();
        let mut buf = [0u8; 4096];
        let n = tcp.read(&mut buf).await.unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{case}: {answer}");
        assert!(!answer.contains("connection: close"), "{case}: {answer}");
        let started = std::time::Instant::now();
        if trickle {
            tcp.write_all(head.as_bytes()).await.unwrap();
        }
        let held = held_until_closed(&mut tcp, trickle, started, case).await;
        // The deadline runs from the end of the response, which the server sent a moment
        // before the client read it and started its clock: allow that moment.
        assert!(
            held >= timeout - Duration::from_millis(50) && held < timeout * 4,
            "{case}: the server closed the connection after {held:?} (timeout {timeout:?})"
        );
    }

    // With the deadline turned off (for a server behind a proxy), nothing cuts a silent
    // connection: it is still open three timeouts later.
    let open = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &["mcp"], &[]))
            .header_read_timeout(None)
    })
    .await;
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", open.port))
        .await
        .unwrap();
    tcp.write_all(b"POST /mcp HTTP/1.1\r\n").await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(timeout * 3, tcp.read(&mut buf)).await;
    assert!(
        read.is_err(),
        "without a deadline the connection stays: {read:?}"
    );

    // Headers in time: served, twice on one kept-alive connection with a pause between.
    let c = client();
    for _ in 0..2 {
        let res = call(&c, &s.url, Some(&alice.token), "free")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How long the server keeps `tcp` open from `started`, the client silent or (`trickle`)
/// writing a byte every 100 ms; panics after 10 s.
async fn held_until_closed(
    tcp: &mut tokio::net::TcpStream,
    trickle: bool,
    started: std::time::Instant,
    case: &str,
) -> Duration {
    let closed = async {
        let mut buf = [0u8; 256];
        loop {
            if trickle {
                tokio::time::sleep(Duration::from_millis(100)).await;
                // Writing to a connection the server closed fails sooner or later.
                if tcp.write_all(b"a").await.is_err() {
                    return;
                }
                let read = tokio::time::timeout(Duration::from_millis(1), tcp.read(&mut buf));
                if let Ok(Ok(0) | Err(_)) = read.await {
                    return;
                }
            } else if let Ok(0) | Err(_) = tcp.read(&mut buf).await {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .unwrap_or_else(|_| panic!("{case}: still connected after 10 s"));
    started.elapsed()
}

/// A raw HTTP/1.1 request with a chunked body (no `Content-Length`): status and body.
async fn chunked(port: u16, token: &str, version: &str, extra: &str, body: &[u8]) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         MCP-Protocol-Version: {version}\r\n{extra}Transfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(256) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if tcp.write_all(&frame).await.is_err() {
            break; // the server answered and closed early
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = tcp.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_body_cap_answers_413_before_any_handler() {
    let alice = User::new("alice");
    let handler = Limited::default();
    let h = handler.clone();
    let s = serve(|url| {
        server(h, url)
            .verifier(keys(&[&alice], &[], &[]))
            .max_body_bytes(1024)
    })
    .await;
    let c = client();
    let t = Some(alice.token.as_str());
    let padding = "p".repeat(2048);
    let big =
        |method: &str| json!({ "name": "free", "arguments": {}, "_pad": padding, "m": method });

    // Announced by Content-Length: refused by the layer, both eras, JSON body.
    let modern_req = hardening::modern(&c, &s.url, t, "tools/call", Some("free"), big("m"));
    let (status, headers, body) = json_of(modern_req.send().await.unwrap()).await;
    assert_eq!(
        (status.as_u16(), &body["error"]),
        (413, &json!("invalid_request")),
        "{body}"
    );
    assert_eq!(headers.get("content-type").unwrap(), "application/json");
    let legacy_req = legacy(&c, &s.url, t, rpc(1, "tools/call", big("l")));
    let (status, _, body) = json_of(legacy_req.send().await.unwrap()).await;
    assert_eq!(status, 413, "{body}");

    // Chunked, older protocol: the policy check reads at most the cap, then refuses.
    let oversized = rpc(1, "tools/call", big("c")).to_string();
    let (status, text) = chunked(
        s.port,
        &alice.token,
        LEGACY_2025_06_18,
        "",
        oversized.as_bytes(),
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("\"error\":\"invalid_request\""), "{text}");
    // Chunked, 2026-07-28 (the target is in the headers): rmcp's own cap, at the same size.
    let extra = "Mcp-Method: tools/call\r\nMcp-Name: free\r\n";
    let (status, _) = chunked(
        s.port,
        &alice.token,
        common::MODERN,
        extra,
        oversized.as_bytes(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(handler.calls(), 0, "no handler ran");

    // Within the cap, chunked or not.
    let small = rpc(1, "tools/call", json!({ "name": "free", "arguments": {} })).to_string();
    let (status, text) = chunked(
        s.port,
        &alice.token,
        LEGACY_2025_06_18,
        "",
        small.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        call(&c, &s.url, t, "free").send().await.unwrap().status(),
        200
    );
    assert_eq!(handler.calls(), 2);
}

/// Serve `body` as a JWKS document on a fresh port; returns its URL.
async fn serve_jwks(body: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test]
async fn jwks_size_and_key_count_are_capped() {
    let dev = DevIssuer::start().await.unwrap();
    let document: Value = client()
        .get(dev.jwks_uri())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = document["keys"][0].clone();
    // Four decoys before the issuer's key, and 8 KiB of padding.
    let mut keys: Vec<Value> = (0..4)
        .map(|i| {
            let mut k = key.clone();
            k["kid"] = json!(format!("decoy-{i}"));
            k
        })
        .collect();
    keys.push(key);
    let padded = json!({ "keys": keys, "padding": "x".repeat(8 * 1024) }).to_string();
    let (jwks_url, _jwks) = serve_jwks(padded).await;

    let verify = |url: String, http: HttpOptions, jwks: JwksOptions| {
        JwtVerifier::jwks(jwks_url.clone())
            .issuer(dev.issuer())
            .audience(url)
            .http(http)
            .jwks_options(jwks)
            .build()
            .unwrap()
    };
    let roomy = HttpOptions::default().max_response_bytes(64 * 1024);
    for (http, jwks, expect) in [
        (roomy.clone(), JwksOptions::default(), 200),
        // The document is larger than the cap: the keys cannot be had (503, retry later).
        (
            HttpOptions::default().max_response_bytes(4 * 1024),
            JwksOptions::default(),
            503,
        ),
        // Only the first two keys are kept: the issuer's fifth key is unknown (401).
        (roomy, JwksOptions::default().max_keys(2), 401),
    ] {
        let s =
            serve(|url| server(Limited::default(), url.clone()).verifier(verify(url, http, jwks)))
                .await;
        let jwt = dev.mint(&DevUser::new("alice").audience(&s.url));
        let res = call(&client(), &s.url, Some(&jwt), "free")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expect);
    }
}

#[tokio::test]
async fn the_introspection_response_size_is_capped() {
    let dev = DevIssuer::start().await.unwrap();
    let (id, secret) = dev.introspection_client();
    for (cap, expect) in [(64 * 1024, 200), (16, 503)] {
        let s = serve(|url| {
            server(Limited::default(), url.clone()).verifier(
                Introspection::builder(dev.introspection_endpoint())
                    .client_secret_basic(id, secret)
                    .audience(&url)
                    .http(HttpOptions::default().max_response_bytes(cap))
                    .build()
                    .unwrap(),
            )
        })
        .await;
        let opaque = dev.mint_opaque(&DevUser::new("alice").audience(&s.url));
        let res = call(&client(), &s.url, Some(&opaque), "free")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expect, "max_response_bytes = {cap}");
    }
}

#[tokio::test]
async fn the_session_table_is_capped() {
    let alice = User::new("alice");
    let capped = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &[], &[]))
            .legacy_sessions(true)
            .session_capacity(2)
    })
    .await;
    let c = client();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let res = hardening::legacy_initialize(&c, &capped.url, Some(&alice.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        sessions.push(res.headers()["mcp-session-id"].to_str().unwrap().to_owned());
    }
    let use_session = |id: &str| {
        legacy(
            &c,
            &capped.url,
            Some(&alice.token),
            json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
        )
        .header("Mcp-Session-Id", id.to_owned())
        .send()
    };
    assert_eq!(
        use_session(&sessions[0]).await.unwrap().status(),
        404,
        "evicted"
    );
    assert_eq!(use_session(&sessions[2]).await.unwrap().status(), 202);
}

#[tokio::test]
async fn the_rate_limit_tables_are_capped() {
    let users: Vec<User> = (0..4).map(|i| User::new(&format!("u{i}"))).collect();
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&users.iter().collect::<Vec<_>>(), &[], &[]))
            .rate_limit_per_principal("1/min")
            .rate_limit_capacity(2)
    })
    .await;
    let c = client();
    let status = |u: &User| call(&c, &s.url, Some(&u.token), "free").send();
    // u0 and u1 fill the table and are limited.
    for u in &users[..2] {
        assert_eq!(status(u).await.unwrap().status(), 200);
        assert_eq!(status(u).await.unwrap().status(), 429);
    }
    // The table is full: a new principal is not remembered (so not limited) rather than
    // refused, and the table does not grow.
    for _ in 0..3 {
        assert_eq!(status(&users[2]).await.unwrap().status(), 200);
    }
    assert_eq!(
        status(&users[0]).await.unwrap().status(),
        429,
        "remembered keys stay limited"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}
