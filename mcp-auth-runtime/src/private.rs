//! What the `mcp-auth` macros expand to. Not a public API: names here change without notice.
#![allow(missing_docs)]

use std::{future::Future, time::Instant};

use rmcp::{
    ErrorData, Json, RoleServer,
    handler::server::{
        common::FromContextPart,
        prompt::{IntoGetPromptResult, PromptContext},
        router::{prompt::PromptRouter, tool::ToolRouter},
        tool::{IntoCallToolResult, ToolCallContext},
    },
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, ErrorCode, GetPromptRequestParams,
        GetPromptResponse, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
        ListToolsResult, ProtocolVersion, ReadResourceResponse, ReadResourceResult, Resource,
        ResourceContents, ResourceTemplate, ResultType,
    },
    service::{MaybeSend, RequestContext},
};

pub use crate::declared::{
    DeclKind, Declared, NameSet, UnknownName, check_in, roles_of, scopes_of,
};
pub use crate::policy::{
    Decision, Grants, HierarchyTable, Item, ItemKind, Policy, PolicyTable, Protected, Requirement,
    Undeclared, UriTemplate, is_scope_token,
};
pub use crate::ratelimit::Rate;
use crate::{
    AccessToken, Unauthenticated,
    audit::{self, Record},
    context::token_from_context,
    operation::OperationChecked,
    ratelimit::{self, RATE_LIMITED_CODE, principal_key, retry_after_secs},
};

/// JSON-RPC error code of a scope shortfall found inside the handler (stdio, in-memory, or
/// anything the layer did not see). Over HTTP the layer answers 403 first.
pub const INSUFFICIENT_SCOPE: ErrorCode = ErrorCode(-32003);

/// The caller of a request and their expanded grants, computed once.
pub struct Caller<'p> {
    policy: &'p Policy,
    token: Option<AccessToken>,
    grants: Option<Grants>,
    /// Whether the HTTP layer's policy check decided (and audited, and rate-limited) this
    /// request already; if not, the handler does.
    checked: bool,
    /// Whether the request came over HTTP.
    http: bool,
    start: Instant,
}

impl<'p> Caller<'p> {
    pub fn of(policy: &'p Policy, ctx: &RequestContext<RoleServer>) -> Self {
        let token = token_from_context(ctx);
        let parts = ctx.extensions.get::<http::request::Parts>();
        let checked = parts.and_then(|p| p.extensions.get::<OperationChecked>());
        // The guard's expansion of the same token, if it made one under this policy.
        let grants = token.as_ref().map(|t| {
            t.remembered_grants(policy)
                .unwrap_or_else(|| policy.grants(t))
        });
        Self {
            policy,
            token,
            grants,
            checked: checked.is_some(),
            http: parts.is_some(),
            start: Instant::now(),
        }
    }

    pub fn decide(&self, kind: ItemKind, name: &str) -> Decision<'p> {
        self.policy.decide(self.grants.as_ref(), kind, name)
    }

    pub fn may(&self, kind: ItemKind, name: &str) -> bool {
        self.decide(kind, name) == Decision::Allow
    }

    /// Check before dispatch: `Ok(token)` to go on, or the error to answer. `not_found` is the
    /// exact error an unknown item gets, so a hidden item is indistinguishable from one.
    pub fn authorize(
        self,
        kind: ItemKind,
        name: &str,
        not_found: impl FnOnce() -> ErrorData,
    ) -> Result<Option<AccessToken>, ErrorData> {
        match self.policy.decide_rated(self.grants.as_ref(), kind, name) {
            (Decision::Allow, slot) => self.admit_allowed(kind, name, slot),
            (Decision::Hidden, _) => {
                self.audit(kind, name, false, "hidden", None);
                Err(not_found())
            }
            (Decision::MissingScopes { scopes }, _) => {
                self.audit(kind, name, false, "insufficient_scope", None);
                Err(insufficient_scope(scopes))
            }
        }
    }

    /// Like [`Caller::authorize`], for an item whose existence the caller of this function
    /// determined (`exists`); `not_found` sees the caller, to list only what it may use.
    pub fn admit(
        self,
        kind: ItemKind,
        name: &str,
        exists: bool,
        not_found: impl FnOnce(&Self) -> ErrorData,
    ) -> Result<Option<AccessToken>, ErrorData> {
        match self.policy.decide_rated(self.grants.as_ref(), kind, name) {
            (Decision::Allow, slot) if exists => self.admit_allowed(kind, name, slot),
            (Decision::MissingScopes { scopes }, _) if exists => {
                self.audit(kind, name, false, "insufficient_scope", None);
                Err(insufficient_scope(scopes))
            }
            _ => {
                self.audit(kind, name, false, "hidden", None);
                Err(not_found(&self))
            }
        }
    }

    /// An allowed item: spend its rate (unless the layer did), then go on.
    fn admit_allowed(
        self,
        kind: ItemKind,
        name: &str,
        slot: Option<crate::policy::RateSlot>,
    ) -> Result<Option<AccessToken>, ErrorData> {
        if !self.checked
            && let Some(slot) = slot
        {
            let key = self
                .token
                .as_ref()
                .map_or(ratelimit::ANONYMOUS, principal_key);
            if let Err(wait) = self.policy.handler_limits().check(slot, key) {
                self.audit(kind, name, false, "rate_limited", Some("operation"));
                return Err(rate_limited(wait));
            }
        }
        self.audit(kind, name, true, "ok", None);
        Ok(self.token)
    }

    /// The audit event of a decision the layer did not make.
    fn audit(
        &self,
        kind: ItemKind,
        name: &str,
        allow: bool,
        reason: &'static str,
        limit: Option<&'static str>,
    ) {
        if self.checked || !audit::enabled() {
            return;
        }
        Record {
            allow,
            reason,
            status: None,
            limit,
            token: self.token.as_ref(),
            method: Some(match kind {
                ItemKind::Tool => "tools/call",
                ItemKind::Prompt => "prompts/get",
                ItemKind::Resource | ItemKind::Template => "resources/read",
            }),
            item: Some(name),
            client_ip: None,
            latency: self.start.elapsed(),
            transport: if self.http { "http" } else { "handler" },
        }
        .emit();
    }
}

/// The JSON-RPC error of an exhausted `rate` in the handler.
pub fn rate_limited(wait: std::time::Duration) -> ErrorData {
    let secs = retry_after_secs(wait);
    ErrorData::new(
        ErrorCode(RATE_LIMITED_CODE),
        format!("rate limit exceeded: retry in {secs} s"),
        Some(serde_json::json!({ "error": "rate_limited", "retry_after": secs })),
    )
}

/// rmcp's own error for an unknown prompt (`PromptRouter::get_prompt`), listing only the
/// prompts this caller may use.
pub fn prompt_not_found<'a>(name: &str, visible: impl Iterator<Item = &'a str>) -> ErrorData {
    ErrorData::invalid_params(
        format!("prompt '{name}' not found"),
        Some(serde_json::json!({ "available_prompts": visible.collect::<Vec<_>>() })),
    )
}

/// The answer to `resources/read` for a URI that is unknown or hidden from the caller.
pub fn resource_not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        "resource not found",
        Some(serde_json::json!({ "uri": uri })),
    )
}

pub fn insufficient_scope(scopes: &str) -> ErrorData {
    ErrorData::new(
        INSUFFICIENT_SCOPE,
        format!("insufficient scope: this operation requires {scopes}"),
        Some(serde_json::json!({ "error": "insufficient_scope", "scope": scopes })),
    )
}

/// Run a handler future with the caller as [`current_token`](crate::current_token).
pub fn with_caller<F: Future>(
    token: Option<AccessToken>,
    fut: F,
) -> impl Future<Output = F::Output> {
    crate::context::scope_opt(token, fut)
}

/// `ttlMs` / `cacheScope` for a filtered list: private on 2026-07-28 and later, absent before.
pub fn private_cache(ctx: &RequestContext<RoleServer>) -> (Option<u64>, Option<CacheScope>) {
    let modern = ctx
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    if modern {
        (Some(0), Some(CacheScope::Private))
    } else {
        (None, None)
    }
}

// ---------------------------------------------------------------------------------------------
// The generated `ServerHandler` methods: each checks the caller against the policy before
// dispatching, and lists only what the caller may use.

/// `tools/call`: the check runs before rmcp deserializes the arguments; a hidden tool gets
/// exactly rmcp's unknown-tool error.
pub async fn call_tool<S: MaybeSend + 'static>(
    policy: &'static Policy,
    router: &'static ToolRouter<S>,
    server: &S,
    request: CallToolRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<CallToolResponse, ErrorData> {
    let token = Caller::of(policy, &context).authorize(ItemKind::Tool, &request.name, || {
        ErrorData::invalid_params("tool not found", None)
    })?;
    with_caller(
        token,
        router.call(ToolCallContext::new(server, request, context)),
    )
    .await
}

/// `tools/list`, filtered for the caller.
pub fn list_tools<S: MaybeSend + 'static>(
    policy: &'static Policy,
    router: &'static ToolRouter<S>,
    context: &RequestContext<RoleServer>,
) -> Result<ListToolsResult, ErrorData> {
    let caller = Caller::of(policy, context);
    let (ttl_ms, cache_scope) = private_cache(context);
    // Decide first and clone only what the caller may see (`list_all` clones every tool).
    let mut tools: Vec<_> = router
        .map
        .values()
        .filter(|route| {
            !router.is_disabled(route.name()) && caller.may(ItemKind::Tool, route.name())
        })
        .map(|route| route.attr.clone())
        .collect();
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ListToolsResult {
        result_type: Some(ResultType::COMPLETE),
        meta: None,
        next_cursor: None,
        ttl_ms,
        cache_scope,
        tools,
    })
}

/// `prompts/get`: a hidden prompt gets exactly rmcp's unknown-prompt error, whose list of
/// available prompts shows only the caller's.
pub async fn get_prompt<S: MaybeSend + 'static>(
    policy: &'static Policy,
    router: &'static PromptRouter<S>,
    server: &S,
    request: GetPromptRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<GetPromptResponse, ErrorData> {
    let exists = router.has_route(&request.name);
    let token =
        Caller::of(policy, &context).admit(ItemKind::Prompt, &request.name, exists, |caller| {
            let all = router.list_all();
            let visible = all
                .iter()
                .filter(|p| caller.may(ItemKind::Prompt, &p.name))
                .map(|p| p.name.as_str());
            prompt_not_found(&request.name, visible)
        })?;
    let context = rmcp::handler::server::prompt::PromptContext::new(
        server,
        request.name,
        request.arguments,
        context,
    );
    with_caller(token, router.get_prompt(context)).await
}

/// `prompts/list`, filtered for the caller.
pub fn list_prompts<S: MaybeSend + 'static>(
    policy: &'static Policy,
    router: &'static PromptRouter<S>,
    context: &RequestContext<RoleServer>,
) -> Result<ListPromptsResult, ErrorData> {
    let caller = Caller::of(policy, context);
    let (ttl_ms, cache_scope) = private_cache(context);
    let mut prompts = router.list_all();
    prompts.retain(|p| caller.may(ItemKind::Prompt, &p.name));
    Ok(ListPromptsResult {
        result_type: Some(ResultType::COMPLETE),
        meta: None,
        next_cursor: None,
        ttl_ms,
        cache_scope,
        prompts,
    })
}

/// `resources/list`, filtered for the caller.
pub fn list_resources(
    policy: &'static Policy,
    resources: &[Resource],
    context: &RequestContext<RoleServer>,
) -> Result<ListResourcesResult, ErrorData> {
    let caller = Caller::of(policy, context);
    let (ttl_ms, cache_scope) = private_cache(context);
    Ok(ListResourcesResult {
        result_type: Some(ResultType::COMPLETE),
        meta: None,
        next_cursor: None,
        ttl_ms,
        cache_scope,
        resources: resources
            .iter()
            .filter(|r| caller.may(ItemKind::Resource, &r.uri))
            .cloned()
            .collect(),
    })
}

/// `resources/templates/list`, filtered for the caller.
pub fn list_resource_templates(
    policy: &'static Policy,
    templates: &[ResourceTemplate],
    context: &RequestContext<RoleServer>,
) -> Result<ListResourceTemplatesResult, ErrorData> {
    let caller = Caller::of(policy, context);
    let (ttl_ms, cache_scope) = private_cache(context);
    Ok(ListResourceTemplatesResult {
        result_type: Some(ResultType::COMPLETE),
        meta: None,
        next_cursor: None,
        ttl_ms,
        cache_scope,
        resource_templates: templates
            .iter()
            .filter(|t| caller.may(ItemKind::Template, &t.uri_template))
            .cloned()
            .collect(),
    })
}

/// A resource method's value as the `resources/read` answer, marked private to the caller on
/// 2026-07-28 and later unless the method chose otherwise.
pub fn resource_result<T: IntoResourceResult>(
    value: T,
    uri: &str,
    mime: Option<&'static str>,
    context: &RequestContext<RoleServer>,
) -> Result<ReadResourceResponse, ErrorData> {
    let mut result = value.into_resource_result(uri, mime)?;
    if result.cache_scope.is_none() {
        let (ttl_ms, cache_scope) = private_cache(context);
        result.ttl_ms = result.ttl_ms.or(ttl_ms);
        result.cache_scope = cache_scope;
    }
    Ok(result.into())
}

// ---------------------------------------------------------------------------------------------
// Resources: what a `#[resource]` method may take and return.

/// A resource method's value, turned into the `resources/read` result for `uri`. `mime` is
/// the attribute's `mime_type`, if any.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a resource",
    label = "not resource contents",
    note = "return `String` or `&str` (text), `Vec<u8>` (blob), `Json<T>` or `serde_json::Value` (JSON text), `ResourceContents`, `Vec<ResourceContents>` or `ReadResourceResult`, or a `Result<_, E>` of one of these with `E: Into<rmcp::ErrorData>`"
)]
pub trait IntoResourceResult {
    fn into_resource_result(
        self,
        uri: &str,
        mime: Option<&'static str>,
    ) -> Result<ReadResourceResult, ErrorData>;
}

fn text(uri: &str, text: String, mime: &str) -> Result<ReadResourceResult, ErrorData> {
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(mime),
    ]))
}

/// `impl IntoResourceResult for $ty` with `|value, uri, mime| body`.
macro_rules! into_resource {
    ($($ty:ty => |$v:ident, $uri:ident, $mime:ident| $body:expr;)*) => {$(
        impl IntoResourceResult for $ty {
            fn into_resource_result(
                self,
                $uri: &str,
                $mime: Option<&'static str>,
            ) -> Result<ReadResourceResult, ErrorData> {
                let $v = self;
                $body
            }
        }
    )*};
}

into_resource! {
    String => |v, uri, mime| text(uri, v, mime.unwrap_or("text/plain"));
    &str => |v, uri, mime| text(uri, v.to_owned(), mime.unwrap_or("text/plain"));
    serde_json::Value => |v, uri, mime| text(uri, v.to_string(), mime.unwrap_or("application/json"));
    Vec<u8> => |v, uri, mime| Ok(ReadResourceResult::new(vec![
        ResourceContents::blob(base64(&v), uri)
            .with_mime_type(mime.unwrap_or("application/octet-stream")),
    ]));
    ResourceContents => |v, _uri, _mime| Ok(ReadResourceResult::new(vec![v]));
    Vec<ResourceContents> => |v, _uri, _mime| Ok(ReadResourceResult::new(v));
    ReadResourceResult => |v, _uri, _mime| Ok(v);
}

impl<T: serde::Serialize> IntoResourceResult for Json<T> {
    fn into_resource_result(
        self,
        uri: &str,
        mime: Option<&'static str>,
    ) -> Result<ReadResourceResult, ErrorData> {
        let json = serde_json::to_string(&self.0).map_err(|e| {
            ErrorData::internal_error(format!("cannot serialize resource {uri}: {e}"), None)
        })?;
        text(uri, json, mime.unwrap_or("application/json"))
    }
}

impl<T: IntoResourceResult, E: Into<ErrorData>> IntoResourceResult for Result<T, E> {
    fn into_resource_result(
        self,
        uri: &str,
        mime: Option<&'static str>,
    ) -> Result<ReadResourceResult, ErrorData> {
        self.map_err(Into::into)?.into_resource_result(uri, mime)
    }
}

/// A parameter of a resource method other than a URI template variable.
pub trait FromResourceRequest: Sized {
    fn from_resource_request(ctx: &RequestContext<RoleServer>) -> Result<Self, ErrorData>;
}

impl FromResourceRequest for AccessToken {
    fn from_resource_request(ctx: &RequestContext<RoleServer>) -> Result<Self, ErrorData> {
        token_from_context(ctx).ok_or_else(|| Unauthenticated.into())
    }
}

impl FromResourceRequest for Option<AccessToken> {
    fn from_resource_request(ctx: &RequestContext<RoleServer>) -> Result<Self, ErrorData> {
        Ok(token_from_context(ctx))
    }
}

impl FromResourceRequest for RequestContext<RoleServer> {
    fn from_resource_request(ctx: &RequestContext<RoleServer>) -> Result<Self, ErrorData> {
        Ok(ctx.clone())
    }
}

/// Standard base64 with padding, for blob resources.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A resource parameter that is not a URI template variable, extracted from the request.
/// `N` names the parameter in the error.
#[diagnostic::on_unimplemented(
    message = "parameter `{N}` of a resource is neither a URI template variable nor an extractor: `{Self}`",
    label = "not a resource parameter",
    note = "a resource method takes `&self`, one `String` per URI template variable (named like the variable), and optionally `AccessToken`, `Option<AccessToken>` or `RequestContext<RoleServer>`"
)]
pub trait ResourceParam<N>: Sized {
    fn extract(ctx: &RequestContext<RoleServer>) -> Result<Self, ErrorData>;
}
#[diagnostic::do_not_recommend]
impl<N, T: FromResourceRequest> ResourceParam<N> for T {
    fn extract(ctx: &RequestContext<RoleServer>) -> Result<Self, ErrorData> {
        T::from_resource_request(ctx)
    }
}

// ---------------------------------------------------------------------------------------------
// Tool and prompt routes: `#[mcp_auth::server]` builds rmcp's routes with these, so that a
// parameter that is not an extractor, or a return type rmcp cannot send, is reported at that
// parameter or type, naming it (`N` is a marker type named after the parameter).

#[diagnostic::on_unimplemented(
    message = "parameter `{N}` cannot be extracted from a tool call: `{Self}` is not an extractor",
    label = "not a tool parameter",
    note = "tool arguments go in one `Parameters<T>` (T: Deserialize + JsonSchema); other parameters must be extractors such as `AccessToken`, `RequestContext<RoleServer>`, `Peer<RoleServer>`, `Extension<T>` or `CancellationToken`"
)]
pub trait ToolParam<S, N>: Sized {
    fn extract(ctx: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData>;
}
#[diagnostic::do_not_recommend]
impl<S, N, T> ToolParam<S, N> for T
where
    T: for<'a> FromContextPart<ToolCallContext<'a, S>>,
{
    fn extract(ctx: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        T::from_context_part(ctx)
    }
}

#[diagnostic::on_unimplemented(
    message = "parameter `{N}` cannot be extracted from a prompt request: `{Self}` is not an extractor",
    label = "not a prompt parameter",
    note = "prompt arguments go in one `Parameters<T>` (T: Deserialize + JsonSchema); other parameters must be extractors such as `AccessToken`, `RequestContext<RoleServer>` or `Extension<T>`"
)]
pub trait PromptParam<S, N>: Sized {
    fn extract(ctx: &mut PromptContext<'_, S>) -> Result<Self, ErrorData>;
}
#[diagnostic::do_not_recommend]
impl<S, N, T> PromptParam<S, N> for T
where
    T: for<'a> FromContextPart<PromptContext<'a, S>>,
{
    fn extract(ctx: &mut PromptContext<'_, S>) -> Result<Self, ErrorData> {
        T::from_context_part(ctx)
    }
}

#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a tool",
    label = "not a tool result",
    note = "return `String`, `Json<T>` (T: Serialize + JsonSchema), `CallToolResult`, `Vec<ContentBlock>`, `()`, or a `Result<T, E>` where both sides are one of these (e.g. `E = rmcp::ErrorData`)"
)]
pub trait ToolOutput {
    fn into_tool_response(self) -> Result<CallToolResponse, ErrorData>;
}
#[diagnostic::do_not_recommend]
impl<T: IntoCallToolResult> ToolOutput for T {
    fn into_tool_response(self) -> Result<CallToolResponse, ErrorData> {
        self.into_call_tool_result()
    }
}

/// A tool method's value as rmcp's answer.
pub fn tool_result<T: ToolOutput>(value: T) -> Result<CallToolResponse, ErrorData> {
    value.into_tool_response()
}

#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a prompt",
    label = "not a prompt result",
    note = "return `Vec<PromptMessage>` or `GetPromptResult`, or `Result<_, rmcp::ErrorData>` of one of these"
)]
pub trait PromptOutput {
    fn into_prompt_response(self) -> Result<GetPromptResponse, ErrorData>;
}
#[diagnostic::do_not_recommend]
impl<T: IntoGetPromptResult> PromptOutput for T {
    fn into_prompt_response(self) -> Result<GetPromptResponse, ErrorData> {
        self.into_get_prompt_result()
    }
}

/// A prompt method's value as rmcp's answer.
pub fn prompt_result<T: PromptOutput>(value: T) -> Result<GetPromptResponse, ErrorData> {
    value.into_prompt_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(super::base64(&[0xff, 0xfe]), "//4=");
    }
}
