//! JWT decoding before the signature check and the claim checks after it. The input is
//! tried as a raw token, and split at the first `\n` into header and claims JSON that
//! are assembled into a token and checked as claims.
#![no_main]

use cognito_sidecar::invariants::tokens::{assemble, check_claims, check_compact, Expectations};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let want = Expectations {
        issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E".to_owned(),
        client_id: "client-a".to_owned(),
        nonce: Some("n0nce".to_owned()),
        bearer_client_ids: vec!["client-a".to_owned(), "client-b".to_owned()],
        leeway_secs: 30,
        now: 1_700_000_000,
    };
    let (header, claims) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"{\"alg\":\"RS256\",\"kid\":\"k\"}"[..], data),
    };
    let checks = [
        check_compact(&String::from_utf8_lossy(data)),
        check_compact(&assemble(header, claims)),
        check_claims(claims, &want),
    ];
    for result in checks {
        if let Err(violation) = result {
            panic!("{violation}");
        }
    }
});
