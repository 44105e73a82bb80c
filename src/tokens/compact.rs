//! The JWS compact serialization (RFC 7515 §7.1) up to the point where a key is chosen:
//! exactly three base64url parts, a header whose `alg` is exactly `RS256` and which names
//! a `kid`. Everything here runs before any signature check, so it must reject cheaply
//! and never trust what it reads beyond picking the key and the preset. Key-carrying
//! header parameters (`jwk`, `jku`, `x5u`, `x5c`) are ignored: keys come only from the
//! pool's JWKS (RFC 8725 §3.10).

use base64::Engine;
use serde::Deserialize;

use super::TokenError;
use crate::config::TokenUse;

/// Longer than any Cognito token (1–4 KB even with many groups); bounds the work an
/// attacker can cause per request.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The three parts of a compact JWS, still encoded.
#[derive(Debug, PartialEq, Eq)]
pub struct Parts<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
}

/// Splits `token` into its three parts. Anything but exactly three non-empty,
/// unpadded base64url parts is refused (RFC 7515 §2 forbids padding; cognito-protocol
/// §2.6 step 1: "reject anything else").
pub fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed("the token is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "a JWT has exactly three dot-separated parts",
        ));
    };
    for part in [header, payload, signature] {
        if part.is_empty() || !part.bytes().all(is_base64url) {
            return Err(TokenError::Malformed(
                "a JWT part is not unpadded base64url",
            ));
        }
    }
    Ok(Parts {
        header,
        payload,
        signature,
    })
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    alg: serde_json::Value,
    #[serde(default)]
    kid: serde_json::Value,
    #[serde(default)]
    crit: serde_json::Value,
}

/// Reads the protected header and returns the `kid`. The algorithm is pinned: `alg`
/// must be the string `RS256`, compared exactly, so `none`, `HS256` (algorithm
/// confusion with the RSA public key as HMAC secret), `ES*`, `PS*` and friends are
/// refused before any key lookup (RFC 8725 §2.1, §3.1).
pub fn key_id(header_part: &str) -> Result<String, TokenError> {
    let header: RawHeader = decode_json(header_part)?;
    if header.alg.as_str() != Some("RS256") {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    // RFC 7515 §4.1.11: a recipient that does not understand a listed critical
    // extension must reject the JWS; we understand none, and Cognito sends none.
    if !header.crit.is_null() {
        return Err(TokenError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    match header.kid.as_str() {
        Some(kid) if !kid.is_empty() => Ok(kid.to_string()),
        _ => Err(TokenError::Malformed("the header names no kid")),
    }
}

#[derive(Deserialize)]
struct RawTokenUse {
    #[serde(default)]
    token_use: serde_json::Value,
}

/// The payload's `token_use` before verification, used only to choose which preset then
/// verifies the token fully; the preset checks it again on the verified claims.
pub fn unverified_token_use(payload_part: &str) -> Result<TokenUse, TokenError> {
    let payload: RawTokenUse = decode_json(payload_part)?;
    match payload.token_use.as_str() {
        Some("access") => Ok(TokenUse::Access),
        Some("id") => Ok(TokenUse::Id),
        None => Err(TokenError::MissingClaim("token_use")),
        Some(_) => Err(TokenError::WrongTokenUse),
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed("a JWT part is not unpadded base64url"))?;
    let not_an_object = TokenError::Malformed("a JWT part is not a JSON object");
    // Serde's derived structs also accept arrays; RFC 7515 §4 and RFC 7519 §7.2 demand
    // a JSON object, so check that before picking fields.
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| not_an_object.clone())?;
    if !value.is_object() {
        return Err(not_an_object);
    }
    T::deserialize(value).map_err(|_| not_an_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp_stub::b64url;
    use proptest::prelude::*;
    use serde_json::json;

    fn header(value: serde_json::Value) -> String {
        b64url(value.to_string().as_bytes())
    }

    #[test]
    fn splits_three_parts_only() {
        assert_eq!(
            split("a.b.c").unwrap(),
            Parts {
                header: "a",
                payload: "b",
                signature: "c"
            }
        );
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            "a..c",
            ".b.c",
            "a.b.",
            "a.b.c=",
            "a.b+.c",
            "a.b/.c",
            " a.b.c",
            "a.b.c\n",
            "a.b.c.",
        ] {
            assert!(
                matches!(split(bad), Err(TokenError::Malformed(_))),
                "{bad:?}"
            );
        }
        let huge = format!("a.{}.c", "b".repeat(MAX_TOKEN_BYTES));
        assert_eq!(
            split(&huge),
            Err(TokenError::Malformed("the token is too long"))
        );
    }

    #[test]
    fn only_rs256_is_accepted() {
        assert_eq!(
            key_id(&header(json!({"alg": "RS256", "kid": "k+/="}))).unwrap(),
            "k+/="
        );
        for alg in [
            json!("none"),
            json!("None"),
            json!("NONE"),
            json!("HS256"),
            json!("RS384"),
            json!("RS512"),
            json!("PS256"),
            json!("ES256"),
            json!("EdDSA"),
            json!("rs256"),
            json!("RS256 "),
            json!(""),
            json!(null),
            json!(["RS256"]),
            json!(256),
        ] {
            let part = header(json!({"alg": alg, "kid": "k"}));
            assert_eq!(
                key_id(&part),
                Err(TokenError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        assert_eq!(
            key_id(&header(json!({"kid": "k"}))),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn kid_is_required_and_crit_refused() {
        for h in [
            json!({"alg": "RS256"}),
            json!({"alg": "RS256", "kid": ""}),
            json!({"alg": "RS256", "kid": 7}),
        ] {
            assert!(matches!(key_id(&header(h)), Err(TokenError::Malformed(_))));
        }
        let crit = header(json!({"alg": "RS256", "kid": "k", "crit": ["exp"]}));
        assert!(matches!(key_id(&crit), Err(TokenError::Malformed(_))));
        assert!(matches!(
            key_id(&b64url(b"[1,2]")),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(key_id("!!!"), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn token_use_picks_the_preset() {
        let part = |v: serde_json::Value| b64url(v.to_string().as_bytes());
        assert_eq!(
            unverified_token_use(&part(json!({"token_use": "access"}))),
            Ok(TokenUse::Access)
        );
        assert_eq!(
            unverified_token_use(&part(json!({"token_use": "id"}))),
            Ok(TokenUse::Id)
        );
        assert_eq!(
            unverified_token_use(&part(json!({"token_use": "refresh"}))),
            Err(TokenError::WrongTokenUse)
        );
        assert_eq!(
            unverified_token_use(&part(json!({}))),
            Err(TokenError::MissingClaim("token_use"))
        );
    }

    proptest! {
        #[test]
        fn split_never_panics_and_yields_three_clean_parts(token in ".{0,64}") {
            if let Ok(parts) = split(&token) {
                prop_assert_eq!(token.matches('.').count(), 2);
                for part in [parts.header, parts.payload, parts.signature] {
                    prop_assert!(!part.is_empty() && part.bytes().all(is_base64url));
                }
            }
        }

        #[test]
        fn key_id_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = key_id(&b64url(&bytes));
        }
    }
}
