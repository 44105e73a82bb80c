//! `GET /oauth2/auth`: the forward-auth check for nginx `auth_request`, Traefik
//! ForwardAuth and Envoy `ext_authz` (HTTP). 202 with the identity as response headers
//! when signed in and allowed, 401 when not signed in, 403 when denied (403, not 401, so
//! the gateway does not loop through sign-in for a user who is simply not allowed).
//!
//! The original request's URI and method come from `X-Forwarded-Uri` / `X-Original-URI`
//! and `X-Forwarded-Method` — believed only from peers in `trusted_proxies` (peers.md §4
//! "Header trust"). From anyone else they are ignored and only the global rules apply.

use std::net::IpAddr;

use http::header::SET_COOKIE;
use http::{HeaderMap, Method, Response, StatusCode};

use crate::access::Decision;
use crate::app::{unix_now, App, Settings};
use crate::auth::{authenticate, AuthOutcome, Via};
use crate::config::TokenUse;
use crate::respond::{self, Body};

/// The request the gateway is asking about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub method: Method,
    /// Canonical path, or `None` when the forwarded URI is not a valid path.
    pub path: Option<String>,
}

/// Reads the original method and path from a trusted gateway's headers; an untrusted
/// peer's claims are ignored (the check runs against `/` with GET).
pub fn original_request(headers: &HeaderMap, trusted: bool) -> Original {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if !trusted {
        return Original {
            method: Method::GET,
            path: Some("/".into()),
        };
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
) -> Response<Body> {
    let trusted = crate::net::is_trusted(&settings.trusted_proxies, peer);
    let original = original_request(headers, trusted);
    let Some(path) = original.path else {
        return respond::json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the original request path is not valid",
        );
    };
    if settings.access.is_public(&path) {
        return status_only(StatusCode::ACCEPTED);
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
        .authorize(&original.method, &path, &auth.identity.groups)
        == Decision::Deny
    {
        return respond::json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "signed in, but not allowed",
        );
    }
    let mut resp = status_only(StatusCode::ACCEPTED);
    let (access_token, id_token) = match &auth.via {
        Via::Session(s) => (s.access_token.clone(), s.id_token.clone()),
        Via::Bearer(b) => {
            let raw = crate::auth::bearer_token(headers).map(str::to_string);
            match b.token_use {
                TokenUse::Access => (raw, None),
                TokenUse::Id => (None, raw),
            }
        }
    };
    crate::headers::inject_identity(
        resp.headers_mut(),
        &settings.config.headers,
        &auth.identity,
        access_token.as_deref(),
        id_token.as_deref(),
    );
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
        let o = original_request(&h, true);
        assert_eq!(o.method, Method::POST);
        assert_eq!(o.path.as_deref(), Some("/admin/x"));
        let h = headers(&[("x-original-uri", "/a/../admin/%7Ey")]);
        assert_eq!(
            original_request(&h, true).path.as_deref(),
            Some("/admin/~y")
        );
    }

    #[test]
    fn untrusted_peers_cannot_choose_the_path() {
        let h = headers(&[
            ("x-forwarded-uri", "/public/x"),
            ("x-forwarded-method", "GET"),
        ]);
        assert_eq!(original_request(&h, false).path.as_deref(), Some("/"));
    }

    #[test]
    fn invalid_forwarded_paths_are_refused() {
        let h = headers(&[("x-forwarded-uri", "/public/..%2f..%2fadmin")]);
        assert_eq!(original_request(&h, true).path, None);
    }
}
