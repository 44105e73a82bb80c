//! `X-Forwarded-For` chains: kept whole when every element is an address, dropped
//! otherwise, always ending with the peer. Input: 16 bytes of peer address (IPv6, or
//! IPv4 when the first byte is even), then the header value.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cognito_sidecar::invariants::forwarded::check_forwarded_for;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut octets = [0u8; 16];
    let n = data.len().min(16);
    octets[..n].copy_from_slice(&data[..n]);
    let peer = if octets[0] % 2 == 0 {
        IpAddr::V4(Ipv4Addr::new(octets[1], octets[2], octets[3], octets[4]))
    } else {
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let raw = String::from_utf8_lossy(&data[n..]);
    if let Err(violation) = check_forwarded_for(&raw, peer) {
        panic!("{violation}");
    }
});
