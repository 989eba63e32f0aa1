//! Failed-authentication lockout: an address that presents too many rejected tokens is refused
//! with 429 for a cool-down, before its tokens are even verified.
//!
//! Only presented-and-rejected tokens count (401 `invalid_token`): a request without a token is
//! how every client discovers the authorization server, and a verifier outage (503) is not the
//! client's failure. Failures are counted with governor's GCRA per address ([`IpKey`]: IPv4
//! whole, IPv6 by /64) in a bounded table; locks live in a second bounded table.

use std::{
    fmt,
    net::IpAddr,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use dashmap::DashMap;

use crate::ratelimit::{DEFAULT_LIMITER_CAPACITY, IpKey, KeyedLimiter, Rate};

/// When to lock an address out.
///
/// An address whose rejected tokens exceed `max_failures` within `window` gets `429` with
/// `Retry-After` on every request for `cooldown`; other addresses are unaffected. On by
/// default in [`AuthServer`](crate::AuthServer): 50 failures per minute, then 5 minutes out,
/// 100,000 addresses tracked, loopback addresses exempt.
///
/// Loopback is exempt by default because a reverse proxy on the same host makes every client
/// `127.0.0.1`: one client guessing tokens would lock out all of them. With
/// [`AuthServer::trust_forwarded_for`](crate::AuthServer::trust_forwarded_for) configured the
/// client address is the forwarded one, and the lockout applies to it.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth_runtime::Lockout;
///
/// let strict = Lockout::new(10, Duration::from_secs(60)).cooldown(Duration::from_secs(900));
/// assert_eq!(strict.max_failures(), 10);
/// assert_eq!(Lockout::default().cooldown_period(), Duration::from_secs(300));
/// ```
///
/// Behind a reverse proxy every client has the proxy's address: configure
/// [`AuthServer::trust_forwarded_for`](crate::AuthServer::trust_forwarded_for), or one client
/// sending bad tokens locks everyone out.
#[derive(Clone, PartialEq, Eq)]
pub struct Lockout {
    max_failures: u32,
    window: Duration,
    cooldown: Duration,
    capacity: usize,
    exempt_loopback: bool,
}

impl fmt::Debug for Lockout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lockout")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .field("cooldown", &self.cooldown)
            .field("capacity", &self.capacity)
            .field("exempt_loopback", &self.exempt_loopback)
            .finish()
    }
}

impl Default for Lockout {
    fn default() -> Self {
        Self {
            max_failures: 50,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(300),
            capacity: DEFAULT_LIMITER_CAPACITY,
            exempt_loopback: true,
        }
    }
}

impl Lockout {
    /// Lock an address after more than `max_failures` (at least 1) rejected tokens within
    /// `window` (non-zero; a zero window is taken as one second).
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window: if window.is_zero() {
                Duration::from_secs(1)
            } else {
                window
            },
            ..Self::default()
        }
    }

    /// How long a locked address is refused (default 5 minutes).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// How many addresses are tracked, and how many may be locked at once (default 100,000
    /// each). Past it, new addresses are not tracked until idle ones are forgotten.
    pub fn capacity(mut self, addresses: usize) -> Self {
        self.capacity = addresses.max(1);
        self
    }

    /// Whether loopback client addresses (`127.0.0.0/8`, `::1`) are exempt (default `true`).
    pub fn exempt_loopback(mut self, exempt: bool) -> Self {
        self.exempt_loopback = exempt;
        self
    }

    /// Failures tolerated within the window.
    pub fn max_failures(&self) -> u32 {
        self.max_failures
    }

    /// The window failures are counted in.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// How long a locked address is refused.
    pub fn cooldown_period(&self) -> Duration {
        self.cooldown
    }

    pub(crate) fn table(&self) -> LockoutTable {
        LockoutTable {
            failures: KeyedLimiter::new(Rate::new(self.max_failures, self.window), self.capacity),
            locked: DashMap::new(),
            locked_len: AtomicUsize::new(0),
            cooldown: self.cooldown,
            capacity: self.capacity,
            exempt_loopback: self.exempt_loopback,
        }
    }
}

/// The state of a [`Lockout`]: failures per address, and the addresses locked until when.
pub(crate) struct LockoutTable {
    failures: KeyedLimiter<IpKey>,
    locked: DashMap<IpKey, Instant>,
    locked_len: AtomicUsize,
    cooldown: Duration,
    capacity: usize,
    exempt_loopback: bool,
}

impl fmt::Debug for LockoutTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockoutTable")
            .field("tracked", &self.failures.len())
            .field("locked", &self.locked_len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl LockoutTable {
    /// Whether the lockout applies to a client at `ip`.
    pub(crate) fn applies_to(&self, ip: IpAddr) -> bool {
        !(self.exempt_loopback && ip.is_loopback())
    }

    /// `Err(remaining)` while `key` is locked. One atomic load when nobody is.
    pub(crate) fn check(&self, key: &IpKey) -> Result<(), Duration> {
        if self.locked_len.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        let Some(until) = self.locked.get(key).map(|u| *u) else {
            return Ok(());
        };
        let now = Instant::now();
        if now < until {
            return Err(until - now);
        }
        if self.locked.remove_if(key, |_, u| *u <= now).is_some() {
            self.locked_len.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Count a rejected token from `key`; `Some(cooldown)` if that locked it.
    pub(crate) fn record_failure(&self, key: &IpKey) -> Option<Duration> {
        if self.failures.check(key).is_ok() {
            return None;
        }
        let now = Instant::now();
        if self.locked_len.load(Ordering::Relaxed) >= self.capacity {
            self.locked.retain(|_, until| *until > now);
            self.locked_len.store(self.locked.len(), Ordering::Relaxed);
            if self.locked_len.load(Ordering::Relaxed) >= self.capacity {
                tracing::warn!(
                    target: "mcp_auth::lockout",
                    capacity = self.capacity,
                    "the lockout table is full: an address over the failure limit is not locked"
                );
                return None;
            }
        }
        if self.locked.insert(*key, now + self.cooldown).is_none() {
            self.locked_len.fetch_add(1, Ordering::Relaxed);
        }
        Some(self.cooldown)
    }

    #[cfg(test)]
    fn locked(&self) -> usize {
        self.locked_len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn ip(n: u32) -> IpKey {
        IpKey::of(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))
    }

    #[test]
    fn locks_after_the_limit_and_releases_after_the_cooldown() {
        let t = Lockout::new(3, Duration::from_secs(60))
            .cooldown(Duration::from_millis(200))
            .table();
        for _ in 0..3 {
            assert_eq!(t.record_failure(&ip(1)), None);
            assert!(t.check(&ip(1)).is_ok());
        }
        assert_eq!(t.record_failure(&ip(1)), Some(Duration::from_millis(200)));
        let left = t.check(&ip(1)).unwrap_err();
        assert!(left <= Duration::from_millis(200) && left > Duration::ZERO);
        assert!(t.check(&ip(2)).is_ok(), "other addresses are unaffected");
        std::thread::sleep(Duration::from_millis(220));
        assert!(t.check(&ip(1)).is_ok());
        assert_eq!(t.locked(), 0);
    }

    #[test]
    fn loopback_is_exempt_unless_asked() {
        let lo: IpAddr = "127.0.0.2".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let remote: IpAddr = "203.0.113.1".parse().unwrap();
        let default = Lockout::default().table();
        assert!(!default.applies_to(lo) && !default.applies_to(v6));
        assert!(default.applies_to(remote));
        let strict = Lockout::default().exempt_loopback(false).table();
        assert!(strict.applies_to(lo) && strict.applies_to(v6));
    }

    #[test]
    fn bounded_under_spraying() {
        let t = Lockout::new(1, Duration::from_secs(60))
            .capacity(50)
            .table();
        for n in 0..10_000 {
            t.record_failure(&ip(n));
            t.record_failure(&ip(n));
        }
        assert!(t.failures.len() <= 50);
        assert!(t.locked() <= 50);
        assert_eq!(t.locked.len(), t.locked());
    }
}
