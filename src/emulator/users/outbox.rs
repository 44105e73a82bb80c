//! The emulator's "mail server": verification codes and invitations Cognito would send
//! by email or SMS are logged (codes only, so a developer can read them in the terminal)
//! and kept, newest last, for `GET /_emulator/outbox`.
//!
//! Codes are the point of a local rehearsal and are logged on purpose; temporary
//! passwords are not logged, only kept in the outbox.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;

/// Messages kept; older ones are dropped first.
const CAPACITY: usize = 1000;

/// Which Cognito message this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Sign-up confirmation code (`SignUp`, `ResendConfirmationCode`).
    ConfirmSignUp,
    /// Password-reset code (`ForgotPassword`).
    ForgotPassword,
    /// Username and temporary password of an admin-created user (`AdminCreateUser`).
    Invitation,
}

/// One sent message, as `GET /_emulator/outbox` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: u64,
    /// Emulator time (Unix seconds) when it was sent.
    pub sent_at: u64,
    pub kind: MessageKind,
    pub username: String,
    /// The email address or phone number it went to.
    pub destination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
    /// The text a user would read (Cognito's default message templates).
    pub text: String,
}

/// What to send.
pub struct Letter<'a> {
    pub kind: MessageKind,
    pub username: &'a str,
    pub destination: &'a str,
    pub code: Option<&'a str>,
    pub temporary_password: Option<&'a str>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    messages: VecDeque<Message>,
}

#[derive(Default)]
pub struct Outbox {
    state: Mutex<State>,
}

/// Counts only: messages hold codes and temporary passwords.
impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("messages", &self.lock().messages.len())
            .finish()
    }
}

/// Cognito's default message text for each kind.
pub fn text(letter: &Letter) -> String {
    let code = letter.code.unwrap_or_default();
    match letter.kind {
        MessageKind::ConfirmSignUp => format!("Your verification code is {code}."),
        MessageKind::ForgotPassword => format!("Your password reset code is {code}."),
        MessageKind::Invitation => format!(
            "Your username is {} and temporary password is {}.",
            letter.username,
            letter.temporary_password.unwrap_or_default()
        ),
    }
}

impl Outbox {
    /// A poisoned lock only means a panic elsewhere; the queue itself stays consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// "Sends" `letter`: logs it (without any temporary password) and keeps it.
    pub fn send(&self, letter: &Letter, sent_at: u64) -> Message {
        match letter.kind {
            MessageKind::Invitation => tracing::info!(
                username = %letter.username,
                to = %letter.destination,
                "emulator outbox: invitation with a temporary password (read it at GET /_emulator/outbox)"
            ),
            kind => tracing::info!(
                username = %letter.username,
                to = %letter.destination,
                ?kind,
                "emulator outbox: verification code {}",
                letter.code.unwrap_or_default()
            ),
        }
        let mut state = self.lock();
        state.next_id += 1;
        let message = Message {
            id: state.next_id,
            sent_at,
            kind: letter.kind,
            username: letter.username.to_string(),
            destination: letter.destination.to_string(),
            code: letter.code.map(str::to_string),
            temporary_password: letter.temporary_password.map(str::to_string),
            text: text(letter),
        };
        if state.messages.len() >= CAPACITY {
            state.messages.pop_front();
        }
        state.messages.push_back(message.clone());
        message
    }

    /// Every kept message, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_kept_in_order_and_bounded() {
        let outbox = Outbox::default();
        for i in 0..(CAPACITY + 5) {
            let code = format!("{i:06}");
            outbox.send(
                &Letter {
                    kind: MessageKind::ConfirmSignUp,
                    username: "u",
                    destination: "u@x.io",
                    code: Some(&code),
                    temporary_password: None,
                },
                1,
            );
        }
        let all = outbox.messages();
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all.last().unwrap().code.as_deref(), Some("001004"));
        assert_eq!(
            all.last().unwrap().text,
            "Your verification code is 001004."
        );
        assert!(!format!("{outbox:?}").contains("001004"));
    }

    #[test]
    fn invitations_carry_username_and_password() {
        let letter = Letter {
            kind: MessageKind::Invitation,
            username: "dave",
            destination: "dave@x.io",
            code: None,
            temporary_password: Some("Tmp-1234Aa1!"),
        };
        assert_eq!(
            text(&letter),
            "Your username is dave and temporary password is Tmp-1234Aa1!."
        );
    }
}
