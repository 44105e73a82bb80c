//! Listeners: accept loop with a connection cap, optional TLS, HTTP/1.1 and HTTP/2 on
//! one port, slowloris-proof head timeouts, and graceful draining on shutdown.
//!
//! The protocol is chosen before hyper sees the connection (ALPN for TLS, the HTTP/2
//! preface for cleartext) so that a client which sends nothing, or a byte at a time,
//! is cut off by a timeout in every state (hyper's header timer only runs inside its
//! HTTP/1 parser).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::respond::Body;

/// What the request handler learns about the connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    /// The open-connection cap: one permit per connection. Every accept loop serving the
    /// same listener shares this semaphore, so the worker threads together stay under it.
    pub connections: Arc<Semaphore>,
    pub max_header_bytes: usize,
    /// Incremented while a client connection is open (the metrics gauge).
    pub active_connections: Option<Gauge<i64, AtomicI64>>,
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves `listener` until `shutdown` fires, then stops accepting and lets open
/// connections finish their in-flight requests for up to `grace`. Every connection is
/// served on the runtime that runs this loop.
pub async fn serve<H, F>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    handler: H,
    shutdown: CancellationToken,
    grace: Duration,
) where
    H: Fn(Request<Incoming>, ConnInfo) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let permits = limits.connections.clone();
    loop {
        // Wait for a free slot before accepting: excess clients queue in the kernel's
        // backlog instead of consuming memory here.
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let tls = tls.clone();
        let limits = limits.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let _open = limits.active_connections.clone().map(OpenConnection::new);
            match tls {
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream))
                            .await;
                    let Ok(Ok(stream)) = handshake else {
                        return;
                    };
                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    let info = ConnInfo { peer, tls: true };
                    serve_one(stream, h2, info, &limits, handler, watcher).await;
                }
                None => {
                    let Some(h2) = detect_h2(&stream, limits.header_read_timeout).await else {
                        return;
                    };
                    let info = ConnInfo { peer, tls: false };
                    serve_one(stream, h2, info, &limits, handler, watcher).await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period ended with connections still open");
    }
}

async fn serve_one<S, H, F>(
    stream: S,
    h2: bool,
    info: ConnInfo,
    limits: &Limits,
    handler: H,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>, ConnInfo) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let fut = handler(req, info);
        async move { Ok::<_, Infallible>(fut.await) }
    });
    let builder = builder(limits, h2);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!(error = %e, peer = %info.peer, "connection ended with an error");
    }
}

/// Counts a connection as open for as long as it lives.
struct OpenConnection(Gauge<i64, AtomicI64>);

impl OpenConnection {
    fn new(gauge: Gauge<i64, AtomicI64>) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn builder(limits: &Limits, h2: bool) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper has no clock of its own: without a timer its header timeout is silently
    // dropped, and setting one without a timer panics (hyperium/hyper#3567). HTTP/1
    // arms the head timeout for every request on a keep-alive connection, so it gets
    // the thread's coarse timer (`crate::timer`); HTTP/2 keep-alive pings stay on
    // tokio's exact one.
    builder
        .http1()
        .timer(crate::timer::CoarseTimer::current())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        // Without it, hyper reads the client while each request waits for the upstream,
        // to notice a disconnect; that read first reserves 8 KB of buffer, a fresh
        // allocation every request because the waiting request still shares the old
        // one (~1 100 instructions per request, bench/README.md, session 6). A client
        // that leaves is instead noticed when its answer is written, at the latest
        // after `proxy.response_timeout`.
        .half_close(true)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    if h2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    }
}

/// Reads (without consuming) enough of a cleartext connection to tell HTTP/2 prior
/// knowledge from HTTP/1. `None` when the client sends nothing useful in time.
async fn detect_h2(stream: &TcpStream, limit: Duration) -> Option<bool> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; 24];
    loop {
        let n = tokio::time::timeout_at(deadline, stream.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        let seen = buf.get(..n)?;
        if !H2_PREFACE.starts_with(seen) {
            return Some(false);
        }
        if n == H2_PREFACE.len() {
            return Some(true);
        }
        // A partial preface: wait for more bytes (peek returns at once with the same data).
        tokio::time::sleep(Duration::from_millis(5)).await;
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
    }
}
