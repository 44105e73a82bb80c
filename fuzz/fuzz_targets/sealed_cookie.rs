//! Sealed cookie values: arbitrary strings never open; seal → open round trips and any
//! tampering fails; session and sign-in payloads decode consistently.
//! Input: 8 bytes expiry, 8 bytes now, 4 bytes tamper position, 1 byte tamper value,
//! then the payload (also tried as a sealed string and as a decoded payload).
#![no_main]

use std::sync::OnceLock;

use cognito_sidecar::invariants::seal::{
    check_decode, check_open, check_round_trip, test_ring, Tamper,
};
use cognito_sidecar::session::seal::KeyRing;
use libfuzzer_sys::fuzz_target;

fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    // Fixed, valid 32-byte keys: building the ring cannot fail.
    RING.get_or_init(|| test_ring().expect("fixed test keys are valid"))
}

fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = data.len().min(N);
    out[..n].copy_from_slice(&data[..n]);
    *data = &data[n..];
    out
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let expires_at = u64::from_be_bytes(take(&mut rest));
    let now = u64::from_be_bytes(take(&mut rest));
    let at = u32::from_be_bytes(take(&mut rest)) as usize;
    let [byte] = take(&mut rest);
    let payload = rest;
    let sealed = String::from_utf8_lossy(payload);
    let checks = [
        check_open(ring(), "_cognito_sidecar", &sealed, now),
        check_round_trip(
            ring(),
            "_cognito_sidecar",
            payload,
            expires_at,
            now,
            Tamper { at, byte },
        ),
        check_decode(payload),
    ];
    for result in checks {
        if let Err(violation) = result {
            panic!("{violation}");
        }
    }
});
