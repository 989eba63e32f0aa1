//! The accept loop: HTTP/1.1 and HTTP/2 on hyper, `TCP_NODELAY` on every connection, a
//! deadline for a request's headers, and a graceful but bounded shutdown.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
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
    /// The connection's watch: told of the first request.
    watch: Arc<Watch>,
}

impl hyper::service::Service<http::Request<Incoming>> for WithPeer {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, mut req: http::Request<Incoming>) -> Self::Future {
        if !self.watch.served.load(Ordering::Relaxed) {
            self.watch.served.store(true, Ordering::Relaxed);
        }
        req.extensions_mut().insert(ConnectInfo(self.peer));
        // `Router` is always ready; the clone is a reference count.
        self.router.clone().call(req)
    }
}

/// What a connection's watchdog looks at: whether a request arrived yet, and the deadline of
/// the headers hyper is reading, if any.
///
/// hyper asks its timer for a sleep at every HTTP/1.1 request (the header read timeout). With
/// tokio's timer that is an entry registered in, and removed from, the runtime's timer wheel
/// per request, often waking the driver: on a kept-alive connection serving small requests
/// that was ~8 % of the server's CPU per request. Here hyper's sleep only writes its deadline
/// into this struct, and one tokio sleep per connection (the watchdog, in the connection's
/// own task) looks at it when it fires: about once per timeout while the client keeps to
/// time, and at the deadline when it does not.
struct Watch {
    /// The connection delivered a request (before one, the whole connection has a deadline).
    served: AtomicBool,
    /// Time zero for the deadlines below (the connection's start).
    epoch: Instant,
    /// Deadline of the sleep hyper is waiting on, in nanoseconds since `epoch`; 0: none.
    armed: AtomicU64,
    /// The deadline the watchdog found passed (hyper's sleep with it is then ready).
    expired: AtomicU64,
}

impl Watch {
    fn new() -> Self {
        Self {
            served: AtomicBool::new(false),
            epoch: Instant::now(),
            armed: AtomicU64::new(0),
            expired: AtomicU64::new(0),
        }
    }

    /// `at` in nanoseconds since the epoch, at least 1 (0 means "none").
    fn nanos(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
    }

    /// The watchdog fired at `now`: expire hyper's sleep if its deadline passed, and say when
    /// to look next.
    fn look(&self, now: Instant, timeout: Duration) -> Instant {
        let now_nanos = self.nanos(now);
        match self.armed.load(Ordering::Relaxed) {
            0 => now + timeout,
            armed if armed <= now_nanos => {
                self.expired.store(armed, Ordering::Relaxed);
                now + timeout
            }
            armed => self.epoch + Duration::from_nanos(armed),
        }
    }
}

/// hyper's timer for one connection's HTTP/1.1 header deadline (see [`Watch`]).
struct WatchTimer(Arc<Watch>);

impl hyper::rt::Timer for WatchTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(WatchSleep {
            deadline: self.0.nanos(deadline),
            watch: self.0.clone(),
        })
    }
}

/// A sleep that the connection's watchdog ends (see [`Watch`]): polling it costs no clock
/// read and no timer registration. It is only woken by the watchdog's re-poll of the
/// connection, which shares its task.
struct WatchSleep {
    watch: Arc<Watch>,
    deadline: u64,
}

impl Future for WatchSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.watch.expired.load(Ordering::Relaxed) == self.deadline {
            return Poll::Ready(());
        }
        self.watch.armed.store(self.deadline, Ordering::Relaxed);
        Poll::Pending
    }
}

impl hyper::rt::Sleep for WatchSleep {}

impl Drop for WatchSleep {
    fn drop(&mut self) {
        // Disarm, unless a newer sleep armed its own deadline already.
        let _ = self.watch.armed.compare_exchange(
            self.deadline,
            0,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

pub(crate) async fn serve_router_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if options.header_read_timeout.is_some() {
        // HTTP/2 keep-alive pings, if configured, need a timer; HTTP/1.1 gets a watched one
        // per connection below.
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
        let watch = Arc::new(Watch::new());
        let service = WithPeer {
            router: router.clone(),
            peer,
            watch: watch.clone(),
        };
        let Some(timeout) = options.header_read_timeout else {
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(target: "mcp_auth::server", error = %e, "connection ended");
                }
            });
            continue;
        };
        let mut watched = builder.clone();
        watched
            .http1()
            .timer(WatchTimer(watch.clone()))
            .header_read_timeout(timeout);
        let connection = watched
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            let watchdog = tokio::time::sleep(timeout);
            let mut watchdog = pin!(watchdog);
            let result = loop {
                tokio::select! {
                    result = &mut connection => break result,
                    () = &mut watchdog => {
                        // hyper times the headers of HTTP/1.1 requests, but not the bytes
                        // before it knows the protocol, nor HTTP/2: a connection must deliver
                        // its first request in time.
                        if !watch.served.load(Ordering::Relaxed) {
                            tracing::debug!(
                                target: "mcp_auth::server",
                                "no request within the header read timeout; closing the connection"
                            );
                            return;
                        }
                        let next = watch.look(Instant::now(), timeout);
                        watchdog.as_mut().reset(next.into());
                        // The loop polls the connection again: an expired sleep ends it.
                    }
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

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn poll(sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>) -> Poll<()> {
        sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn the_watchdog_expires_only_a_passed_deadline_and_looks_again_at_the_next() {
        let timeout = Duration::from_secs(30);
        let watch = Arc::new(Watch::new());
        let timer = WatchTimer(watch.clone());
        let t0 = watch.epoch;

        // Nothing armed: look again a timeout later.
        assert_eq!(
            watch.look(t0 + Duration::from_secs(1), timeout),
            t0 + Duration::from_secs(31)
        );

        // hyper waits for headers until t0 + 40 s: the watchdog looks exactly then.
        let deadline = t0 + Duration::from_secs(40);
        let mut sleep = hyper::rt::Timer::sleep_until(&timer, deadline);
        assert_eq!(poll(&mut sleep), Poll::Pending);
        assert_eq!(watch.look(t0 + Duration::from_secs(31), timeout), deadline);
        assert_eq!(poll(&mut sleep), Poll::Pending, "not before its deadline");

        // At the deadline the sleep is over (and only that sleep).
        let other = hyper::rt::Timer::sleep_until(&timer, deadline + Duration::from_secs(1));
        assert_eq!(watch.look(deadline, timeout), deadline + timeout);
        assert_eq!(poll(&mut sleep), Poll::Ready(()));
        let mut other = other;
        assert_eq!(poll(&mut other), Poll::Pending);
        drop(sleep);
        assert_ne!(
            watch.armed.load(Ordering::Relaxed),
            0,
            "a newer sleep stays armed"
        );

        // Headers in time: the sleep is dropped, nothing is armed any more.
        drop(other);
        assert_eq!(watch.armed.load(Ordering::Relaxed), 0);
        let later = t0 + Duration::from_secs(100);
        assert_eq!(watch.look(later, timeout), later + timeout);
    }
}
