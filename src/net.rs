//! Network address decisions: CIDR ranges for `trusted_proxies` and the client address
//! chain for `X-Forwarded-For` (RFC 7239 §5.2 describes the same chain for `Forwarded`).

use std::net::IpAddr;

/// An IP range such as `10.0.0.0/8`, `::1/128`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (raw, None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        Some(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// True when `ip` is inside any of `ranges`.
pub fn is_trusted(ranges: &[Cidr], ip: IpAddr) -> bool {
    ranges.iter().any(|r| r.contains(ip))
}

/// The `X-Forwarded-For` value to send upstream: the incoming chain (kept only when it
/// is a well-formed list of addresses) with the peer appended.
pub fn forwarded_for(incoming: Option<&str>, peer: IpAddr) -> String {
    let mut out = String::with_capacity(16);
    if let Some(chain) = incoming.and_then(parse_forwarded_for) {
        for ip in chain {
            push_ip(&mut out, ip);
            out.push_str(", ");
        }
    }
    push_ip(&mut out, canonical(peer));
    out
}

/// `ip` in its usual text form. IPv4, nearly every peer, is written digit by digit: the
/// formatting machinery cost more than the rest of `X-Forwarded-For` on every request.
fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + octet / 10 % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
        }
        IpAddr::V6(v6) => out.push_str(&v6.to_string()),
    }
}

/// Parses a comma-separated `X-Forwarded-For` chain; `None` if any element is not an IP
/// address (a forged or garbled chain is dropped rather than passed on). At most 32
/// entries are read so a flood of commas costs nothing.
pub fn parse_forwarded_for(raw: &str) -> Option<Vec<IpAddr>> {
    let mut out = Vec::new();
    for part in raw.split(',') {
        if out.len() >= 32 {
            return None;
        }
        let part = part.trim();
        let part = part
            .strip_prefix('[')
            .and_then(|p| p.split_once(']').map(|(ip, _)| ip))
            .unwrap_or(part);
        out.push(part.parse().ok()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matches_ranges_and_single_addresses() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.9.9.9".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(Cidr::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn cidr_rejects_garbage() {
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "nope",
            "10.0.0.0/",
            "::/129",
            "1.2.3.4/1x",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_appends_peer_and_drops_garbage() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(forwarded_for(None, peer), "127.0.0.1");
        assert_eq!(forwarded_for(Some("1.2.3.4"), peer), "1.2.3.4, 127.0.0.1");
        assert_eq!(forwarded_for(Some("evil\r\nX: y"), peer), "127.0.0.1");
        assert_eq!(forwarded_for(Some("1.2.3.4, nope"), peer), "127.0.0.1");
    }

    proptest::proptest! {
        #[test]
        fn addresses_are_written_as_display_writes_them(ip in proptest::prelude::any::<IpAddr>()) {
            let mut out = String::new();
            push_ip(&mut out, ip);
            proptest::prop_assert_eq!(out, ip.to_string());
        }
    }

    #[test]
    fn every_octet_width_is_written() {
        for ip in ["0.0.0.0", "9.10.99.100", "255.255.255.255", "127.0.0.1"] {
            let mut out = String::new();
            push_ip(&mut out, ip.parse().unwrap());
            assert_eq!(out, ip);
        }
    }
}
