//! The remote key set of a [`JwtVerifier`](super::JwtVerifier): fetched from a JWKS URL (found
//! by discovery when configured with an issuer), cached for the `Cache-Control` lifetime within
//! bounds, refreshed once on an unknown `kid` with concurrent misses sharing one fetch, refreshes
//! for unknown kids rate-limited, last good keys kept for a bounded time when the IdP fails,
//! and failures backed off. Nothing here ever waits longer than one HTTP timeout.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use url::Url;

use super::{
    VerifyError,
    discovery::discover,
    http::{FetchError, HttpClient},
    keys::KeySet,
};

/// How a remote key set is cached and refreshed.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth_runtime::verify::JwksOptions;
///
/// let jwks = JwksOptions::default()
///     .refreshes_per_minute(4)
///     .max_stale(Duration::from_secs(600));
/// # let _ = jwks;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwksOptions {
    /// Lifetime of a key set whose response has no `Cache-Control: max-age` (default 5 min).
    pub default_ttl: Duration,
    /// Lower bound on the lifetime, whatever the IdP says (default 30 s).
    pub min_ttl: Duration,
    /// Upper bound on the lifetime (default 24 h).
    pub max_ttl: Duration,
    /// How long past its lifetime the last good key set is still used while the IdP cannot
    /// be reached (default 1 h). After that, every token is refused with 503 until the IdP
    /// answers.
    pub max_stale: Duration,
    /// Most refreshes per rolling minute caused by tokens with an unknown `kid` (default 10).
    /// Such tokens are attacker-controlled: whatever the traffic, the IdP sees no more.
    pub refreshes_per_minute: u32,
    /// Wait after a first failed fetch before the next attempt (default 1 s); doubles per
    /// consecutive failure up to [`JwksOptions::retry_max`].
    pub retry_min: Duration,
    /// Longest wait between attempts while the IdP keeps failing (default 30 s).
    pub retry_max: Duration,
    /// Most keys kept from one key set (default 32).
    pub max_keys: usize,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(24 * 3600),
            max_stale: Duration::from_secs(3600),
            refreshes_per_minute: 10,
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            max_keys: 32,
        }
    }
}

impl JwksOptions {
    /// Set [`JwksOptions::default_ttl`].
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }
    /// Set the bounds on the lifetime ([`JwksOptions::min_ttl`], [`JwksOptions::max_ttl`]).
    pub fn ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_ttl = min;
        self.max_ttl = max.max(min);
        self
    }
    /// Set [`JwksOptions::max_stale`].
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }
    /// Set [`JwksOptions::refreshes_per_minute`].
    pub fn refreshes_per_minute(mut self, n: u32) -> Self {
        self.refreshes_per_minute = n;
        self
    }
    /// Set the retry backoff ([`JwksOptions::retry_min`], [`JwksOptions::retry_max`]).
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.retry_min = min;
        self.retry_max = max.max(min);
        self
    }
    /// Set [`JwksOptions::max_keys`].
    pub fn max_keys(mut self, n: usize) -> Self {
        self.max_keys = n.max(1);
        self
    }

    fn ttl(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.default_ttl)
            .clamp(self.min_ttl, self.max_ttl)
    }

    fn backoff(&self, failures: u32, hint: Option<Duration>) -> Duration {
        let doubled = self
            .retry_min
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        doubled.max(hint.unwrap_or_default()).min(self.retry_max)
    }
}

/// Where the keys come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Jwks(Url),
    Discover { issuer_url: Url, issuer: String },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Why {
    /// No usable keys: the verifier cannot work without a fetch.
    Needed,
    /// A token names a `kid` the current set lacks.
    UnknownKid,
    /// The set is past its lifetime but still usable (background refresh).
    Expired,
}

pub(crate) struct RemoteKeys {
    source: Source,
    http: HttpClient,
    options: JwksOptions,
    state: Mutex<State>,
    /// Held by the one task fetching; others wait on it (single flight).
    flight: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    fresh_until: Option<Instant>,
    usable_until: Option<Instant>,
    /// Bumped by every completed fetch attempt, so waiters can tell one happened.
    generation: u64,
    jwks_uri: Option<Url>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    kid_refreshes: VecDeque<Instant>,
}

impl State {
    fn usable(&self, now: Instant) -> Option<Arc<KeySet>> {
        match (&self.keys, self.usable_until) {
            (Some(keys), Some(until)) if now < until => Some(keys.clone()),
            _ => None,
        }
    }

    fn unavailable(&self, now: Instant) -> VerifyError {
        let wait = self.retry_at.map_or(Duration::from_secs(1), |at| {
            at.saturating_duration_since(now)
        });
        let reason = self
            .last_error
            .as_deref()
            .unwrap_or("signing keys are not available");
        VerifyError::unavailable(
            format!("signing keys unavailable: {reason}"),
            round_up_secs(wait),
        )
    }
}

fn round_up_secs(d: Duration) -> Duration {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Duration::from_secs(secs.max(1))
}

impl std::fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("source", &self.source)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RemoteKeys {
    pub(crate) fn new(source: Source, http: HttpClient, options: JwksOptions) -> Self {
        Self {
            source,
            http,
            options,
            state: Mutex::new(State::default()),
            flight: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current key set, refreshed if it cannot serve `kid`. The caller still checks that
    /// a key fits: after a refresh (or a refused one), the kid may remain unknown.
    pub(crate) async fn keys_for(
        self: &Arc<Self>,
        kid: Option<&str>,
    ) -> Result<Arc<KeySet>, VerifyError> {
        let now = Instant::now();
        let (usable, fresh, backing_off, generation) = {
            let st = self.lock();
            let fresh = st.fresh_until.is_some_and(|t| now < t);
            let backing_off = st.retry_at.is_some_and(|t| now < t);
            (st.usable(now), fresh, backing_off, st.generation)
        };
        match usable {
            Some(keys) => {
                if !fresh && !backing_off {
                    self.refresh_in_background(generation);
                }
                if keys.knows(kid) {
                    Ok(keys)
                } else {
                    self.refresh(Why::UnknownKid, generation).await
                }
            }
            None => self.refresh(Why::Needed, generation).await,
        }
    }

    /// Fetch now unless another task is already fetching (then share its result).
    pub(crate) async fn warm_up(self: &Arc<Self>) -> Result<Arc<KeySet>, VerifyError> {
        let generation = self.lock().generation;
        self.refresh(Why::Needed, generation).await
    }

    fn refresh_in_background(self: &Arc<Self>, generation: u64) {
        let Ok(guard) = self.flight.clone().try_lock_owned() else {
            return; // a fetch is under way
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let this = self.clone();
        rt.spawn(async move {
            let _ = this.refresh_locked(Why::Expired, generation).await;
            drop(guard);
        });
    }

    async fn refresh(
        self: &Arc<Self>,
        why: Why,
        generation: u64,
    ) -> Result<Arc<KeySet>, VerifyError> {
        let _guard = self.flight.lock().await;
        self.refresh_locked(why, generation).await
    }

    /// Called with the flight lock held.
    async fn refresh_locked(
        &self,
        why: Why,
        seen_generation: u64,
    ) -> Result<Arc<KeySet>, VerifyError> {
        let now = Instant::now();
        {
            let mut st = self.lock();
            if st.generation != seen_generation {
                // Another task fetched while this one waited: share its outcome. If that
                // fetch failed, an unknown kid could not be confirmed: 503, not 401.
                return match (why, st.usable(now)) {
                    (Why::UnknownKid, _) if st.failures > 0 => Err(st.unavailable(now)),
                    (_, Some(keys)) => Ok(keys),
                    (_, None) => Err(st.unavailable(now)),
                };
            }
            if st.retry_at.is_some_and(|at| now < at) {
                // Backing off after a failure: no request reaches the IdP before then.
                return match (why, st.usable(now)) {
                    (Why::UnknownKid, _) | (Why::Needed, None) => Err(st.unavailable(now)),
                    (_, Some(keys)) => Ok(keys),
                    (Why::Expired, None) => Err(st.unavailable(now)),
                };
            }
            if why == Why::UnknownKid {
                let window = Duration::from_secs(60);
                while st
                    .kid_refreshes
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    st.kid_refreshes.pop_front();
                }
                if st.kid_refreshes.len() >= self.options.refreshes_per_minute as usize {
                    tracing::debug!(
                        target: "mcp_auth::verify",
                        "unknown kid: JWKS refresh skipped (rate limit reached)"
                    );
                    return st.usable(now).ok_or_else(|| st.unavailable(now));
                }
                st.kid_refreshes.push_back(now);
            }
        }

        let outcome = self.fetch().await;
        let now = Instant::now();
        let mut st = self.lock();
        st.generation += 1;
        match outcome {
            Ok((keys, max_age, jwks_uri)) => {
                let ttl = self.options.ttl(max_age);
                tracing::debug!(
                    target: "mcp_auth::verify",
                    keys = keys.len(),
                    ttl_secs = ttl.as_secs(),
                    ?why,
                    "JWKS fetched"
                );
                let keys = Arc::new(keys);
                st.keys = Some(keys.clone());
                st.fresh_until = Some(now + ttl);
                st.usable_until = Some(now + ttl + self.options.max_stale);
                st.jwks_uri = Some(jwks_uri);
                st.failures = 0;
                st.retry_at = None;
                st.last_error = None;
                Ok(keys)
            }
            Err(e) => {
                st.failures = st.failures.saturating_add(1);
                let wait = self.options.backoff(st.failures, e.retry_after());
                st.retry_at = Some(now + wait);
                st.last_error = Some(e.to_string());
                // The discovered JWKS URL may be what broke; find it again next time.
                if matches!(self.source, Source::Discover { .. }) {
                    st.jwks_uri = None;
                }
                tracing::warn!(
                    target: "mcp_auth::verify",
                    error = %e,
                    failures = st.failures,
                    retry_in_ms = wait.as_millis() as u64,
                    stale_keys_in_use = st.usable(now).is_some(),
                    "JWKS refresh failed"
                );
                match (why, st.usable(now)) {
                    (Why::UnknownKid | Why::Needed, _) => Err(st.unavailable(now)),
                    (Why::Expired, Some(keys)) => Ok(keys),
                    (Why::Expired, None) => Err(st.unavailable(now)),
                }
            }
        }
    }

    async fn fetch(&self) -> Result<(KeySet, Option<Duration>, Url), FetchError> {
        let jwks_uri = match &self.source {
            Source::Jwks(url) => url.clone(),
            Source::Discover { issuer_url, issuer } => {
                let known = self.lock().jwks_uri.clone();
                match known {
                    Some(url) => url,
                    None => discover(&self.http, issuer_url, issuer)
                        .await?
                        .jwks_uri
                        .ok_or_else(|| {
                            FetchError::garbage(issuer_url, "metadata has no `jwks_uri`")
                        })?,
                }
            }
        };
        let fetched = self.http.get(&jwks_uri).await?;
        let keys = KeySet::from_jwks(&fetched.body, self.options.max_keys)
            .map_err(|reason| FetchError::garbage(&jwks_uri, reason))?;
        Ok((keys, fetched.max_age, jwks_uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_bounded() {
        let o = JwksOptions::default();
        assert_eq!(o.ttl(None), Duration::from_secs(300));
        assert_eq!(o.ttl(Some(Duration::ZERO)), Duration::from_secs(30));
        assert_eq!(o.ttl(Some(Duration::from_secs(86400 * 30))), o.max_ttl);
        assert_eq!(
            o.ttl(Some(Duration::from_secs(900))),
            Duration::from_secs(900)
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let o = JwksOptions::default();
        let secs: Vec<u64> = (1..=7).map(|n| o.backoff(n, None).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(o.backoff(1, Some(Duration::from_secs(20))).as_secs(), 20);
        assert_eq!(o.backoff(40, None).as_secs(), 30);
    }

    #[test]
    fn retry_hint_rounds_up() {
        assert_eq!(
            round_up_secs(Duration::from_millis(1)),
            Duration::from_secs(1)
        );
        assert_eq!(
            round_up_secs(Duration::from_millis(2500)),
            Duration::from_secs(3)
        );
        assert_eq!(round_up_secs(Duration::ZERO), Duration::from_secs(1));
    }
}
