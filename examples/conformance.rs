//! The conformance fixture: every tool, resource, prompt and utility the official MCP
//! conformance suite's server scenarios call (`@modelcontextprotocol/conformance`, run by
//! `tests/conformance.rs`), written with `#[mcp_auth::server]` and served by `AuthServer` with
//! authorization on — a JWT from an embedded dev issuer on every request, every item declaring
//! the scopes (and some a role) it needs.
//!
//! ```sh
//! cargo run --example conformance            # port 8002, or: -- <PORT>
//! ```
//!
//! prints the endpoint and a bearer token (`MCP_URL=…`, `MCP_TOKEN=…`), then serves until
//! Ctrl-C or SIGTERM. Run the suite against it with the token added to every request:
//!
//! ```sh
//! cd interop/conformance && MCP_CONFORMANCE_BEARER=<token> MCP_CONFORMANCE_ORIGIN=http://127.0.0.1:8002 \
//!   node_modules/.bin/node --import ./bearer.mjs node_modules/conformance-stable/dist/index.js \
//!   server --url http://127.0.0.1:8002/mcp
//! ```
//!
//! What the macros cannot say is written by hand in `impl ServerHandler` (the server uses
//! `handler = false` and delegates to the generated `auth_*` methods): completion (checked
//! against the prompt's own requirement), `logging/setLevel`, legacy resource subscriptions,
//! `subscriptions/listen`, the tasks extension (`tasks/get`, `tasks/update`, `tasks/cancel`,
//! each task bound to the principal that created it), the two lists that change at run time,
//! and handing `inputResponses` to a multi round-trip prompt.
#![allow(deprecated)] // rmcp marks logging (SEP-2577) and legacy subscriptions deprecated.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::Engine as _;
use mcp_auth::policy::{Decision, ItemKind};
use mcp_auth::prelude::*;
use mcp_auth::rmcp::{
    ErrorData, RoleServer,
    handler::server::{
        common::Extension,
        prompt::IntoGetPromptResult,
        tool::{InputResponses, RequestState},
        wrapper::Parameters,
    },
    model::*,
    service::{RequestContext, SubscriptionContext},
};
use mcp_auth::{DevIssuer, DevUser};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

mcp_auth::scopes! {
    /// What a conformance token may do.
    pub enum Scope { "conformance:write" > "conformance:read" }
}

mcp_auth::roles! {
    /// Who may run the multi-round-trip tools.
    pub enum Team { Tester }
}

/// The scope every request needs.
pub const BASELINE: &str = "mcp";

/// A 1x1 red PNG.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file.
const WAV_BASE64: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/// The fixture server's shared state.
#[derive(Clone)]
pub struct Conformance {
    inner: Arc<Inner>,
}

struct Inner {
    /// `logging/setLevel` (legacy sessions): `None` sends everything.
    log_level: Mutex<Option<LoggingLevel>>,
    /// `resources/subscribe` (legacy sessions).
    subscriptions: Mutex<BTreeSet<String>>,
    /// Signs `requestState` (HS256), so a tampered state is refused.
    state_key: [u8; 32],
    /// Requests that reached this handler (past the bearer layer).
    handled: AtomicUsize,
    /// Whether `test_dynamic_tool` / `test_dynamic_prompt` are currently offered (flipped by
    /// the `test_trigger_*_change` tools, which announce it on `subscriptions/listen`).
    dynamic_tool: AtomicBool,
    dynamic_prompt: AtomicBool,
    /// List changes, for every open `subscriptions/listen` stream.
    changes: tokio::sync::broadcast::Sender<Change>,
    /// Tasks (SEP-2663), each bound to the principal that created it.
    tasks: Mutex<BTreeMap<String, TaskEntry>>,
}

/// A change a `subscriptions/listen` stream may be told about.
#[derive(Clone, Copy, Debug)]
enum Change {
    Tools,
    Prompts,
}

impl Default for Conformance {
    fn default() -> Self {
        let mut state_key = [0u8; 32];
        getrandom::fill(&mut state_key).expect("OS randomness");
        Self {
            inner: Arc::new(Inner {
                log_level: Mutex::new(None),
                subscriptions: Mutex::new(BTreeSet::new()),
                state_key,
                handled: AtomicUsize::new(0),
                dynamic_tool: AtomicBool::new(false),
                dynamic_prompt: AtomicBool::new(false),
                changes: tokio::sync::broadcast::channel(16).0,
                tasks: Mutex::new(BTreeMap::new()),
            }),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct PromptArgs {
    /// The prompt to send to the LLM.
    pub prompt: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct MessageArgs {
    /// The message to show the user.
    pub message: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct TwoArgs {
    /// First test argument.
    pub arg1: String,
    /// Second test argument.
    pub arg2: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct EmbedArgs {
    /// URI of the resource to embed.
    #[serde(rename = "resourceUri")]
    pub resource_uri: String,
}

/// `inputResponses` of a `prompts/get` retry, put where the prompt can read it (rmcp has no
/// prompt extractor for them).
#[derive(Clone, Debug, Default)]
pub struct PromptInput(pub Option<mcp_auth::rmcp::model::InputResponses>);

fn json_object(v: Value) -> JsonObject {
    match v {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The input schema of `json_schema_2020_12_tool`: JSON Schema 2020-12 keywords a server must
/// pass through unchanged (SEP-1613, SEP-2106).
fn schema_2020_12() -> Arc<JsonObject> {
    Arc::new(json_object(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
            }
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" }
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": {
            "properties": { "contactMethod": { "const": "phone" } },
            "required": ["contactMethod"]
        },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false
    })))
}

/// The input schema of `test_custom_header`: `region` travels in an `Mcp-Param-Region` header
/// too (SEP-2243), which rmcp checks against the body.
fn schema_custom_header() -> Arc<JsonObject> {
    Arc::new(json_object(json!({
        "type": "object",
        "properties": {
            "region": { "type": "string", "x-mcp-header": "Region", "description": "A region" }
        },
        "required": ["region"]
    })))
}

fn input_required(v: Value) -> InputRequiredResult {
    serde_json::from_value(v).expect("a valid InputRequiredResult literal")
}

fn text_result(text: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

const ELICIT_NAME: &str = "user_name";

fn ask_name() -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": "What is your name?",
            "requestedSchema": {
                "type": "object",
                "properties": { "name": { "type": "string" } },
                "required": ["name"]
            }
        }
    })
}

/// The accepted `content` of an elicitation response, if it is one.
fn accepted(response: Option<&Value>) -> Option<&serde_json::Map<String, Value>> {
    let r = response?.as_object()?;
    (r.get("action")?.as_str()? == "accept")
        .then(|| r.get("content")?.as_object())
        .flatten()
}

fn invalid_params(message: impl Into<String>) -> ErrorData {
    ErrorData::invalid_params(message.into(), None)
}

// ----- tasks (SEP-2663) ----------------------------------------------------------------------

/// The tasks extension's identifier.
const TASKS: &str = "io.modelcontextprotocol/tasks";
/// How long a task stays readable.
const TASK_TTL_MS: u64 = 10 * 60 * 1000;
/// At most this many tasks are kept; the oldest terminal ones go first.
const MAX_TASKS: usize = 1000;

/// How an input-parked task makes its result from the answers it got.
type Finish = fn(&BTreeMap<String, Value>) -> CallToolResult;

/// One task: its state, who may see it, and what finishes it.
struct TaskEntry {
    /// The principal that created it (issuer, subject, client): a task id is a handle, not a
    /// credential, so another caller is answered as if the task did not exist.
    owner: String,
    task: Task,
    payload: TaskPayload,
    /// What answers to the pending input requests finish it with (the tool's own logic).
    on_input: Option<Finish>,
    /// Answers received so far.
    answers: BTreeMap<String, Value>,
    /// The worker computing it, aborted by `tasks/cancel`.
    worker: Option<tokio::task::AbortHandle>,
}

fn owner() -> String {
    current_token().map_or_else(String::new, |t| t.principal().to_owned())
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for now.
fn now_iso() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("OS randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether this request negotiated the tasks extension (per request on 2026-07-28).
fn tasks_negotiated(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.client_capabilities()
        .and_then(|c| c.extensions)
        .is_some_and(|e| e.contains_key(TASKS))
}

/// -32021: this tool only runs as a task, and the client did not negotiate tasks.
fn tasks_required() -> ErrorData {
    ErrorData::new(
        ErrorCode(-32021),
        "this tool runs only as a task: negotiate the io.modelcontextprotocol/tasks extension",
        Some(json!({ "requiredCapabilities": { "extensions": { TASKS: {} } } })),
    )
}

fn unknown_task(id: &str) -> ErrorData {
    invalid_params(format!("unknown task {id}"))
}

fn result_object(result: &CallToolResult) -> JsonObject {
    match serde_json::to_value(result) {
        Ok(Value::Object(mut map)) => {
            map.remove("_meta");
            map
        }
        _ => JsonObject::new(),
    }
}

impl Conformance {
    /// Create a task owned by the caller, durably (readable before this returns).
    fn create_task(&self, payload: TaskPayload) -> (String, CreateTaskResult) {
        let id = random_id();
        let now = now_iso();
        let task = Task::new(&id, payload.status(), &now, &now)
            .with_ttl_ms(TASK_TTL_MS)
            .with_poll_interval_ms(100);
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if tasks.len() >= MAX_TASKS {
            let oldest = tasks
                .iter()
                .filter(|(_, t)| t.task.status.is_terminal())
                .min_by(|a, b| a.1.task.created_at.cmp(&b.1.task.created_at))
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                tasks.remove(&oldest);
            }
        }
        tasks.insert(
            id.clone(),
            TaskEntry {
                owner: owner(),
                task: task.clone(),
                payload,
                on_input: None,
                answers: BTreeMap::new(),
                worker: None,
            },
        );
        (id, CreateTaskResult::new(task))
    }

    /// Move a task that is still working to `payload` (a cancelled task stays cancelled).
    fn settle(&self, id: &str, payload: TaskPayload) {
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tasks.get_mut(id)
            && !t.task.status.is_terminal()
        {
            t.task.status = payload.status();
            t.task.last_updated_at = now_iso();
            t.payload = payload;
            t.worker = None;
        }
    }

    /// A task that finishes with `result` after `delay`, unless cancelled first.
    fn spawn_task(
        &self,
        delay: Duration,
        outcome: Result<CallToolResult, ErrorData>,
    ) -> CreateTaskResult {
        let (id, created) = self.create_task(TaskPayload::Working);
        let this = self.clone();
        let task_id = id.clone();
        let worker = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let payload = match outcome {
                Ok(result) => TaskPayload::Completed {
                    result: result_object(&result),
                },
                Err(error) => TaskPayload::Failed {
                    error: match serde_json::to_value(&error) {
                        Ok(Value::Object(map)) => map,
                        _ => JsonObject::new(),
                    },
                },
            };
            this.settle(&task_id, payload);
        });
        if let Some(t) = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            t.worker = Some(worker.abort_handle());
        }
        created
    }

    /// A task parked on `requests` until all are answered; `finish` makes its result.
    fn input_task(&self, requests: Value, finish: Finish) -> CreateTaskResult {
        let input_requests = serde_json::from_value(requests).expect("valid input requests");
        let (id, created) = self.create_task(TaskPayload::InputRequired { input_requests });
        if let Some(t) = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            t.on_input = Some(finish);
        }
        created
    }

    /// The caller's task `id`, through `f`; another principal's task is unknown.
    fn with_task<T>(&self, id: &str, f: impl FnOnce(&mut TaskEntry) -> T) -> Result<T, ErrorData> {
        let me = owner();
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        match tasks.get_mut(id) {
            Some(t) if t.owner == me => Ok(f(t)),
            _ => Err(unknown_task(id)),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct GreetArgs {
    /// Who to greet.
    pub name: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct ComputeArgs {
    /// How long the computation takes, in seconds.
    pub seconds: f64,
    /// A label echoed in the result.
    pub label: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct FileArgs {
    /// The file to delete.
    pub filename: String,
}

fn confirm_request(message: String) -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": { "confirm": { "type": "boolean" } },
                "required": ["confirm"]
            }
        }
    })
}

impl Conformance {
    /// How many requests reached the handler.
    pub fn handled(&self) -> usize {
        self.inner.handled.load(Ordering::SeqCst)
    }

    fn count(&self) {
        self.inner.handled.fetch_add(1, Ordering::SeqCst);
    }

    /// Log at `level` if the request asked for it: on 2026-07-28 only when `_meta` carries a
    /// `logLevel` at or below `level`; on legacy sessions per `logging/setLevel`.
    async fn log(&self, ctx: &RequestContext<RoleServer>, level: LoggingLevel, message: &str) {
        let threshold = if is_modern(ctx) {
            match ctx.meta.log_level() {
                Some(l) => Some(l),
                None => return,
            }
        } else {
            *self
                .inner
                .log_level
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        if threshold.is_some_and(|t| rank(level) < rank(t)) {
            return;
        }
        let _ = ctx
            .peer
            .notify_logging_message(
                LoggingMessageNotificationParam::new(level, json!(message))
                    .with_logger("mcp-auth-conformance"),
            )
            .await;
    }

    /// A signed `requestState` for `tool` at `round`, bound to the caller.
    fn seal(&self, tool: &str, round: u32) -> String {
        let who = current_token()
            .and_then(|t| t.subject().map(str::to_owned))
            .unwrap_or_default();
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + 600;
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({ "tool": tool, "round": round, "sub": who, "exp": exp }),
            &jsonwebtoken::EncodingKey::from_secret(&self.inner.state_key),
        )
        .expect("HS256 signs")
    }

    /// The round a `requestState` was sealed at, if it is ours, for `tool` and this caller.
    fn open(&self, tool: &str, state: Option<&str>) -> Result<Option<u32>, ErrorData> {
        let Some(state) = state else { return Ok(None) };
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(
            state,
            &jsonwebtoken::DecodingKey::from_secret(&self.inner.state_key),
            &validation,
        )
        .map_err(|_| invalid_params("requestState failed its integrity check"))?
        .claims;
        let who = current_token()
            .and_then(|t| t.subject().map(str::to_owned))
            .unwrap_or_default();
        if claims["tool"] != tool || claims["sub"] != who.as_str() {
            return Err(invalid_params("requestState belongs to another request"));
        }
        Ok(claims["round"].as_u64().map(|r| r as u32))
    }
}

fn is_modern(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}

fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

#[mcp_auth::server(name = "mcp-auth-conformance", roles = Team, scopes = Scope, handler = false)]
impl Conformance {
    // ----- content -------------------------------------------------------------------------

    /// Returns simple text content.
    #[tool(scopes = ["conformance:read"])]
    async fn test_simple_text(&self) -> String {
        "This is a simple text response for testing.".into()
    }

    /// Returns image content.
    #[tool(scopes = ["conformance:read"])]
    async fn test_image_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::image(PNG_BASE64, "image/png")])
    }

    /// Returns audio content.
    #[tool(scopes = ["conformance:read"])]
    async fn test_audio_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::audio(WAV_BASE64, "audio/wav")])
    }

    /// Returns an embedded resource.
    #[tool(scopes = ["conformance:read"])]
    async fn test_embedded_resource(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::resource(
            ResourceContents::text(
                "This is an embedded resource content.",
                "test://embedded-resource",
            )
            .with_mime_type("text/plain"),
        )])
    }

    /// Returns text, an image and an embedded resource.
    #[tool(scopes = ["conformance:read"])]
    async fn test_multiple_content_types(&self) -> CallToolResult {
        CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG_BASE64, "image/png"),
            ContentBlock::resource(
                ResourceContents::text(
                    r#"{"test":"data","value":123}"#,
                    "test://mixed-content-resource",
                )
                .with_mime_type("application/json"),
            ),
        ])
    }

    /// Always fails with a tool error.
    #[tool(scopes = ["conformance:read"])]
    async fn test_error_handling(&self) -> Result<String, String> {
        Err("This tool intentionally returns an error for testing".into())
    }

    /// Tool with JSON Schema 2020-12 features
    #[tool(scopes = ["conformance:read"], input_schema = schema_2020_12())]
    async fn json_schema_2020_12_tool(&self) -> String {
        "ok".into()
    }

    /// Echoes `region`, which the client also sends as the `Mcp-Param-Region` header.
    #[tool(scopes = ["conformance:read"], input_schema = schema_custom_header())]
    async fn test_custom_header(&self, args: JsonObject) -> String {
        format!(
            "region={}",
            args.get("region").and_then(Value::as_str).unwrap_or("")
        )
    }

    // ----- notifications -------------------------------------------------------------------

    /// Sends three log messages while it runs.
    #[tool(scopes = ["conformance:read"])]
    async fn test_tool_with_logging(&self, ctx: RequestContext<RoleServer>) -> String {
        for (i, message) in [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            self.log(&ctx, LoggingLevel::Info, message).await;
        }
        "Tool with logging executed successfully".into()
    }

    /// Logs only when the request asked for a log level (2026-07-28).
    #[tool(scopes = ["conformance:read"])]
    async fn test_logging_tool(&self, ctx: RequestContext<RoleServer>) -> String {
        self.log(&ctx, LoggingLevel::Info, "test_logging_tool ran")
            .await;
        "logged if asked".into()
    }

    /// Reports progress 0, 50, 100 of 100.
    #[tool(scopes = ["conformance:read"])]
    async fn test_tool_with_progress(&self, ctx: RequestContext<RoleServer>) -> String {
        let token = ctx.meta.get_progress_token();
        for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Some(token) = &token {
                let _ = ctx
                    .peer
                    .notify_progress(
                        ProgressNotificationParam::new(token.clone(), step)
                            .with_total(100.0)
                            .with_message(format!("Completed step {step} of 100")),
                    )
                    .await;
            }
        }
        "Progress test completed".into()
    }

    /// Takes a moment, for the SSE polling scenario (SEP-1699).
    #[tool(scopes = ["conformance:read"])]
    async fn test_reconnection(&self) -> String {
        tokio::time::sleep(Duration::from_millis(100)).await;
        "Reconnection test completed successfully.".into()
    }

    // ----- requests to the client (legacy sessions) ----------------------------------------

    /// Asks the client's LLM (`sampling/createMessage`).
    #[tool(scopes = ["conformance:write"])]
    async fn test_sampling(
        &self,
        Parameters(args): Parameters<PromptArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<String, String> {
        let params =
            CreateMessageRequestParams::new(vec![SamplingMessage::user_text(args.prompt)], 100);
        let result = ctx
            .peer
            .create_message(params)
            .await
            .map_err(|e| format!("Sampling error: {e}"))?;
        let text = serde_json::to_value(&result.message.content)
            .ok()
            .and_then(|c| {
                let c = if c.is_array() { c[0].clone() } else { c };
                c["text"].as_str().map(str::to_owned)
            })
            .unwrap_or_else(|| "No text response".into());
        Ok(format!("LLM response: {text}"))
    }

    /// Asks the user (`elicitation/create`).
    #[tool(scopes = ["conformance:write"])]
    async fn test_elicitation(
        &self,
        Parameters(args): Parameters<MessageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<String, String> {
        elicit(
            &ctx,
            "User response",
            json!({
                "mode": "form",
                "message": args.message,
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "username": { "type": "string", "description": "User's response" },
                        "email": { "type": "string", "description": "User's email address" }
                    },
                    "required": ["username", "email"]
                }
            }),
        )
        .await
    }

    /// Elicitation with a default for every primitive type (SEP-1034).
    #[tool(scopes = ["conformance:write"])]
    async fn test_elicitation_sep1034_defaults(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<String, String> {
        elicit(
            &ctx,
            "Elicitation completed",
            json!({
                "mode": "form",
                "message": "Please review and update the form fields with defaults",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "description": "User name", "default": "John Doe" },
                        "age": { "type": "integer", "description": "User age", "default": 30 },
                        "score": { "type": "number", "description": "User score", "default": 95.5 },
                        "status": {
                            "type": "string", "description": "User status",
                            "enum": ["active", "inactive", "pending"], "default": "active"
                        },
                        "verified": { "type": "boolean", "description": "Verification status", "default": true }
                    }
                }
            }),
        )
        .await
    }

    /// Elicitation with the five enum forms (SEP-1330).
    #[tool(scopes = ["conformance:write"])]
    async fn test_elicitation_sep1330_enums(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<String, String> {
        elicit(
            &ctx,
            "Elicitation completed",
            json!({
                "mode": "form",
                "message": "Please select options",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "untitledSingle": {
                            "type": "string", "description": "Untitled single-select",
                            "enum": ["option1", "option2", "option3"]
                        },
                        "titledSingle": {
                            "type": "string", "description": "Titled single-select",
                            "oneOf": [
                                { "const": "value1", "title": "First Option" },
                                { "const": "value2", "title": "Second Option" },
                                { "const": "value3", "title": "Third Option" }
                            ]
                        },
                        "legacyEnum": {
                            "type": "string", "description": "Legacy titled enum",
                            "enum": ["opt1", "opt2", "opt3"],
                            "enumNames": ["Option One", "Option Two", "Option Three"]
                        },
                        "untitledMulti": {
                            "type": "array", "description": "Untitled multi-select",
                            "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
                        },
                        "titledMulti": {
                            "type": "array", "description": "Titled multi-select",
                            "items": { "anyOf": [
                                { "const": "value1", "title": "First Choice" },
                                { "const": "value2", "title": "Second Choice" },
                                { "const": "value3", "title": "Third Choice" }
                            ] }
                        }
                    }
                }
            }),
        )
        .await
    }

    // ----- 2026-07-28: capabilities and multi round-trip requests (SEP-2575, SEP-2322) -----

    /// Needs the client's `sampling` capability; refuses with -32021 without it.
    #[tool(scopes = ["conformance:read"])]
    async fn test_missing_capability(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let declared = ctx
            .client_capabilities()
            .is_some_and(|c| c.sampling.is_some());
        if !declared {
            return Err(ErrorData::new(
                ErrorCode(-32021),
                "this tool needs the client's sampling capability",
                Some(json!({ "requiredCapabilities": { "sampling": {} } })),
            ));
        }
        Ok(text_result("sampling capability declared"))
    }

    /// Asks for input with an `InputRequiredResult`, never a request on the stream.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_streaming_elicitation(&self) -> InputRequiredResult {
        input_required(json!({
            "resultType": "input_required",
            "inputRequests": { ELICIT_NAME: ask_name() }
        }))
    }

    /// Round 1 asks for a name; round 2 greets it.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_elicitation(
        &self,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        let ask = || {
            input_required(json!({
                "resultType": "input_required",
                "inputRequests": { ELICIT_NAME: ask_name() }
            }))
            .into()
        };
        let Some(responses) = responses else {
            return Ok(ask());
        };
        let Some(response) = responses.get(ELICIT_NAME) else {
            return Ok(ask()); // asked again for what is missing
        };
        if !response.is_object() {
            return Err(invalid_params(
                "inputResponses.user_name is not an ElicitResult",
            ));
        }
        let name = accepted(Some(response))
            .and_then(|c| c.get("name")?.as_str())
            .unwrap_or("stranger");
        Ok(text_result(format!("Hello, {name}!")).into())
    }

    /// Round 1 asks the client's LLM; round 2 returns its answer.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_sampling(
        &self,
        InputResponses(responses): InputResponses,
    ) -> CallToolResponse {
        let answer = responses
            .as_ref()
            .and_then(|r| r.get("capital_question"))
            .and_then(|r| r["content"]["text"].as_str().map(str::to_owned));
        match answer {
            Some(text) => text_result(format!("LLM response: {text}")).into(),
            None => input_required(json!({
                "resultType": "input_required",
                "inputRequests": { "capital_question": {
                    "method": "sampling/createMessage",
                    "params": {
                        "messages": [{ "role": "user", "content": { "type": "text", "text": "What is the capital of France?" } }],
                        "maxTokens": 100
                    }
                } }
            }))
            .into(),
        }
    }

    /// Round 1 asks for the client's roots; round 2 lists them.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_list_roots(
        &self,
        InputResponses(responses): InputResponses,
    ) -> CallToolResponse {
        let roots = responses
            .as_ref()
            .and_then(|r| r.get("client_roots"))
            .and_then(|r| r["roots"].as_array().cloned());
        match roots {
            Some(roots) => {
                let uris: Vec<&str> = roots.iter().filter_map(|r| r["uri"].as_str()).collect();
                text_result(format!("Roots: {}", uris.join(", "))).into()
            }
            None => input_required(json!({
                "resultType": "input_required",
                "inputRequests": { "client_roots": { "method": "roots/list", "params": {} } }
            }))
            .into(),
        }
    }

    /// Round 1 carries a signed `requestState`; round 2 checks it.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_request_state(
        &self,
        InputResponses(responses): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        const TOOL: &str = "test_input_required_result_request_state";
        let round = self.open(TOOL, state.as_deref())?;
        if round == Some(1)
            && responses
                .as_ref()
                .is_some_and(|r| r.contains_key("confirm"))
        {
            return Ok(text_result("state-ok: confirmed").into());
        }
        Ok(input_required(json!({
            "resultType": "input_required",
            "inputRequests": { "confirm": {
                "method": "elicitation/create",
                "params": {
                    "mode": "form",
                    "message": "Please confirm",
                    "requestedSchema": {
                        "type": "object",
                        "properties": { "ok": { "type": "boolean" } },
                        "required": ["ok"]
                    }
                }
            } },
            "requestState": self.seal(TOOL, 1)
        }))
        .into())
    }

    /// Asks for an elicitation, a sampling and the roots at once.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_multiple_inputs(
        &self,
        InputResponses(responses): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        const TOOL: &str = "test_input_required_result_multiple_inputs";
        const KEYS: [&str; 3] = [ELICIT_NAME, "greeting", "client_roots"];
        let round = self.open(TOOL, state.as_deref())?;
        if let (Some(1), Some(r)) = (round, &responses)
            && KEYS.iter().all(|k| r.contains_key(*k))
        {
            return Ok(text_result("All inputs received").into());
        }
        Ok(input_required(json!({
            "resultType": "input_required",
            "inputRequests": {
                ELICIT_NAME: ask_name(),
                "greeting": {
                    "method": "sampling/createMessage",
                    "params": {
                        "messages": [{ "role": "user", "content": { "type": "text", "text": "Generate a greeting" } }],
                        "maxTokens": 50
                    }
                },
                "client_roots": { "method": "roots/list", "params": {} }
            },
            "requestState": self.seal(TOOL, 1)
        }))
        .into())
    }

    /// Three rounds: a name, then a colour, then the answer.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_multi_round(
        &self,
        InputResponses(responses): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        const TOOL: &str = "test_input_required_result_multi_round";
        let round = self.open(TOOL, state.as_deref())?;
        let has = |k: &str| responses.as_ref().is_some_and(|r| r.contains_key(k));
        let step = |key: &str, message: &str, field: &str, round: u32| {
            input_required(json!({
                "resultType": "input_required",
                "inputRequests": { key: {
                    "method": "elicitation/create",
                    "params": {
                        "mode": "form",
                        "message": message,
                        "requestedSchema": {
                            "type": "object",
                            "properties": { field: { "type": "string" } },
                            "required": [field]
                        }
                    }
                } },
                "requestState": self.seal(TOOL, round)
            }))
        };
        Ok(match round {
            Some(2) if has("step2") => text_result("All rounds complete").into(),
            Some(1) if has("step1") => {
                step("step2", "Step 2: What is your favorite color?", "color", 2).into()
            }
            _ => step("step1", "Step 1: What is your name?", "name", 1).into(),
        })
    }

    /// Refuses a `requestState` that is not exactly what it signed.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_tampered_state(
        &self,
        InputResponses(responses): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        const TOOL: &str = "test_input_required_result_tampered_state";
        if self.open(TOOL, state.as_deref())? == Some(1) && responses.is_some() {
            return Ok(text_result("state verified").into());
        }
        Ok(input_required(json!({
            "resultType": "input_required",
            "inputRequests": { ELICIT_NAME: ask_name() },
            "requestState": self.seal(TOOL, 1)
        }))
        .into())
    }

    /// Asks only for what the client declared it can do.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_capabilities(
        &self,
        ctx: RequestContext<RoleServer>,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        if responses.is_some() {
            return Ok(text_result("inputs received").into());
        }
        let caps = ctx.client_capabilities().unwrap_or_default();
        let mut requests = serde_json::Map::new();
        if caps.elicitation.is_some() {
            requests.insert(ELICIT_NAME.into(), ask_name());
        }
        if caps.sampling.is_some() {
            requests.insert(
                "greeting".into(),
                json!({
                    "method": "sampling/createMessage",
                    "params": {
                        "messages": [{ "role": "user", "content": { "type": "text", "text": "Generate a greeting" } }],
                        "maxTokens": 50
                    }
                }),
            );
        }
        if caps.roots.is_some() {
            requests.insert(
                "client_roots".into(),
                json!({ "method": "roots/list", "params": {} }),
            );
        }
        if requests.is_empty() {
            return Err(ErrorData::new(
                ErrorCode(-32021),
                "this tool needs the client's sampling, elicitation or roots capability",
                Some(json!({ "requiredCapabilities": { "sampling": {} } })),
            ));
        }
        Ok(
            input_required(json!({ "resultType": "input_required", "inputRequests": requests }))
                .into(),
        )
    }

    // ----- tasks (SEP-2663) ------------------------------------------------------------------

    /// Greets synchronously; never a task.
    #[tool(scopes = ["conformance:read"])]
    async fn greet(&self, Parameters(args): Parameters<GreetArgs>) -> String {
        format!("Hello, {}!", args.name)
    }

    /// Sleeps `seconds`, then answers: a task when the client negotiated tasks, else inline.
    #[tool(scopes = ["conformance:read"])]
    async fn slow_compute(
        &self,
        Parameters(args): Parameters<ComputeArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let delay = Duration::from_secs_f64(args.seconds.clamp(0.0, 300.0));
        let result = text_result(format!(
            "computed {} in {}s",
            args.label.as_deref().unwrap_or("-"),
            args.seconds
        ));
        if !tasks_negotiated(&ctx) {
            tokio::time::sleep(delay.min(Duration::from_secs(5))).await;
            return Ok(result.into());
        }
        Ok(self.spawn_task(delay, Ok(result)).into())
    }

    /// Always a task (task support "required"), which ends in a tool error after a second.
    #[tool(scopes = ["conformance:read"])]
    async fn failing_job(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !tasks_negotiated(&ctx) {
            return Err(tasks_required());
        }
        let failed = CallToolResult::error(vec![ContentBlock::text("the job failed (on purpose)")]);
        Ok(self.spawn_task(Duration::from_secs(1), Ok(failed)).into())
    }

    /// A task whose execution ends in a protocol error.
    #[tool(scopes = ["conformance:read"])]
    async fn protocol_error_job(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let error = ErrorData::internal_error("the job crashed (on purpose)", None);
        if !tasks_negotiated(&ctx) {
            return Err(error);
        }
        Ok(self
            .spawn_task(Duration::from_millis(200), Err(error))
            .into())
    }

    /// Asks for a confirmation, then deletes (pretends to): as a task, parked in
    /// `input_required`; without tasks, as a multi round-trip request.
    #[tool(scopes = ["conformance:write"])]
    async fn confirm_delete(
        &self,
        Parameters(args): Parameters<FileArgs>,
        InputResponses(responses): InputResponses,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let ask = json!({ "confirm": confirm_request(format!("Delete {}?", args.filename)) });
        if tasks_negotiated(&ctx) {
            return Ok(self
                .input_task(ask, |answers| {
                    let yes = answers.values().any(|a| {
                        accepted(Some(a))
                            .is_some_and(|c| c.get("confirm") == Some(&Value::Bool(true)))
                    });
                    text_result(if yes { "deleted" } else { "kept" })
                })
                .into());
        }
        match responses.as_ref().and_then(|r| r.get("confirm")) {
            Some(answer) => {
                let yes = accepted(Some(answer))
                    .is_some_and(|c| c.get("confirm") == Some(&Value::Bool(true)));
                Ok(text_result(if yes {
                    format!("deleted {}", args.filename)
                } else {
                    "kept".into()
                })
                .into())
            }
            None => Ok(input_required(
                json!({ "resultType": "input_required", "inputRequests": ask }),
            )
            .into()),
        }
    }

    /// A task that asks two questions at once.
    #[tool(scopes = ["conformance:write"])]
    async fn multi_input(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !tasks_negotiated(&ctx) {
            return Err(tasks_required());
        }
        Ok(self
            .input_task(
                json!({ "first": ask_name(), "second": ask_name() }),
                |answers| text_result(format!("{} answers received", answers.len())),
            )
            .into())
    }

    /// Round 1 asks for a name (MRTR); round 2 turns the request into a task that greets it.
    #[tool(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_tool_with_task(
        &self,
        InputResponses(responses): InputResponses,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = responses
            .as_ref()
            .and_then(|r| accepted(r.get(ELICIT_NAME)))
            .and_then(|c| c.get("name")?.as_str().map(str::to_owned));
        let Some(name) = name else {
            return Ok(input_required(json!({
                "resultType": "input_required",
                "inputRequests": { ELICIT_NAME: ask_name() }
            }))
            .into());
        };
        if !tasks_negotiated(&ctx) {
            return Err(tasks_required());
        }
        let greeting = text_result(format!("Hello, {name}!"));
        Ok(self
            .spawn_task(Duration::from_millis(100), Ok(greeting))
            .into())
    }

    // ----- list changes (2026-07-28 subscriptions/listen) -----------------------------------

    /// Adds or removes `test_dynamic_tool`, and says so on every listen stream (2026-07-28)
    /// or to the calling session (legacy).
    #[tool(scopes = ["conformance:write"])]
    async fn test_trigger_tool_change(&self, ctx: RequestContext<RoleServer>) -> String {
        let on = !self.inner.dynamic_tool.fetch_xor(true, Ordering::SeqCst);
        let _ = self.inner.changes.send(Change::Tools);
        if !is_modern(&ctx) {
            let _ = ctx.peer.notify_tool_list_changed().await;
        }
        format!("test_dynamic_tool {}", if on { "added" } else { "removed" })
    }

    /// Adds or removes `test_dynamic_prompt`, and says so on every listen stream (2026-07-28)
    /// or to the calling session (legacy).
    #[tool(scopes = ["conformance:write"])]
    async fn test_trigger_prompt_change(&self, ctx: RequestContext<RoleServer>) -> String {
        let on = !self.inner.dynamic_prompt.fetch_xor(true, Ordering::SeqCst);
        let _ = self.inner.changes.send(Change::Prompts);
        if !is_modern(&ctx) {
            let _ = ctx.peer.notify_prompt_list_changed().await;
        }
        format!(
            "test_dynamic_prompt {}",
            if on { "added" } else { "removed" }
        )
    }

    /// Listed only while switched on by `test_trigger_tool_change`.
    #[tool(scopes = ["conformance:read"])]
    async fn test_dynamic_tool(&self) -> String {
        "dynamic".into()
    }

    /// Listed only while switched on by `test_trigger_prompt_change`.
    #[prompt(scopes = ["conformance:read"])]
    async fn test_dynamic_prompt(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "dynamic")]
    }

    // ----- resources -----------------------------------------------------------------------

    /// A static text resource.
    #[resource(uri = "test://static-text", mime_type = "text/plain", scopes = ["conformance:read"])]
    async fn static_text(&self) -> &'static str {
        "This is the content of the static text resource."
    }

    /// A static binary resource (a PNG).
    #[resource(uri = "test://static-binary", mime_type = "image/png", scopes = ["conformance:read"])]
    async fn static_binary(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(PNG_BASE64)
            .expect("valid base64")
    }

    /// Data for one id.
    #[resource(uri = "test://template/{id}/data", mime_type = "application/json", scopes = ["conformance:read"])]
    async fn template_data(&self, id: String) -> Value {
        json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
    }

    /// A resource clients may subscribe to.
    #[resource(uri = "test://watched-resource", mime_type = "text/plain", scopes = ["conformance:read"])]
    async fn watched_resource(&self) -> &'static str {
        "Watched resource content"
    }

    // ----- prompts -------------------------------------------------------------------------

    /// A simple prompt without arguments.
    #[prompt(scopes = ["conformance:read"])]
    async fn test_simple_prompt(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            "This is a simple prompt for testing.",
        )]
    }

    /// A prompt with two arguments.
    #[prompt(scopes = ["conformance:read"])]
    async fn test_prompt_with_arguments(
        &self,
        Parameters(args): Parameters<TwoArgs>,
    ) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            format!(
                "Prompt with arguments: arg1='{}', arg2='{}'",
                args.arg1, args.arg2
            ),
        )]
    }

    /// A prompt embedding a resource.
    #[prompt(scopes = ["conformance:read"])]
    async fn test_prompt_with_embedded_resource(
        &self,
        Parameters(args): Parameters<EmbedArgs>,
    ) -> Vec<PromptMessage> {
        vec![
            PromptMessage::new(
                Role::User,
                ContentBlock::resource(
                    ResourceContents::text(
                        "Embedded resource content for testing.",
                        args.resource_uri,
                    )
                    .with_mime_type("text/plain"),
                ),
            ),
            PromptMessage::new_text(Role::User, "Please process the embedded resource above."),
        ]
    }

    /// A prompt with an image.
    #[prompt(scopes = ["conformance:read"])]
    async fn test_prompt_with_image(&self) -> Vec<PromptMessage> {
        vec![
            PromptMessage::new(Role::User, ContentBlock::image(PNG_BASE64, "image/png")),
            PromptMessage::new_text(Role::User, "Please analyze the image above."),
        ]
    }

    /// A prompt that first asks the user for context (SEP-2322).
    #[prompt(scopes = ["conformance:read"], roles = ["tester"])]
    async fn test_input_required_result_prompt(
        &self,
        Extension(PromptInput(responses)): Extension<PromptInput>,
    ) -> PromptAnswer {
        let context = responses
            .as_ref()
            .and_then(|r| accepted(r.get("user_context")))
            .and_then(|c| c.get("context")?.as_str().map(str::to_owned));
        match context {
            Some(context) => PromptAnswer(
                GetPromptResult::new(vec![PromptMessage::new_text(
                    Role::User,
                    format!("Use this context: {context}"),
                )])
                .into(),
            ),
            None => input_required(json!({
                "resultType": "input_required",
                "inputRequests": { "user_context": {
                    "method": "elicitation/create",
                    "params": {
                        "mode": "form",
                        "message": "What context should the prompt use?",
                        "requestedSchema": {
                            "type": "object",
                            "properties": { "context": { "type": "string" } },
                            "required": ["context"]
                        }
                    }
                } }
            }))
            .into_answer(),
        }
    }
}

/// Either a prompt or a request for input: `#[prompt]` methods return one type, and rmcp
/// converts only `GetPromptResult` or `InputRequiredResult`, not the enum of both.
pub struct PromptAnswer(pub GetPromptResponse);

impl IntoGetPromptResult for PromptAnswer {
    fn into_get_prompt_result(self) -> Result<GetPromptResponse, ErrorData> {
        Ok(self.0)
    }
}

trait IntoAnswer {
    fn into_answer(self) -> PromptAnswer;
}

impl IntoAnswer for InputRequiredResult {
    fn into_answer(self) -> PromptAnswer {
        PromptAnswer(self.into())
    }
}

/// `elicitation/create` with `params` (raw JSON, so every schema form reaches the client as
/// written); the tool's text is `"<label>: action=…, content=…"`.
async fn elicit(
    ctx: &RequestContext<RoleServer>,
    label: &str,
    params: Value,
) -> Result<String, String> {
    let params: ElicitRequestParams =
        serde_json::from_value(params).map_err(|e| format!("bad elicitation: {e}"))?;
    let result = match ctx
        .peer
        .send_request(ServerRequest::ElicitRequest(ElicitRequest::new(params)))
        .await
    {
        Ok(ClientResult::ElicitResult(result)) => result,
        Ok(other) => return Err(format!("Elicitation error: unexpected answer {other:?}")),
        Err(e) => return Err(format!("Elicitation error: {e}")),
    };
    let v = serde_json::to_value(&result).unwrap_or_default();
    Ok(format!(
        "{label}: action={}, content={}",
        v["action"].as_str().unwrap_or("?"),
        v.get("content").cloned().unwrap_or_else(|| json!({}))
    ))
}

const COMPLETIONS: [&str; 6] = ["paris", "park", "party", "test", "testing", "tested"];

impl ServerHandler for Conformance {
    fn get_info(&self) -> ServerConfig {
        let mut info = self.auth_get_info();
        let caps = &mut info.capabilities;
        caps.logging = Some(JsonObject::new());
        caps.completions = Some(JsonObject::new());
        if let Some(resources) = caps.resources.as_mut() {
            resources.subscribe = Some(true);
        }
        if let Some(tools) = caps.tools.as_mut() {
            tools.list_changed = Some(true);
        }
        if let Some(prompts) = caps.prompts.as_mut() {
            prompts.list_changed = Some(true);
        }
        caps.extensions
            .get_or_insert_with(Default::default)
            .insert(TASKS.into(), JsonObject::new());
        info
    }

    async fn discover(
        &self,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        self.count();
        // 2026-07-28 has no resources/subscribe: subscriptions/listen replaces it.
        let mut info = self.get_info();
        if let Some(resources) = info.capabilities.resources.as_mut() {
            resources.subscribe = None;
        }
        Ok(DiscoverResult::from_server_info(
            self.supported_protocol_versions().into_owned(),
            info,
        ))
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let mut accepted = SubscriptionFilter::new();
        accepted.tools_list_changed = requested.tools_list_changed.filter(|on| *on);
        accepted.prompts_list_changed = requested.prompts_list_changed.filter(|on| *on);
        Some(accepted)
    }

    /// A `subscriptions/listen` stream: every list change until the client goes away. The
    /// sink drops what the client did not ask for.
    async fn listen(&self, ctx: SubscriptionContext) -> Result<(), ErrorData> {
        self.count();
        let mut changes = self.inner.changes.subscribe();
        loop {
            tokio::select! {
                () = ctx.cancelled() => return Ok(()),
                change = changes.recv() => match change {
                    Ok(Change::Tools) => { let _ = ctx.sink().notify_tool_list_changed().await; }
                    Ok(Change::Prompts) => { let _ = ctx.sink().notify_prompt_list_changed().await; }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.count();
        if request.name == "test_dynamic_tool" && !self.inner.dynamic_tool.load(Ordering::SeqCst) {
            return Err(invalid_params("tool not found"));
        }
        self.auth_call_tool(request, ctx).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.count();
        let mut list = self.auth_list_tools(request, ctx).await?;
        if !self.inner.dynamic_tool.load(Ordering::SeqCst) {
            list.tools.retain(|t| t.name != "test_dynamic_tool");
        }
        Ok(list)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.auth_get_tool(name)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        mut ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.count();
        if request.name == "test_dynamic_prompt"
            && !self.inner.dynamic_prompt.load(Ordering::SeqCst)
        {
            return Err(invalid_params("prompt not found"));
        }
        ctx.extensions
            .insert(PromptInput(request.input_responses.clone()));
        self.auth_get_prompt(request, ctx).await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        self.count();
        let mut list = self.auth_list_prompts(request, ctx).await?;
        if !self.inner.dynamic_prompt.load(Ordering::SeqCst) {
            list.prompts.retain(|p| p.name != "test_dynamic_prompt");
        }
        Ok(list)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.count();
        self.auth_read_resource(request, ctx).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.count();
        self.auth_list_resources(request, ctx).await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.count();
        self.auth_list_resource_templates(request, ctx).await
    }

    /// Completion answers only for a prompt or template the caller may use, like any other
    /// access to it; everything else is "not found".
    async fn complete(
        &self,
        request: CompleteRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        self.count();
        let (kind, name) = match &request.r#ref {
            Reference::Prompt(p) => (ItemKind::Prompt, p.name.clone()),
            Reference::Resource(r) => (ItemKind::Template, r.uri.clone()),
            _ => return Err(invalid_params("unknown completion reference")),
        };
        let policy = <Self as Protected>::policy();
        let token = current_token();
        let grants = token.as_ref().map(|t| policy.grants(t));
        if !matches!(policy.decide(grants.as_ref(), kind, &name), Decision::Allow) {
            return Err(invalid_params(format!("no completions for {name}")));
        }
        let prefix = request.argument.value.to_lowercase();
        let values = COMPLETIONS
            .iter()
            .filter(|v| v.starts_with(&prefix))
            .map(|v| (*v).to_owned())
            .collect();
        let info = CompletionInfo::with_all_values(values).map_err(invalid_params)?;
        Ok(CompleteResult::new(info))
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        self.count();
        if !tasks_negotiated(&ctx) {
            return Err(tasks_required());
        }
        self.with_task(&request.task_id, |t| {
            GetTaskResult::new(DetailedTask::new(t.task.clone(), t.payload.clone()))
        })
    }

    /// Answers to a task's input requests: unknown keys are ignored, answered ones leave the
    /// pending set, and the last answer finishes the task.
    async fn update_task(
        &self,
        request: UpdateTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.count();
        if !tasks_negotiated(&ctx) {
            return Err(tasks_required());
        }
        self.with_task(&request.task_id, |t| {
            let TaskPayload::InputRequired { input_requests } = &mut t.payload else {
                return;
            };
            for (key, answer) in request.input_responses {
                if input_requests.remove(&key).is_some() {
                    t.answers.insert(key, answer);
                }
            }
            t.task.last_updated_at = now_iso();
            if input_requests.is_empty() {
                let result = t
                    .on_input
                    .map_or_else(|| text_result("done"), |f| f(&t.answers));
                t.payload = TaskPayload::Completed {
                    result: result_object(&result),
                };
                t.task.status = TaskStatus::Completed;
            }
        })
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.count();
        if !tasks_negotiated(&ctx) {
            return Err(tasks_required());
        }
        self.with_task(&request.task_id, |t| {
            if t.task.status.is_terminal() {
                return;
            }
            if let Some(worker) = t.worker.take() {
                worker.abort();
            }
            t.task.status = TaskStatus::Cancelled;
            t.task.last_updated_at = now_iso();
            t.payload = TaskPayload::Cancelled;
        })
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.count();
        *self
            .inner
            .log_level
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(request.level);
        Ok(())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.count();
        self.inner
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.count();
        self.inner
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&request.uri);
        Ok(())
    }
}

/// A running fixture: its endpoint, a token that may use everything, what it answered, and
/// the task serving it (aborted on drop).
pub struct Fixture {
    /// `http://127.0.0.1:<port>/mcp`
    pub url: String,
    /// A JWT with the baseline scope, `conformance:write` (which implies `conformance:read`)
    /// and the `tester` role.
    pub token: String,
    /// The handler, for [`Conformance::handled`].
    pub server: Conformance,
    /// Responses of the MCP endpoint by HTTP status.
    pub statuses: Arc<Mutex<BTreeMap<u16, usize>>>,
    /// The issuer (kept alive: the verifier fetches its keys from it).
    pub issuer: DevIssuer,
    task: tokio::task::JoinHandle<Result<(), mcp_auth::ServeError>>,
}

impl Fixture {
    /// Responses of the MCP endpoint by HTTP status, so far.
    pub fn statuses(&self) -> BTreeMap<u16, usize> {
        self.statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start the fixture on `listener` (loopback) behind a JWT verifier for a fresh dev issuer, and
/// mint a token that may use everything.
pub async fn start(
    listener: tokio::net::TcpListener,
) -> Result<Fixture, Box<dyn std::error::Error>> {
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}/mcp");
    let issuer = DevIssuer::start().await?;
    let token = issuer.mint(
        &DevUser::new("conformance@example.com")
            .client_id("mcp-conformance-suite")
            .audience(&url)
            .scopes([BASELINE, "conformance:write"])
            .roles(["tester"]),
    );
    let server = Conformance::default();
    let router = AuthServer::new(server.clone())
        .name("mcp-auth-conformance")
        .version(env!("CARGO_PKG_VERSION"))
        .verifier(issuer.verifier(&url).build()?)
        .resource(url.clone())
        .authorization_server(issuer.issuer())
        .required_scopes([BASELINE])
        // Legacy sessions for the initialize-era scenarios (server-to-client requests need a
        // session); 2026-07-28 requests are served statelessly regardless.
        .legacy_sessions(true)
        .json_response(false)
        .into_router()?;
    let statuses = Arc::new(Mutex::new(BTreeMap::new()));
    let seen = statuses.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let seen = seen.clone();
            async move {
                let mcp = req.uri().path().starts_with("/mcp");
                let res = next.run(req).await;
                if mcp {
                    *seen
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(res.status().as_u16())
                        .or_insert(0) += 1;
                }
                res
            }
        },
    ));
    let task = tokio::spawn(mcp_auth::serve_router(
        listener,
        router,
        std::future::pending(),
    ));
    Ok(Fixture {
        url,
        token,
        server,
        statuses,
        issuer,
        task,
    })
}

#[allow(dead_code)] // tests/conformance.rs includes this file for `start`, not for `main`.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse()?,
        None => 8002,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let fixture = start(listener).await?;
    println!("MCP_URL={}", fixture.url);
    println!("MCP_TOKEN={}", fixture.token);
    // Until Ctrl-C or SIGTERM; then exit at once (open SSE streams would hold a graceful
    // shutdown forever).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    drop(fixture);
    Ok(())
}
