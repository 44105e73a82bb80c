//! Upstream responses read on the serving task: response heads and chunked bodies.
//! Input: one byte giving the piece size the body is fed in (1–16), then the bytes the
//! upstream sent.
#![no_main]

use cognito_sidecar::invariants::upstream::check_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, bytes)) = data.split_first() else {
        return;
    };
    if let Err(violation) = check_response(bytes, usize::from(piece % 16) + 1) {
        panic!("{violation}");
    }
});
