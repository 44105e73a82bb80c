//! The local Cognito emulator (SPEC §9): a user pool, its hosted UI and its OAuth
//! endpoints on one address, faithful enough that the sidecar needs no
//! emulator-specific code path (cognito-protocol.md §1, §2, §5, §7).
//!
//! Endpoints: `/oauth2/authorize`, `/login`, `/oauth2/token`, `/oauth2/userInfo`,
//! `/oauth2/revoke`, `/logout`, `/error`, and on the issuer
//! `/{user_pool_id}/.well-known/openid-configuration` and `/.well-known/jwks.json`; and,
//! for the configured `identity_pools`, the `cognito-identity` JSON 1.1 API at `POST /`
//! (`GetId`, `GetCredentialsForIdentity`; see [`identity`]).
//!
//! The hosted UI's account pages, each carrying the authorize parameters and ending in
//! the code redirect ([`account`]): `/signup`, `/confirmUser`, `/forgotPassword`,
//! `/confirmForgotPassword`, and `/forceChangePassword` (the new-password form an
//! admin-created user gets after `/login`). The pool's console settings (`sign_in:`,
//! `sign_up:`) decide what they ask and allow; users live in [`users`].
//!
//! # Test hooks and the admin side
//!
//! Served only with `hooks: {enabled: true}` (otherwise every `/_emulator/*` path is a
//! 404). Bodies are JSON; answers are JSON, `400 {"error":"…"}` on bad input. A user may
//! be named by username or by an email/phone the pool signs in with.
//!
//! | request | effect |
//! |---|---|
//! | `POST /_emulator/rotate-keys` | new ID and access signing keys (new `kid`s); the previous pair stays in the JWKS until the next rotation. Answers `{"id_kid":…,"access_kid":…}`. |
//! | `POST /_emulator/revoke-user {"username":…}` (also `admin-user-global-sign-out`) | global sign-out: every token of the user fails at userInfo and refresh; their hosted-UI sessions end. |
//! | `POST /_emulator/token-lifetimes {"client_id":…, "id_token_validity":"60s", "access_token_validity":"60s", "refresh_token_validity":"2m"}` | overrides the client's lifetimes for tokens issued from now on (each key optional, 1s up to 1d for ID/access, up to 3650d for refresh). |
//! | `POST /_emulator/set-groups {"username":…, "groups":[…]}` | replaces the user's groups; the next token (sign-in or refresh) carries them. |
//! | `POST /_emulator/admin-create-user {"username":…, "temporary_password"?:…, "attributes"?:{…}, "groups"?:[…], "message_action"?:"SUPPRESS"}` | a `FORCE_CHANGE_PASSWORD` user; a generated temporary password is returned; the invitation goes to the outbox. |
//! | `POST /_emulator/admin-add-user-to-group`, `admin-remove-user-from-group` `{"username":…, "group":…}` | changes membership; answers the new groups. |
//! | `POST /_emulator/admin-disable-user`, `admin-enable-user` `{"username":…}` | disabling refuses sign-in ("User is disabled.") and signs the user out everywhere. |
//! | `POST /_emulator/admin-confirm-sign-up {"username":…}` | confirms an `UNCONFIRMED` user. |
//! | `POST /_emulator/admin-get-user {"username":…}` | `{"username","sub","status","enabled","attributes","groups","created_at"}` |
//! | `GET /_emulator/outbox[?username=…]` | `{"messages":[…]}`: codes and invitations "sent" by email/SMS (codes are also logged). |
//! | `POST /_emulator/advance-clock {"seconds":N}` | moves the emulator's clock ahead (at most ten years in total). |
//! | `GET /_emulator/stats` | `{"token_requests":N,"jwks_requests":N,"authorize_requests":N,"userinfo_requests":N,"revoke_requests":N,"identity_requests":N}` |

mod account;
mod authorize;
mod client_auth;
mod clock;
pub mod config;
mod cookies;
mod discovery;
mod hooks;
mod identity;
mod keys;
mod logout;
mod pages;
mod pool;
mod request;
mod response;
mod revoke;
mod scopes;
mod server;
mod stats;
mod store;
mod token_endpoint;
mod tokens;
mod userinfo;
mod users;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Method, Request, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{
    load_config, load_config_str, ClientConfig, ConfigProblems, EmulatorConfig, HooksConfig,
    IdentityPoolConfig, OAuthFlow, UserConfig, DEMO_IDENTITY_POOL,
};
pub use response::Body;

use clock::Clock;
use keys::KeyRing;
use pool::Pool;
use stats::Stats;
use store::Store;
use users::{Directory, Outbox};

/// Why the emulator could not start or stopped, classified by who failed.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The config file is wrong: print each problem and exit 2.
    #[error("invalid emulator configuration:\n{0}")]
    Config(ConfigProblems),
    #[error("config: cannot listen on {addr}: {source}; pick a free port with `listen:`")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error("internal: the emulator server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// A running emulator: the pool, its keys, and what it remembers.
pub struct Emulator {
    pool: Pool,
    keys: ArcSwap<KeyRing>,
    store: Store,
    users: Directory,
    outbox: Outbox,
    clock: Clock,
    stats: Stats,
    identity: identity::IdentityService,
    discovery_path: String,
    jwks_path: String,
}

impl Emulator {
    /// Validates `config` and generates the signing keys.
    pub fn new(config: EmulatorConfig) -> Result<Arc<Emulator>, EmulatorError> {
        let problems = config::validate(&config);
        if !problems.is_empty() {
            return Err(EmulatorError::Config(ConfigProblems(problems)));
        }
        let pool = Pool::new(&config);
        Ok(Arc::new(Emulator {
            identity: identity::IdentityService::new(&config),
            discovery_path: format!("/{}/.well-known/openid-configuration", pool.user_pool_id),
            jwks_path: format!("/{}/.well-known/jwks.json", pool.user_pool_id),
            pool,
            keys: ArcSwap::from_pointee(KeyRing::generate()?),
            store: Store::default(),
            users: Directory::new(&config),
            outbox: Outbox::default(),
            clock: Clock::default(),
            stats: Stats::default(),
        }))
    }

    /// Time since the Unix epoch on the emulator's clock (see [`clock`]).
    pub(crate) fn now(&self) -> Duration {
        self.clock.now()
    }

    /// The issuer (`iss`) of the emulator's tokens: `{base_url}/{user_pool_id}`.
    pub fn issuer(&self) -> &str {
        &self.pool.issuer
    }

    /// Serves connections from `listener` until `shutdown` is cancelled, then lets
    /// in-flight requests finish (up to a short grace period).
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        server::serve(self, listener, shutdown).await
    }

    /// Answers one request. Logs one line (method, path without query, status); never
    /// logs parameters, cookies or tokens.
    pub fn handle<B>(self: &Arc<Self>, req: Request<B>) -> impl Future<Output = Response<Body>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let emulator = self.clone();
        async move {
            let method = req.method().clone();
            let path: String = req.uri().path().chars().take(200).collect();
            let response = emulator.route(req).await;
            tracing::info!(
                method = %method,
                path = %path,
                status = response.status().as_u16(),
                "emulator request"
            );
            response
        }
    }

    async fn route<B>(&self, req: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let get = parts.method == Method::GET;
        let post = parts.method == Method::POST;
        match path {
            "/oauth2/authorize" if get => authorize::authorize(self, &parts),
            "/login" if get => authorize::login_page(self, &parts),
            "/login" if post => authorize::login_submit(self, &parts, body).await,
            "/signup" if get => account::signup::page(self, &parts),
            "/signup" if post => account::signup::submit(self, &parts, body).await,
            "/confirmUser" if get => account::confirm::page(self, &parts),
            "/confirmUser" if post => account::confirm::submit(self, &parts, body).await,
            "/forgotPassword" if get => account::reset::forgot_page(self, &parts),
            "/forgotPassword" if post => account::reset::forgot_submit(self, &parts, body).await,
            "/confirmForgotPassword" if get => account::reset::confirm_page(self, &parts),
            "/confirmForgotPassword" if post => {
                account::reset::confirm_submit(self, &parts, body).await
            }
            "/forceChangePassword" if post => {
                account::new_password::submit(self, &parts, body).await
            }
            "/oauth2/token" if post => token_endpoint::handle(self, &parts, body).await,
            "/oauth2/userInfo" if get || post => userinfo::handle(self, &parts),
            "/oauth2/revoke" if post => revoke::handle(self, &parts, body).await,
            "/logout" if get => logout::handle(self, &parts),
            "/error" if get => authorize::error_page(&parts),
            "/" if post => identity::handle(self, &parts, body).await,
            "/oauth2/authorize"
            | "/login"
            | "/oauth2/token"
            | "/oauth2/userInfo"
            | "/oauth2/revoke"
            | "/logout"
            | "/error"
            | "/signup"
            | "/confirmUser"
            | "/forgotPassword"
            | "/confirmForgotPassword"
            | "/forceChangePassword" => response::method_not_allowed(),
            p if p == self.discovery_path && get => discovery::openid_configuration(self),
            p if p == self.jwks_path && get => discovery::jwks(self),
            p if p.starts_with("/_emulator/") => hooks::handle(self, &parts, body).await,
            _ => response::not_found(),
        }
    }
}

/// `cognito-sidecar emulator [-c PATH]`: loads the config (the demo pool when `None`),
/// binds, logs `emulator listening on http://ADDR`, and serves until SIGINT/SIGTERM.
pub async fn main(config: Option<&Path>) -> Result<(), EmulatorError> {
    let config = load_config(config).map_err(EmulatorError::Config)?;
    let addr = config.listen;
    let emulator = Emulator::new(config)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!("emulator listening on http://{local}");
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        server::shutdown_signal().await;
        trigger.cancel();
    });
    emulator.serve(listener, shutdown).await?;
    Ok(())
}
