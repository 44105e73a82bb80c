//! Everything the emulator remembers while it runs, in memory: authorization codes,
//! hosted-UI sessions, refresh tokens and the sign-in "families" they belong to
//! (identified by `origin_jti`, which revocation and global sign-out switch off),
//! tickets of hosted-UI flows in progress, plus the overrides the test hooks set.
//! Users live in [`super::users`].
//!
//! Methods take `now` (time since the Unix epoch) from the caller so expiry is testable
//! without sleeping. Expired entries are purged whenever something new is stored.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// An issued authorization code: single use, bound to everything the authorize request
/// fixed (cognito-protocol.md §7 "Codes").
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub username: String,
    pub auth_time: u64,
    pub expires_at: Duration,
}

/// A signed-in browser on the hosted UI (the 1-hour Cognito-domain cookie).
#[derive(Debug, Clone)]
pub struct HostedSession {
    pub username: String,
    pub auth_time: u64,
    pub expires_at: Duration,
}

/// What a hosted-UI flow ticket allows its holder to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketPurpose {
    /// Set a new password in place of an admin-set temporary one (Cognito's
    /// `NEW_PASSWORD_REQUIRED` challenge): the holder proved the temporary password.
    NewPassword,
    /// Be signed in once the sign-up code is confirmed: the holder chose or proved the
    /// password in this browser.
    SignInAfterConfirm,
}

/// A step of a hosted-UI flow in progress, held by one browser (a hidden form field or
/// a cookie), short-lived like Cognito's challenge sessions.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub purpose: TicketPurpose,
    pub username: String,
    pub expires_at: Duration,
}

/// What a refresh token stands for.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    pub client_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub auth_time: u64,
    pub origin_jti: String,
    pub event_id: String,
    pub expires_at: Duration,
    /// Set when rotation replaced this token; it keeps working for the grace period.
    retired_at: Option<Duration>,
}

impl RefreshRecord {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client_id: &str,
        username: &str,
        scopes: &[String],
        auth_time: u64,
        origin_jti: &str,
        event_id: &str,
        expires_at: Duration,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            username: username.into(),
            scopes: scopes.to_vec(),
            auth_time,
            origin_jti: origin_jti.into(),
            event_id: event_id.into(),
            expires_at,
            retired_at: None,
        }
    }

    /// The record for a rotated-in successor token: same sign-in, same expiry (no sliding
    /// extension, §1.3), not retired.
    pub fn successor(&self) -> Self {
        Self {
            retired_at: None,
            ..self.clone()
        }
    }
}

/// Why a refresh token is refused; every case is `invalid_grant` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshProblem {
    Unknown,
    Expired,
    Revoked,
    Rotated,
}

/// Token lifetimes set by the `token-lifetimes` hook for one client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifetimeOverride {
    pub id: Option<Duration>,
    pub access: Option<Duration>,
    pub refresh: Option<Duration>,
}

#[derive(Debug)]
struct Family {
    username: String,
    revoked: bool,
    keep_until: Duration,
}

/// Access tokens issued from a family outlive its refresh token by at most this much
/// (the longest access-token validity Cognito allows).
const ACCESS_TOKEN_TAIL: Duration = Duration::from_secs(24 * 3600);

#[derive(Default)]
struct State {
    codes: HashMap<String, CodeGrant>,
    sessions: HashMap<String, HostedSession>,
    refresh_tokens: HashMap<String, RefreshRecord>,
    families: HashMap<String, Family>,
    tickets: HashMap<String, Ticket>,
    lifetimes: HashMap<String, LifetimeOverride>,
}

impl State {
    fn purge(&mut self, now: Duration) {
        self.codes.retain(|_, c| c.expires_at > now);
        self.sessions.retain(|_, s| s.expires_at > now);
        self.refresh_tokens.retain(|_, r| r.expires_at > now);
        self.families.retain(|_, f| f.keep_until > now);
        self.tickets.retain(|_, t| t.expires_at > now);
    }
}

#[derive(Default)]
pub struct Store {
    state: Mutex<State>,
}

/// Counts only: the maps are keyed by codes, session ids and refresh tokens, which must
/// never reach a log.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Store")
            .field("codes", &state.codes.len())
            .field("sessions", &state.sessions.len())
            .field("refresh_tokens", &state.refresh_tokens.len())
            .field("families", &state.families.len())
            .field("tickets", &state.tickets.len())
            .finish()
    }
}

/// 32 random bytes, base64url: session ids and CSRF tokens.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Only when the OS has no entropy source; UUIDv4 has its own RNG path.
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        for (out, byte) in bytes
            .iter_mut()
            .zip(a.as_bytes().iter().chain(b.as_bytes()))
        {
            *out = *byte;
        }
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Store {
    /// A panic while holding the lock cannot leave the maps half-updated in a way that
    /// matters more than stopping the emulator would, so a poisoned lock is reused.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn put_code(&self, code: &str, grant: CodeGrant, now: Duration) {
        let mut state = self.lock();
        state.purge(now);
        state.codes.insert(code.to_string(), grant);
    }

    /// Removes and returns the code's grant: a code is consumed by its first redemption
    /// attempt, successful or not (RFC 6749 §4.1.2, §10.5).
    pub fn take_code(&self, code: &str) -> Option<CodeGrant> {
        self.lock().codes.remove(code)
    }

    /// Starts a hosted-UI session and returns its new random id.
    pub fn start_session(&self, session: HostedSession, now: Duration) -> String {
        let id = random_id();
        let mut state = self.lock();
        state.purge(now);
        state.sessions.insert(id.clone(), session);
        id
    }

    pub fn session(&self, id: &str, now: Duration) -> Option<HostedSession> {
        self.lock()
            .sessions
            .get(id)
            .filter(|s| s.expires_at > now)
            .cloned()
    }

    pub fn end_session(&self, id: &str) {
        self.lock().sessions.remove(id);
    }

    /// Records a new sign-in family so its tokens can be revoked as one.
    pub fn start_family(&self, origin_jti: &str, username: &str, refresh_expires_at: Duration) {
        self.lock().families.insert(
            origin_jti.to_string(),
            Family {
                username: username.to_string(),
                revoked: false,
                keep_until: refresh_expires_at + ACCESS_TOKEN_TAIL,
            },
        );
    }

    /// False once the family was revoked or its user globally signed out (or when it is
    /// unknown, e.g. after an emulator restart).
    pub fn family_active(&self, origin_jti: &str) -> bool {
        self.lock()
            .families
            .get(origin_jti)
            .is_some_and(|f| !f.revoked)
    }

    pub fn put_refresh(&self, token: &str, record: RefreshRecord, now: Duration) {
        let mut state = self.lock();
        state.purge(now);
        state.refresh_tokens.insert(token.to_string(), record);
    }

    /// The record behind a refresh token, if it may still be used.
    pub fn refresh(
        &self,
        token: &str,
        grace: Duration,
        now: Duration,
    ) -> Result<RefreshRecord, RefreshProblem> {
        let state = self.lock();
        let record = state
            .refresh_tokens
            .get(token)
            .ok_or(RefreshProblem::Unknown)?;
        if record.expires_at <= now {
            return Err(RefreshProblem::Expired);
        }
        let family = state.families.get(&record.origin_jti);
        if family.is_none_or(|f| f.revoked) {
            return Err(RefreshProblem::Revoked);
        }
        if record.retired_at.is_some_and(|at| at + grace <= now) {
            return Err(RefreshProblem::Rotated);
        }
        Ok(record.clone())
    }

    /// Marks a rotated-out refresh token; it stops working after the grace period.
    pub fn retire_refresh(&self, token: &str, now: Duration) {
        if let Some(record) = self.lock().refresh_tokens.get_mut(token) {
            record.retired_at.get_or_insert(now);
        }
    }

    /// The client a refresh token was issued to, if it is one of ours.
    pub fn refresh_owner(&self, token: &str) -> Option<(String, String)> {
        self.lock()
            .refresh_tokens
            .get(token)
            .map(|r| (r.client_id.clone(), r.origin_jti.clone()))
    }

    /// Revokes a sign-in family: its refresh tokens and every access token issued from
    /// them stop working (cognito-protocol.md §1.5).
    pub fn revoke_family(&self, origin_jti: &str) {
        let mut state = self.lock();
        if let Some(family) = state.families.get_mut(origin_jti) {
            family.revoked = true;
        }
        state
            .refresh_tokens
            .retain(|_, r| r.origin_jti != origin_jti);
    }

    /// Global sign-out: revokes every family of the user and ends their hosted-UI
    /// sessions. Returns how many families were revoked.
    pub fn revoke_user(&self, username: &str) -> usize {
        let mut state = self.lock();
        let mut revoked = Vec::new();
        for (jti, family) in state.families.iter_mut() {
            if family.username == username && !family.revoked {
                family.revoked = true;
                revoked.push(jti.clone());
            }
        }
        state.refresh_tokens.retain(|_, r| r.username != username);
        state.sessions.retain(|_, s| s.username != username);
        revoked.len()
    }

    /// Remembers a step of a hosted-UI flow and returns its new random id.
    pub fn start_ticket(&self, ticket: Ticket, now: Duration) -> String {
        let id = random_id();
        let mut state = self.lock();
        state.purge(now);
        state.tickets.insert(id.clone(), ticket);
        id
    }

    /// The live ticket `id`, if it is for `purpose`.
    pub fn ticket(&self, id: &str, purpose: TicketPurpose, now: Duration) -> Option<Ticket> {
        self.lock()
            .tickets
            .get(id)
            .filter(|t| t.purpose == purpose && t.expires_at > now)
            .cloned()
    }

    pub fn end_ticket(&self, id: &str) {
        self.lock().tickets.remove(id);
    }

    pub fn lifetimes(&self, client_id: &str) -> LifetimeOverride {
        self.lock()
            .lifetimes
            .get(client_id)
            .copied()
            .unwrap_or_default()
    }

    pub fn set_lifetimes(&self, client_id: &str, lifetimes: LifetimeOverride) {
        self.lock()
            .lifetimes
            .insert(client_id.to_string(), lifetimes);
    }
}

#[cfg(test)]
mod tests;
