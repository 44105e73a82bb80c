//! `/forgotPassword` and `/confirmForgotPassword`: a user who forgot the password asks
//! for a code (`ForgotPassword`), then enters it with a new password that must satisfy
//! the policy (`ConfirmForgotPassword`), and signs in again. Whether the name exists is
//! never revealed: an unknown name gets the same pages, just no code.

use http::request::Parts;
use http::{Response, StatusCode};

use super::{
    authorize_request, page_url, reject, render, reset_destination, send_code, sign_in_link,
};
use crate::emulator::authorize;
use crate::emulator::pages::forms;
use crate::emulator::request::{csrf_ok, form_fields, Params};
use crate::emulator::response::{redirect, Body};
use crate::emulator::users::{policy, CodeProblem, Purpose, Status};
use crate::emulator::{cookies, Emulator};

pub const PASSWORDS_DIFFER: &str = "Passwords do not match.";

/// `GET /forgotPassword`.
pub fn forgot_page(emulator: &Emulator, parts: &Parts) -> Response<Body> {
    let params = Params::from_query(parts.uri.query());
    if let Err(rejection) = authorize_request(emulator, &params) {
        return reject(rejection);
    }
    forgot_form(emulator, &params, StatusCode::OK, None)
}

/// `POST /forgotPassword`: field `username` (or an email/phone the pool signs in with).
pub async fn forgot_submit<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let params = Params::from_query(parts.uri.query());
    if let Err(rejection) = authorize_request(emulator, &params) {
        return reject(rejection);
    }
    let fields = form_fields(&parts.headers, body).await;
    if !csrf_ok(&parts.headers, &fields, cookies::XSRF) {
        let expired = Some(authorize::EXPIRED_FORM);
        return forgot_form(emulator, &params, StatusCode::FORBIDDEN, expired);
    }
    let name = fields
        .one("username")
        .ok()
        .flatten()
        .unwrap_or_default()
        .trim();
    if name.is_empty() {
        let error = Some("Username cannot be empty");
        return forgot_form(emulator, &params, StatusCode::OK, error);
    }
    let user = emulator
        .users
        .find(name)
        .filter(|u| u.enabled && u.status == Status::Confirmed);
    if let Some(user) = user {
        if let Some(attribute) = reset_destination(&user) {
            send_code(emulator, &user, Purpose::ResetPassword, attribute);
        }
    }
    redirect(&page_url("/confirmForgotPassword", &params, Some(name)))
}

/// `GET /confirmForgotPassword?…&username=…`.
pub fn confirm_page(emulator: &Emulator, parts: &Parts) -> Response<Body> {
    let params = Params::from_query(parts.uri.query());
    if let Err(rejection) = authorize_request(emulator, &params) {
        return reject(rejection);
    }
    let name = params.one("username").ok().flatten().unwrap_or_default();
    confirm_form(emulator, &params, StatusCode::OK, name, None)
}

/// `POST /confirmForgotPassword`: fields `username`, `code`, `password` and, when the
/// form sends it, `confirmPassword`. Success leads back to `/login`.
pub async fn confirm_submit<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let params = Params::from_query(parts.uri.query());
    if let Err(rejection) = authorize_request(emulator, &params) {
        return reject(rejection);
    }
    let fields = form_fields(&parts.headers, body).await;
    let name = fields
        .one("username")
        .ok()
        .flatten()
        .unwrap_or_default()
        .trim();
    if !csrf_ok(&parts.headers, &fields, cookies::XSRF) {
        let expired = Some(authorize::EXPIRED_FORM);
        return confirm_form(emulator, &params, StatusCode::FORBIDDEN, name, expired);
    }
    let code = fields.one("code").ok().flatten().unwrap_or_default();
    let password = fields.one("password").ok().flatten().unwrap_or_default();
    let again = fields.non_empty("confirmPassword").ok().flatten();
    let problem = if again.is_some_and(|a| a != password) {
        Some(PASSWORDS_DIFFER.to_string())
    } else {
        // The policy is checked before the code, so a weak password does not use it up.
        policy::violation(&emulator.pool.password_policy, password)
    };
    if let Some(problem) = problem {
        return confirm_form(emulator, &params, StatusCode::OK, name, Some(&problem));
    }
    let Some(user) = emulator.users.find(name) else {
        let error = Some(CodeProblem::Mismatch.message());
        return confirm_form(emulator, &params, StatusCode::OK, name, error);
    };
    let now = emulator.now();
    if let Err(problem) =
        emulator
            .users
            .redeem_code(&user.username, Purpose::ResetPassword, code, now)
    {
        return confirm_form(
            emulator,
            &params,
            StatusCode::OK,
            name,
            Some(problem.message()),
        );
    }
    emulator
        .users
        .set_password(&user.username, password, Status::Confirmed);
    tracing::info!(username = %user.username, "emulator: password reset");
    redirect(&page_url("/login", &params, None))
}

fn forgot_form(
    emulator: &Emulator,
    params: &Params,
    status: StatusCode,
    error: Option<&str>,
) -> Response<Body> {
    let fields = [forms::Field::text("username", "Username", "")];
    let action = page_url("/forgotPassword", params, None);
    let links = [sign_in_link(params)];
    render(emulator, status, |csrf| {
        forms::form(&forms::FormPage {
            title: "Forgot your password?",
            intro: Some(
                "Enter your username below and we will send a message to reset your password.",
            ),
            action: &action,
            csrf,
            error,
            notice: None,
            fields: &fields,
            submit: ("reset_my_password", "Reset my password"),
            secondary: None,
            links: &links,
            user_pool_id: &emulator.pool.user_pool_id,
        })
    })
}

fn confirm_form(
    emulator: &Emulator,
    params: &Params,
    status: StatusCode,
    name: &str,
    error: Option<&str>,
) -> Response<Body> {
    let name_field = if name.is_empty() {
        forms::Field::text("username", "Username", "")
    } else {
        forms::Field::hidden("username", name)
    };
    let fields = [
        name_field,
        forms::Field::text("code", "Code", ""),
        forms::Field::password("password", "New password"),
        forms::Field::password("confirmPassword", "Enter new password again"),
    ];
    let action = page_url("/confirmForgotPassword", params, None);
    let links = [sign_in_link(params)];
    render(emulator, status, |csrf| {
        forms::form(&forms::FormPage {
            title: "Reset your password",
            intro: Some(
                "If the account exists, we have sent a password reset code to its verified email or phone. Enter it below to reset your password.",
            ),
            action: &action,
            csrf,
            error,
            notice: None,
            fields: &fields,
            submit: ("change_password", "Change password"),
            secondary: None,
            links: &links,
            user_pool_id: &emulator.pool.user_pool_id,
        })
    })
}
