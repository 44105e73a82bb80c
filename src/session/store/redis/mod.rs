//! The Redis session store (issue 10): sessions on a shared Redis, so every replica sees
//! the same session, sign-out ends it everywhere at once, an operator can end all of a
//! user's sessions, and one refresh lock spans all replicas.
//!
//! What is where:
//! - cookie `NAME` = the ticket (session id ‖ per-session key, [`super::ticket`]) sealed
//!   under the session key ring, valid until the session's absolute end;
//! - `{prefix}s:{hex(SHA-256(id))}` = the session encrypted under the per-session key,
//!   with `EX` = the remaining lifetime (it vanishes when the session would end);
//! - `{prefix}u:{hex(SHA-256(sub))}` = the set of that user's session names, for
//!   "end all sessions of a user";
//! - `{prefix}l:{hex(SHA-256(id))}` = the refresh lock, `SET NX PX` with a random token
//!   (the single-instance pattern of the Redis docs, "Distributed locks with Redis").
//!
//! Every key is touched by single-key commands only, so the same code runs against a
//! Cluster, where multi-key commands would need one hash slot.

mod backend;

pub use backend::{RedisBackend, RedisSetupError};

use http::HeaderValue;

use super::cookie::{open_cookies, seal_cookies};
use super::ticket::{hex, user_index_id, Ticket};
use super::{CookieSpec, Loaded, LockToken, Lookup, RefreshLock, SessionStore, StoreError};
use crate::session::Session;

/// Releases a lock only if it still holds this holder's token.
const UNLOCK_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// The Redis store for one request: the shared backend, viewed with the current cookie
/// settings.
#[derive(Debug, Clone, Copy)]
pub struct RedisStore<'a> {
    backend: &'a RedisBackend,
    spec: CookieSpec<'a>,
}

impl<'a> RedisStore<'a> {
    pub fn new(backend: &'a RedisBackend, spec: CookieSpec<'a>) -> Self {
        Self { backend, spec }
    }

    fn session_key(&self, storage_id: &str) -> String {
        format!("{}s:{storage_id}", self.backend.prefix)
    }

    fn user_key(&self, sub: &str) -> String {
        format!("{}u:{}", self.backend.prefix, user_index_id(sub))
    }

    fn lock_key(&self, storage_id: &str) -> String {
        format!("{}l:{storage_id}", self.backend.prefix)
    }

    fn ticket(loaded: &Loaded) -> Result<&Ticket, StoreError> {
        loaded
            .ticket
            .as_ref()
            .ok_or_else(|| StoreError::Write("this session was not loaded from Redis".into()))
    }
}

/// Seconds until the session's absolute end; `None` once it has passed.
fn remaining_secs(session: &Session, lifetime_secs: u64, now: u64) -> Option<u64> {
    let left = session.lifetime_ends_at(lifetime_secs).saturating_sub(now);
    (left > 0).then_some(left)
}

impl SessionStore for RedisStore<'_> {
    fn server_side(&self) -> bool {
        true
    }

    async fn load(&self, present: &[(String, String)], now: u64) -> Result<Lookup, StoreError> {
        if present.is_empty() {
            return Ok(Lookup::NoCookie);
        }
        let Some(opened) = open_cookies(&self.spec, present, now) else {
            return Ok(Lookup::Invalid);
        };
        let Some(ticket) = Ticket::decode(&opened.payload) else {
            return Ok(Lookup::Invalid);
        };
        let key = self.session_key(&ticket.storage_id());
        let stored: Option<Vec<u8>> = self.backend.query(redis::cmd("GET").arg(&key)).await?;
        let Some(stored) = stored else {
            return Ok(Lookup::Invalid);
        };
        let Some(session) = ticket
            .open_value(&key, &stored)
            .and_then(|plain| Session::decode(&plain))
        else {
            tracing::warn!(
                "a stored session does not open with its ticket; treating it as no session"
            );
            return Ok(Lookup::Invalid);
        };
        let reseal = if opened.needs_reseal {
            seal_cookies(
                &self.spec,
                &ticket.encode(),
                opened.expires_at,
                present,
                now,
            )
            .unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(Lookup::Found(Box::new(Loaded {
            session,
            reseal,
            present: present.to_vec(),
            ticket: Some(ticket),
        })))
    }

    async fn create(
        &self,
        session: &Session,
        present: &[(String, String)],
        now: u64,
    ) -> Result<Vec<HeaderValue>, StoreError> {
        let ttl = remaining_secs(session, self.spec.lifetime_secs, now)
            .ok_or_else(|| StoreError::Write("the session's lifetime is already over".into()))?;
        let ticket = Ticket::generate().map_err(|e| StoreError::Write(e.to_string()))?;
        let storage_id = ticket.storage_id();
        let key = self.session_key(&storage_id);
        let value = ticket
            .seal_value(&key, &session.encode())
            .map_err(|e| StoreError::Write(e.to_string()))?;
        // Indexed before it exists, so no live session is ever missing from its user's
        // index; the index outlives every session in it (each lives at most `lifetime`).
        let user_key = self.user_key(&session.sub);
        self.backend
            .query::<i64>(redis::cmd("SADD").arg(&user_key).arg(&storage_id))
            .await?;
        self.backend
            .query::<i64>(
                redis::cmd("EXPIRE")
                    .arg(&user_key)
                    .arg(self.spec.lifetime_secs.max(1)),
            )
            .await?;
        let stored: Option<String> = self
            .backend
            .query(
                redis::cmd("SET")
                    .arg(&key)
                    .arg(value)
                    .arg("NX")
                    .arg("EX")
                    .arg(ttl),
            )
            .await?;
        if stored.is_none() {
            // 256 random bits never collide; a hit means the RNG is broken.
            return Err(StoreError::Write(
                "a fresh session id was already taken".into(),
            ));
        }
        let expires_at = session.lifetime_ends_at(self.spec.lifetime_secs);
        seal_cookies(&self.spec, &ticket.encode(), expires_at, present, now)
    }

    async fn update(
        &self,
        loaded: &Loaded,
        session: &Session,
        now: u64,
    ) -> Result<Option<Vec<HeaderValue>>, StoreError> {
        let ticket = Self::ticket(loaded)?;
        let Some(ttl) = remaining_secs(session, self.spec.lifetime_secs, now) else {
            return Ok(None);
        };
        let key = self.session_key(&ticket.storage_id());
        let value = ticket
            .seal_value(&key, &session.encode())
            .map_err(|e| StoreError::Write(e.to_string()))?;
        // `XX`: only while it exists, so a session signed out meanwhile stays dead.
        let stored: Option<String> = self
            .backend
            .query(
                redis::cmd("SET")
                    .arg(&key)
                    .arg(value)
                    .arg("XX")
                    .arg("EX")
                    .arg(ttl),
            )
            .await?;
        // The ticket is unchanged: the browser's cookie stays as it is.
        Ok(stored.map(|_| Vec::new()))
    }

    async fn delete(&self, loaded: &Loaded) -> Result<(), StoreError> {
        let storage_id = Self::ticket(loaded)?.storage_id();
        self.backend
            .query::<i64>(redis::cmd("DEL").arg(self.session_key(&storage_id)))
            .await?;
        self.backend
            .query::<i64>(
                redis::cmd("SREM")
                    .arg(self.user_key(&loaded.session.sub))
                    .arg(&storage_id),
            )
            .await?;
        Ok(())
    }

    async fn lock_refresh(&self, loaded: &Loaded) -> Result<RefreshLock, StoreError> {
        let storage_id = Self::ticket(loaded)?.storage_id();
        let mut token = [0u8; 16];
        aws_lc_rs::rand::fill(&mut token)
            .map_err(|_| StoreError::Write("the system random number generator failed".into()))?;
        let token = hex(&token);
        let millis = u64::try_from(self.backend.lock_timeout.as_millis()).unwrap_or(u64::MAX);
        let got: Option<String> = self
            .backend
            .query(
                redis::cmd("SET")
                    .arg(self.lock_key(&storage_id))
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis.max(1)),
            )
            .await?;
        Ok(match got {
            Some(_) => RefreshLock::Acquired(LockToken(Some(token))),
            None => RefreshLock::Busy,
        })
    }

    async fn unlock_refresh(&self, loaded: &Loaded, lock: LockToken) -> Result<(), StoreError> {
        let Some(token) = lock.0 else {
            return Ok(());
        };
        let storage_id = Self::ticket(loaded)?.storage_id();
        self.backend
            .query::<i64>(
                redis::cmd("EVAL")
                    .arg(UNLOCK_SCRIPT)
                    .arg(1)
                    .arg(self.lock_key(&storage_id))
                    .arg(token),
            )
            .await?;
        Ok(())
    }

    async fn revoke_user(&self, sub: &str) -> Result<u64, StoreError> {
        let user_key = self.user_key(sub);
        let members: Vec<String> = self
            .backend
            .query(redis::cmd("SMEMBERS").arg(&user_key))
            .await?;
        let mut ended = 0;
        for storage_id in &members {
            let deleted: u64 = self
                .backend
                .query(redis::cmd("DEL").arg(self.session_key(storage_id)))
                .await?;
            ended += deleted;
        }
        self.backend
            .query::<i64>(redis::cmd("DEL").arg(&user_key))
            .await?;
        Ok(ended)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.backend.health().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created_at: u64) -> Session {
        Session {
            sub: "s".into(),
            user: "u".into(),
            email: None,
            groups: vec![],
            created_at,
            tokens_expire_at: created_at + 60,
            refresh_token: None,
            access_token: None,
            id_token: None,
        }
    }

    #[test]
    fn ttl_is_the_remaining_lifetime() {
        assert_eq!(remaining_secs(&session(1000), 3600, 1000), Some(3600));
        assert_eq!(remaining_secs(&session(1000), 3600, 4599), Some(1));
        assert_eq!(remaining_secs(&session(1000), 3600, 4600), None);
        assert_eq!(remaining_secs(&session(1000), 3600, 9999), None);
    }
}
