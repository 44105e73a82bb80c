//! Checks of `clients[]`: ids, secrets, flows, redirect URLs, scopes, lifetimes.

use std::collections::HashSet;
use std::time::Duration;

use super::{check_range, DAY, HOUR, MINUTE};
use crate::emulator::config::{ClientConfig, EmulatorConfig, OAuthFlow};
use crate::emulator::scopes;

pub(super) fn check_clients(config: &EmulatorConfig, problems: &mut Vec<String>) {
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

/// Client ids go into URLs, HTML and JSON; keep them to a safe alphabet.
fn is_identifier(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 128
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
