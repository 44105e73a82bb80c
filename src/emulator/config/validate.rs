//! Semantic checks of an emulator config. Every problem is collected (never just the
//! first) and phrased `key.path: what is wrong`, with the fix where there is one.
//!
//! Ranges follow Cognito's app-client limits (cognito-protocol.md §2.5) so a config that
//! works here is one Cognito would accept; only the test hooks may go shorter.

use std::collections::HashSet;
use std::time::Duration;

use super::{ClientConfig, EmulatorConfig, OAuthFlow, UserConfig};
use crate::emulator::scopes;

/// OIDC standard attributes a Cognito user pool knows (Cognito developer guide, "User
/// pool attributes"). `sub` is not settable: use the user's `sub` key.
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// Returns every problem in `config`; empty means valid.
pub fn validate(config: &EmulatorConfig) -> Vec<String> {
    let mut problems = Vec::new();
    check_pool(config, &mut problems);
    check_clients(config, &mut problems);
    check_users(config, &mut problems);
    problems
}

fn check_pool(config: &EmulatorConfig, problems: &mut Vec<String>) {
    match &config.base_url {
        Some(raw) => {
            if let Err(why) = check_origin(raw) {
                problems.push(format!("base_url: {why}"));
            }
        }
        None if config.listen.ip().is_unspecified() => problems.push(format!(
            "base_url: required when listen is {}; set the origin clients use, e.g. http://emulator:{}",
            config.listen,
            config.listen.port()
        )),
        None => {}
    }
    let region_ok = !config.region.is_empty()
        && config
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        problems.push(format!(
            "region: `{}` is not an AWS region code like us-east-1",
            config.region
        ));
    }
    let pool_ok = config
        .user_pool_id
        .strip_prefix(&format!("{}_", config.region))
        .is_some_and(|rest| {
            !rest.is_empty() && rest.len() <= 55 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    if !pool_ok {
        problems.push(format!(
            "user_pool_id: `{}` must be `<region>_<letters and digits>`, e.g. {}_LOCAL",
            config.user_pool_id, config.region
        ));
    }
    check_range(
        "code_validity",
        config.code_validity.get(),
        1,
        HOUR,
        problems,
    );
}

/// `base_url` must be a bare http(s) origin: the emulator appends its own paths.
fn check_origin(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{raw}` must start with http:// or https://"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{raw}` must be an origin only (scheme, host, port), without a path or query"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{raw}` must not contain user information"));
    }
    Ok(())
}

fn check_range(key: &str, value: Duration, min: u64, max: u64, problems: &mut Vec<String>) {
    let secs = value.as_secs();
    if value < Duration::from_secs(min) || secs > max {
        problems.push(format!(
            "{key}: must be between {} and {}",
            humantime::format_duration(Duration::from_secs(min)),
            humantime::format_duration(Duration::from_secs(max))
        ));
    }
}

fn check_clients(config: &EmulatorConfig, problems: &mut Vec<String>) {
    if config.clients.is_empty() {
        problems.push("clients: list at least one app client".into());
    }
    let mut seen = HashSet::new();
    for (i, client) in config.clients.iter().enumerate() {
        let at = format!("clients[{i}]");
        if !is_identifier(&client.client_id) {
            problems.push(format!(
                "{at}.client_id: must be 1-128 letters, digits, `-`, `_` or `.`"
            ));
        } else if !seen.insert(client.client_id.as_str()) {
            problems.push(format!(
                "{at}.client_id: `{}` is used by another client; client ids must be unique",
                client.client_id
            ));
        }
        check_client(&at, client, problems);
    }
}

fn check_client(at: &str, client: &ClientConfig, problems: &mut Vec<String>) {
    if client
        .client_secret
        .as_ref()
        .is_some_and(|s| s.expose().is_empty())
    {
        problems.push(format!(
            "{at}.client_secret: must not be empty; remove the key for a public client"
        ));
    }
    let flows = client.flows();
    if client.allowed_flows.as_ref().is_some_and(Vec::is_empty) {
        problems.push(format!(
            "{at}.allowed_flows: list at least one of code, client_credentials"
        ));
    }
    if flows.contains(&OAuthFlow::Code) && client.callback_urls.is_empty() {
        problems.push(format!(
            "{at}.callback_urls: the code flow needs at least one callback URL"
        ));
    }
    if client.allowed_flows.is_some() && flows.contains(&OAuthFlow::ClientCredentials) {
        if client.client_secret.is_none() {
            problems.push(format!(
                "{at}.allowed_flows: client_credentials needs a client_secret"
            ));
        }
        if !client.allowed_scopes.iter().any(|s| scopes::is_custom(s)) {
            problems.push(format!(
                "{at}.allowed_scopes: client_credentials needs at least one custom scope like orders-api/read"
            ));
        }
    }
    check_urls(
        &format!("{at}.callback_urls"),
        &client.callback_urls,
        problems,
    );
    check_urls(&format!("{at}.logout_urls"), &client.logout_urls, problems);
    check_scopes(
        &format!("{at}.allowed_scopes"),
        &client.allowed_scopes,
        problems,
    );
    for (key, value) in [
        ("id_token_validity", client.id_token_validity),
        ("access_token_validity", client.access_token_validity),
    ] {
        check_range(
            &format!("{at}.{key}"),
            value.get(),
            5 * MINUTE,
            DAY,
            problems,
        );
    }
    check_range(
        &format!("{at}.refresh_token_validity"),
        client.refresh_token_validity.get(),
        HOUR,
        3650 * DAY,
        problems,
    );
    if client.refresh_token_grace_period.get() > Duration::from_secs(60) {
        problems.push(format!(
            "{at}.refresh_token_grace_period: must be between 0s and 60s"
        ));
    }
}

fn check_urls(at: &str, urls: &[String], problems: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for (i, raw) in urls.iter().enumerate() {
        if let Err(why) = check_redirect_url(raw) {
            problems.push(format!("{at}[{i}]: {why}"));
        } else if !seen.insert(raw.as_str()) {
            problems.push(format!("{at}[{i}]: `{raw}` is listed twice"));
        }
    }
}

/// Registered callback and sign-out URLs: absolute, no fragment (cognito-protocol.md
/// §1.1), and printable ASCII so they can go into a `Location` header verbatim.
fn check_redirect_url(raw: &str) -> Result<(), String> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{raw}` must be a URL without spaces or non-ASCII characters"
        ));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not an absolute URL ({e})"))?;
    if url.fragment().is_some() {
        return Err(format!("`{raw}` must not contain a #fragment"));
    }
    if url.cannot_be_a_base() {
        return Err(format!("`{raw}` is not a usable redirect URL"));
    }
    Ok(())
}

fn check_scopes(at: &str, allowed: &[String], problems: &mut Vec<String>) {
    if allowed.is_empty() {
        problems.push(format!("{at}: list at least one scope, e.g. openid"));
    }
    let mut seen = HashSet::new();
    for (i, scope) in allowed.iter().enumerate() {
        if !scopes::is_reserved(scope) && !scopes::is_custom(scope) {
            problems.push(format!(
                "{at}[{i}]: unknown scope `{scope}`; use openid, email, phone, profile, aws.cognito.signin.user.admin or resource-server/scope"
            ));
        } else if !seen.insert(scope.as_str()) {
            problems.push(format!("{at}[{i}]: `{scope}` is listed twice"));
        }
    }
    let has_openid = allowed.iter().any(|s| s == "openid");
    for needs in scopes::NEED_OPENID {
        if !has_openid && allowed.iter().any(|s| s == needs) {
            problems.push(format!("{at}: `{needs}` also needs `openid`"));
        }
    }
}

fn check_users(config: &EmulatorConfig, problems: &mut Vec<String>) {
    let mut names = HashSet::new();
    let mut subs = HashSet::new();
    for (i, user) in config.users.iter().enumerate() {
        let at = format!("users[{i}]");
        if user.username.is_empty()
            || user.username.len() > 128
            || user.username.chars().any(char::is_whitespace)
        {
            problems.push(format!(
                "{at}.username: must be 1-128 characters without spaces"
            ));
        } else if !names.insert(user.username.to_lowercase()) {
            // Usernames are case-insensitive in new pools (cognito-protocol.md §5).
            problems.push(format!(
                "{at}.username: `{}` is used by another user (usernames are case-insensitive)",
                user.username
            ));
        }
        if user.password.expose().is_empty() {
            problems.push(format!("{at}.password: must not be empty"));
        }
        if let Some(sub) = &user.sub {
            if uuid::Uuid::parse_str(sub).is_err() {
                problems.push(format!(
                    "{at}.sub: `{sub}` is not a UUID like 7d8f2a44-5b1c-4e0f-9a3d-1c2b3a4d5e6f"
                ));
            }
        }
        if !subs.insert(user.resolved_sub(&config.user_pool_id)) {
            problems.push(format!("{at}.sub: is used by another user"));
        }
        check_user(&at, user, problems);
    }
}

fn check_user(at: &str, user: &UserConfig, problems: &mut Vec<String>) {
    for (name, value) in &user.attributes {
        let key = format!("{at}.attributes.{name}");
        let custom_ok = name.strip_prefix("custom:").is_some_and(|n| {
            !n.is_empty()
                && n.len() <= 20
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if name == "sub" {
            problems.push(format!("{key}: set the user's `sub` key instead"));
        } else if !custom_ok && !STANDARD_ATTRIBUTES.contains(&name.as_str()) {
            problems.push(format!(
                "{key}: not a standard attribute; custom attributes need the `custom:` prefix (1-20 letters, digits, `_`, `-`)"
            ));
        }
        if value.chars().count() > 2048 {
            problems.push(format!("{key}: values are limited to 2048 characters"));
        }
        if name.ends_with("_verified") && value != "true" && value != "false" {
            problems.push(format!("{key}: must be \"true\" or \"false\""));
        }
    }
    let mut seen = HashSet::new();
    for (i, group) in user.groups.iter().enumerate() {
        if group.is_empty() || group.len() > 128 || group.chars().any(char::is_control) {
            problems.push(format!(
                "{at}.groups[{i}]: must be 1-128 characters without control characters"
            ));
        } else if !seen.insert(group.as_str()) {
            problems.push(format!("{at}.groups[{i}]: `{group}` is listed twice"));
        }
    }
}

/// Client ids go into URLs, HTML and JSON; keep them to a safe alphabet.
fn is_identifier(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 128
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn with(f: impl FnOnce(&mut EmulatorConfig)) -> Vec<String> {
        let mut config = EmulatorConfig::demo();
        f(&mut config);
        validate(&config)
    }

    #[test]
    fn demo_pool_is_valid() {
        assert_eq!(validate(&EmulatorConfig::demo()), Vec::<String>::new());
    }

    #[test]
    fn duplicates_are_reported() {
        let found = with(|c| {
            let client = c.clients[0].clone();
            c.clients.push(client);
            c.users[1].username = "ALICE".into();
            c.users[1].sub = c.users[0].sub.clone();
        });
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("clients[1].client_id: `local-client` is used")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("users[1].username: `ALICE` is used")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with("users[1].sub: is used")),
            "{found:?}"
        );
    }

    #[test]
    fn bad_urls_scopes_and_passwords_are_reported() {
        let found = with(|c| {
            c.clients[0].callback_urls.push("not a url".into());
            c.clients[0].logout_urls.push("http://x/#frag".into());
            c.clients[0].allowed_scopes = vec!["email".into(), "bogus".into()];
            c.users[0].password = Secret::new(String::new());
            c.users[0].attributes.insert("shoe_size".into(), "9".into());
            c.users[0]
                .attributes
                .insert("email_verified".into(), "yes".into());
            c.users[0].sub = Some("nope".into());
        });
        for expected in [
            "clients[0].callback_urls[2]: ",
            "clients[0].logout_urls[2]: ",
            "clients[0].allowed_scopes[1]: unknown scope `bogus`",
            "clients[0].allowed_scopes: `email` also needs `openid`",
            "users[0].password: must not be empty",
            "users[0].attributes.shoe_size: not a standard attribute",
            "users[0].attributes.email_verified: must be",
            "users[0].sub: `nope` is not a UUID",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(expected)),
                "{expected} not in {found:?}"
            );
        }
    }

    #[test]
    fn lifetimes_follow_cognito_ranges() {
        let found = with(|c| {
            c.clients[0].id_token_validity = crate::config::HumanDuration::secs(60);
            c.clients[0].refresh_token_validity = crate::config::HumanDuration::secs(60);
        });
        assert!(found.iter().any(|p| p.starts_with("clients[0].id_token_validity: must be between 5m and 1day")), "{found:?}");
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("clients[0].refresh_token_validity: ")),
            "{found:?}"
        );
    }

    #[test]
    fn client_credentials_needs_a_secret_and_custom_scope() {
        let found = with(|c| {
            c.clients[0].client_secret = None;
            c.clients[0].allowed_flows = Some(vec![OAuthFlow::ClientCredentials]);
        });
        assert!(
            found
                .iter()
                .any(|p| p == "clients[0].allowed_flows: client_credentials needs a client_secret"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("clients[0].allowed_scopes: client_credentials needs")),
            "{found:?}"
        );
    }

    #[test]
    fn unspecified_listen_needs_base_url_and_base_url_is_an_origin() {
        let found = with(|c| c.listen = "0.0.0.0:4181".parse().unwrap());
        assert!(
            found.iter().any(|p| p.starts_with("base_url: required")),
            "{found:?}"
        );
        let found = with(|c| c.base_url = Some("http://emulator:4181/auth".into()));
        assert!(
            found.iter().any(|p| p.starts_with("base_url: ")),
            "{found:?}"
        );
        assert!(with(|c| c.base_url = Some("http://emulator:4181/".into())).is_empty());
    }

    #[test]
    fn pool_id_must_match_region() {
        let found = with(|c| c.user_pool_id = "eu-west-1_X".into());
        assert!(
            found.iter().any(|p| p.starts_with("user_pool_id: ")),
            "{found:?}"
        );
    }
}
