//! `Cookie` headers as a browser or attacker sends them: parsing, chunk reassembly and
//! stripping our cookies before forwarding. Input: header values separated by `\n`.
#![no_main]

use cognito_sidecar::invariants::cookies::check_cookie_headers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if let Err(violation) = check_cookie_headers(&values, "_cognito_sidecar") {
        panic!("{violation}");
    }
});
