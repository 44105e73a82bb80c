//! Unit tests of the user directory: lookups by username, username attribute and
//! alias; creation rules; codes; verification moving an alias.

use super::*;
use crate::emulator::config::{SignInAttribute, SignInConfig};

const NOW: Duration = Duration::from_secs(1_700_000_000);

fn directory(change: impl FnOnce(&mut EmulatorConfig)) -> Directory {
    let mut config = EmulatorConfig::demo();
    change(&mut config);
    Directory::new(&config)
}

fn new_user<'a>(name: &'a str, attributes: &[(&str, &str)]) -> NewUser<'a> {
    NewUser {
        name,
        password: "Passw0rd!",
        attributes: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        groups: Vec::new(),
    }
}

#[test]
fn configured_users_are_confirmed_and_found_case_insensitively() {
    let users = directory(|_| {});
    let alice = users.get("ALICE").unwrap();
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.status, Status::Confirmed);
    assert!(alice.active());
    assert!(users.authenticate("alice", "Passw0rd!").is_some());
    assert!(users.authenticate("alice", "wrong").is_none());
    assert!(users.authenticate("nobody", "Passw0rd!").is_none());
    // Without aliases, an email does not sign anyone in.
    assert!(users.find("alice@example.com").is_none());
}

#[test]
fn verified_email_alias_signs_in() {
    let users = directory(|c| c.sign_in.alias_attributes = vec![SignInAttribute::Email]);
    assert_eq!(users.find("ALICE@example.com").unwrap().username, "alice");
    // bob's email is not verified in the demo pool.
    assert!(users.find("bob@example.com").is_none());
    assert!(users
        .authenticate("alice@example.com", "Passw0rd!")
        .is_some());
}

#[test]
fn email_as_username_makes_the_username_the_sub() {
    let users = directory(|c| {
        c.sign_in = SignInConfig {
            username_attributes: vec![SignInAttribute::Email],
            ..SignInConfig::default()
        };
        c.users[0].username = "alice@example.com".into();
    });
    let alice = users.find("alice@example.com").unwrap();
    assert_eq!(alice.username, alice.sub);
    let created = users
        .create(new_user("carol@example.com", &[]), Status::Unconfirmed, NOW)
        .unwrap();
    assert_eq!(created.username, created.sub);
    assert_eq!(created.attributes["email"], "carol@example.com");
    assert_eq!(
        users
            .create(new_user("CAROL@example.com", &[]), Status::Unconfirmed, NOW)
            .err(),
        Some(DirectoryError::AttributeExists("email"))
    );
    assert_eq!(
        users
            .create(new_user("carol", &[]), Status::Unconfirmed, NOW)
            .err(),
        Some(DirectoryError::InvalidName(identifiers::INVALID_EMAIL))
    );
}

#[test]
fn usernames_are_unique_and_well_formed() {
    let users = directory(|c| c.sign_in.alias_attributes = vec![SignInAttribute::Email]);
    assert_eq!(
        users
            .create(new_user("Alice", &[]), Status::Unconfirmed, NOW)
            .err(),
        Some(DirectoryError::UsernameExists)
    );
    assert!(matches!(
        users.create(new_user("a b", &[]), Status::Unconfirmed, NOW),
        Err(DirectoryError::InvalidName(_))
    ));
    assert!(matches!(
        users.create(new_user("x@y.io", &[]), Status::Unconfirmed, NOW),
        Err(DirectoryError::InvalidName(m)) if m.contains("email format")
    ));
    let dave = users
        .create(
            new_user("dave", &[("email", "d@x.io")]),
            Status::Unconfirmed,
            NOW,
        )
        .unwrap();
    assert_eq!(dave.status, Status::Unconfirmed);
    assert!(!dave.active());
    assert_eq!(dave.created_at, NOW);
}

#[test]
fn codes_are_single_use() {
    let users = directory(|_| {});
    let code = users
        .issue_code("bob", Purpose::ConfirmSignUp, NOW)
        .unwrap();
    assert_eq!(
        users
            .redeem_code("bob", Purpose::ResetPassword, &code, NOW)
            .err(),
        Some(CodeProblem::Expired)
    );
    assert!(users
        .redeem_code("bob", Purpose::ConfirmSignUp, &code, NOW)
        .is_ok());
    assert_eq!(
        users
            .redeem_code("bob", Purpose::ConfirmSignUp, &code, NOW)
            .err(),
        Some(CodeProblem::Expired)
    );
    assert!(users
        .issue_code("nobody", Purpose::ConfirmSignUp, NOW)
        .is_none());
}

#[test]
fn verifying_an_email_takes_the_alias_from_its_previous_owner() {
    let users = directory(|c| {
        c.sign_in.alias_attributes = vec![SignInAttribute::Email];
        c.users[1]
            .attributes
            .insert("email".into(), "alice@example.com".into());
    });
    assert_eq!(users.find("alice@example.com").unwrap().username, "alice");
    let bob = users
        .mark_verified("bob", VerifiedAttribute::Email)
        .unwrap();
    assert_eq!(bob.attributes["email_verified"], "true");
    assert_eq!(users.find("alice@example.com").unwrap().username, "bob");
    assert_eq!(
        users.get("alice").unwrap().attributes["email_verified"],
        "false"
    );
}

#[test]
fn passwords_and_state_change() {
    let users = directory(|_| {});
    users.set_password("bob", "N3w-Passw0rd", Status::Confirmed);
    assert!(users.authenticate("bob", "Passw0rd!").is_none());
    assert!(users.authenticate("bob", "N3w-Passw0rd").is_some());
    let disabled = users.update("bob", |u| u.enabled = false).unwrap();
    assert!(!disabled.active());
    assert!(!format!("{users:?}").contains("N3w"));
}
