//! What the `mcp-auth` macros expand to. Not a public API: names here change without notice.
#![allow(missing_docs)]

use std::future::Future;

use rmcp::{
    ErrorData, RoleServer,
    model::{CacheScope, ErrorCode, ProtocolVersion},
    service::RequestContext,
};

pub use crate::policy::{
    Decision, Grants, HierarchyTable, Item, ItemKind, Policy, PolicyTable, Protected, Requirement,
    Undeclared, UriTemplate, is_scope_token,
};
use crate::{AccessToken, context::token_from_context};

/// JSON-RPC error code of a scope shortfall found inside the handler (stdio, in-memory, or
/// anything the layer did not see). Over HTTP the layer answers 403 first.
pub const INSUFFICIENT_SCOPE: ErrorCode = ErrorCode(-32003);

/// The caller of a request and their expanded grants, computed once.
pub struct Caller<'p> {
    policy: &'p Policy,
    token: Option<AccessToken>,
    grants: Option<Grants>,
}

impl<'p> Caller<'p> {
    pub fn of(policy: &'p Policy, ctx: &RequestContext<RoleServer>) -> Self {
        let token = token_from_context(ctx);
        let grants = token.as_ref().map(|t| policy.grants(t));
        Self {
            policy,
            token,
            grants,
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
        match self.decide(kind, name) {
            Decision::Allow => Ok(self.token),
            Decision::Hidden => Err(not_found()),
            Decision::MissingScopes { scopes } => Err(insufficient_scope(scopes)),
        }
    }
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
