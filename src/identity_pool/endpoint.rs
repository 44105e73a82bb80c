//! `GET {prefix}/aws-credentials`: the caller's temporary AWS credentials as JSON
//! (`identity_id`, `access_key_id`, `secret_access_key`, `session_token`, `expiration`
//! in RFC 3339, `authenticated`), for a browser app on the same origin.
//!
//! Signed in (session cookie, or a bearer ID token): the user's credentials, after the
//! access rules for this path. Not signed in: guest credentials when
//! `identity_pool.allow_unauthenticated`, else 401. Every answer is `Cache-Control:
//! no-store`; cross-site requests are refused outright.

use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, Method, Response, StatusCode};

use crate::access::Decision;
use crate::app::{unix_now, App, Settings};
use crate::auth::{authenticate, AuthOutcome};
use crate::endpoints::info;
use crate::respond::{self, Body};
use crate::session::cookies::request_cookies;

use super::signed_in::{self, Failure};
use super::{guest, Credentials, IdentityPool};

pub async fn serve(
    settings: &Settings,
    app: &App,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Response<Body> {
    let Some(pool) = &app.identity_pool else {
        return respond::json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "AWS credentials are not enabled on this site.",
        );
    };
    if cross_site(headers) {
        return respond::json_error(
            StatusCode::FORBIDDEN,
            "cross_site",
            "AWS credentials are only given to pages of this site.",
        );
    }
    let now = unix_now();
    match authenticate(app, settings, headers, now).await {
        AuthOutcome::Authenticated(mut auth) => {
            if settings
                .access
                .authorize(method, path, &auth.identity().groups)
                == Decision::Deny
            {
                let resp = respond::json_error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "You are signed in, but your account is not allowed AWS credentials here.",
                );
                return with_cookies(resp, auth.set_cookies);
            }
            let result = signed_in::credentials(app, settings, pool, headers, &mut auth, now).await;
            let resp = match result {
                Ok(credentials) => success(&credentials, true),
                Err(failure) => return failure_response(failure, auth.set_cookies),
            };
            with_cookies(resp, auth.set_cookies)
        }
        AuthOutcome::Anonymous { clear_cookies } => {
            let resp = if pool.allows_guests() {
                guest_credentials(settings, pool, headers, now).await
            } else {
                respond::unauthenticated(None)
            };
            with_cookies(resp, clear_cookies)
        }
        AuthOutcome::InvalidBearer => respond::unauthenticated(Some("invalid_token")),
        AuthOutcome::IdpUnavailable => info::idp_unavailable(false),
        AuthOutcome::StoreUnavailable => info::store_unavailable(false),
    }
}

/// A browser says where a request comes from (`Sec-Fetch-Site`, Fetch Metadata); a
/// page on another site has no business asking for our users' AWS credentials. Absent
/// (non-browser clients, old browsers): allowed, the cookie's `SameSite=Lax` and the
/// missing CORS headers already keep other sites from reading the answer.
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site"))
}

fn success(credentials: &Credentials, authenticated: bool) -> Response<Body> {
    respond::json(StatusCode::OK, &credentials.to_json(authenticated))
}

fn with_cookies(mut resp: Response<Body>, cookies: Vec<HeaderValue>) -> Response<Body> {
    for cookie in cookies {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}

fn failure_response(failure: Failure, set_cookies: Vec<HeaderValue>) -> Response<Body> {
    match &failure {
        Failure::Pool(_) | Failure::IdpUnavailable => {
            tracing::warn!(reason = %failure, "no AWS credentials for a signed-in caller")
        }
        _ => tracing::info!(reason = %failure, "no AWS credentials for a signed-in caller"),
    }
    match failure {
        Failure::SessionEnded { clear_cookies } => {
            with_cookies(respond::unauthenticated(None), clear_cookies)
        }
        Failure::NoIdToken => with_cookies(respond::unauthenticated(None), set_cookies),
        Failure::AccessTokenBearer => respond::json_error(
            StatusCode::UNAUTHORIZED,
            "id_token_required",
            "Only an ID token can be exchanged for AWS credentials: send the Cognito ID token as the bearer token.",
        ),
        Failure::IdpUnavailable => info::idp_unavailable(false),
        Failure::Pool(e) => with_cookies(e.response(false), set_cookies),
    }
}

/// Guest credentials: the identity the guest cookie names, else a new one stored in a
/// new cookie (also re-issued once half its life has passed).
async fn guest_credentials(
    settings: &Settings,
    pool: &IdentityPool,
    headers: &HeaderMap,
    now: u64,
) -> Response<Body> {
    let base = settings.cookie_name();
    let existing = guest::open(
        &settings.keys,
        base,
        &request_cookies(headers),
        pool.pool_id(),
        now,
    );
    let named = existing.as_ref().map(|g| g.identity_id.as_str());
    match pool.for_guest(named).await {
        Ok((credentials, created)) => {
            let mut resp = success(&credentials, false);
            if created || existing.as_ref().is_some_and(|g| g.needs_renewal(now)) {
                let cookie = guest::set_cookie(
                    &settings.keys,
                    base,
                    pool.pool_id(),
                    &credentials.identity_id,
                    settings.secure_cookies,
                    now,
                );
                if let Some(cookie) = cookie {
                    resp.headers_mut().append(SET_COOKIE, cookie);
                }
            }
            resp
        }
        Err(e) => {
            tracing::warn!(reason = %e, "no guest AWS credentials");
            e.response(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cross_site_fetches_are_refused() {
        let mut h = HeaderMap::new();
        assert!(!cross_site(&h));
        for (site, refused) in [
            ("same-origin", false),
            ("same-site", false),
            ("none", false),
            ("cross-site", true),
            ("Cross-Site", true),
        ] {
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert_eq!(cross_site(&h), refused, "{site}");
        }
    }
}
