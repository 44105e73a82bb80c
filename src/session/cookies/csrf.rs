//! Sign-in state between `/oauth2/start` and `/oauth2/callback` (SPEC §7): `state`,
//! `nonce`, the PKCE verifier and `rd`, sealed into one short-lived cookie per sign-in
//! attempt.
//!
//! One cookie per attempt, named after the state (`NAME_csrf_<id>`), lets several tabs
//! sign in at once without overwriting each other's verifier; the callback finds the
//! cookie from the `state` query parameter and then requires the sealed state to equal
//! it exactly (RFC 9700 §4.7.1: state binds the response to this user agent). At most
//! [`MAX_PENDING_SIGNINS`] attempts are kept, so repeated starts cannot pile up cookies.

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{classify, OwnName};
use crate::session::seal::{KeyRing, SealError};

/// How long a sign-in attempt stays valid (SPEC §7: 10 minutes).
pub const SIGNIN_TTL_SECS: u64 = 600;
/// Sign-in attempts kept at once, counting the one being started.
pub const MAX_PENDING_SIGNINS: usize = 5;
/// Characters of base64url(SHA-256(state)) in the cookie name: 72 bits, so two live
/// attempts of one browser never collide by chance.
const CSRF_ID_LEN: usize = 12;

/// What `/oauth2/start` remembers for `/oauth2/callback`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInState {
    #[serde(rename = "s")]
    pub state: String,
    /// OIDC `nonce`, compared with the ID token's claim at the callback.
    #[serde(rename = "n")]
    pub nonce: String,
    /// RFC 7636 `code_verifier`.
    #[serde(rename = "v")]
    pub pkce_verifier: String,
    /// Where to go after sign-in; already checked by `redirect::safe_redirect`.
    #[serde(rename = "r")]
    pub rd: String,
    /// Unix seconds when the attempt started; orders attempts for eviction.
    #[serde(rename = "c")]
    pub created_at: u64,
}

impl fmt::Debug for SignInState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInState")
            .field("state", &"<redacted>")
            .field("nonce", &"<redacted>")
            .field("pkce_verifier", &"<redacted>")
            .field("rd", &self.rd)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl SignInState {
    pub fn encode(&self) -> Vec<u8> {
        // Serialising strings and an integer cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<SignInState> {
        serde_json::from_slice(bytes).ok()
    }

    pub fn expires_at(&self) -> u64 {
        self.created_at.saturating_add(SIGNIN_TTL_SECS)
    }

    /// Seals the state for its cookie: returns `(cookie name, sealed value)`, ready for
    /// [`super::set_signin`].
    pub fn seal(&self, ring: &KeyRing, base: &str) -> Result<(String, String), SealError> {
        let sealed = ring.seal(&csrf_purpose(base), self.expires_at(), &self.encode())?;
        Ok((csrf_cookie_name(base, &self.state), sealed))
    }
}

/// The sealing purpose of sign-in cookies: distinct from the session's, so neither
/// value opens as the other.
pub fn csrf_purpose(base: &str) -> String {
    format!("{base}_csrf")
}

/// `NAME_csrf_<id>`, `<id>` = the first 12 characters of base64url(SHA-256(state)).
pub fn csrf_cookie_name(base: &str, state: &str) -> String {
    let hash = digest::digest(&digest::SHA256, state.as_bytes());
    let mut id = URL_SAFE_NO_PAD.encode(hash.as_ref());
    id.truncate(CSRF_ID_LEN);
    format!("{base}_csrf_{id}")
}

/// At the callback: the sign-in state for the query's `state`, or `None` when no cookie
/// for it opens or its sealed state differs. Several cookies of that name (one planted by
/// a sibling domain) are each tried; only one we sealed can open.
pub fn open_signin(
    ring: &KeyRing,
    base: &str,
    cookies: &[(String, String)],
    state: &str,
    now: u64,
) -> Option<SignInState> {
    let name = csrf_cookie_name(base, state);
    let purpose = csrf_purpose(base);
    cookies
        .iter()
        .filter(|(cookie, _)| *cookie == name)
        .filter_map(|(_, sealed)| ring.open(&purpose, sealed, now))
        .filter_map(|opened| SignInState::decode(&opened.payload))
        .find(|signin| verify_slices_are_equal(signin.state.as_bytes(), state.as_bytes()).is_ok())
}

/// When a new sign-in starts: the sign-in cookie names to expire so that, with the new
/// one, at most [`MAX_PENDING_SIGNINS`] remain. Cookies that do not open, have expired,
/// or sit under a name that does not match their sealed state always go; of the rest the
/// oldest by `created_at` go first. Names come back once each, in request order.
pub fn signins_to_expire(
    ring: &KeyRing,
    base: &str,
    cookies: &[(String, String)],
    now: u64,
) -> Vec<String> {
    let purpose = csrf_purpose(base);
    let mut expire: Vec<&str> = Vec::new();
    let mut live: Vec<(u64, &str)> = Vec::new();
    for (name, sealed) in cookies {
        if classify(base.as_bytes(), name.as_bytes()) != Some(OwnName::Csrf) {
            continue;
        }
        let created_at = ring
            .open(&purpose, sealed, now)
            .and_then(|opened| SignInState::decode(&opened.payload))
            .filter(|signin| csrf_cookie_name(base, &signin.state) == *name)
            .map(|signin| signin.created_at);
        match created_at {
            Some(at) if !live.iter().any(|(_, n)| n == name) => live.push((at, name)),
            _ => expire.push(name),
        }
    }
    // A name also marked for expiry (a duplicate) is going away whatever it holds.
    live.retain(|(_, name)| !expire.contains(name));
    // Newest first; a stable sort keeps request order among equal times.
    live.sort_by_key(|(created_at, _)| std::cmp::Reverse(*created_at));
    let keep = MAX_PENDING_SIGNINS.saturating_sub(1);
    expire.extend(live.iter().skip(keep).map(|(_, name)| *name));
    let mut ordered: Vec<String> = Vec::new();
    for (name, _) in cookies {
        if expire.contains(&name.as_str()) && !ordered.contains(name) {
            ordered.push(name.clone());
        }
    }
    ordered
}

#[cfg(test)]
mod tests;
