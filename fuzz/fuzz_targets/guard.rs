//! The JSON-RPC target peek of the layer: `PolicyGuard` (through `OperationGuard::check`, as
//! the layer calls it) on arbitrary requests.
//!
//! Input: one flag byte (protocol era, which `Mcp-*` headers are sent, which caller), then
//! `Mcp-Method` value `\n` `Mcp-Name` value `\n` body. Checked on every input:
//! - no panic; the check completes without waiting (the body is in memory);
//! - a request that goes on carries exactly the bytes that were inspected;
//! - fail closed: when the guard reads the body, any message in it that a lax JSON parser
//!   (serde_json's `Value`, last duplicate wins, as rmcp reads it) sees as a call of an item
//!   the caller lacks scopes for is refused; with trusted `Mcp-Method`/`Mcp-Name` headers
//!   (2026-07-28, which rmcp checks against the body), the header's target decides;
//! - a step-up challenge names only scopes some item declares, never implied ones.
#![no_main]

use std::{
    pin::pin,
    task::{Context, Poll, Waker},
};

use axum::body::Body;
use http::{HeaderValue, Method, Request};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use mcp_auth_runtime::{
    AccessToken, PolicyGuard, Rejection,
    operation::{Operation, OperationGuard, Verdict},
    policy::{Decision, Item, ItemKind, Policy, PolicyTable, Requirement, Undeclared},
};
use serde_json::Value;

const fn req(scopes: &'static [&'static str], roles: &'static [&'static str]) -> Requirement {
    Requirement { scopes, roles }
}

static TABLE: PolicyTable = PolicyTable {
    tools: &[
        Item {
            name: "delete",
            requirement: req(&["notes:write"], &[]),
            rate: None,
        },
        Item {
            name: "purge",
            requirement: req(&["notes:admin", "audit"], &["admin"]),
            rate: None,
        },
        Item {
            name: "open",
            requirement: Requirement::NONE,
            rate: None,
        },
        Item {
            name: "edit",
            requirement: req(&[], &["editor"]),
            rate: None,
        },
    ],
    prompts: &[Item {
        name: "summarize",
        requirement: req(&["notes:read"], &["viewer"]),
        rate: None,
    }],
    resources: &[Item {
        name: "notes://secret",
        requirement: req(&["notes:admin"], &[]),
        rate: None,
    }],
    templates: &[
        Item {
            name: "notes://{id}",
            requirement: req(&["notes:read"], &[]),
            rate: None,
        },
        Item {
            name: "x://{a}-{b}",
            requirement: req(&["x:read"], &[]),
            rate: None,
        },
        Item {
            name: "file:///{+path}",
            requirement: req(&["files:read"], &[]),
            rate: None,
        },
    ],
    scopes: &[
        ("notes:admin", &["notes:write", "notes:read"]),
        ("notes:write", &["notes:read"]),
        ("notes:read", &[]),
    ],
    roles: &[
        ("admin", &["editor", "viewer"]),
        ("editor", &["viewer"]),
        ("viewer", &[]),
    ],
    undeclared: Undeclared::Open,
};

struct Fixture {
    policy: &'static Policy,
    guard: PolicyGuard,
    callers: Vec<AccessToken>,
    declared: Vec<&'static str>,
}

fn fixture() -> &'static Fixture {
    static F: std::sync::LazyLock<Fixture> = std::sync::LazyLock::new(|| {
        let policy: &'static Policy = Box::leak(Box::new(Policy::compile(TABLE)));
        let token = |scopes: &[&str], roles: &[&str]| {
            AccessToken::builder("t")
                .subject("fuzz")
                .scopes(scopes.iter().copied())
                .roles(roles.iter().copied())
                .build()
        };
        let all = TABLE
            .tools
            .iter()
            .chain(TABLE.prompts)
            .chain(TABLE.resources)
            .chain(TABLE.templates);
        let mut declared: Vec<&'static str> = all
            .flat_map(|i| i.requirement.scopes.iter().copied())
            .collect();
        declared.sort_unstable();
        declared.dedup();
        Fixture {
            policy,
            guard: PolicyGuard::new(policy, 64 * 1024),
            callers: vec![
                token(&[], &[]),
                token(&["notes:read"], &["viewer"]),
                token(&["notes:write", "x:read"], &["editor"]),
                token(&["notes:admin", "audit", "files:read"], &["admin"]),
            ],
            declared,
        }
    });
    &F
}

fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the guard waited on an in-memory body"),
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

/// Whether `grants` lack scopes for the call `method` / `target`.
fn needs_step_up(f: &Fixture, caller: &AccessToken, method: &str, target: &str) -> bool {
    let Some(kind) = kind_of(method) else {
        return false;
    };
    let grants = f.policy.grants(caller);
    matches!(
        f.policy.decide(Some(&grants), kind, target),
        Decision::MissingScopes { .. }
    )
}

/// What a lax reader of the body would dispatch: every (method, target) it contains.
fn lax_calls(body: &[u8]) -> Vec<(String, String)> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let messages = match v {
        Value::Array(list) => list,
        other => vec![other],
    };
    messages
        .iter()
        .filter_map(|m| {
            let method = m.get("method")?.as_str()?;
            let params = m.get("params")?;
            let key = if method == "resources/read" {
                "uri"
            } else {
                "name"
            };
            Some((method.to_owned(), params.get(key)?.as_str()?.to_owned()))
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let caller = &f.callers[usize::from(flags >> 4) % f.callers.len()];
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let method_h = parts.next().unwrap_or_default();
    let name_h = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default().to_vec();

    let mut builder = Request::builder().method(if flags & 8 != 0 {
        Method::GET
    } else {
        Method::POST
    });
    let version = match flags & 3 {
        0 => None,
        1 => Some("2025-06-18"),
        2 => Some("2026-07-28"),
        _ => Some("2099-01-01"),
    };
    if let Some(v) = version {
        builder = builder.header("mcp-protocol-version", v);
    }
    let method_v = (flags & 4 != 0)
        .then(|| HeaderValue::from_bytes(method_h).ok())
        .flatten();
    let name_v = (!name_h.is_empty())
        .then(|| HeaderValue::from_bytes(name_h).ok())
        .flatten();
    if let Some(v) = &method_v {
        builder = builder.header("mcp-method", v.clone());
    }
    if let Some(v) = &name_v {
        builder = builder.header("mcp-name", v.clone());
    }
    let request = builder.body(Body::from(body.clone())).expect("request");
    let is_post = request.method() == Method::POST;

    let mut operation = Operation::default();
    let verdict = ready(f.guard.check(caller, request, &mut operation));

    // Did the guard decide on trusted headers, or on the body?
    let modern = version.is_some_and(|v| v >= "2026-07-28");
    let method_s = method_v.as_ref().and_then(|v| v.to_str().ok());
    let name_s = name_v.as_ref().and_then(|v| v.to_str().ok());
    let on_headers = is_post
        && modern
        && match (method_s, name_s) {
            (Some(m), _) if kind_of(m).is_none() => true,
            (Some(_), Some(n)) => !n.starts_with("=?"),
            _ => false,
        };

    match verdict {
        Verdict::Allow(request) => {
            let (_, passed) = request.into_parts();
            let passed = ready(passed.collect()).expect("in-memory body").to_bytes();
            assert_eq!(
                &passed[..],
                &body[..],
                "the body passed on differs from the one inspected"
            );
            if !is_post {
                return;
            }
            if on_headers {
                if let (Some(m), Some(n)) = (method_s, name_s) {
                    assert!(
                        !needs_step_up(f, caller, m, n),
                        "allowed {m} {n:?} (header) for a caller lacking its scopes"
                    );
                }
            } else {
                for (m, target) in lax_calls(&body) {
                    assert!(
                        !needs_step_up(f, caller, &m, &target),
                        "allowed {m} {target:?} in the body for a caller lacking its scopes: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
        }
        Verdict::Deny(Rejection::InsufficientScope { scopes, .. }) => {
            assert!(!scopes.is_empty());
            for s in &scopes {
                assert!(
                    f.declared.contains(&s.as_str()),
                    "challenge names {s:?}, which no item declares"
                );
            }
        }
        Verdict::Deny(_) | Verdict::Respond(_) => assert!(is_post, "refused a non-POST request"),
        _ => {}
    }
});
