//! `Cookie` header parsing, stripping our cookies before forwarding, and chunk
//! reassembly (SPEC §7; peers.md §4 "Cookie parsing").

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

use super::{ensure, Violation};
use crate::session::cookies::{
    byte_pairs, classify, cookie_pairs, join, request_cookies, split, strip_own_cookies,
    MAX_CHUNKS, MAX_CHUNK_LEN, MAX_REQUEST_COOKIES,
};

/// The most bytes [`join`] may ever return.
const MAX_JOINED: usize = MAX_CHUNKS * MAX_CHUNK_LEN;

/// One `Cookie` header per value that is a valid header value; others are dropped, as
/// hyper would refuse them before the sidecar sees them.
pub fn cookie_headers(values: &[&[u8]]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(COOKIE, value);
        }
    }
    headers
}

/// For the `Cookie` headers `values` and the base name `base`: parsed pairs are bounded
/// and clean, reassembly is bounded, and stripping removes exactly our cookies, keeps
/// every foreign pair in order, and is idempotent.
pub fn check_cookie_headers(values: &[&[u8]], base: &str) -> Result<(), Violation> {
    const AREA: &str = "session::cookies::request_cookies/strip_own_cookies";
    let mut headers = cookie_headers(values);
    let before = request_cookies(&headers);
    ensure(before.len() <= MAX_REQUEST_COOKIES, AREA, || {
        format!("{} pairs returned", before.len())
    })?;
    let is_trimmed = |s: &str| !s.starts_with([' ', '\t']) && !s.ends_with([' ', '\t']);
    for (name, value) in &before {
        ensure(
            !name.is_empty()
                && !name.contains([';', '='])
                && !value.contains(';')
                && is_trimmed(name)
                && is_trimmed(value),
            AREA,
            || format!("unclean pair {name:?}={value:?}"),
        )?;
    }
    let joined = join(byte_pairs(&before), base);
    if let Some(joined) = &joined {
        ensure(
            !joined.is_empty() && joined.len() <= MAX_JOINED,
            AREA,
            || format!("join returned {} bytes", joined.len()),
        )?;
    }
    // The opened-session fast path reads the raw pairs; whenever it finds a value that
    // could be a cached (ASCII) one, the full path must find the very same value.
    if let Some(raw) = join(cookie_pairs(&headers), base).filter(|v| v.is_ascii()) {
        ensure(joined.as_deref() == Some(&*raw), AREA, || {
            "the raw pairs and the parsed pairs join to different values".to_owned()
        })?;
    }

    strip_own_cookies(&mut headers, base);
    let after = request_cookies(&headers);
    let ours = |name: &str| classify(base.as_bytes(), name.as_bytes()).is_some();
    ensure(!after.iter().any(|(n, _)| ours(n)), AREA, || {
        "one of our cookies survived stripping".to_owned()
    })?;
    ensure(
        headers.get_all(COOKIE).iter().all(|v| !v.is_empty()),
        AREA,
        || "stripping left an empty Cookie header".to_owned(),
    )?;
    // request_cookies examines at most MAX_REQUEST_COOKIES items; below that cap the
    // foreign pairs must come through exactly.
    let items: usize = values
        .iter()
        .map(|v| v.iter().filter(|b| **b == b';').count() + 1)
        .sum();
    if items < MAX_REQUEST_COOKIES {
        let foreign: Vec<(String, String)> =
            before.iter().filter(|(n, _)| !ours(n)).cloned().collect();
        ensure(after == foreign, AREA, || {
            format!("foreign cookies changed: {foreign:?} became {after:?}")
        })?;
    }
    let once: Vec<HeaderValue> = headers.get_all(COOKIE).iter().cloned().collect();
    strip_own_cookies(&mut headers, base);
    let twice: Vec<HeaderValue> = headers.get_all(COOKIE).iter().cloned().collect();
    ensure(once == twice, AREA, || {
        "stripping twice differs from stripping once".to_owned()
    })
}

/// Reassembly of arbitrary pairs never yields an empty value or more than
/// `MAX_CHUNKS × MAX_CHUNK_LEN` bytes.
pub fn check_join(cookies: &[(String, String)], base: &str) -> Result<(), Violation> {
    match join(byte_pairs(cookies), base) {
        Some(joined) => ensure(
            !joined.is_empty() && joined.len() <= MAX_JOINED,
            "join",
            || format!("join returned {} bytes", joined.len()),
        ),
        None => Ok(()),
    }
}

/// `split` covers the value exactly, names its chunks `NAME_0..`, keeps each chunk
/// within [`MAX_CHUNK_LEN`], and [`join`] reads back what fits in [`MAX_CHUNKS`].
pub fn check_split_join(base: &str, sealed: &str) -> Result<(), Violation> {
    const AREA: &str = "session::cookies::split/join";
    let chunks = split(base, sealed);
    let concatenated: String = chunks.iter().map(|(_, v)| v.as_str()).collect();
    ensure(concatenated == sealed, AREA, || {
        "the chunks do not concatenate to the value".to_owned()
    })?;
    if let [(name, _)] = chunks.as_slice() {
        ensure(name == base, AREA, || {
            format!("single cookie named {name:?}")
        })?;
    } else {
        for (i, (name, value)) in chunks.iter().enumerate() {
            ensure(*name == format!("{base}_{i}"), AREA, || {
                format!("chunk {i} named {name:?}")
            })?;
            ensure(
                !value.is_empty() && value.len() <= MAX_CHUNK_LEN,
                AREA,
                || format!("chunk {i} has {} bytes", value.len()),
            )?;
        }
    }
    if chunks.len() <= MAX_CHUNKS {
        let expected = (!sealed.is_empty()).then_some(sealed.as_bytes());
        let joined = join(byte_pairs(&chunks), base);
        ensure(joined.as_deref() == expected, AREA, || {
            format!(
                "join(split(v)) returned {:?} bytes for {} bytes",
                joined.map(|j| j.len()),
                sealed.len()
            )
        })?;
    }
    Ok(())
}
