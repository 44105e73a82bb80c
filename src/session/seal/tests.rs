use super::*;
use proptest::prelude::*;

const NOW: u64 = 1_800_000_000;
const K1: [u8; 32] = [1; 32];
const K2: [u8; 32] = [2; 32];

fn ring(keys: &[[u8; 32]]) -> KeyRing {
    KeyRing::new(keys).expect("test keys are valid")
}

#[test]
fn round_trip_with_primary_key() {
    let ring = ring(&[K1]);
    let sealed = ring.seal("_c", NOW + 60, b"hello").expect("seals");
    assert!(sealed.starts_with("v1."));
    let opened = ring.open("_c", &sealed, NOW).expect("opens");
    assert_eq!(opened.payload, b"hello");
    assert_eq!(opened.expires_at, NOW + 60);
    assert!(!opened.needs_reseal);
}

#[test]
fn sealed_length_matches_the_formula() {
    let ring = ring(&[K1]);
    for n in [0, 1, 2, 3, 100, 1000] {
        let sealed = ring.seal("_c", NOW + 60, &vec![7; n]).expect("seals");
        assert_eq!(sealed.len(), sealed_len(n), "payload of {n} bytes");
    }
}

#[test]
fn nonces_are_fresh_per_seal() {
    let ring = ring(&[K1]);
    let a = ring.seal("_c", NOW + 60, b"same").expect("seals");
    let b = ring.seal("_c", NOW + 60, b"same").expect("seals");
    assert_ne!(a, b);
}

#[test]
fn old_keys_open_and_ask_for_a_reseal() {
    let old = ring(&[K2]);
    let sealed = old.seal("_c", NOW + 60, b"x").expect("seals");
    let rotated = ring(&[K1, K2]);
    let opened = rotated
        .open("_c", &sealed, NOW)
        .expect("old key still opens");
    assert!(opened.needs_reseal);
    let resealed = rotated.seal("_c", NOW + 60, b"x").expect("seals");
    assert!(
        !rotated
            .open("_c", &resealed, NOW)
            .expect("opens")
            .needs_reseal
    );
    assert!(
        old.open("_c", &resealed, NOW).is_none(),
        "new key is not in the old ring"
    );
}

#[test]
fn removed_keys_no_longer_open() {
    let sealed = ring(&[K2]).seal("_c", NOW + 60, b"x").expect("seals");
    assert!(ring(&[K1]).open("_c", &sealed, NOW).is_none());
}

#[test]
fn expiry_is_exclusive() {
    let ring = ring(&[K1]);
    let sealed = ring.seal("_c", NOW, b"x").expect("seals");
    assert!(ring.open("_c", &sealed, NOW - 1).is_some());
    assert!(ring.open("_c", &sealed, NOW).is_none());
    assert!(ring.open("_c", &sealed, NOW + 1).is_none());
}

#[test]
fn bound_to_the_purpose() {
    let ring = ring(&[K1]);
    let sealed = ring.seal("_c", NOW + 60, b"x").expect("seals");
    assert!(ring.open("_c_csrf", &sealed, NOW).is_none());
    assert!(ring.open("_C", &sealed, NOW).is_none());
    assert!(ring.open("", &sealed, NOW).is_none());
}

#[test]
fn garbage_never_opens() {
    let ring = ring(&[K1]);
    for junk in [
        "",
        "v1.",
        "v1",
        "v2.AAAA",
        "v1.!!!!",
        "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "x",
    ] {
        assert!(ring.open("_c", junk, NOW).is_none(), "{junk:?}");
    }
    let huge = format!("v1.{}", "A".repeat(MAX_SEALED_LEN));
    assert!(ring.open("_c", &huge, NOW).is_none());
}

#[test]
fn oversized_payloads_are_refused_at_seal_time() {
    let ring = ring(&[K1]);
    let err = ring
        .seal("_c", NOW + 60, &vec![0; MAX_SEALED_LEN])
        .expect_err("too large");
    assert!(matches!(err, SealError::TooLarge { .. }));
    let largest = (MAX_SEALED_LEN - PREFIX.len()) * 3 / 4 - OVERHEAD;
    let sealed = ring.seal("_c", NOW + 60, &vec![0; largest]).expect("fits");
    assert!(sealed.len() <= MAX_SEALED_LEN);
    assert!(ring.open("_c", &sealed, NOW).is_some());
}

#[test]
fn empty_ring_is_a_config_error() {
    assert_eq!(KeyRing::new(&[]).err(), Some(KeyRingError::Empty));
}

#[test]
fn from_config_decodes_every_secret() {
    use crate::config::{HumanDuration, Secret, SessionConfig};
    use base64::engine::general_purpose::STANDARD;
    let mut session = SessionConfig {
        secret: Some(Secret::new(STANDARD.encode(K1))),
        secrets: vec![Secret::new(STANDARD.encode(K2))],
        cookie_name: "_c".into(),
        lifetime: HumanDuration::secs(3600),
        refresh: true,
        cookie_secure: None,
        store: Default::default(),
        redis: None,
    };
    let ring = KeyRing::from_config(&session).expect("valid secrets");
    let sealed = self::ring(&[K2]).seal("_c", NOW + 60, b"x").expect("seals");
    assert!(ring.open("_c", &sealed, NOW).expect("opens").needs_reseal);

    session
        .secrets
        .push(Secret::new("not base64 of 32 bytes".into()));
    assert_eq!(
        KeyRing::from_config(&session).err(),
        Some(KeyRingError::InvalidSecret { index: 2 })
    );
}

#[test]
fn debug_never_shows_keys_or_payloads() {
    let ring = ring(&[K1]);
    let shown = format!("{ring:?}");
    assert!(shown.contains("keys: 1"), "{shown}");
    let sealed = ring.seal("_c", NOW + 60, b"top-secret").expect("seals");
    let opened = ring.open("_c", &sealed, NOW).expect("opens");
    assert!(!format!("{opened:?}").contains("top-secret"));
}

#[test]
fn key_ring_is_shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeyRing>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn seal_open_round_trips(
        name in "[A-Za-z0-9_.-]{0,40}",
        payload in proptest::collection::vec(any::<u8>(), 0..2048),
        ttl in 1u64..1_000_000,
    ) {
        let ring = ring(&[K1, K2]);
        let sealed = ring.seal(&name, NOW + ttl, &payload).expect("seals");
        let opened = ring.open(&name, &sealed, NOW).expect("opens");
        prop_assert_eq!(opened.payload, payload);
        prop_assert_eq!(opened.expires_at, NOW + ttl);
        prop_assert!(ring.open(&name, &sealed, NOW + ttl).is_none());
    }

    #[test]
    fn any_single_byte_change_fails(
        payload in proptest::collection::vec(any::<u8>(), 0..256),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let ring = ring(&[K1]);
        let sealed = ring.seal("_c", NOW + 60, &payload).expect("seals");
        let mut bytes = sealed.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let tampered = String::from_utf8_lossy(&bytes);
        prop_assert!(ring.open("_c", &tampered, NOW).is_none());
    }

    #[test]
    fn any_truncation_or_extension_fails(
        payload in proptest::collection::vec(any::<u8>(), 0..256),
        cut in any::<prop::sample::Index>(),
        extra in "[A-Za-z0-9_-]{1,8}",
    ) {
        let ring = ring(&[K1]);
        let sealed = ring.seal("_c", NOW + 60, &payload).expect("seals");
        let keep = cut.index(sealed.len());
        prop_assert!(ring.open("_c", &sealed[..keep], NOW).is_none());
        let extended = format!("{sealed}{extra}");
        prop_assert!(ring.open("_c", &extended, NOW).is_none());
    }

    #[test]
    fn other_purposes_fail(a in "[a-z_]{1,12}", b in "[a-z_]{1,12}") {
        prop_assume!(a != b);
        let ring = ring(&[K1]);
        let sealed = ring.seal(&a, NOW + 60, b"x").expect("seals");
        prop_assert!(ring.open(&b, &sealed, NOW).is_none());
    }

    #[test]
    fn open_never_panics_on_arbitrary_input(junk in ".{0,300}", b64 in "v1\\.[A-Za-z0-9_-]{0,200}") {
        let ring = ring(&[K1]);
        prop_assert!(ring.open("_c", &junk, NOW).is_none());
        prop_assert!(ring.open("_c", &b64, NOW).is_none());
    }
}
