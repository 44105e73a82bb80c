//! `/oauth2/sign_out`: end the session here (deleted from a shared store, so a replayed
//! cookie is refused by every replica at once; every session and sign-in cookie
//! cleared), revoke the refresh token at Cognito, then end the hosted-UI session through
//! Cognito's own `/logout?client_id=…&logout_uri=…` (cognito-protocol §1.6) — otherwise
//! the hosted UI would sign the user straight back in.
//!
//! If the shared store does not answer, sign-out fails closed with 503 and keeps the
//! cookie, so the user can retry: clearing only the browser's copy would leave a
//! session alive on the server while telling the user it had ended.

use http::header::SET_COOKIE;
use http::{HeaderMap, Response, StatusCode};

use crate::app::{unix_now, App, Settings};
use crate::respond::{self, Body};
use crate::session::cookies::{self, request_cookies};
use crate::session::store::{Lookup, SessionStore};

pub async fn sign_out(settings: &Settings, app: &App, headers: &HeaderMap) -> Response<Body> {
    let base = settings.cookie_name();
    let present = request_cookies(headers);
    let store = app.store(settings);
    let session_cookies = crate::auth::session_cookies(settings, headers);
    let refresh_token = match store.load(&session_cookies, unix_now()).await {
        Ok(Lookup::Found(loaded)) => {
            if let Err(e) = store.delete(&loaded).await {
                tracing::warn!(error = %e, "sign-out could not delete the session");
                return store_unavailable(headers);
            }
            loaded.session.refresh_token
        }
        Ok(Lookup::NoCookie | Lookup::Invalid) => None,
        Err(e) => {
            tracing::warn!(error = %e, "sign-out could not read the session");
            return store_unavailable(headers);
        }
    };
    if let Some(token) = refresh_token {
        // Best effort: the session is over either way; a failed revoke is logged.
        if let Err(e) = app.cognito.revoke(&token).await {
            tracing::warn!(error = %e, "refresh token revocation failed");
        }
        app.refreshes.invalidate_all();
    }
    let mut resp = respond::redirect(&app.cognito.logout_url(&settings.logout_uri()));
    let secure = settings.secure_cookies;
    for cookie in cookies::clear_session(base, secure, &present) {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    let csrf_prefix = format!("{base}_csrf");
    for (name, _) in present.iter().filter(|(n, _)| n.starts_with(&csrf_prefix)) {
        if let Some(cookie) = cookies::expire_cookie(name, secure) {
            resp.headers_mut().append(SET_COOKIE, cookie);
        }
    }
    resp
}

fn store_unavailable(headers: &HeaderMap) -> Response<Body> {
    respond::error(
        respond::wants_html(headers),
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "Sign-out unavailable",
        "Your session could not be ended right now. Try signing out again in a moment.",
    )
}
