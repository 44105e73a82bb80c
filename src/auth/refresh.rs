//! Refreshing a session whose tokens have expired (SPEC §7 "Refresh"): one redemption of
//! a refresh token at a time — across replicas when the store is shared (issue 10).
//!
//! [`coordinate`] takes the store's refresh lock; under it, it re-reads the session (a
//! replica may have refreshed it since this request read it), redeems the refresh token
//! only if still needed, stores the result, and releases the lock. A request that finds
//! the lock taken polls the store until the holder's result appears, or the lock frees
//! up and it may try itself. Cognito refresh tokens may rotate (cognito-protocol §3):
//! redeeming one twice would end the session, which is why the lock exists.

use std::future::Future;
use std::time::Duration;

use http::HeaderValue;

use crate::app::{unix_now, App, Settings};
use crate::oauth::OAuthError;
use crate::session::store::{Loaded, Lookup, RefreshLock, SessionStore, StoreError};
use crate::session::Session;

/// How often a request waiting for another replica's refresh re-reads the session.
const POLL: Duration = Duration::from_millis(50);

/// A refreshed session and the `Set-Cookie` values that carry it (none for a shared
/// store, whose cookie holds a ticket that does not change), with the ID token Cognito
/// issued (kept for callers that need a current one, like the identity pool; `None` when
/// another replica did the refresh).
#[derive(Clone)]
pub struct Refreshed {
    pub session: Session,
    pub id_token: Option<String>,
    pub set_cookies: Vec<HeaderValue>,
}

impl std::fmt::Debug for Refreshed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refreshed")
            .field("session", &self.session)
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field("set_cookies", &self.set_cookies.len())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// Client: the session can no longer be renewed (refresh token rejected or revoked,
    /// session ended elsewhere); the user signs in again.
    #[error("the session can no longer be refreshed")]
    Ended,
    /// IdP: Cognito is unreachable, or another replica's refresh did not finish in time.
    #[error("Cognito is unreachable")]
    Unavailable,
    /// Upstream: the session store did not answer.
    #[error("the session store is unavailable")]
    StoreUnavailable,
}

fn from_store(e: &StoreError) -> RefreshError {
    match e {
        StoreError::Unavailable(_) => RefreshError::StoreUnavailable,
        // The refreshed session cannot be written (too large for cookies): it ends.
        StoreError::Write(_) | StoreError::Unsupported => RefreshError::Ended,
    }
}

/// Whether `current` holds tokens newer than the ones `stale` had, still valid at `now`:
/// another replica has refreshed the session.
pub fn refreshed_elsewhere(stale: &Session, current: &Session, now: u64) -> bool {
    current.tokens_expire_at > stale.tokens_expire_at && current.tokens_expire_at > now
}

/// Runs one refresh of `loaded` under the store's lock, redeeming with `redeem` at most
/// once; waits up to `wait` for another holder of the lock.
pub async fn coordinate<S, F, Fut>(
    store: &S,
    loaded: &Loaded,
    wait: Duration,
    redeem: F,
) -> Result<Refreshed, RefreshError>
where
    S: SessionStore,
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = Result<(Session, Option<String>), RefreshError>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    let mut redeem = Some(redeem);
    loop {
        match store
            .lock_refresh(loaded)
            .await
            .map_err(|e| from_store(&e))?
        {
            RefreshLock::Acquired(lock) => {
                let result = match redeem.take() {
                    Some(redeem) => under_lock(store, loaded, redeem).await,
                    None => Err(RefreshError::Unavailable),
                };
                if let Err(e) = store.unlock_refresh(loaded, lock).await {
                    // The lock expires by itself after `lock_timeout`.
                    tracing::warn!(error = %e, "could not release a refresh lock");
                }
                return result;
            }
            RefreshLock::Busy => {
                if tokio::time::Instant::now() >= deadline {
                    tracing::warn!("another replica's refresh did not finish in time");
                    return Err(RefreshError::Unavailable);
                }
                tokio::time::sleep(POLL).await;
                if let Some(done) = reread(store, loaded).await? {
                    return Ok(done);
                }
            }
        }
    }
}

/// The session as it is now, if another replica has refreshed it; `Ended` if it is gone.
async fn reread<S: SessionStore>(
    store: &S,
    loaded: &Loaded,
) -> Result<Option<Refreshed>, RefreshError> {
    let now = unix_now();
    match store
        .load(&loaded.present, now)
        .await
        .map_err(|e| from_store(&e))?
    {
        Lookup::Found(current) if refreshed_elsewhere(&loaded.session, &current.session, now) => {
            Ok(Some(Refreshed {
                session: current.session,
                id_token: None,
                set_cookies: Vec::new(),
            }))
        }
        Lookup::Found(_) => Ok(None),
        Lookup::NoCookie | Lookup::Invalid => Err(RefreshError::Ended),
    }
}

async fn under_lock<S, F, Fut>(
    store: &S,
    loaded: &Loaded,
    redeem: F,
) -> Result<Refreshed, RefreshError>
where
    S: SessionStore,
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = Result<(Session, Option<String>), RefreshError>>,
{
    // Double-checked under the lock: the replica that held it before may have finished.
    if store.server_side() {
        if let Some(done) = reread(store, loaded).await? {
            return Ok(done);
        }
    }
    let (fresh, id_token) = match redeem(loaded.session.clone()).await {
        Ok(fresh) => fresh,
        Err(RefreshError::Ended) => {
            // Rejected by Cognito: end it for every replica, not just this request.
            if let Err(e) = store.delete(loaded).await {
                tracing::warn!(error = %e, "could not delete a session whose refresh was rejected");
            }
            return Err(RefreshError::Ended);
        }
        Err(e) => return Err(e),
    };
    match store.update(loaded, &fresh, unix_now()).await {
        Ok(Some(set_cookies)) => Ok(Refreshed {
            session: fresh,
            id_token,
            set_cookies,
        }),
        // Signed out elsewhere while Cognito answered: stays signed out.
        Ok(None) => Err(RefreshError::Ended),
        Err(e) => Err(from_store(&e)),
    }
}

/// Redeems the session's refresh token at Cognito and verifies what comes back; also
/// returns the new ID token.
pub async fn redeem(
    app: &App,
    settings: &Settings,
    session: Session,
) -> Result<(Session, Option<String>), RefreshError> {
    let Some(refresh_token) = session.refresh_token.clone() else {
        return Err(RefreshError::Ended);
    };
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
    let fresh = super::session_from_tokens(app, settings, tokens, None, Some(&session))
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
    Ok((fresh, id_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(tokens_expire_at: u64) -> Session {
        Session {
            sub: "s".into(),
            user: "u".into(),
            email: None,
            groups: vec![],
            created_at: 0,
            tokens_expire_at,
            refresh_token: Some("r".into()),
            access_token: None,
            id_token: None,
        }
    }

    #[test]
    fn only_newer_valid_tokens_count_as_refreshed_elsewhere() {
        assert!(refreshed_elsewhere(&session(100), &session(200), 150));
        assert!(!refreshed_elsewhere(&session(100), &session(100), 50));
        assert!(!refreshed_elsewhere(&session(100), &session(120), 130));
        assert!(!refreshed_elsewhere(&session(200), &session(100), 50));
    }

    #[test]
    fn store_errors_map_to_who_failed() {
        assert_eq!(
            from_store(&StoreError::Unavailable("x".into())),
            RefreshError::StoreUnavailable
        );
        assert_eq!(
            from_store(&StoreError::Write("big".into())),
            RefreshError::Ended
        );
    }
}
