//! The one body type of the service and every response the sidecar makes up itself:
//! redirects, 401/403/4xx/5xx pages. Browsers get a small HTML page, everyone else JSON
//! (SPEC §5.4–5.6). No page ever includes upstream or IdP internals.

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};

/// Errors a response body can fail with (a proxied body's upstream error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response: a streamed upstream body or a synthetic one.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

pub fn empty() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A ready-made name: looking a header up by `&str` parses the name every time.
const X_REQUESTED_WITH: http::HeaderName = http::HeaderName::from_static("x-requested-with");

/// Whether the client wants an HTML page rather than JSON: a browser navigation
/// (`Accept` includes `text/html`) that is not an XHR.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accept_html = headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"));
    let xhr = || {
        headers
            .get(X_REQUESTED_WITH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("xmlhttprequest"))
    };
    accept_html && !xhr()
}

fn base(status: StatusCode) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header(CACHE_CONTROL, "no-store")
        .header("x-content-type-options", "nosniff")
}

fn finish(builder: http::response::Builder, body: Body) -> Response<Body> {
    // Builders above only get static, valid header values; a failure here would be a
    // programming error, and we answer 500 rather than panic.
    builder.body(body).unwrap_or_else(|_| {
        let mut resp = Response::new(self::full("internal error"));
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        resp
    })
}

/// `{"error": code, "message": …}` with the given status.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    finish(
        base(status).header(CONTENT_TYPE, "application/json"),
        full(body),
    )
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    finish(
        base(status).header(CONTENT_TYPE, "application/json"),
        full(value.to_string()),
    )
}

/// A minimal HTML page. `title` and `message` are escaped here.
pub fn html_page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         h1{{font-size:1.4rem}}</style></head><body><h1>{t}</h1><p>{m}</p></body></html>",
        t = escape_html(title),
        m = escape_html(message)
    );
    finish(
        base(status)
            .header(CONTENT_TYPE, "text/html; charset=utf-8")
            .header(
                "content-security-policy",
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        full(body),
    )
}

/// An error in the form the client wants (HTML page or JSON).
pub fn error(
    html: bool,
    status: StatusCode,
    code: &str,
    title: &str,
    message: &str,
) -> Response<Body> {
    if html {
        html_page(status, title, message)
    } else {
        json_error(status, code, message)
    }
}

/// 302 to `location` (already validated by the caller).
pub fn redirect(location: &str) -> Response<Body> {
    match HeaderValue::from_str(location) {
        Ok(value) => finish(base(StatusCode::FOUND).header(LOCATION, value), empty()),
        Err(_) => json_error(StatusCode::BAD_REQUEST, "bad_request", "invalid redirect"),
    }
}

/// SPEC §5.4: `401` with `WWW-Authenticate: Bearer` and `{"error":"unauthenticated"}`.
pub fn unauthenticated(error_description: Option<&str>) -> Response<Body> {
    let challenge = match error_description {
        Some(_) => "Bearer error=\"invalid_token\"",
        None => "Bearer",
    };
    let body = serde_json::json!({ "error": "unauthenticated" }).to_string();
    finish(
        base(StatusCode::UNAUTHORIZED)
            .header(CONTENT_TYPE, "application/json")
            .header(WWW_AUTHENTICATE, challenge),
        full(body),
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_detection_follows_accept_and_xhr() {
        let mut h = HeaderMap::new();
        assert!(!wants_html(&h));
        h.insert(
            "accept",
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        assert!(wants_html(&h));
        h.insert(
            "x-requested-with",
            HeaderValue::from_static("XMLHttpRequest"),
        );
        assert!(!wants_html(&h));
    }

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape_html("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
