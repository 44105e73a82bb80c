//! Read-only endpoints: `/oauth2/userinfo` (the signed-in identity as JSON, never raw
//! tokens), `/healthz` and `/readyz` (signing keys, and a shared session store).

use http::header::SET_COOKIE;
use http::{HeaderMap, Response, StatusCode};

use crate::app::{unix_now, App, Settings};
use crate::auth::{authenticate, AuthOutcome};
use crate::respond::{self, Body};
use crate::session::store::SessionStore;

pub async fn userinfo(settings: &Settings, app: &App, headers: &HeaderMap) -> Response<Body> {
    match authenticate(app, settings, headers, unix_now()).await {
        AuthOutcome::Authenticated(auth) => {
            let id = auth.identity();
            let mut resp = respond::json(
                StatusCode::OK,
                &serde_json::json!({
                    "sub": id.sub,
                    "user": id.user,
                    "email": id.email,
                    "groups": id.groups,
                    "expires_at": id.expires_at,
                }),
            );
            for cookie in auth.set_cookies {
                resp.headers_mut().append(SET_COOKIE, cookie);
            }
            resp
        }
        AuthOutcome::Anonymous { clear_cookies } => {
            let mut resp = respond::unauthenticated(None);
            for cookie in clear_cookies {
                resp.headers_mut().append(SET_COOKIE, cookie);
            }
            resp
        }
        AuthOutcome::InvalidBearer => respond::unauthenticated(Some("invalid_token")),
        AuthOutcome::IdpUnavailable => idp_unavailable(false),
        AuthOutcome::StoreUnavailable => store_unavailable(false),
    }
}

pub fn idp_unavailable(html: bool) -> Response<Body> {
    respond::error(
        html,
        StatusCode::SERVICE_UNAVAILABLE,
        "idp_unavailable",
        "Sign-in service unavailable",
        "Your session needs renewing but the sign-in service is not reachable. Try again in a moment.",
    )
}

/// 503 while the shared session store does not answer (fail closed, issue 10).
pub fn store_unavailable(html: bool) -> Response<Body> {
    respond::error(
        html,
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "Sessions unavailable",
        "Your session cannot be checked right now. Try again in a moment.",
    )
}

pub fn healthz() -> Response<Body> {
    respond::json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
}

/// Ready once the signing keys are loaded and, for a shared session store, while it
/// answers (a PING reused for a second, so probes never hammer it).
pub async fn readyz(app: &App, settings: &Settings) -> Response<Body> {
    let store = app.store(settings);
    let store_ok = if store.server_side() {
        match store.ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "readiness: session store unavailable");
                false
            }
        }
    } else {
        true
    };
    if app.is_ready() && store_ok {
        respond::json(StatusCode::OK, &serde_json::json!({"status": "ready"}))
    } else {
        respond::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({
                "status": "not ready",
                "signing_keys_loaded": app.jwks.is_ready(),
                "session_store": store_ok,
            }),
        )
    }
}
