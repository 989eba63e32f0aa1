//! The client address of a request, for per-address limits, the lockout and the audit log.
//!
//! By default it is the TCP peer (axum's `ConnectInfo<SocketAddr>`, which
//! [`AuthServer`](crate::AuthServer) always provides). Headers such as `X-Forwarded-For` are
//! written by whoever sends the request, so they are read only when the peer is a proxy the
//! server was told to trust ([`AuthServer::trust_forwarded_for`](crate::AuthServer::trust_forwarded_for)),
//! and then from the right: the rightmost address that is not itself a trusted proxy is the
//! one the nearest untrusted hop connected from.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::Request;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client address of `req`: the peer, or — when the peer is one of `trusted_proxies` —
/// the rightmost `X-Forwarded-For` entry that is not a trusted proxy. `None` without a peer
/// address (a router served without connect info).
pub(crate) fn client_ip<B>(req: &Request<B>, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical())?;
    if trusted_proxies.is_empty() || !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for value in req.headers().get_all(X_FORWARDED_FOR).iter().rev() {
        let Ok(value) = value.to_str() else {
            return Some(client);
        };
        for entry in value.rsplit(',') {
            match entry.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    let ip = ip.to_canonical();
                    client = ip;
                    if !trusted_proxies.contains(&ip) {
                        return Some(ip);
                    }
                }
                // A malformed entry: nothing left of it can be trusted.
                Err(_) => return Some(client),
            }
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(peer: &str, xff: &[&str]) -> Request<()> {
        let mut r = Request::new(());
        r.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 4000)));
        for v in xff {
            r.headers_mut().append(X_FORWARDED_FOR, v.parse().unwrap());
        }
        r
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_only_from_trusted_proxies() {
        let proxy = [ip("10.0.0.1")];
        assert_eq!(
            client_ip(&req("1.2.3.4", &["9.9.9.9"]), &[]),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            client_ip(&req("1.2.3.4", &["9.9.9.9"]), &proxy),
            Some(ip("1.2.3.4")),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_ip(&req("10.0.0.1", &["6.6.6.6, 5.5.5.5"]), &proxy),
            Some(ip("5.5.5.5")),
            "the rightmost entry, not the spoofable leftmost"
        );
        let two = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_ip(&req("10.0.0.1", &["6.6.6.6", "5.5.5.5, 10.0.0.2"]), &two),
            Some(ip("5.5.5.5")),
            "trusted hops are skipped, across headers"
        );
        assert_eq!(
            client_ip(&req("10.0.0.1", &["5.5.5.5, garbage"]), &proxy),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(
            client_ip(&req("10.0.0.1", &[]), &proxy),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(
            client_ip(&req("::ffff:10.0.0.1", &["5.5.5.5"]), &proxy),
            Some(ip("5.5.5.5"))
        );
        assert_eq!(client_ip(&Request::new(()), &proxy), None);
    }
}
