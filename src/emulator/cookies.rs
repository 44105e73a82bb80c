//! The cookies the hosted UI sets on the emulator's own origin: the 1-hour sign-in
//! session (cognito-protocol.md §1.2, §2.5), the classic hosted UI's `XSRF-TOKEN` that
//! every form's `_csrf` field must repeat, and the flow cookie that lets the browser
//! which signed up be signed in once it confirms the account.

use std::time::Duration;

use cookie::{Cookie, SameSite};

/// Name of the hosted-UI session cookie (as on a real Cognito domain).
pub const SESSION: &str = "cognito";
/// Name of the CSRF cookie the sign-in form is bound to.
pub const XSRF: &str = "XSRF-TOKEN";
/// Hosted-UI sessions last one hour whatever the token lifetimes.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(3600);
/// Name of the cookie holding a sign-up flow's ticket id.
pub const FLOW: &str = "cognito-flow";
/// How long a browser that signed up may confirm and be signed in straight away.
pub const FLOW_LIFETIME: Duration = Duration::from_secs(3600);

fn base(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

pub fn session(id: String, secure: bool) -> Cookie<'static> {
    let mut c = base(SESSION, id, secure);
    c.set_max_age(cookie::time::Duration::seconds(
        SESSION_LIFETIME.as_secs() as i64
    ));
    c
}

/// Expires the session cookie in the browser (RFC 6265 §3.1: `Max-Age=0`).
pub fn clear_session(secure: bool) -> Cookie<'static> {
    let mut c = base(SESSION, String::new(), secure);
    c.set_max_age(cookie::time::Duration::ZERO);
    c
}

pub fn xsrf(token: String, secure: bool) -> Cookie<'static> {
    base(XSRF, token, secure)
}

pub fn flow(id: String, secure: bool) -> Cookie<'static> {
    let mut c = base(FLOW, id, secure);
    c.set_max_age(cookie::time::Duration::seconds(
        FLOW_LIFETIME.as_secs() as i64
    ));
    c
}

pub fn clear_flow(secure: bool) -> Cookie<'static> {
    let mut c = base(FLOW, String::new(), secure);
    c.set_max_age(cookie::time::Duration::ZERO);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_attributes() {
        let text = session("abc".into(), false).to_string();
        assert!(text.starts_with("cognito=abc"));
        for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600"] {
            assert!(text.contains(part), "{text}");
        }
        assert!(!text.contains("Secure"));
        assert!(session("a".into(), true).to_string().contains("Secure"));
        assert!(clear_session(false).to_string().contains("Max-Age=0"));
    }
}
