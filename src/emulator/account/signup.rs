//! `/signup`: self-registration (Cognito `SignUp`). The form asks for a username (or the
//! email/phone that is the username), a password checked against the pool's policy with
//! Cognito's messages, and the required attributes. A new account is `UNCONFIRMED`; with
//! verification on, a code goes to the outbox and the browser moves on to
//! `/confirmUser`, remembered by a flow cookie so confirming signs it in.

use std::collections::BTreeMap;

use http::request::Parts;
use http::{Response, StatusCode};

use super::{
    attribute_problem, authorize_request, confirm, label, page_url, reject, render, sign_in_link,
};
use crate::emulator::config::SignInAttribute;
use crate::emulator::pages::{self, forms};
use crate::emulator::request::{csrf_ok, form_fields, Params};
use crate::emulator::response::{self, redirect, Body};
use crate::emulator::users::{policy, NewUser, Status};
use crate::emulator::{authorize, cookies, Emulator};

/// Cognito's answer when self-registration is off (`AllowAdminCreateUserOnly`).
pub const NOT_PERMITTED: &str = "SignUp is not permitted for this user pool";

/// What the user typed (passwords excluded), to fill the form again after an error.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Entered {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
}

/// The attribute inputs the form shows: the required ones, except an attribute that
/// the username itself fills in pools that sign in with email or phone.
pub fn attribute_fields(
    required: &[String],
    username_attributes: &[SignInAttribute],
) -> Vec<String> {
    required
        .iter()
        .filter(|r| !username_attributes.iter().any(|a| a.name() == r.as_str()))
        .cloned()
        .collect()
}

/// The label of the name field: what this pool signs in with.
pub fn name_label(username_attributes: &[SignInAttribute]) -> &'static str {
    let email = username_attributes.contains(&SignInAttribute::Email);
    let phone = username_attributes.contains(&SignInAttribute::PhoneNumber);
    match (email, phone) {
        (true, true) => "Email or phone number",
        (true, false) => "Email",
        (false, true) => "Phone number",
        (false, false) => "Username",
    }
}

/// Checks a submitted sign-up in Cognito's order — name, required attributes, password
/// policy — and returns what was entered plus the first problem, if any. Pure.
pub fn validate(
    fields: &Params,
    shown: &[String],
    policy_config: &crate::emulator::config::PasswordPolicyConfig,
) -> (Entered, Option<String>) {
    let text = |name: &str| {
        fields
            .one(name)
            .ok()
            .flatten()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let entered = Entered {
        name: text("username"),
        attributes: shown.iter().map(|a| (a.clone(), text(a))).collect(),
    };
    let password = fields.one("password").ok().flatten().unwrap_or_default();
    let problem = if entered.name.is_empty() {
        Some("Username cannot be empty".to_string())
    } else {
        shown
            .iter()
            .find_map(|a| {
                attribute_problem(a, entered.attributes.get(a).map_or("", String::as_str))
            })
            .or_else(|| policy::violation(policy_config, password))
    };
    (entered, problem)
}

/// `GET /signup`.
pub fn page(emulator: &Emulator, parts: &Parts) -> Response<Body> {
    let params = Params::from_query(parts.uri.query());
    if let Err(rejection) = authorize_request(emulator, &params) {
        return reject(rejection);
    }
    if !emulator.pool.sign_up.self_registration {
        return not_permitted();
    }
    form(emulator, &params, StatusCode::OK, &Entered::default(), None)
}

/// `POST /signup`.
pub async fn submit<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let params = Params::from_query(parts.uri.query());
    if let Err(rejection) = authorize_request(emulator, &params) {
        return reject(rejection);
    }
    if !emulator.pool.sign_up.self_registration {
        return not_permitted();
    }
    let fields = form_fields(&parts.headers, body).await;
    if !csrf_ok(&parts.headers, &fields, cookies::XSRF) {
        let entered = Entered::default();
        return form(
            emulator,
            &params,
            StatusCode::FORBIDDEN,
            &entered,
            Some(authorize::EXPIRED_FORM),
        );
    }
    let shown = shown_attributes(emulator);
    let (entered, problem) = validate(&fields, &shown, &emulator.pool.password_policy);
    if let Some(problem) = problem {
        return form(emulator, &params, StatusCode::OK, &entered, Some(&problem));
    }
    let password = fields.one("password").ok().flatten().unwrap_or_default();
    let created = emulator.users.create(
        NewUser {
            name: &entered.name,
            password,
            attributes: entered.attributes.clone(),
            groups: Vec::new(),
        },
        Status::Unconfirmed,
        emulator.now(),
    );
    let user = match created {
        Ok(user) => user,
        Err(e) => {
            return form(
                emulator,
                &params,
                StatusCode::OK,
                &entered,
                Some(&e.to_string()),
            )
        }
    };
    tracing::info!(username = %user.username, "emulator: user signed up");
    if emulator.pool.sign_up.auto_verified_attributes.is_empty() {
        // Verification off: an administrator confirms the account (admin-confirm-sign-up).
        return redirect(&page_url("/login", &params, None));
    }
    confirm::start(emulator, &params, &user)
}

fn shown_attributes(emulator: &Emulator) -> Vec<String> {
    attribute_fields(
        &emulator.pool.sign_up.required_attributes,
        emulator.users.identifiers().username_attributes(),
    )
}

fn not_permitted() -> Response<Body> {
    response::html(StatusCode::BAD_REQUEST, pages::error(NOT_PERMITTED, None))
}

fn form(
    emulator: &Emulator,
    params: &Params,
    status: StatusCode,
    entered: &Entered,
    error: Option<&str>,
) -> Response<Body> {
    let shown = shown_attributes(emulator);
    let labels: Vec<String> = shown.iter().map(|a| label(a)).collect();
    let mut fields = vec![forms::Field::text(
        "username",
        name_label(emulator.users.identifiers().username_attributes()),
        &entered.name,
    )];
    for (attribute, label) in shown.iter().zip(&labels) {
        let value = entered.attributes.get(attribute).map_or("", String::as_str);
        fields.push(forms::Field::text(attribute, label, value));
    }
    fields.push(forms::Field::password("password", "Password"));
    let action = page_url("/signup", params, None);
    let links = [sign_in_link(params)];
    render(emulator, status, |csrf| {
        forms::form(&forms::FormPage {
            title: "Sign up with a new account",
            intro: None,
            action: &action,
            csrf,
            error,
            notice: None,
            fields: &fields,
            submit: ("signUpButton", "Sign up"),
            secondary: None,
            links: &links,
            user_pool_id: &emulator.pool.user_pool_id,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::PasswordPolicyConfig;

    fn check(body: &str) -> (Entered, Option<String>) {
        validate(
            &Params::parse(body.as_bytes()),
            &["email".to_string()],
            &PasswordPolicyConfig::default(),
        )
    }

    #[test]
    fn problems_come_in_cognitos_order() {
        assert_eq!(
            check("username=&email=x&password=p").1.as_deref(),
            Some("Username cannot be empty")
        );
        assert_eq!(
            check("username=dave&password=Passw0rd!").1.as_deref(),
            Some("Attributes did not conform to the schema: email: The attribute is required")
        );
        assert_eq!(
            check("username=dave&email=nope&password=Passw0rd!")
                .1
                .as_deref(),
            Some("Invalid email address format.")
        );
        assert_eq!(
            check("username=dave&email=d@x.io&password=short")
                .1
                .as_deref(),
            Some("Password did not conform with policy: Password not long enough")
        );
        let (entered, problem) = check("username=+dave+&email=d@x.io&password=Passw0rd!");
        assert_eq!(problem, None);
        assert_eq!(entered.name, "dave");
        assert_eq!(entered.attributes["email"], "d@x.io");
    }

    #[test]
    fn the_username_attribute_is_not_asked_twice() {
        let required = vec!["email".to_string(), "name".to_string()];
        assert_eq!(
            attribute_fields(&required, &[SignInAttribute::Email]),
            vec!["name"]
        );
        assert_eq!(attribute_fields(&required, &[]), required);
        assert_eq!(name_label(&[SignInAttribute::Email]), "Email");
        assert_eq!(name_label(&[]), "Username");
    }
}
