//! Where sessions live (issue 10): one [`SessionStore`] interface, two implementations —
//! [`cookie::CookieStore`] (the whole sealed session in the browser, SPEC §7) and, with
//! the `redis-store` feature, [`redis::RedisStore`] (an opaque ticket in the browser,
//! the encrypted session on a shared Redis). Both are run by the same conformance
//! suite (`tests/session_store.rs`), as oauth2-proxy does for its stores.
//!
//! The store owns persistence and the session cookie's value; it never decides whether
//! a session is still good (that is [`crate::session::Session::status`]) and never
//! talks to Cognito (refreshing is `crate::auth`'s, which uses the lock offered here).

pub mod cookie;
pub mod opened;
#[cfg(feature = "redis-store")]
pub mod redis;
pub mod ticket;

use std::future::Future;

use http::HeaderValue;

use crate::session::seal::KeyRing;
use crate::session::Session;

/// How the session cookie is written, taken from the current settings on every request
/// (the key ring can be hot-reloaded).
#[derive(Debug, Clone, Copy)]
pub struct CookieSpec<'a> {
    pub keys: &'a KeyRing,
    /// `session.cookie_name`: the base name, also bound into every sealed value.
    pub name: &'a str,
    pub secure: bool,
    pub lifetime_secs: u64,
    /// Sessions already opened under these settings (the cookie store's fast path);
    /// `None` opens every value afresh.
    pub opened: Option<&'a opened::OpenedSessions>,
}

/// A session found from a request's cookies.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub session: Session,
    /// `Set-Cookie` values that re-seal the cookie under the current primary key; empty
    /// unless it was opened with an older key of the ring (SPEC §3 `session.secrets`).
    pub reseal: Vec<HeaderValue>,
    /// The session cookies the request carried (`NAME`, `NAME_<n>`).
    pub present: Vec<(String, String)>,
    /// The server-side store's handle; `None` for cookie sessions.
    pub(crate) ticket: Option<ticket::Ticket>,
}

impl Loaded {
    /// The store's name for the session (hex of SHA-256 of the session id); `None` for
    /// cookie sessions, which have no server-side name.
    pub fn storage_id(&self) -> Option<String> {
        self.ticket.as_ref().map(ticket::Ticket::storage_id)
    }
}

/// What a request's session cookies lead to.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// No session cookie at all.
    NoCookie,
    /// Session cookies that lead to no session — tampered, expired, from another
    /// store, or ended on the server (signed out, revoked). The caller clears them.
    Invalid,
    Found(Box<Loaded>),
}

/// The outcome of asking for a session's refresh lock.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshLock {
    /// This caller may redeem the refresh token; release with
    /// [`SessionStore::unlock_refresh`].
    Acquired(LockToken),
    /// Another replica is refreshing this session; re-read it instead of redeeming.
    Busy,
}

/// Proof of holding a refresh lock: a random value only the holder knows, so a lock
/// that timed out and was taken over is never released by its first holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockToken(pub(crate) Option<String>);

/// Why the store could not do what was asked, by who failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// Upstream: the shared store did not answer in time or refused. Requests that
    /// need it fail closed with 503 until it is back.
    #[error("the session store is unavailable ({0}); check that Redis is reachable")]
    Unavailable(String),
    /// Internal: the session could not be sealed or encrypted (too large, RNG failure).
    #[error("the session could not be written: {0}")]
    Write(String),
    /// Client of this API: the operation needs a server-side store.
    #[error("cookie sessions live only in browsers and cannot be ended from the server; use session.store: redis")]
    Unsupported,
}

/// The store interface. Every method that touches a shared store may fail with
/// [`StoreError::Unavailable`]; callers must then fail closed, never treat the request
/// as signed in or signed out.
pub trait SessionStore {
    /// Whether sessions live outside the browser: then one replica's writes are seen by
    /// all, sign-out ends a session everywhere, and refreshes are coordinated by a lock.
    fn server_side(&self) -> bool;

    /// Finds the session the request's session cookies (`present`) lead to at `now`.
    fn load(
        &self,
        present: &[(String, String)],
        now: u64,
    ) -> impl Future<Output = Result<Lookup, StoreError>> + Send;

    /// Stores a new session (at sign-in) and returns its `Set-Cookie` values, which
    /// also expire every stale session cookie in `present`. Never reuses an existing
    /// ticket or cookie value (no session fixation).
    fn create(
        &self,
        session: &Session,
        present: &[(String, String)],
        now: u64,
    ) -> impl Future<Output = Result<Vec<HeaderValue>, StoreError>> + Send;

    /// Replaces a loaded session's value (after a refresh). Returns the `Set-Cookie`
    /// values to send, or `None` if the session no longer exists on the server (signed
    /// out elsewhere) — it is then never recreated.
    fn update(
        &self,
        loaded: &Loaded,
        session: &Session,
        now: u64,
    ) -> impl Future<Output = Result<Option<Vec<HeaderValue>>, StoreError>> + Send;

    /// Ends a session on the server (sign-out). The caller clears the cookies.
    fn delete(&self, loaded: &Loaded) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Asks for the right to refresh this session. Cookie sessions cannot be seen by
    /// other replicas, so they always get it (concurrent requests in one process are
    /// still joined by `crate::auth`).
    fn lock_refresh(
        &self,
        loaded: &Loaded,
    ) -> impl Future<Output = Result<RefreshLock, StoreError>> + Send;

    /// Releases a lock from [`SessionStore::lock_refresh`]; a lock already expired or
    /// taken over is left alone.
    fn unlock_refresh(
        &self,
        loaded: &Loaded,
        lock: LockToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Ends every session of the user `sub`; returns how many were ended.
    fn revoke_user(&self, sub: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Whether the store answers now (readiness).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The store in use for one request: the configured kind, viewed with the current
/// cookie settings. Cheap to build per request.
pub enum Store<'a> {
    Cookie(cookie::CookieStore<'a>),
    #[cfg(feature = "redis-store")]
    Redis(redis::RedisStore<'a>),
}

/// Forwards one call to whichever store is in use.
macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Cookie($s) => $call,
            #[cfg(feature = "redis-store")]
            Store::Redis($s) => $call,
        }
    };
}

impl SessionStore for Store<'_> {
    fn server_side(&self) -> bool {
        dispatch!(self, s => s.server_side())
    }
    async fn load(&self, present: &[(String, String)], now: u64) -> Result<Lookup, StoreError> {
        // On every request: the Redis future is boxed so that cookie-store requests do not
        // carry (and move) its much larger state.
        match self {
            Store::Cookie(s) => s.load(present, now).await,
            #[cfg(feature = "redis-store")]
            Store::Redis(s) => Box::pin(s.load(present, now)).await,
        }
    }
    async fn create(
        &self,
        session: &Session,
        present: &[(String, String)],
        now: u64,
    ) -> Result<Vec<HeaderValue>, StoreError> {
        dispatch!(self, s => s.create(session, present, now).await)
    }
    async fn update(
        &self,
        loaded: &Loaded,
        session: &Session,
        now: u64,
    ) -> Result<Option<Vec<HeaderValue>>, StoreError> {
        dispatch!(self, s => s.update(loaded, session, now).await)
    }
    async fn delete(&self, loaded: &Loaded) -> Result<(), StoreError> {
        dispatch!(self, s => s.delete(loaded).await)
    }
    async fn lock_refresh(&self, loaded: &Loaded) -> Result<RefreshLock, StoreError> {
        dispatch!(self, s => s.lock_refresh(loaded).await)
    }
    async fn unlock_refresh(&self, loaded: &Loaded, lock: LockToken) -> Result<(), StoreError> {
        dispatch!(self, s => s.unlock_refresh(loaded, lock).await)
    }
    async fn revoke_user(&self, sub: &str) -> Result<u64, StoreError> {
        dispatch!(self, s => s.revoke_user(sub).await)
    }
    async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping().await)
    }
}

impl Store<'_> {
    /// The cookie store's fast path ([`cookie::CookieStore::opened`]): a session already
    /// opened from exactly these request cookies, found without copying them. Always
    /// `None` for a shared store, which must be asked every time (a session ended
    /// elsewhere ends here too). With it, whether the `Cookie` field is that session
    /// cookie alone.
    pub fn opened(
        &self,
        headers: &http::HeaderMap,
        now: u64,
    ) -> Option<(std::sync::Arc<opened::OpenedSession>, bool)> {
        match self {
            Store::Cookie(s) => s.opened(headers, now),
            #[cfg(feature = "redis-store")]
            Store::Redis(_) => None,
        }
    }
}

/// The configured store's long-lived part, built once at startup: nothing for cookie
/// sessions, the Redis client for server-side ones. `session.store` and
/// `session.redis` therefore take effect only after a restart.
#[derive(Debug)]
pub enum SessionBackend {
    Cookie,
    #[cfg(feature = "redis-store")]
    Redis(Box<redis::RedisBackend>),
}

/// Why the configured store could not be set up (config errors).
#[derive(Debug, thiserror::Error)]
pub enum StoreSetupError {
    #[cfg(feature = "redis-store")]
    #[error(transparent)]
    Redis(#[from] redis::RedisSetupError),
    #[error("session.store: redis needs a build with the `redis-store` feature (the default) and session.redis set")]
    RedisUnavailable,
}

impl SessionBackend {
    /// Builds the store `session.store` names. Connects lazily: a Redis that is down
    /// does not stop startup; requests that need it fail closed until it is back.
    pub fn from_config(config: &crate::config::SessionConfig) -> Result<Self, StoreSetupError> {
        match (config.store, config.redis.as_ref()) {
            (crate::config::StoreKind::Cookie, _) => Ok(Self::Cookie),
            #[cfg(feature = "redis-store")]
            (crate::config::StoreKind::Redis, Some(redis)) => {
                Ok(Self::Redis(Box::new(redis::RedisBackend::new(redis)?)))
            }
            _ => Err(StoreSetupError::RedisUnavailable),
        }
    }

    /// The store for one request, with the current cookie settings.
    pub fn view<'a>(&'a self, spec: CookieSpec<'a>) -> Store<'a> {
        match self {
            Self::Cookie => Store::Cookie(cookie::CookieStore::new(spec)),
            #[cfg(feature = "redis-store")]
            Self::Redis(backend) => Store::Redis(redis::RedisStore::new(backend, spec)),
        }
    }

    /// How long a request waits for another replica's refresh of the same session.
    pub fn refresh_wait(&self) -> std::time::Duration {
        match self {
            Self::Cookie => std::time::Duration::ZERO,
            #[cfg(feature = "redis-store")]
            Self::Redis(backend) => backend.lock_timeout,
        }
    }
}
