//! On-demand refresh for callers that need a current ID token (the identity pool:
//! sessions keep the ID token only when it is forwarded upstream, see
//! `Settings::keeps_id_token`). It shares the one-refresh-per-refresh-token single
//! flight (and, with a shared store, the cross-replica lock) with the expired-session
//! refresh of [`super::authenticate`], so a refresh token is never spent twice.

use http::header::HeaderValue;
use http::HeaderMap;

use super::{refresh, session_cookies, RefreshError};
use crate::app::{App, Settings};
use crate::session::cookies;
use crate::session::store::{Lookup, SessionStore};
use crate::session::{Session, SessionStatus};

/// A session refreshed on request, with the ID token that came with it.
pub struct FreshSession {
    pub session: Session,
    /// The ID token Cognito issued with the refresh; `None` when another replica did
    /// the refresh (the caller may ask again after the new tokens expire).
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
    /// Cognito (or the session store) could not be reached; the session is kept.
    IdpUnavailable,
}

/// Loads the request's session and refreshes it now, even while its tokens are valid.
pub async fn refresh_now(
    app: &App,
    settings: &Settings,
    headers: &HeaderMap,
    now: u64,
) -> FreshOutcome {
    let present = session_cookies(settings, headers);
    let clear = || FreshOutcome::Anonymous {
        clear_cookies: cookies::clear_session(
            settings.cookie_name(),
            settings.secure_cookies,
            &present,
        ),
    };
    let store = app.store(settings);
    let loaded = match store.load(&present, now).await {
        Ok(Lookup::NoCookie) => {
            return FreshOutcome::Anonymous {
                clear_cookies: Vec::new(),
            }
        }
        Ok(Lookup::Invalid) => return clear(),
        Ok(Lookup::Found(loaded)) => loaded,
        Err(e) => {
            tracing::warn!(error = %e, "session store unavailable");
            return FreshOutcome::IdpUnavailable;
        }
    };
    let refresh_enabled = settings.config.session.refresh;
    match loaded
        .session
        .status(now, settings.lifetime_secs(), refresh_enabled)
    {
        SessionStatus::Ended => return clear(),
        _ if !refresh_enabled || loaded.session.refresh_token.is_none() => {
            return FreshOutcome::NotRefreshable
        }
        SessionStatus::Valid | SessionStatus::NeedsRefresh => {}
    }
    match refresh(app, settings, &store, &loaded).await {
        Ok(fresh) => {
            let set_cookies = if fresh.set_cookies.is_empty() {
                loaded.reseal.clone()
            } else {
                fresh.set_cookies.clone()
            };
            FreshOutcome::Fresh(Box::new(FreshSession {
                session: fresh.session.clone(),
                id_token: fresh.id_token.clone(),
                set_cookies,
            }))
        }
        Err(RefreshError::Unavailable | RefreshError::StoreUnavailable) => {
            FreshOutcome::IdpUnavailable
        }
        Err(RefreshError::Ended) => clear(),
    }
}
