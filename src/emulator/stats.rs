//! Request counters served by `GET /_emulator/stats`; the sidecar's tests read them to
//! prove it caches the JWKS and does not call the IdP on every request.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

#[derive(Debug, Default)]
pub struct Stats {
    pub token_requests: AtomicU64,
    pub jwks_requests: AtomicU64,
    pub authorize_requests: AtomicU64,
    pub userinfo_requests: AtomicU64,
    pub revoke_requests: AtomicU64,
    /// Calls of the `cognito-identity` API (`POST /`).
    pub identity_requests: AtomicU64,
}

impl Stats {
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "token_requests": get(&self.token_requests),
            "jwks_requests": get(&self.jwks_requests),
            "authorize_requests": get(&self.authorize_requests),
            "userinfo_requests": get(&self.userinfo_requests),
            "revoke_requests": get(&self.revoke_requests),
            "identity_requests": get(&self.identity_requests),
        })
    }
}
