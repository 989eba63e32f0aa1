//! The per-operation hook of the layer: after the bearer check, a guard may look at the
//! request (the `Mcp-Name` header, or a bounded peek at the body) and refuse the operation
//! before rmcp dispatches it.

use axum::body::Body;
use futures_util::future::BoxFuture;
use http::{Request, Response};

use crate::{AccessToken, challenge::Rejection};

/// The outcome of an [`OperationGuard`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// Go on with this request (the guard may have buffered and rebuilt the body).
    Allow(Request<Body>),
    /// Refuse with a standard rejection (403 step-up, role denial, 400…).
    Deny(Rejection),
    /// Answer with this response instead (e.g. a JSON-RPC error for a hidden item).
    Respond(Response<Body>),
}

/// Checks one MCP operation of an authenticated request before dispatch.
pub trait OperationGuard: Send + Sync + 'static {
    /// Decide on `req`, made by `token`.
    fn check<'a>(&'a self, token: &'a AccessToken, req: Request<Body>) -> BoxFuture<'a, Verdict>;
}
