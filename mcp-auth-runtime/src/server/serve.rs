//! The accept loop: HTTP/1.1 and HTTP/2 on hyper, `TCP_NODELAY` on every connection, a
//! deadline for a request's headers, and a graceful but bounded shutdown.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::error::ServeError;

/// How long [`serve_router`] waits for open connections after a shutdown signal (see
/// [`AuthServer::shutdown_grace`](crate::AuthServer::shutdown_grace)).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's headers, from the first byte on a fresh
/// connection or the end of the previous response on a kept-alive one (see
/// [`AuthServer::header_read_timeout`](crate::AuthServer::header_read_timeout)). A client
/// that trickles its headers (slowloris) is disconnected after this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How a server serves its connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeOptions {
    pub(crate) grace: Duration,
    /// `None`: no deadline for headers (no timer per request either).
    pub(crate) header_read_timeout: Option<Duration>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            grace: SHUTDOWN_GRACE,
            header_read_timeout: Some(HEADER_READ_TIMEOUT),
        }
    }
}

/// Serve `router` on `listener` until `shutdown` completes: `TCP_NODELAY` on every
/// connection, [`HEADER_READ_TIMEOUT`] for a request's headers, and after `shutdown` at most
/// [`SHUTDOWN_GRACE`] for open connections. Handlers can extract
/// `ConnectInfo<SocketAddr>` (the per-address limits and the lockout use it).
///
/// ```no_run
/// # async fn run(router: axum::Router) -> Result<(), mcp_auth_runtime::ServeError> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// mcp_auth_runtime::serve_router(listener, router, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_router_with(listener, router, shutdown, ServeOptions::default()).await
}

/// One connection's service: the router, with the peer address in every request.
#[derive(Clone)]
struct WithPeer {
    router: Router,
    peer: SocketAddr,
    /// Told of the first request (before it, the connection has a deadline).
    first: Arc<FirstRequest>,
}

/// Whether a connection delivered a request yet.
#[derive(Default)]
struct FirstRequest {
    seen: AtomicBool,
    notify: tokio::sync::Notify,
}

impl hyper::service::Service<http::Request<Incoming>> for WithPeer {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, mut req: http::Request<Incoming>) -> Self::Future {
        if !self.first.seen.load(Ordering::Relaxed)
            && !self.first.seen.swap(true, Ordering::Relaxed)
        {
            self.first.notify.notify_one();
        }
        req.extensions_mut().insert(ConnectInfo(self.peer));
        // `Router` is always ready; the clone is a reference count.
        self.router.clone().call(req)
    }
}

pub(crate) async fn serve_router_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if let Some(timeout) = options.header_read_timeout {
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(timeout);
        builder.http2().timer(TokioTimer::new());
    }
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted: wait
                    // a moment instead of spinning, and go on.
                    tracing::warn!(target: "mcp_auth::server", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(target: "mcp_auth::server", error = %e, "cannot set TCP_NODELAY");
        }
        let first = Arc::new(FirstRequest::default());
        let service = WithPeer {
            router: router.clone(),
            peer,
            first: first.clone(),
        };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let connection = graceful.watch(connection);
        let Some(deadline) = options.header_read_timeout else {
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(target: "mcp_auth::server", error = %e, "connection ended");
                }
            });
            continue;
        };
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            // hyper times the headers of HTTP/1.1 requests, but not the bytes before it knows
            // the protocol, nor HTTP/2: a connection must deliver its first request in time.
            // (The deadline is dropped at the first request: later polls cost nothing.)
            let in_time = tokio::time::timeout(deadline, first.notify.notified());
            let result = tokio::select! {
                result = &mut connection => result,
                in_time = in_time => {
                    if in_time.is_err() {
                        tracing::debug!(
                            target: "mcp_auth::server",
                            "no request within the header read timeout; closing the connection"
                        );
                        return;
                    }
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(target: "mcp_auth::server", error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    // Graceful, but bounded: a client holding a stream open must not keep the process alive.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(options.grace) => {
            tracing::warn!(
                target: "mcp_auth::server",
                grace_ms = options.grace.as_millis() as u64,
                "connections still open after the shutdown grace period; closing them"
            );
        }
    }
    Ok(())
}

/// Ctrl-C, SIGTERM or `ct`; cancels `ct` (and with it the sessions) either way.
pub(crate) async fn shutdown_signal(ct: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
        _ = ct.cancelled() => {},
    }
    ct.cancel();
}
