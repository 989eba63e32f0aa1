//! RFC 9728 Protected Resource Metadata routes: GET/HEAD/OPTIONS, open CORS, no auth.

use axum::{
    Router,
    body::Body,
    routing::{MethodRouter, get},
};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::ProtectedResource;

fn cors(h: &mut http::HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
}

fn document_route(document: Bytes) -> MethodRouter {
    get(move || {
        let document = document.clone();
        async move {
            let mut res = Response::new(Body::from(document));
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            cors(h);
            res
        }
    })
    .options(|| async {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NO_CONTENT;
        cors(res.headers_mut());
        res
    })
}

/// The metadata document at every path a client derives from the resource URL.
pub(crate) fn routes(resource: &ProtectedResource) -> Router {
    let mut router = Router::new();
    for path in resource.metadata_paths() {
        router = router.route(&path, document_route(resource.document().clone()));
    }
    router
}
