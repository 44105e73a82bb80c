//! The hosted UI's account forms — sign-up, confirm account, forgot password, reset
//! password, change a temporary password — as one simple shape a browser script can
//! fill: `<form method="post">` with a hidden `_csrf`, named inputs, a submit button, and
//! an optional second button (e.g. "resend code") that posts the same form.

use super::{document, escape, links, messages};

/// How an input is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Password,
    Hidden,
}

/// One input of a form.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: Kind,
    /// Echoed back after an error (never for passwords).
    pub value: &'a str,
    pub required: bool,
}

impl<'a> Field<'a> {
    pub fn text(name: &'a str, label: &'a str, value: &'a str) -> Self {
        Self {
            name,
            label,
            kind: Kind::Text,
            value,
            required: true,
        }
    }

    pub fn password(name: &'a str, label: &'a str) -> Self {
        Self {
            name,
            label,
            kind: Kind::Password,
            value: "",
            required: true,
        }
    }

    pub fn hidden(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            label: "",
            kind: Kind::Hidden,
            value,
            required: false,
        }
    }
}

/// Everything an account form shows.
pub struct FormPage<'a> {
    /// The `<title>` and heading.
    pub title: &'a str,
    /// A sentence under the heading (what to do, where the code went).
    pub intro: Option<&'a str>,
    /// The same-origin `/path?…` the form posts to.
    pub action: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub fields: &'a [Field<'a>],
    /// `(name, label)` of the submit button.
    pub submit: (&'a str, &'a str),
    /// `(name, label)` of a second button posting the same form without validation.
    pub secondary: Option<(&'a str, &'a str)>,
    pub links: &'a [(String, &'a str)],
    pub user_pool_id: &'a str,
}

fn input(field: &Field) -> String {
    let name = escape(field.name);
    let value = escape(field.value);
    let required = if field.required { " required" } else { "" };
    match field.kind {
        Kind::Hidden => format!("<input type=\"hidden\" name=\"{name}\" value=\"{value}\">"),
        Kind::Text => format!(
            "<label for=\"{name}\">{label}</label><input id=\"{name}\" type=\"text\" name=\"{name}\" value=\"{value}\"{required}>",
            label = escape(field.label)
        ),
        Kind::Password => format!(
            "<label for=\"{name}\">{label}</label><input id=\"{name}\" type=\"password\" name=\"{name}\" autocomplete=\"new-password\"{required}>",
            label = escape(field.label)
        ),
    }
}

/// Renders an account form.
pub fn form(page: &FormPage) -> String {
    let intro = page
        .intro
        .map(|i| format!("<p>{}</p>", escape(i)))
        .unwrap_or_default();
    let inputs: String = page.fields.iter().map(input).collect();
    let secondary = page
        .secondary
        .map(|(name, label)| {
            format!(
                "<button type=\"submit\" class=\"secondary\" name=\"{}\" value=\"1\" formnovalidate>{}</button>",
                escape(name),
                escape(label)
            )
        })
        .unwrap_or_default();
    let content = format!(
        "<h1>{title}</h1>{intro}{messages}<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">{inputs}\
<button type=\"submit\" name=\"{submit_name}\" value=\"1\">{submit_label}</button>{secondary}</form>\
{links}<p class=\"note\">Local Cognito emulator · user pool {pool}</p>",
        title = escape(page.title),
        messages = messages("errorMessage", page.error, page.notice),
        action = escape(page.action),
        csrf = escape(page.csrf),
        submit_name = escape(page.submit.0),
        submit_label = escape(page.submit.1),
        links = links(page.links),
        pool = escape(page.user_pool_id),
    );
    document(page.title, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page<'a>(fields: &'a [Field<'a>], error: Option<&'a str>) -> String {
        form(&FormPage {
            title: "Sign up with a new account",
            intro: Some("intro <i>"),
            action: "/signup?state=\"><script>",
            csrf: "tok",
            error,
            notice: None,
            fields,
            submit: ("signUpButton", "Sign up"),
            secondary: Some(("resend", "Resend code")),
            links: &[],
            user_pool_id: "pool",
        })
    }

    #[test]
    fn fields_render_with_names_and_escaped_values() {
        let fields = [
            Field::text("username", "Username", "<img src=x>"),
            Field::password("password", "Password"),
            Field::hidden("session", "s\"1"),
        ];
        let html = page(&fields, Some("User already exists"));
        assert!(html.contains("name=\"_csrf\" value=\"tok\""));
        assert!(html.contains("name=\"username\" value=\"&lt;img src&#x3D;x&gt;\""));
        assert!(html.contains("type=\"password\" name=\"password\""));
        assert!(html.contains("name=\"session\" value=\"s&quot;1\""));
        assert!(html.contains("<p class=\"error\" id=\"errorMessage\">User already exists</p>"));
        assert!(html.contains("name=\"resend\" value=\"1\" formnovalidate"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<i>"));
    }
}
