//! `serve_stdio` over a real child process's stdin/stdout, in both policies: `StdioAuth::Deny`
//! (protected items hidden, open ones served) and a local identity read from an environment
//! variable and verified once at start. The child is this test binary itself, re-run with
//! `MCP_AUTH_STDIO_CHILD` set (a `harness = false` test, so nothing else writes to stdout).

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/rbac.rs"]
mod rbac;

use std::process::Stdio;

use mcp_auth::rmcp::{ServiceExt, model::CallToolRequestParams};
use mcp_auth::{AccessToken, StaticTokens, StdioAuth, serve_stdio};

const CHILD: &str = "MCP_AUTH_STDIO_CHILD";
const KEY_VAR: &str = "MCP_AUTH_STDIO_KEY";
const EDITOR_KEY: &str = "sk-stdio-editor-7f3a9c";

fn keys() -> StaticTokens {
    StaticTokens::new().with_token(
        EDITOR_KEY,
        AccessToken::builder("")
            .subject("local-editor")
            .scopes(["notes:write"])
            .roles(["editor"]),
    )
}

/// The child: serve the rbac notes server on stdio under the policy its environment names.
async fn child() {
    let keys = keys();
    let auth = match std::env::var(KEY_VAR) {
        Ok(_) => StdioAuth::from_env(KEY_VAR, &keys)
            .await
            .expect("the configured key verifies"),
        Err(_) => StdioAuth::Deny,
    };
    serve_stdio(rbac::Notes::seeded(), auth)
        .await
        .expect("stdio session");
}

/// Kills the child when the test is done with it.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Client = mcp_auth::rmcp::service::RunningService<mcp_auth::rmcp::RoleClient, ()>;

async fn connect(key: Option<&str>) -> (Client, ChildGuard) {
    use std::os::fd::OwnedFd;
    use tokio::net::unix::pipe;

    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match key {
        Some(k) => cmd.env(KEY_VAR, k),
        None => cmd.env_remove(KEY_VAR),
    };
    let mut process = cmd.spawn().expect("spawn the stdio child");
    let stdout = pipe::Receiver::from_owned_fd(OwnedFd::from(process.stdout.take().unwrap()))
        .expect("child stdout");
    let stdin = pipe::Sender::from_owned_fd(OwnedFd::from(process.stdin.take().unwrap()))
        .expect("child stdin");
    let client = ().serve((stdout, stdin)).await.expect("initialize over stdio");
    (client, ChildGuard(process))
}

async fn tool_names(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_tools(None)
        .await
        .expect("tools/list")
        .tools
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    names.sort();
    names
}

async fn deny_by_default() {
    let (client, _process) = connect(None).await;
    // Only the item that declares nothing is served without an identity.
    assert_eq!(tool_names(&client).await, ["whoami"]);
    let hidden = client
        .call_tool(CallToolRequestParams::new("list_notes"))
        .await
        .expect_err("a protected tool is refused");
    let unknown = client
        .call_tool(CallToolRequestParams::new("no_such_tool"))
        .await
        .expect_err("an unknown tool is refused");
    assert_eq!(hidden.to_string(), unknown.to_string());
    // `whoami` needs a caller: without one the extractor says so, it never invents one.
    let anon = client.call_tool(CallToolRequestParams::new("whoami")).await;
    assert!(
        anon.is_err() || anon.as_ref().unwrap().is_error == Some(true),
        "{anon:?}"
    );
    client.cancel().await.unwrap();
}

async fn local_identity_from_the_environment() {
    let (client, _process) = connect(Some(EDITOR_KEY)).await;
    assert_eq!(
        tool_names(&client).await,
        ["create_note", "list_notes", "whoami"],
        "an editor holding notes:write (which implies notes:read)"
    );
    let who = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .expect("whoami");
    let text = serde_json::to_string(&who.content).unwrap();
    assert!(text.contains("local-editor"), "{text}");
    let delete = client
        .call_tool(
            CallToolRequestParams::new("delete_note")
                .with_arguments(serde_json::json!({"id": 1}).as_object().unwrap().clone()),
        )
        .await
        .expect_err("admins only: hidden");
    assert!(delete.to_string().contains("tool not found"), "{delete}");
    client.cancel().await.unwrap();
}

async fn a_bad_key_does_not_start() {
    let status = tokio::task::spawn_blocking(|| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD, "1")
            .env(KEY_VAR, "sk-not-a-key")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    })
    .await
    .unwrap()
    .expect("runs");
    assert!(
        !status.success(),
        "a refused credential must stop the server"
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os(CHILD).is_some() {
        rt.block_on(child());
        return;
    }
    // `cargo test -- --list` and friends: nothing to enumerate beyond this file.
    if std::env::args().any(|a| a == "--list") {
        println!("stdio: test");
        return;
    }
    rt.block_on(async {
        deny_by_default().await;
        println!("stdio: deny by default ... ok");
        local_identity_from_the_environment().await;
        println!("stdio: local identity from the environment ... ok");
        a_bad_key_does_not_start().await;
        println!("stdio: a refused credential does not start ... ok");
    });
}
