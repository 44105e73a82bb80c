//! Ending sessions from outside a request (issue 10): `cognito-sidecar sessions revoke
//! --sub SUB [-c PATH]` ends every session of one user on the shared store, so a replay
//! of any of that user's cookies is refused at once by every replica.
//!
//! A CLI command rather than an HTTP endpoint: it needs the same config (and Redis
//! credentials) as the sidecar and nothing else, and adds no unauthenticated control
//! surface to any listener. Cookie sessions cannot be ended this way — they live only
//! in browsers — which is reported, not ignored.

use crate::config::Config;
use crate::session::seal::{KeyRing, KeyRingError};
use crate::session::store::{SessionBackend, SessionStore, StoreError, StoreSetupError};

/// Why sessions could not be revoked, by who must act.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// Config: the store cannot be built (or is the cookie store).
    #[error(transparent)]
    Setup(#[from] StoreSetupError),
    #[error("session.secret: {0}")]
    Keys(#[from] KeyRingError),
    #[error("`sessions revoke` needs a server-side store: set session.store: redis (cookie sessions cannot be ended from the server; rotate session.secret to end all of them)")]
    CookieStore,
    #[error("--sub: must not be empty")]
    EmptySub,
    /// Upstream: Redis did not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Ends every session of `sub` on the configured store; returns how many were ended.
pub async fn revoke_user(config: &Config, sub: &str) -> Result<u64, RevokeError> {
    if sub.trim().is_empty() {
        return Err(RevokeError::EmptySub);
    }
    let backend = SessionBackend::from_config(&config.session)?;
    if matches!(backend, SessionBackend::Cookie) {
        return Err(RevokeError::CookieStore);
    }
    let keys = KeyRing::from_config(&config.session)?;
    let spec = crate::session::store::CookieSpec {
        keys: &keys,
        name: &config.session.cookie_name,
        secure: true,
        lifetime_secs: config.session.lifetime.get().as_secs(),
        opened: None,
    };
    Ok(backend.view(spec).revoke_user(sub).await?)
}
