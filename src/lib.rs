//! cognito-sidecar: an authenticating reverse proxy for Amazon Cognito user pools.
//!
//! The binary (`src/main.rs`) parses the command line and calls the entry points
//! exported here; integration tests spawn the same binary.
#![forbid(unsafe_code)]

pub mod access;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod emulator;
pub mod endpoints;
pub mod error;
pub mod headers;
pub mod identity;
pub mod idp_http;
#[cfg(test)]
mod idp_stub;
pub mod invariants;
pub mod jwks;
pub mod net;
pub mod oauth;
pub mod path;
pub mod proxy;
pub mod redirect;
pub mod respond;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod tokens;

use std::sync::Arc;

use base64::Engine;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Installs aws-lc-rs as the process-wide crypto provider for rustls and jsonwebtoken.
/// One backend for TLS, JWT and cookie sealing (deps.md §3, §5).
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
}

/// A fresh session secret: base64 of 32 random bytes (`cognito-sidecar secret`).
pub fn session_secret() -> String {
    let mut bytes = [0u8; 32];
    // aws-lc-rs's system RNG only fails if the OS has no entropy source at all.
    aws_lc_rs::rand::fill(&mut bytes).expect("the operating system RNG is unavailable");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Serves the proxy until SIGTERM/SIGINT, then drains (SPEC §5.7).
pub async fn run(config: config::Config) -> Result<(), error::RunError> {
    let listen = config.listen;
    let grace = config.server.shutdown_grace.get();
    let limits = server::Limits {
        header_read_timeout: config.server.header_read_timeout.get(),
        max_connections: config.server.max_connections,
        max_header_bytes: config.server.max_header_bytes,
    };
    let certs = config.tls.as_ref().map(tls::CertStore::load).transpose()?;
    let tls_reload = config.tls.as_ref().map(|t| t.reload_interval.get());
    let app = Arc::new(app::App::new(config)?);
    let upstream_url = app.settings.load().config.upstream.clone();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| error::RunError::Bind {
            key: "listen",
            addr: listen,
            source,
        })?;
    let bound = listener.local_addr().unwrap_or(listen);
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();

    if let (Some(certs), Some(every)) = (&certs, tls_reload) {
        tracker.spawn(watch_certificates(certs.clone(), every, shutdown.clone()));
    }
    // Readiness waits for the signing keys; the listener serves (and /healthz answers)
    // meanwhile, and requests needing keys fail closed until they arrive.
    {
        let app = app.clone();
        let cancel = shutdown.clone();
        let refresher_tracker = tracker.clone();
        tracker.spawn(async move {
            app.jwks.load_until_ready(&cancel).await;
            if app.jwks.is_ready() {
                tracing::info!(keys = app.jwks.key_count(), "signing keys loaded");
            }
            app.jwks.spawn_refresher(&refresher_tracker, cancel);
        });
    }
    app.readiness.set_loaded();

    let handler = {
        let app = app.clone();
        move |req, conn| dispatch::handle(app.clone(), req, conn)
    };
    let acceptor = certs.map(|c| tokio_rustls::TlsAcceptor::from(c.server_config()));
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let server = tokio::spawn(server::serve(
        listener,
        acceptor,
        limits,
        handler,
        shutdown.clone(),
        grace,
    ));
    tracing::info!(
        address = %bound,
        upstream = %upstream_url,
        "cognito-sidecar listening on {scheme}://{bound}"
    );

    let signal = shutdown::terminate().await;
    let deadline = tokio::time::Instant::now() + grace;
    tracing::info!(
        signal,
        grace_secs = grace.as_secs(),
        "shutting down: draining connections"
    );
    app.readiness.set_draining();
    shutdown.cancel();
    let _ = server.await;
    app.upstream
        .tunnels
        .shutdown(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await;
    tracker.close();
    tracker.wait().await;
    tracing::info!("stopped");
    Ok(())
}

/// Reloads the TLS certificate when its files change, and on SIGHUP.
async fn watch_certificates(
    certs: Arc<tls::CertStore>,
    every: std::time::Duration,
    shutdown: CancellationToken,
) {
    let mut hangups = shutdown::hangups();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => false,
            Some(()) = async { match hangups.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
        };
        match certs.reload(forced) {
            Ok(true) => tracing::info!("TLS certificate reloaded"),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "TLS certificate reload failed; keeping the previous certificate")
            }
        }
    }
}
