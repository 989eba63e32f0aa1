//! Real MCP clients against our server: the official TypeScript SDK (v1 and v2 client) and the
//! official Python SDK, installed by `scripts/setup.sh` (the test command runs it first).
//! Each connects with a bearer header, lists tools and calls one; without a token each gets our
//! 401 and, through the SDK's own discovery helpers, reaches our metadata document.

mod common;

use std::{path::PathBuf, process::Command};

use common::{AUTH_SERVER, BASELINE, TestServer, start};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Clone, Copy, Debug)]
enum Client {
    /// `@modelcontextprotocol/sdk` (TypeScript SDK v1): initialize handshake.
    Ts,
    /// `@modelcontextprotocol/client` (TypeScript SDK v2).
    Ts2,
    /// `mcp` from PyPI.
    Py,
}

impl Client {
    fn command(self) -> Command {
        let root = root();
        let (program, script) = match self {
            Client::Ts => ("node".into(), "interop/ts_client.mjs"),
            Client::Ts2 => ("node".into(), "interop/ts2_client.mjs"),
            Client::Py => (root.join(".venv/bin/python"), "interop/py_client.py"),
        };
        let installed = match self {
            Client::Py => root.join(".venv/bin/python").exists(),
            _ => root.join("interop/node_modules/.bin").exists(),
        };
        assert!(
            installed,
            "the interop clients are not installed: run scripts/setup.sh (the README's test \
             command does)"
        );
        let mut cmd = Command::new(program);
        cmd.current_dir(&root).arg(root.join(script));
        cmd
    }
}

/// Run a client and parse its one JSON line.
async fn run(client: Client, server: &TestServer, args: &[&str]) -> Value {
    let mut cmd = client.command();
    cmd.arg(&server.url).args(args).args(["--timeout", "20"]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("spawn client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!(
                "{client:?} printed no JSON (status {:?}); stderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{client:?}: bad JSON {line}: {e}"))
}

async fn lists_and_calls(client: Client, protocol: Option<&str>) {
    let server = start().await;
    let me = server.tokens.user(1).clone();
    let mut args = vec!["--token", me.token.as_str(), "--call", "whoami"];
    if let Some(p) = protocol {
        args.extend(["--protocol", p]);
    }
    let out = run(client, &server, &args).await;
    assert_eq!(out["ok"], true, "{client:?} {protocol:?}: {out}");
    let tools: Vec<&str> = out["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for expected in ["whoami", "whoami_ctx", "echo"] {
        assert!(tools.contains(&expected), "{client:?}: {tools:?}");
    }
    assert_eq!(out["call"]["isError"], false, "{out}");
    assert_eq!(out["call"]["text"], me.answer(), "{out}");
    if let Some(p) = protocol.filter(|p| p.starts_with("20")) {
        assert_eq!(out["protocol"], p, "{out}");
    }
    assert!(
        !out.to_string().contains(&me.token),
        "the token must not come back"
    );
}

async fn unauthenticated_discovers(client: Client, protocol: Option<&str>) {
    let server = start().await;
    let mut args = vec![];
    if let Some(p) = protocol {
        args.extend(["--protocol", p]);
    }
    let out = run(client, &server, &args).await;
    assert_eq!(out["ok"], false, "{out}");
    assert_eq!(out["stage"], "connect", "{out}");
    assert_eq!(out["status"], 401, "{client:?}: {out}");
    assert_eq!(
        out["discovered"]["resource"], server.url,
        "{client:?} must reach our metadata document: {out}"
    );
    assert_eq!(
        out["discovered"]["authorization_servers"][0]
            .as_str()
            .map(|s| s.trim_end_matches('/')),
        Some(AUTH_SERVER),
        "{out}"
    );
    assert_eq!(out["discovered"]["bearer_methods_supported"][0], "header");
    if !matches!(client, Client::Ts2) {
        assert_eq!(out["challenge_scope"], BASELINE, "{out}");
    }
    if matches!(client, Client::Py) {
        assert_eq!(out["resource_match"], true, "{out}");
    }
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn typescript_sdk_lists_and_calls() {
    lists_and_calls(Client::Ts, None).await;
}

#[tokio::test]
async fn typescript_sdk_without_token_gets_401_and_discovers_metadata() {
    unauthenticated_discovers(Client::Ts, None).await;
}

#[tokio::test]
async fn typescript_v2_client_lists_and_calls_in_both_eras() {
    lists_and_calls(Client::Ts2, Some("legacy")).await;
    lists_and_calls(Client::Ts2, Some("2026-07-28")).await;
}

#[tokio::test]
async fn typescript_v2_client_without_token_discovers_metadata() {
    unauthenticated_discovers(Client::Ts2, Some("2026-07-28")).await;
}

#[tokio::test]
async fn python_sdk_lists_and_calls_in_both_eras() {
    lists_and_calls(Client::Py, Some("legacy")).await;
    lists_and_calls(Client::Py, Some("2026-07-28")).await;
}

#[tokio::test]
async fn python_sdk_without_token_gets_401_and_discovers_metadata() {
    unauthenticated_discovers(Client::Py, None).await;
}

#[tokio::test]
async fn a_rejected_token_is_a_401_for_every_client() {
    let server = start().await;
    let bad = server.tokens.unknown.clone();
    for client in [Client::Ts, Client::Py] {
        let out = run(client, &server, &["--token", &bad, "--call", "whoami"]).await;
        assert_eq!(out["ok"], false, "{out}");
        assert_eq!(out["status"], 401, "{client:?}: {out}");
        assert_eq!(out["challenge_error"], "invalid_token", "{client:?}: {out}");
        assert!(!out.to_string().contains(&bad));
    }
    assert_eq!(server.calls(), 0);
}
