use super::*;
use crate::session::cookies::chunks::MAX_CHUNK_LEN;

const NAME: &str = "_cognito_sidecar";

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn lines(headers: &[HeaderValue]) -> Vec<String> {
    headers
        .iter()
        .map(|h| h.to_str().expect("ASCII").to_string())
        .collect()
}

fn removal(name: &str) -> String {
    format!(
        "{name}=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    )
}

#[test]
fn one_cookie_with_all_attributes() {
    let set = set_session(NAME, "v1.abc", true, 3600, &[]).expect("fits");
    assert_eq!(
        lines(&set),
        ["_cognito_sidecar=v1.abc; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=3600"]
    );
}

#[test]
fn secure_only_when_told() {
    let set = set_session(NAME, "v1.abc", false, 60, &[]).expect("fits");
    assert_eq!(
        lines(&set),
        ["_cognito_sidecar=v1.abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=60"]
    );
}

#[test]
fn shrinking_session_expires_stale_chunks() {
    let present = owned(&[
        ("_cognito_sidecar_0", "a"),
        ("_cognito_sidecar_1", "b"),
        ("_cognito_sidecar_2", "c"),
        ("theme", "dark"),
    ]);
    let set = set_session(NAME, &"x".repeat(5000), true, 60, &present).expect("fits");
    let out = lines(&set);
    assert_eq!(out.len(), 3);
    assert!(out[0].starts_with("_cognito_sidecar_0=x"));
    assert!(out[1].starts_with("_cognito_sidecar_1=x"));
    assert_eq!(out[2], removal("_cognito_sidecar_2"));
}

#[test]
fn switching_forms_expires_the_other_one() {
    let chunked = owned(&[("_cognito_sidecar_0", "a"), ("_cognito_sidecar_1", "b")]);
    let out = lines(&set_session(NAME, "v1.small", true, 60, &chunked).expect("fits"));
    assert_eq!(
        out[1..],
        [removal("_cognito_sidecar_0"), removal("_cognito_sidecar_1")]
    );

    let single = owned(&[(NAME, "a"), (NAME, "dup")]);
    let out = lines(&set_session(NAME, &"x".repeat(5000), true, 60, &single).expect("fits"));
    assert_eq!(out.len(), 3);
    assert_eq!(out[2], removal(NAME));
}

#[test]
fn odd_chunk_names_are_expired_but_csrf_cookies_are_left_alone() {
    let present = owned(&[
        ("_cognito_sidecar_01", "a"),
        ("_cognito_sidecar_csrf_abc", "b"),
        ("_cognito_sidecar_-1", "c"),
    ]);
    let out = lines(&clear_session(NAME, true, &present));
    assert_eq!(out, [removal("_cognito_sidecar_01")]);
}

#[test]
fn clear_expires_every_session_cookie_present_once() {
    let present = owned(&[
        (NAME, "a"),
        ("_cognito_sidecar_0", "b"),
        ("_cognito_sidecar_0", "b2"),
        ("_cognito_sidecar_3", "c"),
        ("other", "d"),
    ]);
    assert_eq!(
        lines(&clear_session(NAME, true, &present)),
        [
            removal(NAME),
            removal("_cognito_sidecar_0"),
            removal("_cognito_sidecar_3")
        ]
    );
    assert!(clear_session(NAME, true, &[]).is_empty());
}

#[test]
fn too_large_sessions_are_refused() {
    let sealed = "x".repeat(MAX_CHUNKS * MAX_CHUNK_LEN + 1);
    assert_eq!(
        set_session(NAME, &sealed, true, 60, &[]),
        Err(CookieError::TooLarge { chunks: 5 })
    );
}

#[test]
fn invalid_names_and_values_are_refused() {
    for bad in ["", "a b", "a;b", "a=b", "ä"] {
        assert!(
            matches!(
                set_session(bad, "v", true, 60, &[]),
                Err(CookieError::InvalidName { .. })
            ),
            "{bad:?}"
        );
        assert_eq!(expire_cookie(bad, true), None);
    }
    assert!(matches!(
        set_session(NAME, "bad\nvalue", true, 60, &[]),
        Err(CookieError::InvalidValue { .. })
    ));
}

#[test]
fn signin_cookie_lives_ten_minutes() {
    let header = set_signin("_cognito_sidecar_csrf_abc", "v1.s", false).expect("valid");
    assert_eq!(
        header.to_str().expect("ASCII"),
        "_cognito_sidecar_csrf_abc=v1.s; HttpOnly; SameSite=Lax; Path=/; Max-Age=600"
    );
}

#[test]
fn huge_max_age_does_not_overflow() {
    let set = set_session(NAME, "v", true, u64::MAX, &[]).expect("fits");
    assert!(lines(&set)[0].contains(&format!("Max-Age={}", i64::MAX)));
}
