//! The `X-Forwarded-For` chain (SPEC §5.6, RFC 7239 §5.2 for the same chain in
//! `Forwarded`).

use std::net::IpAddr;

use http::HeaderValue;

use super::{ensure, Violation};
use crate::net::{forwarded_for, parse_forwarded_for};

const AREA: &str = "net::parse_forwarded_for/forwarded_for";

/// A parsed chain has 1 to 32 addresses and reads back from its own rendering; the
/// value sent upstream is a valid header of addresses ending with the peer, and carries
/// the incoming chain exactly when it parsed.
pub fn check_forwarded_for(raw: &str, peer: IpAddr) -> Result<(), Violation> {
    let chain = parse_forwarded_for(raw);
    if let Some(chain) = &chain {
        ensure(!chain.is_empty() && chain.len() <= 32, AREA, || {
            format!("{raw:?} parsed to {} addresses", chain.len())
        })?;
        let rendered: Vec<String> = chain.iter().map(ToString::to_string).collect();
        let reparsed = parse_forwarded_for(&rendered.join(", "));
        ensure(reparsed.as_ref() == Some(chain), AREA, || {
            format!("{raw:?} does not read back from its rendering")
        })?;
    }
    let out = forwarded_for(Some(raw), peer);
    ensure(HeaderValue::from_str(&out).is_ok(), AREA, || {
        format!("{raw:?} gave the invalid header value {out:?}")
    })?;
    let sent: Option<Vec<IpAddr>> = out.split(", ").map(|a| a.parse().ok()).collect();
    let Some((last, before)) = sent.as_deref().and_then(<[IpAddr]>::split_last) else {
        return Err(Violation {
            area: AREA,
            broken: format!("{raw:?} gave {out:?}, which is not a list of addresses"),
        });
    };
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    let expected_before = chain.unwrap_or_default();
    ensure(
        *last == peer && before == expected_before.as_slice(),
        AREA,
        || format!("{raw:?} gave {out:?}"),
    )
}
