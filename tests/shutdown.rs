//! Shutdown is graceful but bounded: a client holding an SSE stream open cannot keep the
//! server alive past the grace period, and an idle server stops at once.

mod common;

use std::{
    sync::{Arc, atomic::AtomicUsize},
    time::{Duration, Instant},
};

use common::{AUTH_SERVER, BASELINE, LEGACY_2025_06_18, TestTools, Tokens};
use mcp_auth::AuthServer;
use tokio_util::sync::CancellationToken;

async fn start(
    grace: Duration,
) -> (
    String,
    Tokens,
    CancellationToken,
    tokio::task::JoinHandle<Result<(), mcp_auth::ServeError>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let tokens = Tokens::generate(2);
    let ct = CancellationToken::new();
    let server = AuthServer::new(TestTools::new(Arc::new(AtomicUsize::new(0))))
        .verifier(tokens.verifier())
        .resource(url.clone())
        .authorization_server(AUTH_SERVER)
        .required_scopes([BASELINE])
        .legacy_sessions(true)
        .json_response(false)
        .shutdown_grace(grace)
        .cancellation_token(ct.clone());
    let task = tokio::spawn(server.serve_with_listener(listener));
    (url, tokens, ct, task)
}

#[tokio::test]
async fn an_open_stream_cannot_hold_shutdown_past_the_grace_period() {
    let (url, tokens, ct, task) = start(Duration::from_millis(500)).await;
    let token = tokens.user(0).token.clone();
    let client = reqwest::Client::new();
    let init = client
        .post(&url)
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(common::initialize_body(1, LEGACY_2025_06_18).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    drop(init);
    // The standalone SSE stream of the session: stays open until the server goes.
    let stream = client
        .get(&url)
        .bearer_auth(&token)
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", LEGACY_2025_06_18)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    let asked = Instant::now();
    ct.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the server stops within the grace period (plus slack)")
        .expect("join");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    drop(stream);
}

#[tokio::test]
async fn a_half_sent_request_cannot_hold_shutdown_past_the_grace_period() {
    use tokio::io::AsyncWriteExt;
    let grace = Duration::from_millis(800);
    let (url, _tokens, ct, task) = start(grace).await;
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    // A client that sends half of its headers and then nothing (slowloris).
    let mut tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
    tcp.write_all(format!("POST /mcp HTTP/1.1\r\nHost: {authority}\r\nX-Slow: ").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let asked = Instant::now();
    ct.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the grace period bounds shutdown")
        .expect("join")
        .expect("serves cleanly");
    let took = asked.elapsed();
    assert!(took >= grace / 2 && took < grace * 4, "{took:?}");
    drop(tcp);
}

#[tokio::test]
async fn an_idle_server_stops_at_once() {
    let (_url, _tokens, ct, task) = start(Duration::from_secs(30)).await;
    let asked = Instant::now();
    ct.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .expect("join")
        .expect("serves cleanly");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
}
