//! `/oauth2/sign_out`: end the session here (every session and sign-in cookie cleared),
//! revoke the refresh token at Cognito, then end the hosted-UI session through Cognito's
//! own `/logout?client_id=…&logout_uri=…` (cognito-protocol §1.6) — otherwise the
//! hosted UI would sign the user straight back in.

use http::header::SET_COOKIE;
use http::{HeaderMap, Response};

use crate::app::{unix_now, App, Settings};
use crate::respond::{self, Body};
use crate::session::cookies::{self, join, request_cookies};
use crate::session::Session;

pub async fn sign_out(settings: &Settings, app: &App, headers: &HeaderMap) -> Response<Body> {
    let base = settings.cookie_name();
    let present = request_cookies(headers);
    let refresh_token = join(&present, base)
        .and_then(|sealed| settings.keys.open(base, &sealed, unix_now()))
        .and_then(|opened| Session::decode(&opened.payload))
        .and_then(|session| session.refresh_token);
    if let Some(token) = refresh_token {
        // Best effort: the cookies are cleared either way; a failed revoke is logged.
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
