//! The shared state of a running sidecar, built once at startup and passed to every
//! request as `Arc<App>` (no globals). What a config reload may change lives in
//! [`Settings`] behind an `ArcSwap`, read lock-free on every request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::access::Access;
use crate::alb::{AlbError, AlbSigner};
use crate::config::{AuthorizationHeader, Config};
use crate::jwks::Jwks;
use crate::metrics::Metrics;
use crate::net::Cidr;
use crate::oauth::CognitoClient;
use crate::proxy::{ClientBuildError, Upstream};
use crate::session::seal::{KeyRing, KeyRingError};
use crate::session::store::opened::OpenedSessions;
use crate::session::store::{CookieSpec, SessionBackend, Store, StoreSetupError};
use crate::tokens::{Verifier, VerifierSettings};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Upstream(#[from] ClientBuildError),
    #[error("session.secret: {0}")]
    Keys(#[from] KeyRingError),
    #[error("cannot build the HTTP client for Cognito: {0}")]
    IdpClient(String),
    #[error(transparent)]
    Alb(#[from] AlbError),
    #[error("cognito.issuer: `{0}` does not give a valid JWKS URL")]
    JwksUrl(String),
    #[error(transparent)]
    IdentityPool(#[from] crate::identity_pool::SetupError),
    #[error(transparent)]
    Store(#[from] StoreSetupError),
}

/// Per-request settings derived from the config; replaced whole on reload.
pub struct Settings {
    pub config: Config,
    pub access: Access,
    pub keys: KeyRing,
    pub trusted_proxies: Vec<Cidr>,
    /// `Secure` on every cookie: forced by `session.cookie_secure`, else https `public_url`.
    pub secure_cookies: bool,
    pub routes: Routes,
    /// Cookie sessions opened under this key ring and cookie name (a reload, which
    /// builds new settings, starts with none).
    pub opened_sessions: OpenedSessions,
}

/// The sidecar's own endpoints under `proxy_prefix` (SPEC §4).
pub struct Routes {
    pub start: String,
    pub callback: String,
    pub sign_out: String,
    pub userinfo: String,
    pub auth: String,
    /// `{prefix}/alb-public-keys/`: the ALB-format public key, by `kid`.
    pub alb_keys: String,
    /// `{prefix}/aws-credentials`: identity-pool credentials (`crate::identity_pool`).
    pub aws_credentials: String,
}

impl Settings {
    pub fn new(config: Config) -> Result<Self, KeyRingError> {
        let keys = KeyRing::from_config(&config.session)?;
        let prefix = config.proxy_prefix.clone();
        Ok(Self {
            opened_sessions: OpenedSessions::default(),
            access: Access::new(&config.access),
            trusted_proxies: config
                .trusted_proxies
                .iter()
                .filter_map(|c| Cidr::parse(c))
                .collect(),
            secure_cookies: config
                .session
                .cookie_secure
                .unwrap_or(config.public_url.scheme() == "https"),
            routes: Routes {
                start: format!("{prefix}/start"),
                callback: format!("{prefix}/callback"),
                sign_out: format!("{prefix}/sign_out"),
                userinfo: format!("{prefix}/userinfo"),
                auth: format!("{prefix}/auth"),
                alb_keys: format!("{prefix}/alb-public-keys/"),
                aws_credentials: format!("{prefix}/aws-credentials"),
            },
            keys,
            config,
        })
    }

    pub fn cookie_name(&self) -> &str {
        &self.config.session.cookie_name
    }

    pub fn lifetime_secs(&self) -> u64 {
        self.config.session.lifetime.get().as_secs()
    }

    /// How the session cookie is written under these settings.
    pub fn cookie_spec(&self) -> CookieSpec<'_> {
        CookieSpec {
            keys: &self.keys,
            name: self.cookie_name(),
            secure: self.secure_cookies,
            lifetime_secs: self.lifetime_secs(),
            opened: Some(&self.opened_sessions),
        }
    }

    /// Keep the access / ID token in the session only when a header forwards it, so a
    /// typical session fits one cookie (deps.md §7).
    pub fn keeps_access_token(&self) -> bool {
        let h = &self.config.headers;
        h.access_token || h.authorization == AuthorizationHeader::Access || h.alb.enabled
    }

    pub fn keeps_id_token(&self) -> bool {
        self.config.headers.authorization == AuthorizationHeader::Id
    }

    /// `public_url` + `/oauth2/callback`, registered on the app client.
    pub fn redirect_uri(&self) -> String {
        redirect_uri(&self.config)
    }

    /// Where Cognito's `/logout` sends users: `cognito.logout_url` or `public_url/`.
    pub fn logout_uri(&self) -> String {
        match &self.config.cognito.logout_url {
            Some(url) => url.to_string(),
            None => format!("{}/", origin(&self.config)),
        }
    }
}

fn origin(config: &Config) -> String {
    config.public_url.as_str().trim_end_matches('/').to_string()
}

fn redirect_uri(config: &Config) -> String {
    format!("{}{}/callback", origin(config), config.proxy_prefix)
}

pub struct App {
    pub settings: ArcSwap<Settings>,
    pub upstream: Upstream,
    pub jwks: Arc<Jwks>,
    pub verifier: Verifier,
    pub cognito: CognitoClient,
    /// Signs `x-amzn-oidc-data` when `headers.alb.enabled`.
    pub alb: Option<AlbSigner>,
    /// AWS credentials from the Cognito identity pool, when `identity_pool` is set.
    pub identity_pool: Option<crate::identity_pool::IdentityPool>,
    /// Refresh results by SHA-256 of the refresh token spent: concurrent requests of one
    /// session share one refresh, and requests still carrying the old cookie for a
    /// minute after it get the new session instead of spending a rotated token twice.
    pub refreshes: moka::future::Cache<[u8; 32], Arc<crate::auth::Refreshed>>,
    /// Where sessions live (`session.store`), built once at startup.
    pub sessions: SessionBackend,
    pub readiness: Readiness,
    pub metrics: Metrics,
}

impl App {
    pub fn new(config: Config) -> Result<Self, AppError> {
        let upstream = Upstream::new(
            &config.upstream,
            &config.proxy,
            config.server.worker_count(),
        )?;
        let http = crate::idp_http::client(config.cognito.timeout.get())
            .map_err(|e| AppError::IdpClient(e.to_string()))?;
        let issuer = config.cognito.issuer();
        let jwks_url = url::Url::parse(&format!("{issuer}/.well-known/jwks.json"))
            .map_err(|_| AppError::JwksUrl(issuer.clone()))?;
        let jwks = Jwks::new(jwks_url, http.clone(), config.cognito.jwks_refresh.get());
        let verifier = Verifier::new(
            VerifierSettings::from_config(&config.cognito, &config.bearer),
            jwks.clone(),
        );
        let identity_pool = config
            .identity_pool
            .as_ref()
            .map(|pool| crate::identity_pool::IdentityPool::new(pool, &issuer, http.clone()))
            .transpose()?;
        let cognito = CognitoClient::new(&config.cognito, redirect_uri(&config), http);
        let alb = if config.headers.alb.enabled {
            Some(AlbSigner::new(
                &config.headers.alb,
                &issuer,
                &config.cognito.client_id,
            )?)
        } else {
            None
        };
        let sessions = SessionBackend::from_config(&config.session)?;
        Ok(Self {
            sessions,
            settings: ArcSwap::from_pointee(Settings::new(config)?),
            upstream,
            jwks,
            verifier,
            cognito,
            alb,
            identity_pool,
            refreshes: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
            readiness: Readiness::default(),
            metrics: Metrics::new(),
        })
    }

    pub fn is_ready(&self) -> bool {
        self.readiness.is_ready() && self.jwks.is_ready()
    }

    /// The session store for one request, with `settings`' cookie parameters.
    pub fn store<'a>(&'a self, settings: &'a Settings) -> Store<'a> {
        self.sessions.view(settings.cookie_spec())
    }
}

/// Unix seconds now. The only clock the request path reads.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `/readyz`: ready once every startup dependency is loaded, not ready while draining.
#[derive(Debug, Default)]
pub struct Readiness {
    loaded: AtomicBool,
    draining: AtomicBool,
}

impl Readiness {
    pub fn set_loaded(&self) {
        self.loaded.store(true, Ordering::Release);
    }
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }
    pub fn is_ready(&self) -> bool {
        self.loaded.load(Ordering::Acquire) && !self.draining.load(Ordering::Acquire)
    }
}
