//! Request-head rules that hyper leaves to the application: which host a request is for
//! must be unambiguous before anything is decided about it.
//!
//! RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
//! HTTP/1.1 request message that lacks a Host header field and to any request message
//! that contains more than one Host header field line or a Host header field with an
//! invalid field value." For an absolute-form target (RFC 9112 §3.2.2) and for HTTP/2's
//! `:authority` (RFC 9113 §8.3.1) a `Host` naming another authority is refused too,
//! rather than silently preferring one: a sidecar and an upstream that pick different
//! hosts from one request is the virtual-host confusion behind request-routing attacks.

use http::header::HOST;
use http::{HeaderMap, Uri, Version};

/// Why a request head names its host ambiguously. Always the client's fault (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("an HTTP/1.1 request without a Host header; send Host")]
    Missing,
    #[error("more than one Host header; send exactly one")]
    Duplicate,
    #[error("the Host header is not a valid host[:port]")]
    Invalid,
    #[error("the Host header names another authority than the request target")]
    Mismatch,
}

/// Checks the `Host` header(s) of a request against RFC 9112 §3.2.
pub fn check_host(version: Version, uri: &Uri, headers: &HeaderMap) -> Result<(), HostError> {
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(HostError::Duplicate);
    }
    let Some(host) = host else {
        // HTTP/1.0 may omit Host; HTTP/2 carries the authority in `:authority`.
        return if version == Version::HTTP_11 && uri.authority().is_none() {
            Err(HostError::Missing)
        } else {
            Ok(())
        };
    };
    let host = host.to_str().map_err(|_| HostError::Invalid)?;
    if !host.is_empty() && !valid_authority(host) {
        return Err(HostError::Invalid);
    }
    match uri.authority() {
        Some(target) if !target.as_str().eq_ignore_ascii_case(host) => Err(HostError::Mismatch),
        _ => Ok(()),
    }
}

/// `uri-host [ ":" port ]` (RFC 3986 §3.2.2–3.2.3) without userinfo: a reg-name of
/// unreserved, sub-delims and percent signs, or an IP literal in brackets, then an
/// optional all-digit port.
fn valid_authority(text: &str) -> bool {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((literal, after)) => {
                let literal_ok = !literal.is_empty()
                    && literal
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
                if !literal_ok {
                    return false;
                }
                match after.strip_prefix(':') {
                    Some(port) => ("x", Some(port)),
                    None if after.is_empty() => ("x", None),
                    None => return false,
                }
            }
            None => return false,
        },
        None => match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    let host_ok = !host.is_empty() && host.bytes().all(|b| REG_NAME[usize::from(b)]);
    let port_ok = port.is_none_or(|p| p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// The bytes of a reg-name (RFC 3986 §3.2.2: unreserved, sub-delims, `%`), as a table:
/// every request's `Host` is checked against it.
static REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let others = b"-._~!$&'()*+,;=%";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn headers(hosts: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for host in hosts {
            h.append(
                HOST,
                HeaderValue::from_bytes(host).expect("valid test value"),
            );
        }
        h
    }

    fn origin_form() -> Uri {
        Uri::from_static("/path?q=1")
    }

    #[test]
    fn one_valid_host_passes() {
        for host in [
            &b"app.example.com"[..],
            b"app.example.com:8443",
            b"127.0.0.1:4180",
            b"[::1]:4180",
            b"[2001:db8::1]",
            b"localhost",
            b"",
        ] {
            assert_eq!(
                check_host(Version::HTTP_11, &origin_form(), &headers(&[host])),
                Ok(()),
                "{}",
                String::from_utf8_lossy(host)
            );
        }
    }

    #[test]
    fn missing_host_is_refused_for_http11_only() {
        let none = HeaderMap::new();
        assert_eq!(
            check_host(Version::HTTP_11, &origin_form(), &none),
            Err(HostError::Missing)
        );
        assert_eq!(check_host(Version::HTTP_10, &origin_form(), &none), Ok(()));
        let h2 = Uri::from_static("https://app.example.com/x");
        assert_eq!(check_host(Version::HTTP_2, &h2, &none), Ok(()));
    }

    #[test]
    fn two_hosts_are_refused_even_when_equal() {
        for version in [Version::HTTP_10, Version::HTTP_11, Version::HTTP_2] {
            assert_eq!(
                check_host(version, &origin_form(), &headers(&[b"a", b"b"])),
                Err(HostError::Duplicate)
            );
            assert_eq!(
                check_host(version, &origin_form(), &headers(&[b"a", b"a"])),
                Err(HostError::Duplicate)
            );
        }
    }

    #[test]
    fn invalid_host_values_are_refused() {
        for host in [
            &b"user@evil.example"[..],
            b"evil.example/path",
            b"a b",
            b"a:port",
            b"a:123456",
            b"[::1",
            b"[::1]x",
            b"[zz]",
            b"a\\b",
            b"\xff\xfe",
            b"a\tb",
            b":80",
        ] {
            assert_eq!(
                check_host(Version::HTTP_11, &origin_form(), &headers(&[host])),
                Err(HostError::Invalid),
                "{}",
                String::from_utf8_lossy(host)
            );
        }
    }

    #[test]
    fn absolute_form_must_agree_with_host() {
        let target = Uri::from_static("http://app.example.com/x");
        assert_eq!(
            check_host(Version::HTTP_11, &target, &headers(&[b"APP.example.com"])),
            Ok(())
        );
        assert_eq!(
            check_host(Version::HTTP_11, &target, &headers(&[b"evil.example"])),
            Err(HostError::Mismatch)
        );
        assert_eq!(
            check_host(Version::HTTP_11, &target, &HeaderMap::new()),
            Ok(())
        );
    }

    proptest! {
        /// Whatever the bytes, two Host lines are refused and nothing panics.
        #[test]
        fn any_two_hosts_are_refused(a in proptest::collection::vec(0x20u8..0x7f, 0..40),
                                     b in proptest::collection::vec(0x20u8..0x7f, 0..40)) {
            prop_assert_eq!(
                check_host(Version::HTTP_11, &origin_form(), &headers(&[&a, &b])),
                Err(HostError::Duplicate)
            );
        }

        /// An accepted Host never carries userinfo, a path, or whitespace.
        #[test]
        fn accepted_hosts_are_plain_authorities(host in proptest::collection::vec(0x20u8..0x7f, 1..40)) {
            if check_host(Version::HTTP_11, &origin_form(), &headers(&[&host])).is_ok() {
                prop_assert!(!host.iter().any(|b| b"@/\\ ?#".contains(b)));
            }
        }
    }
}
