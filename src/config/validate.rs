//! Semantic checks on a parsed [`Config`]: each returns every problem found, phrased as
//! `key.path: what is wrong and how to fix it` (one function per section, as
//! oauth2-proxy's `pkg/validation` does).

use base64::Engine;

use super::server::{ServerConfig, MAX_WORKERS};
use super::types::*;

/// Checks that need the whole config (sections are checked as they are parsed).
pub fn top_level(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    whole(config, &mut problems);
    problems.extend(super::identity_pool::validate_against(config));
    problems
}

fn whole(config: &Config, problems: &mut Vec<String>) {
    if config.metrics_listen == Some(config.listen) {
        problems.push(
            "metrics_listen: must differ from listen; metrics are never served on the public listener"
                .into(),
        );
    }
}

pub fn upstream(url: &url::Url) -> Vec<String> {
    let mut problems = Vec::new();
    http_url("upstream", url, &mut problems);
    problems
}

pub fn public_url(url: &url::Url) -> Vec<String> {
    let mut problems = Vec::new();
    http_url("public_url", url, &mut problems);
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        problems.push(
            "public_url: must be an origin only (scheme, host, optional port), like https://app.example.com"
                .into(),
        );
    }
    problems
}

pub fn proxy_prefix(prefix: &str) -> Vec<String> {
    if !prefix.starts_with('/') || prefix.ends_with('/') || prefix.len() < 2 {
        return vec![format!(
            "proxy_prefix: `{prefix}` must start with `/` and not end with `/`, like /oauth2"
        )];
    }
    Vec::new()
}

pub fn trusted_proxies(ranges: &[String]) -> Vec<String> {
    ranges
        .iter()
        .enumerate()
        .filter(|(_, cidr)| crate::net::Cidr::parse(cidr).is_none())
        .map(|(i, cidr)| {
            format!(
                "trusted_proxies[{i}]: `{cidr}` is not an IP address or CIDR range like 10.0.0.0/8"
            )
        })
        .collect()
}

fn http_url(key: &str, url: &url::Url, problems: &mut Vec<String>) {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        problems.push(format!(
            "{key}: `{url}` must be an http:// or https:// URL with a host"
        ));
    }
}

pub fn server(s: &ServerConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if s.max_connections == 0 {
        problems.push("server.max_connections: must be at least 1".into());
    }
    if s.max_header_bytes < 8 * 1024 {
        problems.push(
            "server.max_header_bytes: must be at least 8192 (session cookies alone can take 4 KB)"
                .into(),
        );
    }
    if s.header_read_timeout.get().is_zero() {
        problems.push("server.header_read_timeout: must be more than 0s".into());
    }
    match s.workers {
        Some(0) => problems.push("server.workers: must be at least 1".into()),
        Some(n) if n > MAX_WORKERS => problems.push(format!(
            "server.workers: {n} is more than {MAX_WORKERS}; leave it out for one per CPU"
        )),
        _ => {}
    }
    problems
}

pub fn cognito(c: &CognitoConfig) -> Vec<String> {
    let mut problems = Vec::new();
    cognito_into(c, &mut problems);
    problems
}

fn cognito_into(c: &CognitoConfig, problems: &mut Vec<String>) {
    if c.region.trim().is_empty() {
        problems.push("cognito.region: must not be empty, e.g. us-east-1".into());
    }
    match c.user_pool_id.split_once('_') {
        Some((region, id))
            if !region.is_empty()
                && !id.is_empty()
                && id.chars().all(|ch| ch.is_ascii_alphanumeric()) =>
        {
            if region != c.region {
                problems.push(format!(
                    "cognito.user_pool_id: `{}` belongs to region `{region}` but cognito.region is `{}`",
                    c.user_pool_id, c.region
                ));
            }
        }
        _ => problems.push(format!(
            "cognito.user_pool_id: `{}` is not a user pool id; it looks like us-east-1_Ab12Cd34E",
            c.user_pool_id
        )),
    }
    if c.client_id.trim().is_empty() {
        problems.push("cognito.client_id: must not be empty; copy it from the app client".into());
    }
    http_url("cognito.domain", &c.domain, problems);
    if !c.scopes.iter().any(|s| s == "openid") {
        problems.push(
            "cognito.scopes: must include openid, or Cognito issues no ID token to sign in with"
                .into(),
        );
    }
    if let Some(issuer) = &c.issuer {
        http_url("cognito.issuer", issuer, problems);
    }
    if let Some(logout) = &c.logout_url {
        http_url("cognito.logout_url", logout, problems);
    }
    if c.client_secret
        .as_ref()
        .is_some_and(|s| s.expose().is_empty())
    {
        problems.push(
            "cognito.client_secret: is empty; remove the key for a public client or set the secret"
                .into(),
        );
    }
    if c.timeout.get().is_zero() {
        problems.push("cognito.timeout: must be more than 0s".into());
    }
}

pub fn session(s: &SessionConfig) -> Vec<String> {
    let mut problems = Vec::new();
    session_into(s, &mut problems);
    problems
}

fn session_into(s: &SessionConfig, problems: &mut Vec<String>) {
    let keys = s.key_ring();
    if keys.is_empty() {
        problems.push(
            "session.secret: missing; set session.secret (or secret_file, or secrets) to the output of `cognito-sidecar secret`"
                .into(),
        );
    }
    let single = s.secret.iter().map(|k| ("session.secret".to_string(), k));
    let listed = s
        .secrets
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("session.secrets[{i}]"), k));
    for (key, secret) in single.chain(listed) {
        if decode_secret(secret.expose()).is_none() {
            problems.push(format!(
                "{key}: must be base64 of 32 random bytes; generate one with `cognito-sidecar secret`"
            ));
        }
    }
    let name_ok = !s.cookie_name.is_empty()
        && s.cookie_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !name_ok {
        problems.push(format!(
            "session.cookie_name: `{}` may contain only letters, digits, `_`, `-` and `.`",
            s.cookie_name
        ));
    }
    if s.lifetime.get().as_secs() < 60 {
        problems.push("session.lifetime: must be at least 1m".into());
    }
    problems.extend(super::redis::validate(s.store, s.redis.as_ref()));
}

/// Session secrets are base64 (standard or URL-safe, padding optional) of 32 bytes.
pub fn decode_secret(raw: &str) -> Option<[u8; 32]> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let raw = raw.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(raw).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
}

pub fn access(a: &AccessConfig) -> Vec<String> {
    let mut problems = Vec::new();
    access_into(a, &mut problems);
    problems
}

fn access_into(a: &AccessConfig, problems: &mut Vec<String>) {
    for (i, pattern) in a.public_paths.iter().enumerate() {
        if !pattern.starts_with('/') {
            problems.push(format!(
                "access.public_paths[{i}]: `{pattern}` must start with `/`, like /assets/*"
            ));
        }
    }
    for (i, rule) in a.rules.iter().enumerate() {
        if !rule.path.starts_with('/') {
            problems.push(format!(
                "access.rules[{i}].path: `{}` must start with `/`, like /admin/*",
                rule.path
            ));
        }
        for (j, method) in rule.methods.iter().enumerate() {
            if http::Method::from_bytes(method.as_bytes()).is_err() {
                problems.push(format!(
                    "access.rules[{i}].methods[{j}]: `{method}` is not an HTTP method"
                ));
            }
        }
    }
    for (i, host) in a.allowed_redirect_hosts.iter().enumerate() {
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        if !valid {
            problems.push(format!(
                "access.allowed_redirect_hosts[{i}]: `{host}` must be a host name (optionally with :port), like app.example.com"
            ));
        }
    }
}

pub fn tls(tls: &TlsConfig) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, path) in [
        ("tls.cert_file", &tls.cert_file),
        ("tls.key_file", &tls.key_file),
    ] {
        if !path.is_file() {
            problems.push(format!(
                "{key}: `{}` does not exist or is not a file",
                path.display()
            ));
        }
    }
    problems
}
