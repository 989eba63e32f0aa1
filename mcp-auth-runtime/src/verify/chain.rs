//! [`Chain`]: several verifiers tried in order, e.g. API keys for machines, then JWTs for
//! people.

use std::{sync::Arc, time::Duration};

use super::{DynVerifier, TokenVerifier, VerifyError};
use crate::AccessToken;

/// Tries verifiers in order; the first that accepts the token wins.
///
/// When none accepts, the errors combine so that an outage is never hidden and never becomes
/// "allow":
///
/// 1. any verifier [`Unavailable`](VerifyError::Unavailable) → `Unavailable` (503; the
///    longest `retry_after`): the token might have been valid;
/// 2. otherwise the most specific verdict: [`Expired`](VerifyError::Expired), then
///    [`WrongAudience`](VerifyError::WrongAudience), then
///    [`Invalid`](VerifyError::Invalid) (with the first verifier's reason).
///
/// An empty chain refuses every token.
///
/// ```
/// use mcp_auth_runtime::{AccessToken, StaticTokens, TokenVerifier, verify::{Chain, JwtVerifier}};
///
/// let keys = StaticTokens::new()
///     .with_token("sk-ci-bot", AccessToken::builder("").subject("ci-bot").scopes(["mcp"]));
/// let jwt = JwtVerifier::hmac(b"0123456789abcdef0123456789abcdef")
///     .issuer("https://issuer.example")
///     .audience("https://notes.example.com/mcp")
///     .build()
///     .unwrap();
/// let chain = Chain::new().or(keys).or(jwt);
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// assert_eq!(chain.verify("sk-ci-bot").await.unwrap().subject(), Some("ci-bot"));
/// assert!(chain.verify("neither-key-nor-jwt").await.is_err());
/// # });
/// ```
#[derive(Clone, Default)]
pub struct Chain {
    verifiers: Vec<Arc<dyn DynVerifier>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("verifiers", &self.verifiers.len())
            .finish()
    }
}

impl Chain {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append `verifier`, tried after the ones already there.
    #[allow(clippy::should_implement_trait)]
    pub fn or(mut self, verifier: impl TokenVerifier) -> Self {
        self.verifiers.push(Arc::new(verifier));
        self
    }

    /// Number of verifiers.
    pub fn len(&self) -> usize {
        self.verifiers.len()
    }

    /// Whether the chain has no verifier.
    pub fn is_empty(&self) -> bool {
        self.verifiers.is_empty()
    }
}

impl TokenVerifier for Chain {
    async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
        let mut verdict: Option<VerifyError> = None;
        for verifier in &self.verifiers {
            match verifier.verify_dyn(token).await {
                Ok(t) => return Ok(t),
                Err(e) => verdict = Some(combine(verdict, e)),
            }
        }
        Err(verdict.unwrap_or_else(|| VerifyError::invalid("no verifier configured")))
    }

    /// An answer at once only if every verifier it has to ask answers at once.
    fn verify_now(&self, token: &str) -> Option<Result<AccessToken, VerifyError>> {
        let mut verdict: Option<VerifyError> = None;
        for verifier in &self.verifiers {
            match verifier.verify_now_dyn(token)? {
                Ok(t) => return Some(Ok(t)),
                Err(e) => verdict = Some(combine(verdict, e)),
            }
        }
        Some(Err(verdict.unwrap_or_else(|| {
            VerifyError::invalid("no verifier configured")
        })))
    }
}

fn rank(e: &VerifyError) -> u8 {
    match e {
        VerifyError::Unavailable { .. } => 3,
        VerifyError::Expired => 2,
        VerifyError::WrongAudience => 1,
        _ => 0,
    }
}

fn combine(so_far: Option<VerifyError>, next: VerifyError) -> VerifyError {
    let Some(prev) = so_far else { return next };
    match (prev, next) {
        (
            VerifyError::Unavailable {
                reason,
                retry_after: a,
            },
            VerifyError::Unavailable { retry_after: b, .. },
        ) => VerifyError::Unavailable {
            reason,
            retry_after: a.max(b).max(Duration::from_secs(1)),
        },
        (prev, next) if rank(&next) > rank(&prev) => next,
        (prev, _) => prev,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Result<&'static str, VerifyError>);

    impl TokenVerifier for Fixed {
        async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
            self.0
                .clone()
                .map(|sub| AccessToken::builder(token).subject(sub).build())
        }
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn down(secs: u64) -> VerifyError {
        VerifyError::unavailable("idp down", Duration::from_secs(secs))
    }

    #[test]
    fn first_acceptance_wins_even_after_an_outage() {
        let chain = Chain::new()
            .or(Fixed(Err(down(3))))
            .or(Fixed(Ok("b")))
            .or(Fixed(Ok("c")));
        assert_eq!(block(chain.verify("t")).unwrap().subject(), Some("b"));
    }

    #[test]
    fn errors_combine_fail_closed() {
        let invalid = || Fixed(Err(VerifyError::invalid("unknown")));
        let chain = Chain::new().or(invalid()).or(invalid());
        assert_eq!(
            block(chain.verify("t")).unwrap_err(),
            VerifyError::invalid("unknown")
        );

        let chain = Chain::new()
            .or(Fixed(Err(VerifyError::Expired)))
            .or(Fixed(Err(down(3))))
            .or(Fixed(Err(down(9))))
            .or(invalid());
        match block(chain.verify("t")) {
            Err(VerifyError::Unavailable { retry_after, .. }) => {
                assert_eq!(retry_after, Duration::from_secs(9));
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }

        let chain = Chain::new()
            .or(invalid())
            .or(Fixed(Err(VerifyError::WrongAudience)))
            .or(Fixed(Err(VerifyError::Expired)));
        assert_eq!(block(chain.verify("t")).unwrap_err(), VerifyError::Expired);
        assert!(matches!(
            block(Chain::new().verify("t")),
            Err(VerifyError::Invalid(_))
        ));
    }

    /// `verify_now` answers only when every verifier it reaches answers at once, and then
    /// exactly as `verify` does.
    #[test]
    fn answers_at_once_only_when_every_step_does() {
        use crate::StaticTokens;
        let keys = || StaticTokens::new().with_token("k", AccessToken::builder("").subject("key"));
        let chain = Chain::new().or(keys()).or(Fixed(Ok("async")));
        assert_eq!(
            chain.verify_now("k").unwrap().unwrap().subject(),
            Some("key")
        );
        // The static keys refuse `other`, the next verifier would have to be awaited.
        assert!(chain.verify_now("other").is_none());
        assert_eq!(
            block(chain.verify("other")).unwrap().subject(),
            Some("async")
        );

        let only_keys = Chain::new().or(keys()).or(keys());
        assert_eq!(
            only_keys.verify_now("other").unwrap().unwrap_err(),
            block(only_keys.verify("other")).unwrap_err()
        );
        assert!(Chain::new().verify_now("t").unwrap().is_err());
    }
}
