//! The request path, top to bottom, as named phases (aesthetics.md §2):
//! strip spoofed headers → classify the path → authenticate → authorize → forward → log.

use std::sync::Arc;
use std::time::Instant;

use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::app::App;
use crate::headers::{self, Forwarding};
use crate::proxy::ProxyError;
use crate::respond::{self, Body};
use crate::server::ConnInfo;

/// Where a request goes, decided from its method and path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Healthz,
    Readyz,
    Proxy,
}

/// How a request ended, for the access log (and metrics): bounded values only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Proxied,
    Internal,
    UpstreamError,
    BadRequest,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Proxied => "proxied",
            Outcome::Internal => "internal",
            Outcome::UpstreamError => "upstream_error",
            Outcome::BadRequest => "bad_request",
        }
    }
}

pub async fn handle(app: Arc<App>, mut req: Request<Incoming>, conn: ConnInfo) -> Response<Body> {
    let started = Instant::now();
    let request_id = headers::request_id(req.headers());
    let method = req.method().clone();
    let path = req.uri().path().to_string();

    // Phase 1: nothing the client sends may pose as the sidecar's identity headers.
    headers::strip_identity(req.headers_mut());

    // Phase 2: classify.
    let route = classify(&method, &path);

    let (mut resp, outcome) = match route {
        Route::Healthz => (
            respond::json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
            Outcome::Internal,
        ),
        Route::Readyz => (readyz(&app), Outcome::Internal),
        // Phases 3–5: authenticate, authorize and forward.
        Route::Proxy => forward(&app, req, conn, &request_id).await,
    };

    resp.headers_mut()
        .insert("x-request-id", request_id.clone());
    // Phase 6: one access-log line (never the query string, which may carry codes).
    tracing::info!(
        target: "access",
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        request_id = request_id.to_str().unwrap_or("-"),
        outcome = outcome.as_str(),
        "request"
    );
    resp
}

fn classify(method: &Method, path: &str) -> Route {
    match (method, path) {
        (&Method::GET | &Method::HEAD, "/healthz") => Route::Healthz,
        (&Method::GET | &Method::HEAD, "/readyz") => Route::Readyz,
        _ => Route::Proxy,
    }
}

fn readyz(app: &App) -> Response<Body> {
    if app.readiness.is_ready() {
        respond::json(StatusCode::OK, &serde_json::json!({"status": "ready"}))
    } else {
        respond::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"status": "not ready"}),
        )
    }
}

async fn forward(
    app: &App,
    mut req: Request<Incoming>,
    conn: ConnInfo,
    request_id: &HeaderValue,
) -> (Response<Body>, Outcome) {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let headers = req.headers_mut();
    let upgrade = headers::remove_hop_by_hop(headers);
    headers::set_forwarding(
        headers,
        &Forwarding {
            peer: conn.peer.ip(),
            proto: if conn.tls { "https" } else { "http" },
            host: host.as_deref(),
            trusted_peer: crate::net::is_trusted(&app.trusted_proxies, conn.peer.ip()),
        },
    );
    headers.insert("x-request-id", request_id.clone());
    let html = respond::wants_html(req.headers());
    match app.upstream.forward(req, &path_and_query, upgrade).await {
        Ok(resp) => (resp, Outcome::Proxied),
        Err(e) => (upstream_error(html, &e), Outcome::UpstreamError),
    }
}

fn upstream_error(html: bool, error: &ProxyError) -> Response<Body> {
    tracing::warn!(error = %error, "upstream request failed");
    match error {
        ProxyError::Timeout(_) => respond::error(
            html,
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "Gateway timeout",
            "The application did not answer in time. Try again shortly.",
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
