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
    task::{Context, Poll, Wake, Waker},
    time::{Duration, Instant},
};

use axum::{Router, extract::ConnectInfo};
use futures_util::task::AtomicWaker;
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

/// A deadline is enforced between one timeout and `1 + 1/TICKS` of it: the watchdog looks
/// `TICKS` times per timeout.
const TICKS: u32 = 4;

/// What a connection's watchdog looks at: whether a request arrived yet, and which header read
/// hyper is waiting on, if any.
///
/// hyper asks its timer for a sleep at every HTTP/1.1 request (the header read timeout). With
/// tokio's timer that is a clock read and an entry registered in, and removed from, the
/// runtime's timer wheel per request. Here hyper's sleep only writes its number into this
/// struct while hyper waits on it, and the connection's watchdog (one tokio sleep, in the
/// connection's own task, firing `TICKS` times per timeout) closes the connection once the
/// same read has been pending for a whole timeout: no clock read and no timer per request.
struct Watch {
    /// The connection delivered a request (before one, the whole connection has a deadline).
    served: AtomicBool,
    /// Number of the sleep hyper is waiting on (a header read in progress); 0: none.
    armed: AtomicU64,
    /// Numbers given to the sleeps.
    issued: AtomicU64,
    /// What the timer tells hyper the time is (see [`WatchTimer`]).
    start: Instant,
}

impl Watch {
    fn new() -> Self {
        Self {
            served: AtomicBool::new(false),
            armed: AtomicU64::new(0),
            issued: AtomicU64::new(0),
            start: Instant::now(),
        }
    }
}

/// hyper's timer for one connection's HTTP/1.1 header deadline (see [`Watch`]). hyper uses it
/// for nothing else on a server connection. The deadlines hyper computes from
/// [`now`](hyper::rt::Timer::now) are ignored (so `now` need not read the clock): the
/// watchdog keeps the time.
struct WatchTimer(Arc<Watch>);

impl hyper::rt::Timer for WatchTimer {
    fn sleep(&self, _: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(WatchSleep {
            number: self.0.issued.fetch_add(1, Ordering::Relaxed) + 1,
            watch: self.0.clone(),
        })
    }

    fn sleep_until(&self, _: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep(Duration::ZERO)
    }

    fn now(&self) -> Instant {
        self.0.start
    }
}

/// Marks a header read in progress while hyper waits on it (see [`Watch`]). It never ends by
/// itself: the watchdog closes the connection instead.
struct WatchSleep {
    watch: Arc<Watch>,
    number: u64,
}

impl Future for WatchSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.watch.armed.store(self.number, Ordering::Relaxed);
        Poll::Pending
    }
}

impl hyper::rt::Sleep for WatchSleep {}

impl Drop for WatchSleep {
    fn drop(&mut self) {
        // The read is over (or abandoned): disarm, unless a newer read armed already.
        let _ =
            self.watch
                .armed
                .compare_exchange(self.number, 0, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// The watchdog's reading of a [`Watch`] at each tick.
#[derive(Default)]
struct Streak {
    /// Ticks seen before the first request.
    unserved: u32,
    /// The armed read seen at the last tick, and at how many ticks in a row.
    seen: u64,
    streak: u32,
}

impl Streak {
    /// One tick: why the connection must close, if it must.
    fn tick(&mut self, watch: &Watch) -> Option<&'static str> {
        if !watch.served.load(Ordering::Relaxed) {
            self.unserved += 1;
            return (self.unserved >= TICKS).then_some("no request within the header read timeout");
        }
        let armed = watch.armed.load(Ordering::Relaxed);
        self.streak = match armed {
            0 => 0,
            same if same == self.seen => self.streak + 1,
            _ => 1,
        };
        self.seen = armed;
        // Armed before the first of these ticks: pending for at least `TICKS` periods.
        (self.streak > TICKS)
            .then_some("request headers not complete within the header read timeout")
    }
}

/// Wakes the connection's task when the watchdog's sleep fires, and says that it did, so the
/// task polls that sleep only then (not at every wake-up for I/O).
struct Alarm {
    fired: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Alarm {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// One connection's watchdog (see [`Watch`]).
struct Watchdog {
    watch: Arc<Watch>,
    ticker: Pin<Box<tokio::time::Sleep>>,
    period: Duration,
    alarm: Arc<Alarm>,
    alarm_waker: Waker,
    streak: Streak,
}

impl Watchdog {
    fn new(watch: Arc<Watch>, timeout: Duration) -> Self {
        let period = (timeout / TICKS).max(Duration::from_millis(1));
        let alarm = Arc::new(Alarm {
            // Poll the sleep once at the start, to arm it.
            fired: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Self {
            watch,
            ticker: Box::pin(tokio::time::sleep(period)),
            period,
            alarm_waker: Waker::from(alarm.clone()),
            alarm,
            streak: Streak::default(),
        }
    }

    /// Why the connection must close, if it must; costs one atomic load unless the sleep fired.
    fn poll_expired(&mut self, cx: &Context<'_>) -> Option<&'static str> {
        if !self.alarm.fired.load(Ordering::Relaxed)
            || !self.alarm.fired.swap(false, Ordering::Acquire)
        {
            return None;
        }
        self.alarm.task.register(cx.waker());
        let mut alarm_cx = Context::from_waker(&self.alarm_waker);
        while self.ticker.as_mut().poll(&mut alarm_cx).is_ready() {
            if let Some(reason) = self.streak.tick(&self.watch) {
                return Some(reason);
            }
            let next = self.ticker.deadline() + self.period;
            self.ticker.as_mut().reset(next);
        }
        None
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
        let connection = match options.header_read_timeout {
            Some(timeout) => {
                let mut watched = builder.clone();
                watched
                    .http1()
                    .timer(WatchTimer(watch.clone()))
                    .header_read_timeout(timeout);
                watched
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .into_owned()
            }
            None => builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .into_owned(),
        };
        let connection = graceful.watch(connection);
        // hyper times the headers of HTTP/1.1 requests only through `WatchTimer`, and neither
        // the bytes before it knows the protocol nor HTTP/2: the watchdog keeps both
        // deadlines (a whole connection's until its first request).
        let mut watchdog = options
            .header_read_timeout
            .map(|timeout| Watchdog::new(watch, timeout));
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            let ended = std::future::poll_fn(|cx| {
                if let Some(reason) = watchdog.as_mut().and_then(|w| w.poll_expired(cx)) {
                    return Poll::Ready(Err(reason));
                }
                connection.as_mut().poll(cx).map(Ok)
            })
            .await;
            match ended {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!(target: "mcp_auth::server", error = %e, "connection ended");
                }
                Err(reason) => {
                    tracing::debug!(target: "mcp_auth::server", reason, "closing the connection");
                }
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
    use super::*;

    fn poll(sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>) -> Poll<()> {
        sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn a_connection_without_a_request_is_closed_after_one_timeout() {
        let watch = Watch::new();
        let mut streak = Streak::default();
        for _ in 1..TICKS {
            assert_eq!(streak.tick(&watch), None);
        }
        assert!(
            streak.tick(&watch).is_some(),
            "closed at the tick that ends the timeout"
        );

        let watch = Watch::new();
        let mut streak = Streak::default();
        assert_eq!(streak.tick(&watch), None);
        watch.served.store(true, Ordering::Relaxed);
        for _ in 0..3 * TICKS {
            assert_eq!(
                streak.tick(&watch),
                None,
                "served and idle between requests: kept"
            );
        }
    }

    #[test]
    fn only_a_read_pending_for_a_whole_timeout_closes_the_connection() {
        let watch = Arc::new(Watch::new());
        watch.served.store(true, Ordering::Relaxed);
        let timer = WatchTimer(watch.clone());
        let mut streak = Streak::default();

        // A read that completes between ticks is never seen.
        let mut quick = hyper::rt::Timer::sleep(&timer, Duration::from_secs(30));
        assert_eq!(poll(&mut quick), Poll::Pending);
        drop(quick);
        assert_eq!(watch.armed.load(Ordering::Relaxed), 0);
        assert_eq!(streak.tick(&watch), None);

        // Reads that complete within the timeout, one after another: never closed.
        for _ in 0..3 {
            let mut read = hyper::rt::Timer::sleep(&timer, Duration::from_secs(30));
            assert_eq!(poll(&mut read), Poll::Pending);
            for _ in 0..TICKS {
                assert_eq!(streak.tick(&watch), None);
            }
            drop(read);
        }

        // A read still pending after `TICKS` periods since the tick that first saw it.
        let mut slow = hyper::rt::Timer::sleep(&timer, Duration::from_secs(30));
        assert_eq!(poll(&mut slow), Poll::Pending);
        for _ in 0..TICKS {
            assert_eq!(streak.tick(&watch), None);
            assert_eq!(
                poll(&mut slow),
                Poll::Pending,
                "hyper polls it again: still pending"
            );
        }
        assert!(streak.tick(&watch).is_some());

        // A newer read's arming is not undone by an older one's end.
        let mut older = hyper::rt::Timer::sleep(&timer, Duration::ZERO);
        let mut newer = hyper::rt::Timer::sleep(&timer, Duration::ZERO);
        assert_eq!(poll(&mut older), Poll::Pending);
        assert_eq!(poll(&mut newer), Poll::Pending);
        drop(older);
        assert_ne!(watch.armed.load(Ordering::Relaxed), 0);
        drop(newer);
        assert_eq!(watch.armed.load(Ordering::Relaxed), 0);
    }

    async fn look(watchdog: &mut Watchdog) -> Option<&'static str> {
        std::future::poll_fn(|cx| Poll::Ready(watchdog.poll_expired(cx))).await
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_keeps_time_on_its_own_sleep() {
        let timeout = Duration::from_secs(30);
        let w = &mut Watchdog::new(Arc::new(Watch::new()), timeout);
        assert_eq!(look(w).await, None, "the first look arms its sleep");
        // No request: the connection is closed once the timeout has passed, not before.
        tokio::time::advance(timeout - Duration::from_millis(1)).await;
        assert_eq!(look(w).await, None);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(
            look(w).await,
            Some("no request within the header read timeout")
        );
    }
}
