//! Under heavy concurrency every request sees its own caller and nobody else's: ≥ 1,000
//! simultaneous `tools/call`s over ≥ 50 tokens, mixing the extractor, the task-local and a
//! handler that awaits in the middle, in both protocol eras.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::*;
use serde_json::json;

const CALLS: usize = 1_000;
const USERS: usize = 64;
const TOOLS: [&str; 3] = ["whoami", "whoami_ctx", "slow_whoami"];

#[derive(Clone, Copy, Debug)]
enum Era {
    Modern,
    LegacyStateless,
    /// Legacy session mode: one session per principal, opened before the burst.
    LegacySessions,
}

#[derive(Debug, Default)]
struct Outcome {
    ok: usize,
    mismatches: Vec<String>,
    failures: Vec<String>,
}

async fn hammer(server: Arc<TestServer>, era: Era) -> Outcome {
    let mut sessions = Vec::new();
    if let Era::LegacySessions = era {
        for user in &server.tokens.users {
            sessions.push(server.open_session(LEGACY_2025_11_25, &user.token).await);
        }
    }
    let sessions = Arc::new(sessions);
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLS));
    let mut tasks = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let server = server.clone();
        let barrier = barrier.clone();
        let sessions = sessions.clone();
        tasks.push(tokio::spawn(async move {
            let user = server.tokens.user(i % USERS).clone();
            let tool = TOOLS[i % TOOLS.len()];
            let req = match era {
                Era::Modern => server.modern_call(Some(&user.token), tool, json!({})),
                Era::LegacyStateless => {
                    let version = if i % 2 == 0 {
                        LEGACY_2025_06_18
                    } else {
                        LEGACY_2025_11_25
                    };
                    server.legacy_call(version, Some(&user.token), None, tool, json!({}))
                }
                Era::LegacySessions => server.legacy_call(
                    LEGACY_2025_11_25,
                    Some(&user.token),
                    Some(&sessions[i % USERS]),
                    tool,
                    json!({}),
                ),
            };
            barrier.wait().await;
            let res = req.send().await.map_err(|e| format!("#{i}: {e}"))?;
            let status = res.status();
            let text = res.text().await.map_err(|e| format!("#{i}: {e}"))?;
            if status != 200 {
                return Err(format!("#{i} {tool}: status {status}: {text}"));
            }
            let content_type = match era {
                Era::LegacySessions => "text/event-stream",
                _ => "application/json",
            };
            let answer = tool_text(&parse_rpc_body(content_type, &text));
            Ok((i, tool, user.answer(), answer))
        }));
    }
    let mut outcome = Outcome::default();
    for task in tasks {
        match task.await.expect("task panicked") {
            Ok((_, _, expected, answer)) if expected == answer => outcome.ok += 1,
            Ok((i, tool, expected, answer)) => outcome
                .mismatches
                .push(format!("#{i} {tool}: expected {expected}, got {answer}")),
            Err(e) => outcome.failures.push(e),
        }
    }
    outcome
}

async fn run(era: Era) {
    let opts = Options::default()
        .users(USERS)
        .legacy_sessions(matches!(era, Era::LegacySessions));
    let server = Arc::new(start_with(opts).await);
    let started = Instant::now();
    let outcome = hammer(server.clone(), era).await;
    let elapsed = started.elapsed();
    eprintln!("{era:?}: {CALLS} concurrent calls in {elapsed:?}");
    assert!(
        outcome.mismatches.is_empty(),
        "{} requests saw another caller: {:#?}",
        outcome.mismatches.len(),
        &outcome.mismatches[..outcome.mismatches.len().min(10)]
    );
    assert!(
        outcome.failures.is_empty(),
        "{} requests failed: {:#?}",
        outcome.failures.len(),
        &outcome.failures[..outcome.failures.len().min(10)]
    );
    assert_eq!(outcome.ok, CALLS);
    assert_eq!(server.calls(), CALLS, "every call ran its handler once");
    assert!(
        elapsed < Duration::from_secs(20),
        "too slow: {elapsed:?} for {CALLS} calls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn modern_stateless_calls_never_see_another_caller() {
    run(Era::Modern).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn legacy_stateless_calls_never_see_another_caller() {
    run(Era::LegacyStateless).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn legacy_session_calls_never_see_another_caller() {
    run(Era::LegacySessions).await;
}

#[tokio::test]
async fn outside_a_request_there_is_no_caller() {
    let server = start().await;
    let user = server.tokens.user(0).clone();
    let res = server
        .modern_call(Some(&user.token), "whoami_ctx", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(tool_text(&rpc_response(res).await), user.answer());
    // The test task itself never had a token, before or after a request was served.
    assert!(mcp_auth::current_token().is_none());
    assert!(mcp_auth::require_auth().is_err());
}
