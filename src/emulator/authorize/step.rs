//! What happens after a user proved their password at `/login`, by account state
//! (cognito-protocol.md §5): confirmed users are signed in, disabled ones refused,
//! unconfirmed ones sent to confirm their account, admin-created ones made to choose a
//! new password — unless their temporary password has expired. Pure.

use std::time::Duration;

use crate::emulator::users::{Status, User};

/// Cognito's messages for the refusals.
pub const USER_DISABLED: &str = "User is disabled.";
pub const NOT_CONFIRMED: &str = "User is not confirmed.";
pub const TEMPORARY_PASSWORD_EXPIRED: &str =
    "Temporary password has expired and must be reset by an administrator.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SignIn,
    /// Stay on the form with this message.
    Refuse(&'static str),
    /// Send a new code and show `/confirmUser`.
    Confirm,
    /// Show the forced password change form.
    NewPassword,
}

/// The step for `user` at `now`. `verification` tells whether the pool sends codes
/// (without it, an unconfirmed user waits for an administrator).
pub fn after_password(
    user: &User,
    temporary_password_days: u32,
    verification: bool,
    now: Duration,
) -> Step {
    if !user.enabled {
        return Step::Refuse(USER_DISABLED);
    }
    match user.status {
        Status::Confirmed => Step::SignIn,
        Status::Unconfirmed if verification => Step::Confirm,
        Status::Unconfirmed => Step::Refuse(NOT_CONFIRMED),
        Status::ForceChangePassword
            if user.temporary_password_expired(temporary_password_days, now) =>
        {
            Step::Refuse(TEMPORARY_PASSWORD_EXPIRED)
        }
        Status::ForceChangePassword => Step::NewPassword,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const DAY: u64 = 24 * 3600;

    fn user(status: Status, enabled: bool) -> User {
        User {
            username: "u".into(),
            sub: "s".into(),
            attributes: BTreeMap::new(),
            groups: Vec::new(),
            status,
            enabled,
            created_at: Duration::from_secs(100 * DAY),
        }
    }

    #[test]
    fn each_state_has_its_step() {
        let now = Duration::from_secs(100 * DAY);
        assert_eq!(
            after_password(&user(Status::Confirmed, true), 7, true, now),
            Step::SignIn
        );
        assert_eq!(
            after_password(&user(Status::Confirmed, false), 7, true, now),
            Step::Refuse(USER_DISABLED)
        );
        assert_eq!(
            after_password(&user(Status::Unconfirmed, true), 7, true, now),
            Step::Confirm
        );
        assert_eq!(
            after_password(&user(Status::Unconfirmed, true), 7, false, now),
            Step::Refuse(NOT_CONFIRMED)
        );
        assert_eq!(
            after_password(&user(Status::ForceChangePassword, true), 7, true, now),
            Step::NewPassword
        );
    }

    #[test]
    fn temporary_passwords_expire_after_the_configured_days() {
        let u = user(Status::ForceChangePassword, true);
        let created = u.created_at;
        let just_before = created + Duration::from_secs(3 * DAY - 1);
        let at_expiry = created + Duration::from_secs(3 * DAY);
        assert_eq!(after_password(&u, 3, true, just_before), Step::NewPassword);
        assert_eq!(
            after_password(&u, 3, true, at_expiry),
            Step::Refuse(TEMPORARY_PASSWORD_EXPIRED)
        );
        // A changed password never expires.
        let confirmed = user(Status::Confirmed, true);
        assert_eq!(
            after_password(
                &confirmed,
                3,
                true,
                at_expiry + Duration::from_secs(999 * DAY)
            ),
            Step::SignIn
        );
    }
}
