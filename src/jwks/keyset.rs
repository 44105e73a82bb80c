//! From a JWKS document (RFC 7517 §5) to the verification keys the sidecar accepts.
//!
//! Only keys that can verify RS256 survive (RFC 8725 §3.1: one algorithm, pinned):
//! `kty` is `RSA`, `use` is `sig` or absent (RFC 7517 §4.2), `key_ops` includes `verify`
//! when present (§4.3), `alg` is `RS256` or absent (§4.4), a `kid` is present, and the
//! modulus is 2048–8192 bits (the range aws-lc's RS256 verifier accepts). Anything else
//! is skipped one key at a time, so an unfamiliar entry never discards the whole set.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

/// `kid` → key, as published by the pool.
pub type KeySet = HashMap<String, Arc<DecodingKey>>;

/// A JWKS larger than this many entries is read only this far; Cognito publishes two.
const MAX_KEYS: usize = 64;
const MIN_MODULUS_BYTES: usize = 2048 / 8;
const MAX_MODULUS_BYTES: usize = 8192 / 8;
const MAX_EXPONENT_BYTES: usize = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeySetError {
    #[error("the JWKS is not a JSON object with a `keys` array")]
    NotAJwks,
    #[error("the JWKS has no RSA key usable for RS256 signatures")]
    NoUsableKey,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(rename = "use")]
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// Parses a JWKS body into the usable keys; an empty result is an error so the caller
/// keeps its previous set.
pub fn parse(body: &[u8]) -> Result<KeySet, KeySetError> {
    let document: Document = serde_json::from_slice(body).map_err(|_| KeySetError::NotAJwks)?;
    let mut keys = KeySet::new();
    for value in document.keys.into_iter().take(MAX_KEYS) {
        let Ok(jwk) = serde_json::from_value::<RawJwk>(value) else {
            continue;
        };
        if let Some((kid, key)) = usable(&jwk) {
            // Key ids should be unique (RFC 7517 §4.5); on a duplicate the first one wins.
            keys.entry(kid).or_insert_with(|| Arc::new(key));
        }
    }
    if keys.is_empty() {
        return Err(KeySetError::NoUsableKey);
    }
    Ok(keys)
}

fn usable(jwk: &RawJwk) -> Option<(String, DecodingKey)> {
    if jwk.kty != "RSA" {
        return None;
    }
    if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return None;
    }
    if jwk.alg.as_deref().is_some_and(|alg| alg != "RS256") {
        return None;
    }
    let kid = jwk.kid.as_ref().filter(|kid| !kid.is_empty())?;
    let n = unsigned_integer(jwk.n.as_deref()?)?;
    let e = unsigned_integer(jwk.e.as_deref()?)?;
    if !(MIN_MODULUS_BYTES..=MAX_MODULUS_BYTES).contains(&n.len()) || e.len() > MAX_EXPONENT_BYTES {
        return None;
    }
    Some((kid.clone(), DecodingKey::from_rsa_raw_components(&n, &e)))
}

/// Decodes a Base64urlUInt (RFC 7518 §2) and strips leading zero bytes. Padding is
/// tolerated because some publishers add it; an empty or all-zero value is refused.
fn unsigned_integer(encoded: &str) -> Option<Vec<u8>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()?;
    let first = bytes.iter().position(|b| *b != 0)?;
    Some(bytes.get(first..)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp_stub::{jwks_json, test_key};
    use serde_json::json;

    fn with(mutate: impl FnOnce(&mut serde_json::Value)) -> Result<KeySet, KeySetError> {
        let mut jwk = test_key(0).jwk();
        mutate(&mut jwk);
        parse(json!({ "keys": [jwk] }).to_string().as_bytes())
    }

    #[test]
    fn cognito_shaped_jwks_yields_every_key() {
        let body = jwks_json(&[test_key(0), test_key(1)]).to_string();
        let keys = parse(body.as_bytes()).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains_key(&test_key(0).kid));
        assert!(keys.contains_key(&test_key(1).kid));
    }

    #[test]
    fn optional_use_and_alg_may_be_absent() {
        let keys = with(|jwk| {
            jwk.as_object_mut().unwrap().remove("use");
            jwk.as_object_mut().unwrap().remove("alg");
        })
        .unwrap();
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn keys_not_for_rs256_signatures_are_refused() {
        for (field, value) in [
            ("kty", json!("EC")),
            ("use", json!("enc")),
            ("alg", json!("RS512")),
            ("alg", json!("HS256")),
            ("key_ops", json!(["encrypt"])),
            ("kid", json!("")),
            ("n", json!("AQAB")),
            ("n", json!("not base64!")),
            ("e", json!("AAAA")),
        ] {
            let result = with(|jwk| jwk[field] = value.clone());
            assert_eq!(
                result.unwrap_err(),
                KeySetError::NoUsableKey,
                "{field}={value}"
            );
        }
        assert_eq!(
            with(|jwk| {
                jwk.as_object_mut().unwrap().remove("kid");
            })
            .unwrap_err(),
            KeySetError::NoUsableKey
        );
    }

    #[test]
    fn one_odd_entry_does_not_discard_the_others() {
        let body = json!({ "keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "abc", "kid": "ed"},
            {"kty": "RSA", "kid": "broken", "n": 5},
            "not even an object",
            test_key(0).jwk(),
        ]});
        let keys = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains_key(&test_key(0).kid));
    }

    #[test]
    fn garbage_is_not_a_jwks() {
        for body in [
            &b""[..],
            b"[]",
            b"{}",
            b"{\"keys\": 3}",
            b"<html>",
            b"\xff\xfe",
        ] {
            assert_eq!(parse(body).unwrap_err(), KeySetError::NotAJwks);
        }
        assert_eq!(
            parse(b"{\"keys\": []}").unwrap_err(),
            KeySetError::NoUsableKey
        );
    }

    #[test]
    fn base64url_integers_tolerate_padding_and_leading_zeros() {
        assert_eq!(unsigned_integer("AQAB"), Some(vec![1, 0, 1]));
        assert_eq!(unsigned_integer("AAEAAQ=="), Some(vec![1, 0, 1]));
        assert_eq!(unsigned_integer("AAAA"), None);
        assert_eq!(unsigned_integer(""), None);
    }
}
