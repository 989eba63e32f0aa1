//! Every way the layer refuses a request, and its exact wire form. This is the one place
//! where refusals become HTTP: status, `WWW-Authenticate`, JSON body.

use std::{fmt::Write as _, time::Duration};

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};

use crate::ratelimit::{Limit, retry_after_secs};

/// Why the layer refused a request. Descriptions are fixed strings: nothing from the request
/// (least of all the token) is echoed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No `Authorization` header (or a non-Bearer scheme): 401 with the discovery challenge.
    MissingToken {
        /// Set when an `Authorization` header with another scheme was sent.
        other_scheme: bool,
    },
    /// The credentials were malformed (two headers, a token in the query, empty token,
    /// non-UTF-8): 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// The `Authorization` header is longer than the limit: 431.
    HeaderTooLarge,
    /// The body is longer than the limit: 413.
    PayloadTooLarge,
    /// The token was presented and rejected: 401 `invalid_token`.
    InvalidToken(&'static str),
    /// The token lacks scopes: 403 `insufficient_scope` naming all the scopes needed.
    InsufficientScope {
        /// Every scope the operation needs (declared, not implied).
        scopes: Vec<String>,
        /// What the operation is.
        description: String,
    },
    /// The token lacks a role. OAuth cannot grant roles, so this is a 403 without a scope
    /// challenge (`error="insufficient_role"` in the body only).
    InsufficientRole {
        /// What the operation is.
        description: String,
    },
    /// The verifier's backend is down: 503 with `Retry-After`.
    Unavailable {
        /// When to retry.
        retry_after: Duration,
    },
    /// A session that does not exist or belongs to another principal: 404, as for an
    /// unknown session (no oracle for other principals' session ids).
    SessionNotFound,
    /// A rate limit is exhausted: 429 with `Retry-After`, `error="rate_limited"`.
    RateLimited {
        /// Which limit.
        limit: Limit,
        /// When a request would be accepted again.
        retry_after: Duration,
    },
    /// The client address sent too many rejected tokens and is locked out: 429 with
    /// `Retry-After`, `error="locked_out"`.
    LockedOut {
        /// When the lock ends.
        retry_after: Duration,
    },
}

/// Quote a value as an RFC 7230 `quoted-string`: `\` and `"` escaped, control and non-ASCII
/// characters dropped.
pub(crate) fn quote(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
}

/// Builds challenges for one protected resource.
#[derive(Debug, Clone)]
pub(crate) struct Challenger {
    metadata_url: String,
    /// Precomputed: `Bearer resource_metadata="…", scope="…"`.
    no_token: HeaderValue,
}

impl Challenger {
    pub(crate) fn new(metadata_url: &str, baseline_scopes: &[String]) -> Self {
        let mut v = String::from("Bearer resource_metadata=");
        quote(&mut v, metadata_url);
        if !baseline_scopes.is_empty() {
            v.push_str(", scope=");
            quote(&mut v, &baseline_scopes.join(" "));
        }
        Self {
            metadata_url: metadata_url.to_owned(),
            no_token: HeaderValue::from_str(&v).expect("quoted ASCII is a valid header value"),
        }
    }

    pub(crate) fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    fn header(&self, error: &str, description: &str, scope: Option<&str>) -> HeaderValue {
        let mut v = String::from("Bearer error=");
        quote(&mut v, error);
        if let Some(scope) = scope {
            v.push_str(", scope=");
            quote(&mut v, scope);
        }
        v.push_str(", resource_metadata=");
        quote(&mut v, &self.metadata_url);
        v.push_str(", error_description=");
        quote(&mut v, description);
        HeaderValue::from_str(&v).expect("quoted ASCII is a valid header value")
    }

    /// The response for a rejection.
    pub(crate) fn respond(&self, rejection: &Rejection) -> Response<Body> {
        let (status, challenge, error, description): (_, Option<HeaderValue>, &str, String) =
            match rejection {
                Rejection::MissingToken { other_scheme } => (
                    StatusCode::UNAUTHORIZED,
                    Some(self.no_token.clone()),
                    if *other_scheme {
                        "invalid_request"
                    } else {
                        "unauthorized"
                    },
                    if *other_scheme {
                        "only the Bearer authorization scheme is supported".into()
                    } else {
                        "authentication required: send Authorization: Bearer <token>".into()
                    },
                ),
                Rejection::InvalidRequest(d) => (
                    StatusCode::BAD_REQUEST,
                    Some(self.header("invalid_request", d, None)),
                    "invalid_request",
                    (*d).into(),
                ),
                Rejection::HeaderTooLarge => (
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    None,
                    "invalid_request",
                    "the Authorization header is too large".into(),
                ),
                Rejection::PayloadTooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    None,
                    "invalid_request",
                    "the request body is too large".into(),
                ),
                Rejection::InvalidToken(d) => (
                    StatusCode::UNAUTHORIZED,
                    Some(self.header("invalid_token", d, None)),
                    "invalid_token",
                    (*d).into(),
                ),
                Rejection::InsufficientScope {
                    scopes,
                    description,
                } => (
                    StatusCode::FORBIDDEN,
                    Some(self.header("insufficient_scope", description, Some(&scopes.join(" ")))),
                    "insufficient_scope",
                    description.clone(),
                ),
                Rejection::InsufficientRole { description } => (
                    StatusCode::FORBIDDEN,
                    None,
                    "insufficient_role",
                    description.clone(),
                ),
                Rejection::Unavailable { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "temporarily_unavailable",
                    "token verification is temporarily unavailable; retry later".into(),
                ),
                Rejection::SessionNotFound => (
                    StatusCode::NOT_FOUND,
                    None,
                    "session_not_found",
                    "no such session for this principal; start a new session".into(),
                ),
                Rejection::RateLimited { limit, .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    "rate_limited",
                    match limit {
                        Limit::Address => "too many requests from this address; retry later",
                        Limit::Principal => "too many requests for this principal; retry later",
                        Limit::Operation => "too many calls of this operation; retry later",
                    }
                    .into(),
                ),
                Rejection::LockedOut { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    "locked_out",
                    "too many rejected tokens from this address; retry later".into(),
                ),
            };
        let retry_after = match rejection {
            Rejection::Unavailable { retry_after } => Some(retry_after.as_secs().max(1)),
            Rejection::RateLimited { retry_after, .. } | Rejection::LockedOut { retry_after } => {
                Some(retry_after_secs(*retry_after))
            }
            _ => None,
        };
        let mut body = String::with_capacity(64 + description.len());
        body.push_str("{\"error\":");
        json_string(&mut body, error);
        body.push_str(",\"error_description\":");
        json_string(&mut body, &description);
        if let Rejection::InsufficientScope { scopes, .. } = rejection {
            body.push_str(",\"scope\":");
            json_string(&mut body, &scopes.join(" "));
        }
        if let (Rejection::RateLimited { .. } | Rejection::LockedOut { .. }, Some(secs)) =
            (rejection, retry_after)
        {
            let _ = write!(body, ",\"retry_after\":{secs}");
        }
        body.push('}');
        let mut res = Response::new(Body::from(body));
        *res.status_mut() = status;
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(c) = challenge {
            h.insert(header::WWW_AUTHENTICATE, c);
        }
        if let Some(secs) = retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_and_drops() {
        let mut s = String::new();
        quote(&mut s, "a\"b\\c\nd\u{e9}");
        assert_eq!(s, r#""a\"b\\cd""#);
    }

    #[test]
    fn json_bodies_escape() {
        let mut s = String::new();
        json_string(&mut s, "x\"\\\u{1}");
        assert_eq!(s, r#""x\"\\\u0001""#);
        let v: String = serde_json::from_str(&s).unwrap();
        assert_eq!(v, "x\"\\\u{1}");
    }
}
