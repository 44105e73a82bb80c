//! Request paths and rule globs: canonical paths are clean fixed points and glob
//! matching agrees with a reference. Input: a path; after a `\n`, a glob pattern.
#![no_main]

use cognito_sidecar::invariants::path::{check_canonical, check_glob};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (path, pattern) = text.split_once('\n').unwrap_or((&text, "/*"));
    for result in [check_canonical(path), check_glob(pattern, path)] {
        if let Err(violation) = result {
            panic!("{violation}");
        }
    }
});
