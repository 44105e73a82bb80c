//! `Set-Cookie` headers for our cookies (RFC 6265 §4.1), built with the `cookie` crate.
//!
//! Every cookie is `HttpOnly` (scripts never read it), `SameSite=Lax` (sent on the
//! top-level GET back from the hosted UI, not on cross-site subrequests — RFC 6265bis
//! §8.8), `Path=/`, and `Secure` when the public URL is https (SPEC §7). Removal repeats
//! the same attributes with `Max-Age=0` and an `Expires` in the past, because a browser
//! only replaces a cookie whose name, domain and path match.

use cookie::time::{Duration, OffsetDateTime};
use cookie::{Cookie, Expiration, SameSite};
use http::HeaderValue;

use super::chunks::{split, MAX_CHUNKS};
use super::{classify, OwnName};

/// Why `Set-Cookie` headers could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CookieError {
    /// Internal: the sealed session needs more cookies than we ever read back.
    #[error("the session needs {chunks} cookies, more than the {MAX_CHUNKS} allowed; keep fewer tokens in the session or shorten session.cookie_name")]
    TooLarge { chunks: usize },
    /// Config: the cookie name is not an RFC 6265 token.
    #[error("session.cookie_name: `{name}` is not a valid cookie name; use letters, digits, `_`, `-` and `.`")]
    InvalidName { name: String },
    /// Internal: a value with bytes a header cannot carry (sealed values never have them).
    #[error("the value for cookie `{name}` contains bytes not allowed in a header")]
    InvalidValue { name: String },
}

/// `Set-Cookie`s that store `sealed` under `name`, plus removals for every session
/// cookie the request carried that this write does not replace — leftover chunks of a
/// larger session, or the other form when switching between `NAME` and `NAME_0..`. A
/// stale chunk left behind would be concatenated onto the new value and break it.
pub fn set_session(
    name: &str,
    sealed: &str,
    secure: bool,
    max_age_secs: u64,
    present: &[(String, String)],
) -> Result<Vec<HeaderValue>, CookieError> {
    let chunks = split(name, sealed);
    if chunks.len() > MAX_CHUNKS {
        return Err(CookieError::TooLarge {
            chunks: chunks.len(),
        });
    }
    let mut headers = chunks
        .iter()
        .map(|(cookie, value)| build(cookie, value, secure, Some(max_age_secs)))
        .collect::<Result<Vec<_>, _>>()?;
    let written = |cookie: &str| chunks.iter().any(|(n, _)| n == cookie);
    headers.extend(
        stale_session_names(name, present)
            .into_iter()
            .filter(|cookie| !written(cookie))
            .filter_map(|cookie| expire_cookie(cookie, secure)),
    );
    Ok(headers)
}

/// Removals for every session cookie present in the request (`NAME`, `NAME_<digits>`).
pub fn clear_session(name: &str, secure: bool, present: &[(String, String)]) -> Vec<HeaderValue> {
    stale_session_names(name, present)
        .into_iter()
        .filter_map(|cookie| expire_cookie(cookie, secure))
        .collect()
}

/// The sign-in state cookie, living [`super::SIGNIN_TTL_SECS`] (SPEC §7: 10 minutes).
pub fn set_signin(name: &str, sealed: &str, secure: bool) -> Result<HeaderValue, CookieError> {
    build(name, sealed, secure, Some(super::SIGNIN_TTL_SECS))
}

/// The guest-identity cookie (`NAME_guest`, see `crate::identity_pool`), living
/// `max_age_secs`.
pub fn set_guest(
    name: &str,
    sealed: &str,
    secure: bool,
    max_age_secs: u64,
) -> Result<HeaderValue, CookieError> {
    build(name, sealed, secure, Some(max_age_secs))
}

/// A removal for one cookie; `None` if `name` cannot be a cookie name (then the browser
/// cannot hold such a cookie either).
pub fn expire_cookie(name: &str, secure: bool) -> Option<HeaderValue> {
    build(name, "", secure, None).ok()
}

/// Distinct session cookie names in the request, in first-seen order.
fn stale_session_names<'a>(name: &str, present: &'a [(String, String)]) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for (cookie, _) in present {
        let ours = matches!(
            classify(name.as_bytes(), cookie.as_bytes()),
            Some(OwnName::Session | OwnName::Chunk(_) | OwnName::OddChunk)
        );
        if ours && !names.contains(&cookie.as_str()) {
            names.push(cookie);
        }
    }
    names
}

/// RFC 9110 §5.6.2 `token`, which RFC 6265 §4.1.1 requires of cookie names.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// One `Set-Cookie` value; `max_age_secs = None` builds a removal.
fn build(
    name: &str,
    value: &str,
    secure: bool,
    max_age_secs: Option<u64>,
) -> Result<HeaderValue, CookieError> {
    let invalid = || CookieError::InvalidName {
        name: name.to_owned(),
    };
    if !is_token(name) {
        return Err(invalid());
    }
    let builder = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure);
    let cookie = match max_age_secs {
        Some(secs) => builder.max_age(Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))),
        None => builder
            .max_age(Duration::ZERO)
            .expires(Expiration::DateTime(OffsetDateTime::UNIX_EPOCH)),
    }
    .build();
    // Sealed values are base64url; anything that is not a valid header value (a
    // control character in a caller's value) is refused rather than sent.
    HeaderValue::from_str(&cookie.to_string()).map_err(|_| CookieError::InvalidValue {
        name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests;
