//! Semantic checks of an emulator config. Every problem is collected (never just the
//! first) and phrased `key.path: what is wrong`, with the fix where there is one.
//!
//! Ranges follow Cognito's app-client limits (cognito-protocol.md §2.5) so a config that
//! works here is one Cognito would accept; only the test hooks may go shorter.

mod clients;
mod experience;
mod identity_pools;
mod users;

use std::time::Duration;

use super::EmulatorConfig;

pub use users::is_attribute_name;

pub(super) const MINUTE: u64 = 60;
pub(super) const HOUR: u64 = 3600;
pub(super) const DAY: u64 = 24 * HOUR;

/// Returns every problem in `config`; empty means valid.
pub fn validate(config: &EmulatorConfig) -> Vec<String> {
    let mut problems = Vec::new();
    check_pool(config, &mut problems);
    experience::check_sign_in(&config.sign_in, &mut problems);
    experience::check_sign_up(&config.sign_up, &mut problems);
    clients::check_clients(config, &mut problems);
    users::check_users(config, &mut problems);
    identity_pools::check_identity_pools(config, &mut problems);
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

pub(super) fn check_range(
    key: &str,
    value: Duration,
    min: u64,
    max: u64,
    problems: &mut Vec<String>,
) {
    let secs = value.as_secs();
    if value < Duration::from_secs(min) || secs > max {
        problems.push(format!(
            "{key}: must be between {} and {}",
            humantime::format_duration(Duration::from_secs(min)),
            humantime::format_duration(Duration::from_secs(max))
        ));
    }
}

#[cfg(test)]
mod tests;
