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
    operation::{Operation, OperationChecked, OperationGuard, Verdict},
    policy::{Decision, Grants, ItemKind, Policy, RateSlot},
    ratelimit::{DEFAULT_LIMITER_CAPACITY, Limit, OperationLimits, principal_key},
};

const MCP_PROTOCOL_VERSION: http::HeaderName =
    http::HeaderName::from_static("mcp-protocol-version");

/// The first protocol version whose requests carry `Mcp-Method` / `Mcp-Name`.
const STANDARD_HEADERS_VERSION: &str = "2026-07-28";

/// Enforces a [`Policy`] in the layer: scopes (403 step-up) and the items' rate limits (429),
/// before dispatch.
#[derive(Debug)]
pub struct PolicyGuard {
    policy: &'static Policy,
    max_body_bytes: usize,
    /// This server's own limiters for the items' `rate`s.
    limits: OperationLimits,
}

impl PolicyGuard {
    /// A guard for `policy`, buffering at most `max_body_bytes` of a legacy request body.
    pub fn new(policy: &'static Policy, max_body_bytes: usize) -> Self {
        Self {
            policy,
            max_body_bytes,
            limits: OperationLimits::new(policy.rates(), DEFAULT_LIMITER_CAPACITY),
        }
    }

    /// How many principals each rated item remembers (default 100,000).
    pub fn rate_limit_capacity(mut self, principals: usize) -> Self {
        self.limits = OperationLimits::new(self.policy.rates(), principals);
        self
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
    method: Option<Text<'a>>,
    #[serde(borrow, default)]
    params: Option<PeekParams<'a>>,
}

#[derive(Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    uri: Option<Text<'a>>,
}

/// A JSON string: borrowed from the body, owned only when it has escapes. serde borrows a
/// `Cow<str>` field only when the field's type is `Cow` itself, not `Option<Cow>`.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

enum PeekMessage<'a> {
    Batch(Vec<Peek<'a>>),
    One(Peek<'a>),
}

impl Peek<'_> {
    fn target(&self) -> Option<&str> {
        let method = self.method.as_deref()?;
        let params = self.params.as_ref()?;
        match kind_of(method) {
            Some(ItemKind::Resource) => params.uri.as_deref(),
            _ => params.name.as_deref(),
        }
    }
}

/// The policy's answer for one operation.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Not an item operation, or allowed (with the item's rate slot, if any).
    Pass(Option<RateSlot>),
    /// The caller may not see the item: the handler answers as for an unknown one.
    Hidden,
    /// Scopes are missing.
    Missing(Rejection),
}

impl PolicyGuard {
    fn decide_one(&self, grants: &Grants, method: &str, target: Option<&str>) -> Outcome {
        let Some(kind) = kind_of(method) else {
            return Outcome::Pass(None);
        };
        // No target: rmcp answers the malformed request itself.
        let Some(target) = target else {
            return Outcome::Pass(None);
        };
        match self.policy.decide_rated(Some(grants), kind, target) {
            (Decision::MissingScopes { scopes }, _) => {
                Outcome::Missing(Rejection::InsufficientScope {
                    scopes: scopes.split(' ').map(str::to_owned).collect(),
                    description: format!("this operation requires the scopes: {scopes}"),
                })
            }
            (Decision::Hidden, _) => Outcome::Hidden,
            (Decision::Allow, slot) => Outcome::Pass(slot),
        }
    }

    /// Spend one call of each rated item; the longest wait if any limit is exhausted.
    fn spend(&self, token: &AccessToken, slots: &[RateSlot]) -> Option<Rejection> {
        if slots.is_empty() {
            return None;
        }
        let key = principal_key(token);
        let wait = slots
            .iter()
            .filter_map(|&slot| self.limits.check(slot, key).err())
            .max()?;
        Some(Rejection::RateLimited {
            limit: Limit::Operation,
            retry_after: wait,
        })
    }

    /// Decide on a buffered body: the union of missing scopes, or what `Outcome::Pass`
    /// carried for every operation.
    fn decide_body(
        &self,
        grants: &Grants,
        body: &[u8],
        operation: &mut Operation,
    ) -> Result<(Vec<RateSlot>, bool), Rejection> {
        // Fail closed: a body this strict parse refuses (not JSON, duplicate keys, odd shapes)
        // could be read differently by a laxer parser behind us.
        // Dispatch on the first byte: `#[serde(untagged)]` would buffer the whole body into
        // serde's `Content` tree and parse it twice (one attempt per variant).
        let message = match body
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            Some(b'[') => serde_json::from_slice::<Vec<Peek<'_>>>(body).map(PeekMessage::Batch),
            _ => serde_json::from_slice::<Peek<'_>>(body).map(PeekMessage::One),
        };
        let Ok(message) = message else {
            return Err(Rejection::InvalidRequest(
                "the request body is not a well-formed JSON-RPC message",
            ));
        };
        let peeks = match message {
            PeekMessage::One(p) => {
                if let Some(method) = p.method.as_deref() {
                    operation.set_method(method);
                    operation.set_item(p.target());
                }
                vec![p]
            }
            PeekMessage::Batch(b) => {
                operation.set_method("batch");
                operation.set_item(None);
                b
            }
        };
        let mut needed: Vec<String> = Vec::new();
        let mut slots = Vec::new();
        let mut hidden = false;
        for p in &peeks {
            let Some(method) = p.method.as_deref() else {
                continue;
            };
            match self.decide_one(grants, method, p.target()) {
                Outcome::Missing(Rejection::InsufficientScope { scopes, .. }) => {
                    for s in scopes {
                        if !needed.contains(&s) {
                            needed.push(s);
                        }
                    }
                }
                Outcome::Missing(_) => unreachable!("only scopes are missing"),
                Outcome::Hidden => hidden = true,
                Outcome::Pass(slot) => slots.extend(slot),
            }
        }
        if needed.is_empty() {
            return Ok((slots, hidden));
        }
        let joined = needed.join(" ");
        Err(Rejection::InsufficientScope {
            scopes: needed,
            description: format!("this operation requires the scopes: {joined}"),
        })
    }
}

impl PolicyGuard {
    /// The decision from the headers alone: for anything but a POST, and on protocol
    /// 2026-07-28 and later when `Mcp-Method` / `Mcp-Name` name the operation (read from
    /// `operation`, which the layer filled from those headers). `Err` hands the request back
    /// for the body to be read.
    #[allow(
        clippy::result_large_err,
        reason = "the request is handed back by value: boxing it would cost the allocation this avoids"
    )]
    fn decide_from_headers(
        &self,
        token: &AccessToken,
        req: Request<Body>,
        operation: &mut Operation,
    ) -> Result<Verdict, Request<Body>> {
        if req.method() != Method::POST {
            return Ok(Verdict::Allow(req));
        }
        let modern = req
            .headers()
            .get(MCP_PROTOCOL_VERSION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v >= STANDARD_HEADERS_VERSION);
        if !modern {
            operation.needs_body = true;
            return Err(req);
        }
        if operation.method_header().is_none() {
            // Not filled in by the layer (a guard driven directly): read the headers here.
            *operation = Operation::from_headers(req.headers());
        }
        match (operation.method_header(), operation.item_header()) {
            (Some(method), _) if kind_of(method).is_none() => {}
            (Some(method), Some(name)) if !name.starts_with("=?") => {
                let grants = token.grants_under(self.policy);
                match self.decide_one(&grants, method, Some(name)) {
                    Outcome::Missing(rejection) => return Ok(Verdict::Deny(rejection)),
                    Outcome::Hidden => operation.set_hidden(),
                    Outcome::Pass(slot) => {
                        if let Some(rejection) = self.spend(token, slot.as_slice()) {
                            return Ok(Verdict::Deny(rejection));
                        }
                    }
                }
            }
            // Missing or encoded headers: read the body like an older version.
            _ => {
                operation.needs_body = true;
                return Err(req);
            }
        }
        Ok(allow(req))
    }
}

impl OperationGuard for PolicyGuard {
    #[allow(
        clippy::result_large_err,
        reason = "the request is handed back by value: boxing it would cost the allocation this avoids"
    )]
    fn check_now(
        &self,
        token: &AccessToken,
        req: Request<Body>,
        operation: &mut Operation,
    ) -> Result<Verdict, Request<Body>> {
        self.decide_from_headers(token, req, operation)
    }

    fn check<'a>(
        &'a self,
        token: &'a AccessToken,
        req: Request<Body>,
        operation: &'a mut Operation,
    ) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            // Unless `check_now` already found that the headers do not decide it.
            let req = if operation.needs_body {
                req
            } else {
                match self.decide_from_headers(token, req, operation) {
                    Ok(verdict) => return verdict,
                    Err(req) => req,
                }
            };
            let policy = self.policy;
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
            let grants = token.grants_under(policy);
            let (slots, hidden) = match self.decide_body(&grants, &bytes, operation) {
                Ok(pass) => pass,
                Err(rejection) => return Verdict::Deny(rejection),
            };
            if hidden {
                operation.set_hidden();
            }
            if let Some(rejection) = self.spend(token, &slots) {
                return Verdict::Deny(rejection);
            }
            allow(Request::from_parts(parts, Body::from(bytes)))
        })
    }
}

/// Go on, telling the handler that the operation was checked here.
fn allow(mut req: Request<Body>) -> Verdict {
    req.extensions_mut().insert(OperationChecked);
    Verdict::Allow(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Item, PolicyTable, Requirement};
    use crate::ratelimit::Rate;

    static TABLE: PolicyTable = PolicyTable {
        tools: &[
            Item {
                name: "delete",
                requirement: Requirement {
                    scopes: &["notes:write"],
                    roles: &[],
                },
                rate: None,
            },
            Item {
                name: "ping",
                requirement: Requirement::NONE,
                rate: Some(Rate::per_minute(2)),
            },
        ],
        resources: &[Item {
            name: "notes://secret",
            requirement: Requirement {
                scopes: &["notes:admin"],
                roles: &[],
            },
            rate: None,
        }],
        ..PolicyTable::OPEN
    };

    fn guard() -> (PolicyGuard, Grants) {
        let policy: &'static Policy = Box::leak(Box::new(Policy::compile(TABLE)));
        let token = AccessToken::builder("t").scopes(["mcp"]).build();
        (PolicyGuard::new(policy, 1 << 20), policy.grants(&token))
    }

    fn scopes_of(r: Result<(Vec<RateSlot>, bool), Rejection>) -> Option<Vec<String>> {
        match r {
            Ok(_) => None,
            Err(Rejection::InsufficientScope { scopes, .. }) => Some(scopes),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn decide(
        g: &PolicyGuard,
        grants: &Grants,
        body: &[u8],
    ) -> Result<(Vec<RateSlot>, bool), Rejection> {
        g.decide_body(grants, body, &mut Operation::default())
    }

    #[test]
    fn peeks_method_and_target() {
        let (g, grants) = guard();
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete","arguments":{"x":[1,{"name":"y"}]}}}"#;
        let mut op = Operation::default();
        assert_eq!(
            scopes_of(g.decide_body(&grants, call, &mut op)),
            Some(vec!["notes:write".into()])
        );
        assert_eq!(op.method().as_deref(), Some("tools/call"));
        assert_eq!(op.item().as_deref(), Some("delete"));
        let escaped =
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"del\u0065te"}}"#;
        assert!(decide(&g, &grants, escaped).is_err());
        let read = br#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"notes://secret"}}"#;
        assert_eq!(
            scopes_of(decide(&g, &grants, read)),
            Some(vec!["notes:admin".into()])
        );
        let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(decide(&g, &grants, list), Ok((vec![], false)));
        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete"}},{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"notes://secret"}}]"#;
        assert_eq!(
            scopes_of(decide(&g, &grants, batch)),
            Some(vec!["notes:write".into(), "notes:admin".into()])
        );
    }

    #[test]
    fn peeked_strings_borrow_from_the_body_unless_escaped() {
        let plain = br#"{"method":"tools/call","params":{"name":"delete","uri":"notes://a"}}"#;
        let p: Peek<'_> = serde_json::from_slice(plain).unwrap();
        let params = p.params.unwrap();
        for text in [p.method.unwrap(), params.name.unwrap(), params.uri.unwrap()] {
            assert!(
                matches!(text.0, Cow::Borrowed(_)),
                "{:?} was copied",
                &*text
            );
        }
        let escaped = br#"{"method":"tools\/call","params":{"name":"del\u0065te"}}"#;
        let p: Peek<'_> = serde_json::from_slice(escaped).unwrap();
        assert_eq!(p.method.as_deref(), Some("tools/call"));
        assert_eq!(p.target(), Some("delete"));
    }

    #[test]
    fn rated_items_are_spent_per_principal() {
        let (g, grants) = guard();
        let ping = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ping"}}"#;
        let (slots, hidden) = decide(&g, &grants, ping).unwrap();
        assert_eq!((slots.len(), hidden), (1, false));
        let alice = AccessToken::builder("a").subject("alice").build();
        let bob = AccessToken::builder("b").subject("bob").build();
        assert_eq!(g.spend(&alice, &slots), None);
        assert_eq!(g.spend(&alice, &slots), None);
        assert!(matches!(
            g.spend(&alice, &slots),
            Some(Rejection::RateLimited {
                limit: Limit::Operation,
                ..
            })
        ));
        assert_eq!(g.spend(&bob, &slots), None, "bob has his own budget");
    }

    /// `check_now` decides from the headers alone exactly when it can, with the verdict
    /// `check` gives; it hands the request back whenever the body must be read.
    #[test]
    fn the_synchronous_path_agrees_with_check() {
        let (g, _) = guard();
        let token = AccessToken::builder("t")
            .subject("alice")
            .scopes(["notes:read"])
            .build();
        let request = |method: &str, version: &str, headers: &[(&str, &str)]| {
            let mut b = Request::builder()
                .method(method)
                .header("mcp-protocol-version", version);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            let body =
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete"}}"#;
            b.body(Body::from(body)).unwrap()
        };
        let call = [("mcp-method", "tools/call"), ("mcp-name", "delete")];
        let list = [("mcp-method", "tools/list")];
        let encoded = [
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?ZGVsZXRl?="),
        ];
        let kind = |v: &Verdict| match v {
            Verdict::Allow(_) => "allow".to_owned(),
            Verdict::Deny(r) => format!("deny {r:?}"),
            Verdict::Respond(r) => format!("respond {}", r.status()),
        };
        let block = |f: BoxFuture<'_, Verdict>| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(f)
        };
        for (what, method, version, headers, at_once) in [
            ("modern call", "POST", "2026-07-28", &call[..], true),
            ("modern list", "POST", "2026-07-28", &list[..], true),
            ("GET stream", "GET", "2026-07-28", &[][..], true),
            ("encoded name", "POST", "2026-07-28", &encoded[..], false),
            ("no headers", "POST", "2026-07-28", &[][..], false),
            ("legacy", "POST", "2025-06-18", &call[..], false),
        ] {
            let now = g.check_now(
                &token,
                request(method, version, headers),
                &mut Operation::default(),
            );
            assert_eq!(now.is_ok(), at_once, "{what}");
            let mut op = Operation::default();
            let later = block(g.check(&token, request(method, version, headers), &mut op));
            if let Ok(now) = now {
                assert_eq!(kind(&now), kind(&later), "{what}");
            }
        }
        // The call needs `notes:write`: refused from the headers, and from the body alike.
        let mut op = Operation::default();
        let legacy = block(g.check(&token, request("POST", "2025-06-18", &[]), &mut op));
        assert!(
            kind(&legacy).contains("InsufficientScope"),
            "{}",
            kind(&legacy)
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
                matches!(decide(&g, &grants, body), Err(Rejection::InvalidRequest(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
