//! The one canonical path of a request, decided before any rule is looked at, and the
//! glob patterns rules are written in (SPEC §7 "Path patterns").
//!
//! Path-matching differentials — a public-path rule that sees `/public/../admin` while
//! the upstream serves `/admin` — are a recurring bypass in auth proxies (peers.md §4).
//! So the sidecar canonicalises once, refuses what cannot be canonicalised safely, then
//! authorises and forwards exactly the canonical path: the upstream sees the path the
//! rules saw.

/// Longest request path accepted; longer ones are refused rather than normalised.
pub const MAX_PATH_LEN: usize = 8 * 1024;

/// Why a request path was refused; all are client errors (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the request path must start with `/`")]
    NotAbsolute,
    #[error("the request path is longer than {MAX_PATH_LEN} bytes; shorten it")]
    TooLong,
    #[error("the request path has a malformed percent-escape; write `%` as `%25`")]
    InvalidEscape,
    #[error("the request path contains an encoded slash (%2F); put slashes in the path unencoded or move the value to the query")]
    EncodedSlash,
    #[error("the request path contains a backslash (raw or %5C); use `/` between segments")]
    Backslash,
    #[error("the request path contains a control character (raw or percent-encoded); remove it")]
    ControlCharacter,
    #[error(
        "the request path has a `.` or `..` segment with `;` parameters; remove the dot segment"
    )]
    DotSegmentParameter,
    #[error("the request path climbs above the root with `..`; remove the extra `..` segments")]
    AboveRoot,
}

/// Canonicalises a request path (the request-target without its query):
///
/// 1. percent-escapes of unreserved characters are decoded (RFC 3986 §2.3, §6.2.2.2) and
///    other escapes get upper-case hex (§6.2.2.1); characters that may not appear raw in
///    a path (RFC 3986 §3.3 `pchar`) are percent-encoded;
/// 2. encoded `/` and any `\` or control character are refused — upstreams disagree on
///    what they mean;
/// 3. runs of `/` collapse to one, then dot segments are removed (RFC 3986 §5.2.4),
///    refusing `..` above the root and `.`/`..` carrying `;` parameters (`/..;/admin`,
///    which Tomcat and Jetty treat as `..`).
///
/// Case is preserved. The result is a fixed point: canonicalising it again returns it.
pub fn canonicalize(raw_path: &str) -> Result<String, PathError> {
    if raw_path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    if !raw_path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if is_canonical(raw_path) {
        return Ok(raw_path.to_string());
    }
    rewrite(raw_path)
}

/// Steps 1 to 3 on an absolute path.
fn rewrite(raw_path: &str) -> Result<String, PathError> {
    let canonical = remove_dot_segments(&normalise_escapes(raw_path)?)?;
    // Escaping can triple the length; a result over the limit would be refused when
    // canonicalised again, so it is refused now and the output stays a fixed point.
    if canonical.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    Ok(canonical)
}

/// Whether the steps below would return `raw` unchanged: nothing to decode or escape,
/// no `;` parameters, no empty or dot segments. Most request paths are like that, and
/// skip the two rewriting passes (every request pays for this function).
fn is_canonical(raw: &str) -> bool {
    raw.len() <= MAX_PATH_LEN
        && raw.bytes().all(|b| b == b'/' || (b != b';' && is_pchar(b)))
        && raw.strip_prefix('/').is_some_and(|rest| {
            let mut segments = rest.split('/').peekable();
            while let Some(segment) = segments.next() {
                let last = segments.peek().is_none();
                if matches!(segment, "." | "..") || (segment.is_empty() && !last) {
                    return false;
                }
            }
            true
        })
}

/// Steps 1 and 2, in one pass over the bytes. In the output `/` only ever separates
/// segments, because an encoded `/` is refused.
fn normalise_escapes(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|h| hex_value(*h));
            let lo = bytes.get(i + 2).and_then(|l| hex_value(*l));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::InvalidEscape);
            };
            match hi << 4 | lo {
                b'/' => return Err(PathError::EncodedSlash),
                b'\\' => return Err(PathError::Backslash),
                c if c.is_ascii_control() => return Err(PathError::ControlCharacter),
                c if is_unreserved(c) => out.push(char::from(c)),
                c => push_escaped(&mut out, c),
            }
            i += 3;
        } else {
            match b {
                b'\\' => return Err(PathError::Backslash),
                c if c.is_ascii_control() => return Err(PathError::ControlCharacter),
                c if c == b'/' || is_pchar(c) => out.push(char::from(c)),
                c => push_escaped(&mut out, c),
            }
            i += 1;
        }
    }
    Ok(out)
}

/// Step 3: collapse empty segments, then RFC 3986 §5.2.4 on what is left. A trailing
/// `/` (or trailing `.`/`..`, which stand for a directory) is kept.
fn remove_dot_segments(path: &str) -> Result<String, PathError> {
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in path.strip_prefix('/').unwrap_or(path).split('/') {
        trailing_slash = true;
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop().ok_or(PathError::AboveRoot)?;
            }
            _ => {
                let before_params = segment
                    .split(';')
                    .next()
                    .and_then(|s| s.split("%3B").next())
                    .unwrap_or(segment);
                if matches!(before_params, "." | "..") {
                    return Err(PathError::DotSegmentParameter);
                }
                kept.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 §2.3: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §3.3 `pchar` without `pct-encoded`: unreserved, sub-delims, `:` and `@`.
fn is_pchar(b: u8) -> bool {
    is_unreserved(b) || b"!$&'()*+,;=:@".contains(&b)
}

fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    for nibble in [b >> 4, b & 0x0f] {
        let digit = char::from_digit(u32::from(nibble), 16).unwrap_or('0');
        out.push(digit.to_ascii_uppercase());
    }
}

/// Matches a path pattern against a canonical path (SPEC §7): `*` matches any run of
/// characters including `/` (as AWS ALB path patterns do), `?` exactly one character,
/// everything else itself, case-sensitively, over the whole path.
///
/// The classic two-pointer wildcard match: on a mismatch only the most recent `*`
/// retries, one character further, so the work is at most pattern × path — never the
/// exponential backtracking of a naive recursive matcher.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    if pattern.is_ascii() && path.is_ascii() {
        wildcard(pattern.as_bytes(), path.as_bytes(), b'*', b'?')
    } else {
        let pattern: Vec<char> = pattern.chars().collect();
        let path: Vec<char> = path.chars().collect();
        wildcard(&pattern, &path, '*', '?')
    }
}

fn wildcard<T: Copy + PartialEq>(pattern: &[T], text: &[T], star: T, one: T) -> bool {
    let (mut p, mut t) = (0, 0);
    // The pattern position after the last `*` seen, and where its run currently ends.
    let mut retry: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some(&s) if s == star => {
                retry = Some((p + 1, t));
                p += 1;
            }
            Some(&s) if s == one || s == c => {
                p += 1;
                t += 1;
            }
            _ => match retry {
                Some((after_star, run_end)) => {
                    retry = Some((after_star, run_end + 1));
                    p = after_star;
                    t = run_end + 1;
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|s| *s == star))
}

#[cfg(test)]
mod tests;
