//! Header rules for the request and response path, as pure functions over `HeaderMap`:
//! hop-by-hop removal (RFC 9110 §7.6.1), spoofed identity header removal (SPEC §5.1),
//! `X-Forwarded-*` (SPEC §5.6) and `X-Request-Id` (SPEC §8).

use std::net::IpAddr;

use http::header::{HeaderName, HeaderValue, CONNECTION, UPGRADE};
use http::HeaderMap;

mod added;
pub mod identity;
mod request_id;
pub use added::{Added, LeftOut};
pub use identity::{inject_identity, IdentityHeaders};
pub use request_id::request_id;

/// Every header the sidecar sets for identity. Incoming copies are removed on every path,
/// matched case-insensitively and with `_` in place of `-` (SPEC §5.1): some servers
/// (CGI, PHP, nginx with `underscores_in_headers`) treat `X_Forwarded_User` as the same
/// header, which is how oauth2-proxy's header-smuggling advisory worked.
pub const IDENTITY_HEADERS: &[&str] = &[
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-forwarded-sub",
    "x-forwarded-access-token",
    "x-forwarded-preferred-username",
    "x-amzn-oidc-identity",
    "x-amzn-oidc-accesstoken",
    "x-amzn-oidc-data",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-auth-request-sub",
    "x-auth-request-access-token",
    "x-aws-identity-id",
    "x-aws-access-key-id",
    "x-aws-secret-access-key",
    "x-aws-session-token",
    "x-aws-credentials-expiration",
];

/// RFC 9110 §7.6.1: connection-specific fields a proxy must not forward, plus the
/// de-facto `Proxy-Connection` and `Keep-Alive`.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// [`HOP_BY_HOP`] as ready-made names: the hot path never parses a header name.
static HOP_BY_HOP_NAMES: [HeaderName; HOP_BY_HOP.len()] = [
    http::header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
    http::header::PROXY_AUTHENTICATE,
    http::header::PROXY_AUTHORIZATION,
];

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Bit `n` is set when some identity header is `n` bytes long. Every request's fields
/// are checked against the list, and nearly all are ruled out by their length alone.
const IDENTITY_LENGTHS: u64 = {
    let mut lengths = 0u64;
    let mut i = 0;
    while i < IDENTITY_HEADERS.len() {
        // A longer name would need a wider mask: this fails the build, not a request.
        assert!(IDENTITY_HEADERS[i].len() < 64);
        lengths |= 1 << IDENTITY_HEADERS[i].len();
        i += 1;
    }
    lengths
};

/// True when `name` is one of the identity headers in any spelling.
pub fn is_identity_header(name: &str) -> bool {
    let len = name.len();
    if len >= 64 || IDENTITY_LENGTHS & (1 << len) == 0 {
        return false;
    }
    IDENTITY_HEADERS.iter().any(|known| {
        known.len() == len
            && known
                .bytes()
                .zip(name.bytes())
                .all(|(k, n)| k == normalise(n))
    })
}

fn normalise(b: u8) -> u8 {
    match b {
        b'_' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

/// Removes every spoofed identity header (SPEC §5.1).
pub fn strip_identity(headers: &mut HeaderMap) {
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_identity_header(name.as_str()))
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(&name);
    }
}

/// Whether `name` is on the fixed hop-by-hop list (RFC 9110 §7.6.1); compared as
/// `HeaderName`s, no hashing.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    hop_by_hop_length(name) && HOP_BY_HOP_NAMES.contains(name)
}

/// Whether `name` is as long as one of [`HOP_BY_HOP`]: most fields (`Host`, `Cookie`,
/// `Authorization`, `Accept`) are ruled out by this alone, without nine comparisons.
fn hop_by_hop_length(name: &HeaderName) -> bool {
    matches!(name.as_str().len(), 2 | 7 | 10 | 16..=19)
}

/// The fields a `Connection` value names besides the fixed hop-by-hop ones (which go
/// anyway), and whether it asked for an upgrade. Tokens that are not valid field names
/// name nothing.
pub fn connection_options(value: &HeaderValue) -> (Vec<HeaderName>, bool) {
    let mut named = Vec::new();
    let mut upgrade_requested = false;
    // What nearly every message says names nothing: no token walk for it.
    let bytes = value.as_bytes();
    if bytes.eq_ignore_ascii_case(b"keep-alive") || bytes.eq_ignore_ascii_case(b"close") {
        return (named, false);
    }
    let Ok(text) = value.to_str() else {
        return (named, false);
    };
    for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if token.eq_ignore_ascii_case("upgrade") {
            upgrade_requested = true;
        }
        if HOP_BY_HOP.iter().any(|hop| hop.eq_ignore_ascii_case(token)) {
            continue;
        }
        if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
            named.push(name);
        }
    }
    (named, upgrade_requested)
}

/// Removes `Connection`, every header it names, and the fixed hop-by-hop list
/// (RFC 9110 §7.6.1). Returns the `Upgrade` value when the message asked for an upgrade
/// (`Connection: upgrade` plus an `Upgrade` header) so the caller can re-add it.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) -> Option<HeaderValue> {
    // One pass over the names present, compared as `HeaderName`s (no hashing), instead
    // of a lookup for every listed name: most messages carry none of them, or only
    // `Connection: keep-alive`. Without `Connection` nothing is named either.
    let mut present = [false; HOP_BY_HOP.len()];
    for name in headers.keys().filter(|name| hop_by_hop_length(name)) {
        if let Some(i) = HOP_BY_HOP_NAMES.iter().position(|hop| hop == name) {
            present[i] = true;
        }
    }
    if !present.contains(&true) {
        return None;
    }
    let mut named: Vec<HeaderName> = Vec::new();
    let mut upgrade_requested = false;
    for value in headers.get_all(CONNECTION) {
        let (names, upgrade) = connection_options(value);
        named.extend(names);
        upgrade_requested |= upgrade;
    }
    let upgrade = if upgrade_requested {
        headers.get(UPGRADE).cloned()
    } else {
        None
    };
    for name in named {
        headers.remove(&name);
    }
    for (name, _) in HOP_BY_HOP_NAMES.iter().zip(present).filter(|(_, p)| *p) {
        headers.remove(name);
    }
    upgrade
}

/// `name: value\r\n`, one HTTP/1 field line (RFC 9112 §5): lowercase name, value as
/// given (the `http` types already refuse CR, LF and NUL in either part).
pub fn encode_field(name: &HeaderName, value: &HeaderValue, out: &mut Vec<u8>) {
    out.extend_from_slice(name.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// What the sidecar knows about the client connection.
#[derive(Debug, Clone)]
pub struct Forwarding<'a> {
    pub peer: IpAddr,
    /// `https` when the listener terminated TLS, else `http`.
    pub proto: &'static str,
    /// The `Host` (or HTTP/2 `:authority`) the client asked for.
    pub host: Option<&'a HeaderValue>,
    /// The peer is in `trusted_proxies`: its `X-Forwarded-Proto`/`-Host` are believed.
    pub trusted_peer: bool,
}

/// Sets `X-Forwarded-For` (chain + peer), `X-Forwarded-Proto` and `X-Forwarded-Host`
/// in `headers`, as [`Added::forwarding`] decides them.
pub fn set_forwarding(headers: &mut HeaderMap, fwd: &Forwarding<'_>) {
    Added::forwarding(headers, fwd).apply(headers);
}

/// `X-Forwarded-For` for a request with `headers` from `peer`: the client's chain (every
/// copy, joined) with the peer appended. `None` if that is no valid field value.
fn forwarded_for(headers: &HeaderMap, peer: IpAddr) -> Option<HeaderValue> {
    match joined(headers, &X_FORWARDED_FOR) {
        None => peer_value(peer),
        Some(incoming) => {
            let chain = crate::net::forwarded_for(Some(&incoming), peer);
            // The string's own buffer becomes the value: no second allocation and copy.
            HeaderValue::from_maybe_shared(bytes::Bytes::from(chain)).ok()
        }
    }
}

thread_local! {
    /// The last peer this thread forwarded for, and its `X-Forwarded-For` value: behind
    /// an ingress or a load balancer nearly every request comes from the same few
    /// addresses, and a shared value costs no allocation per request.
    static LAST_PEER: std::cell::RefCell<Option<(IpAddr, HeaderValue)>> =
        const { std::cell::RefCell::new(None) };
}

/// `X-Forwarded-For` for a request that brought no chain: the peer alone.
fn peer_value(peer: IpAddr) -> Option<HeaderValue> {
    LAST_PEER.with_borrow_mut(|last| match last {
        Some((ip, value)) if *ip == peer => Some(value.clone()),
        _ => {
            let text = crate::net::forwarded_for(None, peer);
            let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(text)).ok()?;
            *last = Some((peer, value.clone()));
            Some(value)
        }
    })
}

fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let parts: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

#[cfg(test)]
mod tests;
