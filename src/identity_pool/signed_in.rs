//! Credentials for an authenticated caller, for the endpoint and for
//! `identity_pool.forward_credentials`.
//!
//! A cache hit costs no IdP call. On a miss the pool needs a current **ID token**
//! (cognito-protocol.md §4.2: an access token is the classic mistake). Sessions keep the
//! ID token only when it is forwarded upstream (`Settings::keeps_id_token`), so the
//! sidecar refreshes the session through the shared single-flight refresh
//! (`crate::auth::refresh_now`) and re-issues its cookie. A bearer caller that sent an
//! ID token has one at hand already.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};

use crate::app::{App, Settings};
use crate::auth::{bearer_token, refresh_now, Authenticated, FreshOutcome, FreshSession, Via};
use crate::config::TokenUse;

use super::{Credentials, IdentityPool, IdentityPoolError};

/// An ID token kept in the session is used directly only while it has at least this
/// long to live; the pool checks `exp` itself.
const MIN_ID_TOKEN_LIFE_SECS: u64 = 30;

/// Why a signed-in caller got no credentials.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Client: Cognito ended the session while refreshing it; sign in again.
    #[error("the session ended at Cognito while refreshing it for an ID token")]
    SessionEnded { clear_cookies: Vec<HeaderValue> },
    /// Client: the session cannot be refreshed (no refresh token, `session.refresh` off,
    /// or Cognito issued no ID token), so there is no ID token to exchange.
    #[error("the session has no way to get a current ID token; sign in again")]
    NoIdToken,
    /// Client: a bearer access token; only an ID token can be exchanged.
    #[error("a bearer access token cannot be exchanged for AWS credentials; send the ID token")]
    AccessTokenBearer,
    /// IdP: Cognito could not be reached to refresh the session.
    #[error("Cognito is unreachable, so the session could not be refreshed")]
    IdpUnavailable,
    #[error(transparent)]
    Pool(#[from] IdentityPoolError),
}

/// The caller's credentials. When the session had to be refreshed, `auth` is updated in
/// place — the fresh session and identity, and `set_cookies` re-issuing the cookie —
/// so the caller's response carries the new cookie.
pub async fn credentials(
    app: &App,
    settings: &Settings,
    pool: &IdentityPool,
    headers: &HeaderMap,
    auth: &mut Authenticated,
    now: u64,
) -> Result<Arc<Credentials>, Failure> {
    let sub = auth.identity().sub.clone();
    match auth.via() {
        Via::Bearer(bearer) => {
            if bearer.token_use != TokenUse::Id {
                return Err(Failure::AccessTokenBearer);
            }
            let token = bearer_token(headers).ok_or(Failure::NoIdToken)?;
            return Ok(pool.for_user(&sub, token).await?);
        }
        Via::Session(session) => {
            if let Some(hit) = pool.cached_user(&sub).await {
                return Ok(hit);
            }
            let kept = session
                .id_token
                .clone()
                .filter(|_| session.tokens_expire_at > now.saturating_add(MIN_ID_TOKEN_LIFE_SECS));
            if let Some(token) = kept {
                return Ok(pool.for_user(&sub, &token).await?);
            }
        }
    }
    let id_token = match refresh_now(app, settings, headers, now).await {
        FreshOutcome::Fresh(fresh) => {
            let FreshSession {
                session,
                id_token,
                set_cookies,
            } = *fresh;
            *auth = Authenticated::session(session, set_cookies);
            id_token.ok_or(Failure::NoIdToken)?
        }
        FreshOutcome::Anonymous { clear_cookies } => {
            return Err(Failure::SessionEnded { clear_cookies })
        }
        FreshOutcome::NotRefreshable => return Err(Failure::NoIdToken),
        FreshOutcome::IdpUnavailable => return Err(Failure::IdpUnavailable),
    };
    Ok(pool.for_user(&auth.identity().sub, &id_token).await?)
}

/// `identity_pool.forward_credentials`: sets the `X-Aws-*` headers on the upstream
/// request of a signed-in caller. Not getting credentials never fails the request — the
/// upstream simply sees no `X-Aws-*` headers, which grants nothing — but a session that
/// Cognito ended is cleared with this response.
pub async fn forward(
    app: &App,
    settings: &Settings,
    headers: &mut HeaderMap,
    auth: &mut Authenticated,
) {
    let Some(pool) = app
        .identity_pool
        .as_ref()
        .filter(|p| p.forwards_credentials())
    else {
        return;
    };
    match credentials(app, settings, pool, headers, auth, crate::app::unix_now()).await {
        Ok(credentials) => credentials.insert_headers(headers),
        Err(Failure::SessionEnded { clear_cookies }) => {
            tracing::info!("session ended at Cognito; AWS credentials not forwarded");
            auth.set_cookies = clear_cookies;
        }
        // API clients with access tokens are expected; nothing to warn about.
        Err(e @ Failure::AccessTokenBearer) => {
            tracing::debug!(reason = %e, "AWS credentials not forwarded")
        }
        Err(e) => tracing::warn!(reason = %e, "AWS credentials not forwarded"),
    }
}
