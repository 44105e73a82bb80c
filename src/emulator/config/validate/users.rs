//! Checks of `users[]`: usernames, passwords, `sub`s, attributes and groups.

use std::collections::HashSet;

use crate::emulator::config::{EmulatorConfig, UserConfig};

/// OIDC standard attributes a Cognito user pool knows (Cognito developer guide, "User
/// pool attributes"). `sub` is not settable: use the user's `sub` key.
const STANDARD_ATTRIBUTES: &[&str] = &[
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

pub(super) fn check_users(config: &EmulatorConfig, problems: &mut Vec<String>) {
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
