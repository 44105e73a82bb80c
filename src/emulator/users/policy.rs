//! The password policy check (cognito-protocol.md §5 "Password policy"), answering with
//! Cognito's own `InvalidPasswordException` messages so a rehearsal shows users exactly
//! what the real hosted UI will. Pure.

use crate::emulator::config::PasswordPolicyConfig;

/// Cognito's special characters: `^ $ * . [ ] { } ( ) ? " ! @ # % & / \ , > < ' : ; | _
/// ~ \` = + -` and the space.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";
/// Passwords are limited to 256 characters whatever the policy.
pub const MAX_LENGTH: usize = 256;

const PREFIX: &str = "Password did not conform with policy: ";

/// The first rule `password` breaks, as Cognito words it; `None` when it conforms.
/// Rules are checked in Cognito's order: length, upper case, lower case, digits,
/// symbols.
pub fn violation(policy: &PasswordPolicyConfig, password: &str) -> Option<String> {
    let length = password.chars().count();
    if length > MAX_LENGTH {
        return Some(
            "1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length less than or equal to 256".into(),
        );
    }
    let rule = if length < policy.minimum_length.max(1) {
        "Password not long enough"
    } else if policy.require_uppercase && !password.chars().any(|c| c.is_ascii_uppercase()) {
        "Password must have uppercase characters"
    } else if policy.require_lowercase && !password.chars().any(|c| c.is_ascii_lowercase()) {
        "Password must have lowercase characters"
    } else if policy.require_numbers && !password.chars().any(|c| c.is_ascii_digit()) {
        "Password must have numeric characters"
    } else if policy.require_symbols && !password.chars().any(|c| SYMBOLS.contains(c)) {
        "Password must have symbol characters"
    } else {
        return None;
    };
    Some(format!("{PREFIX}{rule}"))
}

/// A random password that satisfies any valid policy, for `admin-create-user` without
/// a temporary password (Cognito generates one and sends it in the invitation).
pub fn generate(policy: &PasswordPolicyConfig) -> String {
    let random = crate::emulator::store::random_id();
    let mut password: String = random.chars().take(12).collect();
    password.push_str("Aa1!");
    while password.chars().count() < policy.minimum_length {
        password.push('x');
    }
    password
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn message(password: &str) -> Option<String> {
        violation(&PasswordPolicyConfig::default(), password)
    }

    #[test]
    fn each_rule_has_cognitos_message() {
        let p = "Password did not conform with policy: ";
        assert_eq!(
            message("Aa1!"),
            Some(format!("{p}Password not long enough"))
        );
        assert_eq!(
            message("password1!"),
            Some(format!("{p}Password must have uppercase characters"))
        );
        assert_eq!(
            message("PASSWORD1!"),
            Some(format!("{p}Password must have lowercase characters"))
        );
        assert_eq!(
            message("Password!"),
            Some(format!("{p}Password must have numeric characters"))
        );
        assert_eq!(
            message("Password1"),
            Some(format!("{p}Password must have symbol characters"))
        );
        assert_eq!(message("Passw0rd!"), None);
        assert_eq!(message("Passw0rd with space"), None);
        assert!(message(&format!("Aa1!{}", "x".repeat(253))).is_some());
    }

    #[test]
    fn a_relaxed_policy_checks_only_length() {
        let policy = PasswordPolicyConfig {
            minimum_length: 6,
            require_uppercase: false,
            require_lowercase: false,
            require_numbers: false,
            require_symbols: false,
            temporary_password_validity_days: 7,
        };
        assert_eq!(violation(&policy, "abcdef"), None);
        assert!(violation(&policy, "abcde").is_some());
    }

    proptest! {
        #[test]
        fn generated_passwords_satisfy_every_valid_policy(
            minimum_length in 6usize..=99,
            upper in any::<bool>(),
            lower in any::<bool>(),
            numbers in any::<bool>(),
            symbols in any::<bool>(),
        ) {
            let policy = PasswordPolicyConfig {
                minimum_length,
                require_uppercase: upper,
                require_lowercase: lower,
                require_numbers: numbers,
                require_symbols: symbols,
                temporary_password_validity_days: 7,
            };
            prop_assert_eq!(violation(&policy, &generate(&policy)), None);
        }

        #[test]
        fn any_password_gets_an_answer_without_panicking(password in ".{0,300}") {
            let answer = violation(&PasswordPolicyConfig::default(), &password);
            if let Some(text) = answer {
                prop_assert!(text.contains("Password") || text.contains("password"));
            }
        }
    }
}
