//! The upstream connection pool, one per worker thread (`crate::workers`), with two
//! kinds of HTTP/1.1 keep-alive connection:
//! - for a bodiless safe request to an `http://` upstream (most requests), a connection
//!   the serving task drives itself ([`super::exchange`]);
//! - for everything else (request bodies, upgrades, TLS), hyper's low-level client,
//!   each connection on a task of its own on the worker's runtime.
//!
//! Why not hyper-util's legacy `Client`: for every request it boxes a large future,
//! clones its connector, checks a connection out through a keyed pool and spawns a task
//! that waits for the connection to become idle again. Here a connection goes back to
//! its [`IdleStack`] when its response body ends (or at once for a bodiless response),
//! and the request path touches one uncontended mutex — the sidecar sits on every
//! request.
//!
//! The upstream may close a kept connection at any moment (RFC 9112 §9.3.1), racing our
//! next request on it. A request that a reused connection did not take is retried once
//! on a new connection; so is a bodiless idempotent request (RFC 9110 §9.2.2) whose
//! reused connection failed before a response arrived — the keep-alive race behind
//! Envoy's "503 UC" and hyper#2136, which nginx also retries.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use super::exchange::{self, ExchangeBody, ExchangeError};
use super::idle::IdleStack;
use super::ClientBody;
use crate::headers::Added;
use crate::respond::BoxError;

type Sender = http1::SendRequest<ClientBody>;

/// Why a request could not be exchanged with the upstream.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("cannot connect to the upstream: {0}")]
    Connect(String),
    #[error("upstream connection failed: {0}")]
    Request(#[from] hyper::Error),
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
}

pub struct Pool {
    /// Connections driven by hyper's client, on tasks of their own.
    senders: Arc<IdleStack<Sender>>,
    /// Connections for [`exchange`]s on the caller's task; `None` for an `https://`
    /// upstream.
    exchanges: Option<exchange::Idle>,
    connector: HttpsConnector<HttpConnector>,
    /// `scheme://authority` of the upstream, what the connector dials.
    target: Uri,
}

impl Pool {
    pub fn new(
        connector: HttpsConnector<HttpConnector>,
        target: Uri,
        idle_timeout: Duration,
        max_idle: usize,
    ) -> Self {
        let plain = target.scheme() == Some(&http::uri::Scheme::HTTP);
        Self {
            senders: Arc::new(IdleStack::new(idle_timeout, max_idle)),
            exchanges: plain.then(|| Arc::new(IdleStack::new(idle_timeout, max_idle))),
            connector,
            target,
        }
    }

    /// Sends `req` (origin-form URI, `Host` set) on an idle connection or a new one.
    /// The response body returns the connection to the pool when it ends. The response
    /// carries only end-to-end fields (RFC 9110 §7.6.1), except a 101's, which the
    /// tunnel answers the client with.
    pub async fn request(
        &self,
        mut req: Request<ClientBody>,
        added: &Added<'_>,
    ) -> Result<Response<UpstreamBody>, PoolError> {
        if let Some(idle) = &self.exchanges {
            if replayable(&req) {
                let (parts, _) = req.into_parts();
                return Ok(self
                    .exchange(&parts, added, idle)
                    .await?
                    .map(UpstreamBody::Exchange));
            }
        }
        added.apply(req.headers_mut());
        // Boxed: its futures (connecting, the handshake) are four times the size of an
        // exchange's, and every request's future would otherwise carry them.
        Box::pin(self.via_hyper(req)).await
    }

    async fn via_hyper(
        &self,
        mut req: Request<ClientBody>,
    ) -> Result<Response<UpstreamBody>, PoolError> {
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

    /// A bodiless safe request on the caller's task: on the most recent idle
    /// connection that is still open, and once more on a new connection if that one
    /// turns out to have been closed by the upstream.
    async fn exchange(
        &self,
        req: &http::request::Parts,
        added: &Added<'_>,
        idle: &exchange::Idle,
    ) -> Result<Response<ExchangeBody>, PoolError> {
        while let Some(mut conn) = idle.pop() {
            if !conn.still_open() {
                continue;
            }
            match conn.exchange(req, added, idle).await {
                Err(e) if e.lost_to_a_close() => {
                    tracing::debug!(error = %e, "reused upstream connection closed; retrying");
                    break;
                }
                done => return Ok(done?),
            }
        }
        let mut connector = self.connector.clone();
        let stream = match connector.call(self.target.clone()).await {
            Ok(MaybeHttpsStream::Http(io)) => io.into_inner(),
            Ok(MaybeHttpsStream::Https(_)) => {
                return Err(PoolError::Connect(
                    "TLS where plain HTTP was expected".into(),
                ))
            }
            Err(e) => return Err(PoolError::Connect(e.to_string())),
        };
        Ok(exchange::Conn::new(stream)
            .exchange(req, added, idle)
            .await?)
    }

    /// The most recently used idle connection that is still open and ready.
    async fn checkout(&self) -> Option<Sender> {
        while let Some(mut sender) = self.senders.pop() {
            if sender.is_closed() {
                continue;
            }
            // Returned at the end of a body, the connection task may still be finishing
            // the response; this waits for it (or learns that the connection closed).
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
        None
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

    fn pooled(&self, resp: Response<Incoming>, sender: Sender) -> Response<UpstreamBody> {
        // A switched protocol owns the connection from now on; it is never reused, and
        // the tunnel's 101 keeps its `Connection` and `Upgrade`.
        let keep = resp.status() != http::StatusCode::SWITCHING_PROTOCOLS;
        let (mut parts, inner) = resp.into_parts();
        if keep {
            crate::headers::remove_hop_by_hop(&mut parts.headers);
        }
        let mut body = PooledBody {
            inner,
            checkin: keep.then(|| Checkin {
                sender,
                home: Arc::clone(&self.senders),
            }),
        };
        if body.inner.is_end_stream() {
            body.finish();
        }
        Response::from_parts(parts, UpstreamBody::Pooled(body))
    }
}

/// Bodiless and safe to send twice (RFC 9110 §9.2.2), and not asking to switch
/// protocols: what may be retried after a keep-alive race, and what an
/// [`exchange`] handles.
fn replayable(req: &Request<ClientBody>) -> bool {
    matches!(
        *req.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS | http::Method::TRACE
    ) && req.body().is_end_stream()
        && req.headers().get(http::header::UPGRADE).is_none()
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
        replayable(req).then(|| Self {
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
    home: Arc<IdleStack<Sender>>,
}

impl Checkin {
    fn put_back(self) {
        if !self.sender.is_closed() {
            self.home.push(self.sender);
        }
    }
}

/// The upstream's response body, from either kind of connection.
pub enum UpstreamBody {
    Pooled(PooledBody),
    Exchange(ExchangeBody),
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = match self.get_mut() {
            UpstreamBody::Pooled(body) => Pin::new(body).poll_frame(cx).map_err(BoxError::from),
            UpstreamBody::Exchange(body) => Pin::new(body).poll_frame(cx).map_err(BoxError::from),
        };
        polled
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Pooled(body) => body.is_end_stream(),
            UpstreamBody::Exchange(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Pooled(body) => body.size_hint(),
            UpstreamBody::Exchange(body) => body.size_hint(),
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
