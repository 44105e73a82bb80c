//! Identity ids and temporary credentials as the identity pool issues them
//! (cognito-protocol.md §4.3): fake — they open nothing at AWS — but shaped like the
//! real thing, so clients that check formats accept them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

/// Key ids of temporary (STS) credentials start with `ASIA`.
const ACCESS_KEY_PREFIX: &str = "ASIA";
/// AWS key ids use upper-case letters and digits 2–7 (base32).
const KEY_ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Real session tokens start with this (base64 of a protobuf-ish header).
const SESSION_TOKEN_PREFIX: &str = "IQoJb3JpZ2luX2Vj";

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Only when the OS has no entropy source; these credentials are fake anyway,
        // so fall back to UUIDv4's own RNG path.
        for (out, byte) in bytes
            .iter_mut()
            .zip(std::iter::repeat_with(uuid::Uuid::new_v4).flat_map(|u| u.into_bytes()))
        {
            *out = byte;
        }
    }
    bytes
}

/// A new guest identity: `<region>:<random uuid>`.
pub fn guest_identity_id(region: &str) -> String {
    format!(
        "{region}:{}",
        uuid::Builder::from_random_bytes(random::<16>()).into_uuid()
    )
}

/// The identity of user `sub` in `pool_id`: the same on every `GetId`, as Cognito keeps
/// one identity per (pool, provider, user) (§4.3).
pub fn user_identity_id(region: &str, pool_id: &str, provider: &str, sub: &str) -> String {
    let seed = format!("cognito-sidecar-emulator-identity\0{pool_id}\0{provider}\0{sub}");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, seed.as_bytes());
    let mut bytes = [0u8; 16];
    for (out, byte) in bytes.iter_mut().zip(digest.as_ref()) {
        *out = *byte;
    }
    format!(
        "{region}:{}",
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    )
}

/// The `Credentials` object of a `GetCredentialsForIdentity` answer, expiring at
/// `expires_at` (epoch seconds, a JSON number as JSON 1.1 timestamps are).
pub fn credentials(expires_at: u64) -> Value {
    let key_id: String = random::<16>()
        .iter()
        .filter_map(|b| {
            KEY_ID_ALPHABET
                .get(usize::from(b & 31))
                .copied()
                .map(char::from)
        })
        .collect();
    json!({
        "AccessKeyId": format!("{ACCESS_KEY_PREFIX}{key_id}"),
        "SecretKey": STANDARD.encode(random::<30>()),
        "SessionToken": format!("{SESSION_TOKEN_PREFIX}{}", STANDARD.encode(random::<600>())),
        "Expiration": expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_have_the_aws_shape() {
        let c = credentials(1_718_003_600);
        let key = c["AccessKeyId"].as_str().unwrap();
        assert_eq!(key.len(), 20);
        assert!(key.starts_with("ASIA"));
        assert!(key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(c["SecretKey"].as_str().unwrap().len(), 40);
        let token = c["SessionToken"].as_str().unwrap();
        assert!(token.len() > 800 && token.starts_with(SESSION_TOKEN_PREFIX));
        assert_eq!(c["Expiration"], 1_718_003_600);
        assert_ne!(credentials(1)["SecretKey"], credentials(1)["SecretKey"]);
    }

    #[test]
    fn user_identities_are_stable_and_guests_new() {
        let a = user_identity_id("us-east-1", "us-east-1:p", "idp/pool", "sub-a");
        assert_eq!(
            a,
            user_identity_id("us-east-1", "us-east-1:p", "idp/pool", "sub-a")
        );
        assert_ne!(
            a,
            user_identity_id("us-east-1", "us-east-1:p", "idp/pool", "sub-b")
        );
        assert_ne!(
            a,
            user_identity_id("us-east-1", "us-east-1:q", "idp/pool", "sub-a")
        );
        assert!(a.starts_with("us-east-1:") && a.len() == "us-east-1:".len() + 36);
        assert_ne!(
            guest_identity_id("us-east-1"),
            guest_identity_id("us-east-1")
        );
    }
}
