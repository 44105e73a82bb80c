//! The `rd` parameter after sign-in: whatever it is, the browser stays on the public
//! origin or an allowed host. Input: the `rd` value.
#![no_main]

use std::sync::OnceLock;

use cognito_sidecar::invariants::redirect::check_redirect;
use libfuzzer_sys::fuzz_target;
use url::Url;

fn public_url() -> &'static Url {
    static URL: OnceLock<Url> = OnceLock::new();
    // A literal, valid URL.
    URL.get_or_init(|| Url::parse("https://app.example.com").expect("valid literal URL"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(rd) = std::str::from_utf8(data) else {
        return;
    };
    let allowed = ["Example.com".to_owned(), "[::1]:9000".to_owned()];
    if let Err(violation) = check_redirect(rd, public_url(), &allowed) {
        panic!("{violation}");
    }
});
