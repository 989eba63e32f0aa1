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
        // Fail closed: a body this strict parse refuses (not JSON, duplicate keys, odd shapes)
        // could be read differently by a laxer parser behind us.
        let Ok(message) = serde_json::from_slice::<PeekMessage<'_>>(body) else {
            return Some(Rejection::InvalidRequest(
                "the request body is not a well-formed JSON-RPC message",
            ));
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Item, PolicyTable, Requirement};

    static TABLE: PolicyTable = PolicyTable {
        tools: &[Item {
            name: "delete",
            requirement: Requirement {
                scopes: &["notes:write"],
                roles: &[],
            },
        }],
        resources: &[Item {
            name: "notes://secret",
            requirement: Requirement {
                scopes: &["notes:admin"],
                roles: &[],
            },
        }],
        ..PolicyTable::OPEN
    };

    fn guard() -> (PolicyGuard, Grants) {
        let policy: &'static Policy = Box::leak(Box::new(Policy::compile(TABLE)));
        let token = AccessToken::builder("t").scopes(["mcp"]).build();
        (PolicyGuard::new(policy, 1 << 20), policy.grants(&token))
    }

    fn scopes_of(r: Option<Rejection>) -> Option<Vec<String>> {
        match r? {
            Rejection::InsufficientScope { scopes, .. } => Some(scopes),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn peeks_method_and_target() {
        let (g, grants) = guard();
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete","arguments":{"x":[1,{"name":"y"}]}}}"#;
        assert_eq!(
            scopes_of(g.decide_body(&grants, call)),
            Some(vec!["notes:write".into()])
        );
        let escaped =
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"del\u0065te"}}"#;
        assert!(g.decide_body(&grants, escaped).is_some());
        let read = br#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"notes://secret"}}"#;
        assert_eq!(
            scopes_of(g.decide_body(&grants, read)),
            Some(vec!["notes:admin".into()])
        );
        let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(g.decide_body(&grants, list), None);
        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete"}},{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"notes://secret"}}]"#;
        assert_eq!(
            scopes_of(g.decide_body(&grants, batch)),
            Some(vec!["notes:write".into(), "notes:admin".into()])
        );
    }

    #[test]
    fn ambiguous_bodies_fail_closed() {
        let (g, grants) = guard();
        for body in [
            &br#"{"method":"tools/list","method":"tools/call","params":{"name":"delete"}}"#[..],
            br#"{"method":"tools/call","params":{"name":"open","name":"delete"}}"#,
            br#"{"method":7}"#,
            b"not json",
            b"",
        ] {
            assert!(
                matches!(
                    g.decide_body(&grants, body),
                    Some(Rejection::InvalidRequest(_))
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
