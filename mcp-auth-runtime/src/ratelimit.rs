//! Rate limits: [`Rate`] (`"10/min"`), and the bounded, keyed limiters the layer, the
//! [`PolicyGuard`](crate::PolicyGuard) and the generated handler check.
//!
//! The arithmetic is [governor](https://docs.rs/governor)'s GCRA: a rate of `N/period` lets a
//! key spend up to `N` cells at once and refills them evenly over `period`. What this module adds
//! is the bookkeeping governor leaves to its user: a state table whose key count is capped, swept
//! of idle keys (governor's `retain_recent`) every few seconds and whenever it fills.
//!
//! Keys are never raw tokens: principals are hashed ([`principal_key`]) and addresses are
//! [`IpKey`]s.

use std::{
    fmt,
    hash::{BuildHasher, Hash},
    net::IpAddr,
    num::NonZeroU32,
    str::FromStr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use dashmap::DashMap;
use governor::{
    Quota, RateLimiter,
    clock::{Clock, MonotonicClock},
    nanos::Nanos,
    state::{InMemoryState, NotKeyed, StateStore, keyed::ShrinkableKeyedStateStore},
};

use crate::{AccessToken, policy::RateSlot};

/// Default number of keys (principals, addresses) one limiter remembers.
pub const DEFAULT_LIMITER_CAPACITY: usize = 100_000;

/// Idle keys are swept at most this often (and whenever a table fills, at most once a second).
const SWEEP_INTERVAL: Duration = Duration::from_secs(10);
const FULL_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// A rate: at most `count` per `period`, in bursts of up to `count`.
///
/// Written `"<count>/<unit>"` with the unit `s`, `sec`, `second`, `m`, `min`, `minute`, `h` or
/// `hour` — in `#[tool(rate = "10/min")]` (checked at compile time) and on the
/// [`AuthServer`](crate::AuthServer) builder.
///
/// ```
/// use mcp_auth_runtime::Rate;
///
/// let rate: Rate = "10/min".parse().unwrap();
/// assert_eq!(rate, Rate::per_minute(10));
/// assert_eq!(rate.to_string(), "10/min");
/// assert_eq!("100/hour".parse::<Rate>().unwrap().period().as_secs(), 3600);
/// assert!("0/min".parse::<Rate>().is_err());
/// assert!("10/fortnight".parse::<Rate>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    count: NonZeroU32,
    period: Duration,
}

impl Rate {
    /// `count` per `period`.
    ///
    /// # Panics
    /// If `count` or `period` is zero (at compile time in a `const`).
    pub const fn new(count: u32, period: Duration) -> Self {
        let Some(count) = NonZeroU32::new(count) else {
            panic!("a rate needs a count of at least 1");
        };
        assert!(!period.is_zero(), "a rate needs a non-zero period");
        Self { count, period }
    }

    /// `count` per second.
    pub const fn per_second(count: u32) -> Self {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` per minute.
    pub const fn per_minute(count: u32) -> Self {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` per hour.
    pub const fn per_hour(count: u32) -> Self {
        Self::new(count, Duration::from_secs(3600))
    }

    /// How many per period (also the largest burst).
    pub const fn count(&self) -> u32 {
        self.count.get()
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        self.period
    }

    fn quota(&self) -> Quota {
        Quota::with_period(self.period / self.count.get())
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(self.count)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period.as_secs() {
            1 if self.period.subsec_nanos() == 0 => "s",
            60 if self.period.subsec_nanos() == 0 => "min",
            3600 if self.period.subsec_nanos() == 0 => "hour",
            _ => return write!(f, "{}/{:?}", self.count, self.period),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// Why a rate string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// Not `<count>/<unit>`.
    #[error("expected a rate such as \"10/min\" (<count>/<unit>), got {0:?}")]
    Syntax(String),
    /// The count is zero or too large.
    #[error("the count of a rate is a whole number from 1 to 4294967295, got {0:?}")]
    Count(String),
    /// The unit is not one of the known ones.
    #[error("unknown unit {0:?} in a rate: use s, sec, second, m, min, minute, h or hour")]
    Unit(String),
}

/// The units a rate may name, and their length in seconds.
pub const RATE_UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("sec", 1),
    ("second", 1),
    ("m", 60),
    ("min", 60),
    ("minute", 60),
    ("h", 3600),
    ("hour", 3600),
];

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Self, RateError> {
        let Some((count, unit)) = s.split_once('/') else {
            return Err(RateError::Syntax(s.to_owned()));
        };
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RateError::Syntax(s.to_owned()));
        }
        let count = count
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| RateError::Count(count.to_owned()))?;
        let secs = RATE_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|&(_, secs)| secs)
            .ok_or_else(|| RateError::Unit(unit.to_owned()))?;
        Ok(Self::new(count, Duration::from_secs(secs)))
    }
}

/// Something that names a [`Rate`]: a `Rate`, or a string such as `"100/min"` (checked when
/// the server is built).
pub trait IntoRate {
    /// The rate, or why the string is not one.
    fn into_rate(self) -> Result<Rate, RateError>;
}

impl IntoRate for Rate {
    fn into_rate(self) -> Result<Rate, RateError> {
        Ok(self)
    }
}

impl IntoRate for &str {
    fn into_rate(self) -> Result<Rate, RateError> {
        self.parse()
    }
}

impl IntoRate for String {
    fn into_rate(self) -> Result<Rate, RateError> {
        self.parse()
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// The per-address limit of the builder.
    Address,
    /// The per-principal limit of the builder.
    Principal,
    /// The `rate` of the tool, prompt or resource.
    Operation,
}

impl Limit {
    /// `address`, `principal` or `operation`: in audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Principal => "principal",
            Self::Operation => "operation",
        }
    }
}

/// The key of a principal in the limiters: a keyed hash (random per process) of
/// [`AccessToken::principal`] — never the raw token, and a fixed-size key that is not copied.
pub fn principal_key(token: &AccessToken) -> u64 {
    hasher().hash_one(token.principal())
}

/// The key of "no identity" (stdio without one): one shared bucket.
pub(crate) const ANONYMOUS: u64 = 0;

/// The JSON-RPC error code of a rate limit hit inside the generated handler (stdio,
/// in-memory); over HTTP the layer answers `429` first. Its `data` is
/// `{"error": "rate_limited", "retry_after": <seconds>}`.
pub const RATE_LIMITED_CODE: i32 = -32029;

fn hasher() -> &'static std::hash::RandomState {
    static HASHER: OnceLock<std::hash::RandomState> = OnceLock::new();
    HASHER.get_or_init(std::hash::RandomState::new)
}

/// The key of a client address: IPv4 addresses (also IPv4-mapped IPv6 ones) whole, IPv6
/// addresses by their /64 prefix — one host usually holds a whole /64, so keying single IPv6
/// addresses would let it spread over 2^64 keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpKey(IpAddr);

impl IpKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Self(IpAddr::V6(prefix.into()))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The bounded state store.

/// governor's `DashMapStateStore` with a cap on the number of keys. A new key arriving while the
/// table is full is measured as a fresh key and not remembered (it is not limited until a sweep
/// makes room): a full table never refuses anyone, and never grows.
struct Table<K: Hash + Eq> {
    map: DashMap<K, InMemoryState>,
    len: AtomicUsize,
    capacity: usize,
    overflowed: AtomicBool,
}

/// The store handed to governor; the limiter keeps another handle for its bookkeeping.
struct BoundedStore<K: Hash + Eq>(Arc<Table<K>>);

impl<K: Hash + Eq + Clone> StateStore for BoundedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let table = &*self.0;
        if let Some(state) = table.map.get(key) {
            return state.measure_and_replace(&NotKeyed::NonKey, f);
        }
        if table.len.load(Ordering::Relaxed) >= table.capacity {
            table.overflowed.store(true, Ordering::Relaxed);
            return f(None).map(|(t, _)| t);
        }
        let state = table.map.entry(key.clone()).or_insert_with(|| {
            table.len.fetch_add(1, Ordering::Relaxed);
            InMemoryState::default()
        });
        state.measure_and_replace(&NotKeyed::NonKey, f)
    }
}

/// The theoretical arrival time governor keeps for a key, read without changing it.
fn tat(state: &InMemoryState) -> Option<Nanos> {
    match state.measure_and_replace(&NotKeyed::NonKey, Err::<((), Nanos), _>) {
        Err(tat) => tat,
        Ok(()) => None,
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for BoundedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        let table = &*self.0;
        table
            .map
            .retain(|_, state| tat(state).is_some_and(|t| t > drop_below));
        table.len.store(table.map.len(), Ordering::Relaxed);
    }

    fn shrink_to_fit(&self) {
        self.0.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.0.len.load(Ordering::Relaxed)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One rate, many keys, at most `capacity` of them remembered.
pub(crate) struct KeyedLimiter<K: Hash + Eq + Clone> {
    rate: Rate,
    limiter: RateLimiter<K, BoundedStore<K>, MonotonicClock>,
    table: Arc<Table<K>>,
    epoch: Instant,
    /// Nanoseconds after `epoch` of the last sweep.
    last_sweep: AtomicU64,
}

impl<K: Hash + Eq + Clone> fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("rate", &self.rate)
            .field("keys", &self.len())
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    pub(crate) fn new(rate: Rate, capacity: usize) -> Self {
        let table = Arc::new(Table {
            map: DashMap::new(),
            len: AtomicUsize::new(0),
            capacity: capacity.max(1),
            overflowed: AtomicBool::new(false),
        });
        Self {
            rate,
            limiter: RateLimiter::new(rate.quota(), BoundedStore(table.clone()), MonotonicClock),
            table,
            epoch: Instant::now(),
            last_sweep: AtomicU64::new(0),
        }
    }

    /// Spend one cell of `key`: `Ok`, or how long until one is available.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        let now = self.limiter.clock().now();
        self.maybe_sweep(now);
        match self.limiter.check_key(key) {
            Ok(()) => Ok(()),
            Err(not_until) => Err(not_until.wait_time_from(now)),
        }
    }

    /// How many keys are remembered.
    pub(crate) fn len(&self) -> usize {
        self.table.len.load(Ordering::Relaxed)
    }

    /// Sweep every [`SWEEP_INTERVAL`], or after [`FULL_SWEEP_INTERVAL`] once the table filled.
    fn maybe_sweep(&self, now: Instant) {
        let elapsed = nanos(now.saturating_duration_since(self.epoch));
        let last = self.last_sweep.load(Ordering::Relaxed);
        let since = elapsed.saturating_sub(last);
        let due = since >= nanos(SWEEP_INTERVAL)
            || (since >= nanos(FULL_SWEEP_INTERVAL)
                && self.table.overflowed.load(Ordering::Relaxed));
        if due
            && self
                .last_sweep
                .compare_exchange(last, elapsed, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.sweep();
        }
    }

    /// Forget keys whose state is no different from a fresh one.
    pub(crate) fn sweep(&self) {
        let before = self.len();
        self.limiter.retain_recent();
        let after = self.len();
        if after < before / 2 {
            self.limiter.shrink_to_fit();
        }
        if self.table.overflowed.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                target: "mcp_auth::ratelimit",
                rate = %self.rate,
                keys = after,
                "a rate-limit table was full: keys beyond its capacity went unlimited"
            );
        }
    }
}

/// One limiter per rated item of a policy, keyed by [`principal_key`].
pub(crate) struct OperationLimits {
    limiters: Box<[KeyedLimiter<u64>]>,
}

impl fmt::Debug for OperationLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.limiters.iter()).finish()
    }
}

impl OperationLimits {
    pub(crate) fn new(rates: &[Rate], capacity: usize) -> Self {
        Self {
            limiters: rates
                .iter()
                .map(|&rate| KeyedLimiter::new(rate, capacity))
                .collect(),
        }
    }

    /// Spend one call of the item in `slot` for `principal`.
    pub(crate) fn check(&self, slot: RateSlot, principal: u64) -> Result<(), Duration> {
        match self.limiters.get(slot.0) {
            Some(limiter) => limiter.check(&principal),
            None => Ok(()),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates() {
        for (s, count, secs) in [
            ("1/s", 1, 1),
            ("5/sec", 5, 1),
            ("5/second", 5, 1),
            ("10/m", 10, 60),
            ("10/min", 10, 60),
            ("10/minute", 10, 60),
            ("7/h", 7, 3600),
            ("4294967295/hour", u32::MAX, 3600),
        ] {
            let r: Rate = s.parse().unwrap();
            assert_eq!((r.count(), r.period().as_secs()), (count, secs), "{s}");
        }
        for s in [
            "", "10", "/min", "10/", "0/min", "-1/min", "+1/min", "1.5/min", "10 /min",
        ] {
            assert!(s.parse::<Rate>().is_err(), "{s:?}");
        }
        assert_eq!(
            "10/mins".parse::<Rate>(),
            Err(RateError::Unit("mins".into()))
        );
        assert_eq!(
            "99999999999/s".parse::<Rate>(),
            Err(RateError::Count("99999999999".into()))
        );
    }

    #[test]
    fn limits_per_key_and_refills() {
        let l = KeyedLimiter::new(Rate::new(3, Duration::from_millis(300)), 10);
        for _ in 0..3 {
            assert!(l.check(&1u64).is_ok());
        }
        let wait = l.check(&1u64).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert!(l.check(&2u64).is_ok(), "another key has its own budget");
        std::thread::sleep(Duration::from_millis(110));
        assert!(l.check(&1u64).is_ok(), "one cell refilled");
    }

    #[test]
    fn key_count_is_bounded_and_swept() {
        let l = KeyedLimiter::new(Rate::new(1, Duration::from_millis(50)), 100);
        for k in 0..1_000u64 {
            let _ = l.check(&k);
        }
        assert_eq!(l.len(), 100);
        // Keys past the capacity are not remembered: measured as fresh.
        assert!(l.check(&5_000).is_ok());
        assert!(l.check(&5_000).is_ok());
        // Remembered keys stay limited.
        assert!(l.check(&1).is_err());
        std::thread::sleep(Duration::from_millis(120));
        l.sweep();
        assert_eq!(l.len(), 0, "idle keys are forgotten");
        assert!(l.check(&5_000).is_ok());
        assert!(l.check(&5_000).is_err(), "now remembered and limited");
    }

    #[test]
    fn ipv6_is_keyed_by_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(IpKey::of(a), IpKey::of(b));
        assert_ne!(IpKey::of(a), IpKey::of(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(IpKey::of(mapped), IpKey::of("10.0.0.1".parse().unwrap()));
        assert_ne!(
            IpKey::of("10.0.0.1".parse().unwrap()),
            IpKey::of("10.0.0.2".parse().unwrap())
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
