//! RSA keys for tests: a few 2048-bit key pairs generated once per test binary (key
//! generation is slow), their JWKs in Cognito's shape, and signing of arbitrary header
//! and claim JSON so tests can also build tokens no real IdP would issue.

use std::sync::OnceLock;

use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use serde_json::{json, Value};

pub struct TestKey {
    /// Cognito-style key id: standard base64 with `+`, `/` and `=` (cognito-protocol §1.8).
    pub kid: String,
    pair: KeyPair,
}

/// Test key number `index` (0..4), generated on first use and shared by all tests.
pub fn test_key(index: usize) -> &'static TestKey {
    static KEYS: OnceLock<Vec<TestKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| (0..4).map(TestKey::generate).collect());
    &keys[index]
}

impl TestKey {
    fn generate(index: usize) -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pair.public_key().as_ref());
        let mut kid = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
        // Make the ids visibly distinct in failure output and guarantee the `+/=` style.
        kid.replace_range(0..2, &format!("{index}+"));
        Self { kid, pair }
    }

    /// The public key as a JWK the way Cognito publishes it.
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "alg": "RS256",
            "e": b64url(public.exponent().big_endian_without_leading_zero()),
            "kid": self.kid,
            "kty": "RSA",
            "n": b64url(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        })
    }

    /// The PKCS#1 DER of the public key: the "secret" in an algorithm-confusion attack.
    pub fn public_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs `header.claims` with RS256 whatever the header says.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing");
        format!("{input}.{}", b64url(&signature))
    }

    /// A well-formed RS256 token with this key's `kid`.
    pub fn token(&self, claims: &Value) -> String {
        self.sign(&json!({"kid": self.kid, "alg": "RS256"}), claims)
    }
}

/// `{"keys": [...]}` for the given keys.
pub fn jwks_json(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// `header.claims.signature` with the given raw signature bytes (e.g. empty for `alg: none`).
pub fn unsigned_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}", signing_input(header, claims), b64url(signature))
}

/// An HS256 token MACed with `secret`.
pub fn hs256_token(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64url(tag.as_ref()))
}
