//! [`PolicyGuard`]: per-operation enforcement in the HTTP layer, before rmcp dispatches.
//!
//! The target of `tools/call`, `resources/read` and `prompts/get` comes from the `Mcp-Name`
//! header on protocol 2026-07-28 and later (rmcp rejects a request whose header does not match
//! its body), and otherwise from a bounded, borrowed parse of the body that reads only
//! `method` and `params.name` / `params.uri`. A scope shortfall is answered here with the 403
//! step-up; everything else goes on to the handler, which checks again and answers hidden
//! items exactly like unknown ones.

use std::borrow::Cow;

use axum::body::Body;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde::Deserialize;

use crate::{
    AccessToken,
    challenge::Rejection,
    operation::{OperationGuard, Verdict},
    policy::{Decision, Grants, ItemKind, Policy},
};

/// The first protocol version whose requests carry `Mcp-Method` / `Mcp-Name`.
const STANDARD_HEADERS_VERSION: &str = "2026-07-28";

/// Enforces a [`Policy`] in the layer.
#[derive(Debug)]
pub struct PolicyGuard {
    policy: &'static Policy,
    max_body_bytes: usize,
}

impl PolicyGuard {
    /// A guard for `policy`, buffering at most `max_body_bytes` of a legacy request body.
    pub fn new(policy: &'static Policy, max_body_bytes: usize) -> Self {
        Self {
            policy,
            max_body_bytes,
        }
    }
}

fn kind_of(method: &str) -> Option<ItemKind> {
    match method {
        "tools/call" => Some(ItemKind::Tool),
        "prompts/get" => Some(ItemKind::Prompt),
        "resources/read" => Some(ItemKind::Resource),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<PeekParams<'a>>,
}

#[derive(Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PeekMessage<'a> {
    #[serde(borrow)]
    Batch(Vec<Peek<'a>>),
    #[serde(borrow)]
    One(Peek<'a>),
}

impl PolicyGuard {
    fn decide_one(&self, grants: &Grants, method: &str, target: Option<&str>) -> Option<Rejection> {
        let kind = kind_of(method)?;
        // No target: rmcp answers the malformed request itself.
        let target = target?;
        match self.policy.decide(Some(grants), kind, target) {
            Decision::MissingScopes { scopes } => Some(Rejection::InsufficientScope {
                scopes: scopes.split(' ').map(str::to_owned).collect(),
                description: format!("this operation requires the scopes: {scopes}"),
            }),
            // Hidden items go on: the handler answers them exactly like unknown ones.
            Decision::Allow | Decision::Hidden => None,
        }
    }

    fn decide_body(&self, grants: &Grants, body: &[u8]) -> Option<Rejection> {
        // Not JSON-RPC we understand: rmcp will answer with its own parse error.
        let message: PeekMessage<'_> = serde_json::from_slice(body).ok()?;
        let peeks = match message {
            PeekMessage::One(p) => vec![p],
            PeekMessage::Batch(b) => b,
        };
        let mut needed: Vec<String> = Vec::new();
        for p in &peeks {
            let Some(method) = p.method.as_deref() else {
                continue;
            };
            let target = p.params.as_ref().and_then(|params| match kind_of(method) {
                Some(ItemKind::Resource) => params.uri.as_deref(),
                _ => params.name.as_deref(),
            });
            if let Some(Rejection::InsufficientScope { scopes, .. }) =
                self.decide_one(grants, method, target)
            {
                for s in scopes {
                    if !needed.contains(&s) {
                        needed.push(s);
                    }
                }
            }
        }
        if needed.is_empty() {
            return None;
        }
        let joined = needed.join(" ");
        Some(Rejection::InsufficientScope {
            scopes: needed,
            description: format!("this operation requires the scopes: {joined}"),
        })
    }
}

impl OperationGuard for PolicyGuard {
    fn check<'a>(&'a self, token: &'a AccessToken, req: Request<Body>) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            if req.method() != Method::POST {
                return Verdict::Allow(req);
            }
            let headers = req.headers();
            let modern = headers
                .get("mcp-protocol-version")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v >= STANDARD_HEADERS_VERSION);
            if modern {
                let method = headers.get("mcp-method").and_then(|v| v.to_str().ok());
                let name = headers.get("mcp-name").and_then(|v| v.to_str().ok());
                match (method, name) {
                    (Some(method), _) if kind_of(method).is_none() => {
                        return Verdict::Allow(req);
                    }
                    (Some(method), Some(name)) if !name.starts_with("=?") => {
                        let grants = self.policy.grants(token);
                        return match self.decide_one(&grants, method, Some(name)) {
                            Some(rejection) => Verdict::Deny(rejection),
                            None => Verdict::Allow(req),
                        };
                    }
                    // Missing or encoded headers: read the body like an older version.
                    _ => {}
                }
            }
            let (parts, body) = req.into_parts();
            let bytes: Bytes = match http_body_util::Limited::new(body, self.max_body_bytes)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(e) => {
                    let too_large = e
                        .downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some();
                    return Verdict::Deny(if too_large {
                        Rejection::PayloadTooLarge
                    } else {
                        Rejection::InvalidRequest("the request body could not be read")
                    });
                }
            };
            let grants = self.policy.grants(token);
            if let Some(rejection) = self.decide_body(&grants, &bytes) {
                return Verdict::Deny(rejection);
            }
            Verdict::Allow(Request::from_parts(parts, Body::from(bytes)))
        })
    }
}
