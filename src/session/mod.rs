//! Browser sessions (SPEC §7): the [`Session`] model and its compact encoding, sealed
//! into cookies by [`seal`] and carried by [`cookies`]. Those are pure — the caller
//! passes `now` in and does the I/O.
//!
//! Where a session lives — in the cookie itself or on a shared Redis — is
//! [`store`]'s (the only part here that does I/O); ending sessions from outside a
//! request is [`revoke`]'s.
//!
//! The session keeps only what later requests need: identity claims verified at the
//! callback, when the tokens run out, and the refresh token. The access and ID tokens
//! are kept only when they must be forwarded upstream, so a typical session fits one
//! cookie (deps.md §7 "Size budget").

pub mod cookies;
mod encoding;
pub mod revoke;
pub mod seal;
pub mod store;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::Identity;

/// One signed-in browser session. Field names are one letter on the wire because every
/// byte is sent back on every request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "s")]
    pub sub: String,
    /// The Cognito username (`cognito:username`).
    #[serde(rename = "u")]
    pub user: String,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "g", default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Unix seconds of the sign-in; the absolute lifetime (`session.lifetime`) runs from
    /// here and is not extended by refreshes.
    #[serde(rename = "c")]
    pub created_at: u64,
    /// Unix seconds: the earlier of the ID and access tokens' `exp`.
    #[serde(rename = "x")]
    pub tokens_expire_at: u64,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Kept only when the access token is forwarded upstream (SPEC §6).
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Kept only when the ID token is forwarded upstream (SPEC §6).
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// What a request may do with an opened session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Tokens still valid: serve the request.
    Valid,
    /// Tokens expired, a refresh token is at hand and refresh is enabled: refresh first.
    NeedsRefresh,
    /// Past the absolute lifetime, or tokens expired with no way to renew them.
    Ended,
}

impl Session {
    /// The identity and its header values (with the tokens this session forwards), as
    /// the caches and the request path keep them side by side.
    pub fn identity_with_headers(&self) -> (Identity, crate::headers::IdentityHeaders) {
        let identity = self.identity();
        let headers = crate::headers::IdentityHeaders::new(
            &identity,
            self.access_token.as_deref(),
            self.id_token.as_deref(),
        );
        (identity, headers)
    }

    pub fn identity(&self) -> Identity {
        Identity {
            sub: self.sub.clone(),
            user: self.user.clone(),
            email: self.email.clone(),
            groups: self.groups.clone(),
            expires_at: self.tokens_expire_at,
        }
    }

    /// The bytes sealed into the cookie ([`encoding`]).
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// `None` for anything that is not an encoded session; never panics.
    pub fn decode(bytes: &[u8]) -> Option<Session> {
        encoding::decode(bytes)
    }

    /// The absolute end of the session: `created_at + lifetime` (SPEC §3
    /// `session.lifetime`). Used as the sealed value's inner expiry.
    pub fn lifetime_ends_at(&self, lifetime_secs: u64) -> u64 {
        self.created_at.saturating_add(lifetime_secs)
    }

    /// Decides what to do with this session at `now` (SPEC §7 "Refresh").
    pub fn status(&self, now: u64, lifetime_secs: u64, refresh_enabled: bool) -> SessionStatus {
        if now >= self.lifetime_ends_at(lifetime_secs) {
            SessionStatus::Ended
        } else if now < self.tokens_expire_at {
            SessionStatus::Valid
        } else if refresh_enabled && self.refresh_token.is_some() {
            SessionStatus::NeedsRefresh
        } else {
            SessionStatus::Ended
        }
    }
}

/// Tokens are secrets: `Debug` shows only whether each is present.
impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("Session")
            .field("sub", &self.sub)
            .field("user", &self.user)
            .field("email", &self.email)
            .field("groups", &self.groups)
            .field("created_at", &self.created_at)
            .field("tokens_expire_at", &self.tokens_expire_at)
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("access_token", &redacted(&self.access_token))
            .field("id_token", &redacted(&self.id_token))
            .finish()
    }
}

#[cfg(test)]
mod tests;
