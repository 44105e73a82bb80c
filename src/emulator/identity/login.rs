//! Checking a `Logins` map against the emulator's own user pool, as the identity pool
//! checks a Cognito user pool provider (cognito-protocol.md §4.2): the key is the
//! issuer without its scheme, the value an **ID token** of the pool, signed by a
//! published key, for an accepted app client, not expired, and not revoked.
//!
//! Failures carry the message Cognito's `NotAuthorizedException` would.

use serde_json::{Map, Value};

use crate::emulator::config::IdentityPoolConfig;
use crate::emulator::Emulator;

/// What was wrong with a login: a `NotAuthorizedException` (the token) or an
/// `InvalidParameterException` (the request's shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    NotAuthorized(String),
    InvalidParameter(String),
}

/// The provider name of an issuer: the issuer without `https://` / `http://`.
pub fn provider_name(issuer: &str) -> &str {
    issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))
        .unwrap_or(issuer)
}

/// The `sub` of the user the `Logins` map proves, for `pool`.
pub fn verify(
    emulator: &Emulator,
    pool: &IdentityPoolConfig,
    logins: &Map<String, Value>,
    now: u64,
) -> Result<String, LoginError> {
    let provider = provider_name(&emulator.pool.issuer);
    let mut entries = logins.iter();
    let (Some((key, value)), None) = (entries.next(), entries.next()) else {
        return Err(LoginError::InvalidParameter(
            "Logins must name exactly one provider".into(),
        ));
    };
    if key != provider {
        return Err(LoginError::NotAuthorized(
            "Invalid login token. Token is not from a supported provider of this identity pool."
                .into(),
        ));
    }
    let token = value
        .as_str()
        .ok_or_else(|| LoginError::InvalidParameter("Logins values must be strings".into()))?;
    let claims = emulator.keys.load().verify(token).ok_or_else(|| {
        LoginError::NotAuthorized("Invalid login token. Couldn't verify signed token.".into())
    })?;
    let allowed = |aud: &str| {
        if pool.client_ids.is_empty() {
            emulator.pool.client(aud).is_some()
        } else {
            pool.client_ids.iter().any(|c| c == aud)
        }
    };
    let sub = check_claims(&claims, &emulator.pool.issuer, allowed, now)
        .map_err(LoginError::NotAuthorized)?;
    // A revoked sign-in (revoke or global sign-out) is refused like at userInfo.
    let active = claims
        .get("origin_jti")
        .and_then(Value::as_str)
        .is_none_or(|jti| emulator.store.family_active(jti));
    if !active {
        return Err(LoginError::NotAuthorized(
            "Invalid login token. Token has been revoked.".into(),
        ));
    }
    Ok(sub)
}

/// The claim checks of a verified token: an ID token (§4.2: "passing an access token
/// for a user-pool login is a common mistake"), from `issuer`, for an accepted client,
/// not expired. Returns its `sub`.
pub fn check_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    client_allowed: impl Fn(&str) -> bool,
    now: u64,
) -> Result<String, String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("token_use") != Some("id") {
        return Err("Invalid login token. Not a valid OpenId Connect identity token.".into());
    }
    if text("iss") != Some(issuer) {
        return Err("Invalid login token. Issuer doesn't match providerName".into());
    }
    if !text("aud").is_some_and(client_allowed) {
        return Err("Invalid login token. Incorrect token audience.".into());
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or("Invalid login token. Couldn't verify signed token.")?;
    if exp <= now {
        return Err(format!(
            "Invalid login token. Token expired: {now} >= {exp}"
        ));
    }
    text("sub")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "Invalid login token. Couldn't verify signed token.".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "http://127.0.0.1:4181/us-east-1_LOCAL";

    fn claims(overrides: Value) -> Map<String, Value> {
        let mut base = json!({
            "sub": "u-1", "iss": ISS, "aud": "local-client", "token_use": "id", "exp": 2000
        });
        if let (Some(b), Some(o)) = (base.as_object_mut(), overrides.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        base.as_object().cloned().unwrap_or_default()
    }

    fn check(overrides: Value) -> Result<String, String> {
        check_claims(&claims(overrides), ISS, |aud| aud == "local-client", 1000)
    }

    #[test]
    fn a_current_id_token_of_an_accepted_client_passes() {
        assert_eq!(check(json!({})), Ok("u-1".into()));
    }

    #[test]
    fn wrong_tokens_are_refused_with_cognitos_messages() {
        for (overrides, expected) in [
            (
                json!({"token_use": "access"}),
                "Not a valid OpenId Connect identity token",
            ),
            (
                json!({"iss": "http://evil/us-east-1_LOCAL"}),
                "Issuer doesn't match",
            ),
            (json!({"aud": "other-client"}), "Incorrect token audience"),
            (json!({"exp": 1000}), "Token expired: 1000 >= 1000"),
            (json!({"exp": "later"}), "Couldn't verify"),
            (json!({"sub": ""}), "Couldn't verify"),
        ] {
            let found = check(overrides.clone()).unwrap_err();
            assert!(found.contains(expected), "{overrides}: {found}");
        }
    }

    #[test]
    fn the_provider_is_the_issuer_without_scheme() {
        assert_eq!(provider_name(ISS), "127.0.0.1:4181/us-east-1_LOCAL");
        assert_eq!(
            provider_name("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X"),
            "cognito-idp.us-east-1.amazonaws.com/us-east-1_X"
        );
    }
}
