//! The upstream connection pool: HTTP/1.1 keep-alive connections on hyper's low-level
//! client, kept in a LIFO stack of idle senders.
//!
//! Why not hyper-util's legacy `Client`: for every request it boxes a large future,
//! clones its connector, checks a connection out through a keyed pool and spawns a task
//! that waits for the connection to become idle again. Here a connection goes back to
//! the stack when its response body ends (or at once for a bodiless response), and the
//! request path touches one uncontended mutex — the sidecar sits on every request. Each
//! worker thread (`crate::workers`) has a pool of its own, whose connections' tasks run
//! on that worker's runtime.
//!
//! A connection idle longer than `idle_timeout` is never reused (it is dropped at
//! checkout), so a request is not written onto a socket the upstream is about to
//! close: the default 4 s is below common app-server keep-alives (Node.js: 5 s;
//! deps.md §1, hyperium/hyper#2136). The upstream may still close a kept connection at
//! any moment (RFC 9112 §9.3.1), racing our next request on it. A request that a
//! reused connection did not take is retried once on a new connection; so is a
//! bodiless idempotent request (RFC 9110 §9.2.2) whose reused connection failed before
//! a response arrived — the keep-alive race behind Envoy's "503 UC" and hyper#2136, which
//! nginx also retries.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use super::ClientBody;

type Sender = http1::SendRequest<ClientBody>;

/// Why a request could not be exchanged with the upstream.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("cannot connect to the upstream: {0}")]
    Connect(String),
    #[error("upstream connection failed: {0}")]
    Request(#[from] hyper::Error),
}

pub struct Pool {
    inner: Arc<Shared>,
    connector: HttpsConnector<HttpConnector>,
    /// `scheme://authority` of the upstream, what the connector dials.
    target: Uri,
}

struct Shared {
    /// Most recently used at the back; the oldest, first to expire, at the front.
    idle: Mutex<VecDeque<Idle>>,
    idle_timeout: Duration,
    max_idle: usize,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

impl Pool {
    pub fn new(
        connector: HttpsConnector<HttpConnector>,
        target: Uri,
        idle_timeout: Duration,
        max_idle: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Shared {
                idle: Mutex::new(VecDeque::new()),
                idle_timeout,
                max_idle,
            }),
            connector,
            target,
        }
    }

    /// Sends `req` (origin-form URI, `Host` set) on an idle connection or a new one.
    /// The response body returns the connection to the pool when it ends.
    pub async fn request(
        &self,
        req: Request<ClientBody>,
    ) -> Result<Response<PooledBody>, PoolError> {
        let mut req = req;
        if let Some(mut sender) = self.checkout().await {
            let replay = Replay::of(&req);
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok(self.pooled(resp, sender)),
                Err(mut e) => match (e.take_message(), replay) {
                    // Never written: the connection closed while idle.
                    (Some(unsent), _) => req = unsent,
                    (None, Some(replay)) if lost_to_a_close(e.error()) => {
                        tracing::debug!(error = %e.error(), "reused upstream connection closed; retrying");
                        req = replay.into_request();
                    }
                    (None, _) => return Err(PoolError::Request(e.into_error())),
                },
            }
        }
        let mut sender = self.connect().await?;
        let resp = sender.send_request(req).await?;
        Ok(self.pooled(resp, sender))
    }

    /// The most recently used idle connection that is still open and ready.
    async fn checkout(&self) -> Option<Sender> {
        loop {
            let idle = self
                .inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_back()?;
            if idle.since.elapsed() >= self.inner.idle_timeout || idle.sender.is_closed() {
                continue;
            }
            let mut sender = idle.sender;
            // Returned at the end of a body, the connection task may still be finishing
            // the response; this waits for it (or learns that the connection closed).
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    async fn connect(&self) -> Result<Sender, PoolError> {
        let mut connector = self.connector.clone();
        let io = connector
            .call(self.target.clone())
            .await
            .map_err(|e| PoolError::Connect(e.to_string()))?;
        let (sender, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(PoolError::Request)?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    fn pooled(&self, resp: Response<Incoming>, sender: Sender) -> Response<PooledBody> {
        // A switched protocol owns the connection from now on; it is never reused.
        let keep = resp.status() != http::StatusCode::SWITCHING_PROTOCOLS;
        let (parts, inner) = resp.into_parts();
        let mut body = PooledBody {
            inner,
            checkin: keep.then(|| Checkin {
                sender,
                shared: Arc::clone(&self.inner),
            }),
        };
        if body.inner.is_end_stream() {
            body.finish();
        }
        Response::from_parts(parts, body)
    }
}

/// What is needed to send a bodiless idempotent request again.
struct Replay {
    method: http::Method,
    uri: Uri,
    version: http::Version,
    headers: http::HeaderMap,
}

impl Replay {
    fn of(req: &Request<ClientBody>) -> Option<Self> {
        let idempotent = matches!(
            *req.method(),
            http::Method::GET | http::Method::HEAD | http::Method::OPTIONS | http::Method::TRACE
        );
        (idempotent
            && req.body().is_end_stream()
            && req.headers().get(http::header::UPGRADE).is_none())
        .then(|| Self {
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: req.version(),
            headers: req.headers().clone(),
        })
    }

    fn into_request(self) -> Request<ClientBody> {
        let mut req = Request::new(ClientBody::empty());
        *req.method_mut() = self.method;
        *req.uri_mut() = self.uri;
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers;
        req
    }
}

/// The connection ended (closed, reset) before a response: what a keep-alive race
/// looks like, as opposed to an answer the upstream started and broke off.
fn lost_to_a_close(error: &hyper::Error) -> bool {
    if error.is_incomplete_message() || error.is_canceled() || error.is_closed() {
        return true;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            );
        }
        source = cause.source();
    }
    false
}

/// A connection waiting for its response body to end before it is reused.
struct Checkin {
    sender: Sender,
    shared: Arc<Shared>,
}

impl Checkin {
    fn put_back(self) {
        let mut idle = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        // The least recently used connections expire first: dropping them here closes
        // them even when checkouts (which take the most recent) never reach them.
        while idle
            .front()
            .is_some_and(|oldest| now.duration_since(oldest.since) >= self.shared.idle_timeout)
        {
            idle.pop_front();
        }
        if idle.len() < self.shared.max_idle && !self.sender.is_closed() {
            idle.push_back(Idle {
                sender: self.sender,
                since: now,
            });
        }
    }
}

/// The upstream's response body. When it has been read to its end the connection goes
/// back to the pool; dropped before that (the client went away), the connection is
/// dropped with it and hyper closes it, as a half-read response cannot be reused.
pub struct PooledBody {
    inner: Incoming,
    checkin: Option<Checkin>,
}

impl PooledBody {
    fn finish(&mut self) {
        if let Some(checkin) = self.checkin.take() {
            checkin.put_back();
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.finish(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.finish(),
            // An error leaves the connection in an unknown state: never reused.
            Poll::Ready(Some(Err(_))) => self.checkin = None,
            _ => {}
        }
        polled
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

    fn request(method: http::Method, upgrade: bool) -> Request<ClientBody> {
        let mut req = Request::new(ClientBody::empty());
        *req.method_mut() = method;
        *req.uri_mut() = Uri::from_static("/path?q=1");
        req.headers_mut()
            .insert(http::header::HOST, http::HeaderValue::from_static("app"));
        if upgrade {
            req.headers_mut().insert(
                http::header::UPGRADE,
                http::HeaderValue::from_static("websocket"),
            );
        }
        req
    }

    #[test]
    fn only_bodiless_idempotent_requests_are_replayed() {
        for method in [http::Method::GET, http::Method::HEAD, http::Method::OPTIONS] {
            let replay = Replay::of(&request(method.clone(), false)).expect("replayable");
            let again = replay.into_request();
            assert_eq!(again.method(), method);
            assert_eq!(again.uri(), "/path?q=1");
            assert_eq!(again.headers()["host"], "app");
            assert!(again.body().is_end_stream());
        }
        for method in [
            http::Method::POST,
            http::Method::PATCH,
            http::Method::PUT,
            http::Method::DELETE,
        ] {
            assert!(Replay::of(&request(method, false)).is_none());
        }
        assert!(Replay::of(&request(http::Method::GET, true)).is_none());
    }
}
