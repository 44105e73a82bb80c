//! Sessions already opened from their sealed cookie value. A browser sends the same
//! cookie on every request until the session changes, so the next request with it
//! costs one lookup instead of base64 + AES-GCM + JSON (issue 4's benchmark: cookie
//! sessions within 0.9× of a public path).
//!
//! Keyed by the exact sealed text, compared in full on lookup: a hit is only possible
//! for a value this process opened with the current key ring and cookie name, because
//! the cache lives in the settings that own both — a reload starts an empty one. An
//! entry never outlives the sealed value's own expiry, and the session's lifetime and
//! refresh decisions are still made on every request from the cached session.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use crate::cache_key::TailHash;
use crate::session::Session;

/// Bytes of opened sessions kept at once (about 6 000 typical 2.6 KB cookies).
const CAPACITY_BYTES: u64 = 32 * 1024 * 1024;
/// A session unused this long is dropped; its next request opens it again.
const IDLE: Duration = Duration::from_secs(600);
/// Per entry besides the sealed text: the decoded session and bookkeeping.
const ENTRY_OVERHEAD: usize = 1024;

/// A session opened from a sealed value, with what the seal said about it.
#[derive(Debug)]
pub struct OpenedSession {
    pub session: Session,
    /// The sealed value's expiry (Unix seconds): no hit at or after it.
    pub expires_at: u64,
    /// Opened with an older key of the ring (the caller re-seals it).
    pub needs_reseal: bool,
}

#[derive(Clone)]
pub struct OpenedSessions {
    cache: Cache<Arc<str>, Arc<OpenedSession>, TailHash>,
}

impl std::fmt::Debug for OpenedSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSessions")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl Default for OpenedSessions {
    fn default() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|sealed: &Arc<str>, _: &Arc<OpenedSession>| {
                    // The decoded session is about as large as its sealed text.
                    u32::try_from(2 * sealed.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
                })
                .time_to_idle(IDLE)
                .build_with_hasher(TailHash::default()),
        }
    }
}

impl OpenedSessions {
    /// The session `sealed` opened to before, if it is still within its sealed expiry.
    pub fn get(&self, sealed: &str, now: u64) -> Option<Arc<OpenedSession>> {
        let hit = self.cache.get(sealed)?;
        if now < hit.expires_at {
            return Some(hit);
        }
        self.cache.invalidate(sealed);
        None
    }

    pub fn insert(&self, sealed: &str, opened: OpenedSession) {
        self.cache.insert(sealed.into(), Arc::new(opened));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sub: &str) -> Session {
        Session {
            sub: sub.into(),
            user: "alice".into(),
            email: None,
            groups: vec!["admins".into()],
            created_at: 1_000,
            tokens_expire_at: 5_000,
            refresh_token: None,
            access_token: None,
            id_token: None,
        }
    }

    fn entry(sub: &str, expires_at: u64) -> OpenedSession {
        OpenedSession {
            session: session(sub),
            expires_at,
            needs_reseal: false,
        }
    }

    #[test]
    fn a_hit_needs_the_exact_sealed_text() {
        let cache = OpenedSessions::default();
        cache.insert("v1.sealed-value", entry("alice", 2_000));
        let hit = cache.get("v1.sealed-value", 1_500).expect("cached");
        assert_eq!(hit.session.sub, "alice");
        for other in ["v1.sealed-valuE", "v1.sealed-value ", "v1.sealed-valu", ""] {
            assert!(cache.get(other, 1_500).is_none(), "{other:?} must miss");
        }
    }

    #[test]
    fn no_hit_at_or_after_the_sealed_expiry() {
        let cache = OpenedSessions::default();
        cache.insert("v1.a", entry("alice", 2_000));
        assert!(cache.get("v1.a", 1_999).is_some());
        assert!(cache.get("v1.a", 2_000).is_none());
        // The expired entry is gone, not just hidden.
        assert!(cache.get("v1.a", 1_999).is_none());
    }
}
