//! The permission matrix over real HTTP, in both protocol eras: every token of roles × scopes
//! (hierarchy-implied ones included) against every item of the rbac example (tools, static
//! resources, a template, prompts). The expected outcome comes from an oracle written here,
//! independently of the policy code:
//!
//! - the item's role is not held (directly or by hierarchy) → hidden: the answer is the one an
//!   unknown name gets, byte for byte;
//! - else a declared scope is not held (directly or by hierarchy) → 403 step-up naming exactly
//!   the declared scopes;
//! - else → the result.
//!
//! Lists are filtered to exactly the allowed items. A real TypeScript SDK client receives the
//! step-up and reads the scopes to ask for.

mod common;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/rbac.rs"]
mod rbac;

use std::{collections::BTreeSet, path::PathBuf, process::Command};

use common::{LEGACY_2025_06_18, MODERN, modern_body, parse_challenge, parse_rpc_body, rpc};
use mcp_auth::{AccessToken, AuthServer, StaticTokens};
use serde_json::{Value, json};

const ROLES: [&str; 4] = ["", "viewer", "editor", "admin"];
const SCOPES: [&str; 4] = ["", "notes:read", "notes:write", "notes:admin"];

fn role_rank(r: &str) -> usize {
    ROLES.iter().position(|x| *x == r).expect("known role")
}
fn scope_rank(s: &str) -> usize {
    SCOPES.iter().position(|x| *x == s).expect("known scope")
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Tool,
    Resource,
    Prompt,
}

/// One item of the rbac example, with what it declares.
#[derive(Clone, Copy, Debug)]
struct Case {
    kind: Kind,
    /// Tool or prompt name, or resource URI (a template instance for the template).
    name: &'static str,
    args: fn() -> Value,
    scope: &'static str,
    role: &'static str,
    /// What a caller who may use it gets (a substring of the result).
    expect: &'static str,
}

fn no_args() -> Value {
    json!({})
}

const CASES: &[Case] = &[
    Case {
        kind: Kind::Resource,
        name: "notes://index",
        args: no_args,
        scope: "notes:read",
        role: "",
        expect: "[1,2]",
    },
    Case {
        kind: Kind::Resource,
        name: "notes://note/1",
        args: no_args,
        scope: "notes:read",
        role: "viewer",
        expect: "Buy milk",
    },
    Case {
        kind: Kind::Resource,
        name: "notes://audit",
        args: no_args,
        scope: "",
        role: "admin",
        expect: "1 by seed",
    },
    Case {
        kind: Kind::Prompt,
        name: "summarize",
        args: || json!({"sentences": "3"}),
        scope: "notes:read",
        role: "viewer",
        expect: "Summarize in 3",
    },
    Case {
        kind: Kind::Prompt,
        name: "review",
        args: no_args,
        scope: "notes:write",
        role: "editor",
        expect: "obsolete",
    },
    Case {
        kind: Kind::Tool,
        name: "whoami",
        args: no_args,
        scope: "",
        role: "",
        expect: "@example.com",
    },
    Case {
        kind: Kind::Tool,
        name: "list_notes",
        args: no_args,
        scope: "notes:read",
        role: "",
        expect: "Ship mcp-auth",
    },
    Case {
        kind: Kind::Tool,
        name: "create_note",
        args: || json!({"text": "hi"}),
        scope: "notes:write",
        role: "editor",
        expect: "\"id\":3",
    },
];

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Allow,
    StepUp(&'static str),
    Hidden,
}

fn oracle(role: &str, scope: &str, case: &Case) -> Expect {
    if !case.role.is_empty() && role_rank(role) < role_rank(case.role) {
        return Expect::Hidden;
    }
    if !case.scope.is_empty() && scope_rank(scope) < scope_rank(case.scope) {
        return Expect::StepUp(case.scope);
    }
    Expect::Allow
}

struct Server {
    url: String,
    metadata_url: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<Result<(), mcp_auth::ServeError>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn token_for(role: &str, scope: &str) -> String {
    format!(
        "tok-{}-{}",
        if role.is_empty() { "none" } else { role },
        scope.replace(':', "_")
    )
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}/mcp");
    let mut keys = StaticTokens::new();
    for role in ROLES {
        for scope in SCOPES {
            let mut b = AccessToken::builder("")
                .subject(format!("{role}-{scope}@example.com"))
                .scopes(["mcp"]);
            if !scope.is_empty() {
                b = b.scopes([scope]);
            }
            if !role.is_empty() {
                b = b.roles([role]);
            }
            keys.insert(token_for(role, scope), b);
        }
    }
    let server = AuthServer::new(rbac::Notes::seeded())
        .verifier(keys)
        .resource(url.clone())
        .authorization_server("https://idp.example.com")
        .required_scopes(["mcp"]);
    let task = tokio::spawn(server.serve_with_listener(listener));
    Server {
        metadata_url: format!("http://{addr}/.well-known/oauth-protected-resource/mcp"),
        url,
        client: reqwest::Client::new(),
        task,
    }
}

fn method_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Tool => "tools/call",
        Kind::Resource => "resources/read",
        Kind::Prompt => "prompts/get",
    }
}

fn params_of(kind: Kind, name: &str, args: Value) -> Value {
    match kind {
        Kind::Tool | Kind::Prompt => json!({ "name": name, "arguments": args }),
        Kind::Resource => json!({ "uri": name }),
    }
}

/// One request in one era: (status, WWW-Authenticate, body text).
async fn send(
    server: &Server,
    modern: bool,
    token: &str,
    method: &str,
    name: Option<&str>,
    params: Value,
) -> (u16, Option<String>, String) {
    let mut req = server
        .client
        .post(&server.url)
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream");
    let body = if modern {
        req = req
            .header("MCP-Protocol-Version", MODERN)
            .header("Mcp-Method", method);
        if let Some(name) = name {
            req = req.header("Mcp-Name", name);
        }
        modern_body(7, method, params)
    } else {
        req = req.header("MCP-Protocol-Version", LEGACY_2025_06_18);
        rpc(7, method, params)
    };
    let res = req.body(body.to_string()).send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    let text = if ct.starts_with("text/event-stream") {
        parse_rpc_body(&ct, &text).to_string()
    } else {
        text
    };
    (status, challenge, text)
}

fn unknown_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Tool => "no_such_tool",
        Kind::Prompt => "no_such_prompt",
        Kind::Resource => "notes://no-such-resource",
    }
}

#[tokio::test]
async fn the_matrix_holds_in_both_eras() {
    let mut cells = 0;
    for modern in [true, false] {
        for role in ROLES {
            for scope in SCOPES {
                // A fresh store per caller, so writes of one cell do not change another's.
                let server = start().await;
                let token = token_for(role, scope);
                for case in CASES {
                    let expect = oracle(role, scope, case);
                    let method = method_of(case.kind);
                    let (status, challenge, body) = send(
                        &server,
                        modern,
                        &token,
                        method,
                        Some(case.name),
                        params_of(case.kind, case.name, (case.args)()),
                    )
                    .await;
                    let at = format!("era modern={modern} role={role:?} scope={scope:?} {case:?}");
                    match expect {
                        Expect::Allow => {
                            assert_eq!(status, 200, "{at}: {body}");
                            let v: Value = serde_json::from_str(&body).unwrap();
                            assert!(v.get("result").is_some(), "{at}: {body}");
                            assert!(body.contains(case.expect), "{at}: {body}");
                        }
                        Expect::StepUp(needed) => {
                            assert_eq!(status, 403, "{at}: {body}");
                            let (scheme, params) = parse_challenge(&challenge.expect("challenge"));
                            assert_eq!(scheme, "Bearer");
                            assert_eq!(params["error"], "insufficient_scope", "{at}");
                            assert_eq!(params["scope"], needed, "{at}: declared scopes only");
                            assert_eq!(params["resource_metadata"], server.metadata_url);
                            let v: Value = serde_json::from_str(&body).unwrap();
                            assert_eq!(v["error"], "insufficient_scope", "{at}");
                        }
                        Expect::Hidden => {
                            let unknown = unknown_name(case.kind);
                            let (u_status, u_challenge, u_body) = send(
                                &server,
                                modern,
                                &token,
                                method,
                                Some(unknown),
                                params_of(case.kind, unknown, (case.args)()),
                            )
                            .await;
                            assert_eq!(status, u_status, "{at}");
                            assert_eq!(challenge, u_challenge, "{at}");
                            assert_eq!(
                                body,
                                u_body.replace(unknown, case.name),
                                "{at}: a hidden item must answer exactly like an unknown one"
                            );
                        }
                    }
                    cells += 1;
                }
            }
        }
    }
    assert_eq!(cells, 2 * ROLES.len() * SCOPES.len() * CASES.len());
}

async fn list(
    server: &Server,
    modern: bool,
    token: &str,
    method: &str,
    field: &str,
    key: &str,
) -> (BTreeSet<String>, Value) {
    let (status, _, body) = send(server, modern, token, method, None, json!({})).await;
    assert_eq!(status, 200, "{method}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let names = v["result"][field]
        .as_array()
        .unwrap_or_else(|| panic!("{method}: {body}"))
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect();
    (names, v)
}

#[tokio::test]
async fn lists_show_exactly_what_each_caller_may_use() {
    let server = start().await;
    let static_resources = [CASES[0], CASES[2]];
    for modern in [true, false] {
        for role in ROLES {
            for scope in SCOPES {
                let token = token_for(role, scope);
                let at = format!("modern={modern} role={role:?} scope={scope:?}");
                let allowed = |cases: &[Case]| -> BTreeSet<String> {
                    cases
                        .iter()
                        .filter(|c| oracle(role, scope, c) == Expect::Allow)
                        .map(|c| c.name.to_owned())
                        .collect()
                };
                let tools: Vec<Case> = CASES
                    .iter()
                    .copied()
                    .filter(|c| matches!(c.kind, Kind::Tool))
                    .collect();
                let mut want_tools = allowed(&tools);
                // Declared in the example but not exercised by the call matrix (destructive).
                let delete = Case {
                    kind: Kind::Tool,
                    name: "delete_note",
                    args: no_args,
                    scope: "notes:write",
                    role: "admin",
                    expect: "",
                };
                let purge = Case {
                    kind: Kind::Tool,
                    name: "purge",
                    args: no_args,
                    scope: "notes:admin",
                    role: "admin",
                    expect: "",
                };
                want_tools.extend(allowed(&[delete, purge]));
                let (got, v) = list(&server, modern, &token, "tools/list", "tools", "name").await;
                assert_eq!(got, want_tools, "{at}");
                if modern {
                    assert_eq!(v["result"]["cacheScope"], "private", "{at}");
                }

                let prompts: Vec<Case> = CASES
                    .iter()
                    .copied()
                    .filter(|c| matches!(c.kind, Kind::Prompt))
                    .collect();
                let (got, _) =
                    list(&server, modern, &token, "prompts/list", "prompts", "name").await;
                assert_eq!(got, allowed(&prompts), "{at}");

                let (got, _) = list(
                    &server,
                    modern,
                    &token,
                    "resources/list",
                    "resources",
                    "uri",
                )
                .await;
                assert_eq!(got, allowed(&static_resources), "{at}");

                let template = Case {
                    name: "notes://note/{id}",
                    ..CASES[1]
                };
                let (got, _) = list(
                    &server,
                    modern,
                    &token,
                    "resources/templates/list",
                    "resourceTemplates",
                    "uriTemplate",
                )
                .await;
                assert_eq!(got, allowed(&[template]), "{at}");
            }
        }
    }
}

#[tokio::test]
async fn scopes_supported_lists_every_declared_scope() {
    let server = start().await;
    let doc: Value = server
        .client
        .get(&server.metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["scopes_supported"],
        json!(["mcp", "notes:admin", "notes:read", "notes:write"])
    );
}

#[tokio::test]
async fn a_legacy_batch_is_checked_item_by_item() {
    let server = start().await;
    let token = token_for("editor", "notes:read");
    let batch = json!([
        rpc(
            1,
            "tools/call",
            json!({"name": "list_notes", "arguments": {}})
        ),
        rpc(
            2,
            "tools/call",
            json!({"name": "create_note", "arguments": {"text": "x"}})
        ),
    ]);
    let res = server
        .client
        .post(&server.url)
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", LEGACY_2025_06_18)
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (_, params) = parse_challenge(res.headers()["www-authenticate"].to_str().unwrap());
    assert_eq!(params["scope"], "notes:write");
}

#[tokio::test]
async fn typescript_sdk_receives_the_step_up() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("interop/node_modules/.bin").exists(),
        "run scripts/setup.sh (the README's test command does)"
    );
    let server = start().await;
    let token = token_for("editor", "notes:read");
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(&root)
            .arg(root.join("interop/ts_client.mjs"))
            .args([
                url.as_str(),
                "--token",
                token.as_str(),
                "--call",
                "create_note",
            ])
            .args(["--args", r#"{"text":"x"}"#, "--timeout", "20"])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("JSON line");
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["stage"], "call", "{v}");
    assert_eq!(v["status"], 403, "{v}");
    assert_eq!(v["challenge_error"], "insufficient_scope", "{v}");
    assert_eq!(v["scope"], "notes:write", "{v}");
}
