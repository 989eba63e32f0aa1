//! The audit log: one structured [`tracing`] event per authorization decision, under the
//! target [`AUDIT_TARGET`] (`mcp_auth::audit`), at `INFO`.
//!
//! Fields (absent when unknown):
//!
//! | field | value |
//! | --- | --- |
//! | `decision` | `"allow"` or `"deny"` |
//! | `reason` | `"ok"`, or why: `missing_token`, `unsupported_scheme`, `invalid_request`, `invalid_token`, `insufficient_scope`, `insufficient_role`, `hidden`, `rate_limited`, `locked_out`, `header_too_large`, `payload_too_large`, `verifier_unavailable`, `session_not_found`, `guard_response` (a custom `OperationGuard` answered itself) |
//! | `status` | the HTTP status of a denial (`401`, `403`, `429`, …) |
//! | `limit` | for `rate_limited`: `address`, `principal` or `operation` |
//! | `subject`, `client_id`, `issuer` | the verified caller (together: the principal) |
//! | `method` | the JSON-RPC method (`tools/call`, …): from `Mcp-Method`, or read from the body by the policy check |
//! | `item` | the tool or prompt name, or the resource URI |
//! | `client_ip` | the client address (see `trust_forwarded_for`) |
//! | `latency_us` | microseconds from the request's arrival to the decision |
//! | `transport` | `"http"` (decided in the layer) or `"handler"` (decided in the generated handler: stdio, in-memory, or HTTP without the policy check in the layer) |
//!
//! Never the token, a secret, or a verifier's error text (which may quote what the client
//! sent). On HTTP the layer writes the event; the generated handler writes one only for what
//! the layer did not decide, so each decision is logged once.
//!
//! ```no_run
//! // JSON lines of the audit events only:
//! // tracing_subscriber::fmt().json().with_env_filter("mcp_auth::audit=info").init();
//! ```

use std::{net::IpAddr, time::Duration};

use crate::{AccessToken, challenge::Rejection};

/// The `tracing` target of audit events.
pub const AUDIT_TARGET: &str = "mcp_auth::audit";

/// One decision, ready to log.
pub(crate) struct Record<'a> {
    pub(crate) allow: bool,
    pub(crate) reason: &'static str,
    pub(crate) status: Option<u16>,
    pub(crate) limit: Option<&'static str>,
    pub(crate) token: Option<&'a AccessToken>,
    pub(crate) method: Option<&'a str>,
    pub(crate) item: Option<&'a str>,
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) latency: Duration,
    pub(crate) transport: &'static str,
}

impl Record<'_> {
    pub(crate) fn emit(&self) {
        let token = self.token;
        tracing::info!(
            target: "mcp_auth::audit",
            decision = if self.allow { "allow" } else { "deny" },
            reason = self.reason,
            status = self.status,
            limit = self.limit,
            subject = token.and_then(AccessToken::subject),
            client_id = token.and_then(AccessToken::client_id),
            issuer = token.and_then(AccessToken::issuer),
            method = self.method,
            item = self.item,
            client_ip = self.client_ip.map(tracing::field::display),
            latency_us = u64::try_from(self.latency.as_micros()).unwrap_or(u64::MAX),
            transport = self.transport,
            "authorization decision"
        );
    }
}

/// Whether audit events are wanted at all (one cached check).
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: "mcp_auth::audit", tracing::Level::INFO)
}

/// The `reason` of a rejection.
pub(crate) fn reason(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::MissingToken {
            other_scheme: false,
        } => "missing_token",
        Rejection::MissingToken { other_scheme: true } => "unsupported_scheme",
        Rejection::InvalidRequest(_) => "invalid_request",
        Rejection::HeaderTooLarge => "header_too_large",
        Rejection::PayloadTooLarge => "payload_too_large",
        Rejection::InvalidToken(_) => "invalid_token",
        Rejection::InsufficientScope { .. } => "insufficient_scope",
        Rejection::InsufficientRole { .. } => "insufficient_role",
        Rejection::Unavailable { .. } => "verifier_unavailable",
        Rejection::SessionNotFound => "session_not_found",
        Rejection::RateLimited { .. } => "rate_limited",
        Rejection::LockedOut { .. } => "locked_out",
    }
}
