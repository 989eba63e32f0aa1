//! Failed-authentication lockout over real HTTP. Clients connect from distinct loopback
//! addresses (127.0.0.2, 127.0.0.3, …) to play distinct machines — with
//! `exempt_loopback(false)`, since loopback is exempt by default; behind a proxy, the address
//! comes from `X-Forwarded-For` only with the explicit opt-in.

mod common;
mod hardening;

use std::time::Duration;

use common::random_token;
use hardening::{Limited, User, assert_429, call, client, client_from, keys, serve, server};
use mcp_auth::Lockout;

#[tokio::test]
async fn an_address_is_locked_after_n_failures_and_released_after_the_cooldown() {
    let alice = User::new("alice");
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &[], &[]))
            .lockout(
                Lockout::new(3, Duration::from_secs(60))
                    .cooldown(Duration::from_secs(2))
                    .exempt_loopback(false),
            )
    })
    .await;
    let attacker = client_from("127.0.0.2");
    let bystander = client_from("127.0.0.3");

    for i in 0..3 {
        let res = call(&attacker, &s.url, Some(&random_token("guess")), "free")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "failure {i} is still a 401");
    }
    let res = call(&attacker, &s.url, Some(&random_token("guess")), "free")
        .send()
        .await
        .unwrap();
    assert_eq!(assert_429(res, "locked_out", 2).await, 2);
    // Locked means locked: even a valid token from that address waits.
    let res = call(&attacker, &s.url, Some(&alice.token), "free")
        .send()
        .await
        .unwrap();
    let left = assert_429(res, "locked_out", 2).await;
    assert!((1..=2).contains(&left));

    // Other addresses are unaffected: valid principals, and even other failures.
    let res = call(&client(), &s.url, Some(&alice.token), "free")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = call(&bystander, &s.url, Some(&random_token("typo")), "free")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_some());

    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let res = call(&attacker, &s.url, Some(&alice.token), "free")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the cool-down is over");
}

#[tokio::test]
async fn only_rejected_tokens_count() {
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[], &[], &[]))
            .lockout(Lockout::new(2, Duration::from_secs(60)).exempt_loopback(false))
    })
    .await;
    let c = client_from("127.0.0.4");
    // No token (how every client discovers the authorization server), or another scheme.
    for _ in 0..10 {
        assert_eq!(
            call(&c, &s.url, None, "free")
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
    }
    for _ in 0..10 {
        let res = c
            .post(&s.url)
            .header("Authorization", "Basic dXNlcjpwYXNz")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    assert_eq!(
        call(&c, &s.url, Some("bad-1"), "free")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

/// The defaults: more than 50 rejected tokens a minute lock an address for 5 minutes; loopback
/// addresses (a proxy on the same host) are exempt. The client addresses here are public ones,
/// forwarded by a trusted proxy on 127.0.0.1.
#[tokio::test]
async fn on_by_default_with_fifty_failures_a_minute() {
    let alice = User::new("alice");
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &[], &[]))
            .trust_forwarded_for(["127.0.0.1".parse().unwrap()])
    })
    .await;
    let proxy = client();
    let from = |ip: &'static str, token: String| {
        call(&proxy, &s.url, Some(&token), "free").header("X-Forwarded-For", ip)
    };
    for i in 0..50 {
        let res = from("203.0.113.50", random_token("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "failure {i}");
    }
    let res = from("203.0.113.50", random_token("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(assert_429(res, "locked_out", 300).await, 300, "5 minutes");
    let res = from("203.0.113.51", alice.token.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The proxy itself, and anything else on loopback, is never locked by default.
    let local = client_from("127.0.0.5");
    for _ in 0..60 {
        let res = call(&local, &s.url, Some(&random_token("guess")), "free")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = call(&local, &s.url, Some(&alice.token), "free")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn lockout_can_be_turned_off() {
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[], &[], &[]))
            .trust_forwarded_for(["127.0.0.1".parse().unwrap()])
            .lockout(None)
    })
    .await;
    let c = client();
    for _ in 0..120 {
        let res = call(&c, &s.url, Some(&random_token("guess")), "free")
            .header("X-Forwarded-For", "203.0.113.60")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn forwarded_addresses_only_from_trusted_proxies() {
    let alice = User::new("alice");
    let trusting = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &[], &[]))
            .lockout(Lockout::new(2, Duration::from_secs(60)).exempt_loopback(false))
            .trust_forwarded_for(["127.0.0.1".parse().unwrap()])
    })
    .await;
    let proxy = client();
    let from = |ip: &str, token: &str| {
        call(&proxy, &trusting.url, Some(token), "free").header("X-Forwarded-For", ip.to_owned())
    };
    for _ in 0..2 {
        let res = from("203.0.113.7", &random_token("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = from("203.0.113.7", &random_token("guess"))
        .send()
        .await
        .unwrap();
    assert_429(res, "locked_out", 300).await;
    // The rightmost entry is the one the proxy saw: a spoofed leftmost one changes nothing.
    let res = from("198.51.100.1, 203.0.113.7", &alice.token)
        .send()
        .await
        .unwrap();
    assert_429(res, "locked_out", 300).await;
    // Other clients behind the same proxy are unaffected.
    let res = from("203.0.113.8", &alice.token).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // A peer that is not a trusted proxy cannot choose its address with the header.
    let direct = client_from("127.0.0.7");
    let spoof = |token: &str| {
        call(&direct, &trusting.url, Some(token), "free").header("X-Forwarded-For", "203.0.113.9")
    };
    for _ in 0..2 {
        assert_eq!(
            spoof(&random_token("g")).send().await.unwrap().status(),
            401
        );
    }
    assert_429(
        spoof(&random_token("g")).send().await.unwrap(),
        "locked_out",
        300,
    )
    .await;
    let res = from("203.0.113.9", &alice.token).send().await.unwrap();
    assert_eq!(
        res.status(),
        200,
        "the lock is on 127.0.0.7, not on the header's address"
    );

    // Without the opt-in the header is ignored: everything comes from the peer.
    let plain = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &[], &[]))
            .lockout(Lockout::new(2, Duration::from_secs(60)).exempt_loopback(false))
    })
    .await;
    let c = client_from("127.0.0.8");
    for ip in ["203.0.113.1", "203.0.113.2"] {
        let res = call(&c, &plain.url, Some(&random_token("g")), "free")
            .header("X-Forwarded-For", ip)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = call(&c, &plain.url, Some(&alice.token), "free")
        .header("X-Forwarded-For", "203.0.113.3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "two failures are not over the limit of 2"
    );
    let res = call(&c, &plain.url, Some(&random_token("g")), "free")
        .header("X-Forwarded-For", "203.0.113.4")
        .send()
        .await
        .unwrap();
    assert_429(res, "locked_out", 300).await;
}

/// Spraying failures from 5,000 addresses (through a trusted proxy) into a table of 100:
/// memory stays bounded (the table never holds more — checked in the unit tests), the server
/// keeps answering, and the addresses it does track are still locked.
#[tokio::test]
async fn spraying_addresses_stays_bounded_and_serving() {
    let alice = User::new("alice");
    let s = serve(|url| {
        server(Limited::default(), url)
            .verifier(keys(&[&alice], &[], &[]))
            .lockout(Lockout::new(1, Duration::from_secs(60)).capacity(100))
            .trust_forwarded_for(["127.0.0.1".parse().unwrap()])
    })
    .await;
    let proxy = client();
    let send = |ip: String, token: String| {
        call(&proxy, &s.url, Some(&token), "free")
            .header("X-Forwarded-For", ip)
            .send()
    };
    // The first address is tracked and locked.
    for _ in 0..2 {
        send("198.51.100.1".into(), random_token("g"))
            .await
            .unwrap();
    }
    let mut statuses = std::collections::BTreeMap::new();
    for n in 0..5_000u32 {
        let ip = format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255);
        let res = send(ip, random_token("spray")).await.unwrap();
        *statuses.entry(res.status().as_u16()).or_insert(0) += 1;
    }
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [401],
        "{statuses:?}"
    );
    let res = send("198.51.100.1".into(), alice.token.clone())
        .await
        .unwrap();
    assert_429(res, "locked_out", 300).await;
    let res = send("198.51.100.2".into(), alice.token.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
