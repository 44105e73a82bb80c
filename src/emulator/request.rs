//! Reading what a request carries: query and form parameters (with repeated parameters
//! detected, since a duplicated `code`, `state` or `redirect_uri` is an attack, not a
//! list), size-capped bodies, cookies, and `Authorization` credentials.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};

/// Largest form body the emulator reads (token, revoke, login, hooks).
pub const MAX_BODY: usize = 64 * 1024;

/// Decoded `application/x-www-form-urlencoded` pairs (RFC 6749 appendix B), from a query
/// string or a body.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: HashMap<String, Vec<String>>,
    order: Vec<(String, String)>,
}

/// A parameter was sent more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated(pub String);

impl Params {
    pub fn parse(raw: &[u8]) -> Self {
        let mut params = Params::default();
        for (k, v) in form_urlencoded::parse(raw) {
            params
                .values
                .entry(k.to_string())
                .or_default()
                .push(v.to_string());
            params.order.push((k.into_owned(), v.into_owned()));
        }
        params
    }

    pub fn from_query(query: Option<&str>) -> Self {
        Self::parse(query.unwrap_or_default().as_bytes())
    }

    /// The single value of `name`; `Err` when it was sent more than once.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        match self.values.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([value]) => Ok(Some(value.as_str())),
            Some(_) => Err(Repeated(name.to_string())),
        }
    }

    /// Like [`Params::one`], with an empty value treated as absent.
    pub fn non_empty(&self, name: &str) -> Result<Option<&str>, Repeated> {
        Ok(self.one(name)?.filter(|v| !v.is_empty()))
    }

    /// True when any of `names` was sent more than once.
    pub fn any_repeated(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.one(n).is_err())
    }

    /// The same parameters without `names` (the account pages' own, like `username`,
    /// which must not be carried back into `/login`).
    pub fn without(&self, names: &[&str]) -> Params {
        let mut out = Params::default();
        for (k, v) in self
            .order
            .iter()
            .filter(|(k, _)| !names.contains(&k.as_str()))
        {
            out.values.entry(k.clone()).or_default().push(v.clone());
            out.order.push((k.clone(), v.clone()));
        }
        out
    }

    /// The pairs re-encoded as a query string, in the order received.
    pub fn to_query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.order.iter())
            .finish()
    }
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("client: the request body is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("client: the request body could not be read")]
    Unreadable,
}

/// Reads a whole body of at most [`MAX_BODY`] bytes.
pub async fn read_body<B>(body: B) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Unreadable),
    }
}

/// The fields of a posted HTML form; empty when the body is not a form or unreadable.
pub async fn form_fields<B>(headers: &HeaderMap, body: B) -> Params
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match (is_form(headers), read_body(body).await) {
        (true, Ok(bytes)) => Params::parse(&bytes),
        _ => Params::default(),
    }
}

/// The double-submit CSRF check of the hosted UI's forms: the `_csrf` field must equal
/// the `XSRF-TOKEN` cookie set with the form (OWASP CSRF cheat sheet, "double submit").
pub fn csrf_ok(headers: &HeaderMap, fields: &Params, cookie_name: &str) -> bool {
    match (
        fields.non_empty("_csrf").ok().flatten(),
        cookie(headers, cookie_name),
    ) {
        (Some(sent), Some(expected)) => {
            aws_lc_rs::constant_time::verify_slices_are_equal(sent.as_bytes(), expected.as_bytes())
                .is_ok()
        }
        _ => false,
    }
}

/// True when the request declares a form body (`Content-Type` parameters ignored).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The value of cookie `name` (RFC 6265 §5.4), from every `Cookie` header (HTTP/2 may
/// split them). Unparsable pieces are skipped.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (given, rest) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| rest.trim())
        .filter(|rest| !rest.is_empty())
}

/// `Authorization: Bearer <token>` (RFC 6750 §2.1).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    authorization(headers, "Bearer")
}

/// What an `Authorization: Basic` header held.
#[derive(Debug, PartialEq, Eq)]
pub enum Basic {
    Absent,
    Malformed,
    Credentials { id: String, secret: String },
}

/// `Authorization: Basic base64(id:secret)`; id and secret are form-urlencoded before
/// base64 per RFC 6749 §2.3.1, so they are decoded here.
pub fn basic(headers: &HeaderMap) -> Basic {
    if headers.get(AUTHORIZATION).is_none() {
        return Basic::Absent;
    }
    let Some(encoded) = authorization(headers, "Basic") else {
        return Basic::Malformed;
    };
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Basic::Malformed;
    };
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
    };
    match (unescape(id), unescape(secret)) {
        (Ok(id), Ok(secret)) if !id.is_empty() => Basic::Credentials { id, secret },
        _ => Basic::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn params_detect_repeats_and_decode() {
        let p = Params::parse(b"a=1&b=x+y&b=z&c=&d=%3Cs%3E");
        assert_eq!(p.one("a"), Ok(Some("1")));
        assert_eq!(p.one("b"), Err(Repeated("b".into())));
        assert_eq!(p.one("c"), Ok(Some("")));
        assert_eq!(p.non_empty("c"), Ok(None));
        assert_eq!(p.one("d"), Ok(Some("<s>")));
        assert_eq!(p.one("missing"), Ok(None));
        assert!(p.any_repeated(&["a", "b"]));
        assert_eq!(
            Params::parse(p.to_query().as_bytes()).one("d"),
            Ok(Some("<s>"))
        );
        let trimmed = p.without(&["b", "c"]);
        assert_eq!(trimmed.to_query(), "a=1&d=%3Cs%3E");
        assert_eq!(trimmed.one("b"), Ok(None));
    }

    #[test]
    fn csrf_needs_field_and_cookie_to_agree() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("XSRF-TOKEN=abc"));
        assert!(csrf_ok(&h, &Params::parse(b"_csrf=abc"), "XSRF-TOKEN"));
        assert!(!csrf_ok(&h, &Params::parse(b"_csrf=abd"), "XSRF-TOKEN"));
        assert!(!csrf_ok(&h, &Params::parse(b"_csrf="), "XSRF-TOKEN"));
        assert!(!csrf_ok(
            &HeaderMap::new(),
            &Params::parse(b"_csrf=abc"),
            "XSRF-TOKEN"
        ));
    }

    #[test]
    fn cookies_are_found_across_headers() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; junk; b=2"));
        h.append(COOKIE, HeaderValue::from_static("cognito=abc"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "cognito").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "nope"), None);
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let mut h = HeaderMap::new();
        assert_eq!(basic(&h), Basic::Absent);
        let value = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        h.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        assert_eq!(
            basic(&h),
            Basic::Credentials {
                id: "my id".into(),
                secret: "s:cret".into()
            }
        );
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic(&h), Basic::Malformed);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(basic(&h), Basic::Malformed);
        assert_eq!(bearer(&h), Some("abc"));
    }

    #[test]
    fn form_content_type_ignores_parameters() {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("Application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert!(is_form(&h));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(!is_form(&h));
    }
}
