//! Sign-in: `/oauth2/start` sends the browser to the hosted UI with `state`, `nonce` and
//! PKCE S256 (RFC 9700 §2.1, RFC 7636); `/oauth2/callback` checks the state against the
//! sign-in cookie, redeems the code, verifies the ID token and creates the session in
//! the session store.

use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, Response, StatusCode};

use super::{param, query_params};
use crate::app::{unix_now, App, Settings};
use crate::oauth::{new_sign_in, OAuthError};
use crate::respond::{self, Body};
use crate::session::cookies::{self, open_signin, request_cookies, signins_to_expire, SignInState};
use crate::session::store::{SessionStore, StoreError};

/// `GET /oauth2/start?rd=…`
pub fn start(
    settings: &Settings,
    app: &App,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response<Body> {
    let rd = query_params(query)
        .as_deref()
        .and_then(|p| param(p, "rd").map(str::to_string))
        .unwrap_or_else(|| "/".into());
    begin(settings, app, &rd, headers)
}

/// Starts a sign-in that returns to `rd` (checked here): a fresh sign-in cookie, older
/// pending ones beyond the cap expired, and a 302 to the hosted UI.
pub fn begin(settings: &Settings, app: &App, rd: &str, headers: &HeaderMap) -> Response<Body> {
    let config = &settings.config;
    let rd = crate::redirect::safe_redirect(
        rd,
        &config.public_url,
        &config.access.allowed_redirect_hosts,
    );
    let now = unix_now();
    let secrets = new_sign_in();
    let state = SignInState {
        state: secrets.state.clone(),
        nonce: secrets.nonce.clone(),
        pkce_verifier: secrets.pkce_verifier.clone(),
        rd,
        created_at: now,
    };
    let base = settings.cookie_name();
    let sealed = state
        .seal(&settings.keys, base)
        .ok()
        .and_then(|(name, sealed)| {
            cookies::set_signin(&name, &sealed, settings.secure_cookies).ok()
        });
    let Some(signin_cookie) = sealed else {
        return respond::error(
            respond::wants_html(headers),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Sign-in unavailable",
            "The sign-in could not be started. Try again.",
        );
    };
    let url = app
        .cognito
        .authorize_url(&secrets.state, &secrets.nonce, &secrets.pkce_challenge);
    let mut resp = respond::redirect(&url);
    let present = request_cookies(headers);
    for name in signins_to_expire(&settings.keys, base, &present, now) {
        if let Some(expired) = cookies::expire_cookie(&name, settings.secure_cookies) {
            resp.headers_mut().append(SET_COOKIE, expired);
        }
    }
    resp.headers_mut().append(SET_COOKIE, signin_cookie);
    resp
}

fn failure(
    status: StatusCode,
    title: &str,
    message: &str,
    expire: Option<HeaderValue>,
) -> Response<Body> {
    let mut resp = respond::html_page(status, title, message);
    if let Some(cookie) = expire {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}

/// `GET /oauth2/callback?code=…&state=…` (or `?error=…`).
pub async fn callback(
    settings: &Settings,
    app: &App,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response<Body> {
    let Some(params) = query_params(query) else {
        app.metrics.signin(false, "malformed");
        return failure(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The sign-in response was malformed. Start again from the application.",
            None,
        );
    };
    let base = settings.cookie_name();
    let state = param(&params, "state").unwrap_or("");
    let expire_state = (!state.is_empty())
        .then(|| {
            cookies::expire_cookie(
                &cookies::csrf_cookie_name(base, state),
                settings.secure_cookies,
            )
        })
        .flatten();

    if let Some(error) = param(&params, "error") {
        let description = param(&params, "error_description").unwrap_or("");
        tracing::info!(error, "Cognito returned an error to the callback");
        app.metrics.signin(false, "idp_error");
        let message = format!(
            "Cognito could not sign you in ({error}{}{description}). Go back to the application to try again.",
            if description.is_empty() { "" } else { ": " }
        );
        return failure(
            StatusCode::FORBIDDEN,
            "Sign-in failed",
            &message,
            expire_state,
        );
    }
    let now = unix_now();
    let cookies = request_cookies(headers);
    let signin = (!state.is_empty())
        .then(|| open_signin(&settings.keys, base, &cookies, state, now))
        .flatten();
    let Some(signin) = signin else {
        app.metrics.signin(false, "state_mismatch");
        return failure(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in response does not match a sign-in started in this browser, or it is older than 10 minutes. Start again from the application.",
            expire_state,
        );
    };
    let Some(code) = param(&params, "code").filter(|c| !c.is_empty() && c.len() <= 2048) else {
        app.metrics.signin(false, "malformed");
        return failure(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The sign-in response carried no authorization code. Start again from the application.",
            expire_state,
        );
    };
    let tokens = match app.cognito.exchange_code(code, &signin.pkce_verifier).await {
        Ok(tokens) => tokens,
        Err(OAuthError::Rejected { error }) => {
            tracing::info!(error, "code exchange rejected");
            app.metrics.signin(false, "code_rejected");
            return failure(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                "The sign-in could not be completed (the code was already used or has expired). Start again from the application.",
                expire_state,
            );
        }
        Err(OAuthError::Unavailable { reason }) => {
            tracing::warn!(reason, "code exchange failed: Cognito unreachable");
            app.metrics.signin(false, "idp_unavailable");
            return failure(
                StatusCode::BAD_GATEWAY,
                "Sign-in unavailable",
                "The sign-in service is not reachable right now. Try again in a moment.",
                expire_state,
            );
        }
    };
    let session = match crate::auth::session_from_tokens(
        app,
        settings,
        tokens,
        Some(&signin.nonce),
        None,
    )
    .await
    {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(reason = %e, "tokens from the callback failed verification");
            app.metrics.signin(false, "token_invalid");
            let (status, message) = if e.is_idp_unavailable() {
                (StatusCode::SERVICE_UNAVAILABLE, "The sign-in service's keys are not available right now. Try again in a moment.")
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    "The sign-in response could not be verified. Start again from the application.",
                )
            };
            return failure(status, "Sign-in failed", message, expire_state);
        }
    };
    // Always a new sealed value or ticket, never the one the browser came with (no
    // fixation); the request's session cookies are replaced or expired.
    let present = crate::auth::session_cookies(settings, headers);
    let store = app.store(settings);
    let set_cookies = match store.create(&session, &present, unix_now()).await {
        Ok(set_cookies) => set_cookies,
        Err(StoreError::Unavailable(reason)) => {
            tracing::warn!(reason, "session store unavailable at sign-in");
            app.metrics.signin(false, "store_unavailable");
            return failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in unavailable",
                "Your session could not be saved right now. Try again in a moment.",
                expire_state,
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "session could not be written");
            app.metrics.signin(false, "session_too_large");
            return failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "The session is too large to store in cookies. Ask the operator to forward fewer tokens.",
                expire_state,
            );
        }
    };
    tracing::info!(sub = %session.sub, "signed in");
    app.metrics.signin(true, "ok");
    let mut resp = respond::redirect(&signin.rd);
    for cookie in set_cookies.into_iter().chain(expire_state) {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}
