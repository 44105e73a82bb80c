//! Unit tests of config validation: every problem reported with its key path.

use super::*;
use crate::config::Secret;
use crate::emulator::config::OAuthFlow;

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
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("clients[0].id_token_validity: must be between 5m and 1day")),
        "{found:?}"
    );
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

#[test]
fn sign_in_and_sign_up_settings_are_checked() {
    use crate::emulator::config::SignInAttribute::{Email, PhoneNumber, PreferredUsername};
    let found = with(|c| {
        c.sign_in.username_attributes = vec![Email, PreferredUsername, Email];
        c.sign_in.alias_attributes = vec![PhoneNumber];
        c.sign_in.password_policy.minimum_length = 5;
        c.sign_in.password_policy.temporary_password_validity_days = 366;
        c.sign_up.required_attributes = vec!["custom:tenant".into(), "email_verified".into()];
    });
    for expected in [
        "sign_in.username_attributes[1]: only email and phone_number can be the username",
        "sign_in.username_attributes[2]: listed twice",
        "sign_in.alias_attributes: cannot be combined with username_attributes",
        "sign_in.password_policy.minimum_length: must be between 6 and 99",
        "sign_in.password_policy.temporary_password_validity_days: must be between 1 and 365",
        "sign_up.required_attributes[0]: `custom:tenant` cannot be required",
        "sign_up.required_attributes[1]: `email_verified` cannot be required",
        "users[0].username: this pool signs in with email",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "missing {expected} in {found:?}"
        );
    }
}

#[test]
fn email_usernames_are_fine_in_an_email_pool() {
    use crate::emulator::config::SignInAttribute::Email;
    let found = with(|c| {
        c.sign_in.username_attributes = vec![Email];
        for u in &mut c.users {
            u.username = u.attributes["email"].clone();
        }
    });
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn identity_pool_problems_are_reported() {
    let found = with(|c| {
        let pool = c.identity_pools[0].clone();
        c.identity_pools.push(pool.clone());
        c.identity_pools
            .push(crate::emulator::config::IdentityPoolConfig {
                id: "us-east-1_NOTIDENTITY".into(),
                client_ids: vec!["local-client".into(), "ghost".into()],
                credentials_validity: crate::config::HumanDuration::secs(13 * 3600),
                ..pool
            });
    });
    assert_eq!(
        found,
        vec![
            "identity_pools[1].id: `us-east-1:0c0ffee0-0000-4000-8000-000000000001` is used by another identity pool; ids must be unique",
            "identity_pools[2].id: `us-east-1_NOTIDENTITY` must be `<region>:<uuid>`, e.g. us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff",
            "identity_pools[2].client_ids[1]: `ghost` is not a client of this pool; list one of clients[].client_id",
            "identity_pools[2].credentials_validity: must be between 1s and 12h",
        ]
    );
}
