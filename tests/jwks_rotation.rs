//! The JWKS cache of `JwtVerifier` against a real authorization server process: key rotation
//! under load, a `kid`-spraying attacker, `Cache-Control` lifetimes, and the IdP down, slow or
//! broken at start and mid-run. Request counts are read from the IdP itself.

#[path = "common/idp.rs"]
mod idp;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use idp::{Idp, IdpOptions, Mcp, TokenRequest, free_port};
use mcp_auth::verify::{HttpOptions, JwksOptions, JwtVerifier};
use serde_json::json;

fn kid_of(token: &str) -> String {
    let head = token.split('.').next().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

/// A token with our issuer and audience, a random `kid` and a garbage signature: what an
/// attacker can produce for free.
fn sprayed(issuer: &str, resource: &str, i: usize) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let head = json!({ "alg": "RS256", "typ": "JWT", "kid": format!("spray-{i}-{exp}") });
    let body =
        json!({ "iss": issuer, "aud": resource, "sub": "mallory", "scope": "mcp", "exp": exp });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(head.to_string()),
        URL_SAFE_NO_PAD.encode(body.to_string()),
        URL_SAFE_NO_PAD.encode([7u8; 256])
    )
}

fn request(resource: &str) -> TokenRequest {
    TokenRequest::new("cli").scope("mcp").audience(resource)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_while_requests_flow_costs_one_fetch_and_no_failure() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = Arc::new(
        slot.serve(
            JwtVerifier::discover(&idp.issuer)
                .audience(&resource)
                .build()
                .unwrap(),
        ),
    );
    let old = idp.token(&request(&resource)).await;
    assert_eq!(mcp.whoami(&old).await.status, 200);

    // Steady traffic with the old token on four workers.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (mcp, old, stop) = (mcp.clone(), old.clone(), stop.clone());
            let (ok, failed) = (ok.clone(), failed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    match mcp.whoami(&old).await.status {
                        200 => ok.fetch_add(1, Ordering::SeqCst),
                        _ => failed.fetch_add(1, Ordering::SeqCst),
                    };
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The IdP rotates: a new key is published and signs from now on.
    let new_kid = idp.rotate(false).await;
    let new = idp.token(&request(&resource)).await;
    assert_eq!(kid_of(&new), new_kid);
    assert_ne!(kid_of(&new), kid_of(&old));

    // Sixteen first uses of the new key at once: all accepted, sharing one JWKS fetch.
    let first_uses = futures_util::future::join_all((0..16).map(|_| mcp.whoami(&new))).await;
    for answer in &first_uses {
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "requests failed during rotation"
    );
    assert_eq!(
        mcp.whoami(&old).await.status,
        200,
        "old key still published"
    );
    let fetches = idp.count("jwks").await;
    assert_eq!(fetches, 2, "initial fetch + one refresh for the new kid");
    eprintln!(
        "rotation: {} requests with the old token and 16 concurrent first uses of the new key, \
         0 failures, JWKS fetches = {fetches}",
        ok.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kid_spray_stays_within_the_refresh_bound() {
    const LIMIT: u32 = 3;
    const SPRAY: usize = 300;
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = Arc::new(
        slot.serve(
            JwtVerifier::discover(&idp.issuer)
                .audience(&resource)
                .jwks_options(JwksOptions::default().refreshes_per_minute(LIMIT))
                .build()
                .unwrap(),
        ),
    );
    let valid = idp.token(&request(&resource)).await;
    assert_eq!(mcp.whoami(&valid).await.status, 200);

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..8)
        .map(|_| {
            let (mcp, next, issuer, resource) = (
                mcp.clone(),
                next.clone(),
                idp.issuer.clone(),
                resource.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= SPRAY {
                        break;
                    }
                    let token = sprayed(&issuer, &resource, i);
                    mcp.whoami(&token)
                        .await
                        .assert_invalid_token(&token, "sprayed kid");
                }
            })
        })
        .collect();
    for a in attackers {
        a.await.unwrap();
    }
    let fetches = idp.count("jwks").await;
    assert!(
        fetches <= 1 + u64::from(LIMIT),
        "{fetches} JWKS fetches for {SPRAY} random kids (bound {})",
        1 + LIMIT
    );
    assert_eq!(
        mcp.whoami(&valid).await.status,
        200,
        "legitimate traffic unaffected"
    );
    eprintln!(
        "kid spray: {SPRAY} tokens with random kids in {:?} → JWKS fetches = {fetches} \
         (1 initial + at most {LIMIT} refreshes per minute)",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_control_sets_the_key_lifetime() {
    let idp = Idp::start().await;
    idp.jwks_cache_control("public, max-age=1").await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::discover(&idp.issuer)
            .audience(&resource)
            .no_cache()
            .jwks_options(
                JwksOptions::default()
                    .ttl_bounds(Duration::from_secs(1), Duration::from_secs(3600)),
            )
            .build()
            .unwrap(),
    );
    let token = idp.token(&request(&resource)).await;
    assert_eq!(mcp.whoami(&token).await.status, 200);
    assert_eq!(mcp.whoami(&token).await.status, 200);
    assert_eq!(idp.count("jwks").await, 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Past max-age: still served from the old set, refreshed in the background.
    assert_eq!(mcp.whoami(&token).await.status, 200);
    let deadline = Instant::now() + Duration::from_secs(3);
    while idp.count("jwks").await < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(idp.count("jwks").await, 2, "refreshed once after max-age");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_down_at_start_fails_closed_then_recovers() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::discover(&issuer)
            .audience(&resource)
            .http(HttpOptions::default().timeout(Duration::from_secs(2)))
            .jwks_options(
                JwksOptions::default()
                    .retry_backoff(Duration::from_millis(200), Duration::from_millis(500)),
            )
            .build()
            .unwrap(),
    );

    // Nothing listens on the IdP's port yet: 503 with Retry-After, at once.
    let token = sprayed(&issuer, &resource, 0);
    let started = Instant::now();
    let answer = mcp.whoami(&token).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.retry_after.is_some(), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A non-JWT is still simply invalid.
    assert_eq!(mcp.whoami("opaque-garbage").await.status, 401);

    let idp = Idp::start_with(IdpOptions {
        port,
        ..IdpOptions::default()
    })
    .await;
    let token = idp.token(&request(&resource)).await;
    let status = eventually_ok(&mcp, &token, Duration::from_secs(5)).await;
    assert_eq!(status, 200, "no recovery after the IdP came up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_down_mid_run_fails_closed_then_recovers() {
    let port = free_port();
    let keys = std::env::temp_dir().join(format!(
        "mcp-auth-idp-keys-{}-{port}.json",
        std::process::id()
    ));
    let opts = IdpOptions {
        port,
        keys_file: Some(keys.clone()),
        ..IdpOptions::default()
    };
    let idp = Idp::start_with(opts.clone()).await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::discover(&idp.issuer)
            .audience(&resource)
            .no_cache()
            .http(HttpOptions::default().timeout(Duration::from_secs(2)))
            .jwks_options(
                JwksOptions::default()
                    .ttl_bounds(Duration::from_secs(1), Duration::from_secs(1))
                    .max_stale(Duration::from_secs(1))
                    .retry_backoff(Duration::from_millis(200), Duration::from_millis(500)),
            )
            .build()
            .unwrap(),
    );
    let token = idp.token(&request(&resource)).await;
    assert_eq!(mcp.whoami(&token).await.status, 200);

    idp.kill();
    // Within the key set's lifetime plus the stale allowance, the last good keys still serve.
    assert_eq!(mcp.whoami(&token).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // Past it: fail closed, quickly, with a retry hint.
    let started = Instant::now();
    let answer = mcp.whoami(&token).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.retry_after.is_some());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // The IdP comes back on the same port with the same keys.
    let idp = Idp::start_with(opts).await;
    let status = eventually_ok(&mcp, &token, Duration::from_secs(5)).await;
    assert_eq!(status, 200, "no recovery after the IdP came back");
    drop(idp);
    let _ = std::fs::remove_file(keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_jwks_endpoint_times_out_without_hanging_requests() {
    let idp = Idp::start().await;
    idp.jwks_mode("stall").await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = Arc::new(
        slot.serve(
            JwtVerifier::discover(&idp.issuer)
                .audience(&resource)
                .http(HttpOptions::default().timeout(Duration::from_secs(1)))
                .jwks_options(
                    JwksOptions::default()
                        .retry_backoff(Duration::from_millis(200), Duration::from_millis(500)),
                )
                .build()
                .unwrap(),
        ),
    );
    let token = idp.token(&request(&resource)).await;
    let started = Instant::now();
    let answers = futures_util::future::join_all((0..10).map(|_| mcp.whoami(&token))).await;
    let elapsed = started.elapsed();
    for a in &answers {
        assert_eq!(a.status, 503, "{a:?}");
    }
    assert!(
        elapsed < Duration::from_millis(2500),
        "ten requests took {elapsed:?}"
    );
    assert_eq!(
        idp.count("jwks").await,
        1,
        "the ten requests shared one fetch"
    );

    idp.jwks_mode("ok").await;
    assert_eq!(
        eventually_ok(&mcp, &token, Duration::from_secs(5)).await,
        200
    );
    eprintln!("stalled JWKS: 10 concurrent requests answered 503 in {elapsed:?} (timeout 1 s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_jwks_keeps_last_good_keys_and_fails_closed_for_new_ones() {
    let idp = Idp::start().await;
    let slot = Mcp::reserve().await;
    let resource = slot.url.clone();
    let mcp = slot.serve(
        JwtVerifier::discover(&idp.issuer)
            .audience(&resource)
            .no_cache()
            .jwks_options(
                JwksOptions::default()
                    .ttl_bounds(Duration::from_secs(1), Duration::from_secs(1))
                    .max_stale(Duration::from_secs(60))
                    .retry_backoff(Duration::from_millis(200), Duration::from_millis(500)),
            )
            .build()
            .unwrap(),
    );
    let old = idp.token(&request(&resource)).await;
    assert_eq!(mcp.whoami(&old).await.status, 200);

    for mode in ["garbage", "error"] {
        idp.jwks_mode(mode).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        // Expired key set, refresh failing: the last good keys still verify known kids...
        assert_eq!(mcp.whoami(&old).await.status, 200, "{mode}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(mcp.whoami(&old).await.status, 200, "{mode}");
    }
    // ...but a kid they do not have cannot be confirmed: 503, not 200 and not a hang.
    idp.rotate(false).await;
    let new = idp.token(&request(&resource)).await;
    let answer = mcp.whoami(&new).await;
    assert_eq!(answer.status, 503, "{answer:?}");

    idp.jwks_mode("ok").await;
    assert_eq!(eventually_ok(&mcp, &new, Duration::from_secs(5)).await, 200);
    assert_eq!(mcp.whoami(&old).await.status, 200);
}

/// Call until 200 or `within` passes; the last status.
async fn eventually_ok(mcp: &Mcp, token: &str, within: Duration) -> u16 {
    let deadline = Instant::now() + within;
    loop {
        let status = mcp.whoami(token).await.status;
        if status == 200 || Instant::now() > deadline {
            return status;
        }
        assert!(status == 503 || status == 401, "unexpected status {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
