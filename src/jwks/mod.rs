//! The user pool's signing keys (SPEC §7 "JWKS"): fetched from
//! `{issuer}/.well-known/jwks.json`, held in an [`ArcSwap`] so lookups are lock-free and
//! never wait on the IdP, refreshed in the background, and refetched on an unknown `kid`
//! at most once per 30 s with all concurrent misses sharing that one fetch.
//!
//! The key set never expires: a failed fetch keeps the last good set, so existing
//! sessions and bearer tokens keep verifying while Cognito is unreachable (the trap of
//! keeping keys only in a TTL cache is described in deps.md §6). The policy mirrors
//! `aws-jwt-verify`'s `SimpleJwksCache` + penalty box (cognito-protocol §2.7).

mod keyset;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use jsonwebtoken::DecodingKey;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

pub use keyset::{KeySet, KeySetError};

use crate::idp_http::{self, BodyError};

/// Minimum spacing of refetches triggered by an unknown `kid` (SPEC §7).
pub const REFETCH_MIN_INTERVAL: Duration = Duration::from_secs(30);
/// Cognito's JWKS is about 1 KB; anything near this is not a JWKS.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Floor for the background refresh period so a zero in the config cannot spin.
const MIN_REFRESH_EVERY: Duration = Duration::from_millis(100);

/// Why a JWKS fetch failed. The IdP (or the network to it) is at fault in every case.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error(
        "the JWKS endpoint could not be reached ({0}); check cognito.issuer and egress to Cognito"
    )]
    Transport(&'static str),
    #[error("the JWKS endpoint answered HTTP {0}; check cognito.issuer (region and user pool id)")]
    Status(u16),
    #[error("the JWKS response was unusable: {0}")]
    Body(#[from] BodyError),
    #[error("the JWKS response was unusable: {0}")]
    KeySet(#[from] KeySetError),
}

pub struct Jwks {
    url: Url,
    http: reqwest::Client,
    refresh_every: Duration,
    keys: ArcSwap<KeySet>,
    /// Bumped after every new key set: callers that saw a `kid` published need not look
    /// again while it is unchanged.
    generation: AtomicU64,
    ready: AtomicBool,
    /// When the last unknown-`kid` refetch started. Holding this lock across the fetch is
    /// what makes concurrent misses wait for, and share, a single request.
    last_forced: tokio::sync::Mutex<Option<Instant>>,
    fetch_ok: AtomicU64,
    fetch_failed: AtomicU64,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.url.as_str())
            .field("keys", &self.keys.load().len())
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl Jwks {
    /// A key set that is empty until [`load_until_ready`](Self::load_until_ready) or the
    /// first unknown-`kid` refetch succeeds. `http` should come from
    /// [`idp_http::client`] (timeouts, no redirects).
    pub fn new(jwks_url: Url, http: reqwest::Client, refresh_every: Duration) -> Arc<Jwks> {
        Arc::new(Jwks {
            url: jwks_url,
            http,
            refresh_every: refresh_every.max(MIN_REFRESH_EVERY),
            keys: ArcSwap::from_pointee(KeySet::new()),
            generation: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            last_forced: tokio::sync::Mutex::new(None),
            fetch_ok: AtomicU64::new(0),
            fetch_failed: AtomicU64::new(0),
        })
    }

    /// True once a key set has been loaded; `/readyz` waits for this.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Successful fetches so far (initial, background and unknown-`kid`).
    pub fn fetch_ok(&self) -> u64 {
        self.fetch_ok.load(Ordering::Relaxed)
    }

    /// Failed fetches so far.
    pub fn fetch_failed(&self) -> u64 {
        self.fetch_failed.load(Ordering::Relaxed)
    }

    /// How many keys the current set holds.
    pub fn key_count(&self) -> usize {
        self.keys.load().len()
    }

    /// Retries the first fetch with capped exponential backoff until it succeeds or
    /// `cancel` fires. Returns at once if a set is already loaded.
    pub async fn load_until_ready(self: &Arc<Self>, cancel: &CancellationToken) {
        let mut attempt = 0u32;
        while !self.is_ready() {
            if self.fetch().await.is_ok() {
                return;
            }
            let wait = backoff(attempt);
            attempt = attempt.saturating_add(1);
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Re-reads the JWKS every `refresh_every` (±10 % jitter so a fleet of sidecars does
    /// not fetch in lockstep) until `cancel` fires. Failures keep the last good set.
    pub fn spawn_refresher(self: &Arc<Self>, tracker: &TaskTracker, cancel: CancellationToken) {
        let jwks = Arc::clone(self);
        tracker.spawn(async move {
            loop {
                let wait = jittered(jwks.refresh_every, random_u32());
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
                tokio::select! {
                    () = cancel.cancelled() => break,
                    _ = jwks.fetch() => {}
                }
            }
        });
    }

    /// The key for `kid`. A hit is a lock-free map lookup. A miss refetches the JWKS
    /// unless that happened less than [`REFETCH_MIN_INTERVAL`] ago (concurrent misses
    /// wait for the same fetch), then looks again.
    pub async fn key(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        if let Some(key) = self.lookup(kid) {
            return Some(key);
        }
        self.refetch_for(kid).await;
        self.lookup(kid)
    }

    /// Whether the current key set holds `kid`; never fetches.
    pub fn publishes(&self, kid: &str) -> bool {
        self.keys.load().get(kid).is_some()
    }

    /// Which key set is current: changes whenever a new one is loaded. A `kid` that
    /// [`Jwks::publishes`] confirmed after this returned `g` stays published while this
    /// still returns `g`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn lookup(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.keys.load().get(kid).cloned()
    }

    async fn refetch_for(&self, kid: &str) {
        let mut last = self.last_forced.lock().await;
        // Another caller's fetch (or the background refresh) may have brought it in.
        if self.lookup(kid).is_some() {
            return;
        }
        let now = Instant::now();
        if !refetch_allowed(*last, now) {
            return;
        }
        *last = Some(now);
        // The outcome is logged and counted inside; the caller only looks again.
        let _ = self.fetch().await;
    }

    async fn fetch(&self) -> Result<usize, JwksError> {
        match self.download().await {
            Ok(keys) => {
                let count = keys.len();
                self.keys.store(Arc::new(keys));
                self.generation.fetch_add(1, Ordering::Release);
                self.ready.store(true, Ordering::Release);
                self.fetch_ok.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(url = %self.url, keys = count, "JWKS loaded");
                Ok(count)
            }
            Err(error) => {
                self.fetch_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url = %self.url, %error, "JWKS fetch failed; keeping the last good key set");
                Err(error)
            }
        }
    }

    async fn download(&self) -> Result<KeySet, JwksError> {
        let response = self
            .http
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| JwksError::Transport(idp_http::describe(&e)))?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        let body = idp_http::read_capped(response, MAX_JWKS_BYTES).await?;
        Ok(keyset::parse(&body)?)
    }
}

/// An unknown-`kid` refetch is allowed when none happened in the last 30 s.
fn refetch_allowed(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|last| now.saturating_duration_since(last) >= REFETCH_MIN_INTERVAL)
}

/// Delay before retry `attempt` (0-based) of the first load: 250 ms doubling, capped at
/// 15 s so readiness follows soon after the IdP comes back.
fn backoff(attempt: u32) -> Duration {
    const BASE_MS: u64 = 250;
    const CAP: Duration = Duration::from_secs(15);
    let factor = 1u64.checked_shl(attempt.min(16)).unwrap_or(u64::MAX);
    Duration::from_millis(BASE_MS.saturating_mul(factor)).min(CAP)
}

/// `base` scaled into [0.9, 1.1] by `random`.
fn jittered(base: Duration, random: u32) -> Duration {
    let fraction = f64::from(random) / f64::from(u32::MAX);
    base.mul_f64(0.9 + 0.2 * fraction)
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    // Jitter is a nicety: if the RNG ever failed we would just not jitter.
    match aws_lc_rs::rand::fill(&mut bytes) {
        Ok(()) => u32::from_le_bytes(bytes),
        Err(_) => u32::MAX / 2,
    }
}
