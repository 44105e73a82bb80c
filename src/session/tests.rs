use super::*;
use crate::session::cookies::{byte_pairs, join, set_session, split};
use crate::session::seal::KeyRing;
use proptest::prelude::*;

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

/// Base64url of `len` pseudo-random bytes, deterministic so the size test is stable.
fn b64url(len: usize, seed: u64) -> String {
    use base64::Engine;
    let mut x = seed;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A Cognito refresh token is an encrypted JWT (RSA-OAEP + A256GCM, JWE compact form)
/// of about 1.7 KB; its parts are header.key.iv.ciphertext.tag.
fn cognito_refresh_token() -> String {
    let token = format!(
        "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.{}.{}.{}.{}",
        b64url(256, 1),
        b64url(12, 2),
        b64url(938, 3),
        b64url(16, 4)
    );
    assert!((1650..1800).contains(&token.len()), "{}", token.len());
    token
}

fn typical() -> Session {
    Session {
        sub: "c4b8e4a8-1f2a-4b7e-9d0a-6f3e2b1c0d9e".into(),
        user: "alice".into(),
        email: Some("alice@example.com".into()),
        groups: vec!["admins".into()],
        created_at: NOW,
        tokens_expire_at: NOW + 3600,
        refresh_token: Some(cognito_refresh_token()),
        access_token: None,
        id_token: None,
    }
}

#[test]
fn typical_cognito_session_fits_one_cookie() {
    let ring = KeyRing::new(&[[5; 32]]).expect("valid key");
    let name = "_cognito_sidecar";
    let sealed = ring
        .seal(
            name,
            typical().lifetime_ends_at(7 * DAY),
            &typical().encode(),
        )
        .expect("seals");
    assert_eq!(
        split(name, &sealed).len(),
        1,
        "sealed is {} bytes",
        sealed.len()
    );
    let headers = set_session(name, &sealed, true, 7 * DAY, &[]).expect("fits");
    assert_eq!(headers.len(), 1);
    let line = format!("Set-Cookie: {}", headers[0].to_str().expect("ASCII"));
    assert!(line.len() < 4000, "Set-Cookie line is {} bytes", line.len());

    let cookies = vec![(name.to_string(), sealed)];
    let joined = join(byte_pairs(&cookies), name).expect("one cookie");
    let joined = std::str::from_utf8(&joined).expect("ASCII");
    let opened = ring.open(name, joined, NOW + 60).expect("opens");
    assert_eq!(Session::decode(&opened.payload), Some(typical()));
}

#[test]
fn encoding_is_compact_and_skips_empty_fields() {
    let minimal = Session {
        email: None,
        groups: vec![],
        refresh_token: None,
        ..typical()
    };
    let encoded = minimal.encode();
    let json =
        r#"{"s":"c4b8e4a8-1f2a-4b7e-9d0a-6f3e2b1c0d9e","u":"alice","c":1800000000,"x":1800003600}"#;
    let mut want = vec![0x01, 0, u8::try_from(json.len()).expect("short")];
    want.extend_from_slice(json.as_bytes());
    assert_eq!(encoded, want);
}

#[test]
fn tokens_are_carried_as_their_bytes_a_quarter_smaller() {
    let jwt = format!("{}.{}.{}", b64url(30, 7), b64url(600, 8), b64url(256, 9));
    let session = Session {
        access_token: Some(jwt.clone()),
        id_token: Some(jwt),
        ..typical()
    };
    let as_text = serde_json::to_vec(&session).expect("JSON");
    let packed = session.encode();
    assert!(
        packed.len() * 4 < as_text.len() * 3 + 200,
        "packed {} bytes, as text {}",
        packed.len(),
        as_text.len()
    );
    assert_eq!(Session::decode(&packed), Some(session));
}

#[test]
fn tokens_that_would_not_come_back_exactly_stay_text() {
    // Non-canonical trailing bits, padding, a foreign alphabet, too many segments, and
    // text that is no base64 at all.
    for odd in [
        "eyJh.abd",
        "eyJh.YQ==",
        "eyJh+/.YQ",
        "a.b.c.d.e.f.g.h.i",
        "not a token",
    ] {
        let session = Session {
            refresh_token: Some(odd.to_owned()),
            ..typical()
        };
        let encoded = session.encode();
        assert!(
            String::from_utf8_lossy(&encoded).contains(odd),
            "{odd} is kept as text"
        );
        assert_eq!(Session::decode(&encoded), Some(session));
    }
}

#[test]
fn sessions_sealed_as_plain_json_by_earlier_releases_still_open() {
    let session = typical();
    let json = serde_json::to_vec(&session).expect("JSON");
    assert_eq!(Session::decode(&json), Some(session));
}

#[test]
fn packed_payloads_that_repeat_or_truncate_a_token_are_rejected() {
    let packed = typical().encode();
    // The token again after itself.
    let json_len = usize::from(u16::from_be_bytes([packed[1], packed[2]]));
    let token = packed[3 + json_len..].to_vec();
    let mut twice = packed.clone();
    twice.extend_from_slice(&token);
    assert_eq!(Session::decode(&twice), None);
    // Cut anywhere inside the token section.
    for cut in [packed.len() - 1, packed.len() - 100, 3 + json_len + 1] {
        assert_eq!(Session::decode(&packed[..cut]), None, "cut at {cut}");
    }
    // An unknown field letter.
    let mut unknown = packed[..3 + json_len].to_vec();
    unknown.push(b'z');
    unknown.extend_from_slice(&token[1..]);
    assert_eq!(Session::decode(&unknown), None);
}

#[test]
fn decode_rejects_non_sessions() {
    for junk in [
        &b""[..],
        b"{}",
        b"null",
        b"{\"s\":1}",
        b"\xff\xfe",
        b"[1,2]",
    ] {
        assert_eq!(Session::decode(junk), None);
    }
}

#[test]
fn identity_carries_the_claims() {
    let id = typical().identity();
    assert_eq!(id.sub, "c4b8e4a8-1f2a-4b7e-9d0a-6f3e2b1c0d9e");
    assert_eq!(id.user, "alice");
    assert_eq!(id.email.as_deref(), Some("alice@example.com"));
    assert_eq!(id.groups, ["admins"]);
    assert_eq!(id.expires_at, NOW + 3600);
}

#[test]
fn debug_redacts_tokens() {
    let mut s = typical();
    s.access_token = Some("access-token-value".into());
    s.id_token = Some("id-token-value".into());
    let shown = format!("{s:?}");
    for secret in [
        s.refresh_token.clone().expect("set"),
        "access-token-value".into(),
        "id-token-value".into(),
    ] {
        assert!(!shown.contains(&secret));
    }
    assert!(shown.contains("alice"));
}

#[test]
fn status_follows_tokens_refresh_and_lifetime() {
    let s = typical();
    let life = 7 * DAY;
    assert_eq!(s.status(NOW + 10, life, true), SessionStatus::Valid);
    assert_eq!(
        s.status(NOW + 3600, life, true),
        SessionStatus::NeedsRefresh
    );
    assert_eq!(s.status(NOW + 3600, life, false), SessionStatus::Ended);
    let no_refresh = Session {
        refresh_token: None,
        ..typical()
    };
    assert_eq!(
        no_refresh.status(NOW + 3600, life, true),
        SessionStatus::Ended
    );
    let renewed = Session {
        tokens_expire_at: NOW + life + 3600,
        ..typical()
    };
    assert_eq!(renewed.status(NOW + life, life, true), SessionStatus::Ended);
    assert_eq!(s.lifetime_ends_at(u64::MAX), u64::MAX);
}

fn session() -> impl Strategy<Value = Session> {
    (
        ".{0,40}",
        ".{0,20}",
        proptest::option::of(".{0,30}"),
        proptest::collection::vec(".{0,12}", 0..4),
        any::<u64>(),
        any::<u64>(),
        proptest::option::of("[A-Za-z0-9._-]{0,64}"),
        proptest::option::of("[A-Za-z0-9._-]{0,64}"),
    )
        .prop_map(|(sub, user, email, groups, c, x, r, a)| Session {
            sub,
            user,
            email,
            groups,
            created_at: c,
            tokens_expire_at: x,
            refresh_token: r,
            access_token: a,
            id_token: None,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn encode_decode_round_trips(s in session()) {
        prop_assert_eq!(Session::decode(&s.encode()), Some(s));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Session::decode(&bytes);
    }

    #[test]
    fn any_token_text_round_trips(
        segments in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..10),
        junk in "[A-Za-z0-9._=+/ -]{0,40}",
    ) {
        let shaped = segments
            .iter()
            .map(|s| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s))
            .collect::<Vec<_>>()
            .join(".");
        let session = Session {
            refresh_token: Some(shaped),
            access_token: Some(junk),
            ..typical()
        };
        prop_assert_eq!(Session::decode(&session.encode()), Some(session));
    }

    #[test]
    fn packed_payload_corruption_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = typical().encode();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(s) = Session::decode(&bytes) {
            prop_assert_eq!(Session::decode(&s.encode()), Some(s));
        }
    }
}
