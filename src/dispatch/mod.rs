//! The request path, top to bottom, as named phases (aesthetics.md §2):
//! strip spoofed headers → classify the path → authenticate → authorize → forward → log.

use std::sync::Arc;
use std::time::Instant;

use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::access::Decision;
use crate::app::{unix_now, App, Settings};
use crate::auth::{authenticate, AuthOutcome, Authenticated, Via};
use crate::config::Unauthenticated;
use crate::endpoints::{forward_auth, info, signin, signout};
use crate::headers;
use crate::identity::Identity;
use crate::respond::{self, Body};
use crate::server::ConnInfo;

mod forward;

use forward::{alb_key, forward};

/// Where a request goes, decided from its method and canonical path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Healthz,
    Readyz,
    Start,
    Callback,
    SignOut,
    UserInfo,
    ForwardAuth,
    AlbKey,
    AwsCredentials,
    Public,
    Protected,
}

/// How a request ended, for the access log and metrics: bounded values only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Proxied,
    SignInRedirect,
    Unauthenticated,
    Forbidden,
    Internal,
    UpstreamError,
    BadRequest,
    IdpUnavailable,
    StoreUnavailable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Proxied => "proxied",
            Outcome::SignInRedirect => "redirect_signin",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Forbidden => "forbidden",
            Outcome::Internal => "internal",
            Outcome::UpstreamError => "upstream_error",
            Outcome::BadRequest => "bad_request",
            Outcome::IdpUnavailable => "idp_unavailable",
            Outcome::StoreUnavailable => "store_unavailable",
        }
    }
}

/// The request path, phase by phase: strip spoofed identity headers, classify the
/// path, authenticate, authorize, forward, log.
// An `async` block, not an `async fn`: see the comment inside.
#[allow(clippy::manual_async_fn)]
pub fn handle(
    app: Arc<App>,
    mut req: Request<Incoming>,
    conn: ConnInfo,
) -> impl std::future::Future<Output = Response<Body>> {
    // An `async` block rather than an `async fn` (here and in the phases below): the
    // block uses the arguments where it captured them, where an `async fn` also moves
    // each into a local of its own. That was a second 264-byte `Request` in every
    // level's state, and this future is boxed — copied whole — once per request:
    // 300–700 instructions per request (bench/README.md, session 5).
    async move {
        let started = Instant::now();
        let settings = app.settings.load_full();
        let request_id = headers::request_id(req.headers());
        let method = req.method().clone();

        // Phase 1: nothing the client sends may pose as the sidecar's identity headers.
        headers::strip_identity(req.headers_mut());

        // Phase 2: one host and one canonical path, decided before any rule (RFC 9112 §3.2;
        // issue: path differentials).
        let canonical = match crate::framing::check_host(req.version(), req.uri(), req.headers()) {
            Err(e) => Err(e.to_string()),
            Ok(()) => crate::path::canonicalize(req.uri().path()).map_err(|e| e.to_string()),
        };
        let (mut resp, outcome, who, path) = match canonical {
            Err(reason) => {
                tracing::debug!(reason, "rejected request head");
                let mut resp = respond::error(
                    respond::wants_html(req.headers()),
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "Bad request",
                    "The request path or Host header is not valid.",
                );
                // A client that sends an ambiguous head may be probing for a parser
                // differential: nothing more is read from this connection.
                resp.headers_mut()
                    .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
                (resp, Outcome::BadRequest, None, "-".to_string())
            }
            Ok(path) => {
                let route = classify(&settings, &method, &path);
                let (resp, outcome, sub) =
                    route_request(&app, &settings, route, req, conn, &path, &request_id).await;
                (resp, outcome, sub, path)
            }
        };

        resp.headers_mut()
            .insert(headers::X_REQUEST_ID, request_id.clone());
        let elapsed = started.elapsed().as_secs_f64();
        app.metrics
            .request(metric_outcome(outcome, resp.status()), elapsed);
        // Phase 6: one access-log line (never the query string, which may carry codes).
        tracing::info!(
            target: "access",
            method = %method,
            path = %path,
            status = resp.status().as_u16(),
            latency_ms = (elapsed * 1e6).round() / 1e3,
            request_id = request_id.to_str().unwrap_or("-"),
            sub = who.as_ref().map_or("-", |identity| identity.sub.as_str()),
            outcome = outcome.as_str(),
            "request"
        );
        resp
    }
}

/// The metrics label: an upstream's own 5xx and the sidecar's own 500s are told apart
/// from the outcome the pipeline recorded.
fn metric_outcome(outcome: Outcome, status: StatusCode) -> &'static str {
    match outcome {
        Outcome::Proxied if status.is_server_error() => "upstream_5xx",
        _ if status == StatusCode::INTERNAL_SERVER_ERROR => "sidecar_error",
        other => other.as_str(),
    }
}

fn classify(settings: &Settings, method: &Method, path: &str) -> Route {
    let r = &settings.routes;
    let get = matches!(*method, Method::GET | Method::HEAD);
    match path {
        "/healthz" if get => Route::Healthz,
        "/readyz" if get => Route::Readyz,
        p if p == r.start && get => Route::Start,
        p if p == r.callback && get => Route::Callback,
        p if p == r.sign_out && (get || *method == Method::POST) => Route::SignOut,
        p if p == r.userinfo && get => Route::UserInfo,
        p if p == r.auth && get => Route::ForwardAuth,
        p if p
            .strip_prefix(r.auth.as_str())
            .is_some_and(|rest| rest.starts_with('/')) =>
        {
            Route::ForwardAuth
        }
        p if get && p.starts_with(&r.alb_keys) => Route::AlbKey,
        p if p == r.aws_credentials && get => Route::AwsCredentials,
        p if settings.access.is_public(p) => Route::Public,
        _ => Route::Protected,
    }
}

/// The response, how it ended, and who asked (for the access log), when known.
type Routed = (Response<Body>, Outcome, Option<Arc<Identity>>);

// An `async` block, not an `async fn`, for the reason given in `handle`.
#[allow(clippy::manual_async_fn)]
fn route_request<'a>(
    app: &'a App,
    settings: &'a Settings,
    route: Route,
    req: Request<Incoming>,
    conn: ConnInfo,
    path: &'a str,
    request_id: &'a HeaderValue,
) -> impl std::future::Future<Output = Routed> + 'a {
    async move {
        match route {
            Route::Healthz => (info::healthz(), Outcome::Internal, None),
            Route::Readyz => (
                Box::pin(info::readyz(app, settings)).await,
                Outcome::Internal,
                None,
            ),
            Route::Start => {
                let resp = signin::start(settings, app, req.uri().query(), req.headers());
                (resp, Outcome::SignInRedirect, None)
            }
            Route::Callback => {
                let resp = Box::pin(signin::callback(
                    settings,
                    app,
                    req.uri().query(),
                    req.headers(),
                ))
                .await;
                let outcome = if resp.status() == StatusCode::FOUND {
                    Outcome::Internal
                } else {
                    Outcome::BadRequest
                };
                (resp, outcome, None)
            }
            Route::SignOut => (
                Box::pin(signout::sign_out(settings, app, req.headers())).await,
                Outcome::Internal,
                None,
            ),
            Route::UserInfo => {
                let resp = Box::pin(info::userinfo(settings, app, req.headers())).await;
                let outcome = match resp.status() {
                    StatusCode::OK => Outcome::Internal,
                    StatusCode::SERVICE_UNAVAILABLE => Outcome::IdpUnavailable,
                    _ => Outcome::Unauthenticated,
                };
                (resp, outcome, None)
            }
            Route::ForwardAuth => {
                let style = match path.strip_prefix(settings.routes.auth.as_str()) {
                    Some(rest) if rest.starts_with('/') => forward_auth::Style::Envoy {
                        method: req.method(),
                        path: rest,
                    },
                    _ => forward_auth::Style::Headers,
                };
                let resp = Box::pin(forward_auth::check(
                    settings,
                    app,
                    req.headers(),
                    conn.peer.ip(),
                    style,
                ))
                .await;
                let outcome = match resp.status() {
                    StatusCode::ACCEPTED | StatusCode::OK => Outcome::Internal,
                    StatusCode::FORBIDDEN => Outcome::Forbidden,
                    StatusCode::SERVICE_UNAVAILABLE => Outcome::IdpUnavailable,
                    _ => Outcome::Unauthenticated,
                };
                (resp, outcome, None)
            }
            Route::AlbKey => (alb_key(app, settings, path), Outcome::Internal, None),
            Route::AwsCredentials => {
                let resp = Box::pin(crate::identity_pool::endpoint::serve(
                    settings,
                    app,
                    req.method(),
                    path,
                    req.headers(),
                ))
                .await;
                let outcome = match resp.status() {
                    StatusCode::OK => Outcome::Internal,
                    StatusCode::UNAUTHORIZED => Outcome::Unauthenticated,
                    StatusCode::FORBIDDEN => Outcome::Forbidden,
                    s if s.is_server_error() => Outcome::IdpUnavailable,
                    _ => Outcome::BadRequest,
                };
                (resp, outcome, None)
            }
            Route::Public => {
                let (resp, outcome) =
                    forward(app, settings, req, conn, path, request_id, None).await;
                (resp, outcome, None)
            }
            Route::Protected => protected(app, settings, req, conn, path, request_id).await,
        }
    }
}

/// Phases 3–5 for a protected path.
// An `async` block, not an `async fn`, for the reason given in `handle`.
#[allow(clippy::manual_async_fn)]
fn protected<'a>(
    app: &'a App,
    settings: &'a Settings,
    req: Request<Incoming>,
    conn: ConnInfo,
    path: &'a str,
    request_id: &'a HeaderValue,
) -> impl std::future::Future<Output = Routed> + 'a {
    async move {
        // Phase 3: authenticate.
        let mut auth = match authenticate(app, settings, req.headers(), unix_now()).await {
            AuthOutcome::Authenticated(auth) => auth,
            AuthOutcome::InvalidBearer => {
                return (
                    respond::unauthenticated(Some("invalid_token")),
                    Outcome::Unauthenticated,
                    None,
                )
            }
            AuthOutcome::IdpUnavailable => {
                return (
                    info::idp_unavailable(respond::wants_html(req.headers())),
                    Outcome::IdpUnavailable,
                    None,
                )
            }
            AuthOutcome::StoreUnavailable => {
                return (
                    info::store_unavailable(respond::wants_html(req.headers())),
                    Outcome::StoreUnavailable,
                    None,
                )
            }
            AuthOutcome::Anonymous { clear_cookies } => {
                let (mut resp, outcome) = unauthenticated(app, settings, &req, path);
                for cookie in clear_cookies {
                    resp.headers_mut().append(SET_COOKIE, cookie);
                }
                return (resp, outcome, None);
            }
        };
        let who = Some(Arc::clone(&auth.identity));

        // Phase 4: authorize, on the verified groups and the canonical path.
        let denied = settings
            .access
            .authorize(req.method(), path, &auth.identity.groups)
            == Decision::Deny
            || cross_site_upgrade(settings, &req, &auth);
        let (mut resp, outcome) = if denied {
            let resp = respond::error(
                respond::wants_html(req.headers()),
                StatusCode::FORBIDDEN,
                "forbidden",
                "Access denied",
                "You are signed in, but your account is not allowed to open this page.",
            );
            (resp, Outcome::Forbidden)
        } else {
            // Phase 5: forward with identity (and AWS credentials, when configured; the
            // check comes first so that other requests do not allocate that future).
            let mut req = req;
            if app
                .identity_pool
                .as_ref()
                .is_some_and(|pool| pool.forwards_credentials())
            {
                Box::pin(crate::identity_pool::signed_in::forward(
                    app,
                    settings,
                    req.headers_mut(),
                    &mut auth,
                ))
                .await;
            }
            forward(app, settings, req, conn, path, request_id, Some(&auth)).await
        };
        for cookie in auth.set_cookies {
            resp.headers_mut().append(SET_COOKIE, cookie);
        }
        (resp, outcome, who)
    }
}

/// SPEC §5.4: browser navigations go to the hosted UI (unless the path's rule says
/// `deny`); everything else gets a 401 with `WWW-Authenticate: Bearer`.
fn unauthenticated(
    app: &App,
    settings: &Settings,
    req: &Request<Incoming>,
    path: &str,
) -> (Response<Body>, Outcome) {
    let redirect = is_navigation(req.method(), req.headers())
        && settings.access.on_unauthenticated(req.method(), path) == Unauthenticated::Redirect;
    if redirect {
        let rd = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        (
            signin::begin(settings, app, &rd, req.headers()),
            Outcome::SignInRedirect,
        )
    } else {
        (respond::unauthenticated(None), Outcome::Unauthenticated)
    }
}

/// A top-level browser navigation: GET/HEAD wanting HTML, not an XHR, and not a
/// `fetch()` (`Sec-Fetch-Mode` other than `navigate`), as mod_auth_openidc detects it.
fn is_navigation(method: &Method, headers: &HeaderMap) -> bool {
    let fetch_mode_ok = headers
        .get("sec-fetch-mode")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|mode| mode.eq_ignore_ascii_case("navigate"));
    matches!(*method, Method::GET | Method::HEAD) && respond::wants_html(headers) && fetch_mode_ok
}

/// Cross-site WebSocket hijacking guard: a cookie-authenticated upgrade must come from
/// our own origin (or an allowed redirect host) when the browser names one.
fn cross_site_upgrade(settings: &Settings, req: &Request<Incoming>, auth: &Authenticated) -> bool {
    if !matches!(auth.via, Via::Session(_)) || !req.headers().contains_key(http::header::UPGRADE) {
        return false;
    }
    let Some(origin) = req
        .headers()
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return true;
    };
    let config = &settings.config;
    let same = origin.origin() == config.public_url.origin();
    let allowed = origin.host_str().is_some_and(|host| {
        config
            .access
            .allowed_redirect_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    });
    !(same || allowed)
}

#[cfg(test)]
mod outcome_labels {
    use super::*;

    /// Every outcome the pipeline records has its series resolved up front.
    #[test]
    fn every_outcome_has_a_precreated_series() {
        let all = [
            Outcome::Proxied,
            Outcome::SignInRedirect,
            Outcome::Unauthenticated,
            Outcome::Forbidden,
            Outcome::Internal,
            Outcome::UpstreamError,
            Outcome::BadRequest,
            Outcome::IdpUnavailable,
            Outcome::StoreUnavailable,
        ];
        let statuses = [
            StatusCode::OK,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
        ];
        for outcome in all {
            for status in statuses {
                let label = metric_outcome(outcome, status);
                assert!(crate::metrics::OUTCOMES.contains(&label), "{label}");
            }
        }
    }
}

#[cfg(test)]
mod future_size {
    //! hyper moves each request's future a few times; its size is paid on every request
    //! (memmove showed up at ~12% of CPU before the rare, heavy phases were boxed).
    use super::*;

    fn size3<A, B, C, F: std::future::Future>(_: fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    fn size4<A, B, C, D, F: std::future::Future>(_: fn(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn the_request_future_stays_small() {
        let handle_size = size3(handle);
        let auth_size = size4(crate::auth::authenticate);
        assert!(
            handle_size <= 8 * 1024,
            "dispatch::handle future is {handle_size} bytes"
        );
        assert!(
            auth_size <= 1024,
            "auth::authenticate future is {auth_size} bytes"
        );
    }
}
