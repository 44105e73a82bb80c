//! Where a browser may be sent after sign-in: the `rd` check (SPEC §7, peers.md §4 "Open
//! redirects"). Pure: it takes the candidate and the allowed origins and returns the
//! target to use, `/` when in doubt.
//!
//! Two forms pass. A *local path* — `/` plus something a browser cannot read as another
//! host: no `//` or `/\` start (RFC 3986 §4.2 network-path references, and browsers
//! treat `\` as `/` for http(s) per the WHATWG URL standard), no control characters or
//! whitespace (browsers strip tabs and newlines, so `/\t/evil` becomes `//evil`), checked
//! again after every level of percent-decoding so that no later decode in an app or
//! proxy can turn it into one. Or an *absolute http(s) URL* whose authority is plain
//! ASCII host[:port] without userinfo, whose origin (RFC 6454 §4) is `public_url`'s or
//! whose host is exactly one of `allowed_redirect_hosts` — returned as the WHATWG
//! serialisation, so the browser navigates to the very host that was checked.

use std::borrow::Cow;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use url::Url;

/// Longest `rd` considered; anything longer goes to `/`.
pub const MAX_REDIRECT_LEN: usize = 2048;
/// Percent-decoding levels examined. A value still changing after this many is nested
/// deliberately and refused.
const MAX_DECODE_ROUNDS: usize = 4;
/// Characters escaped in an accepted local path: everything a Location header or an
/// HTML attribute should not carry raw (non-ASCII is always escaped).
const LOCATION_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'^');
/// Characters that Unicode compatibility normalisation (NFKC, IDNA mapping) turns into
/// `/`, `\` or `.`: an app that normalises would see a slash or dot segment.
const LOOKALIKES: &[char] = &[
    '\u{2024}', '\u{2044}', '\u{2215}', '\u{29F5}', '\u{29F8}', '\u{29F9}', '\u{3002}', '\u{FE52}',
    '\u{FE68}', '\u{FF0E}', '\u{FF0F}', '\u{FF3C}', '\u{FF61}',
];
/// Unicode Default_Ignorable_Code_Point ranges (UAX #44): invisible characters that
/// normalisers drop, so one between two slashes could collapse into `//`.
const IGNORABLES: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// The target to redirect to after sign-in: `rd` itself (normalised) when it is safe,
/// else `/`.
pub fn safe_redirect(rd: &str, public_url: &Url, allowed_hosts: &[String]) -> String {
    check(rd, public_url, allowed_hosts).unwrap_or_else(|| "/".to_owned())
}

/// Whether `rd` is accepted as is (modulo normalisation) rather than replaced by `/`.
pub fn is_safe(rd: &str, public_url: &Url, allowed_hosts: &[String]) -> bool {
    check(rd, public_url, allowed_hosts).is_some()
}

fn check(rd: &str, public_url: &Url, allowed_hosts: &[String]) -> Option<String> {
    if rd.is_empty() || rd.len() > MAX_REDIRECT_LEN {
        return None;
    }
    let levels = decodings(rd)?;
    // Controls anywhere, at any decoding level: `%0d%0a` splits headers, `%00` truncates.
    if levels.iter().any(|l| l.chars().any(char::is_control)) {
        return None;
    }
    if rd.chars().any(|c| c.is_whitespace() || c == '\\') {
        return None;
    }
    let normalised = if rd.starts_with('/') {
        local_path(rd)?
    } else {
        absolute_url(rd, public_url, allowed_hosts)?
    };
    (normalised.len() <= MAX_REDIRECT_LEN).then_some(normalised)
}

/// `s`, then `s` percent-decoded, and so on until it stops changing; `None` if it is
/// still changing after [`MAX_DECODE_ROUNDS`].
fn decodings(s: &str) -> Option<Vec<Cow<'_, str>>> {
    let mut levels: Vec<Cow<'_, str>> = vec![Cow::Borrowed(s)];
    for _ in 0..MAX_DECODE_ROUNDS {
        let last = levels.last()?;
        let next = percent_decode_str(last).decode_utf8_lossy().into_owned();
        if next == **last {
            return Some(levels);
        }
        levels.push(Cow::Owned(next));
    }
    None
}

/// A path-absolute reference. The path part (before `?`/`#`) must stay a plain local
/// path at every decoding level; the query and fragment are the app's business.
fn local_path(rd: &str) -> Option<String> {
    let path_end = rd.find(['?', '#']).unwrap_or(rd.len());
    let path = rd.get(..path_end)?;
    let levels = decodings(path)?;
    if !levels.iter().all(|level| is_plain_local_path(level)) {
        return None;
    }
    Some(utf8_percent_encode(rd, LOCATION_ESCAPES).to_string())
}

/// One `/`, then segments that are neither empty (no `//`), nor dot segments, nor empty
/// or dot segments with `;` parameters (`/;/evil`, `/..;/evil` — Tomcat and Jetty drop
/// the parameters, which leaves `//evil`), nor carry whitespace, backslashes, characters
/// that normalise into `/`, `\` or `.`, or invisible characters normalisers delete.
fn is_plain_local_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    if path.contains("//") {
        return false;
    }
    let suspicious = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || c == '\\'
            || LOOKALIKES.contains(&c)
            || IGNORABLES.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
    };
    if path.chars().any(suspicious) {
        return false;
    }
    rest.split('/')
        .all(|segment| match segment.split_once(';') {
            Some((before_params, _)) => !matches!(before_params, "" | "." | ".."),
            None => !matches!(segment, "." | ".."),
        })
}

/// An absolute `http`/`https` URL to `public_url`'s origin or an allowed host.
fn absolute_url(rd: &str, public_url: &Url, allowed_hosts: &[String]) -> Option<String> {
    let after_scheme = strip_prefix_ignore_case(rd, "https://")
        .or_else(|| strip_prefix_ignore_case(rd, "http://"))?;
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = after_scheme.get(..authority_end)?;
    // Host and port only, in ASCII: no userinfo (`trusted@evil`), no percent-encoding
    // or Unicode that IDNA mapping would turn into a different host.
    let plain_authority = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !plain_authority {
        return None;
    }
    let url = Url::parse(rd).ok()?;
    let http = matches!(url.scheme(), "http" | "https");
    if !http || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let host = url.host_str()?;
    let same_origin = url.scheme() == public_url.scheme()
        && Some(host) == public_url.host_str()
        && url.port_or_known_default() == public_url.port_or_known_default();
    let allowed = allowed_hosts
        .iter()
        .any(|entry| host_matches(entry, host, url.port_or_known_default()));
    (same_origin || allowed).then(|| url.to_string())
}

/// `entry` is `host` or `host:port` (`[v6]` or `[v6]:port` for IPv6), compared exactly
/// and case-insensitively: `example.com` does not admit `badexample.com` or
/// `sub.example.com`.
fn host_matches(entry: &str, host: &str, port: Option<u16>) -> bool {
    let entry = entry.trim();
    let (entry_host, entry_port) = match entry.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
            match p.parse::<u16>() {
                Ok(p) => (h, Some(p)),
                Err(_) => return false,
            }
        }
        _ => (entry, None),
    };
    entry_host.eq_ignore_ascii_case(host) && entry_port.is_none_or(|p| Some(p) == port)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

#[cfg(test)]
mod tests;
