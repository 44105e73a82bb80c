//! The cookie store (SPEC §7, the default): the whole session, sealed under the session
//! key ring, is the cookie's value — chunked when large. Nothing is kept server-side,
//! so there is nothing to fail, nothing to delete, and no replica to coordinate with.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};

use super::opened::OpenedSession;
use super::{CookieSpec, Loaded, LockToken, Lookup, RefreshLock, SessionStore, StoreError};
use crate::session::cookies::{self, byte_pairs, cookie_pairs, join};
use crate::session::Session;

/// The cookie store, viewed with the current cookie settings.
#[derive(Debug, Clone, Copy)]
pub struct CookieStore<'a> {
    spec: CookieSpec<'a>,
}

impl<'a> CookieStore<'a> {
    pub fn new(spec: CookieSpec<'a>) -> Self {
        Self { spec }
    }
}

/// Seals `payload` (valid until `expires_at`) into the session cookie and builds its
/// `Set-Cookie` values, expiring stale chunks in `present`. Shared with the Redis store,
/// whose payload is the ticket.
pub(crate) fn seal_cookies(
    spec: &CookieSpec<'_>,
    payload: &[u8],
    expires_at: u64,
    present: &[(String, String)],
    now: u64,
) -> Result<Vec<HeaderValue>, StoreError> {
    let sealed = spec
        .keys
        .seal(spec.name, expires_at, payload)
        .map_err(|e| StoreError::Write(e.to_string()))?;
    let max_age = expires_at.saturating_sub(now);
    cookies::set_session(spec.name, &sealed, spec.secure, max_age, present).map_err(|e| {
        tracing::warn!(error = %e, "session does not fit in cookies; consider fewer forwarded tokens or session.store: redis");
        StoreError::Write(e.to_string())
    })
}

/// Opens the sealed payload the session cookies carry; `None` when they are not one
/// valid sealed value. `needs_reseal` is true when an older key of the ring opened it.
pub(crate) fn open_cookies(
    spec: &CookieSpec<'_>,
    present: &[(String, String)],
    now: u64,
) -> Option<crate::session::seal::Opened> {
    let sealed = join(byte_pairs(present), spec.name)?;
    spec.keys
        .open(spec.name, std::str::from_utf8(&sealed).ok()?, now)
}

impl CookieStore<'_> {
    fn write(
        &self,
        session: &Session,
        present: &[(String, String)],
        now: u64,
    ) -> Result<Vec<HeaderValue>, StoreError> {
        let expires_at = session.lifetime_ends_at(self.spec.lifetime_secs);
        seal_cookies(&self.spec, &session.encode(), expires_at, present, now)
    }
}

impl CookieStore<'_> {
    /// Opens `sealed` with the key ring and remembers the result for the next request.
    fn open(&self, sealed: &[u8], now: u64) -> Option<(Session, bool)> {
        let text = std::str::from_utf8(sealed).ok()?;
        let opened = self.spec.keys.open(self.spec.name, text, now)?;
        let session = Session::decode(&opened.payload)?;
        if let Some(cache) = self.spec.opened {
            let entry = OpenedSession::new(session.clone(), opened.expires_at, opened.needs_reseal);
            cache.insert(sealed, entry);
        }
        Some((session, opened.needs_reseal))
    }

    /// The session the request's cookies were opened to before, while within its sealed
    /// expiry, and whether the `Cookie` field is that session cookie alone. Borrows and
    /// copies nothing for a session in one cookie; `None` means: ask
    /// [`SessionStore::load`]. A hit is the very value `load` would find, because it
    /// reads the same pairs: a cached value is ASCII, so a pair `load` skips as
    /// non-UTF-8 can never be part of a hit.
    pub fn opened(&self, headers: &HeaderMap, now: u64) -> Option<(Arc<OpenedSession>, bool)> {
        let cache = self.spec.opened?;
        // A browser's usual request: one `Cookie` field, `NAME=<sealed>` and nothing else.
        // Tried as it stands, with no pass over the ~2 KB value to split it: every cached
        // value opened as base64url, which has no `;`, so only a field holding that one
        // item can match one (the full compare sees to that).
        if let Some(value) = cookies::after_session_name(headers, self.spec.name) {
            if let Some(hit) = cache.get(value, now) {
                return Some((hit, true));
            }
        }
        let sealed = join(cookie_pairs(headers), self.spec.name)?;
        let hit = cache.get(&sealed, now)?;
        Some((
            hit,
            cookies::only_session_cookie(headers, self.spec.name, sealed.len()),
        ))
    }
}

impl SessionStore for CookieStore<'_> {
    fn server_side(&self) -> bool {
        false
    }

    async fn load(&self, present: &[(String, String)], now: u64) -> Result<Lookup, StoreError> {
        if present.is_empty() {
            return Ok(Lookup::NoCookie);
        }
        let Some(sealed) = join(byte_pairs(present), self.spec.name) else {
            return Ok(Lookup::Invalid);
        };
        let cached = match self.spec.opened {
            Some(opened) => opened.get(&sealed, now),
            None => None,
        };
        let (session, needs_reseal) = match cached {
            Some(hit) => (Session::clone(&hit.session), hit.needs_reseal),
            None => match self.open(&sealed, now) {
                Some(fresh) => fresh,
                None => return Ok(Lookup::Invalid),
            },
        };
        let reseal = if needs_reseal {
            self.write(&session, present, now).unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(Lookup::Found(Box::new(Loaded {
            session,
            reseal,
            present: present.to_vec(),
            ticket: None,
        })))
    }

    async fn create(
        &self,
        session: &Session,
        present: &[(String, String)],
        now: u64,
    ) -> Result<Vec<HeaderValue>, StoreError> {
        self.write(session, present, now)
    }

    async fn update(
        &self,
        loaded: &Loaded,
        session: &Session,
        now: u64,
    ) -> Result<Option<Vec<HeaderValue>>, StoreError> {
        self.write(session, &loaded.present, now).map(Some)
    }

    async fn delete(&self, _loaded: &Loaded) -> Result<(), StoreError> {
        Ok(())
    }

    async fn lock_refresh(&self, _loaded: &Loaded) -> Result<RefreshLock, StoreError> {
        Ok(RefreshLock::Acquired(LockToken(None)))
    }

    async fn unlock_refresh(&self, _loaded: &Loaded, _lock: LockToken) -> Result<(), StoreError> {
        Ok(())
    }

    async fn revoke_user(&self, _sub: &str) -> Result<u64, StoreError> {
        Err(StoreError::Unsupported)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use http::header::COOKIE;

    use super::*;
    use crate::session::seal::KeyRing;
    use crate::session::store::opened::OpenedSessions;

    const NAME: &str = "_cognito_sidecar";
    const NOW: u64 = 1_800_000_000;

    fn headers(fields: &[String]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for field in fields {
            map.append(COOKIE, HeaderValue::from_str(field).expect("ASCII"));
        }
        map
    }

    /// The fast path finds a session opened before from the `Cookie` field as it
    /// stands, says whether that field is the session cookie alone, and never takes a
    /// field with more in it, or a changed value, for that.
    #[tokio::test]
    async fn opened_sessions_are_found_from_the_cookie_field() {
        let ring = KeyRing::new(&[[5; 32]]).expect("valid key");
        let cache = OpenedSessions::default();
        let store = CookieStore::new(CookieSpec {
            keys: &ring,
            name: NAME,
            secure: true,
            lifetime_secs: 3600,
            opened: Some(&cache),
        });
        let session = Session {
            sub: "sub-1".into(),
            user: "alice".into(),
            email: None,
            groups: vec!["admins".into()],
            created_at: NOW,
            tokens_expire_at: NOW + 600,
            refresh_token: Some("refresh".into()),
            access_token: None,
            id_token: None,
        };
        let sealed = ring
            .seal(NAME, NOW + 3600, &session.encode())
            .expect("seals");
        let alone = headers(&[format!("{NAME}={sealed}")]);
        assert!(store.opened(&alone, NOW).is_none(), "nothing opened yet");

        let present = vec![(NAME.to_string(), sealed.clone())];
        let loaded = store.load(&present, NOW).await.expect("cookie store");
        assert!(matches!(loaded, Lookup::Found(_)));
        let (hit, sole) = store.opened(&alone, NOW).expect("opened before");
        assert!(sole);
        assert_eq!(*hit.session, session);

        for fields in [
            vec![format!("{NAME}={sealed}; theme=dark")],
            vec![format!("theme=dark; {NAME}={sealed}")],
            vec![format!("{NAME}={sealed}"), "theme=dark".to_string()],
            vec![format!("{NAME}={sealed};")],
        ] {
            let (hit, sole) = store.opened(&headers(&fields), NOW).expect("same session");
            assert!(!sole, "{fields:?}");
            assert_eq!(*hit.session, session);
        }

        let mut tampered = sealed.into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ASCII");
        assert!(store
            .opened(&headers(&[format!("{NAME}={tampered}")]), NOW)
            .is_none());
        assert!(
            store.opened(&alone, NOW + 3600).is_none(),
            "past the sealed expiry"
        );
    }
}
