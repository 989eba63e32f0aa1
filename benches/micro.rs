//! Micro-benchmarks of the authorization hot path (criterion): `cargo bench --bench micro`.
//!
//! Policy decision, hierarchy expansion, `Authorization` parsing, the layer's per-operation
//! guard, static-key lookup, JWT verification (RS256, ES256, EdDSA) cold and through the
//! verified-token cache, and list filtering of 1,000 tools for one caller. A counting global
//! allocator reports allocations per call; the policy decision must not allocate (checked on
//! every run, also under `cargo test --benches`). See BENCHMARKS.md.

#[path = "common/mod.rs"]
mod common;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, Request, header};
use jsonwebtoken::Algorithm;
use mcp_auth::rmcp::{
    ErrorData,
    handler::server::router::tool::{ToolRoute, ToolRouter},
    model::Tool,
};
use mcp_auth::{
    AccessToken, JwtVerifier, PolicyGuard, StaticTokens, TokenVerifier,
    layer::bearer_token,
    operation::{Operation, OperationGuard, Verdict},
    policy::{Decision, Item, ItemKind, Policy, PolicyTable, Requirement, Undeclared},
    verify::PublicKey,
};

// ---------------------------------------------------------------------------------------------
// Allocation counting

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per call of `f`, averaged over `n` calls (after one warm-up call).
fn allocations_per_call<R>(n: u64, mut f: impl FnMut() -> R) -> f64 {
    black_box(f());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..n {
        black_box(f());
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n as f64
}

fn report_allocations(name: &str, per_call: f64) {
    println!("allocations/call  {name:<44} {per_call:>8.2}");
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const ISSUER: &str = "https://idp.bench.invalid";
const AUDIENCE: &str = "https://bench.invalid/mcp";

/// The quickstart's policy: roles admin > editor > viewer, scopes counter:admin > write > read.
static SMALL: PolicyTable = PolicyTable {
    tools: &[
        Item {
            name: "whoami",
            requirement: Requirement::NONE,
            rate: None,
        },
        Item {
            name: "get",
            requirement: Requirement {
                scopes: &["counter:read"],
                roles: &[],
            },
            rate: None,
        },
        Item {
            name: "add",
            requirement: Requirement {
                scopes: &["counter:write"],
                roles: &["editor"],
            },
            rate: None,
        },
        Item {
            name: "reset",
            requirement: Requirement {
                scopes: &["counter:admin"],
                roles: &["admin"],
            },
            rate: None,
        },
    ],
    prompts: &[],
    resources: &[],
    templates: &[],
    scopes: &[
        ("counter:admin", &["counter:write", "counter:read"]),
        ("counter:write", &["counter:read"]),
        ("counter:read", &[]),
    ],
    roles: &[
        ("admin", &["editor", "viewer"]),
        ("editor", &["viewer"]),
        ("viewer", &[]),
    ],
    undeclared: Undeclared::Open,
};

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// 1,000 tools over 20 scope groups (each `gN:admin > gN:write > gN:read`) and the roles
/// admin > editor > viewer: tool i needs `g(i%20):read|write` and one role, or nothing.
fn large_table() -> (PolicyTable, Vec<&'static str>) {
    let mut scopes: Vec<(&'static str, &'static [&'static str])> = Vec::new();
    for g in 0..20 {
        let (a, w, r) = (
            leak_str(format!("g{g}:admin")),
            leak_str(format!("g{g}:write")),
            leak_str(format!("g{g}:read")),
        );
        scopes.push((a, Box::leak(Box::new([w, r]))));
        scopes.push((w, Box::leak(Box::new([r]))));
        scopes.push((r, &[]));
    }
    let roles: &'static [&'static str] = &["viewer", "editor", "admin"];
    let mut names = Vec::new();
    let mut tools = Vec::new();
    for i in 0..1000usize {
        let name = leak_str(format!("tool_{i:04}"));
        names.push(name);
        let requirement = if i % 10 == 9 {
            Requirement::NONE
        } else {
            let g = i % 20;
            let scope = if i % 2 == 0 {
                leak_str(format!("g{g}:read"))
            } else {
                leak_str(format!("g{g}:write"))
            };
            Requirement {
                scopes: Box::leak(Box::new([scope])),
                roles: std::slice::from_ref(&roles[i % 3]),
            }
        };
        tools.push(Item {
            name,
            requirement,
            rate: None,
        });
    }
    let table = PolicyTable {
        tools: Box::leak(tools.into_boxed_slice()),
        scopes: Box::leak(scopes.into_boxed_slice()),
        roles: &[
            ("admin", &["editor", "viewer"]),
            ("editor", &["viewer"]),
            ("viewer", &[]),
        ],
        ..PolicyTable::OPEN
    };
    (table, names)
}

fn token(scopes: &[&str], roles: &[&str]) -> AccessToken {
    AccessToken::builder("t")
        .subject("bench")
        .scopes(scopes.iter().copied())
        .roles(roles.iter().copied())
        .build()
}

fn ready<F: std::future::Future>(f: F) -> F::Output {
    f.now_or_never()
        .expect("completes without waiting (static keys, cache, in-memory body)")
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

fn policy(c: &mut Criterion) {
    let policy = leak(Policy::compile(SMALL));
    let editor = token(&["mcp", "counter:write"], &["editor"]);
    let grants = policy.grants(&editor);
    let admin_short = policy.grants(&token(&["mcp", "counter:write"], &["admin"]));

    let cases: [(&str, &mcp_auth::policy::Grants, &str, Decision<'_>); 4] = [
        (
            "allow (scope via hierarchy + role)",
            &grants,
            "add",
            Decision::Allow,
        ),
        (
            "hidden (role shortfall)",
            &grants,
            "reset",
            Decision::Hidden,
        ),
        (
            "missing_scopes (step-up)",
            &admin_short,
            "reset",
            Decision::MissingScopes {
                scopes: "counter:admin",
            },
        ),
        ("open item", &grants, "whoami", Decision::Allow),
    ];
    let mut g = c.benchmark_group("policy/decide");
    for (label, grants, tool, expect) in cases {
        assert_eq!(policy.decide(Some(grants), ItemKind::Tool, tool), expect);
        let per_call = allocations_per_call(10_000, || {
            policy.decide(Some(black_box(grants)), ItemKind::Tool, black_box(tool))
        });
        report_allocations(&format!("policy/decide/{label}"), per_call);
        assert!(
            per_call == 0.0,
            "Policy::decide must not allocate ({label}: {per_call} per call)"
        );
        g.bench_function(label, |b| {
            b.iter(|| policy.decide(Some(black_box(grants)), ItemKind::Tool, black_box(tool)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("policy/grants (hierarchy expansion)");
    report_allocations(
        "policy/grants (2 scopes, 1 role)",
        allocations_per_call(1_000, || policy.grants(black_box(&editor))),
    );
    g.bench_function("2 scopes, 1 role", |b| {
        b.iter(|| policy.grants(black_box(&editor)))
    });
    let (table, _) = large_table();
    let large = leak(Policy::compile(table));
    let many: Vec<String> = (0..20).map(|g| format!("g{g}:admin")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let big = token(&many, &["admin"]);
    g.bench_function("20 scopes, 1 role (60-scope lattice)", |b| {
        b.iter(|| large.grants(black_box(&big)))
    });
    g.finish();

    c.bench_function("policy/compile (quickstart table)", |b| {
        b.iter(|| Policy::compile(black_box(SMALL)))
    });
}

fn authorization(c: &mut Criterion, jwt: &str) {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {jwt}")).unwrap(),
    );
    assert_eq!(bearer_token(&headers, 8192), Ok(jwt));
    report_allocations(
        "authorization/bearer_token (RS256 JWT)",
        allocations_per_call(1_000, || bearer_token(black_box(&headers), 8192).is_ok()),
    );
    c.bench_function(
        &format!("authorization/bearer_token ({}-byte RS256 JWT)", jwt.len()),
        |b| b.iter(|| bearer_token(black_box(&headers), 8192).is_ok()),
    );
}

fn guard(c: &mut Criterion) {
    let policy = leak(Policy::compile(SMALL));
    let guard = PolicyGuard::new(policy, 4 << 20);
    let editor = token(&["mcp", "counter:write"], &["editor"]);
    let modern = || {
        Request::post("/mcp")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "add")
            .body(axum::body::Body::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"by":1}}}"#,
            ))
            .unwrap()
    };
    let legacy = || {
        Request::post("/mcp")
            .header("mcp-protocol-version", "2025-06-18")
            .body(axum::body::Body::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"by":1}}}"#,
            ))
            .unwrap()
    };
    let allowed = |v: Verdict| matches!(v, Verdict::Allow(_));
    assert!(allowed(ready(guard.check(
        &editor,
        modern(),
        &mut Operation::default()
    ))));
    assert!(allowed(ready(guard.check(
        &editor,
        legacy(),
        &mut Operation::default()
    ))));
    let mut g = c.benchmark_group("guard/check (tools/call, allowed)");
    g.bench_function("2026-07-28 (Mcp-Name header)", |b| {
        b.iter_batched(
            || (modern(), Operation::default()),
            |(req, mut op)| allowed(ready(guard.check(&editor, req, &mut op))),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("2025-06-18 (body peek)", |b| {
        b.iter_batched(
            || (legacy(), Operation::default()),
            |(req, mut op)| allowed(ready(guard.check(&editor, req, &mut op))),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn static_keys(c: &mut Criterion) {
    let mut g = c.benchmark_group("static_tokens/verify");
    for n in [1usize, 100, 1000] {
        let mut keys = StaticTokens::new();
        for i in 0..n {
            keys.insert(
                format!("sk-bench-{i:06}-0123456789abcdef"),
                AccessToken::builder("")
                    .subject(format!("user{i}"))
                    .scopes(["mcp", "counter:read"]),
            );
        }
        let presented = format!("sk-bench-{:06}-0123456789abcdef", n / 2);
        assert!(ready(keys.verify(&presented)).is_ok());
        report_allocations(
            &format!("static_tokens/verify ({n} keys)"),
            allocations_per_call(1_000, || ready(keys.verify(&presented)).is_ok()),
        );
        g.bench_function(format!("{n} keys"), |b| {
            b.iter(|| ready(keys.verify(black_box(&presented))).unwrap())
        });
    }
    g.finish();
}

fn jwt(c: &mut Criterion) -> String {
    let dir = common::temp_dir("micro");
    let mut rs256_token = String::new();
    let mut g = c.benchmark_group("jwt/verify");
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let key = common::KeyPair::generate(alg, &dir);
        let token = key.sign(&common::claims(
            ISSUER,
            AUDIENCE,
            "alice@example.com",
            "mcp counter:write",
            &["editor"],
        ));
        let public = || PublicKey::from_pem(&key.public_pem).expect("public key");
        let cold = JwtVerifier::public_keys([public()])
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .no_cache()
            .build()
            .unwrap();
        let cached = JwtVerifier::public_keys([public()])
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .build()
            .unwrap();
        let who = ready(cold.verify(&token)).expect("verifies");
        assert_eq!(who.subject(), Some("alice@example.com"));
        ready(cached.verify(&token)).expect("verifies");
        let name = format!("{alg:?}");
        report_allocations(
            &format!("jwt/verify {name} cold"),
            allocations_per_call(3, || ready(cold.verify(&token)).is_ok()),
        );
        report_allocations(
            &format!("jwt/verify {name} cached"),
            allocations_per_call(1_000, || ready(cached.verify(&token)).is_ok()),
        );
        g.bench_function(format!("{name} cold"), |b| {
            b.iter(|| ready(cold.verify(black_box(&token))).unwrap())
        });
        g.bench_function(format!("{name} cached"), |b| {
            b.iter(|| ready(cached.verify(black_box(&token))).unwrap())
        });
        if alg == Algorithm::RS256 {
            rs256_token = token;
        }
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
    rs256_token
}

struct Dummy;

fn list_filtering(c: &mut Criterion) {
    let (table, names) = large_table();
    let policy = leak(Policy::compile(table));
    let scopes: Vec<String> = std::iter::once("mcp".to_owned())
        .chain((0..10).map(|g| format!("g{g}:write")))
        .collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let caller = token(&scopes, &["editor"]);

    let mut router: ToolRouter<Dummy> = ToolRouter::new();
    let schema: Arc<serde_json::Map<String, serde_json::Value>> = Arc::new(
        serde_json::from_value(serde_json::json!({
            "type": "object",
            "properties": { "text": { "type": "string" } },
            "required": ["text"],
        }))
        .unwrap(),
    );
    for name in &names {
        router.add_route(ToolRoute::new_dyn(
            Tool::new(*name, "A benchmark tool.", schema.clone()),
            |_ctx| Box::pin(async { Err(ErrorData::internal_error("not called", None)) }),
        ));
    }
    let visible = |policy: &Policy| {
        let grants = policy.grants(&caller);
        names
            .iter()
            .filter(|n| policy.decide(Some(&grants), ItemKind::Tool, n) == Decision::Allow)
            .count()
    };
    let shown = visible(policy);
    println!("list filtering: the caller sees {shown} of 1000 tools");
    assert!(shown > 100 && shown < 900, "{shown}");

    let mut g = c.benchmark_group("list_tools (1,000 tools, one caller)");
    report_allocations(
        "list filter: grants + 1,000 decisions",
        allocations_per_call(100, || visible(policy)),
    );
    g.bench_function("filter only: grants + 1,000 decisions", |b| {
        b.iter(|| visible(black_box(policy)))
    });
    g.bench_function("rmcp list_all (bare rmcp's work)", |b| {
        b.iter(|| router.list_all().len())
    });
    g.bench_function("list_all + filter (mcp-auth's list_tools)", |b| {
        b.iter(|| {
            let grants = policy.grants(&caller);
            let mut tools = router.list_all();
            tools.retain(|t| {
                policy.decide(Some(&grants), ItemKind::Tool, &t.name) == Decision::Allow
            });
            tools.len()
        })
    });
    // The change suggested in BENCHMARKS.md: decide first, clone only what the caller sees.
    g.bench_function(
        "filter, then clone the visible (suggested list_tools)",
        |b| {
            b.iter(|| {
                let grants = policy.grants(&caller);
                let mut tools: Vec<Tool> = router
                    .map
                    .values()
                    .filter(|r| {
                        !router.is_disabled(r.name())
                            && policy.decide(Some(&grants), ItemKind::Tool, r.name())
                                == Decision::Allow
                    })
                    .map(|r| r.attr.clone())
                    .collect();
                tools.sort_by(|a, b| a.name.cmp(&b.name));
                tools.len()
            })
        },
    );
    g.finish();
}

fn all(c: &mut Criterion) {
    policy(c);
    guard(c);
    static_keys(c);
    let rs256 = jwt(c);
    authorization(c, &rs256);
    list_filtering(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
