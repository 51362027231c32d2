//! HTTP: `/metrics` (the pre-encoded snapshot), `/healthz`, `/readyz`, `/` (a landing
//! page) and, with `--web.enable-lifecycle`, `POST /-/reload`. Serving `/metrics` is a content-negotiation decision and an `Arc` clone; no
//! collection, encoding or compression happens on a request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;
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

/// How often a watchdog looks for its connection to become idle once the server is
/// stopping (then it closes it).
const STOPPING_LOOK: Duration = Duration::from_millis(10);

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
#[derive(Default)]
pub struct SharedSecurity {
    current: RwLock<Security>,
    /// Whether `current` has basic auth users: what every request asks first, answered
    /// by a plain load (a lock's count is written by every reader, and the cores
    /// serving scrapes would pass its cache line back and forth).
    auth: AtomicBool,
}

impl SharedSecurity {
    /// In force from the start.
    pub fn new(security: Security) -> SharedSecurity {
        let shared = SharedSecurity::default();
        shared.store(security);
        shared
    }

    /// Puts `security` in force.
    pub fn store(&self, security: Security) {
        let auth = security.auth.is_some();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = security;
        self.auth.store(auth, Ordering::Release);
    }

    /// The security in force.
    pub fn load(&self) -> Security {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// True when requests must authenticate.
    fn auth_required(&self) -> bool {
        self.auth.load(Ordering::Acquire)
    }
}

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
    pub security: Arc<SharedSecurity>,
    /// `Some` when the lifecycle endpoint is enabled.
    pub lifecycle: Option<Arc<dyn Lifecycle>>,
}

impl From<Security> for Frontend {
    fn from(security: Security) -> Frontend {
        Frontend {
            security: Arc::new(SharedSecurity::new(security)),
            lifecycle: None,
        }
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
    let timers = tokio::runtime::Handle::current();
    serve_with_timers(listener, hub, frontend, limits, timers, shutdown).await;
}

/// [`serve`], with the connections' watchdogs, and so their timers, on the runtime of
/// `timers`; the connections on the runtime this runs on. A runtime with no timer
/// pending parks without a timeout, and the kernel then arms no timer for each
/// `epoll_wait`: with one connection asking in turn, 1-2% of a scrape's CPU
/// (`BASELINE_TIMER` in `benches/load/overhead.sh`).
pub async fn serve_with_timers(
    listener: TcpListener,
    hub: Arc<Hub>,
    frontend: Frontend,
    limits: Limits,
    timers: tokio::runtime::Handle,
    shutdown: impl Future<Output = ()>,
) {
    let here = tokio::runtime::Handle::current();
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
        let (server, stop, here) = (server.clone(), stop.subscribe(), here.clone());
        timers.spawn(async move {
            if let Some(why) = Server::connection(&server, stream, stop, &here).await {
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

    /// Serves one connection (TLS handshake first, when configured) on the runtime of
    /// `serving_on` until the client closes it, hyper ends it, or it overstays a
    /// deadline of [`Limits`] (returned). Once `stop` turns true, the connection
    /// finishes the response in flight and closes.
    ///
    /// The connection is a task of its own, with nothing around hyper's but a look at
    /// its `stopping` flag; this task is its watchdog, which wakes on its timer, an
    /// eviction, the shutdown or the connection's end only, and closes it by aborting
    /// its task. A watchdog polled beside the connection ran on every wake-up of every
    /// request, and each poll of its waits on the gate's `evict` and on the shutdown
    /// signal took a lock that all connections share: 6-7% of the server's CPU per
    /// scrape at 256 connections in `benches/load/overhead.sh`.
    async fn connection<S>(
        server: &Arc<Server>,
        stream: S,
        stop: watch::Receiver<bool>,
        serving_on: &tokio::runtime::Handle,
    ) -> Option<&'static str>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let conn = Arc::new(Conn::new());
        let mut serving = {
            let (server, conn) = (server.clone(), conn.clone());
            serving_on.spawn(async move {
                let tls = server.frontend.security.load().tls;
                let result = match &tls {
                    None => server.http1(stream, &conn).await,
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => server.http1(tls, &conn).await,
                        Err(e) => {
                            tracing::debug!("TLS handshake failed: {e}");
                            return;
                        }
                    },
                };
                if let Err(e) = result {
                    tracing::debug!("connection ended with error: {e}");
                }
            })
        };
        let why = conn
            .watchdog(&server.limits, &server.gate, stop, &mut serving)
            .await;
        if why.is_some() {
            serving.abort();
            // The slot is free once the socket is: wait for the task to be dropped.
            let _ = serving.await;
        }
        why
    }

    /// HTTP/1.1 on an established byte stream, until it ends; once the connection is
    /// `stopping` it finishes the response in flight and closes.
    async fn http1<S>(&self, stream: S, conn: &Arc<Conn>) -> hyper::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(Tracked {
            inner: stream,
            conn: conn.clone(),
        });
        let (hub, frontend, state) = (self.hub.clone(), self.frontend.clone(), conn.clone());
        let service = service_fn(move |req| {
            let conn = &state;
            conn.enter(
                const { Phase::set(&[Phase::Opening, Phase::Idle, Phase::Head, Phase::Flushing]) },
                Phase::Responding,
            );
            let done = Done(conn.clone());
            let body = |inner| Body { inner, _done: done };
            // Most requests need no await: answered here, without moving clones of
            // the shared state (contended reference counts) into a future. The rest
            // (basic auth, `/-/reload`) are boxed, so the future hyper moves around for
            // every request is the response, not the request and the state.
            match answer_now(&hub, &frontend, &req) {
                Some(response) => Either::Left(std::future::ready(Ok(response.map(body)))),
                None => {
                    let (hub, frontend) = (hub.clone(), frontend.clone());
                    let answer: BoxFuture<'static, _> = Box::pin(async move {
                        Ok::<_, Infallible>(handle(&hub, &frontend, &req).await.map(body))
                    });
                    Either::Right(answer)
                }
            }
        });
        let http = self.http.serve_connection(io, service);
        tokio::pin!(http);
        // Every poll looks at the flag (a load); the watchdog wakes nothing: it closes
        // an idle connection itself, and any other is polled again by its own I/O. A
        // shutdown channel in a `select!` here was polled on every wake-up: ~90
        // instructions per request (`benches/load/instructions.sh`).
        let mut shut = false;
        std::future::poll_fn(|cx| {
            if !shut && conn.stopping.load(Ordering::Relaxed) {
                // hyper closes the connection after the response in flight, with
                // `Connection: close` on it.
                http.as_mut().graceful_shutdown();
                shut = true;
            }
            http.as_mut().poll(cx)
        })
        .await
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
    /// The phase in the low 3 bits, above them a count of the deadlines started (a phase
    /// entered; Flushing continues Responding's). Only the connection's task writes it:
    /// a load and a store per phase change, no lock, no clock.
    state: AtomicU64,
    /// Set by the watchdog when the server shuts down.
    stopping: AtomicBool,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Opening,
        Phase::Idle,
        Phase::Head,
        Phase::Responding,
        Phase::Flushing,
    ];

    fn of(state: u64) -> Phase {
        Phase::ALL[(state & 7) as usize]
    }

    /// The phase as a one-bit set, for [`Conn::enter`].
    const fn bit(self) -> u8 {
        1 << self as u8
    }

    /// The set of `phases`.
    const fn set(phases: &[Phase]) -> u8 {
        let (mut set, mut i) = (0, 0);
        while i < phases.len() {
            set |= phases[i].bit();
            i += 1;
        }
        set
    }

    fn limit(self, limits: &Limits) -> Duration {
        match self {
            Phase::Opening | Phase::Head => limits.header_read_timeout,
            Phase::Idle => limits.idle_timeout,
            Phase::Responding | Phase::Flushing => limits.write_timeout,
        }
    }

    /// Why a connection that overstays this phase is closed.
    fn overstayed(self) -> &'static str {
        match self {
            Phase::Opening | Phase::Head => {
                "request headers not received within --web.header-read-timeout"
            }
            Phase::Idle => "idle for --web.idle-timeout",
            Phase::Responding | Phase::Flushing => {
                "response not written within --web.write-timeout"
            }
        }
    }
}

impl Conn {
    fn new() -> Conn {
        Conn {
            state: AtomicU64::new(Phase::Opening as u64),
            stopping: AtomicBool::new(false),
        }
    }

    /// Moves to `to` if the connection is in one of `from` (a [`Phase::set`]).
    /// Flushing keeps the responding phase's deadline: the write timeout covers both.
    #[inline]
    fn enter(&self, from: u8, to: Phase) {
        let state = self.state.load(Ordering::Relaxed);
        if from & Phase::of(state).bit() != 0 {
            let count = if to == Phase::Flushing {
                state >> 3
            } else {
                (state >> 3) + 1
            };
            self.state.store(count << 3 | to as u64, Ordering::Relaxed);
        }
    }

    /// Resolves, with the reason, when the connection overstays its phase's deadline or
    /// is idle while the server is full or stopping, and with `None` when `serving`
    /// ends. When `stop` turns true it marks the connection `stopping`, and then looks
    /// every [`STOPPING_LOOK`] for it to become idle (its response written).
    ///
    /// Phase changes (several per request) neither wake this task nor read a clock: it
    /// looks at the phase every quarter of the shortest limit, and a deadline runs from
    /// the first look that saw its phase begun, so it is enforced up to that quarter
    /// late, never early. Waking on every change cost about a quarter of keep-alive
    /// throughput in `benches/load/run.sh`; a lock and three clock reads per request,
    /// as exact deadlines need, cost 240 of the ~1,700 instructions a request took more
    /// than the static server's in `benches/load/instructions.sh`.
    async fn watchdog(
        &self,
        limits: &Limits,
        gate: &Gate,
        mut stop: watch::Receiver<bool>,
        serving: &mut JoinHandle<()>,
    ) -> Option<&'static str> {
        let mut stopping = false;
        let mut look = limits
            .header_read_timeout
            .min(limits.idle_timeout)
            .min(limits.write_timeout)
            / 4;
        // The count of the deadline being timed, and when it was first seen.
        let mut timed: Option<(u64, Instant)> = None;
        loop {
            // Registered before `full` is read, so a `notify_waiters` in between counts.
            let evicted = gate.evict.notified();
            tokio::pin!(evicted);
            evicted.as_mut().enable();
            let state = self.state.load(Ordering::Relaxed);
            let now = Instant::now();
            let since = match timed {
                Some((count, since)) if count == state >> 3 => since,
                _ => timed.insert((state >> 3, now)).1,
            };
            let phase = Phase::of(state);
            if now.duration_since(since) >= phase.limit(limits) {
                return Some(phase.overstayed());
            }
            if phase == Phase::Idle && gate.full.load(Ordering::SeqCst) {
                return Some("idle while the connection limit is reached");
            }
            if phase == Phase::Idle && stopping {
                return Some("idle at shutdown");
            }
            tokio::select! {
                // The verdict of a deadline wins over a connection that ends at the
                // same time.
                biased;
                () = tokio::time::sleep(look) => {}
                () = &mut evicted => {
                    if Phase::of(self.state.load(Ordering::Relaxed)) == Phase::Idle {
                        return Some("idle while the connection limit is reached");
                    }
                }
                // An error: the server is gone, which is a shutdown too.
                changed = stop.changed(), if !stopping => {
                    if changed.is_err() || *stop.borrow() {
                        self.stopping.store(true, Ordering::Relaxed);
                        stopping = true;
                        look = look.min(STOPPING_LOOK);
                    }
                }
                // Ended (a panic in it included: the panic is its own report).
                _ = &mut *serving => return None,
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
            self.conn.enter(Phase::Idle.bit(), Phase::Head);
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
            self.conn.enter(Phase::Flushing.bit(), Phase::Idle);
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
        self.0.enter(Phase::Responding.bit(), Phase::Flushing);
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
    fn server(limits: impl FnOnce(&mut Limits)) -> Arc<Server> {
        server_with(Frontend::default(), limits)
    }

    fn server_with(frontend: Frontend, limits: impl FnOnce(&mut Limits)) -> Arc<Server> {
        let mut l = Limits {
            header_read_timeout: Duration::from_secs(3600),
            idle_timeout: Duration::from_secs(3600),
            write_timeout: Duration::from_secs(3600),
            ..Limits::DEFAULT
        };
        limits(&mut l);
        let (hub, _scheduler, _tasks) = crate::scheduler::start(Vec::new(), 10);
        Arc::new(Server::new(hub, frontend, l))
    }

    /// The deadline only bounds the test: without the limit under test the connection
    /// would stay open for an hour.
    async fn closes(server: &Arc<Server>, io: tokio::io::DuplexStream) -> Option<&'static str> {
        // Dropping the sender signals shutdown: keep it.
        let (_stop, stop) = watch::channel(false);
        tokio::time::timeout(
            Duration::from_secs(30),
            Server::connection(server, io, stop, &tokio::runtime::Handle::current()),
        )
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

    /// A reload that answers only when told to: a request held in flight.
    #[derive(Default)]
    struct HeldReload {
        entered: Notify,
        release: Notify,
    }

    impl Lifecycle for HeldReload {
        fn reload(&self) -> BoxFuture<'_, Result<String, String>> {
            Box::pin(async move {
                self.entered.notify_one();
                self.release.notified().await;
                Ok("held".into())
            })
        }
    }

    /// Reads until the peer closes: everything it sent.
    async fn read_to_close(client: &mut tokio::io::DuplexStream) -> String {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_and_finishes_the_response_in_flight() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let held = Arc::new(HeldReload::default());
        let frontend = Frontend {
            lifecycle: Some(held.clone()),
            ..Frontend::default()
        };
        let server = server_with(frontend, |_| {});
        let (stop, _) = watch::channel(false);
        let open = |io| {
            let (server, stop) = (server.clone(), stop.subscribe());
            tokio::spawn(async move {
                Server::connection(&server, io, stop, &tokio::runtime::Handle::current()).await
            })
        };
        // An idle kept-alive connection, after one answer.
        let (mut idle, io) = tokio::io::duplex(64 * 1024);
        let idle_conn = open(io);
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = idle.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
        // A request in flight.
        let (mut busy, io) = tokio::io::duplex(64 * 1024);
        let busy_conn = open(io);
        busy.write_all(b"POST /-/reload HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        held.entered.notified().await;

        stop.send_replace(true);
        // Within the test's bound, not the hour of the idle limit.
        let closed = tokio::time::timeout(Duration::from_secs(30), read_to_close(&mut idle));
        assert_eq!(closed.await.expect("the idle connection was closed"), "");
        tokio::time::timeout(Duration::from_secs(30), idle_conn)
            .await
            .expect("the idle connection ended")
            .unwrap();
        // The held response is still written, and it is the connection's last.
        held.release.notify_one();
        let answer = tokio::time::timeout(Duration::from_secs(30), read_to_close(&mut busy))
            .await
            .expect("the busy connection was closed after its response");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
        assert!(answer.ends_with("reloaded: held\n"), "{answer}");
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(30), busy_conn)
                .await
                .expect("the busy connection ended")
                .unwrap(),
            None
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
