//! The pool's user directory: every account with its status (`UNCONFIRMED`,
//! `CONFIRMED`, `FORCE_CHANGE_PASSWORD`), enabled flag, attributes, groups, password and
//! pending verification codes (cognito-protocol.md §5). Configured users start confirmed;
//! sign-up and `admin-create-user` add more while the emulator runs, in memory only.
//!
//! Lookups hand out snapshots ([`User`]); passwords and codes never leave this module.

mod codes;
pub mod identifiers;
mod outbox;
pub mod policy;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;

use crate::config::Secret;

use super::config::{EmulatorConfig, SignInAttribute, VerifiedAttribute};
use codes::PendingCode;
pub use codes::{CodeProblem, Purpose};
pub use identifiers::Identifiers;
pub use outbox::{Letter, MessageKind, Outbox};

/// Accounts the emulator holds at most (sign-up is unauthenticated; memory is not).
pub const MAX_USERS: usize = 10_000;

/// Cognito's `UserStatusType` values the emulator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Unconfirmed,
    Confirmed,
    ForceChangePassword,
}

/// A user as the rest of the emulator sees it.
#[derive(Debug, Clone)]
pub struct User {
    /// The Cognito username (`cognito:username`); the `sub` in pools that sign in with
    /// email or phone.
    pub username: String,
    pub sub: String,
    pub attributes: BTreeMap<String, String>,
    pub groups: Vec<String>,
    pub status: Status,
    pub enabled: bool,
    /// Emulator time of creation; an admin-created user's temporary password expires
    /// relative to it.
    pub created_at: Duration,
}

impl User {
    /// May hold a session and get tokens: enabled and confirmed.
    pub fn active(&self) -> bool {
        self.enabled && self.status == Status::Confirmed
    }

    /// Whether an admin-set temporary password is past its validity (§5: it expires
    /// after the configured days; once changed, the account never expires).
    pub fn temporary_password_expired(&self, validity_days: u32, now: Duration) -> bool {
        let validity = Duration::from_secs(u64::from(validity_days) * 24 * 3600);
        self.status == Status::ForceChangePassword && now >= self.created_at + validity
    }
}

struct Account {
    user: User,
    password: Secret,
    codes: Vec<PendingCode>,
}

/// A new account: the name typed at sign-up (or given to `admin-create-user`), its
/// password, attributes and groups.
pub struct NewUser<'a> {
    pub name: &'a str,
    pub password: &'a str,
    pub attributes: BTreeMap<String, String>,
    pub groups: Vec<String>,
}

/// Why an account cannot be created, in Cognito's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("User already exists")]
    UsernameExists,
    #[error("An account with the given {0} already exists.")]
    AttributeExists(&'static str),
    #[error("{0}")]
    InvalidName(&'static str),
    #[error("the emulator holds at most {MAX_USERS} users; restart it to start over")]
    Full,
}

const INVALID_USERNAME: &str = "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+";

pub struct Directory {
    accounts: Mutex<Vec<Account>>,
    identifiers: Identifiers,
}

/// Counts only: accounts hold passwords and codes.
impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("users", &self.lock().len())
            .finish()
    }
}

fn digest(text: &str) -> aws_lc_rs::digest::Digest {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
}

impl Directory {
    /// The configured users, confirmed and enabled, created "at the epoch" (their
    /// passwords are permanent).
    pub fn new(config: &EmulatorConfig) -> Self {
        let identifiers = Identifiers::new(&config.sign_in);
        let accounts = config
            .users
            .iter()
            .map(|u| {
                let sub = u.resolved_sub(&config.user_pool_id);
                Account {
                    user: User {
                        username: if identifiers.username_is_attribute() {
                            sub.clone()
                        } else {
                            u.username.clone()
                        },
                        sub,
                        attributes: u.attributes.clone(),
                        groups: u.groups.clone(),
                        status: Status::Confirmed,
                        enabled: true,
                        created_at: Duration::ZERO,
                    },
                    password: u.password.clone(),
                    codes: Vec::new(),
                }
            })
            .collect();
        Directory {
            accounts: Mutex::new(accounts),
            identifiers,
        }
    }

    /// A panic while holding the lock cannot leave an account half-written in a way
    /// that matters more than stopping the emulator would, so the lock is reused.
    fn lock(&self) -> MutexGuard<'_, Vec<Account>> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn identifiers(&self) -> &Identifiers {
        &self.identifiers
    }

    /// The account of a Cognito username (case-insensitive, §5).
    pub fn get(&self, username: &str) -> Option<User> {
        let accounts = self.lock();
        position_of_username(&accounts, username)
            .and_then(|i| accounts.get(i).map(|a| a.user.clone()))
    }

    /// The account a sign-in name reaches: the username first, then a username
    /// attribute or a verified alias.
    pub fn find(&self, name: &str) -> Option<User> {
        let accounts = self.lock();
        self.position(&accounts, name)
            .and_then(|i| accounts.get(i).map(|a| a.user.clone()))
    }

    fn position(&self, accounts: &[Account], name: &str) -> Option<usize> {
        position_of_username(accounts, name).or_else(|| {
            accounts
                .iter()
                .position(|a| self.identifiers.attribute_matches(&a.user, name))
        })
    }

    /// The account when `password` is its password. Unknown names and wrong passwords
    /// cost the same and look the same ("Prevent user existence errors", §5).
    pub fn authenticate(&self, name: &str, password: &str) -> Option<User> {
        let accounts = self.lock();
        let account = self.position(&accounts, name).and_then(|i| accounts.get(i));
        let expected = account
            .map(|a| a.password.expose())
            .unwrap_or("\u{0}no-such-user");
        let same = aws_lc_rs::constant_time::verify_slices_are_equal(
            digest(expected).as_ref(),
            digest(password).as_ref(),
        )
        .is_ok();
        account.filter(|_| same).map(|a| a.user.clone())
    }

    /// Adds an account with `status`. In pools that sign in with email or phone the name
    /// fills that attribute and the username becomes a new `sub`.
    pub fn create(
        &self,
        new: NewUser,
        status: Status,
        now: Duration,
    ) -> Result<User, DirectoryError> {
        let mut attributes = new.attributes;
        let sub = uuid::Uuid::new_v4().to_string();
        let mut accounts = self.lock();
        if accounts.len() >= MAX_USERS {
            return Err(DirectoryError::Full);
        }
        let username = if self.identifiers.username_is_attribute() {
            let attribute = self
                .identifiers
                .classify(new.name)
                .map_err(DirectoryError::InvalidName)?;
            if accounts
                .iter()
                .any(|a| self.identifiers.attribute_matches(&a.user, new.name))
            {
                return Err(DirectoryError::AttributeExists(attribute.name()));
            }
            attributes.insert(attribute.name().to_string(), new.name.to_string());
            sub.clone()
        } else {
            check_username(self.identifiers.alias_attributes(), new.name)?;
            if position_of_username(&accounts, new.name).is_some() {
                return Err(DirectoryError::UsernameExists);
            }
            new.name.to_string()
        };
        let user = User {
            username,
            sub,
            attributes,
            groups: new.groups,
            status,
            enabled: true,
            created_at: now,
        };
        accounts.push(Account {
            user: user.clone(),
            password: Secret::new(new.password.to_string()),
            codes: Vec::new(),
        });
        Ok(user)
    }

    /// Changes a user's snapshot (status, enabled flag, groups, attributes).
    pub fn update(&self, username: &str, change: impl FnOnce(&mut User)) -> Option<User> {
        self.with_account(username, |a| {
            change(&mut a.user);
            a.user.clone()
        })
    }

    /// Replaces the password and sets the status (a forced change or a reset ends in
    /// `CONFIRMED`).
    pub fn set_password(&self, username: &str, password: &str, status: Status) -> Option<User> {
        self.with_account(username, |a| {
            a.password = Secret::new(password.to_string());
            a.user.status = status;
            a.user.clone()
        })
    }

    /// Issues a fresh code for `purpose`, replacing any earlier one.
    pub fn issue_code(&self, username: &str, purpose: Purpose, now: Duration) -> Option<String> {
        let code = codes::new_code();
        self.with_account(username, |a| {
            a.codes.retain(|c| c.purpose != purpose);
            a.codes.push(PendingCode::new(purpose, code.clone(), now));
        })?;
        Some(code)
    }

    /// Checks an entered code; a right one is used up.
    pub fn redeem_code(
        &self,
        username: &str,
        purpose: Purpose,
        given: &str,
        now: Duration,
    ) -> Result<User, CodeProblem> {
        self.with_account(username, |a| {
            let Some(pending) = a.codes.iter_mut().find(|c| c.purpose == purpose) else {
                return Err(CodeProblem::Expired);
            };
            codes::check(pending, given, now)?;
            a.codes.retain(|c| c.purpose != purpose);
            Ok(a.user.clone())
        })
        .unwrap_or(Err(CodeProblem::Expired))
    }

    /// Marks `attribute` verified for `username`. Another account verified for the same
    /// value loses the flag: only the last account to verify an email or phone can sign
    /// in with it (§5).
    pub fn mark_verified(&self, username: &str, attribute: VerifiedAttribute) -> Option<User> {
        let mut accounts = self.lock();
        let index = position_of_username(&accounts, username)?;
        let value = accounts
            .get(index)?
            .user
            .attributes
            .get(attribute.name())
            .cloned()?;
        let as_sign_in = match attribute {
            VerifiedAttribute::Email => SignInAttribute::Email,
            VerifiedAttribute::PhoneNumber => SignInAttribute::PhoneNumber,
        };
        for (i, account) in accounts.iter_mut().enumerate() {
            let same = account
                .user
                .attributes
                .get(attribute.name())
                .is_some_and(|v| identifiers::same_value(as_sign_in, v, &value));
            if i == index {
                account
                    .user
                    .attributes
                    .insert(attribute.verified_flag().into(), "true".into());
            } else if same {
                account
                    .user
                    .attributes
                    .insert(attribute.verified_flag().into(), "false".into());
            }
        }
        accounts.get(index).map(|a| a.user.clone())
    }

    fn with_account<R>(&self, username: &str, f: impl FnOnce(&mut Account) -> R) -> Option<R> {
        let mut accounts = self.lock();
        let index = position_of_username(&accounts, username)?;
        accounts.get_mut(index).map(f)
    }
}

fn position_of_username(accounts: &[Account], username: &str) -> Option<usize> {
    accounts
        .iter()
        .position(|a| a.user.username.to_lowercase() == username.to_lowercase())
}

/// A username in a pool that signs in with one: no whitespace or control characters,
/// 1-128 characters, and not shaped like an alias the pool uses (Cognito refuses an
/// email-shaped username when email is an alias, so the two cannot collide).
fn check_username(aliases: &[SignInAttribute], name: &str) -> Result<(), DirectoryError> {
    if name.is_empty()
        || name.chars().count() > 128
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DirectoryError::InvalidName(INVALID_USERNAME));
    }
    if aliases.contains(&SignInAttribute::Email) && identifiers::valid_email(name) {
        return Err(DirectoryError::InvalidName(
            "Username cannot be of email format, since user pool is configured for email alias.",
        ));
    }
    if aliases.contains(&SignInAttribute::PhoneNumber) && identifiers::valid_phone(name) {
        return Err(DirectoryError::InvalidName(
            "Username cannot be of phone number format, since user pool is configured for phone number alias.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
