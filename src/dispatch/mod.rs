//! The request path, top to bottom, as named phases (aesthetics.md §2):
//! strip spoofed headers → classify the path → authenticate → authorize → forward → log.

use std::sync::Arc;
use std::time::Instant;

use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::access::Decision;
use crate::app::{unix_now, App, Settings};
use crate::auth::{self, AuthOutcome, Authenticated, Via};
use crate::config::Unauthenticated;
use crate::endpoints::{info, signin};
use crate::headers;
use crate::identity::Identity;
use crate::respond::{self, Body};
use crate::server::ConnInfo;

mod forward;
mod route;

use forward::Outbound;
use route::Route;

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
///
/// The phases of a proxied request are written out here, around its one `await` on the
/// upstream, rather than as nested `async fn`s: hyper boxes this future (a copy of all of
/// it) and every nested level is another future moved whole into its caller's. Three
/// such levels cost ~10 KB of copying per request (bench/README.md, session 6). The
/// sidecar's own endpoints are rare next to proxied requests and are boxed on their own.
// An `async` block, not an `async fn`: an `async fn` also moves each argument into a
// local of its own, a second 264-byte `Request` in the state (bench/README.md, session 5).
#[allow(clippy::manual_async_fn)]
pub fn handle(
    app: Arc<App>,
    mut req: Request<Incoming>,
    conn: ConnInfo,
) -> impl std::future::Future<Output = Response<Body>> {
    async move {
        let started = Instant::now();
        let settings = app.settings.load_full();
        let request_id = headers::request_id(req.headers());
        let method = req.method().clone();

        // Phase 1: nothing the client sends may pose as the sidecar's identity headers.
        headers::strip_identity(req.headers_mut());

        // Phase 2: one host and one canonical path, decided before any rule (RFC 9112 §3.2;
        // issue: path differentials); then the route.
        let canonical = match crate::framing::check_host(req.version(), req.uri(), req.headers()) {
            Err(e) => Err(e.to_string()),
            Ok(()) => crate::path::canonicalize(req.uri().path()).map_err(|e| e.to_string()),
        };
        let path = match canonical {
            Ok(path) => path,
            Err(reason) => {
                tracing::debug!(reason, "rejected request head");
                let routed = (bad_request(&req), Outcome::BadRequest);
                return finish(&app, started, &method, "-", &request_id, routed, None);
            }
        };
        let route = route::classify(&settings, &method, &path);
        // The caller, once known: it outlives the phases, for the access log.
        let mut auth: Option<Authenticated> = None;
        let routed: Routed = 'routed: {
            auth = match route {
                Route::Endpoint(endpoint) => {
                    break 'routed Box::pin(route::endpoint(
                        &app, &settings, endpoint, req, conn, &path,
                    ))
                    .await
                }
                Route::Public => None,
                // Phase 3: authenticate.
                Route::Protected => {
                    // A credential verified before needs no future at all.
                    let now = unix_now();
                    match auth::cached(&app, &settings, req.headers(), now) {
                        Some(auth) => Some(auth),
                        None => {
                            let outcome = auth::uncached(&app, &settings, req.headers(), now).await;
                            match caller(&app, &settings, outcome, &req, &path) {
                                Ok(auth) => Some(auth),
                                Err(refused) => break 'routed refused,
                            }
                        }
                    }
                }
            };

            // Phase 4: authorize, on the verified groups and the canonical path.
            if let Some(caller) = &auth {
                if !authorized(&settings, &req, &path, caller) {
                    let resp = with_cookies(forbidden(&req), &caller.set_cookies);
                    break 'routed (resp, Outcome::Forbidden);
                }
            }

            // Phase 5: forward with identity (and AWS credentials, when configured; the
            // check comes first so that other requests do not allocate that future).
            if let (Some(auth), Some(pool)) = (&mut auth, &app.identity_pool) {
                if pool.forwards_credentials() {
                    Box::pin(crate::identity_pool::signed_in::forward(
                        &app,
                        &settings,
                        req.headers_mut(),
                        auth,
                    ))
                    .await;
                }
            }
            let set_cookies = auth.as_ref().map_or(&[][..], |auth| &auth.set_cookies[..]);
            let html = respond::wants_html(req.headers());
            let Outbound {
                target,
                upgrade,
                host,
                left_out,
            } = match forward::prepare(&settings, &mut req, &path, auth.as_ref()) {
                Ok(outbound) => outbound,
                Err(e) => {
                    let (resp, outcome) = forward::answer(&app, html, Instant::now(), Err(e));
                    break 'routed (with_cookies(resp, set_cookies), outcome);
                }
            };
            let values = auth
                .as_ref()
                .map(|auth| auth.upstream_headers(&settings, req.headers()));
            let added = forward::added(
                &settings,
                req.headers(),
                &conn,
                host.as_ref(),
                left_out,
                &request_id,
                values.as_deref(),
            );
            if let (Some(auth), Some(signer), true) =
                (&auth, &app.alb, settings.config.headers.alb.enabled)
            {
                Box::pin(forward::alb_headers(
                    req.headers_mut(),
                    signer,
                    auth,
                    &settings,
                ))
                .await;
            }
            let sent = Instant::now();
            let result = app.upstream.forward(req, target, upgrade, &added).await;
            let (resp, outcome) = forward::answer(&app, html, sent, result);
            (with_cookies(resp, set_cookies), outcome)
        };
        let who = auth.as_ref().map(Authenticated::identity);
        finish(&app, started, &method, &path, &request_id, routed, who)
    }
}

/// The access-log line and metrics for a request that ended as `routed`; its response.
fn finish(
    app: &App,
    started: Instant,
    method: &Method,
    path: &str,
    request_id: &HeaderValue,
    (mut resp, outcome): Routed,
    who: Option<&Identity>,
) -> Response<Body> {
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
        sub = who.map_or("-", |identity| identity.sub.as_str()),
        outcome = outcome.as_str(),
        "request"
    );
    resp
}

/// The answer to a request whose path or `Host` is not valid.
fn bad_request(req: &Request<Incoming>) -> Response<Body> {
    let mut resp = respond::error(
        respond::wants_html(req.headers()),
        StatusCode::BAD_REQUEST,
        "bad_request",
        "Bad request",
        "The request path or Host header is not valid.",
    );
    // A client that sends an ambiguous head may be probing for a parser differential:
    // nothing more is read from this connection.
    resp.headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    resp
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

/// The response and how it ended.
type Routed = (Response<Body>, Outcome);

/// Phase 3's verdict: the authenticated caller, or the answer when there is none.
// The answer is built once and moved straight into the response; boxing it would only
// add an allocation to every refused request.
#[allow(clippy::result_large_err)]
fn caller(
    app: &App,
    settings: &Settings,
    outcome: AuthOutcome,
    req: &Request<Incoming>,
    path: &str,
) -> Result<Authenticated, Routed> {
    let (resp, outcome) = match outcome {
        AuthOutcome::Authenticated(auth) => return Ok(auth),
        AuthOutcome::InvalidBearer => (
            respond::unauthenticated(Some("invalid_token")),
            Outcome::Unauthenticated,
        ),
        AuthOutcome::IdpUnavailable => (
            info::idp_unavailable(respond::wants_html(req.headers())),
            Outcome::IdpUnavailable,
        ),
        AuthOutcome::StoreUnavailable => (
            info::store_unavailable(respond::wants_html(req.headers())),
            Outcome::StoreUnavailable,
        ),
        AuthOutcome::Anonymous { clear_cookies } => {
            let (resp, outcome) = unauthenticated(app, settings, req, path);
            (with_cookies(resp, &clear_cookies), outcome)
        }
    };
    Err((resp, outcome))
}

/// Phase 4: may the authenticated caller make this request? Decided on the verified
/// groups and the canonical path, and never for a cross-site WebSocket upgrade.
fn authorized(
    settings: &Settings,
    req: &Request<Incoming>,
    path: &str,
    auth: &Authenticated,
) -> bool {
    settings
        .access
        .authorize(req.method(), path, &auth.identity().groups)
        == Decision::Allow
        && !cross_site_upgrade(settings, req, auth)
}

fn forbidden(req: &Request<Incoming>) -> Response<Body> {
    respond::error(
        respond::wants_html(req.headers()),
        StatusCode::FORBIDDEN,
        "forbidden",
        "Access denied",
        "You are signed in, but your account is not allowed to open this page.",
    )
}

/// `resp` with the `Set-Cookie` values appended.
fn with_cookies(mut resp: Response<Body>, set_cookies: &[HeaderValue]) -> Response<Body> {
    for cookie in set_cookies {
        resp.headers_mut().append(SET_COOKIE, cookie.clone());
    }
    resp
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
    if !matches!(auth.via(), Via::Session(_)) || !req.headers().contains_key(http::header::UPGRADE)
    {
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
