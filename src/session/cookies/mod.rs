//! The sidecar's cookies on the wire (RFC 6265): reading the request's `Cookie`
//! headers, recognising which pairs are ours, and removing them before the request goes
//! upstream. Chunking lives in [`chunks`], `Set-Cookie` building in [`set`], the
//! per-attempt sign-in cookie in [`csrf`].
//!
//! Our cookies for a base name `NAME` (`session.cookie_name`) are `NAME` (a session that
//! fits one cookie), `NAME_0`..`NAME_3` (a chunked session), `NAME_csrf_<id>` (one per
//! sign-in in progress) and `NAME_guest` (a guest's identity-pool identity). Names are compared case-sensitively, as RFC 6265 §5.4 does.

pub mod chunks;
pub mod csrf;
pub mod set;

pub use chunks::{byte_pairs, join, split, MAX_CHUNKS, MAX_CHUNK_LEN};
pub use csrf::{
    csrf_cookie_name, open_signin, signins_to_expire, SignInState, MAX_PENDING_SIGNINS,
    SIGNIN_TTL_SECS,
};
pub use set::{clear_session, expire_cookie, set_guest, set_session, set_signin, CookieError};

use bytes::BytesMut;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

/// At most this many pairs are examined across all `Cookie` headers of a request.
/// Browsers keep 50–180 cookies per domain (RFC 6265 §6.1 asks for at least 50), so a
/// real request never comes close; a hostile one costs bounded work.
pub const MAX_REQUEST_COOKIES: usize = 256;

/// What one of our cookie names is, relative to the base name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnName {
    /// `NAME`: a session in one cookie.
    Session,
    /// `NAME_<i>` with `i` written canonically (no sign, no leading zero) and below
    /// [`MAX_CHUNKS`].
    Chunk(usize),
    /// `NAME_<digits>` that is not a chunk we would ever write (`NAME_01`, `NAME_99…`).
    /// Never read, but expired and stripped.
    OddChunk,
    /// `NAME_csrf…`: sign-in state.
    Csrf,
    /// `NAME_guest`: the identity-pool identity of a visitor who is not signed in.
    Guest,
}

/// Classifies `name` against the base name; `None` means a foreign cookie.
pub(crate) fn classify(base: &[u8], name: &[u8]) -> Option<OwnName> {
    let rest = name.strip_prefix(base)?;
    if rest.is_empty() {
        return Some(OwnName::Session);
    }
    let suffix = rest.strip_prefix(b"_")?;
    if suffix.starts_with(b"csrf") {
        return Some(OwnName::Csrf);
    }
    if suffix == b"guest" {
        return Some(OwnName::Guest);
    }
    if suffix.is_empty() || !suffix.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let canonical = suffix == b"0" || !suffix.starts_with(b"0");
    // At most two digits can name a chunk below MAX_CHUNKS; longer runs never parse,
    // so `NAME_99999999999999999999` cannot overflow anything.
    let index = match suffix {
        [d] => usize::from(d - b'0'),
        _ => usize::MAX,
    };
    if canonical && index < MAX_CHUNKS {
        Some(OwnName::Chunk(index))
    } else {
        Some(OwnName::OddChunk)
    }
}

/// One `name=value` item of a `Cookie` header, as raw bytes.
struct Pair<'a> {
    /// The whole item without surrounding whitespace, kept byte-for-byte when forwarded.
    whole: &'a [u8],
    /// The trimmed name and value; `None` when the item has no `=`.
    split: Option<(&'a [u8], &'a [u8])>,
}

/// Splits a `Cookie` header value into items (RFC 6265 §4.2.1: `; `-separated
/// `name=value` pairs), tolerating anything: empty items are skipped, whitespace around
/// names and values is trimmed, items without `=` are returned unsplit.
fn pairs(value: &[u8]) -> impl Iterator<Item = Pair<'_>> {
    // memchr rather than a byte-by-byte split: a session cookie makes this header
    // several KB, and it is read on every request.
    let mut rest = Some(value);
    std::iter::from_fn(move || loop {
        let remaining = rest?;
        let item = match memchr::memchr(b';', remaining) {
            Some(at) => {
                let (item, tail) = remaining.split_at(at);
                rest = tail.get(1..);
                item
            }
            None => {
                rest = None;
                remaining
            }
        };
        let whole = trim(item);
        if whole.is_empty() {
            continue;
        }
        let split = memchr::memchr(b'=', whole).map(|eq| {
            let (name, value) = whole.split_at(eq);
            (trim(name), trim(value.get(1..).unwrap_or_default()))
        });
        return Some(Pair { whole, split });
    })
}

fn trim(bytes: &[u8]) -> &[u8] {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Every `name=value` pair of the request as raw bytes, in order, from every `Cookie`
/// header (HTTP/2 sends one header per cookie, RFC 9113 §8.2.3): borrowed, nothing
/// copied or validated. Pairs with an empty name or no `=` are skipped; at most
/// [`MAX_REQUEST_COOKIES`] items are examined.
pub fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&[u8], &[u8])> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|value| pairs(value.as_bytes()))
        .take(MAX_REQUEST_COOKIES)
        .filter_map(|pair| pair.split.filter(|(name, _)| !name.is_empty()))
}

/// [`cookie_pairs`] as owned text; pairs with non-UTF-8 bytes are skipped.
pub fn request_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    cookie_pairs(headers)
        .filter_map(|(name, value)| {
            let name = std::str::from_utf8(name).ok()?;
            let value = std::str::from_utf8(value).ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Removes our cookies (`NAME`, `NAME_<digits>`, `NAME_csrf…`, `NAME_guest`) from every `Cookie`
/// header before the request is forwarded, so the upstream never sees session material.
/// Other items are kept byte-for-byte and in order, joined with `; `; a header left with
/// nothing is removed. Every item is examined here (no cap): a cap would let our cookies
/// through behind enough padding.
pub fn strip_own_cookies(headers: &mut HeaderMap, base: &str) {
    let mut values = headers.get_all(COOKIE).iter();
    match (values.next().is_some(), values.next().is_some()) {
        (false, _) => {}
        // One `Cookie` header, as HTTP/1.1 sends it: no list of values to build.
        (true, false) => {
            if let Some(value) = headers.remove(COOKIE) {
                append_foreign(headers, value, base);
            }
        }
        (true, true) => {
            let values: Vec<HeaderValue> = headers.get_all(COOKIE).iter().cloned().collect();
            headers.remove(COOKIE);
            for value in values {
                append_foreign(headers, value, base);
            }
        }
    }
}

/// Whether `headers` carry one `Cookie` field that is exactly `NAME=<value>`, given that
/// a session value `value_len` bytes long was found in them (in one cookie or joined from
/// chunks) — then [`strip_own_cookies`] would remove the field whole. No pass over the
/// value: a field of that exact length leaves no room for a second item (it would need
/// a `;`, inside the value's span) or for chunk names (longer than `NAME`).
pub fn only_session_cookie(headers: &HeaderMap, name: &str, value_len: usize) -> bool {
    after_session_name(headers, name).is_some_and(|value| value.len() == value_len)
}

/// What follows `NAME=` when the request has exactly one `Cookie` field and it starts
/// with `NAME=`, read without a pass over the value. It is the session cookie's value
/// only if it holds no second item: callers use it as a key that is never found
/// otherwise (see `CookieStore::opened`).
pub fn after_session_name<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    let mut values = headers.get_all(COOKIE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    value
        .as_bytes()
        .strip_prefix(name.as_bytes())?
        .strip_prefix(b"=")
}

/// Appends the items of `value` that are not ours as one `Cookie` header — `value`
/// itself when that is what it already was — or nothing when none are left.
fn append_foreign(headers: &mut HeaderMap, value: HeaderValue, base: &str) {
    // One buffer, written once: a session cookie makes the header several KB.
    let mut kept = BytesMut::new();
    let foreign = pairs(value.as_bytes()).filter(|pair| match pair.split {
        Some((name, _)) => classify(base.as_bytes(), name).is_none(),
        None => true,
    });
    for pair in foreign {
        if !kept.is_empty() {
            kept.extend_from_slice(b"; ");
        }
        kept.extend_from_slice(pair.whole);
    }
    if kept.is_empty() {
        return;
    }
    if kept.as_ref() == value.as_bytes() {
        headers.append(COOKIE, value);
    } else if let Ok(joined) = HeaderValue::from_maybe_shared(kept.freeze()) {
        headers.append(COOKIE, joined);
    }
}

#[cfg(test)]
mod tests;
