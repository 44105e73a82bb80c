//! Phase 5 of the request path: forwarding to the upstream with the identity the earlier
//! phases established, and the synthetic answers for upstream failures.

use std::time::Instant;

use http::header::{HeaderName, HeaderValue};
use http::uri::{InvalidUri, PathAndQuery};
use http::{HeaderMap, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;

use super::Outcome;
use crate::app::{unix_now, App, Settings};
use crate::auth::{Authenticated, Via};
use crate::config::AuthorizationHeader;
use crate::headers::{self, Added, Forwarding, IdentityHeaders, LeftOut};
use crate::proxy::ProxyError;
use crate::respond::{self, Body};
use crate::server::ConnInfo;

/// What phase 5 settles about a request before the upstream is asked.
pub(super) struct Outbound {
    /// The request target sent upstream (see [`upstream_target`]).
    pub target: PathAndQuery,
    /// The protocol of an `Upgrade` the upstream may accept (a WebSocket), if any.
    pub upgrade: Option<HeaderValue>,
    /// The original host, for `X-Forwarded-Host`.
    pub host: Option<HeaderValue>,
    /// Client fields left out when the head is written.
    pub left_out: LeftOut,
}

/// Readies `req` for the upstream: fixes the target, removes hop-by-hop fields (RFC 9110
/// §7.6.1) and the sidecar's own cookies (SPEC §5.5). An `Err` is the answer instead.
///
/// Synchronous on purpose, like the rest of the phases around the single upstream
/// `await` in `super::handle`: each nested `async` level is a future moved whole into
/// its caller's (bench/README.md, session 6).
pub(super) fn prepare(
    settings: &Settings,
    req: &mut Request<Incoming>,
    path: &str,
    auth: Option<&Authenticated>,
) -> Result<Outbound, ProxyError> {
    let target =
        upstream_target(req.uri(), path).map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    let host = match req.headers().get(http::header::HOST) {
        Some(host) => Some(host.clone()),
        None => req
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
    };
    let headers = req.headers_mut();
    let upgrade = headers::remove_hop_by_hop(headers).filter(crate::proxy::tunnel_allowed);
    let sole_cookie = auth.is_some_and(|auth| auth.sole_cookie);
    if !sole_cookie {
        crate::session::cookies::strip_own_cookies(headers, settings.cookie_name());
    }
    // Tokens reach the upstream only through a header configured to carry them (SPEC
    // §6, off by default). A bearer client's token is the credential the sidecar
    // consumed, as the session cookie is, and is not passed on (as Envoy's jwt_authn
    // does by default). When `headers.authorization` is set, `Authorization` is an
    // identity header: no client copy passes, on any path (SPEC §5.1).
    let authorization = settings.config.headers.authorization != AuthorizationHeader::None
        || auth.is_some_and(|auth| matches!(auth.via(), Via::Bearer(_)));
    Ok(Outbound {
        target,
        upgrade,
        host,
        left_out: LeftOut {
            cookie: sole_cookie,
            authorization,
        },
    })
}

/// The fields the upstream request gets on top of the client's `headers`:
/// `X-Forwarded-*` for `conn` and `host`, `X-Request-Id`, and the identity headers for
/// `identity`'s values; without the client fields `left_out` names.
pub(super) fn added<'a>(
    settings: &'a Settings,
    headers: &HeaderMap,
    conn: &ConnInfo,
    host: Option<&HeaderValue>,
    left_out: LeftOut,
    request_id: &'a HeaderValue,
    identity: Option<&'a IdentityHeaders>,
) -> Added<'a> {
    let added = Added::forwarding(
        headers,
        &Forwarding {
            peer: conn.peer.ip(),
            proto: if conn.tls { "https" } else { "http" },
            host,
            trusted_peer: crate::net::is_trusted(&settings.trusted_proxies, conn.peer.ip()),
        },
    )
    .request_id(request_id)
    .leaving_out(left_out);
    match identity {
        Some(values) => added.identity(&settings.config.headers, values),
        None => added,
    }
}

/// The answer for the upstream's `result`; `sent` is when it was asked.
pub(super) fn answer(
    app: &App,
    html: bool,
    sent: Instant,
    result: Result<Response<Body>, ProxyError>,
) -> (Response<Body>, Outcome) {
    match result {
        Ok(resp) => {
            app.metrics.upstream(sent.elapsed().as_secs_f64());
            (resp, Outcome::Proxied)
        }
        Err(e @ (ProxyError::ClientBody | ProxyError::ClientTimeout(_))) => {
            (upstream_error(html, &e), Outcome::BadRequest)
        }
        Err(e) => (upstream_error(html, &e), Outcome::UpstreamError),
    }
}

/// The request target sent upstream: exactly the path that was authorized, and the
/// original query. Usually that is the request's own target, shared rather than
/// rebuilt.
fn upstream_target(uri: &Uri, path: &str) -> Result<PathAndQuery, InvalidUri> {
    match uri.path_and_query() {
        Some(original) if original.path() == path => Ok(original.clone()),
        _ => match uri.query() {
            Some(query) => PathAndQuery::try_from(format!("{path}?{query}")),
            None => PathAndQuery::try_from(path),
        },
    }
}

/// `x-amzn-oidc-identity`, `-accesstoken` and the signed `-data` (SPEC §6, ALB set).
pub(super) async fn alb_headers(
    headers: &mut HeaderMap,
    signer: &crate::alb::AlbSigner,
    auth: &Authenticated,
    settings: &Settings,
) {
    let values = auth.upstream_headers(settings, headers);
    if let Some(sub) = values.sub() {
        headers.insert(X_AMZN_OIDC_IDENTITY, sub.clone());
    }
    if let Some(token) = values.access_token() {
        headers.insert(X_AMZN_OIDC_ACCESSTOKEN, token.clone());
    }
    if let Some(data) = signer.data_header(auth.identity(), unix_now()).await {
        headers.insert(X_AMZN_OIDC_DATA, data);
    }
}

const X_AMZN_OIDC_IDENTITY: HeaderName = HeaderName::from_static("x-amzn-oidc-identity");
const X_AMZN_OIDC_ACCESSTOKEN: HeaderName = HeaderName::from_static("x-amzn-oidc-accesstoken");
const X_AMZN_OIDC_DATA: HeaderName = HeaderName::from_static("x-amzn-oidc-data");

/// The ALB-format public key for `kid`, as PEM (like the ALB's key endpoint).
pub(super) fn alb_key(app: &App, settings: &Settings, path: &str) -> Response<Body> {
    let kid = path.strip_prefix(&settings.routes.alb_keys).unwrap_or("");
    match &app.alb {
        Some(signer) if signer.kid() == kid => {
            let mut resp = Response::new(respond::full(signer.public_key_pem().to_string()));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            );
            resp
        }
        _ => respond::json_error(StatusCode::NOT_FOUND, "not_found", "no such key"),
    }
}

pub(super) fn upstream_error(html: bool, error: &ProxyError) -> Response<Body> {
    if matches!(error, ProxyError::ClientBody | ProxyError::ClientTimeout(_)) {
        tracing::info!(error = %error, "request not forwarded");
    } else {
        tracing::warn!(error = %error, "upstream request failed");
    }
    match error {
        ProxyError::Timeout(_) => respond::error(
            html,
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "Gateway timeout",
            "The application did not answer in time. Try again shortly.",
        ),
        ProxyError::ClientBody => respond::error(
            html,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Bad request",
            "The request body was malformed or incomplete.",
        ),
        ProxyError::ClientTimeout(_) => respond::error(
            html,
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "Request timeout",
            "The request body did not arrive in time.",
        ),
        ProxyError::Unreachable | ProxyError::BadRequest(_) => respond::error(
            html,
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            "Bad gateway",
            "The application is not reachable right now. Try again shortly.",
        ),
    }
}
