//! User administration for scripts and tests, after Cognito's `Admin*` operations:
//! create a user with a temporary password, change group membership, disable or enable,
//! confirm a sign-up, read a user, and read the outbox of sent codes and invitations.
//! Users are named by username, or by an email/phone the pool signs in with.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::emulator::account::attribute_problem;
use crate::emulator::config::is_attribute_name;
use crate::emulator::request::Params;
use crate::emulator::users::{policy, Letter, MessageKind, NewUser, Status, User};
use crate::emulator::Emulator;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Username {
    username: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    username: String,
    #[serde(default)]
    temporary_password: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    groups: Vec<String>,
    /// `SUPPRESS` sends no invitation (Cognito's `MessageAction`).
    #[serde(default)]
    message_action: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Membership {
    username: String,
    group: String,
}

/// The admin POST hooks; `None` for a path that is not one of them.
pub fn handle(emulator: &Emulator, path: &str, body: &[u8]) -> Option<Result<Value, String>> {
    Some(match path {
        "/_emulator/admin-create-user" => {
            parse::<CreateUser>(body).and_then(|r| create_user(emulator, r))
        }
        "/_emulator/admin-add-user-to-group" => {
            parse::<Membership>(body).and_then(|r| membership(emulator, r, true))
        }
        "/_emulator/admin-remove-user-from-group" => {
            parse::<Membership>(body).and_then(|r| membership(emulator, r, false))
        }
        "/_emulator/admin-disable-user" => {
            parse::<Username>(body).and_then(|r| set_enabled(emulator, &r.username, false))
        }
        "/_emulator/admin-enable-user" => {
            parse::<Username>(body).and_then(|r| set_enabled(emulator, &r.username, true))
        }
        "/_emulator/admin-confirm-sign-up" => {
            parse::<Username>(body).and_then(|r| confirm_sign_up(emulator, &r.username))
        }
        "/_emulator/admin-get-user" => {
            parse::<Username>(body).and_then(|r| user(emulator, &r.username).map(|u| describe(&u)))
        }
        _ => return None,
    })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("client: invalid JSON body: {e}"))
}

/// The user a hook names, or Cognito's `UserNotFoundException` message.
pub fn user(emulator: &Emulator, name: &str) -> Result<User, String> {
    emulator.users.find(name).ok_or_else(|| {
        format!(
            "User does not exist. (no user `{}` in the pool)",
            name.escape_debug()
        )
    })
}

/// Group names as Cognito allows them: 1-128 characters, no control characters.
pub fn check_group(group: &str) -> Result<(), String> {
    if group.is_empty() || group.chars().count() > 128 || group.chars().any(char::is_control) {
        return Err(format!(
            "groups: `{}` must be 1-128 characters without control characters",
            group.escape_debug()
        ));
    }
    Ok(())
}

/// A user as `admin-get-user` and the other hooks report it (no password, no codes).
pub fn describe(user: &User) -> Value {
    json!({
        "username": user.username,
        "sub": user.sub,
        "status": user.status,
        "enabled": user.enabled,
        "attributes": user.attributes,
        "groups": user.groups,
        "created_at": user.created_at.as_secs(),
    })
}

/// `AdminCreateUser`: a `FORCE_CHANGE_PASSWORD` user whose temporary password expires
/// after `sign_in.password_policy.temporary_password_validity_days`. Required
/// attributes may be left out (the change form asks for them). Without a temporary
/// password one is generated; the invitation goes to the outbox unless suppressed.
fn create_user(emulator: &Emulator, req: CreateUser) -> Result<Value, String> {
    for (name, value) in &req.attributes {
        if name == "sub" || !is_attribute_name(name) {
            return Err(format!(
                "attributes.{name}: not a standard attribute; custom attributes need the `custom:` prefix"
            ));
        }
        if matches!(name.as_str(), "email" | "phone_number") {
            if let Some(problem) = attribute_problem(name, value) {
                return Err(format!("attributes.{name}: {problem}"));
            }
        }
    }
    for group in &req.groups {
        check_group(group)?;
    }
    let suppress = match req.message_action.as_deref() {
        None => false,
        Some(action) if action.eq_ignore_ascii_case("SUPPRESS") => true,
        Some(other) => {
            return Err(format!(
                "message_action: `{}` is not supported; use SUPPRESS or leave it out",
                other.escape_debug()
            ))
        }
    };
    let generated = req.temporary_password.is_none();
    let password = req
        .temporary_password
        .unwrap_or_else(|| policy::generate(&emulator.pool.password_policy));
    if let Some(problem) = policy::violation(&emulator.pool.password_policy, &password) {
        return Err(problem);
    }
    let now = emulator.now();
    let user = emulator
        .users
        .create(
            NewUser {
                name: req.username.trim(),
                password: &password,
                attributes: req.attributes,
                groups: req.groups,
            },
            Status::ForceChangePassword,
            now,
        )
        .map_err(|e| e.to_string())?;
    let destination = ["email", "phone_number"]
        .iter()
        .find_map(|a| user.attributes.get(*a));
    if let (Some(destination), false) = (destination, suppress) {
        emulator.outbox.send(
            &Letter {
                kind: MessageKind::Invitation,
                username: if emulator.users.identifiers().username_is_attribute() {
                    destination
                } else {
                    &user.username
                },
                destination,
                code: None,
                temporary_password: Some(&password),
            },
            now.as_secs(),
        );
    }
    let mut answer = describe(&user);
    if generated {
        answer["temporary_password"] = Value::from(password);
    }
    Ok(answer)
}

/// `AdminAddUserToGroup` / `AdminRemoveUserFromGroup`: the next token (sign-in or
/// refresh) carries the new groups.
fn membership(emulator: &Emulator, req: Membership, add: bool) -> Result<Value, String> {
    check_group(&req.group)?;
    let user = user(emulator, &req.username)?;
    let updated = emulator
        .users
        .update(&user.username, |u| {
            if add {
                if !u.groups.contains(&req.group) {
                    u.groups.push(req.group.clone());
                }
            } else {
                u.groups.retain(|g| g != &req.group);
            }
        })
        .ok_or("User does not exist.")?;
    Ok(json!({ "username": updated.username, "groups": updated.groups }))
}

/// `AdminDisableUser` (which also signs the user out everywhere) / `AdminEnableUser`.
fn set_enabled(emulator: &Emulator, name: &str, enabled: bool) -> Result<Value, String> {
    let user = user(emulator, name)?;
    let updated = emulator
        .users
        .update(&user.username, |u| u.enabled = enabled)
        .ok_or("User does not exist.")?;
    let revoked = if enabled {
        0
    } else {
        emulator.store.revoke_user(&user.username)
    };
    Ok(json!({
        "username": updated.username,
        "enabled": updated.enabled,
        "revoked_sign_ins": revoked,
    }))
}

/// `AdminConfirmSignUp`: confirms an `UNCONFIRMED` user without a code.
fn confirm_sign_up(emulator: &Emulator, name: &str) -> Result<Value, String> {
    let user = user(emulator, name)?;
    if user.status != Status::Unconfirmed {
        return Err(format!(
            "User cannot be confirmed. Current status is {}",
            serde_json::to_value(user.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ));
    }
    let updated = emulator
        .users
        .update(&user.username, |u| u.status = Status::Confirmed)
        .ok_or("User does not exist.")?;
    Ok(describe(&updated))
}

/// `GET /_emulator/outbox[?username=…]`: sent messages, oldest first; `username`
/// matches the username or the destination address.
pub fn outbox(emulator: &Emulator, query: &Params) -> Value {
    let filter = query.one("username").ok().flatten();
    let messages: Vec<_> = emulator
        .outbox
        .messages()
        .into_iter()
        .filter(|m| {
            filter.is_none_or(|f| {
                m.username.eq_ignore_ascii_case(f) || m.destination.eq_ignore_ascii_case(f)
            })
        })
        .collect();
    json!({ "messages": messages })
}
