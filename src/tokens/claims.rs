//! Cognito's ID and access token claims (cognito-protocol §2.2, §2.3) as typed structs,
//! with the quirks absorbed here: `cognito:` prefixed names, `cognito:groups` omitted
//! when empty, and `email_verified` as a boolean or as the string `"true"`/`"false"`.
//! Unknown claims (custom attributes, `identities`, `at_hash`, …) are ignored.

use serde::{Deserialize, Deserializer, Serialize};

use crate::identity::Identity;

/// Claims of a verified Cognito ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub iss: String,
    /// The app client the user signed in to; always a single string for Cognito.
    pub aud: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    #[serde(
        rename = "cognito:username",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub username: Option<String>,
    #[serde(
        rename = "cognito:groups",
        default,
        deserialize_with = "groups",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(
        default,
        deserialize_with = "bool_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_jti: Option<String>,
}

/// Claims of a verified Cognito access token. There is no `aud`; `client_id` names the
/// app client (cognito-protocol §2.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub iss: String,
    pub client_id: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// Absent on client-credentials tokens, whose `sub` is the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Space-separated granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(
        rename = "cognito:groups",
        default,
        deserialize_with = "groups",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_jti: Option<String>,
}

impl IdClaims {
    /// The caller as the upstream sees it; `user` is `cognito:username`, else `sub`.
    pub fn identity(&self) -> Identity {
        Identity {
            sub: self.sub.clone(),
            user: user_or_sub(self.username.as_deref(), &self.sub),
            email: self.email.clone(),
            groups: self.groups.clone(),
            expires_at: self.exp,
        }
    }
}

impl AccessClaims {
    /// The caller as the upstream sees it; `user` is `username`, else `sub`. Access
    /// tokens carry no email.
    pub fn identity(&self) -> Identity {
        Identity {
            sub: self.sub.clone(),
            user: user_or_sub(self.username.as_deref(), &self.sub),
            email: None,
            groups: self.groups.clone(),
            expires_at: self.exp,
        }
    }

    /// The granted scopes, split on spaces (RFC 6749 §3.3).
    pub fn scopes(&self) -> Vec<String> {
        self.scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn user_or_sub(user: Option<&str>, sub: &str) -> String {
    user.filter(|u| !u.is_empty()).unwrap_or(sub).to_string()
}

/// `cognito:groups`: an array of strings; omitted or `null` means no groups.
fn groups<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// `email_verified` is a boolean in ID tokens but the string `"true"`/`"false"` in
/// userInfo and ALB claims (cognito-protocol §1.4); accept both. Any other string means
/// "unknown" rather than failing the whole token.
fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Flag>::deserialize(d)? {
        Some(Flag::Bool(b)) => Some(b),
        Some(Flag::Text(t)) if t.eq_ignore_ascii_case("true") => Some(true),
        Some(Flag::Text(t)) if t.eq_ignore_ascii_case("false") => Some(false),
        Some(Flag::Text(_)) | None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(extra: serde_json::Value) -> IdClaims {
        let mut claims = json!({"sub": "s-1", "iss": "https://i", "aud": "c", "exp": 10});
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(claims).unwrap()
    }

    #[test]
    fn email_verified_accepts_bool_and_string() {
        assert_eq!(
            id(json!({"email_verified": true})).email_verified,
            Some(true)
        );
        assert_eq!(
            id(json!({"email_verified": "true"})).email_verified,
            Some(true)
        );
        assert_eq!(
            id(json!({"email_verified": "false"})).email_verified,
            Some(false)
        );
        assert_eq!(id(json!({"email_verified": "maybe"})).email_verified, None);
        assert_eq!(id(json!({})).email_verified, None);
    }

    #[test]
    fn groups_absent_or_null_are_empty() {
        assert!(id(json!({})).groups.is_empty());
        assert!(id(json!({"cognito:groups": null})).groups.is_empty());
        assert_eq!(id(json!({"cognito:groups": ["a", "b"]})).groups, ["a", "b"]);
    }

    #[test]
    fn identity_prefers_the_username_then_sub() {
        let claims =
            id(json!({"cognito:username": "jdoe", "email": "j@x", "cognito:groups": ["g"]}));
        let who = claims.identity();
        assert_eq!((who.sub.as_str(), who.user.as_str()), ("s-1", "jdoe"));
        assert_eq!(who.email.as_deref(), Some("j@x"));
        assert_eq!((who.groups, who.expires_at), (vec!["g".to_string()], 10));
        assert_eq!(id(json!({})).identity().user, "s-1");
        assert_eq!(id(json!({"cognito:username": ""})).identity().user, "s-1");
    }

    #[test]
    fn access_scopes_and_client_credentials_identity() {
        let claims: AccessClaims = serde_json::from_value(json!({
            "sub": "client-1", "iss": "https://i", "client_id": "client-1", "exp": 5,
            "scope": "orders-api/read  orders-api/write", "version": 2
        }))
        .unwrap();
        assert_eq!(claims.scopes(), ["orders-api/read", "orders-api/write"]);
        let who = claims.identity();
        assert_eq!((who.user.as_str(), who.email), ("client-1", None));
    }

    #[test]
    fn claims_round_trip_through_json() {
        let claims = id(json!({"cognito:username": "u", "cognito:groups": ["g"], "nonce": "n"}));
        let back: IdClaims =
            serde_json::from_value(serde_json::to_value(&claims).unwrap()).unwrap();
        assert_eq!(back, claims);
    }
}
