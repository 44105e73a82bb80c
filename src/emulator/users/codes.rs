//! One-time verification codes: six digits, valid 24 hours (cognito-protocol.md §2.5),
//! at most five wrong guesses before the code is void. The check is pure; callers pass
//! the time.

use std::time::Duration;

use crate::config::Secret;

/// How long a sign-up confirmation or password-reset code stays valid.
pub const CODE_VALIDITY: Duration = Duration::from_secs(24 * 3600);
/// Wrong guesses allowed before the code is void and a new one must be requested.
pub const MAX_FAILURES: u8 = 5;

/// What a code is for; a user may hold one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    ConfirmSignUp,
    ResetPassword,
}

/// An issued code waiting to be entered.
#[derive(Debug, Clone)]
pub struct PendingCode {
    pub purpose: Purpose,
    code: Secret,
    expires_at: Duration,
    failures: u8,
}

impl PendingCode {
    pub fn new(purpose: Purpose, code: String, now: Duration) -> Self {
        Self {
            purpose,
            code: Secret::new(code),
            expires_at: now + CODE_VALIDITY,
            failures: 0,
        }
    }
}

/// Why an entered code is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    /// Wrong digits (`CodeMismatchException`).
    Mismatch,
    /// Expired, used up, or never sent (`ExpiredCodeException`).
    Expired,
    /// Too many wrong guesses (`LimitExceededException`).
    TooManyAttempts,
}

impl CodeProblem {
    /// Cognito's message for the hosted UI.
    pub fn message(self) -> &'static str {
        match self {
            CodeProblem::Mismatch => "Invalid verification code provided, please try again.",
            CodeProblem::Expired => "Invalid code provided, please request a code again.",
            CodeProblem::TooManyAttempts => "Attempt limit exceeded, please try after some time.",
        }
    }
}

/// A fresh six-digit code.
pub fn new_code() -> String {
    let mut bytes = [0u8; 4];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Only without an OS entropy source; UUIDv4 has its own RNG path.
        let id = uuid::Uuid::new_v4();
        for (b, r) in bytes.iter_mut().zip(id.as_bytes()) {
            *b = *r;
        }
    }
    format!("{:06}", u32::from_be_bytes(bytes) % 1_000_000)
}

/// Checks `given` against the pending code. `Ok` consumes nothing by itself: the caller
/// removes the code once the action it guards succeeded. A mismatch counts a failure;
/// the fifth one voids the code.
pub fn check(pending: &mut PendingCode, given: &str, now: Duration) -> Result<(), CodeProblem> {
    if pending.failures >= MAX_FAILURES {
        return Err(CodeProblem::TooManyAttempts);
    }
    if now >= pending.expires_at {
        return Err(CodeProblem::Expired);
    }
    let a = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, given.trim().as_bytes());
    let b = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pending.code.expose().as_bytes());
    if aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok() {
        Ok(())
    } else {
        pending.failures = pending.failures.saturating_add(1);
        Err(if pending.failures >= MAX_FAILURES {
            CodeProblem::TooManyAttempts
        } else {
            CodeProblem::Mismatch
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Duration = Duration::from_secs(1_000_000);

    #[test]
    fn right_code_passes_until_it_expires() {
        let mut code = PendingCode::new(Purpose::ConfirmSignUp, "123456".into(), T0);
        assert_eq!(check(&mut code, "123456", T0), Ok(()));
        assert_eq!(check(&mut code, " 123456 ", T0), Ok(()));
        assert_eq!(
            check(&mut code, "123456", T0 + CODE_VALIDITY),
            Err(CodeProblem::Expired)
        );
    }

    #[test]
    fn five_wrong_guesses_void_the_code() {
        let mut code = PendingCode::new(Purpose::ResetPassword, "123456".into(), T0);
        for _ in 0..4 {
            assert_eq!(check(&mut code, "000000", T0), Err(CodeProblem::Mismatch));
        }
        assert_eq!(
            check(&mut code, "000000", T0),
            Err(CodeProblem::TooManyAttempts)
        );
        assert_eq!(
            check(&mut code, "123456", T0),
            Err(CodeProblem::TooManyAttempts)
        );
    }

    #[test]
    fn messages_are_cognitos() {
        assert_eq!(
            CodeProblem::Mismatch.message(),
            "Invalid verification code provided, please try again."
        );
    }

    proptest! {
        #[test]
        fn codes_are_six_digits(_ in 0..50u8) {
            let code = new_code();
            prop_assert_eq!(code.len(), 6);
            prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
