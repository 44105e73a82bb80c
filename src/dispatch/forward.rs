//! Phase 5 of the request path: forwarding to the upstream with the identity the earlier
//! phases established, and the synthetic answers for upstream failures.

use std::time::Instant;

use http::header::{HeaderName, HeaderValue};
use http::uri::{InvalidUri, PathAndQuery};
use http::{HeaderMap, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;

use super::Outcome;
use crate::app::{unix_now, App, Settings};
use crate::auth::Authenticated;
use crate::headers::{self, Added, Forwarding};
use crate::proxy::ProxyError;
use crate::respond::{self, Body};
use crate::server::ConnInfo;

// An `async` block, not an `async fn`, for the reason given in `super::handle`.
#[allow(clippy::manual_async_fn)]
pub(super) fn forward<'a>(
    app: &'a App,
    settings: &'a Settings,
    mut req: Request<Incoming>,
    conn: ConnInfo,
    path: &'a str,
    request_id: &'a HeaderValue,
    auth: Option<&'a Authenticated>,
) -> impl std::future::Future<Output = (Response<Body>, Outcome)> + 'a {
    async move {
        let html = respond::wants_html(req.headers());
        let target = match upstream_target(req.uri(), path) {
            Ok(target) => target,
            Err(e) => {
                let error = ProxyError::BadRequest(e.to_string());
                return (upstream_error(html, &error), Outcome::UpstreamError);
            }
        };
        let host = match req.headers().get(http::header::HOST) {
            Some(host) => Some(host.clone()),
            None => req
                .uri()
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
        };
        let headers = req.headers_mut();
        let upgrade = headers::remove_hop_by_hop(headers).filter(crate::proxy::tunnel_allowed);
        match auth {
            Some(auth) if auth.sole_cookie => {
                headers.remove(http::header::COOKIE);
            }
            _ => crate::session::cookies::strip_own_cookies(headers, settings.cookie_name()),
        }
        let values = auth.map(|auth| auth.upstream_headers(settings, headers));
        let mut added = Added::forwarding(
            headers,
            &Forwarding {
                peer: conn.peer.ip(),
                proto: if conn.tls { "https" } else { "http" },
                host: host.as_ref(),
                trusted_peer: crate::net::is_trusted(&settings.trusted_proxies, conn.peer.ip()),
            },
        )
        .request_id(request_id);
        if let Some(values) = &values {
            added = added.identity(&settings.config.headers, values);
        }
        if let (Some(auth), Some(signer), true) =
            (auth, &app.alb, settings.config.headers.alb.enabled)
        {
            Box::pin(alb_headers(headers, signer, auth, settings)).await;
        }
        let sent = Instant::now();
        match app.upstream.forward(req, target, upgrade, &added).await {
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
async fn alb_headers(
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
    if let Some(data) = signer.data_header(&auth.identity, unix_now()).await {
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

fn upstream_error(html: bool, error: &ProxyError) -> Response<Body> {
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
