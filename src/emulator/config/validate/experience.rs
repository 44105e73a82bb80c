//! Checks of `sign_in:` and `sign_up:` against what the Cognito console accepts
//! (cognito-protocol.md §5).

use super::users::STANDARD_ATTRIBUTES;
use crate::emulator::config::{SignInAttribute, SignInConfig, SignUpConfig};

pub(super) fn check_sign_in(config: &SignInConfig, problems: &mut Vec<String>) {
    for (i, attribute) in config.username_attributes.iter().enumerate() {
        if *attribute == SignInAttribute::PreferredUsername {
            problems.push(format!(
                "sign_in.username_attributes[{i}]: only email and phone_number can be the username; use alias_attributes for preferred_username"
            ));
        }
    }
    duplicates(
        "sign_in.username_attributes",
        &config.username_attributes,
        problems,
    );
    duplicates(
        "sign_in.alias_attributes",
        &config.alias_attributes,
        problems,
    );
    if !config.username_attributes.is_empty() && !config.alias_attributes.is_empty() {
        problems.push(
            "sign_in.alias_attributes: cannot be combined with username_attributes; a Cognito pool signs in with a username (plus aliases) or with email/phone as the username".into(),
        );
    }
    let policy = &config.password_policy;
    if !(6..=99).contains(&policy.minimum_length) {
        problems.push("sign_in.password_policy.minimum_length: must be between 6 and 99".into());
    }
    if !(1..=365).contains(&policy.temporary_password_validity_days) {
        problems.push(
            "sign_in.password_policy.temporary_password_validity_days: must be between 1 and 365"
                .into(),
        );
    }
}

pub(super) fn check_sign_up(config: &SignUpConfig, problems: &mut Vec<String>) {
    for (i, name) in config.required_attributes.iter().enumerate() {
        let standard = STANDARD_ATTRIBUTES.contains(&name.as_str()) && !name.ends_with("_verified");
        if !standard {
            problems.push(format!(
                "sign_up.required_attributes[{i}]: `{name}` cannot be required; only standard attributes like email, phone_number or name can (custom attributes never)"
            ));
        }
    }
    duplicates(
        "sign_up.required_attributes",
        &config.required_attributes,
        problems,
    );
    duplicates(
        "sign_up.auto_verified_attributes",
        &config.auto_verified_attributes,
        problems,
    );
}

fn duplicates<T: PartialEq>(key: &str, items: &[T], problems: &mut Vec<String>) {
    for (i, item) in items.iter().enumerate() {
        if items.iter().take(i).any(|earlier| earlier == item) {
            problems.push(format!("{key}[{i}]: listed twice"));
        }
    }
}
