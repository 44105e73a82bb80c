//! cognito-sidecar: an authenticating reverse proxy for Amazon Cognito user pools.
//!
//! The binary (`src/main.rs`) parses the command line and calls the entry points
//! exported here; integration tests spawn the same binary.
#![forbid(unsafe_code)]

pub mod access;
pub mod alb;
pub mod app;
pub mod auth;
pub mod cache_key;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod emulator;
pub mod endpoints;
pub mod error;
pub mod framing;
pub mod front_cache;
pub mod headers;
pub mod identity;
pub mod identity_pool;
pub mod idp_http;
#[cfg(test)]
mod idp_stub;
pub mod invariants;
pub mod jwks;
pub mod metrics;
pub mod net;
pub mod oauth;
pub mod path;
pub mod proxy;
pub mod redirect;
pub mod reload;
pub mod respond;
pub mod runtime;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod telemetry;
pub mod timer;
pub mod tls;
pub mod tokens;
pub mod workers;

use base64::Engine;

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

pub use runtime::{run, serve};
