//! Which names sign a user in (cognito-protocol.md §5 "Sign-in identifiers"): the
//! username (case-insensitive), or email/phone *as* the username, or — with a username —
//! aliases that work only once verified. Pure: users and names in, answers out.

use crate::emulator::config::{SignInAttribute, SignInConfig};

use super::User;

#[derive(Debug, Clone, Default)]
pub struct Identifiers {
    username_attributes: Vec<SignInAttribute>,
    alias_attributes: Vec<SignInAttribute>,
}

/// Why a sign-up name is not acceptable in a pool that signs in with email or phone.
pub const INVALID_EMAIL: &str = "Invalid email address format.";
pub const INVALID_PHONE: &str = "Invalid phone number format.";

impl Identifiers {
    pub fn new(config: &SignInConfig) -> Self {
        Self {
            username_attributes: config.username_attributes.clone(),
            alias_attributes: config.alias_attributes.clone(),
        }
    }

    /// True when email/phone is the username (and `cognito:username` is the `sub`).
    pub fn username_is_attribute(&self) -> bool {
        !self.username_attributes.is_empty()
    }

    pub fn username_attributes(&self) -> &[SignInAttribute] {
        &self.username_attributes
    }

    pub fn alias_attributes(&self) -> &[SignInAttribute] {
        &self.alias_attributes
    }

    /// Whether `name` reaches `user` through an attribute: a username attribute (verified
    /// or not), or an alias — email and phone only once verified (§5).
    pub fn attribute_matches(&self, user: &User, name: &str) -> bool {
        let reaches = |attribute: SignInAttribute, need_verified: bool| {
            let value = user.attributes.get(attribute.name());
            let verified = !need_verified
                || attribute
                    .verified_flag()
                    .is_none_or(|flag| user.attributes.get(flag).is_some_and(|v| v == "true"));
            verified && value.is_some_and(|v| same_value(attribute, v, name))
        };
        self.username_attributes.iter().any(|a| reaches(*a, false))
            || self.alias_attributes.iter().any(|a| reaches(*a, true))
    }

    /// Which username attribute a name typed into the sign-up form fills, in a pool
    /// that signs in with email or phone: `+` and digits is a phone number, anything
    /// else must be an email address.
    pub fn classify(&self, name: &str) -> Result<SignInAttribute, &'static str> {
        let phone_allowed = self
            .username_attributes
            .contains(&SignInAttribute::PhoneNumber);
        let email_allowed = self.username_attributes.contains(&SignInAttribute::Email);
        if phone_allowed && name.starts_with('+') {
            return if valid_phone(name) {
                Ok(SignInAttribute::PhoneNumber)
            } else {
                Err(INVALID_PHONE)
            };
        }
        if email_allowed {
            return if valid_email(name) {
                Ok(SignInAttribute::Email)
            } else {
                Err(INVALID_EMAIL)
            };
        }
        Err(INVALID_PHONE)
    }
}

/// Emails and preferred usernames compare case-insensitively, phone numbers exactly.
pub fn same_value(attribute: SignInAttribute, stored: &str, given: &str) -> bool {
    match attribute {
        SignInAttribute::PhoneNumber => stored == given,
        SignInAttribute::Email | SignInAttribute::PreferredUsername => {
            stored.eq_ignore_ascii_case(given)
        }
    }
}

/// A plausible email address: one `@`, something on both sides, a dot in the domain,
/// no spaces or control characters, at most 2048 characters (the attribute limit).
pub fn valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    value.len() <= 2048
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An E.164 phone number as Cognito stores it: `+` and 7 to 15 digits.
pub fn valid_phone(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::SignInConfig;
    use std::collections::BTreeMap;

    fn user(attributes: &[(&str, &str)]) -> User {
        User {
            username: "u".into(),
            sub: "s".into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            groups: Vec::new(),
            status: super::super::Status::Confirmed,
            enabled: true,
            created_at: std::time::Duration::ZERO,
        }
    }

    fn identifiers(username: &[SignInAttribute], alias: &[SignInAttribute]) -> Identifiers {
        Identifiers::new(&SignInConfig {
            username_attributes: username.to_vec(),
            alias_attributes: alias.to_vec(),
            ..SignInConfig::default()
        })
    }

    #[test]
    fn aliases_need_verification_username_attributes_do_not() {
        let unverified = user(&[("email", "A@x.io"), ("email_verified", "false")]);
        let verified = user(&[("email", "A@x.io"), ("email_verified", "true")]);
        let alias = identifiers(&[], &[SignInAttribute::Email]);
        assert!(!alias.attribute_matches(&unverified, "a@x.io"));
        assert!(alias.attribute_matches(&verified, "a@x.io"));
        let as_username = identifiers(&[SignInAttribute::Email], &[]);
        assert!(as_username.attribute_matches(&unverified, "a@X.IO"));
        assert!(!identifiers(&[], &[]).attribute_matches(&verified, "a@x.io"));
    }

    #[test]
    fn preferred_username_alias_needs_no_verification() {
        let u = user(&[("preferred_username", "Ally")]);
        let alias = identifiers(&[], &[SignInAttribute::PreferredUsername]);
        assert!(alias.attribute_matches(&u, "ally"));
    }

    #[test]
    fn sign_up_names_are_classified() {
        let both = identifiers(&[SignInAttribute::Email, SignInAttribute::PhoneNumber], &[]);
        assert_eq!(both.classify("a@b.io"), Ok(SignInAttribute::Email));
        assert_eq!(
            both.classify("+15550100123"),
            Ok(SignInAttribute::PhoneNumber)
        );
        assert_eq!(both.classify("+1555x"), Err(INVALID_PHONE));
        assert_eq!(both.classify("alice"), Err(INVALID_EMAIL));
        let email = identifiers(&[SignInAttribute::Email], &[]);
        assert_eq!(email.classify("+15550100123"), Err(INVALID_EMAIL));
    }

    #[test]
    fn email_and_phone_shapes() {
        assert!(valid_email("alice@example.com"));
        for bad in [
            "alice", "@x.io", "a@x", "a@.io", "a b@x.io", "a@x.io.", "a@b@c.io",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(valid_phone("+15550100123"));
        assert!(!valid_phone("15550100123"));
        assert!(!valid_phone("+1"));
    }
}
