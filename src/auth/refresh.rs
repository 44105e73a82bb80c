//! Refreshing sessions (SPEC §7 "Refresh"): one refresh per refresh token at a time,
//! its result shared by every request that needed it — the expired-session refresh of
//! [`super::authenticate`] and the on-demand [`refresh_now`] of callers that need a
//! current ID token (the identity pool), so a refresh token is never spent twice.

use std::sync::Arc;

use aws_lc_rs::digest;
use http::header::HeaderValue;
use http::HeaderMap;

use super::{open_session, session_from_tokens, write_session, OpenedSession};
use crate::app::{App, Settings};
use crate::oauth::OAuthError;
use crate::session::cookies;
use crate::session::{Session, SessionStatus};

#[derive(Debug, Clone, thiserror::Error)]
pub enum RefreshError {
    #[error("the session can no longer be refreshed")]
    Ended,
    #[error("Cognito is unreachable")]
    Unavailable,
}

/// The result of one refresh, shared by every request that waited for it: the new
/// session and the ID token Cognito issued with it.
#[derive(Clone)]
pub struct Refreshed {
    pub session: Session,
    pub id_token: Option<String>,
}

impl std::fmt::Debug for Refreshed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refreshed")
            .field("session", &self.session)
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Refreshes once per refresh token at a time; concurrent requests of the session wait
/// for the same result (SPEC §7 "one refresh per session at a time").
pub(super) async fn refresh(
    app: &App,
    settings: &Settings,
    session: Session,
) -> Result<Arc<Refreshed>, RefreshError> {
    let Some(refresh_token) = session.refresh_token.clone() else {
        return Err(RefreshError::Ended);
    };
    let key: [u8; 32] = digest::digest(&digest::SHA256, refresh_token.as_bytes())
        .as_ref()
        .try_into()
        .map_err(|_| RefreshError::Ended)?;
    // A cached result only stands in while its tokens are still valid; after that the
    // same (unrotated) refresh token is spent again for fresh tokens and claims.
    if let Some(cached) = app.refreshes.get(&key).await {
        if cached.session.tokens_expire_at > crate::app::unix_now() {
            return Ok(cached);
        }
        app.refreshes.invalidate(&key).await;
    }
    app.refreshes
        .try_get_with(key, async move {
            let tokens = app
                .cognito
                .refresh(&refresh_token)
                .await
                .map_err(|e| match e {
                    OAuthError::Rejected { error } => {
                        tracing::info!(error, "refresh rejected by Cognito; session ends");
                        app.metrics.refresh("failed");
                        RefreshError::Ended
                    }
                    OAuthError::Unavailable { reason } => {
                        tracing::warn!(reason, "refresh failed: Cognito unreachable");
                        app.metrics.refresh("unavailable");
                        RefreshError::Unavailable
                    }
                })?;
            let id_token = tokens.id_token.clone();
            let fresh = session_from_tokens(app, settings, tokens, None, Some(&session))
                .await
                .map_err(|e| {
                    tracing::warn!(reason = %e, "refreshed tokens failed verification");
                    app.metrics.refresh("failed");
                    if e.is_idp_unavailable() {
                        RefreshError::Unavailable
                    } else {
                        RefreshError::Ended
                    }
                })?;
            app.metrics.refresh("ok");
            Ok(Arc::new(Refreshed {
                session: fresh,
                id_token,
            }))
        })
        .await
        .map_err(|e: Arc<RefreshError>| (*e).clone())
}

/// A session refreshed on request, with the ID token that came with it.
pub struct FreshSession {
    pub session: Session,
    /// The ID token Cognito issued with the refresh (sessions keep it only when it is
    /// forwarded upstream, see [`Settings::keeps_id_token`]).
    pub id_token: Option<String>,
    /// `Set-Cookie` values re-issuing the session cookie with the new tokens' expiry.
    pub set_cookies: Vec<HeaderValue>,
}

impl std::fmt::Debug for FreshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshSession")
            .field("session", &self.session)
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field("set_cookies", &self.set_cookies.len())
            .finish()
    }
}

/// What [`refresh_now`] found.
#[derive(Debug)]
pub enum FreshOutcome {
    Fresh(Box<FreshSession>),
    /// No session, or one that has ended (its cookies are to be cleared).
    Anonymous {
        clear_cookies: Vec<HeaderValue>,
    },
    /// Signed in, but the session cannot be refreshed: it has no refresh token or
    /// `session.refresh` is off.
    NotRefreshable,
    /// Cognito could not be reached; the session is kept.
    IdpUnavailable,
}

/// Opens the request's session and refreshes it now, even while its tokens are valid,
/// for callers that need a current ID token (the identity pool, which sessions do not
/// keep it for). Shares the one-refresh-per-refresh-token single flight with
/// [`authenticate`], so a request that already refreshed hands its result over instead of
/// spending the refresh token twice.
pub async fn refresh_now(
    app: &App,
    settings: &Settings,
    headers: &HeaderMap,
    now: u64,
) -> FreshOutcome {
    let (session, present) = match open_session(settings, headers, now) {
        OpenedSession::Absent => {
            return FreshOutcome::Anonymous {
                clear_cookies: Vec::new(),
            }
        }
        OpenedSession::Broken { clear_cookies } => {
            return FreshOutcome::Anonymous { clear_cookies }
        }
        OpenedSession::Open {
            session, present, ..
        } => (session, present),
    };
    let clear = |present: &[(String, String)]| FreshOutcome::Anonymous {
        clear_cookies: cookies::clear_session(
            settings.cookie_name(),
            settings.secure_cookies,
            present,
        ),
    };
    let refresh_enabled = settings.config.session.refresh;
    match session.status(now, settings.lifetime_secs(), refresh_enabled) {
        SessionStatus::Ended => return clear(&present),
        _ if !refresh_enabled || session.refresh_token.is_none() => {
            return FreshOutcome::NotRefreshable
        }
        SessionStatus::Valid | SessionStatus::NeedsRefresh => {}
    }
    match refresh(app, settings, session).await {
        Ok(fresh) => match write_session(settings, &fresh.session, &present) {
            Some(set_cookies) => FreshOutcome::Fresh(Box::new(FreshSession {
                session: fresh.session.clone(),
                id_token: fresh.id_token.clone(),
                set_cookies,
            })),
            None => clear(&present),
        },
        Err(RefreshError::Unavailable) => FreshOutcome::IdpUnavailable,
        Err(RefreshError::Ended) => clear(&present),
    }
}
