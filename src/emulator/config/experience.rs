//! The user-pool settings people choose in the Cognito console and that shape the hosted
//! UI (cognito-protocol.md §5): the "sign-in experience" (identifiers, password policy,
//! MFA) and the "sign-up experience" (self-registration, required attributes, attribute
//! verification). Every key is optional and defaults to what the console proposes, so
//! configs written before these sections existed keep their behaviour.

use serde::{Deserialize, Deserializer};

/// An attribute that can identify a user at sign-in (Cognito `UsernameAttributes` /
/// `AliasAttributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInAttribute {
    Email,
    PhoneNumber,
    PreferredUsername,
}

impl SignInAttribute {
    /// The attribute's name in tokens and forms.
    pub fn name(self) -> &'static str {
        match self {
            SignInAttribute::Email => "email",
            SignInAttribute::PhoneNumber => "phone_number",
            SignInAttribute::PreferredUsername => "preferred_username",
        }
    }

    /// The `*_verified` flag that must be `"true"` before an alias works (§5: "Aliases
    /// only work once verified").
    pub fn verified_flag(self) -> Option<&'static str> {
        match self {
            SignInAttribute::Email => Some("email_verified"),
            SignInAttribute::PhoneNumber => Some("phone_number_verified"),
            SignInAttribute::PreferredUsername => None,
        }
    }
}

/// An attribute Cognito can verify by sending a code (`AutoVerifiedAttributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedAttribute {
    Email,
    PhoneNumber,
}

impl VerifiedAttribute {
    pub fn name(self) -> &'static str {
        match self {
            VerifiedAttribute::Email => "email",
            VerifiedAttribute::PhoneNumber => "phone_number",
        }
    }

    pub fn verified_flag(self) -> &'static str {
        match self {
            VerifiedAttribute::Email => "email_verified",
            VerifiedAttribute::PhoneNumber => "phone_number_verified",
        }
    }
}

/// `sign_in:` — how users identify themselves, the password policy, MFA.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInConfig {
    /// Email and/or phone number *as* the username: Cognito generates the username, so
    /// `cognito:username` is a UUID equal to `sub`. Empty (the default): a username.
    #[serde(default)]
    pub username_attributes: Vec<SignInAttribute>,
    /// With a username: also accept these (verified email or phone, preferred_username).
    #[serde(default)]
    pub alias_attributes: Vec<SignInAttribute>,
    #[serde(default)]
    pub password_policy: PasswordPolicyConfig,
    /// Only `off` is emulated.
    #[serde(default)]
    pub mfa: Mfa,
}

impl Default for SignInConfig {
    fn default() -> Self {
        Self {
            username_attributes: Vec::new(),
            alias_attributes: Vec::new(),
            password_policy: PasswordPolicyConfig::default(),
            mfa: Mfa::Off,
        }
    }
}

/// Cognito's `PasswordPolicyType`, with Cognito's defaults: at least 8 characters with
/// a digit, a symbol, an upper- and a lower-case letter; temporary passwords of
/// admin-created users expire after 7 days.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicyConfig {
    #[serde(default = "defaults::minimum_length")]
    pub minimum_length: usize,
    #[serde(default = "defaults::yes")]
    pub require_uppercase: bool,
    #[serde(default = "defaults::yes")]
    pub require_lowercase: bool,
    #[serde(default = "defaults::yes")]
    pub require_numbers: bool,
    #[serde(default = "defaults::yes")]
    pub require_symbols: bool,
    #[serde(default = "defaults::temporary_password_validity_days")]
    pub temporary_password_validity_days: u32,
}

impl Default for PasswordPolicyConfig {
    fn default() -> Self {
        Self {
            minimum_length: defaults::minimum_length(),
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            temporary_password_validity_days: defaults::temporary_password_validity_days(),
        }
    }
}

/// MFA enforcement. The emulator has no second factor, so only `off` exists; any other
/// value is a config error that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mfa {
    #[default]
    Off,
}

impl<'de> Deserialize<'de> for Mfa {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            // YAML 1.1 readers turn a bare `off` into false.
            Raw::Bool(false) => Ok(Mfa::Off),
            Raw::Text(t) if t.eq_ignore_ascii_case("off") => Ok(Mfa::Off),
            _ => Err(serde::de::Error::custom(
                "only `off` is emulated: the local emulator has no second factor",
            )),
        }
    }
}

/// `sign_up:` — self-registration, what it asks for, and verification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpConfig {
    /// Self sign-up from the hosted UI (Cognito: not `AllowAdminCreateUserOnly`).
    #[serde(default = "defaults::yes")]
    pub self_registration: bool,
    /// Attributes the sign-up form demands (admin-created users may lack them).
    #[serde(default = "defaults::required_attributes")]
    pub required_attributes: Vec<String>,
    /// Attributes Cognito verifies by sending a code; a self-registered user stays
    /// unconfirmed until the code is entered. `[]` turns verification off (then an
    /// administrator confirms new users).
    #[serde(default = "defaults::auto_verified_attributes")]
    pub auto_verified_attributes: Vec<VerifiedAttribute>,
}

impl Default for SignUpConfig {
    fn default() -> Self {
        Self {
            self_registration: true,
            required_attributes: defaults::required_attributes(),
            auto_verified_attributes: defaults::auto_verified_attributes(),
        }
    }
}

mod defaults {
    use super::VerifiedAttribute;

    pub fn yes() -> bool {
        true
    }
    pub fn minimum_length() -> usize {
        8
    }
    pub fn temporary_password_validity_days() -> u32 {
        7
    }
    pub fn required_attributes() -> Vec<String> {
        vec!["email".into()]
    }
    pub fn auto_verified_attributes() -> Vec<VerifiedAttribute> {
        vec![VerifiedAttribute::Email]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfa_accepts_only_off() {
        let parse = |v: serde_json::Value| serde_json::from_value::<Mfa>(v).is_ok();
        assert!(parse(serde_json::json!("off")));
        assert!(parse(serde_json::json!("OFF")));
        assert!(parse(serde_json::json!(false)));
        assert!(!parse(serde_json::json!("optional")));
        assert!(!parse(serde_json::json!(true)));
    }

    #[test]
    fn defaults_are_the_console_defaults() {
        let policy = PasswordPolicyConfig::default();
        assert_eq!(policy.minimum_length, 8);
        assert!(policy.require_symbols && policy.require_numbers);
        assert_eq!(policy.temporary_password_validity_days, 7);
        let sign_up = SignUpConfig::default();
        assert!(sign_up.self_registration);
        assert_eq!(sign_up.required_attributes, vec!["email"]);
        assert_eq!(
            sign_up.auto_verified_attributes,
            vec![VerifiedAttribute::Email]
        );
    }
}
