//! The per-operation hook of the layer: after the bearer check, a guard may look at the
//! request (the `Mcp-Name` header, or a bounded peek at the body) and refuse the operation
//! before rmcp dispatches it.

use std::borrow::Cow;

use axum::body::Body;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Request, Response};

use crate::{AccessToken, challenge::Rejection};

const MCP_METHOD: http::HeaderName = http::HeaderName::from_static("mcp-method");
const MCP_NAME: http::HeaderName = http::HeaderName::from_static("mcp-name");

/// The outcome of an [`OperationGuard`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// Go on with this request (the guard may have buffered and rebuilt the body).
    Allow(Request<Body>),
    /// Refuse with a standard rejection (403 step-up, role denial, 429, 400…).
    Deny(Rejection),
    /// Answer with this response instead (e.g. a JSON-RPC error for a hidden item).
    Respond(Response<Body>),
}

/// Checks one MCP operation of an authenticated request before dispatch.
pub trait OperationGuard: Send + Sync + 'static {
    /// Decide on `req`, made by `token`. Record in `operation` what the request asks for
    /// (the layer has filled in the `Mcp-Method` / `Mcp-Name` headers, if any): the audit
    /// event of the request reports it.
    fn check<'a>(
        &'a self,
        token: &'a AccessToken,
        req: Request<Body>,
        operation: &'a mut Operation,
    ) -> BoxFuture<'a, Verdict>;

    /// The verdict on `req` if it can be reached without waiting (from the headers alone,
    /// say), or the request back to have [`check`](Self::check) awaited. The layer asks this
    /// first, which keeps the common case free of a boxed future. When it answers, it must
    /// answer exactly as `check` would. The default always hands the request back.
    #[allow(
        clippy::result_large_err,
        reason = "the request is handed back by value: boxing it would cost the allocation this avoids"
    )]
    fn check_now(
        &self,
        token: &AccessToken,
        req: Request<Body>,
        operation: &mut Operation,
    ) -> Result<Verdict, Request<Body>> {
        let _ = (token, operation);
        Err(req)
    }
}

/// What a request asks for, as far as the layer can tell — the `method` and `item` of its
/// audit event. Header values are kept as they came (no copy); values read from a body are
/// kept only if they are printable.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    method: Option<HeaderValue>,
    item: Option<HeaderValue>,
    hidden: bool,
    /// The policy guard found the headers do not decide this request (its body must be read).
    pub(crate) needs_body: bool,
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("(unprintable)"))
}

impl Operation {
    /// From the `Mcp-Method` and `Mcp-Name` headers of protocol 2026-07-28.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            method: headers.get(MCP_METHOD).cloned(),
            item: headers.get(MCP_NAME).cloned(),
            hidden: false,
            needs_body: false,
        }
    }

    /// The `Mcp-Method` header as it came, if it is visible ASCII.
    pub(crate) fn method_header(&self) -> Option<&str> {
        self.method.as_ref()?.to_str().ok()
    }

    /// The `Mcp-Name` header as it came, if it is visible ASCII.
    pub(crate) fn item_header(&self) -> Option<&str> {
        self.item.as_ref()?.to_str().ok()
    }

    /// Record the JSON-RPC method (`tools/call`, …).
    pub fn set_method(&mut self, method: &str) {
        self.method = Some(value(method));
    }

    /// Record the item: tool or prompt name, resource URI.
    pub fn set_item(&mut self, item: Option<&str>) {
        self.item = item.map(value);
    }

    /// Record that the caller may not see the item (a role shortfall, or an undeclared item
    /// under `undeclared = "deny"`): the request goes on, to be answered like an unknown item,
    /// but its audit event is a denial.
    pub fn set_hidden(&mut self) {
        self.hidden = true;
    }

    /// The JSON-RPC method, if known.
    pub fn method(&self) -> Option<Cow<'_, str>> {
        self.method
            .as_ref()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
    }

    /// The item, if known.
    pub fn item(&self) -> Option<Cow<'_, str>> {
        self.item
            .as_ref()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
    }

    /// Whether the item is hidden from the caller.
    pub fn is_hidden(&self) -> bool {
        self.hidden
    }
}

/// Put in the request's extensions by [`PolicyGuard`](crate::PolicyGuard) when it allowed the
/// operation: the generated handler then neither counts the item's rate limit again nor
/// writes a second audit event. Zero-sized, so inserting it allocates nothing; the caller's
/// grants, when the guard expanded them, are remembered by the token itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OperationChecked;
