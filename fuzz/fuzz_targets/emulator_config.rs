//! The emulator's YAML configuration: loads and passes its own validation, or lists
//! problems. Input: YAML.
#![no_main]

use cognito_sidecar::invariants::config::check_emulator_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(yaml) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(violation) = check_emulator_config(yaml) {
        panic!("{violation}");
    }
});
