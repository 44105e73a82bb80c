//! `/confirmUser`: confirming a self-registered account with the code Cognito sent
//! (`ConfirmSignUp`, `ResendConfirmationCode`). Reached after sign-up, or from `/login`
//! when an unconfirmed user signs in (§5: "the hosted UI routes them to the confirm
//! page"). The browser that signed up or proved the password holds a flow cookie and is
//! signed in straight away once the code is right; any other browser goes to `/login`.

use http::request::Parts;
use http::{Response, StatusCode};

use super::{
    authorize_request, confirmation_destination, page_url, reject, render, send_code, sent_to,
    sign_in_link,
};
use crate::emulator::authorize::{self, finish_sign_in, AuthorizeRequest};
use crate::emulator::pages::forms;
use crate::emulator::request::{cookie, csrf_ok, form_fields, Params};
use crate::emulator::response::{redirect, set_cookie, Body};
use crate::emulator::store::{Ticket, TicketPurpose};
use crate::emulator::users::{CodeProblem, Purpose, Status, User};
use crate::emulator::{cookies, Emulator};

/// Cognito's answer to confirming an account that needs no confirmation.
pub const ALREADY_CONFIRMED: &str = "User cannot be confirmed. Current status is CONFIRMED";

/// Sends `user` a fresh code, remembers this browser with a flow cookie, and redirects
/// to `/confirmUser` for them.
pub fn start(emulator: &Emulator, params: &Params, user: &User) -> Response<Body> {
    if let Some(attribute) = confirmation_destination(&emulator.pool, user) {
        send_code(emulator, user, Purpose::ConfirmSignUp, attribute);
    } else {
        tracing::warn!(
            username = %user.username,
            "emulator: no email or phone to send a confirmation code to; confirm the user with POST /_emulator/admin-confirm-sign-up"
        );
    }
    let now = emulator.now();
    let ticket = emulator.store.start_ticket(
        Ticket {
            purpose: TicketPurpose::SignInAfterConfirm,
            username: user.username.clone(),
            expires_at: now + cookies::FLOW_LIFETIME,
        },
        now,
    );
    set_cookie(
        redirect(&page_url("/confirmUser", params, Some(&user.username))),
        &cookies::flow(ticket, emulator.pool.https),
    )
}

/// `GET /confirmUser?…&username=…`.
pub fn page(emulator: &Emulator, parts: &Parts) -> Response<Body> {
    let params = Params::from_query(parts.uri.query());
    if let Err(rejection) = authorize_request(emulator, &params) {
        return reject(rejection);
    }
    let username = params.one("username").ok().flatten().unwrap_or_default();
    form(emulator, &params, StatusCode::OK, username, None, None)
}

/// `POST /confirmUser`: fields `_csrf`, `username`, `code`; or `resend` for a new code.
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
    let name = fields
        .one("username")
        .ok()
        .flatten()
        .unwrap_or_default()
        .trim();
    if !csrf_ok(&parts.headers, &fields, cookies::XSRF) {
        let expired = Some(authorize::EXPIRED_FORM);
        return form(
            emulator,
            &params,
            StatusCode::FORBIDDEN,
            name,
            expired,
            None,
        );
    }
    let user = emulator.users.find(name);
    if fields.one("resend").ok().flatten().is_some() {
        // The same answer whether or not the user exists ("Prevent user existence errors").
        if let Some(user) = user.as_ref().filter(|u| u.status == Status::Unconfirmed) {
            if let Some(attribute) = confirmation_destination(&emulator.pool, user) {
                send_code(emulator, user, Purpose::ConfirmSignUp, attribute);
            }
        }
        let notice = Some("We have sent you a new code.");
        return form(emulator, &params, StatusCode::OK, name, None, notice);
    }
    let code = fields.one("code").ok().flatten().unwrap_or_default();
    let Some(user) = user else {
        let error = Some(CodeProblem::Mismatch.message());
        return form(emulator, &params, StatusCode::OK, name, error, None);
    };
    if user.status != Status::Unconfirmed {
        return form(
            emulator,
            &params,
            StatusCode::OK,
            name,
            Some(ALREADY_CONFIRMED),
            None,
        );
    }
    let now = emulator.now();
    if let Err(problem) =
        emulator
            .users
            .redeem_code(&user.username, Purpose::ConfirmSignUp, code, now)
    {
        return form(
            emulator,
            &params,
            StatusCode::OK,
            name,
            Some(problem.message()),
            None,
        );
    }
    confirmed(emulator, parts, &params, &request, &user)
}

/// Marks the account confirmed and its address verified, then signs in the browser that
/// holds this user's flow ticket, or sends any other browser to `/login`.
fn confirmed(
    emulator: &Emulator,
    parts: &Parts,
    params: &Params,
    request: &AuthorizeRequest,
    user: &User,
) -> Response<Body> {
    let attribute = confirmation_destination(&emulator.pool, user);
    emulator
        .users
        .update(&user.username, |u| u.status = Status::Confirmed);
    let user = match attribute {
        Some(attribute) => emulator.users.mark_verified(&user.username, attribute),
        None => emulator.users.get(&user.username),
    };
    tracing::info!(username = ?user.as_ref().map(|u| &u.username), "emulator: user confirmed");
    let now = emulator.now();
    let ticket = cookie(&parts.headers, cookies::FLOW).filter(|id| {
        emulator
            .store
            .ticket(id, TicketPurpose::SignInAfterConfirm, now)
            .zip(user.as_ref())
            .is_some_and(|(t, u)| t.username == u.username)
    });
    match (ticket, user.filter(User::active)) {
        (Some(id), Some(user)) => {
            emulator.store.end_ticket(&id);
            set_cookie(
                finish_sign_in(emulator, &parts.headers, request, &user),
                &cookies::clear_flow(emulator.pool.https),
            )
        }
        _ => redirect(&page_url("/login", params, None)),
    }
}

fn form(
    emulator: &Emulator,
    params: &Params,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response<Body> {
    let intro = emulator
        .users
        .find(username)
        .filter(|u| u.status == Status::Unconfirmed)
        .and_then(|u| {
            let attribute = confirmation_destination(&emulator.pool, &u)?;
            let value = u.attributes.get(attribute.name())?.clone();
            Some(format!(
                "We have sent a code {}. Enter it below to confirm your account.",
                sent_to(attribute, &value)
            ))
        })
        .unwrap_or_else(|| "Enter the code we sent you to confirm your account.".into());
    let fields = if username.is_empty() {
        vec![
            forms::Field::text("username", "Username", ""),
            forms::Field::text("code", "Verification code", ""),
        ]
    } else {
        vec![
            forms::Field::hidden("username", username),
            forms::Field::text("code", "Verification code", ""),
        ]
    };
    let action = page_url("/confirmUser", params, None);
    let links = [sign_in_link(params)];
    render(emulator, status, |csrf| {
        forms::form(&forms::FormPage {
            title: "Confirm your account",
            intro: Some(&intro),
            action: &action,
            csrf,
            error,
            notice,
            fields: &fields,
            submit: ("confirm", "Confirm account"),
            secondary: Some(("resend", "Resend code")),
            links: &links,
            user_pool_id: &emulator.pool.user_pool_id,
        })
    })
}
