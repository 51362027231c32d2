//! HTTP: `/metrics` (the pre-encoded snapshot), `/healthz`, `/readyz`, `/` (a landing
//! page) and, with `--web.enable-lifecycle`, `POST /-/reload`. Serving `/metrics` is a content-negotiation decision and an `Arc` clone; no
//! collection, encoding or compression happens on a request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::Either;
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, oneshot, watch};
use tokio::time::Instant;

use crate::collector::BoxFuture;
use crate::scheduler::Hub;
use crate::web::BasicAuth;

mod routes;
mod status_page;

pub use routes::route;
use routes::{answer_now, handle};

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Optional TLS and authentication from `--web.config.file`.
#[derive(Clone, Default)]
pub struct Security {
    /// TLS for every connection, when `tls_server_config` is set.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Basic auth for every request, when users are set.
    pub auth: Option<Arc<BasicAuth>>,
}

/// The security in force, swapped whole when a reload re-reads `--web.config.file`:
/// a new connection takes the TLS setup current when it opens, a request the basic
/// auth users current when it arrives.
pub type SharedSecurity = Arc<RwLock<Security>>;

/// What `POST /-/reload` runs (`--web.enable-lifecycle`).
pub trait Lifecycle: Send + Sync {
    /// Reloads the configuration: `Ok` with a summary, or `Err` with why nothing
    /// changed (no secrets in it: it is sent to the client).
    fn reload(&self) -> BoxFuture<'_, Result<String, String>>;
}

/// Everything the server answers with besides the snapshot.
#[derive(Clone, Default)]
pub struct Frontend {
    /// TLS and basic auth in force.
    pub security: SharedSecurity,
    /// `Some` when the lifecycle endpoint is enabled.
    pub lifecycle: Option<Arc<dyn Lifecycle>>,
}

impl From<Security> for Frontend {
    fn from(security: Security) -> Frontend {
        Frontend {
            security: Arc::new(RwLock::new(security)),
            lifecycle: None,
        }
    }
}

impl Frontend {
    fn security(&self) -> Security {
        self.security
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What one client may hold of the server (the `--web.*` flags). Every phase of a
/// connection has a deadline, so no client keeps a connection slot for long unless it
/// is being answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// From accepting a connection (TLS handshake included), or from the first byte of
    /// a later request on a kept-alive one, to the end of the request headers.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait for the first byte of its next request.
    pub idle_timeout: Duration,
    /// From the end of the request headers to the response's last byte being written.
    pub write_timeout: Duration,
    /// Largest request line plus headers, in bytes; a larger request gets 431.
    pub max_header_bytes: usize,
}

impl Limits {
    /// The flags' defaults.
    pub const DEFAULT: Limits = Limits {
        max_connections: 512,
        header_read_timeout: Duration::from_secs(10),
        // Longer than common scrape intervals (15 s to 1 m), so Prometheus reuses its
        // connection (and TLS session) from one scrape to the next.
        idle_timeout: Duration::from_secs(120),
        // Above any sensible scrape_timeout; bounds how long a client that stops
        // reading keeps a (possibly large, possibly outdated) snapshot alive.
        write_timeout: Duration::from_secs(60),
        max_header_bytes: 16 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Connection slots, shared by the accept loop and every connection.
struct Gate {
    slots: Arc<Semaphore>,
    /// True while the accept loop waits for a slot: idle connections close then.
    full: AtomicBool,
    /// Wakes idle connections when the server becomes full.
    evict: Notify,
}

/// Everything a connection task needs.
struct Server {
    hub: Arc<Hub>,
    frontend: Frontend,
    limits: Limits,
    gate: Arc<Gate>,
    http: hyper::server::conn::http1::Builder,
}

/// Serves until `shutdown` completes, then lets in-flight requests finish (bounded).
///
/// At `max_connections` the loop stops accepting: new connections wait in the kernel's
/// listen backlog, first come first served, and every idle keep-alive connection is
/// closed to make room. We queue rather than accept-and-close because closing hands
/// each freed slot to whichever client reconnects first, and an attacker reconnecting
/// in a tight loop wins that race against a scraper that tries every 15 s, forever.
/// Queued, the scraper's connection is next in line, and it never waits long: a slot
/// is only ever held by a connection that is reading a request (`header_read_timeout`)
/// or being answered (`write_timeout`), since idle ones give theirs up at the limit.
pub async fn serve(
    listener: TcpListener,
    hub: Arc<Hub>,
    frontend: Frontend,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let server = Arc::new(Server::new(hub, frontend, limits));
    // `true` once shutting down; every connection's watchdog holds a receiver until
    // the connection ends, so `closed()` tells when all have.
    let (stop, _) = watch::channel(false);
    let mut warned: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let permit = match server.gate.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                server.gate.full.store(true, Ordering::SeqCst);
                server.gate.evict.notify_waiters();
                if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(
                        limit = limits.max_connections,
                        "connection limit reached: closing idle connections, new ones wait for a free slot (--web.max-connections)"
                    );
                    warned = Some(Instant::now());
                }
                let permit = tokio::select! {
                    permit = server.gate.slots.clone().acquire_owned() => permit,
                    () = &mut shutdown => break,
                };
                server.gate.full.store(false, Ordering::SeqCst);
                permit.expect("the connection semaphore is never closed")
            }
        };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (server, stop) = (server.clone(), stop.subscribe());
        tokio::spawn(async move {
            if let Some(why) = server.connection(stream, stop).await {
                tracing::debug!("closed a connection: {why}");
            }
            drop(permit);
        });
    }
    drop(listener);
    stop.send_replace(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, stop.closed())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within {SHUTDOWN_GRACE:?}; closing them");
    }
}

impl Server {
    fn new(hub: Arc<Hub>, frontend: Frontend, limits: Limits) -> Server {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            // hyper's own header timer also runs while a kept-alive connection is idle,
            // which would make the idle timeout pointless; `Conn::watchdog` times both.
            .header_read_timeout(None)
            .max_header_size(limits.max_header_bytes);
        Server {
            hub,
            frontend,
            limits,
            gate: Arc::new(Gate {
                slots: Arc::new(Semaphore::new(limits.max_connections)),
                full: AtomicBool::new(false),
                evict: Notify::new(),
            }),
            http,
        }
    }

    /// Serves one connection (TLS handshake first, when configured) until the client
    /// closes it, hyper ends it, or it overstays a deadline of [`Limits`] (returned).
    /// Once `stop` turns true, the connection finishes the response in flight and closes.
    ///
    /// The watchdog runs as a task of its own and speaks only when the connection must
    /// change course. Polled beside the connection, as it was, it ran on every wake-up
    /// of every request, and each poll of its waits on the gate's `evict` and on the
    /// shutdown signal took a lock that all connections share: 6-7% of the server's CPU
    /// per scrape at 256 connections in `benches/load/overhead.sh`.
    async fn connection<S>(&self, stream: S, stop: watch::Receiver<bool>) -> Option<&'static str>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let conn = Arc::new(Conn::new());
        let (shutdown, shutdown_rx) = oneshot::channel();
        let (close, closed) = oneshot::channel();
        let watchdog = {
            let (conn, gate, limits) = (conn.clone(), self.gate.clone(), self.limits);
            tokio::spawn(async move {
                let why = conn.watchdog(&limits, &gate, stop, shutdown).await;
                let _ = close.send(why);
            })
        };
        let serve = async {
            let tls = self.frontend.security().tls;
            let result = match &tls {
                None => self.http1(stream, &conn, shutdown_rx).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => self.http1(tls, &conn, shutdown_rx).await,
                    Err(e) => {
                        tracing::debug!("TLS handshake failed: {e}");
                        return;
                    }
                },
            };
            if let Err(e) = result {
                tracing::debug!("connection ended with error: {e}");
            }
        };
        let why = tokio::select! {
            // The watchdog's verdict wins over a connection that ends at the same time.
            biased;
            // An error: the watchdog is gone, which it never is before the connection.
            why = closed => why.ok(),
            () = serve => None,
        };
        watchdog.abort();
        why
    }

    /// HTTP/1.1 on an established byte stream, until it ends; after `shutdown` it
    /// finishes the response in flight and closes.
    async fn http1<S>(
        &self,
        stream: S,
        conn: &Arc<Conn>,
        shutdown: oneshot::Receiver<()>,
    ) -> hyper::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(Tracked {
            inner: stream,
            conn: conn.clone(),
        });
        let (hub, frontend, conn) = (self.hub.clone(), self.frontend.clone(), conn.clone());
        let service = service_fn(move |req| {
            conn.enter(
                &[Phase::Opening, Phase::Idle, Phase::Head, Phase::Flushing],
                Phase::Responding,
            );
            let done = Done(conn.clone());
            // Most requests need no await: answered here, without moving clones of
            // the shared state (contended reference counts) into a future.
            let response = match answer_now(&hub, &frontend, &req) {
                Some(response) => Either::Left(std::future::ready(response)),
                None => {
                    let (hub, frontend) = (hub.clone(), frontend.clone());
                    Either::Right(async move { handle(&hub, &frontend, &req).await })
                }
            };
            response.map(|r| Ok::<_, Infallible>(r.map(|inner| Body { inner, _done: done })))
        });
        let http = self.http.serve_connection(io, service);
        tokio::pin!(http);
        tokio::select! {
            biased;
            result = http.as_mut() => return result,
            // An error: the watchdog ended, and `connection` closes this at once.
            Ok(()) = shutdown => http.as_mut().graceful_shutdown(),
        }
        http.await
    }
}

/// Where a connection is in its request cycle; the phase decides the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Just accepted: TLS handshake and the first request's headers.
    Opening,
    /// Kept alive, waiting for the first byte of the next request.
    Idle,
    /// Reading a later request's headers.
    Head,
    /// Headers read: answering and writing the response.
    Responding,
    /// The response is with hyper, not yet flushed to the socket.
    Flushing,
}

/// One connection's phase, updated by its I/O and its requests, watched by its
/// [`Conn::watchdog`].
struct Conn {
    /// The phase and when its deadline started.
    phase: Mutex<(Phase, Instant)>,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            phase: Mutex::new((Phase::Opening, Instant::now())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Phase, Instant)> {
        // Only plain assignments happen under this lock.
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves to `to` if the connection is in one of `from`. Flushing keeps the
    /// responding phase's start: the write timeout covers both.
    fn enter(&self, from: &[Phase], to: Phase) {
        let mut phase = self.lock();
        if from.contains(&phase.0) {
            let since = if to == Phase::Flushing {
                phase.1
            } else {
                Instant::now()
            };
            *phase = (to, since);
        }
    }

    fn deadline(&self, limits: &Limits) -> (Phase, Instant) {
        let (phase, since) = *self.lock();
        let limit = match phase {
            Phase::Opening | Phase::Head => limits.header_read_timeout,
            Phase::Idle => limits.idle_timeout,
            Phase::Responding | Phase::Flushing => limits.write_timeout,
        };
        (phase, since + limit)
    }

    /// Resolves, with the reason, when the connection overstays its phase's deadline or
    /// is idle while the server is full; sends on `shutdown` when `stop` turns true.
    ///
    /// Phase changes (several per request) do not wake this task: it sleeps at most the
    /// shortest limit at a time, and every deadline lies at least that far after its
    /// phase began, so each is still met exactly. Waking on every change cost about a
    /// quarter of keep-alive throughput in `benches/load/run.sh`; now a request pays a
    /// lock and a clock read, and a connection one wake per shortest limit.
    async fn watchdog(
        &self,
        limits: &Limits,
        gate: &Gate,
        mut stop: watch::Receiver<bool>,
        shutdown: oneshot::Sender<()>,
    ) -> &'static str {
        let mut shutdown = Some(shutdown);
        let step = limits
            .header_read_timeout
            .min(limits.idle_timeout)
            .min(limits.write_timeout);
        loop {
            // Registered before `full` is read, so a `notify_waiters` in between counts.
            let evicted = gate.evict.notified();
            tokio::pin!(evicted);
            evicted.as_mut().enable();
            let (phase, deadline) = self.deadline(limits);
            let now = Instant::now();
            if deadline <= now {
                return match phase {
                    Phase::Opening | Phase::Head => {
                        "request headers not received within --web.header-read-timeout"
                    }
                    Phase::Idle => "idle for --web.idle-timeout",
                    Phase::Responding | Phase::Flushing => {
                        "response not written within --web.write-timeout"
                    }
                };
            }
            if phase == Phase::Idle && gate.full.load(Ordering::SeqCst) {
                return "idle while the connection limit is reached";
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline.min(now + step)) => {}
                () = &mut evicted => {
                    if self.deadline(limits).0 == Phase::Idle {
                        return "idle while the connection limit is reached";
                    }
                }
                // An error: the server is gone, which is a shutdown too.
                changed = stop.changed(), if shutdown.is_some() => {
                    if changed.is_err() || *stop.borrow() {
                        let _ = shutdown.take().map(|s| s.send(()));
                    }
                }
            }
        }
    }
}

/// The connection's byte stream, reporting to [`Conn`] when a request starts arriving
/// and when a response has been flushed.
struct Tracked<S> {
    inner: S,
    conn: Arc<Conn>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.enter(&[Phase::Idle], Phase::Head);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        // hyper flushes the socket only once its own buffer is empty; after the
        // response body was handed over, that is the end of the response.
        if matches!(polled, Poll::Ready(Ok(()))) {
            self.conn.enter(&[Phase::Flushing], Phase::Idle);
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that tells its connection when hyper is done with it.
struct Body {
    inner: Full<Bytes>,
    _done: Done,
}

struct Done(Arc<Conn>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.enter(&[Phase::Responding], Phase::Flushing);
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server with no collectors whose limits are all an hour except `limits`'.
    fn server(limits: impl FnOnce(&mut Limits)) -> Server {
        let mut l = Limits {
            header_read_timeout: Duration::from_secs(3600),
            idle_timeout: Duration::from_secs(3600),
            write_timeout: Duration::from_secs(3600),
            ..Limits::DEFAULT
        };
        limits(&mut l);
        let (hub, _scheduler, _tasks) = crate::scheduler::start(Vec::new(), 10);
        Server::new(hub, Frontend::default(), l)
    }

    /// The deadline only bounds the test: without the limit under test the connection
    /// would stay open for an hour.
    async fn closes(server: &Server, io: tokio::io::DuplexStream) -> Option<&'static str> {
        // Dropping the sender signals shutdown: keep it.
        let (_stop, stop) = watch::channel(false);
        tokio::time::timeout(Duration::from_secs(30), server.connection(io, stop))
            .await
            .expect("the connection was closed")
    }

    #[tokio::test]
    async fn a_client_that_does_not_read_is_cut_by_the_write_timeout() {
        use tokio::io::AsyncWriteExt;
        let server = server(|l| l.write_timeout = Duration::from_millis(200));
        // 256 bytes of buffer: the landing page does not fit, so writing it blocks.
        let (mut client, io) = tokio::io::duplex(256);
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(
            closes(&server, io).await,
            Some("response not written within --web.write-timeout")
        );
    }

    #[tokio::test]
    async fn a_connection_goes_idle_after_each_response() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let server = server(|l| l.idle_timeout = Duration::from_millis(200));
        let (mut client, io) = tokio::io::duplex(64 * 1024);
        let talk = async {
            for method in ["GET", "HEAD"] {
                client
                    .write_all(format!("{method} /healthz HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                let mut buf = [0u8; 1024];
                let n = client.read(&mut buf).await.unwrap();
                assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            () = talk => unreachable!(),
            why = closes(&server, io) => assert_eq!(why, Some("idle for --web.idle-timeout")),
        }
    }
}
