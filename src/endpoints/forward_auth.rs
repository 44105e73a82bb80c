//! `GET /oauth2/auth`: the forward-auth check for nginx `auth_request`, Traefik
//! ForwardAuth and Envoy `ext_authz` (HTTP). 202 with the identity as response headers
//! when signed in and allowed, 401 when not signed in, 403 when denied (403, not 401, so
//! the gateway does not loop through sign-in for a user who is simply not allowed).
//!
//! The original request's URI and method come from `X-Forwarded-Uri` / `X-Original-URI`
//! and `X-Forwarded-Method` — believed only from peers in `trusted_proxies` (peers.md §4
//! "Header trust"). From anyone else they are ignored and only the global rules apply.
//!
//! Envoy's HTTP `ext_authz` asks differently: it sends the original method to
//! `/oauth2/auth/<original path>` and lets the request through only on 200. That form is
//! answered with 200 instead of 202, and its path suffix is the original path (again
//! only from trusted peers).

use std::net::IpAddr;

use http::header::SET_COOKIE;
use http::{HeaderMap, Method, Response, StatusCode};

use crate::access::Decision;
use crate::app::{unix_now, App, Settings};
use crate::auth::{authenticate, AuthOutcome};
use crate::respond::{self, Body};

/// The request the gateway is asking about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub method: Method,
    /// Canonical path, or `None` when the forwarded URI is not a valid path.
    pub path: Option<String>,
}

/// How the gateway asked: `/oauth2/auth` (nginx, Traefik) or Envoy's
/// `/oauth2/auth/<original path>` with the original method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style<'a> {
    Headers,
    Envoy { method: &'a Method, path: &'a str },
}

/// Reads the original method and path from a trusted gateway's headers (or Envoy's
/// path form); an untrusted peer's claims are ignored (the check runs against `/`).
pub fn original_request(headers: &HeaderMap, trusted: bool, style: Style<'_>) -> Original {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if !trusted {
        return Original {
            method: Method::GET,
            path: Some("/".into()),
        };
    }
    if let Style::Envoy { method, path } = style {
        if header("x-forwarded-uri").is_none() && header("x-original-uri").is_none() {
            return Original {
                method: method.clone(),
                path: crate::path::canonicalize(path).ok(),
            };
        }
    }
    let method = header("x-forwarded-method")
        .or_else(|| header("x-original-method"))
        .and_then(|m| Method::from_bytes(m.trim().as_bytes()).ok())
        .unwrap_or(Method::GET);
    let uri = header("x-forwarded-uri")
        .or_else(|| header("x-original-uri"))
        .unwrap_or("/");
    // Only the path decides; the query and fragment never match a rule (SPEC §7).
    let path = uri.split(['?', '#']).next().unwrap_or("/");
    Original {
        method,
        path: crate::path::canonicalize(path).ok(),
    }
}

pub async fn check(
    settings: &Settings,
    app: &App,
    headers: &HeaderMap,
    peer: IpAddr,
    style: Style<'_>,
) -> Response<Body> {
    let trusted = crate::net::is_trusted(&settings.trusted_proxies, peer);
    let original = original_request(headers, trusted, style);
    let allowed = match style {
        Style::Headers => StatusCode::ACCEPTED,
        Style::Envoy { .. } => StatusCode::OK,
    };
    let Some(path) = original.path else {
        return respond::json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the original request path is not valid",
        );
    };
    if settings.access.is_public(&path) {
        return status_only(allowed);
    }
    let auth = match authenticate(app, settings, headers, unix_now()).await {
        AuthOutcome::Authenticated(auth) => auth,
        AuthOutcome::Anonymous { clear_cookies } => {
            let mut resp = respond::unauthenticated(None);
            for cookie in clear_cookies {
                resp.headers_mut().append(SET_COOKIE, cookie);
            }
            return resp;
        }
        AuthOutcome::InvalidBearer => return respond::unauthenticated(Some("invalid_token")),
        AuthOutcome::IdpUnavailable => return super::info::idp_unavailable(false),
        AuthOutcome::StoreUnavailable => return super::info::store_unavailable(false),
    };
    if settings
        .access
        .authorize(&original.method, &path, &auth.identity().groups)
        == Decision::Deny
    {
        return respond::json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "signed in, but not allowed",
        );
    }
    let mut resp = status_only(allowed);
    let values = auth.upstream_headers(settings, headers);
    crate::headers::inject_identity(resp.headers_mut(), &settings.config.headers, &values);
    // A refreshed session travels back through the gateway (`auth_request_set`).
    for cookie in auth.set_cookies {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}

fn status_only(status: StatusCode) -> Response<Body> {
    let mut resp = Response::new(respond::empty());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn trusted_gateways_say_which_request_is_checked() {
        let h = headers(&[
            ("x-forwarded-uri", "/admin/x?debug=1"),
            ("x-forwarded-method", "POST"),
        ]);
        let o = original_request(&h, true, Style::Headers);
        assert_eq!(o.method, Method::POST);
        assert_eq!(o.path.as_deref(), Some("/admin/x"));
        let h = headers(&[("x-original-uri", "/a/../admin/%7Ey")]);
        assert_eq!(
            original_request(&h, true, Style::Headers).path.as_deref(),
            Some("/admin/~y")
        );
    }

    #[test]
    fn untrusted_peers_cannot_choose_the_path() {
        let h = headers(&[
            ("x-forwarded-uri", "/public/x"),
            ("x-forwarded-method", "GET"),
        ]);
        assert_eq!(
            original_request(&h, false, Style::Headers).path.as_deref(),
            Some("/")
        );
        let envoy = Style::Envoy {
            method: &Method::DELETE,
            path: "/admin/x",
        };
        assert_eq!(
            original_request(&HeaderMap::new(), false, envoy)
                .path
                .as_deref(),
            Some("/")
        );
    }

    #[test]
    fn invalid_forwarded_paths_are_refused() {
        let h = headers(&[("x-forwarded-uri", "/public/..%2f..%2fadmin")]);
        assert_eq!(original_request(&h, true, Style::Headers).path, None);
    }

    #[test]
    fn envoy_sends_the_original_method_and_path() {
        let envoy = Style::Envoy {
            method: &Method::DELETE,
            path: "/admin/x/../y",
        };
        let o = original_request(&HeaderMap::new(), true, envoy);
        assert_eq!(o.method, Method::DELETE);
        assert_eq!(o.path.as_deref(), Some("/admin/y"));
    }
}
