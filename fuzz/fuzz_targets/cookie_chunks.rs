//! Chunk reassembly from arbitrary cookie pairs, and split → join round trips.
//! Input: `name=value` lines; the whole input is also split as one sealed value.
#![no_main]

use cognito_sidecar::invariants::cookies::{check_join, check_split_join};
use libfuzzer_sys::fuzz_target;

const BASE: &str = "_cognito_sidecar";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(String, String)> = text
        .lines()
        .map(|line| match line.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect();
    if let Err(violation) = check_join(&pairs, BASE) {
        panic!("{violation}");
    }
    // The first line doubles as a cookie base name (bounded like session.cookie_name).
    let base = pairs
        .first()
        .map(|(n, _)| n.as_str())
        .filter(|n| !n.is_empty() && n.len() <= 64)
        .unwrap_or(BASE);
    if let Err(violation) = check_split_join(base, &text) {
        panic!("{violation}");
    }
});
