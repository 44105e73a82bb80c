//! `GET /logout` (cognito-protocol.md §1.6): ends the hosted-UI session and either goes
//! to a registered sign-out URL (`client_id` + `logout_uri`) or re-enters sign-in
//! (`client_id` + `redirect_uri` + `response_type`). Not OIDC RP-initiated logout:
//! `id_token_hint` and `post_logout_redirect_uri` mean nothing here.

use http::request::Parts;
use http::{Response, StatusCode};

use super::cookies;
use super::pages;
use super::pool::Pool;
use super::request::{cookie, Params};
use super::response::{self, append_query, redirect, set_cookie, Body};
use super::Emulator;

/// What a `/logout` request leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stay on the emulator: an error page with this message; the session is kept.
    ErrorPage(&'static str),
    /// The `redirect_uri` is not a registered callback.
    RedirectMismatch { client_id: String },
    /// Signed out; go to the registered sign-out URL.
    SignedOut { logout_uri: String },
    /// Signed out; sign in again through `/login?…`.
    SignInAgain { login: String },
}

pub const MISSING_CLIENT_ID: &str = "Missing required parameter client_id in request URL";
pub const MISSING_REDIRECT_URI: &str = "Required String parameter 'redirect_uri' is not present";
pub const MISSING_RESPONSE_TYPE: &str = "Required String parameter 'response_type' is not present";

pub fn decide(pool: &Pool, params: &Params) -> Outcome {
    let one = |name: &str| params.non_empty(name).ok().flatten();
    let Some(client_id) = one("client_id") else {
        return Outcome::ErrorPage(MISSING_CLIENT_ID);
    };
    let Some(client) = pool.client(client_id) else {
        return Outcome::ErrorPage(pages::GENERIC_ERROR);
    };
    if let Some(logout_uri) = one("logout_uri") {
        // Exact match against the client's sign-out URLs.
        if client.logout_urls.iter().any(|u| u == logout_uri) {
            return Outcome::SignedOut {
                logout_uri: logout_uri.to_string(),
            };
        }
    }
    // An unregistered logout_uri falls through to the second mode, which then misses
    // its redirect_uri — the message Cognito users know (§1.6).
    let Some(redirect_uri) = one("redirect_uri") else {
        return Outcome::ErrorPage(MISSING_REDIRECT_URI);
    };
    let Some(response_type) = one("response_type") else {
        return Outcome::ErrorPage(MISSING_RESPONSE_TYPE);
    };
    if !client.callback_urls.iter().any(|u| u == redirect_uri) {
        return Outcome::RedirectMismatch {
            client_id: client_id.to_string(),
        };
    }
    // Without `scope`, every scope enabled on the client (§1.6 mode 2).
    let scope = one("scope")
        .map(str::to_string)
        .unwrap_or_else(|| client.allowed_scopes.join(" "));
    let mut pairs = vec![
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("response_type", response_type),
        ("scope", scope.as_str()),
    ];
    if let Some(state) = one("state") {
        pairs.push(("state", state));
    }
    Outcome::SignInAgain {
        login: append_query("/login", &pairs),
    }
}

pub fn handle(emulator: &Emulator, parts: &Parts) -> Response<Body> {
    let params = Params::from_query(parts.uri.query());
    let location = match decide(&emulator.pool, &params) {
        Outcome::ErrorPage(message) => {
            return response::html(StatusCode::BAD_REQUEST, pages::error(message, None))
        }
        Outcome::RedirectMismatch { client_id } => {
            return redirect(&append_query(
                "/error",
                &[("error", "redirect_mismatch"), ("client_id", &client_id)],
            ))
        }
        Outcome::SignedOut { logout_uri } => logout_uri,
        Outcome::SignInAgain { login } => login,
    };
    if let Some(id) = cookie(&parts.headers, cookies::SESSION) {
        emulator.store.end_session(&id);
    }
    set_cookie(
        redirect(&location),
        &cookies::clear_session(emulator.pool.https),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::EmulatorConfig;

    fn run(query: &str) -> Outcome {
        decide(
            &Pool::new(&EmulatorConfig::demo()),
            &Params::parse(query.as_bytes()),
        )
    }

    #[test]
    fn registered_logout_uri_signs_out() {
        assert_eq!(
            run("client_id=local-client&logout_uri=http%3A%2F%2Flocalhost%3A4180%2F"),
            Outcome::SignedOut {
                logout_uri: "http://localhost:4180/".into()
            }
        );
    }

    #[test]
    fn unregistered_logout_uri_is_an_error_page() {
        assert_eq!(
            run("client_id=local-client&logout_uri=http%3A%2F%2Fevil%2F"),
            Outcome::ErrorPage(MISSING_REDIRECT_URI)
        );
        assert_eq!(
            run("client_id=local-client&logout_uri=http%3A%2F%2Flocalhost%3A4180"),
            Outcome::ErrorPage(MISSING_REDIRECT_URI)
        );
        assert_eq!(
            run("logout_uri=http%3A%2F%2Flocalhost%3A4180%2F"),
            Outcome::ErrorPage(MISSING_CLIENT_ID)
        );
        assert_eq!(
            run("client_id=ghost"),
            Outcome::ErrorPage(pages::GENERIC_ERROR)
        );
    }

    #[test]
    fn second_mode_reenters_login_with_default_scopes() {
        let cb = "http%3A%2F%2Flocalhost%3A4180%2Foauth2%2Fcallback";
        assert_eq!(
            run(&format!("client_id=local-client&redirect_uri={cb}&response_type=code&state=s")),
            Outcome::SignInAgain {
                login: format!("/login?client_id=local-client&redirect_uri={cb}&response_type=code&scope=openid+email+profile&state=s")
            }
        );
        assert_eq!(
            run(&format!("client_id=local-client&redirect_uri={cb}")),
            Outcome::ErrorPage(MISSING_RESPONSE_TYPE)
        );
        assert_eq!(
            run("client_id=local-client&redirect_uri=http%3A%2F%2Fevil&response_type=code"),
            Outcome::RedirectMismatch {
                client_id: "local-client".into()
            }
        );
    }
}
