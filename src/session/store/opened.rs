//! Sessions already opened from their sealed cookie value. A browser sends the same
//! cookie on every request until the session changes, so the next request with it
//! costs one lookup instead of base64 + AES-GCM + JSON (issue 4's benchmark: cookie
//! sessions within 0.9× of a public path).
//!
//! Keyed by the exact sealed bytes, compared in full on lookup: a hit is only possible
//! for a value this process opened with the current key ring and cookie name, because
//! the cache lives in the settings that own both — a reload starts an empty one. An
//! entry never outlives the sealed value's own expiry, and the session's lifetime and
//! refresh decisions are still made on every request from the cached session.
//!
//! An entry also holds what every request of the session needs from it — the identity
//! and its upstream header values — so a hit shares them instead of rebuilding them.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use crate::cache_key::TailHash;
use crate::front_cache::FrontCache;
use crate::headers::IdentityHeaders;
use crate::identity::Identity;
use crate::session::Session;

/// Bytes of opened sessions kept at once (about 6 000 typical 2.6 KB cookies).
const CAPACITY_BYTES: u64 = 32 * 1024 * 1024;
/// A session unused this long is dropped; its next request opens it again.
const IDLE: Duration = Duration::from_secs(600);
/// Per entry besides the sealed text and the header values: the decoded session,
/// identity and bookkeeping.
const ENTRY_OVERHEAD: usize = 1024;

/// A session opened from a sealed value, with what the seal said about it.
pub struct OpenedSession {
    pub session: Arc<Session>,
    /// `session`'s identity.
    pub identity: Arc<Identity>,
    /// `identity`'s header values, with the tokens `session` keeps for forwarding.
    pub headers: Arc<IdentityHeaders>,
    /// The sealed value's expiry (Unix seconds): no hit at or after it.
    pub expires_at: u64,
    /// Opened with an older key of the ring (the caller re-seals it).
    pub needs_reseal: bool,
    /// The sealed value it was opened from, shared with the cache's key: a hit in the
    /// shared cache fills the thread's front slot without copying the value.
    sealed: Arc<[u8]>,
}

impl OpenedSession {
    pub fn new(session: Session, expires_at: u64, needs_reseal: bool) -> Self {
        let (identity, headers) = session.identity_with_headers();
        Self {
            session: Arc::new(session),
            identity: Arc::new(identity),
            headers: Arc::new(headers),
            expires_at,
            needs_reseal,
            sealed: Arc::from(&[][..]),
        }
    }
}

impl OpenedSession {
    /// A session that was not opened from a sealed value here (loaded from the store,
    /// or just refreshed): no seal expiry, so it would never be a hit.
    pub fn unsealed(session: Session) -> Self {
        Self::new(session, 0, false)
    }
}

/// The sealed value is a credential: `Debug` leaves it out.
impl std::fmt::Debug for OpenedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSession")
            .field("session", &self.session)
            .field("identity", &self.identity)
            .field("headers", &self.headers)
            .field("expires_at", &self.expires_at)
            .field("needs_reseal", &self.needs_reseal)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct OpenedSessions {
    cache: Cache<Arc<[u8]>, Arc<OpenedSession>, TailHash>,
    /// This thread's most recent hits, looked at first ([`FrontCache`]).
    front: FrontCache,
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
                .weigher(|sealed: &Arc<[u8]>, entry: &Arc<OpenedSession>| {
                    // The decoded session is about as large as its sealed text.
                    let bytes = 2 * sealed.len() + entry.headers.weight() + ENTRY_OVERHEAD;
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .time_to_idle(IDLE)
                .build_with_hasher(TailHash::default()),
            front: FrontCache::new(),
        }
    }
}

impl OpenedSessions {
    /// The session `sealed` opened to before, if it is still within its sealed expiry.
    pub fn get(&self, sealed: &[u8], now: u64) -> Option<Arc<OpenedSession>> {
        if let Some(hit) = self.front.get::<OpenedSession>(sealed) {
            if now < hit.expires_at {
                return Some(hit);
            }
            self.front.remove(sealed);
        }
        let hit = self.cache.get(sealed)?;
        if now < hit.expires_at {
            self.front.put(Arc::clone(&hit.sealed), Arc::clone(&hit));
            return Some(hit);
        }
        self.cache.invalidate(sealed);
        None
    }

    pub fn insert(&self, sealed: &[u8], mut opened: OpenedSession) {
        let key: Arc<[u8]> = sealed.into();
        opened.sealed = Arc::clone(&key);
        let opened = Arc::new(opened);
        self.front.put(Arc::clone(&key), Arc::clone(&opened));
        self.cache.insert(key, opened);
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
        OpenedSession::new(session(sub), expires_at, false)
    }

    #[test]
    fn a_hit_needs_the_exact_sealed_text() {
        let cache = OpenedSessions::default();
        cache.insert(b"v1.sealed-value", entry("alice", 2_000));
        let hit = cache.get(b"v1.sealed-value", 1_500).expect("cached");
        assert_eq!(hit.session.sub, "alice");
        for other in ["v1.sealed-valuE", "v1.sealed-value ", "v1.sealed-valu", ""] {
            assert!(
                cache.get(other.as_bytes(), 1_500).is_none(),
                "{other:?} must miss"
            );
        }
    }

    #[test]
    fn no_hit_at_or_after_the_sealed_expiry() {
        let cache = OpenedSessions::default();
        cache.insert(b"v1.a", entry("alice", 2_000));
        assert!(cache.get(b"v1.a", 1_999).is_some());
        assert!(cache.get(b"v1.a", 2_000).is_none());
        // The expired entry is gone, not just hidden.
        assert!(cache.get(b"v1.a", 1_999).is_none());
    }

    #[test]
    fn the_front_slot_answers_like_the_shared_cache() {
        let cache = OpenedSessions::default();
        cache.insert(b"v1.front", entry("alice", 2_000));
        // Another thread has no front slot for it: the shared cache answers, and fills
        // that thread's slot with the very entry.
        let shared = cache.clone();
        let (first, second) = std::thread::spawn(move || {
            let first = shared.get(b"v1.front", 1_500).expect("shared hit");
            let second = shared.get(b"v1.front", 1_500).expect("front hit");
            assert!(
                shared.get(b"v1.front", 2_000).is_none(),
                "expired in front too"
            );
            (first, second)
        })
        .join()
        .expect("thread");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(&*first.sealed, b"v1.front");
        let here = cache.get(b"v1.front", 1_500).expect("front hit here");
        assert!(Arc::ptr_eq(&here, &first));
        // A reload's new cache shares no entries, front slots included.
        assert!(OpenedSessions::default().get(b"v1.front", 1_500).is_none());
    }

    #[test]
    fn an_entry_carries_the_sessions_identity_and_header_values() {
        let mut with_token = session("alice-sub");
        with_token.access_token = Some("at".into());
        let opened = OpenedSession::new(with_token.clone(), 2_000, false);
        assert_eq!(*opened.identity, with_token.identity());
        assert_eq!(
            *opened.headers,
            IdentityHeaders::new(&with_token.identity(), Some("at"), None)
        );
    }
}
