//! The forced password change of an admin-created user (`FORCE_CHANGE_PASSWORD`,
//! Cognito's `NEW_PASSWORD_REQUIRED` challenge): after the temporary password is proved
//! at `/login`, the user chooses a new one that satisfies the policy and fills in any
//! required attribute the administrator left out, then is signed in. The form posts to
//! `/forceChangePassword` with a short-lived ticket instead of the temporary password.

use std::collections::BTreeMap;
use std::time::Duration;

use http::request::Parts;
use http::{Response, StatusCode};

use super::reset::PASSWORDS_DIFFER;
use super::{attribute_problem, authorize_request, label, page_url, reject, render};
use crate::emulator::authorize::{self, finish_sign_in, login_form};
use crate::emulator::pages::forms;
use crate::emulator::request::{csrf_ok, form_fields, Params};
use crate::emulator::response::Body;
use crate::emulator::store::{Ticket, TicketPurpose};
use crate::emulator::users::{policy, Status, User};
use crate::emulator::{cookies, Emulator};

/// How long the change form stays usable (Cognito's default authentication session).
pub const TICKET_LIFETIME: Duration = Duration::from_secs(180);
/// Cognito's answer when the challenge session ran out.
pub const SESSION_EXPIRED: &str = "Invalid session for the user, session is expired.";

/// Required attributes `user` lacks: the change form asks for them.
pub fn missing_attributes(required: &[String], user: &User) -> Vec<String> {
    required
        .iter()
        .filter(|a| user.attributes.get(a.as_str()).is_none_or(|v| v.is_empty()))
        .cloned()
        .collect()
}

/// Shows the change form for `user`, who just proved the temporary password.
pub fn start(emulator: &Emulator, params: &Params, user: &User) -> Response<Body> {
    let now = emulator.now();
    let ticket = emulator.store.start_ticket(
        Ticket {
            purpose: TicketPurpose::NewPassword,
            username: user.username.clone(),
            expires_at: now + TICKET_LIFETIME,
        },
        now,
    );
    form(emulator, params, &ticket, user, &BTreeMap::new(), None)
}

/// `POST /forceChangePassword`: fields `_csrf`, `session`, `password`,
/// `confirmPassword` (checked when sent) and the missing required attributes.
pub async fn submit<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let params = Params::from_query(parts.uri.query());
    let request = match authorize_request(emulator, &params) {
        Ok(request) => request,
        Err(rejection) => return reject(rejection),
    };
    let fields = form_fields(&parts.headers, body).await;
    let refuse = |message: &str| login_form(emulator, &params, StatusCode::OK, "", Some(message));
    if !csrf_ok(&parts.headers, &fields, cookies::XSRF) {
        return refuse(authorize::EXPIRED_FORM);
    }
    let now = emulator.now();
    let session = fields.one("session").ok().flatten().unwrap_or_default();
    let user = emulator
        .store
        .ticket(session, TicketPurpose::NewPassword, now)
        .and_then(|t| emulator.users.get(&t.username))
        .filter(|u| u.enabled && u.status == Status::ForceChangePassword);
    let Some(user) = user else {
        return refuse(SESSION_EXPIRED);
    };
    let days = emulator
        .pool
        .password_policy
        .temporary_password_validity_days;
    if user.temporary_password_expired(days, now) {
        emulator.store.end_ticket(session);
        return refuse(authorize::TEMPORARY_PASSWORD_EXPIRED);
    }
    let missing = missing_attributes(&emulator.pool.sign_up.required_attributes, &user);
    let entered: BTreeMap<String, String> = missing
        .iter()
        .map(|a| {
            let value = fields.one(a).ok().flatten().unwrap_or_default().trim();
            (a.clone(), value.to_string())
        })
        .collect();
    let password = fields.one("password").ok().flatten().unwrap_or_default();
    let again = fields.non_empty("confirmPassword").ok().flatten();
    let problem = if again.is_some_and(|a| a != password) {
        Some(PASSWORDS_DIFFER.to_string())
    } else {
        policy::violation(&emulator.pool.password_policy, password).or_else(|| {
            entered
                .iter()
                .find_map(|(name, value)| attribute_problem(name, value))
        })
    };
    if let Some(problem) = problem {
        return form(emulator, &params, session, &user, &entered, Some(&problem));
    }
    emulator.store.end_ticket(session);
    emulator.users.update(&user.username, |u| {
        u.attributes.extend(entered);
    });
    let Some(user) = emulator
        .users
        .set_password(&user.username, password, Status::Confirmed)
    else {
        return refuse(SESSION_EXPIRED);
    };
    tracing::info!(username = %user.username, "emulator: temporary password changed");
    finish_sign_in(emulator, &parts.headers, &request, &user)
}

fn form(
    emulator: &Emulator,
    params: &Params,
    session: &str,
    user: &User,
    entered: &BTreeMap<String, String>,
    error: Option<&str>,
) -> Response<Body> {
    let missing = missing_attributes(&emulator.pool.sign_up.required_attributes, user);
    let labels: Vec<String> = missing.iter().map(|a| label(a)).collect();
    let mut fields = vec![
        forms::Field::hidden("session", session),
        forms::Field::password("password", "New password"),
        forms::Field::password("confirmPassword", "Enter new password again"),
    ];
    for (attribute, label) in missing.iter().zip(&labels) {
        let value = entered.get(attribute).map_or("", String::as_str);
        fields.push(forms::Field::text(attribute, label, value));
    }
    let action = page_url("/forceChangePassword", params, None);
    render(emulator, StatusCode::OK, |csrf| {
        forms::form(&forms::FormPage {
            title: "Change Password",
            intro: Some("Please enter your new password below."),
            action: &action,
            csrf,
            error,
            notice: None,
            fields: &fields,
            submit: ("change_password", "Send"),
            secondary: None,
            links: &[],
            user_pool_id: &emulator.pool.user_pool_id,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::users::Status;

    #[test]
    fn only_absent_or_empty_required_attributes_are_asked_for() {
        let user = User {
            username: "u".into(),
            sub: "s".into(),
            attributes: BTreeMap::from([
                ("email".to_string(), "u@x.io".to_string()),
                ("name".to_string(), String::new()),
            ]),
            groups: Vec::new(),
            status: Status::ForceChangePassword,
            enabled: true,
            created_at: Duration::ZERO,
        };
        let required = vec![
            "email".to_string(),
            "name".to_string(),
            "phone_number".to_string(),
        ];
        assert_eq!(
            missing_attributes(&required, &user),
            vec!["name", "phone_number"]
        );
    }
}
