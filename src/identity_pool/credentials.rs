//! Temporary AWS credentials as the identity pool hands them out
//! (`GetCredentialsForIdentity`, cognito-protocol.md §4.3), how long the sidecar may
//! serve them from its cache, and the two ways they leave the sidecar: the JSON of
//! `/oauth2/aws-credentials` and the `X-Aws-*` headers sent upstream.
//!
//! The secret key and session token live in `SecretString`s; `Debug` never shows them.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

/// AWS SDKs renew credentials five minutes before they expire; the cache stops serving
/// them at the same point, so whoever receives credentials has at least that long.
pub const REFRESH_MARGIN_SECS: u64 = 300;

/// The headers [`Credentials::insert_headers`] sets upstream. Every one is also in
/// `crate::headers::IDENTITY_HEADERS`, so a client can never send them itself.
pub const FORWARDED_HEADERS: [&str; 5] = [
    "x-aws-identity-id",
    "x-aws-access-key-id",
    "x-aws-secret-access-key",
    "x-aws-session-token",
    "x-aws-credentials-expiration",
];

/// One identity's temporary credentials.
#[derive(Clone)]
pub struct Credentials {
    /// `<region>:<uuid>`: stable per user (per guest cookie for guests).
    pub identity_id: String,
    /// `ASIA…`: an identifier, not a secret (AWS prints it in CloudTrail).
    pub access_key_id: String,
    secret_access_key: SecretString,
    session_token: SecretString,
    /// Unix seconds after which AWS refuses them.
    pub expires_at: u64,
}

impl Credentials {
    /// Builds credentials from already-validated parts (see `api::parse_credentials`):
    /// every part is a valid header value.
    pub fn new(
        identity_id: String,
        access_key_id: String,
        secret_access_key: String,
        session_token: String,
        expires_at: u64,
    ) -> Self {
        Self {
            identity_id,
            access_key_id,
            secret_access_key: SecretString::from(secret_access_key),
            session_token: SecretString::from(session_token),
            expires_at,
        }
    }

    pub fn secret_access_key(&self) -> &str {
        self.secret_access_key.expose_secret()
    }

    pub fn session_token(&self) -> &str {
        self.session_token.expose_secret()
    }

    /// The expiry as RFC 3339 UTC (`2024-06-10T07:13:20Z`): what JavaScript's `new
    /// Date(…)` and the AWS SDKs' credential `expiration` accept.
    pub fn expiration_rfc3339(&self) -> String {
        let at = UNIX_EPOCH + Duration::from_secs(self.expires_at);
        humantime::format_rfc3339_seconds(at).to_string()
    }

    /// The body of `/oauth2/aws-credentials`.
    pub fn to_json(&self, authenticated: bool) -> serde_json::Value {
        serde_json::json!({
            "identity_id": self.identity_id,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key(),
            "session_token": self.session_token(),
            "expiration": self.expiration_rfc3339(),
            "authenticated": authenticated,
        })
    }

    /// Sets the `X-Aws-*` headers ([`FORWARDED_HEADERS`]) for the upstream. Values were
    /// checked to be header-safe when parsed; one that is not is left out, not mangled.
    pub fn insert_headers(&self, headers: &mut HeaderMap) {
        let values = [
            self.identity_id.clone(),
            self.access_key_id.clone(),
            self.secret_access_key().to_string(),
            self.session_token().to_string(),
            self.expiration_rfc3339(),
        ];
        for (name, value) in FORWARDED_HEADERS.iter().zip(values) {
            if let Ok(mut value) = HeaderValue::from_str(&value) {
                value.set_sensitive(true);
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }

    /// How long the cache may serve these credentials, seen at `now`.
    pub fn cache_for(&self, now: u64) -> Duration {
        cache_for(self.expires_at, now)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("identity_id", &self.identity_id)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How long credentials expiring at `expires_at` may be served from the cache at `now`:
/// until [`REFRESH_MARGIN_SECS`] before expiry, or — for credentials that live less than
/// four margins — until a quarter of their remaining life is left. Already expired: not
/// at all.
pub fn cache_for(expires_at: u64, now: u64) -> Duration {
    let remaining = expires_at.saturating_sub(now);
    let margin = REFRESH_MARGIN_SECS.min(remaining / 4);
    Duration::from_secs(remaining - margin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Credentials {
        Credentials::new(
            "us-east-1:5d6c7b8a-9e0f-1a2b-3c4d-5e6f7a8b9c0d".into(),
            "ASIAEXAMPLEKEY123456".into(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            "IQoJb3JpZ2luX2VjEXAMPLE".into(),
            1_718_003_600,
        )
    }

    #[test]
    fn debug_hides_the_secret_parts() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("wJalr"), "{text}");
        assert!(!text.contains("IQoJ"), "{text}");
        assert!(text.contains("ASIAEXAMPLEKEY123456"), "{text}");
    }

    #[test]
    fn json_and_headers_carry_every_part() {
        let c = sample();
        let json = c.to_json(true);
        assert_eq!(json["expiration"], "2024-06-10T07:13:20Z");
        assert_eq!(json["secret_access_key"], c.secret_access_key());
        assert_eq!(json["session_token"], c.session_token());
        assert_eq!(json["authenticated"], true);
        let mut h = HeaderMap::new();
        c.insert_headers(&mut h);
        assert_eq!(h.len(), FORWARDED_HEADERS.len());
        assert_eq!(h["x-aws-identity-id"], c.identity_id.as_str());
        assert_eq!(h["x-aws-session-token"], c.session_token());
        assert_eq!(h["x-aws-credentials-expiration"], "2024-06-10T07:13:20Z");
        for name in FORWARDED_HEADERS {
            assert!(
                crate::headers::is_identity_header(name),
                "{name} is not stripped"
            );
        }
    }

    #[test]
    fn an_hour_of_credentials_is_cached_for_55_minutes() {
        assert_eq!(cache_for(3600, 0), Duration::from_secs(3300));
        assert_eq!(cache_for(8, 0), Duration::from_secs(6));
        assert_eq!(cache_for(10, 10), Duration::ZERO);
        assert_eq!(cache_for(10, 99), Duration::ZERO);
    }

    proptest! {
        #[test]
        fn cached_credentials_always_have_time_left(expires_at in 0u64..u64::MAX / 2, now in 0u64..u64::MAX / 2) {
            let remaining = expires_at.saturating_sub(now);
            let cached = cache_for(expires_at, now).as_secs();
            prop_assert!(cached <= remaining);
            // Whoever gets them last still has the margin, or a quarter of their life.
            prop_assert!(remaining - cached >= REFRESH_MARGIN_SECS.min(remaining / 4));
        }
    }
}
