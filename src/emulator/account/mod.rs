//! The hosted UI's account pages (cognito-protocol.md §1.2, §5): sign-up (`/signup`),
//! account confirmation (`/confirmUser`), forgot password (`/forgotPassword`,
//! `/confirmForgotPassword`) and the forced change of an admin-set temporary password
//! (`/forceChangePassword`, shown after `/login`).
//!
//! Every page carries the original authorize parameters in its query and checks them
//! like `/login` does, so each flow ends where sign-in ends: the code redirect to the
//! app. Every form is double-submit CSRF protected like `/login`, and every reflected
//! value is escaped by [`super::pages`].

pub mod confirm;
pub mod new_password;
pub mod reset;
pub mod signup;

use http::{Response, StatusCode};

pub use super::authorize::reject;
use super::authorize::{check, AuthorizeRequest, Rejection};
use super::config::VerifiedAttribute;
use super::cookies;
use super::pool::Pool;
use super::request::Params;
use super::response::{self, append_query, set_cookie, Body};
use super::store::random_id;
use super::users::identifiers::{valid_email, valid_phone, INVALID_EMAIL, INVALID_PHONE};
use super::users::{Letter, MessageKind, Purpose, User};
use super::Emulator;

/// Query parameters the account pages add for themselves; never carried into `/login`.
const OWN_PARAMS: &[&str] = &["username"];
/// Longest attribute value Cognito stores (§5).
const MAX_ATTRIBUTE: usize = 2048;

/// The authorize parameters of `params`, re-encoded for the next page's query.
pub fn carried(params: &Params) -> String {
    params.without(OWN_PARAMS).to_query()
}

/// `path?<carried authorize parameters>[&username=…]`.
pub fn page_url(path: &str, params: &Params, username: Option<&str>) -> String {
    let base = format!("{path}?{}", carried(params));
    match username {
        Some(name) => append_query(&base, &[("username", name)]),
        None => base,
    }
}

/// The page's authorize request, checked like `/oauth2/authorize` checks it (answer a
/// rejection with [`reject`]).
pub fn authorize_request(
    emulator: &Emulator,
    params: &Params,
) -> Result<AuthorizeRequest, Rejection> {
    check(&emulator.pool, params)
}

/// Renders a page built around a fresh CSRF token and sets the matching `XSRF-TOKEN`.
pub fn render(
    emulator: &Emulator,
    status: StatusCode,
    build: impl FnOnce(&str) -> String,
) -> Response<Body> {
    let token = random_id();
    let page = build(&token);
    set_cookie(
        response::html(status, page),
        &cookies::xsrf(token, emulator.pool.https),
    )
}

/// The "back to sign in" link of every account page.
pub fn sign_in_link(params: &Params) -> (String, &'static str) {
    (page_url("/login", params, None), "Back to sign in")
}

/// A field label from an attribute name: `phone_number` → `Phone number`.
pub fn label(attribute: &str) -> String {
    let text = attribute.replace('_', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// The problem with a value entered for a required attribute, in Cognito's words.
pub fn attribute_problem(name: &str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return Some(format!(
            "Attributes did not conform to the schema: {name}: The attribute is required"
        ));
    }
    if value.chars().count() > MAX_ATTRIBUTE {
        return Some(format!(
            "Attributes did not conform to the schema: {name}: String must be no longer than {MAX_ATTRIBUTE} characters"
        ));
    }
    match name {
        "email" if !valid_email(value) => Some(INVALID_EMAIL.into()),
        "phone_number" if !valid_phone(value) => Some(INVALID_PHONE.into()),
        _ => None,
    }
}

/// Where a sign-up confirmation code goes: the first auto-verified attribute the user
/// has a value for.
pub fn confirmation_destination(pool: &Pool, user: &User) -> Option<VerifiedAttribute> {
    pool.sign_up
        .auto_verified_attributes
        .iter()
        .copied()
        .find(|a| user.attributes.get(a.name()).is_some_and(|v| !v.is_empty()))
}

/// Where a password-reset code goes: a verified email, else a verified phone number
/// (Cognito refuses to reset a password it has nowhere verified to send a code).
pub fn reset_destination(user: &User) -> Option<VerifiedAttribute> {
    [VerifiedAttribute::Email, VerifiedAttribute::PhoneNumber]
        .into_iter()
        .find(|a| {
            user.attributes
                .get(a.verified_flag())
                .is_some_and(|v| v == "true")
                && user.attributes.get(a.name()).is_some_and(|v| !v.is_empty())
        })
}

/// "a***@e***" or "+*******0123": where a code went, as Cognito shows it.
pub fn mask(value: &str) -> String {
    if let Some((local, domain)) = value.split_once('@') {
        let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
        return format!("{}***@{}***", first(local), first(domain));
    }
    let chars: Vec<char> = value.chars().collect();
    let keep = chars.len().saturating_sub(4);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep && *c != '+' { '*' } else { *c })
        .collect()
}

/// "by email to a***@e***" for the intro of a code page.
pub fn sent_to(attribute: VerifiedAttribute, value: &str) -> String {
    let medium = match attribute {
        VerifiedAttribute::Email => "email",
        VerifiedAttribute::PhoneNumber => "SMS",
    };
    format!("by {medium} to {}", mask(value))
}

/// Issues a fresh code for `purpose` and "sends" it to the user's `attribute`; returns
/// the destination address.
pub fn send_code(
    emulator: &Emulator,
    user: &User,
    purpose: Purpose,
    attribute: VerifiedAttribute,
) -> Option<String> {
    let destination = user.attributes.get(attribute.name())?.clone();
    let now = emulator.now();
    let code = emulator.users.issue_code(&user.username, purpose, now)?;
    let kind = match purpose {
        Purpose::ConfirmSignUp => MessageKind::ConfirmSignUp,
        Purpose::ResetPassword => MessageKind::ForgotPassword,
    };
    emulator.outbox.send(
        &Letter {
            kind,
            username: &user.username,
            destination: &destination,
            code: Some(&code),
            temporary_password: None,
        },
        now.as_secs(),
    );
    Some(destination)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked() {
        assert_eq!(mask("alice@example.com"), "a***@e***");
        assert_eq!(mask("+15550100123"), "+*******0123");
        assert_eq!(mask(""), "");
        assert_eq!(mask("@"), "***@***");
    }

    #[test]
    fn attribute_values_are_checked_like_cognito() {
        assert_eq!(
            attribute_problem("email", " "),
            Some(
                "Attributes did not conform to the schema: email: The attribute is required".into()
            )
        );
        assert_eq!(
            attribute_problem("email", "nope"),
            Some("Invalid email address format.".into())
        );
        assert_eq!(attribute_problem("email", "a@b.io"), None);
        assert_eq!(
            attribute_problem("phone_number", "555"),
            Some("Invalid phone number format.".into())
        );
        assert!(attribute_problem("name", &"x".repeat(2049)).is_some());
        assert_eq!(attribute_problem("name", "Alice"), None);
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(label("phone_number"), "Phone number");
        assert_eq!(label("email"), "Email");
        assert_eq!(label(""), "");
    }

    #[test]
    fn own_parameters_are_not_carried() {
        let params = Params::parse(b"client_id=c&username=u&state=s");
        assert_eq!(carried(&params), "client_id=c&state=s");
        assert_eq!(
            page_url("/confirmUser", &params, Some("a b")),
            "/confirmUser?client_id=c&state=s&username=a+b"
        );
    }
}
