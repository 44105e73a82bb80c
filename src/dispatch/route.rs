//! Phase 2 of the request path: where a request goes, from its method and canonical path
//! alone, and the sidecar's own endpoints (SPEC §4) that answer it without the upstream.

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;

use super::forward::alb_key;
use super::{Outcome, Routed};
use crate::app::{App, Settings};
use crate::endpoints::{forward_auth, info, signin, signout};
use crate::server::ConnInfo;

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// To the upstream, with no credential asked for (`access.public_paths`).
    Public,
    /// To the upstream once the caller is authenticated and authorized.
    Protected,
    /// Answered by the sidecar itself.
    Endpoint(Endpoint),
}

/// The sidecar's own endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Healthz,
    Readyz,
    Start,
    Callback,
    SignOut,
    UserInfo,
    ForwardAuth,
    AlbKey,
    AwsCredentials,
}

pub(super) fn classify(settings: &Settings, method: &Method, path: &str) -> Route {
    let r = &settings.routes;
    let get = matches!(*method, Method::GET | Method::HEAD);
    let endpoint = match path {
        "/healthz" if get => Endpoint::Healthz,
        "/readyz" if get => Endpoint::Readyz,
        p if p == r.start && get => Endpoint::Start,
        p if p == r.callback && get => Endpoint::Callback,
        p if p == r.sign_out && (get || *method == Method::POST) => Endpoint::SignOut,
        p if p == r.userinfo && get => Endpoint::UserInfo,
        p if p == r.auth && get => Endpoint::ForwardAuth,
        p if p
            .strip_prefix(r.auth.as_str())
            .is_some_and(|rest| rest.starts_with('/')) =>
        {
            Endpoint::ForwardAuth
        }
        p if get && p.starts_with(&r.alb_keys) => Endpoint::AlbKey,
        p if p == r.aws_credentials && get => Endpoint::AwsCredentials,
        p if settings.access.is_public(p) => return Route::Public,
        _ => return Route::Protected,
    };
    Route::Endpoint(endpoint)
}

/// Answers a request for one of the sidecar's own endpoints.
pub(super) async fn endpoint(
    app: &App,
    settings: &Settings,
    endpoint: Endpoint,
    req: Request<Incoming>,
    conn: ConnInfo,
    path: &str,
) -> Routed {
    match endpoint {
        Endpoint::Healthz => (info::healthz(), Outcome::Internal),
        Endpoint::Readyz => (info::readyz(app, settings).await, Outcome::Internal),
        Endpoint::Start => {
            let resp = signin::start(settings, app, req.uri().query(), req.headers());
            (resp, Outcome::SignInRedirect)
        }
        Endpoint::Callback => {
            let resp = signin::callback(settings, app, req.uri().query(), req.headers()).await;
            let outcome = if resp.status() == StatusCode::FOUND {
                Outcome::Internal
            } else {
                Outcome::BadRequest
            };
            (resp, outcome)
        }
        Endpoint::SignOut => (
            signout::sign_out(settings, app, req.headers()).await,
            Outcome::Internal,
        ),
        Endpoint::UserInfo => {
            let resp = info::userinfo(settings, app, req.headers()).await;
            let outcome = match resp.status() {
                StatusCode::OK => Outcome::Internal,
                StatusCode::SERVICE_UNAVAILABLE => Outcome::IdpUnavailable,
                _ => Outcome::Unauthenticated,
            };
            (resp, outcome)
        }
        Endpoint::ForwardAuth => {
            let style = match path.strip_prefix(settings.routes.auth.as_str()) {
                Some(rest) if rest.starts_with('/') => forward_auth::Style::Envoy {
                    method: req.method(),
                    path: rest,
                },
                _ => forward_auth::Style::Headers,
            };
            let resp =
                forward_auth::check(settings, app, req.headers(), conn.peer.ip(), style).await;
            let outcome = match resp.status() {
                StatusCode::ACCEPTED | StatusCode::OK => Outcome::Internal,
                StatusCode::FORBIDDEN => Outcome::Forbidden,
                StatusCode::SERVICE_UNAVAILABLE => Outcome::IdpUnavailable,
                _ => Outcome::Unauthenticated,
            };
            (resp, outcome)
        }
        Endpoint::AlbKey => (alb_key(app, settings, path), Outcome::Internal),
        Endpoint::AwsCredentials => {
            let resp = crate::identity_pool::endpoint::serve(
                settings,
                app,
                req.method(),
                path,
                req.headers(),
            )
            .await;
            let outcome = match resp.status() {
                StatusCode::OK => Outcome::Internal,
                StatusCode::UNAUTHORIZED => Outcome::Unauthenticated,
                StatusCode::FORBIDDEN => Outcome::Forbidden,
                s if s.is_server_error() => Outcome::IdpUnavailable,
                _ => Outcome::BadRequest,
            };
            (resp, outcome)
        }
    }
}
