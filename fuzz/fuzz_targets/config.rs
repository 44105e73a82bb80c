//! The sidecar configuration: YAML plus `COGNITO_SIDECAR_*` variables. Input: YAML, then
//! optionally a line `---env` followed by `NAME=value` lines.
#![no_main]

use cognito_sidecar::invariants::config::check_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `*_file` keys read the named file; keep the fuzzer away from device files that
    // never end (the loader trusts the operator's paths).
    if ["/dev", "/proc", "/sys"].iter().any(|p| text.contains(p)) {
        return;
    }
    let (yaml, env) = text.split_once("\n---env\n").unwrap_or((text, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if let Err(violation) = check_config(yaml, &env) {
        panic!("{violation}");
    }
});
