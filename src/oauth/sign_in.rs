//! The per-attempt secrets of a hosted-UI sign-in: `state` against login CSRF
//! (RFC 6749 §10.12, RFC 9700 §4.7), `nonce` binding the ID token to this attempt
//! (OpenID Connect Core §3.1.2.1), and the PKCE verifier with its S256 challenge
//! (RFC 7636 §4.1–§4.2; Cognito supports only S256).

use base64::Engine;

/// Fresh random values for one sign-in attempt. `Debug` shows only the challenge,
/// which is public anyway (it travels in the authorize URL).
#[derive(Clone, PartialEq, Eq)]
pub struct SignInSecrets {
    /// 256 random bits, base64url: echoed back by Cognito on the callback.
    pub state: String,
    /// 256 random bits, base64url: must come back inside the ID token.
    pub nonce: String,
    /// 43 base64url characters (256 bits), the form RFC 7636 §4.1 recommends.
    pub pkce_verifier: String,
    /// BASE64URL(SHA256(verifier)), sent as `code_challenge`.
    pub pkce_challenge: String,
}

impl std::fmt::Debug for SignInSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInSecrets")
            .field("state", &"<redacted>")
            .field("nonce", &"<redacted>")
            .field("pkce_verifier", &"<redacted>")
            .field("pkce_challenge", &self.pkce_challenge)
            .finish()
    }
}

/// Draws the secrets for a new sign-in attempt.
pub fn new_sign_in() -> SignInSecrets {
    let pkce_verifier = random_base64url();
    SignInSecrets {
        state: random_base64url(),
        nonce: random_base64url(),
        pkce_challenge: pkce_challenge(&pkce_verifier),
        pkce_verifier,
    }
}

/// The S256 code challenge of `verifier` (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// 32 bytes from the OS RNG as 43 unpadded base64url characters.
fn random_base64url() -> String {
    let mut bytes = [0u8; 32];
    // aws-lc's RAND_bytes aborts the process rather than return failure, so this
    // cannot fail at runtime; sign-in must never proceed with predictable values.
    aws_lc_rs::rand::fill(&mut bytes).expect("the operating system RNG is unavailable");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn is_unreserved(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn rfc_7636_appendix_b_vector() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn secrets_are_long_url_safe_and_fresh() {
        let a = new_sign_in();
        let b = new_sign_in();
        for value in [&a.state, &a.nonce, &a.pkce_verifier] {
            assert_eq!(value.len(), 43, "256 bits");
            assert!(is_unreserved(value));
        }
        assert!((43..=128).contains(&a.pkce_verifier.len()));
        assert_eq!(a.pkce_challenge, pkce_challenge(&a.pkce_verifier));
        assert_ne!(a.state, a.nonce);
        assert_ne!(a.state, b.state);
        assert_ne!(a.pkce_verifier, b.pkce_verifier);
    }

    #[test]
    fn debug_hides_the_secrets() {
        let secrets = new_sign_in();
        let shown = format!("{secrets:?}");
        for value in [&secrets.state, &secrets.nonce, &secrets.pkce_verifier] {
            assert!(!shown.contains(value.as_str()));
        }
    }

    proptest! {
        #[test]
        fn challenges_are_43_base64url_characters(verifier in "[A-Za-z0-9._~-]{43,128}") {
            let challenge = pkce_challenge(&verifier);
            prop_assert_eq!(challenge.len(), 43);
            prop_assert!(is_unreserved(&challenge));
        }
    }
}
