use super::*;

const NAME: &str = "_cognito_sidecar";
const NOW: u64 = 1_800_000_000;

fn ring() -> KeyRing {
    KeyRing::new(&[[9; 32]]).expect("test key is valid")
}

fn signin(state: &str, created_at: u64) -> SignInState {
    SignInState {
        state: state.into(),
        nonce: format!("nonce-{state}"),
        pkce_verifier: format!("verifier-{state}-0123456789012345678901234567890123"),
        rd: "/app?x=1".into(),
        created_at,
    }
}

fn cookie(ring: &KeyRing, s: &SignInState) -> (String, String) {
    s.seal(ring, NAME).expect("seals")
}

#[test]
fn cookie_name_is_derived_from_the_state() {
    let a = csrf_cookie_name(NAME, "state-a");
    let b = csrf_cookie_name(NAME, "state-b");
    assert_ne!(a, b);
    assert_eq!(a, csrf_cookie_name(NAME, "state-a"));
    let id = a.strip_prefix("_cognito_sidecar_csrf_").expect("prefix");
    assert_eq!(id.len(), CSRF_ID_LEN);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
}

#[test]
fn callback_opens_the_matching_attempt() {
    let ring = ring();
    let s = signin("state-a", NOW);
    let other = signin("state-b", NOW);
    let cookies = vec![cookie(&ring, &other), cookie(&ring, &s)];
    assert_eq!(
        open_signin(&ring, NAME, &cookies, "state-a", NOW + 5),
        Some(s)
    );
}

#[test]
fn callback_rejects_wrong_missing_or_expired_state() {
    let ring = ring();
    let s = signin("state-a", NOW);
    let (name, sealed) = cookie(&ring, &s);
    let cookies = vec![(name.clone(), sealed.clone())];
    assert_eq!(open_signin(&ring, NAME, &cookies, "state-b", NOW), None);
    assert_eq!(open_signin(&ring, NAME, &cookies, "state-a ", NOW), None);
    assert_eq!(open_signin(&ring, NAME, &[], "state-a", NOW), None);
    assert_eq!(
        open_signin(&ring, NAME, &cookies, "state-a", NOW + SIGNIN_TTL_SECS),
        None
    );
    assert!(open_signin(&ring, NAME, &cookies, "state-a", NOW + SIGNIN_TTL_SECS - 1).is_some());
    // The session purpose never opens a sign-in value.
    assert!(ring.open(NAME, &sealed, NOW).is_none());
}

#[test]
fn state_inside_must_match_even_under_the_right_name() {
    let ring = ring();
    let (_, sealed) = cookie(&ring, &signin("state-b", NOW));
    let moved = vec![(csrf_cookie_name(NAME, "state-a"), sealed)];
    assert_eq!(open_signin(&ring, NAME, &moved, "state-a", NOW), None);
}

#[test]
fn a_planted_duplicate_does_not_hide_ours() {
    let ring = ring();
    let s = signin("state-a", NOW);
    let (name, sealed) = cookie(&ring, &s);
    let cookies = vec![(name.clone(), "v1.planted".into()), (name, sealed)];
    assert_eq!(open_signin(&ring, NAME, &cookies, "state-a", NOW), Some(s));
}

#[test]
fn at_most_five_attempts_remain() {
    let ring = ring();
    let attempts: Vec<SignInState> = (0..7)
        .map(|i| signin(&format!("state-{i}"), NOW + i))
        .collect();
    let mut cookies: Vec<(String, String)> = attempts.iter().map(|s| cookie(&ring, s)).collect();
    cookies.reverse();
    cookies.push(("theme".into(), "dark".into()));
    let expire = signins_to_expire(&ring, NAME, &cookies, NOW + 10);
    // Four newest stay (state-6..state-3), so the new attempt makes five.
    let expected: Vec<String> = ["state-2", "state-1", "state-0"]
        .iter()
        .map(|s| csrf_cookie_name(NAME, s))
        .collect();
    assert_eq!(expire, expected);
}

#[test]
fn few_attempts_are_all_kept() {
    let ring = ring();
    let cookies: Vec<(String, String)> = (0..4)
        .map(|i| cookie(&ring, &signin(&format!("s{i}"), NOW)))
        .collect();
    assert!(signins_to_expire(&ring, NAME, &cookies, NOW).is_empty());
}

#[test]
fn unopenable_attempts_always_expire() {
    let ring = ring();
    let good = cookie(&ring, &signin("good", NOW));
    let expired = cookie(&ring, &signin("old", NOW - SIGNIN_TTL_SECS - 1));
    let (_, moved_value) = cookie(&ring, &signin("moved", NOW));
    let other_key = signin("other", NOW)
        .seal(&KeyRing::new(&[[1; 32]]).expect("valid"), NAME)
        .expect("seals");
    let cookies = vec![
        good,
        expired.clone(),
        ("_cognito_sidecar_csrf_forged".into(), "v1.garbage".into()),
        (csrf_cookie_name(NAME, "elsewhere"), moved_value),
        other_key.clone(),
        ("_cognito_sidecar_csrf".into(), "x".into()),
        (
            "_cognito_sidecar_0".into(),
            "session chunk, not ours to expire".into(),
        ),
    ];
    assert_eq!(
        signins_to_expire(&ring, NAME, &cookies, NOW),
        [
            expired.0,
            "_cognito_sidecar_csrf_forged".into(),
            csrf_cookie_name(NAME, "elsewhere"),
            other_key.0,
            "_cognito_sidecar_csrf".to_string(),
        ]
    );
}

#[test]
fn duplicated_names_expire_once() {
    let ring = ring();
    let a = cookie(&ring, &signin("a", NOW));
    let cookies = vec![a.clone(), a.clone(), (a.0.clone(), "junk".into())];
    assert_eq!(signins_to_expire(&ring, NAME, &cookies, NOW), [a.0]);
}

#[test]
fn state_round_trips_and_debug_redacts() {
    let s = signin("secret-state", NOW);
    assert_eq!(SignInState::decode(&s.encode()), Some(s.clone()));
    assert_eq!(SignInState::decode(b"{}"), None);
    let shown = format!("{s:?}");
    assert!(!shown.contains("secret-state"), "{shown}");
    assert!(!shown.contains("verifier-"), "{shown}");
    assert!(shown.contains("/app?x=1"));
}
