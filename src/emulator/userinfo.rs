//! `GET|POST /oauth2/userInfo` (cognito-protocol.md §1.4): a live check of an access
//! token issued here — signature, expiry, `openid` scope, and neither revoked nor
//! globally signed out — answered with the attributes its scopes allow, verified flags
//! as the strings `"true"`/`"false"` (unlike the ID token's booleans).

use http::header::WWW_AUTHENTICATE;
use http::request::Parts;
use http::{Response, StatusCode};
use serde_json::{Map, Value};

use super::request::bearer;
use super::response::{self, Body};
use super::stats::Stats;
use super::users::User;
use super::Emulator;

const INVALID_TOKEN: &str = "error=\"invalid_token\", error_description=\"Access token is expired, disabled, or deleted, or the user has globally signed out.\"";
const INVALID_REQUEST: &str =
    "error=\"invalid_request\", error_description=\"Bad OAuth2 request at UserInfo Endpoint\"";

/// Attributes the `profile` scope releases (besides every `custom:*` attribute).
const PROFILE: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];

pub fn handle(emulator: &Emulator, parts: &Parts) -> Response<Body> {
    Stats::count(&emulator.stats.userinfo_requests);
    let Some(token) = bearer(&parts.headers) else {
        return failure(StatusCode::BAD_REQUEST, "invalid_request", INVALID_REQUEST);
    };
    match check(emulator, token) {
        Some((user, scopes)) => response::json(StatusCode::OK, &claims(&user, &scopes)),
        None => failure(StatusCode::UNAUTHORIZED, "invalid_token", INVALID_TOKEN),
    }
}

fn failure(status: StatusCode, code: &str, challenge: &str) -> Response<Body> {
    response::with_header(
        response::oauth_error(status, code),
        WWW_AUTHENTICATE,
        challenge,
    )
}

/// The user and scopes of a usable access token.
fn check(emulator: &Emulator, token: &str) -> Option<(User, Vec<String>)> {
    let claims = emulator.keys.load().verify(token)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let exp = claims.get("exp").and_then(Value::as_u64)?;
    let scopes: Vec<String> = text("scope")?.split(' ').map(str::to_string).collect();
    let usable = text("token_use") == Some("access")
        && text("iss") == Some(emulator.pool.issuer.as_str())
        && exp > emulator.now().as_secs()
        // Tokens from the native API (no `openid`) are refused here (§1.4).
        && scopes.iter().any(|s| s == "openid")
        && text("origin_jti").is_some_and(|jti| emulator.store.family_active(jti));
    if !usable {
        return None;
    }
    let user = emulator
        .users
        .get(text("username")?)
        .filter(|u| u.enabled)?;
    (user.sub == text("sub")?).then_some((user, scopes))
}

/// The userInfo document for `user` under `scopes` (§1.4 table): `sub` and `username`
/// always; `openid` alone releases every attribute; otherwise `email`, `phone` and
/// `profile` each release their own set.
pub fn claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let everything = !has("email") && !has("phone") && !has("profile");
    let released = |name: &str| {
        everything
            || (has("email") && matches!(name, "email" | "email_verified"))
            || (has("phone") && matches!(name, "phone_number" | "phone_number_verified"))
            || (has("profile") && (PROFILE.contains(&name) || name.starts_with("custom:")))
    };
    let mut out = Map::new();
    out.insert("sub".into(), Value::from(user.sub.clone()));
    for (name, value) in &user.attributes {
        if released(name) {
            out.insert(name.clone(), Value::from(value.clone()));
        }
    }
    out.insert("username".into(), Value::from(user.username.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::EmulatorConfig;
    use crate::emulator::users::Directory;

    fn alice() -> User {
        let mut config = EmulatorConfig::demo();
        let attrs = &mut config.users[0].attributes;
        attrs.insert("name".into(), "Alice".into());
        attrs.insert("custom:tenant".into(), "t1".into());
        attrs.insert("phone_number".into(), "+15550100".into());
        Directory::new(&config).get("alice").unwrap()
    }

    fn keys(scopes: &[&str]) -> Vec<String> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        claims(&alice(), &scopes).keys().cloned().collect()
    }

    #[test]
    fn scopes_select_attributes() {
        assert_eq!(
            keys(&["openid", "email"]),
            vec!["email", "email_verified", "sub", "username"]
        );
        assert_eq!(
            keys(&["openid", "profile"]),
            vec!["custom:tenant", "name", "sub", "username"]
        );
        assert_eq!(
            keys(&["openid", "phone"]),
            vec!["phone_number", "sub", "username"]
        );
        assert_eq!(keys(&["openid"]).len(), 7);
    }

    #[test]
    fn verified_flags_are_strings() {
        let scopes = vec!["openid".to_string(), "email".to_string()];
        let out = claims(&alice(), &scopes);
        assert_eq!(out["email_verified"], Value::from("true"));
        assert_eq!(out["username"], Value::from("alice"));
    }
}
