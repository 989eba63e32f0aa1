//! The handler `#[mcp_auth::server]` generates enforces the declarations on its own, with no
//! HTTP layer in front: an rmcp client and server over an in-memory duplex pipe, the caller's
//! identity injected with `Authenticated::with_local_identity`.

use mcp_auth::Authenticated;
use mcp_auth::prelude::*;
use mcp_auth::rmcp::model::Role as Speaker;
use mcp_auth::rmcp::{
    ClientLifecycleMode, ErrorData, RoleClient, ServiceExt,
    handler::server::wrapper::Parameters,
    model::*,
    service::{RunningService, ServiceError},
};
use schemars::JsonSchema;
use serde::Deserialize;

mcp_auth::roles! {
    pub enum Role { Admin > Editor > Viewer, Admin > Billing }
}

mcp_auth::scopes! {
    pub enum Scope { "notes:admin" > "notes:write" > "notes:read", "audit" }
}

#[derive(Deserialize, JsonSchema)]
struct DeleteArgs {
    id: u64,
}

#[derive(Clone, Default)]
struct Notes;

#[mcp_auth::server(
    name = "notes-test",
    version = "9.9.9",
    roles = Role,
    scopes = Scope,
    instructions = "in-memory test server"
)]
impl Notes {
    /// Open to every caller.
    #[tool]
    async fn ping(&self) -> String {
        "pong".into()
    }

    /// Needs `notes:read`; answers with the caller's subject.
    #[tool(scopes = ["notes:read"])]
    async fn read_notes(&self) -> String {
        current_token()
            .and_then(|t| t.subject().map(str::to_owned))
            .unwrap_or_else(|| "nobody".into())
    }

    /// Needs `notes:write` and `audit`, and the editor role.
    #[tool(scopes = ["notes:write", "audit"], roles = ["editor"])]
    async fn delete_note(
        &self,
        Parameters(args): Parameters<DeleteArgs>,
        who: AccessToken,
    ) -> String {
        format!("{} deleted {}", who.subject().unwrap_or("?"), args.id)
    }

    /// Admins only.
    #[tool(roles = [Role::Admin])]
    fn admin_only(&self) -> String {
        "admin".into()
    }

    /// Billing only.
    #[tool(name = "billing.report", roles = ["billing"])]
    fn billing(&self) -> String {
        "report".into()
    }

    /// Greets viewers.
    #[prompt(roles = ["viewer"])]
    fn greet(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Speaker::User, "hello")]
    }

    /// For admins.
    #[prompt(roles = ["admin"])]
    fn admin_prompt(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Speaker::User, "admin")]
    }

    /// The index.
    #[resource(uri = "notes://index", scopes = ["notes:read"])]
    fn index(&self) -> &'static str {
        "index"
    }

    /// One note.
    #[resource(uri = "notes://{id}", roles = ["editor"], mime_type = "text/markdown")]
    async fn note(&self, id: String, who: AccessToken) -> Result<String, ErrorData> {
        Ok(format!("# {id} for {}", who.subject().unwrap_or("?")))
    }

    /// Statistics, as JSON.
    #[resource(uri = "notes://stats", scopes = ["notes:read"])]
    async fn stats(&self) -> mcp_auth::rmcp::Json<serde_json::Value> {
        mcp_auth::rmcp::Json(serde_json::json!({ "notes": 2 }))
    }

    /// The logo, as bytes.
    #[resource(uri = "notes://logo.png", scopes = ["notes:read"], mime_type = "image/png")]
    fn logo(&self) -> Vec<u8> {
        vec![0x89, b'P', b'N', b'G']
    }

    /// Open to every caller.
    #[resource(uri = "public://readme")]
    fn readme(&self) -> String {
        "readme".into()
    }
}

type Client = RunningService<RoleClient, ()>;

/// A client connected in memory to `Notes`, running as `identity` (or as nobody), with the
/// legacy `initialize` handshake.
async fn connect(identity: Option<AccessToken>) -> Client {
    let client_io = spawn_server(identity);
    ().serve(client_io).await.expect("client connects")
}

/// The same over protocol 2026-07-28 (`server/discover`, per-request metadata).
async fn connect_modern(identity: Option<AccessToken>) -> Client {
    let client_io = spawn_server(identity);
    mcp_auth::rmcp::serve_client_with_lifecycle(
        (),
        client_io,
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await
    .expect("client connects")
}

fn spawn_server(identity: Option<AccessToken>) -> tokio::io::DuplexStream {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let running = match identity {
            Some(token) => {
                Authenticated::with_local_identity(Notes, token)
                    .serve(server_io)
                    .await
                    .expect("server starts")
                    .waiting()
                    .await
            }
            None => {
                Notes
                    .serve(server_io)
                    .await
                    .expect("server starts")
                    .waiting()
                    .await
            }
        };
        let _ = running;
    });
    client_io
}

fn token(subject: &str, scopes: &[&str], roles: &[&str]) -> AccessToken {
    AccessToken::builder("in-memory")
        .subject(subject)
        .scopes(scopes.iter().copied())
        .roles(roles.iter().copied())
        .build()
}

async fn tools(c: &Client) -> Vec<String> {
    let mut names: Vec<String> = c
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

async fn prompts(c: &Client) -> Vec<String> {
    let mut names: Vec<String> = c
        .list_prompts(None)
        .await
        .expect("prompts/list")
        .prompts
        .into_iter()
        .map(|p| p.name)
        .collect();
    names.sort();
    names
}

async fn resources(c: &Client) -> (Vec<String>, Vec<String>) {
    let mut uris: Vec<String> = c
        .list_resources(None)
        .await
        .expect("resources/list")
        .resources
        .into_iter()
        .map(|r| r.uri)
        .collect();
    uris.sort();
    let templates = c
        .list_resource_templates(None)
        .await
        .expect("resources/templates/list")
        .resource_templates
        .into_iter()
        .map(|t| t.uri_template)
        .collect();
    (uris, templates)
}

async fn call(c: &Client, name: &str, args: serde_json::Value) -> Result<String, ErrorData> {
    let mut params = CallToolRequestParams::new(name.to_owned());
    if let serde_json::Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    match c.call_tool(params).await {
        Ok(result) => Ok(text(&result.content)),
        Err(ServiceError::McpError(e)) => Err(e),
        Err(other) => panic!("tools/call {name}: {other}"),
    }
}

fn text(content: &[ContentBlock]) -> String {
    content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("")
}

async fn get_prompt(c: &Client, name: &str) -> Result<GetPromptResult, ErrorData> {
    match c.get_prompt(GetPromptRequestParams::new(name)).await {
        Ok(result) => Ok(result),
        Err(ServiceError::McpError(e)) => Err(e),
        Err(other) => panic!("prompts/get {name}: {other}"),
    }
}

async fn read(c: &Client, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    match c.read_resource(ReadResourceRequestParams::new(uri)).await {
        Ok(result) => Ok(result),
        Err(ServiceError::McpError(e)) => Err(e),
        Err(other) => panic!("resources/read {uri}: {other}"),
    }
}

fn contents_text(r: &ReadResourceResult) -> (String, Option<String>) {
    match &r.contents[0] {
        ResourceContents::TextResourceContents {
            text, mime_type, ..
        } => (text.clone(), mime_type.clone()),
        other => panic!("expected text contents, got {other:?}"),
    }
}

/// The error an unknown tool gets; a hidden one must get exactly this.
fn unknown_tool() -> ErrorData {
    ErrorData::invalid_params("tool not found", None)
}

#[tokio::test]
async fn server_info_is_the_users() {
    let c = connect(None).await;
    let info = c.peer_info().expect("initialized");
    let server = info.server_info.as_ref().expect("server info");
    assert_eq!(server.name, "notes-test");
    assert_eq!(server.version, "9.9.9");
    assert_eq!(info.instructions.as_deref(), Some("in-memory test server"));
    assert!(info.capabilities.tools.is_some());
    assert!(info.capabilities.prompts.is_some());
    assert!(info.capabilities.resources.is_some());
}

#[tokio::test]
async fn without_identity_only_open_items_exist() {
    let c = connect(None).await;
    assert_eq!(tools(&c).await, ["ping"]);
    assert_eq!(
        call(&c, "ping", serde_json::json!({})).await.unwrap(),
        "pong"
    );
    for hidden in ["read_notes", "delete_note", "admin_only", "billing.report"] {
        assert_eq!(
            call(&c, hidden, serde_json::json!({ "id": 1 }))
                .await
                .unwrap_err(),
            unknown_tool(),
            "{hidden}"
        );
    }
    assert_eq!(
        call(&c, "no_such_tool", serde_json::json!({}))
            .await
            .unwrap_err(),
        unknown_tool()
    );

    assert!(prompts(&c).await.is_empty());
    let hidden = get_prompt(&c, "greet").await.unwrap_err();
    let unknown = get_prompt(&c, "nope").await.unwrap_err();
    assert_eq!(hidden.code, unknown.code);
    assert_eq!(hidden.message, "prompt 'greet' not found");
    assert_eq!(hidden.data, unknown.data);
    assert_eq!(
        hidden.data,
        Some(serde_json::json!({ "available_prompts": [] }))
    );

    assert_eq!(
        resources(&c).await,
        (vec!["public://readme".into()], vec![])
    );
    assert_eq!(
        contents_text(&read(&c, "public://readme").await.unwrap()).0,
        "readme"
    );
    let hidden = read(&c, "notes://index").await.unwrap_err();
    let unknown = read(&c, "notes://nothing/here").await.unwrap_err();
    assert_eq!(hidden.code, ErrorCode::RESOURCE_NOT_FOUND);
    assert_eq!(hidden.code, unknown.code);
    assert_eq!(hidden.message, unknown.message);
    assert_eq!(
        read(&c, "notes://7").await.unwrap_err().code,
        ErrorCode::RESOURCE_NOT_FOUND
    );
}

#[tokio::test]
async fn viewer_sees_what_viewers_may_use() {
    let c = connect(Some(token("viewer@x", &["notes:read"], &["viewer"]))).await;
    assert_eq!(tools(&c).await, ["ping", "read_notes"]);
    assert_eq!(
        call(&c, "read_notes", serde_json::json!({})).await.unwrap(),
        "viewer@x"
    );
    assert_eq!(
        call(&c, "delete_note", serde_json::json!({ "id": 1 }))
            .await
            .unwrap_err(),
        unknown_tool()
    );
    assert_eq!(
        call(&c, "admin_only", serde_json::json!({}))
            .await
            .unwrap_err(),
        unknown_tool()
    );

    assert_eq!(prompts(&c).await, ["greet"]);
    assert_eq!(get_prompt(&c, "greet").await.unwrap().messages.len(), 1);
    let hidden = get_prompt(&c, "admin_prompt").await.unwrap_err();
    assert_eq!(
        hidden.data,
        Some(serde_json::json!({ "available_prompts": ["greet"] }))
    );

    assert_eq!(
        resources(&c).await,
        (
            vec![
                "notes://index".into(),
                "notes://logo.png".into(),
                "notes://stats".into(),
                "public://readme".into()
            ],
            vec![]
        )
    );
    let (text, mime) = contents_text(&read(&c, "notes://index").await.unwrap());
    assert_eq!(
        (text.as_str(), mime.as_deref()),
        ("index", Some("text/plain"))
    );
    let (json, mime) = contents_text(&read(&c, "notes://stats").await.unwrap());
    assert_eq!(
        (json.as_str(), mime.as_deref()),
        (r#"{"notes":2}"#, Some("application/json"))
    );
    match &read(&c, "notes://logo.png").await.unwrap().contents[0] {
        ResourceContents::BlobResourceContents {
            blob,
            mime_type,
            uri,
            ..
        } => {
            assert_eq!(blob, "iVBORw==");
            assert_eq!(mime_type.as_deref(), Some("image/png"));
            assert_eq!(uri, "notes://logo.png");
        }
        other => panic!("expected a blob, got {other:?}"),
    }
    assert_eq!(
        read(&c, "notes://7").await.unwrap_err().code,
        ErrorCode::RESOURCE_NOT_FOUND
    );
}

#[tokio::test]
async fn editor_gets_implied_scopes_and_a_step_up_for_missing_ones() {
    // `notes:write` implies `notes:read`; `audit` is missing.
    let c = connect(Some(token("editor@x", &["notes:write"], &["editor"]))).await;
    assert_eq!(tools(&c).await, ["ping", "read_notes"]);
    assert_eq!(
        call(&c, "read_notes", serde_json::json!({})).await.unwrap(),
        "editor@x"
    );

    let e = call(&c, "delete_note", serde_json::json!({ "id": 1 }))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode(-32003));
    // The declared scopes of the tool, never the implied `notes:read`.
    assert_eq!(
        e.data,
        Some(serde_json::json!({ "error": "insufficient_scope", "scope": "notes:write audit" }))
    );

    assert_eq!(prompts(&c).await, ["greet"]);
    let (uris, templates) = resources(&c).await;
    assert_eq!(
        uris,
        [
            "notes://index",
            "notes://logo.png",
            "notes://stats",
            "public://readme"
        ]
    );
    assert_eq!(templates, ["notes://{id}"]);
    let (text, mime) = contents_text(&read(&c, "notes://42").await.unwrap());
    assert_eq!(text, "# 42 for editor@x");
    assert_eq!(mime.as_deref(), Some("text/markdown"));
}

#[tokio::test]
async fn editor_with_every_scope_runs_the_tool_before_arguments_matter() {
    let c = connect(Some(token(
        "editor@x",
        &["notes:write", "audit"],
        &["editor"],
    )))
    .await;
    assert_eq!(tools(&c).await, ["delete_note", "ping", "read_notes"]);
    assert_eq!(
        call(&c, "delete_note", serde_json::json!({ "id": 9 }))
            .await
            .unwrap(),
        "editor@x deleted 9"
    );
    // Bad arguments are rmcp's business once the caller is allowed: a tool error result.
    let bad = call(&c, "delete_note", serde_json::json!({ "id": "nine" }))
        .await
        .unwrap();
    assert!(bad.contains("failed to deserialize parameters"), "{bad}");
}

#[tokio::test]
async fn hidden_tools_are_hidden_before_arguments_are_read() {
    // A viewer sending garbage arguments to a tool it may not see gets the unknown-tool error,
    // not a deserialization error.
    let c = connect(Some(token(
        "viewer@x",
        &["notes:admin", "audit"],
        &["viewer"],
    )))
    .await;
    assert_eq!(
        call(&c, "delete_note", serde_json::json!({ "id": "garbage" }))
            .await
            .unwrap_err(),
        unknown_tool()
    );
}

#[tokio::test]
async fn admin_sees_everything_through_the_role_hierarchy() {
    let c = connect(Some(token(
        "admin@x",
        &["notes:admin", "audit"],
        &["admin"],
    )))
    .await;
    assert_eq!(
        tools(&c).await,
        [
            "admin_only",
            "billing.report",
            "delete_note",
            "ping",
            "read_notes"
        ]
    );
    assert_eq!(
        call(&c, "admin_only", serde_json::json!({})).await.unwrap(),
        "admin"
    );
    assert_eq!(
        call(&c, "billing.report", serde_json::json!({}))
            .await
            .unwrap(),
        "report"
    );
    assert_eq!(
        call(&c, "delete_note", serde_json::json!({ "id": 3 }))
            .await
            .unwrap(),
        "admin@x deleted 3"
    );
    assert_eq!(prompts(&c).await, ["admin_prompt", "greet"]);
    assert_eq!(resources(&c).await.1, ["notes://{id}"]);
    assert_eq!(
        contents_text(&read(&c, "notes://1").await.unwrap()).0,
        "# 1 for admin@x"
    );
}

#[tokio::test]
async fn admin_without_audit_gets_a_step_up_naming_declared_scopes() {
    let c = connect(Some(token("admin@x", &["notes:admin"], &["admin"]))).await;
    let e = call(&c, "delete_note", serde_json::json!({ "id": 3 }))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode(-32003));
    assert_eq!(e.data.unwrap()["scope"], "notes:write audit");
}

#[tokio::test]
async fn billing_role_is_separate_from_editing() {
    let c = connect(Some(token("bill@x", &[], &["billing"]))).await;
    assert_eq!(tools(&c).await, ["billing.report", "ping"]);
    assert!(prompts(&c).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// `undeclared = "deny"` and `handler = false` with a hand-written `ServerHandler`.

#[derive(Clone, Default)]
struct Locked;

#[mcp_auth::server(undeclared = "deny", handler = false)]
impl Locked {
    /// No declaration: denied under `undeclared = "deny"`.
    #[tool]
    fn undeclared(&self) -> String {
        "should not run".into()
    }

    /// Declared.
    #[tool(scopes = ["locked:use"])]
    fn declared(&self) -> String {
        "ok".into()
    }
}

impl ServerHandler for Locked {
    fn get_info(&self) -> ServerConfig {
        self.auth_get_info()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: mcp_auth::rmcp::service::RequestContext<mcp_auth::rmcp::RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.auth_call_tool(request, context).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: mcp_auth::rmcp::service::RequestContext<mcp_auth::rmcp::RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.auth_list_tools(request, context).await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.auth_get_tool(name)
    }
}

#[tokio::test]
async fn undeclared_deny_through_a_hand_written_handler() {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let identity = token("u@x", &["locked:use"], &["admin"]);
    tokio::spawn(async move {
        let running = Authenticated::with_local_identity(Locked, identity)
            .serve(server_io)
            .await
            .expect("server starts");
        let _ = running.waiting().await;
    });
    let c = ().serve(client_io).await.expect("client connects");
    assert_eq!(tools(&c).await, ["declared"]);
    assert_eq!(
        call(&c, "declared", serde_json::json!({})).await.unwrap(),
        "ok"
    );
    assert_eq!(
        call(&c, "undeclared", serde_json::json!({}))
            .await
            .unwrap_err(),
        unknown_tool()
    );
}

#[tokio::test]
async fn lists_are_private_to_the_caller_on_2026_07_28() {
    let c = connect_modern(Some(token("editor@x", &["notes:write"], &["editor"]))).await;
    let tools = c.list_tools(None).await.expect("tools/list");
    assert_eq!(tools.cache_scope, Some(CacheScope::Private));
    assert_eq!(tools.ttl_ms, Some(0));
    let mut names: Vec<_> = tools.tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["ping", "read_notes"]);
    let prompts = c.list_prompts(None).await.expect("prompts/list");
    assert_eq!(prompts.cache_scope, Some(CacheScope::Private));
    let resources = c.list_resources(None).await.expect("resources/list");
    assert_eq!(resources.cache_scope, Some(CacheScope::Private));
    let templates = c
        .list_resource_templates(None)
        .await
        .expect("templates/list");
    assert_eq!(templates.cache_scope, Some(CacheScope::Private));
    let note = read(&c, "notes://5").await.unwrap();
    assert_eq!(note.cache_scope, Some(CacheScope::Private));
    assert_eq!(contents_text(&note).0, "# 5 for editor@x");
    let e = call(&c, "delete_note", serde_json::json!({ "id": 1 }))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode(-32003));
    assert_eq!(
        call(&c, "admin_only", serde_json::json!({}))
            .await
            .unwrap_err(),
        unknown_tool()
    );
}

#[tokio::test]
async fn legacy_lists_carry_no_cache_hints() {
    let c = connect(Some(token("viewer@x", &["notes:read"], &["viewer"]))).await;
    let tools = c.list_tools(None).await.expect("tools/list");
    assert_eq!((tools.cache_scope, tools.ttl_ms), (None, None));
}
