//! Cognito identity pools (federated identities, cognito-protocol.md §4): temporary AWS
//! credentials for the signed-in user — or for a guest, when the pool allows
//! unauthenticated identities — so a browser app behind the sidecar can call AWS
//! directly (`GET /oauth2/aws-credentials`) and a server-side app can act as the user
//! (`identity_pool.forward_credentials`).
//!
//! Owns the credentials cache: one entry per identity (the user's `sub`, or the guest's
//! identity id), served until a few minutes before AWS's `Expiration`; concurrent misses
//! for one identity share a single fetch. The JSON 1.1 calls live in [`api`], the guest
//! cookie in [`guest`], the HTTP side in [`endpoint`].

pub mod api;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod guest;
pub mod signed_in;

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;

use crate::config::IdentityPoolConfig;

pub use credentials::Credentials;
pub use error::IdentityPoolError;

use api::{Api, Login};

/// Identities whose credentials the cache holds at most; each entry is about 2 KB.
const MAX_CACHED: u64 = 100_000;

/// Why the identity pool client could not be built (config).
#[derive(Debug, thiserror::Error)]
#[error("identity_pool.endpoint: cannot build the service URL from `{0}`; set identity_pool.endpoint to an http(s) URL")]
pub struct SetupError(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Identity {
    /// A signed-in user, by `sub`.
    User(String),
    /// A guest, by identity id.
    Guest(String),
}

/// Per-entry expiry: a few minutes before AWS's `Expiration` ([`Credentials::cache_for`]).
struct BeforeAwsExpiry;

impl moka::Expiry<Identity, Arc<Credentials>> for BeforeAwsExpiry {
    fn expire_after_create(
        &self,
        _key: &Identity,
        value: &Arc<Credentials>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.cache_for(crate::app::unix_now()))
    }
}

/// One identity pool: its API client, its settings and the credentials cache. Built
/// once at startup; `identity_pool` changes take effect after a restart.
pub struct IdentityPool {
    api: Api,
    /// The `Logins` key of the user pool: its issuer without the scheme.
    provider: String,
    allow_unauthenticated: bool,
    forward_credentials: bool,
    cache: Cache<Identity, Arc<Credentials>>,
}

impl std::fmt::Debug for IdentityPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityPool")
            .field("pool_id", &self.api.pool_id())
            .field("provider", &self.provider)
            .field("allow_unauthenticated", &self.allow_unauthenticated)
            .field("forward_credentials", &self.forward_credentials)
            .field("cached", &self.cache.entry_count())
            .finish()
    }
}

impl IdentityPool {
    /// `issuer` is the user pool's token issuer (`cognito.issuer`), whose ID tokens the
    /// pool accepts; `http` is the shared IdP client.
    pub fn new(
        config: &IdentityPoolConfig,
        issuer: &str,
        http: reqwest::Client,
    ) -> Result<Self, SetupError> {
        let endpoint = config
            .endpoint_url()
            .map_err(|_| SetupError(config.id.clone()))?;
        Ok(Self {
            api: Api::new(http, endpoint, config.id.clone()),
            provider: api::provider_name(issuer),
            allow_unauthenticated: config.allow_unauthenticated,
            forward_credentials: config.forward_credentials,
            cache: Cache::builder()
                .max_capacity(MAX_CACHED)
                .expire_after(BeforeAwsExpiry)
                .build(),
        })
    }

    pub fn pool_id(&self) -> &str {
        self.api.pool_id()
    }

    /// Visitors who are not signed in get guest credentials.
    pub fn allows_guests(&self) -> bool {
        self.allow_unauthenticated
    }

    /// Signed-in requests carry the user's credentials upstream.
    pub fn forwards_credentials(&self) -> bool {
        self.forward_credentials
    }

    /// The user's credentials if the cache holds them: no network call at all.
    pub async fn cached_user(&self, sub: &str) -> Option<Arc<Credentials>> {
        self.cache.get(&Identity::User(sub.to_string())).await
    }

    /// The user's credentials: cached, else `GetId` + `GetCredentialsForIdentity` with
    /// `id_token` as the login (enhanced flow, §4.3). Concurrent callers for one user
    /// share one fetch; failures are not cached.
    pub async fn for_user(
        &self,
        sub: &str,
        id_token: &str,
    ) -> Result<Arc<Credentials>, IdentityPoolError> {
        let login = Login {
            provider: &self.provider,
            id_token,
        };
        self.cache
            .try_get_with(Identity::User(sub.to_string()), async {
                let identity_id = self.api.get_id(Some(login)).await?;
                let credentials = self.api.get_credentials(&identity_id, Some(login)).await?;
                tracing::info!(identity_id = %identity_id, "identity pool issued user credentials");
                Ok(Arc::new(credentials))
            })
            .await
            .map_err(|e: Arc<IdentityPoolError>| (*e).clone())
    }

    /// Guest credentials for the identity the guest cookie named, or for a new identity
    /// (also when the named one is gone). Returns whether a new identity was created, so
    /// the caller stores it in the guest cookie.
    pub async fn for_guest(
        &self,
        existing: Option<&str>,
    ) -> Result<(Arc<Credentials>, bool), IdentityPoolError> {
        if let Some(identity_id) = existing {
            match self.guest_credentials(identity_id).await {
                Ok(credentials) => return Ok((credentials, false)),
                Err(e) if e.identity_gone() => {
                    tracing::info!(identity_id = %identity_id, reason = %e, "guest identity no longer usable; creating a new one");
                }
                Err(e) => return Err(e),
            }
        }
        let identity_id = self.api.get_id(None).await?;
        let credentials = self.guest_credentials(&identity_id).await?;
        Ok((credentials, true))
    }

    async fn guest_credentials(
        &self,
        identity_id: &str,
    ) -> Result<Arc<Credentials>, IdentityPoolError> {
        self.cache
            .try_get_with(Identity::Guest(identity_id.to_string()), async {
                let credentials = self.api.get_credentials(identity_id, None).await?;
                tracing::info!(identity_id = %identity_id, "identity pool issued guest credentials");
                Ok(Arc::new(credentials))
            })
            .await
            .map_err(|e: Arc<IdentityPoolError>| (*e).clone())
    }
}
