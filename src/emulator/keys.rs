//! The pool's signing keys: two RSA-2048 key pairs (one for ID tokens, one for access
//! tokens, cognito-protocol.md §1.8), their JWKS, compact JWS signing and verification.
//!
//! The RSA math is aws-lc-rs's; this module only assembles the JWS compact form
//! (RFC 7515 §7.1) with Cognito's header `{"kid":…,"alg":"RS256"}` (no `typ`, §2.1).
//! After a rotation the previous pair stays published until the next rotation so tokens
//! already issued keep verifying.

use std::sync::Arc;

use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A signing failure inside aws-lc-rs: an internal error, never the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("internal: could not generate an RSA-2048 signing key")]
    Generate,
    #[error("internal: could not sign a token")]
    Sign,
}

/// Longest token [`KeyRing::verify`] looks at; real Cognito JWTs are 1–2 KB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// One RSA key pair with its `kid`.
pub struct SigningKey {
    kid: String,
    pair: KeyPair,
}

#[derive(Serialize)]
struct Header<'a> {
    kid: &'a str,
    alg: &'a str,
}

#[derive(Deserialize)]
struct ParsedHeader {
    kid: String,
    alg: String,
}

impl SigningKey {
    pub fn generate() -> Result<Self, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        // Cognito kids are 44-character standard base64 (with `+/=`, §1.8): SHA-256 of
        // the DER public key gives exactly that shape.
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pair.public_key().as_ref());
        Ok(Self {
            kid: STANDARD.encode(digest.as_ref()),
            pair,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (RFC 7517 §4, RFC 7518 §6.3.1).
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            "kid": self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        })
    }

    /// Signs serialized claims as a compact JWS with RS256 (RSASSA-PKCS1-v1_5 SHA-256).
    pub fn sign(&self, claims_json: &[u8]) -> Result<String, KeyError> {
        let header = serde_json::to_vec(&Header {
            kid: &self.kid,
            alg: "RS256",
        })
        .map_err(|_| KeyError::Sign)?;
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims_json)
        );
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| KeyError::Sign)?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    fn verifies(&self, signing_input: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            self.pair.public_key().as_ref(),
        )
        .verify(signing_input, sig)
        .is_ok()
    }
}

/// The ID-token key and the access-token key of one generation.
#[derive(Clone)]
pub struct KeyPairSet {
    pub id: Arc<SigningKey>,
    pub access: Arc<SigningKey>,
}

impl KeyPairSet {
    fn generate() -> Result<Self, KeyError> {
        Ok(Self {
            id: Arc::new(SigningKey::generate()?),
            access: Arc::new(SigningKey::generate()?),
        })
    }
}

/// The current signing keys and, after a rotation, the previous ones.
#[derive(Clone)]
pub struct KeyRing {
    pub current: KeyPairSet,
    previous: Option<KeyPairSet>,
}

impl KeyRing {
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self {
            current: KeyPairSet::generate()?,
            previous: None,
        })
    }

    /// A ring with fresh current keys; today's keys become the previous generation and
    /// the generation before that is dropped.
    pub fn rotated(&self) -> Result<Self, KeyError> {
        Ok(Self {
            current: KeyPairSet::generate()?,
            previous: Some(self.current.clone()),
        })
    }

    fn keys(&self) -> impl Iterator<Item = &Arc<SigningKey>> {
        let current = [&self.current.id, &self.current.access];
        let previous = self.previous.iter().flat_map(|p| [&p.id, &p.access]);
        current.into_iter().chain(previous)
    }

    /// `/.well-known/jwks.json`: every published public key.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys().map(|k| k.jwk()).collect::<Vec<_>>() })
    }

    /// Checks a compact JWS against the published keys (RS256 pinned, `kid` required)
    /// and returns its claims. Says nothing about expiry or revocation.
    pub fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let mut parts = token.split('.');
        let (header, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let parsed: ParsedHeader =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if parsed.alg != "RS256" {
            return None;
        }
        let key = self.keys().find(|k| k.kid == parsed.kid)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let signing_input = token.get(..header.len() + 1 + payload.len())?;
        if !key.verifies(signing_input.as_bytes(), &sig) {
            return None;
        }
        match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()? {
            Value::Object(claims) => Some(claims),
            _ => None,
        }
    }
}

/// True when `token` is shaped like a JWS (three base64url segments whose first decodes
/// to a JSON header with `alg`): how `/oauth2/revoke` tells an ID/access token from a
/// refresh token.
pub fn looks_like_jws(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return false;
    }
    parts
        .first()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
        .is_some_and(|header| header.contains_key("alg"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// RSA key generation is slow; the tests share one ring.
    fn ring() -> &'static KeyRing {
        static RING: OnceLock<KeyRing> = OnceLock::new();
        RING.get_or_init(|| KeyRing::generate().unwrap())
    }

    #[test]
    fn kids_are_44_char_standard_base64_and_differ() {
        let ring = ring();
        let (id, access) = (ring.current.id.kid(), ring.current.access.kid());
        assert_eq!(id.len(), 44);
        assert!(id.ends_with('='));
        assert!(STANDARD.decode(id).is_ok());
        assert_ne!(id, access);
    }

    #[test]
    fn jwks_has_cognito_shape() {
        let jwks = ring().jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for key in keys {
            assert_eq!(key["alg"], "RS256");
            assert_eq!(key["kty"], "RSA");
            assert_eq!(key["use"], "sig");
            assert_eq!(key["e"], "AQAB");
            assert_eq!(
                URL_SAFE_NO_PAD
                    .decode(key["n"].as_str().unwrap())
                    .unwrap()
                    .len(),
                256
            );
        }
    }

    #[test]
    fn signed_tokens_verify_and_tampering_fails() {
        let ring = ring();
        let token = ring.current.access.sign(br#"{"sub":"x"}"#).unwrap();
        let header = token.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({"kid": ring.current.access.kid(), "alg": "RS256"})
        );
        assert!(!token.split('.').next().unwrap().contains('='));
        assert_eq!(ring.verify(&token).unwrap()["sub"], "x");
        assert!(looks_like_jws(&token));

        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(br#"{"sub":"y"}"#);
        assert!(ring.verify(&parts.join(".")).is_none());
        assert!(ring.verify("a.b").is_none());
        assert!(ring.verify("").is_none());
        assert!(ring.verify(&format!("{token}.x")).is_none());
    }

    #[test]
    fn rotation_keeps_the_previous_generation_only() {
        let first = ring().clone();
        let second = first.rotated().unwrap();
        let token = first.current.id.sign(b"{}").unwrap();
        assert_eq!(second.jwks()["keys"].as_array().unwrap().len(), 4);
        assert!(second.verify(&token).is_some());
        let third = second.rotated().unwrap();
        assert!(third.verify(&token).is_none());
        assert_eq!(third.jwks()["keys"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn refresh_token_shape_is_not_a_jws() {
        assert!(!looks_like_jws(
            "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.a.b.c.d"
        ));
        assert!(!looks_like_jws("garbage"));
    }
}
