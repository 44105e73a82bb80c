//! The hosted UI's sign-in path: `GET /oauth2/authorize` (silent when the browser holds
//! a hosted-UI session, else on to `/login`), the `/login` form and its POST — which
//! also sends unconfirmed users to confirm their account and admin-created ones to
//! choose a new password — and the `/error` page (cognito-protocol.md §1.1, §1.2, §5).

mod check;
mod step;

use http::request::Parts;
use http::{Response, StatusCode};

pub use check::{check, is_pkce_value, AuthorizeRequest, Rejection};
pub use step::{after_password, Step, TEMPORARY_PASSWORD_EXPIRED};

use super::account;
use super::cookies;
use super::pages::{self, LoginForm};
use super::request::{cookie, csrf_ok, form_fields, Params};
use super::response::{self, append_query, redirect, set_cookie, Body};
use super::stats::Stats;
use super::store::{random_id, CodeGrant, HostedSession};
use super::users::User;
use super::Emulator;

/// Shown for an unknown user and for a wrong password alike, so the form does not tell
/// which usernames exist ("Prevent user existence errors", §5).
pub const WRONG_CREDENTIALS: &str = "Incorrect username or password.";
pub const EXPIRED_FORM: &str = "Your sign-in page expired. Please try again.";

/// `GET /oauth2/authorize`.
pub fn authorize(emulator: &Emulator, parts: &Parts) -> Response<Body> {
    Stats::count(&emulator.stats.authorize_requests);
    let params = Params::from_query(parts.uri.query());
    let request = match check(&emulator.pool, &params) {
        Ok(request) => request,
        Err(rejection) => return reject(rejection),
    };
    let now = emulator.now();
    let session = cookie(&parts.headers, cookies::SESSION)
        .and_then(|id| emulator.store.session(&id, now))
        .filter(|s| emulator.users.get(&s.username).is_some_and(|u| u.active()));
    match session {
        // A live hosted-UI session signs the user in again without any UI (§1.1).
        Some(session) => {
            let code = issue_code(emulator, &request, &session.username, session.auth_time);
            redirect(&code_redirect(&request, &code))
        }
        None => redirect(&format!("/login?{}", parts.uri.query().unwrap_or_default())),
    }
}

/// `GET /login`: the sign-in form, after the same checks as `/oauth2/authorize`.
pub fn login_page(emulator: &Emulator, parts: &Parts) -> Response<Body> {
    let params = Params::from_query(parts.uri.query());
    if let Err(rejection) = check(&emulator.pool, &params) {
        return reject(rejection);
    }
    login_form(emulator, &params, StatusCode::OK, "", None)
}

/// `POST /login`: checks the CSRF token and the credentials, then takes the step the
/// account's state calls for ([`after_password`]).
pub async fn login_submit<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let params = Params::from_query(parts.uri.query());
    let request = match check(&emulator.pool, &params) {
        Ok(request) => request,
        Err(rejection) => return reject(rejection),
    };
    let fields = form_fields(&parts.headers, body).await;
    if !csrf_ok(&parts.headers, &fields, cookies::XSRF) {
        return login_form(
            emulator,
            &params,
            StatusCode::FORBIDDEN,
            "",
            Some(EXPIRED_FORM),
        );
    }
    let username = fields.one("username").ok().flatten().unwrap_or_default();
    let password = fields.one("password").ok().flatten().unwrap_or_default();
    let Some(user) = emulator.users.authenticate(username, password) else {
        return login_form(
            emulator,
            &params,
            StatusCode::OK,
            username,
            Some(WRONG_CREDENTIALS),
        );
    };
    let step = after_password(
        &user,
        emulator
            .pool
            .password_policy
            .temporary_password_validity_days,
        !emulator.pool.sign_up.auto_verified_attributes.is_empty(),
        emulator.now(),
    );
    match step {
        Step::SignIn => finish_sign_in(emulator, &parts.headers, &request, &user),
        Step::Refuse(message) => {
            login_form(emulator, &params, StatusCode::OK, username, Some(message))
        }
        Step::Confirm => account::confirm::start(emulator, &params, &user),
        Step::NewPassword => account::new_password::start(emulator, &params, &user),
    }
}

/// Starts a fresh hosted-UI session for `user` (a new id every time, so a planted cookie
/// is never promoted) and redirects to the app with a code.
pub fn finish_sign_in(
    emulator: &Emulator,
    headers: &http::HeaderMap,
    request: &AuthorizeRequest,
    user: &User,
) -> Response<Body> {
    let now = emulator.now();
    if let Some(old) = cookie(headers, cookies::SESSION) {
        emulator.store.end_session(&old);
    }
    let session = HostedSession {
        username: user.username.clone(),
        auth_time: now.as_secs(),
        expires_at: now + cookies::SESSION_LIFETIME,
    };
    let id = emulator.store.start_session(session, now);
    let code = issue_code(emulator, request, &user.username, now.as_secs());
    set_cookie(
        redirect(&code_redirect(request, &code)),
        &cookies::session(id, emulator.pool.https),
    )
}

/// `GET /error`: Cognito's generic error page. The `error` code is shown only when it is
/// a plain token, so the page cannot be made to display arbitrary text.
pub fn error_page(parts: &Parts) -> Response<Body> {
    let params = Params::from_query(parts.uri.query());
    let detail = params.one("error").ok().flatten().filter(|e| {
        e.len() <= 64
            && e.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ')
    });
    response::html(
        StatusCode::BAD_REQUEST,
        pages::error(
            pages::GENERIC_ERROR,
            detail.map(|d| format!("error: {d}")).as_deref(),
        ),
    )
}

/// Turns a rejected authorize request into Cognito's answer.
pub fn reject(rejection: Rejection) -> Response<Body> {
    match rejection {
        Rejection::ErrorPage => response::html(
            StatusCode::BAD_REQUEST,
            pages::error(pages::GENERIC_ERROR, None),
        ),
        Rejection::RedirectMismatch { client_id } => redirect(&append_query(
            "/error",
            &[("error", "redirect_mismatch"), ("client_id", &client_id)],
        )),
        Rejection::ToClient {
            redirect_uri,
            error,
            state,
        } => {
            let mut pairs = vec![("error", error)];
            if let Some(state) = state.as_deref() {
                pairs.push(("state", state));
            }
            redirect(&append_query(&redirect_uri, &pairs))
        }
    }
}

/// Renders the sign-in form with a fresh CSRF token bound to a new `XSRF-TOKEN` cookie,
/// and links to the password reset and (when allowed) sign-up pages.
pub fn login_form(
    emulator: &Emulator,
    params: &Params,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response<Body> {
    let token = random_id();
    let query = account::carried(params);
    let mut links = vec![(format!("/forgotPassword?{query}"), "Forgot your password?")];
    if emulator.pool.sign_up.self_registration {
        links.push((format!("/signup?{query}"), "Need an account? Sign up"));
    }
    let page = pages::login(&LoginForm {
        action: &format!("/login?{query}"),
        csrf: &token,
        username,
        error,
        notice: None,
        links: &links,
        user_pool_id: &emulator.pool.user_pool_id,
    });
    set_cookie(
        response::html(status, page),
        &cookies::xsrf(token, emulator.pool.https),
    )
}

/// Issues a single-use code (a UUID, like Cognito's) bound to the request.
fn issue_code(
    emulator: &Emulator,
    request: &AuthorizeRequest,
    username: &str,
    auth_time: u64,
) -> String {
    let now = emulator.now();
    let code = uuid::Uuid::new_v4().to_string();
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        scopes: request.scopes.clone(),
        username: username.to_string(),
        auth_time,
        expires_at: now + emulator.pool.code_validity,
    };
    emulator.store.put_code(&code, grant, now);
    code
}

fn code_redirect(request: &AuthorizeRequest, code: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(state) = request.state.as_deref() {
        pairs.push(("state", state));
    }
    append_query(&request.redirect_uri, &pairs)
}
