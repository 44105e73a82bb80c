//! Request header hygiene (SPEC §5.1, RFC 9110 §7.6.1): spoofed identity headers and
//! hop-by-hop headers never reach the upstream, and nothing else is touched.

use http::header::{HeaderName, HeaderValue, CONNECTION, UPGRADE};
use http::HeaderMap;

use super::{ensure, Violation};
use crate::headers::{is_identity_header, remove_hop_by_hop, strip_identity, HOP_BY_HOP};

/// Headers from raw name/value bytes, skipping what hyper would refuse to parse.
pub fn header_map(pairs: &[(&[u8], &[u8])]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    headers
}

fn values(headers: &HeaderMap, name: &HeaderName) -> Vec<HeaderValue> {
    headers.get_all(name).iter().cloned().collect()
}

/// `strip_identity` removes every identity header in any spelling and keeps all
/// values of every other header; `remove_hop_by_hop` removes `Connection`, what it
/// names and the fixed hop-by-hop list, keeps the rest, and returns `Upgrade` exactly
/// when `Connection` asked for an upgrade.
pub fn check_headers(original: &HeaderMap) -> Result<(), Violation> {
    let mut stripped = original.clone();
    strip_identity(&mut stripped);
    for name in original.keys() {
        let kept = if is_identity_header(name.as_str()) {
            Vec::new()
        } else {
            values(original, name)
        };
        ensure(
            values(&stripped, name) == kept,
            "headers::strip_identity",
            || format!("header {name} was handled wrongly"),
        )?;
    }

    const AREA: &str = "headers::remove_hop_by_hop";
    let mut named: Vec<HeaderName> = Vec::new();
    let mut upgrade_asked = false;
    for value in original.get_all(CONNECTION) {
        let Ok(text) = value.to_str() else { continue };
        for token in text.split(',').map(str::trim) {
            upgrade_asked |= token.eq_ignore_ascii_case("upgrade");
            named.extend(HeaderName::from_bytes(token.as_bytes()).ok());
        }
    }
    let mut forwarded = original.clone();
    let upgrade = remove_hop_by_hop(&mut forwarded);
    let expected_upgrade = upgrade_asked
        .then(|| original.get(UPGRADE).cloned())
        .flatten();
    ensure(upgrade == expected_upgrade, AREA, || {
        format!("returned {upgrade:?}, expected {expected_upgrade:?}")
    })?;
    for name in original.keys() {
        let hop = named.contains(name) || HOP_BY_HOP.contains(&name.as_str());
        let kept = if hop {
            Vec::new()
        } else {
            values(original, name)
        };
        ensure(values(&forwarded, name) == kept, AREA, || {
            format!("header {name} was handled wrongly")
        })?;
    }
    Ok(())
}
