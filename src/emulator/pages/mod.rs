//! The hosted UI's HTML: the sign-in form and Cognito's error page here, the account
//! forms (sign-up, confirmation, password reset, forced change) in [`forms`]. Plain HTML
//! with a small inline style and no script. Every value that came from a request or the
//! config goes through [`escape`] — the attack class "reflected values in HTML pages"
//! (peers.md §4) stops here.

pub mod forms;

/// Escapes text for HTML element content and double- or single-quoted attribute values
/// (OWASP XSS prevention rule #1/#2 character set).
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2F;"),
            '`' => out.push_str("&#x60;"),
            '=' => out.push_str("&#x3D;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}\
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:1.3rem;margin-top:0}\
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]\
{width:100%;box-sizing:border-box;padding:.5rem}button{margin-top:1.2rem;width:100%;\
padding:.6rem;background:#ec7211;color:#fff;border:0;border-radius:4px;font-size:1rem}\
.error{color:#b00020;background:#fdecea;padding:.6rem;border-radius:4px}\
.notice{color:#0b5394;background:#e8f0fe;padding:.6rem;border-radius:4px}\
.links{margin-top:1rem;font-size:.9rem}.links a{display:block;margin:.3rem 0;color:#0b63ce}\
button.secondary{background:#fff;color:#0b63ce;border:1px solid #0b63ce}\
.note{color:#666;font-size:.8rem;margin-top:1.5rem}";

fn document(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main>{content}</main></body></html>\n",
        title = escape(title),
    )
}

/// What the sign-in form shows.
pub struct LoginForm<'a> {
    /// The `/login?…` URL the form posts back to (already a same-origin path).
    pub action: &'a str,
    /// The `_csrf` value, equal to the `XSRF-TOKEN` cookie.
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// Good news to show above the form (e.g. "your account is confirmed").
    pub notice: Option<&'a str>,
    /// `(href, text)` links under the form: forgot password, sign up.
    pub links: &'a [(String, &'a str)],
    pub user_pool_id: &'a str,
}

/// `<p>` messages above a form: an error (with `id`) and a notice.
fn messages(error_id: &str, error: Option<&str>, notice: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"{error_id}\">{}</p>", escape(e)))
        .unwrap_or_default();
    let notice = notice
        .map(|n| format!("<p class=\"notice\">{}</p>", escape(n)))
        .unwrap_or_default();
    format!("{notice}{error}")
}

/// Links under a form; each `href` is a same-origin path built by the emulator.
fn links(links: &[(String, &str)]) -> String {
    if links.is_empty() {
        return String::new();
    }
    let items: String = links
        .iter()
        .map(|(href, text)| format!("<a href=\"{}\">{}</a>", escape(href), escape(text)))
        .collect();
    format!("<div class=\"links\">{items}</div>")
}

/// The classic hosted UI's sign-in form: fields `_csrf`, `username`, `password`,
/// `signInSubmitButton` posted back to the same `/login?…` URL (§1.2).
pub fn login(form: &LoginForm) -> String {
    let error = messages("loginErrorMessage", form.error, form.notice);
    let content = format!(
        "<h1>Sign in with your username and password</h1>{error}\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
<label for=\"signInFormUsername\">Username</label>\
<input id=\"signInFormUsername\" type=\"text\" name=\"username\" value=\"{username}\" autocomplete=\"username\" autofocus required>\
<label for=\"signInFormPassword\">Password</label>\
<input id=\"signInFormPassword\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\" name=\"signInSubmitButton\" value=\"Sign in\">Sign in</button>\
</form>{links}<p class=\"note\">Local Cognito emulator · user pool {pool}</p>",
        links = links(form.links),
        action = escape(form.action),
        csrf = escape(form.csrf),
        username = escape(form.username),
        pool = escape(form.user_pool_id),
    );
    document("Signin", &content)
}

/// Cognito's own error page, shown when it cannot safely redirect to the app.
pub fn error(message: &str, detail: Option<&str>) -> String {
    let detail = detail
        .map(|d| format!("<p class=\"note\">{}</p>", escape(d)))
        .unwrap_or_default();
    document("Error", &format!("<h1>{}</h1>{detail}", escape(message)))
}

/// The generic message of Cognito's `/error` page.
pub const GENERIC_ERROR: &str = "An error was encountered with the requested page.";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2F;script&gt;"
        );
        assert_eq!(escape("a\"b"), "a&quot;b");
        assert_eq!(escape("Tom & Jerry"), "Tom &amp; Jerry");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn login_page_escapes_every_reflected_value() {
        let page = login(&LoginForm {
            action: "/login?state=\"><script>x</script>",
            csrf: "c<",
            username: "<img src=x>",
            error: Some("Incorrect username or password."),
            notice: None,
            links: &[("/signup?a=\"<b>".to_string(), "Sign up")],
            user_pool_id: "pool",
        });
        assert!(!page.contains("<script>x"));
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>"));
        assert!(page.contains("Sign up</a>"));
        assert!(page.contains("Incorrect username or password."));
        assert!(page.contains("name=\"_csrf\" value=\"c&lt;\""));
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_markup_characters(raw in ".*") {
            let out = escape(&raw);
            prop_assert!(!out.contains(['<', '>', '"', '\'', '`']));
            let back = out
                .replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
                .replace("&#x27;", "'").replace("&#x2F;", "/").replace("&#x60;", "`")
                .replace("&#x3D;", "=").replace("&amp;", "&");
            prop_assert_eq!(back, raw);
        }
    }
}
