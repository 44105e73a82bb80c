//! Every response the emulator sends: redirects, Cognito's JSON error shape
//! (cognito-protocol.md §1.3), JSON documents, HTML pages. Building never panics: a
//! header value that cannot be encoded turns into a plain 500.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

/// The one body type of the emulator: every response is small and fully built.
pub type Body = Full<Bytes>;

/// Cognito's JSON content type, spelled as Cognito sends it.
pub const JSON: &str = "application/json;charset=UTF-8";

fn finish(builder: http::response::Builder, body: impl Into<Bytes>) -> Response<Body> {
    builder.body(Full::new(body.into())).unwrap_or_else(|_| {
        let mut fallback = Response::new(Full::new(Bytes::from_static(b"internal error")));
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// `302 Found` to `location` (absolute, or a path on the emulator itself).
pub fn redirect(location: &str) -> Response<Body> {
    finish(
        Response::builder()
            .status(StatusCode::FOUND)
            .header(LOCATION, location)
            .header(CACHE_CONTROL, "no-store"),
        Bytes::new(),
    )
}

pub fn html(status: StatusCode, page: String) -> Response<Body> {
    finish(
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "text/html;charset=UTF-8")
            .header(CACHE_CONTROL, "no-store"),
        page,
    )
}

pub fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => finish(
            Response::builder()
                .status(status)
                .header(CONTENT_TYPE, JSON)
                .header(CACHE_CONTROL, "no-store"),
            body,
        ),
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// `{"error":"<code>"}` with Cognito's content type.
pub fn oauth_error(status: StatusCode, code: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "error": code }))
}

pub fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    finish(
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "text/plain;charset=UTF-8"),
        Bytes::from_static(text.as_bytes()),
    )
}

pub fn empty(status: StatusCode) -> Response<Body> {
    finish(Response::builder().status(status), Bytes::new())
}

pub fn not_found() -> Response<Body> {
    plain(StatusCode::NOT_FOUND, "not found")
}

pub fn method_not_allowed() -> Response<Body> {
    plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// Adds a `Set-Cookie` header; a value that is not a valid header is dropped (cookie
/// values here are generated base64url, so that cannot happen in practice).
pub fn set_cookie(mut response: Response<Body>, cookie: &cookie::Cookie<'_>) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// Sets a header on a built response, ignoring values that cannot be encoded.
pub fn with_header(
    mut response: Response<Body>,
    name: http::HeaderName,
    value: &str,
) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// `uri` with `pairs` appended to its query string. The registered URI is kept byte for
/// byte (no URL normalisation), since the app compares it exactly.
pub fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish();
    if query.is_empty() {
        return uri.to_string();
    }
    let separator = match uri.find('?') {
        None => "?",
        Some(i) if i + 1 == uri.len() || uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn append_query_handles_existing_queries() {
        assert_eq!(
            append_query("http://a/cb", &[("code", "1")]),
            "http://a/cb?code=1"
        );
        assert_eq!(
            append_query("http://a/cb?x=1", &[("code", "1")]),
            "http://a/cb?x=1&code=1"
        );
        assert_eq!(
            append_query("http://a/cb?", &[("code", "1")]),
            "http://a/cb?code=1"
        );
        assert_eq!(append_query("http://a/cb", &[]), "http://a/cb");
        assert_eq!(
            append_query("http://a/cb", &[("state", "a b&c")]),
            "http://a/cb?state=a+b%26c"
        );
    }

    #[test]
    fn bad_header_values_do_not_panic() {
        assert_eq!(
            redirect("http://a/\n").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    proptest! {
        #[test]
        fn appended_pairs_round_trip(state in ".{0,40}", code in "[a-f0-9-]{1,36}") {
            let uri = append_query("http://app/cb?keep=1", &[("code", &code), ("state", &state)]);
            let url = url::Url::parse(&uri).unwrap();
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            prop_assert_eq!(pairs, vec![
                ("keep".to_string(), "1".to_string()),
                ("code".to_string(), code),
                ("state".to_string(), state),
            ]);
            prop_assert!(HeaderValue::from_str(&uri).is_ok());
        }
    }
}
