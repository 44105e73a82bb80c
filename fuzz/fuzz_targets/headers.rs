//! Request headers before forwarding: spoofed identity headers and hop-by-hop headers
//! are removed, nothing else is. Input: `name: value` lines.
#![no_main]

use cognito_sidecar::invariants::headers::{check_headers, header_map};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(&[u8], &[u8])> = data
        .split(|b| *b == b'\n')
        .map(|line| match line.iter().position(|b| *b == b':') {
            Some(i) => (&line[..i], line[i + 1..].trim_ascii()),
            None => (line, &b""[..]),
        })
        .collect();
    if let Err(violation) = check_headers(&header_map(&pairs)) {
        panic!("{violation}");
    }
});
