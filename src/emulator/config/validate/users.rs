//! Checks of `users[]`: usernames, passwords, `sub`s, attributes and groups.

use std::collections::HashSet;

use crate::emulator::config::{EmulatorConfig, UserConfig};

/// OIDC standard attributes a Cognito user pool knows (Cognito developer guide, "User
/// pool attributes"). `sub` is not settable: use the user's `sub` key.
pub(super) const STANDARD_ATTRIBUTES: &[&str] = &[
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

/// A standard attribute, or `custom:` plus 1-20 letters, digits, `_` or `-`.
pub fn is_attribute_name(name: &str) -> bool {
    let custom_ok = name.strip_prefix("custom:").is_some_and(|n| {
        !n.is_empty()
            && n.len() <= 20
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    custom_ok || STANDARD_ATTRIBUTES.contains(&name)
}

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
        check_sign_in_name(config, &at, user, problems);
    }
}

/// With email or phone as the username, the configured `username` is what the user signs
/// in with, so it must be one of those attributes (Cognito then uses `sub` as the
/// username, cognito-protocol.md §5).
fn check_sign_in_name(
    config: &EmulatorConfig,
    at: &str,
    user: &UserConfig,
    problems: &mut Vec<String>,
) {
    let attributes = &config.sign_in.username_attributes;
    if attributes.is_empty() {
        return;
    }
    let matches = attributes.iter().any(|a| {
        user.attributes
            .get(a.name())
            .is_some_and(|v| v.eq_ignore_ascii_case(&user.username))
    });
    if !matches {
        let names: Vec<&str> = attributes.iter().map(|a| a.name()).collect();
        problems.push(format!(
            "{at}.username: this pool signs in with {}; set username to the user's {} attribute (cognito:username becomes the sub)",
            names.join(" or "),
            names.join(" or ")
        ));
    }
}

fn check_user(at: &str, user: &UserConfig, problems: &mut Vec<String>) {
    for (name, value) in &user.attributes {
        let key = format!("{at}.attributes.{name}");
        if name == "sub" {
            problems.push(format!("{key}: set the user's `sub` key instead"));
        } else if !is_attribute_name(name) {
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
