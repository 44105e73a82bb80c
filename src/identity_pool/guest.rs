//! The guest cookie `NAME_guest`: the identity id of a visitor who is not signed in,
//! so their guest identity stays the same across visits (cognito-protocol.md §4.4:
//! "Cache the identity ID client-side; each `GetId` without it creates a new identity").
//!
//! Sealed with the session key ring under its own purpose (the cookie name), and bound
//! to the identity pool id: an identity id from another pool never opens here. Pure
//! functions; the caller reads the request's cookies and passes `now`.

use http::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::session::cookies::set_guest;
use crate::session::seal::KeyRing;

/// How long a guest keeps their identity without coming back.
pub const GUEST_LIFETIME_SECS: u64 = 30 * 24 * 3600;

/// `<cookie_name>_guest`.
pub fn cookie_name(base: &str) -> String {
    format!("{base}_guest")
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The identity pool the identity belongs to.
    #[serde(rename = "p")]
    pool: String,
    #[serde(rename = "i")]
    identity_id: String,
}

/// A guest cookie that opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    pub identity_id: String,
    /// Unix seconds when the cookie stops opening.
    pub expires_at: u64,
    /// Sealed with an older key of the ring: re-seal so the key can be retired.
    pub old_key: bool,
}

impl Guest {
    /// Re-issue the cookie once half its life has passed, so a guest who keeps coming
    /// back keeps their identity, and after a session key rotation.
    pub fn needs_renewal(&self, now: u64) -> bool {
        self.old_key || self.expires_at.saturating_sub(now) < GUEST_LIFETIME_SECS / 2
    }
}

/// The guest identity in the request's cookies, if one opens for `pool_id`. The first
/// `NAME_guest` that opens wins; anything else (tampered, expired, another pool, not an
/// identity id) is ignored, and a new identity is minted in its place.
pub fn open(
    keys: &KeyRing,
    base: &str,
    cookies: &[(String, String)],
    pool_id: &str,
    now: u64,
) -> Option<Guest> {
    let name = cookie_name(base);
    cookies
        .iter()
        .filter(|(n, _)| *n == name)
        .find_map(|(_, sealed)| {
            let opened = keys.open(&name, sealed, now)?;
            let payload: Payload = serde_json::from_slice(&opened.payload).ok()?;
            let ours = payload.pool == pool_id && super::api::is_identity_id(&payload.identity_id);
            ours.then_some(Guest {
                identity_id: payload.identity_id,
                expires_at: opened.expires_at,
                old_key: opened.needs_reseal,
            })
        })
}

/// The `Set-Cookie` that stores `identity_id` for [`GUEST_LIFETIME_SECS`]. `None` only if
/// sealing fails (no system RNG); the guest then simply gets a new identity next time.
pub fn set_cookie(
    keys: &KeyRing,
    base: &str,
    pool_id: &str,
    identity_id: &str,
    secure: bool,
    now: u64,
) -> Option<HeaderValue> {
    let name = cookie_name(base);
    let payload = serde_json::to_vec(&Payload {
        pool: pool_id.to_string(),
        identity_id: identity_id.to_string(),
    })
    .ok()?;
    let sealed = keys
        .seal(&name, now.saturating_add(GUEST_LIFETIME_SECS), &payload)
        .ok()?;
    set_guest(&name, &sealed, secure, GUEST_LIFETIME_SECS).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff";
    const ID: &str = "us-east-1:5d6c7b8a-9e0f-1a2b-3c4d-5e6f7a8b9c0d";
    const BASE: &str = "_cognito_sidecar";

    fn ring(byte: u8) -> KeyRing {
        KeyRing::new(&[[byte; 32]]).unwrap()
    }

    /// The sealed value of a `Set-Cookie` header.
    fn value_of(set_cookie: &HeaderValue) -> (String, String) {
        let text = set_cookie.to_str().unwrap();
        let pair = text.split(';').next().unwrap();
        let (n, v) = pair.split_once('=').unwrap();
        (n.to_string(), v.to_string())
    }

    #[test]
    fn a_guest_cookie_round_trips_for_its_pool_only() {
        let keys = ring(1);
        let header = set_cookie(&keys, BASE, POOL, ID, true, 1_000).unwrap();
        let text = header.to_str().unwrap();
        assert!(text.starts_with("_cognito_sidecar_guest="), "{text}");
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Secure"),
            "{text}"
        );
        assert!(
            text.contains(&format!("Max-Age={GUEST_LIFETIME_SECS}")),
            "{text}"
        );
        assert!(!text.contains(ID), "the identity id is sealed: {text}");

        let cookies = vec![value_of(&header)];
        let guest = open(&keys, BASE, &cookies, POOL, 2_000).unwrap();
        assert_eq!(guest.identity_id, ID);
        assert_eq!(guest.expires_at, 1_000 + GUEST_LIFETIME_SECS);
        assert!(!guest.needs_renewal(2_000));
        assert!(guest.needs_renewal(1_000 + GUEST_LIFETIME_SECS / 2 + 1));

        let other_pool = "us-east-1:11111111-4b5a-6978-8899-aabbccddeeff";
        assert_eq!(open(&keys, BASE, &cookies, other_pool, 2_000), None);
        assert_eq!(open(&ring(2), BASE, &cookies, POOL, 2_000), None);
        let rotated = KeyRing::new(&[[2; 32], [1; 32]]).unwrap();
        let old = open(&rotated, BASE, &cookies, POOL, 2_000).unwrap();
        assert!(old.old_key && old.needs_renewal(2_000));
        assert_eq!(
            open(&keys, BASE, &cookies, POOL, 1_000 + GUEST_LIFETIME_SECS),
            None
        );
    }

    #[test]
    fn session_values_and_junk_never_open_as_a_guest() {
        let keys = ring(1);
        // A value sealed for the session cookie carries another purpose.
        let session = keys.seal(BASE, 10_000, br#"{"p":"x","i":"y"}"#).unwrap();
        let cookies = vec![
            (cookie_name(BASE), session),
            (cookie_name(BASE), "v1.garbage".into()),
            (cookie_name(BASE), String::new()),
        ];
        assert_eq!(open(&keys, BASE, &cookies, POOL, 1), None);
        // A sealed payload that is not an identity id is refused too.
        let weird = keys
            .seal(
                &cookie_name(BASE),
                10_000,
                format!(r#"{{"p":"{POOL}","i":"x; y"}}"#).as_bytes(),
            )
            .unwrap();
        assert_eq!(
            open(&keys, BASE, &[(cookie_name(BASE), weird)], POOL, 1),
            None
        );
    }
}
