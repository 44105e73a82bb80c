use super::*;
use crate::session::cookies::{byte_pairs, join, set_session, split};
use crate::session::seal::KeyRing;
use proptest::prelude::*;

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

/// Pseudo-random base64url text, deterministic so the size test is stable.
fn b64url(len: usize, seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(ALPHABET[usize::try_from(x >> 58).expect("6 bits fit")])
        })
        .collect()
}

/// A Cognito refresh token is an encrypted JWT (RSA-OAEP + A256GCM, JWE compact form)
/// of about 1.7 KB; its parts are header.key.iv.ciphertext.tag.
fn cognito_refresh_token() -> String {
    let token = format!(
        "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.{}.{}.{}.{}",
        b64url(342, 1),
        b64url(16, 2),
        b64url(1250, 3),
        b64url(22, 4)
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
    let json = String::from_utf8(minimal.encode()).expect("JSON is UTF-8");
    assert_eq!(
        json,
        r#"{"s":"c4b8e4a8-1f2a-4b7e-9d0a-6f3e2b1c0d9e","u":"alice","c":1800000000,"x":1800003600}"#
    );
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
}
