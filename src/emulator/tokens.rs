//! Cognito-shaped claim sets (cognito-protocol.md §2.2 ID token, §2.3 access token) and
//! opaque refresh tokens (§2.4). Pure: callers pass times, ids and the user; signing is
//! [`super::keys`]' job.
//!
//! Claims are kept in Cognito's observed order (serde_json's map would sort them), so a
//! decoded emulator token reads like a real one.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// An ordered JSON object of claims.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(Vec<(String, Value)>);

impl Claims {
    fn push(&mut self, name: &str, value: impl Into<Value>) {
        self.0.push((name.to_string(), value.into()));
    }

    #[cfg(test)]
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing strings, numbers and arrays into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The signed-in user as tokens see them.
pub struct Subject<'a> {
    pub username: &'a str,
    pub sub: &'a str,
    pub groups: &'a [String],
    pub attributes: &'a BTreeMap<String, String>,
}

/// One authentication event: fixed at sign-in, carried unchanged through refreshes.
pub struct SignIn<'a> {
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub auth_time: u64,
    pub origin_jti: &'a str,
    pub event_id: &'a str,
}

/// Issue and expiry times (Unix seconds) and the token's own id.
pub struct Stamp<'a> {
    pub iat: u64,
    pub exp: u64,
    pub jti: &'a str,
}

/// A user access token: no `aud` (the `client_id` claim plays that role), `version: 2`,
/// `scope` space-joined, `username` last (§2.3).
pub fn access_token(issuer: &str, user: &Subject, sign_in: &SignIn, stamp: &Stamp) -> Claims {
    let mut c = Claims::default();
    c.push("sub", user.sub);
    if !user.groups.is_empty() {
        c.push("cognito:groups", user.groups.to_vec());
    }
    c.push("iss", issuer);
    c.push("version", 2);
    c.push("client_id", sign_in.client_id);
    c.push("origin_jti", sign_in.origin_jti);
    c.push("event_id", sign_in.event_id);
    c.push("token_use", "access");
    c.push("scope", sign_in.scopes.join(" "));
    c.push("auth_time", sign_in.auth_time);
    c.push("exp", stamp.exp);
    c.push("iat", stamp.iat);
    c.push("jti", stamp.jti);
    c.push("username", user.username);
    c
}

/// An ID token: `aud` is a string, `email_verified` a boolean, `cognito:groups` omitted
/// when empty, `nonce` only when the authorize request sent one, every other attribute
/// (including `custom:*`) a string (§2.2).
pub fn id_token(
    issuer: &str,
    user: &Subject,
    sign_in: &SignIn,
    stamp: &Stamp,
    nonce: Option<&str>,
    at_hash: &str,
) -> Claims {
    let mut c = Claims::default();
    c.push("at_hash", at_hash);
    c.push("sub", user.sub);
    if !user.groups.is_empty() {
        c.push("cognito:groups", user.groups.to_vec());
    }
    if let Some(v) = user.attributes.get("email_verified") {
        c.push("email_verified", attribute_claim("email_verified", v));
    }
    c.push("iss", issuer);
    c.push("cognito:username", user.username);
    if let Some(nonce) = nonce {
        c.push("nonce", nonce);
    }
    c.push("origin_jti", sign_in.origin_jti);
    c.push("aud", sign_in.client_id);
    c.push("event_id", sign_in.event_id);
    c.push("token_use", "id");
    c.push("auth_time", sign_in.auth_time);
    c.push("exp", stamp.exp);
    c.push("iat", stamp.iat);
    c.push("jti", stamp.jti);
    for (name, value) in user.attributes {
        if name != "email_verified" {
            c.push(name, attribute_claim(name, value));
        }
    }
    c
}

/// A client-credentials access token: `sub` is the client id; no username, groups,
/// `origin_jti` or `event_id` (§2.3 example).
pub fn client_credentials_token(
    issuer: &str,
    client_id: &str,
    scopes: &[String],
    stamp: &Stamp,
) -> Claims {
    let mut c = Claims::default();
    c.push("sub", client_id);
    c.push("token_use", "access");
    c.push("scope", scopes.join(" "));
    c.push("auth_time", stamp.iat);
    c.push("iss", issuer);
    c.push("exp", stamp.exp);
    c.push("iat", stamp.iat);
    c.push("version", 2);
    c.push("jti", stamp.jti);
    c.push("client_id", client_id);
    c
}

/// How an attribute appears in an ID token: `*_verified` as booleans, `updated_at` as a
/// number, everything else (custom attributes included) as the stored string.
pub fn attribute_claim(name: &str, value: &str) -> Value {
    match name {
        "email_verified" | "phone_number_verified" => Value::Bool(value == "true"),
        "updated_at" => value
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(value)),
        _ => Value::from(value),
    }
}

/// `at_hash` (OIDC Core §3.1.3.6): base64url of the left half of SHA-256 of the access
/// token's ASCII form.
pub fn at_hash(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(bytes.get(..bytes.len() / 2).unwrap_or(bytes))
}

/// The protected header every real Cognito refresh token starts with (§2.4).
pub const REFRESH_TOKEN_HEADER: &str =
    "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ";

/// A fresh opaque refresh token shaped like Cognito's JWE (5 segments, ~1.7 KB) but
/// carrying only random bytes: the server-side record is what gives it meaning.
pub fn new_refresh_token() -> String {
    // RSA-OAEP encrypted key (256), IV (12), ciphertext, tag (16): JWE compact, RFC 7516 §7.1.
    let sizes = [256usize, 12, 960, 16];
    let mut out = String::from(REFRESH_TOKEN_HEADER);
    for size in sizes {
        let mut bytes = vec![0u8; size];
        // The OS RNG only fails when the system has no entropy source at all; the
        // all-zero fallback would still be unique per record only by chance, so also
        // mix in a UUID (which has its own RNG path).
        if aws_lc_rs::rand::fill(&mut bytes).is_err() {
            let id = uuid::Uuid::new_v4();
            for (b, r) in bytes.iter_mut().zip(id.as_bytes().iter().cycle()) {
                *b = *r;
            }
        }
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(bytes));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("email".to_string(), "a@example.com".to_string()),
            ("email_verified".to_string(), "true".to_string()),
            ("custom:tenant".to_string(), "42".to_string()),
        ])
    }

    fn fixture<R>(groups: &[String], f: impl FnOnce(&Subject, &SignIn, &Stamp) -> R) -> R {
        let attributes = attrs();
        let scopes = vec!["openid".to_string(), "email".to_string()];
        let user = Subject {
            username: "alice",
            sub: "sub-1",
            groups,
            attributes: &attributes,
        };
        let sign_in = SignIn {
            client_id: "client",
            scopes: &scopes,
            auth_time: 100,
            origin_jti: "origin",
            event_id: "event",
        };
        let stamp = Stamp {
            iat: 200,
            exp: 3800,
            jti: "jti-1",
        };
        f(&user, &sign_in, &stamp)
    }

    #[test]
    fn access_token_has_exactly_cognito_claims() {
        let groups = vec!["admins".to_string()];
        let c = fixture(&groups, |u, s, t| access_token("iss", u, s, t));
        assert_eq!(
            c.names(),
            vec![
                "sub",
                "cognito:groups",
                "iss",
                "version",
                "client_id",
                "origin_jti",
                "event_id",
                "token_use",
                "scope",
                "auth_time",
                "exp",
                "iat",
                "jti",
                "username"
            ]
        );
        assert_eq!(c.get("scope"), Some(&Value::from("openid email")));
        assert_eq!(c.get("version"), Some(&Value::from(2)));
    }

    #[test]
    fn id_token_types_and_optional_claims() {
        let c = fixture(&[], |u, s, t| id_token("iss", u, s, t, Some("n-1"), "hash"));
        assert_eq!(
            c.names(),
            vec![
                "at_hash",
                "sub",
                "email_verified",
                "iss",
                "cognito:username",
                "nonce",
                "origin_jti",
                "aud",
                "event_id",
                "token_use",
                "auth_time",
                "exp",
                "iat",
                "jti",
                "custom:tenant",
                "email"
            ]
        );
        assert_eq!(c.get("email_verified"), Some(&Value::Bool(true)));
        assert_eq!(c.get("aud"), Some(&Value::from("client")));
        assert_eq!(c.get("custom:tenant"), Some(&Value::from("42")));
        let without_nonce = fixture(&[], |u, s, t| id_token("iss", u, s, t, None, "hash"));
        assert!(without_nonce.get("nonce").is_none());
    }

    #[test]
    fn client_credentials_token_has_client_as_subject() {
        let scopes = vec!["api/read".to_string()];
        let stamp = Stamp {
            iat: 1,
            exp: 2,
            jti: "j",
        };
        let c = client_credentials_token("iss", "svc", &scopes, &stamp);
        assert_eq!(c.get("sub"), Some(&Value::from("svc")));
        assert!(c.get("username").is_none());
        assert!(c.get("aud").is_none());
    }

    #[test]
    fn claims_serialize_in_order() {
        let c = fixture(&[], |u, s, t| access_token("iss", u, s, t));
        let text = String::from_utf8(c.to_json()).unwrap();
        assert!(
            text.starts_with(r#"{"sub":"sub-1","iss":"iss","version":2"#),
            "{text}"
        );
    }

    #[test]
    fn at_hash_matches_oidc_definition() {
        // Left 16 bytes of SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223.
        assert_eq!(at_hash("abc"), "ungWv48Bz-pBQUDeXa4iIw");
    }

    #[test]
    fn attribute_typing() {
        assert_eq!(
            attribute_claim("phone_number_verified", "false"),
            Value::Bool(false)
        );
        assert_eq!(
            attribute_claim("updated_at", "1700000000"),
            Value::from(1_700_000_000u64)
        );
        assert_eq!(attribute_claim("custom:n", "7"), Value::from("7"));
    }

    #[test]
    fn refresh_tokens_look_like_cognito_jwe() {
        let a = new_refresh_token();
        let b = new_refresh_token();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("{REFRESH_TOKEN_HEADER}.")));
        assert_eq!(a.split('.').count(), 5);
        assert!((1600..1900).contains(&a.len()), "{}", a.len());
    }
}
