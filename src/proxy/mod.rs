//! Forwarding a request to the upstream app and streaming the answer back (SPEC §5.6).
//!
//! Bodies are passed through as streams in both directions, never collected. The caller
//! (the request pipeline in `dispatch`) has already fixed the headers; this module only
//! rewrites the target URI and version, joins upgrades, and classifies failures.

mod body;
mod client;
pub(crate) mod exchange;
mod idle;
mod pool;
mod upgrade;

use std::time::Duration;

use http::header::{HeaderValue, CONNECTION, HOST, UPGRADE};
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use url::Url;

pub use body::{BodyState, BodyWatch, ClientBody};
pub use client::ClientBuildError;
pub use upgrade::{tunnel_allowed, Tunnels};

use crate::config::ProxyConfig;
use crate::headers::Added;
use crate::respond::Body;

/// Why forwarding failed; `dispatch` turns these into 502/504 pages.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the upstream refused or dropped the connection")]
    Unreachable,
    #[error("the upstream did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the request could not be sent upstream: {0}")]
    BadRequest(String),
    /// The client's body was malformed or ended early: the client's fault, not the upstream's.
    #[error("the client's request body was malformed or cut short")]
    ClientBody,
    /// The response timeout passed while the body was still waiting for the client.
    #[error("the client did not send its request body within {0:?}")]
    ClientTimeout(Duration),
}

/// Idle upstream connections kept for reuse, per worker.
const MAX_IDLE_CONNECTIONS: usize = 512;

pub struct Upstream {
    /// One pool per worker thread, by worker index ([`Upstream::pool`]).
    pools: Vec<pool::Pool>,
    /// A path prefix from the upstream URL (`http://app:8080/base` → `/base`), or empty.
    base_path: String,
    response_timeout: Duration,
    pub tunnels: Tunnels,
}

impl Upstream {
    /// An upstream with a connection pool for each of `workers` worker threads.
    pub fn new(url: &Url, config: &ProxyConfig, workers: usize) -> Result<Self, ClientBuildError> {
        let uri: Uri = url
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| ClientBuildError::Tls(e.to_string()))?;
        let parts = uri.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(ClientBuildError::Tls(
                "upstream: must be an absolute URL with a host".into(),
            ));
        };
        let target = Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query("/")
            .build()
            .map_err(|e| ClientBuildError::Tls(e.to_string()))?;
        let connector = client::connector(config)?;
        let pools = (0..workers.max(1))
            .map(|_| {
                pool::Pool::new(
                    connector.clone(),
                    target.clone(),
                    config.pool_idle_timeout.get(),
                    MAX_IDLE_CONNECTIONS,
                )
            })
            .collect();
        Ok(Self {
            pools,
            base_path: url.path().trim_end_matches('/').to_string(),
            response_timeout: config.response_timeout.get(),
            tunnels: Tunnels::default(),
        })
    }

    /// How many worker threads this upstream keeps a pool for.
    pub fn workers(&self) -> usize {
        self.pools.len()
    }

    /// The calling worker's own pool. A connection's task runs on the runtime that
    /// opened it, so a pool shared by the workers would hand one worker's connections to
    /// another and wake a second thread on every request. Off the worker threads (tests,
    /// a caller's runtime) the first pool.
    fn pool(&self) -> &pool::Pool {
        let index = crate::workers::current().unwrap_or(0);
        // `new` makes at least one.
        &self.pools[index % self.pools.len()]
    }

    /// Sends `req` (headers already prepared) for `path_and_query` upstream, with the
    /// `added` fields. `upgrade` is the `Upgrade` value of an HTTP/1.1 upgrade request.
    pub async fn forward(
        &self,
        mut req: Request<Incoming>,
        path_and_query: PathAndQuery,
        upgrade: Option<HeaderValue>,
        added: &Added<'_>,
    ) -> Result<Response<Body>, ProxyError> {
        let downstream_upgrade = match (&upgrade, req.version()) {
            (Some(protocol), Version::HTTP_11) => {
                req.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("upgrade"));
                req.headers_mut().insert(UPGRADE, protocol.clone());
                Some(hyper::upgrade::on(&mut req))
            }
            _ => None,
        };
        if req.headers().get(HOST).is_none() {
            // HTTP/2 carries the authority in the URI; SPEC §5.6 passes the original Host.
            if let Some(value) = req
                .uri()
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            {
                req.headers_mut().insert(HOST, value);
            }
        }
        // Origin-form (RFC 9112 §3.2.1): the connection already names the upstream.
        let target = if self.base_path.is_empty() {
            Ok(Uri::from(path_and_query))
        } else {
            Uri::try_from(format!("{}{}", self.base_path, path_and_query))
        };
        *req.uri_mut() = target.map_err(|e| ProxyError::BadRequest(e.to_string()))?;
        *req.version_mut() = Version::HTTP_11;
        let (parts, body) = req.into_parts();
        let (body, client_body) = ClientBody::new(body);
        let req = Request::from_parts(parts, body);

        // Armed on every request and seconds long: the thread's coarse timer.
        let sent = crate::timer::CoarseTimer::current()
            .timeout(self.response_timeout, self.pool().request(req, added))
            .await;
        let mut resp = match sent {
            Err(_) if client_body.state() == BodyState::WaitingOnClient => {
                return Err(ProxyError::ClientTimeout(self.response_timeout));
            }
            Err(_) => return Err(ProxyError::Timeout(self.response_timeout)),
            Ok(Err(_)) if client_body.state() == BodyState::Failed => {
                return Err(ProxyError::ClientBody);
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "upstream request failed");
                return Err(ProxyError::Unreachable);
            }
            Ok(Ok(resp)) => resp,
        };

        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(down) = downstream_upgrade {
                let up = hyper::upgrade::on(&mut resp);
                self.tunnels.spawn(down, up);
                let (parts, _) = resp.into_parts();
                return Ok(Response::from_parts(parts, crate::respond::empty()));
            }
            return Err(ProxyError::Unreachable);
        }
        Ok(resp.map(BodyExt::boxed_unsync))
    }
}
