//! Unit tests of the in-memory store: expiry, single use, rotation, revocation.

use super::*;

const T0: Duration = Duration::from_secs(1_000);

fn record(expires: u64) -> RefreshRecord {
    RefreshRecord::new(
        "c",
        "alice",
        &[],
        1,
        "fam",
        "ev",
        Duration::from_secs(expires),
    )
}

fn grant(expires: u64) -> CodeGrant {
    CodeGrant {
        client_id: "c".into(),
        redirect_uri: "http://a/cb".into(),
        code_challenge: None,
        nonce: None,
        scopes: vec![],
        username: "alice".into(),
        auth_time: 1,
        expires_at: Duration::from_secs(expires),
    }
}

#[test]
fn codes_are_single_use_and_purged_when_expired() {
    let store = Store::default();
    store.put_code("a", grant(2_000), T0);
    assert!(store.take_code("a").is_some());
    assert!(store.take_code("a").is_none());
    store.put_code("old", grant(1_500), T0);
    store.put_code("new", grant(3_000), Duration::from_secs(1_600));
    assert!(store.take_code("old").is_none());
}

#[test]
fn sessions_expire_and_end() {
    let store = Store::default();
    let session = HostedSession {
        username: "alice".into(),
        auth_time: 1,
        expires_at: Duration::from_secs(2_000),
    };
    let id = store.start_session(session.clone(), T0);
    assert!(store.session(&id, T0).is_some());
    assert!(store.session(&id, Duration::from_secs(2_000)).is_none());
    store.end_session(&id);
    assert!(store.session(&id, T0).is_none());
    let other = store.start_session(session, T0);
    assert_ne!(id, other);
}

#[test]
fn refresh_tokens_follow_expiry_rotation_and_revocation() {
    let store = Store::default();
    store.start_family("fam", "alice", Duration::from_secs(5_000));
    store.put_refresh("r1", record(5_000), T0);
    assert!(store.refresh("r1", Duration::ZERO, T0).is_ok());
    assert_eq!(
        store
            .refresh("r1", Duration::ZERO, Duration::from_secs(5_000))
            .err(),
        Some(RefreshProblem::Expired)
    );
    store.retire_refresh("r1", T0);
    assert!(store
        .refresh("r1", Duration::from_secs(10), T0 + Duration::from_secs(5))
        .is_ok());
    assert_eq!(
        store
            .refresh("r1", Duration::from_secs(10), T0 + Duration::from_secs(10))
            .err(),
        Some(RefreshProblem::Rotated)
    );
    assert!(store.family_active("fam"));
    store.revoke_family("fam");
    assert!(!store.family_active("fam"));
    assert_eq!(
        store.refresh("r1", Duration::ZERO, T0).err(),
        Some(RefreshProblem::Unknown)
    );
    assert_eq!(
        store.refresh("nope", Duration::ZERO, T0).err(),
        Some(RefreshProblem::Unknown)
    );
}

#[test]
fn global_sign_out_revokes_families_and_sessions() {
    let store = Store::default();
    store.start_family("f1", "alice", Duration::from_secs(5_000));
    store.start_family("f2", "bob", Duration::from_secs(5_000));
    let id = store.start_session(
        HostedSession {
            username: "alice".into(),
            auth_time: 1,
            expires_at: Duration::from_secs(2_000),
        },
        T0,
    );
    assert_eq!(store.revoke_user("alice"), 1);
    assert!(!store.family_active("f1"));
    assert!(store.family_active("f2"));
    assert!(store.session(&id, T0).is_none());
}

#[test]
fn debug_output_shows_no_keys() {
    let store = Store::default();
    store.put_code("secret-code", grant(2_000), T0);
    let text = format!("{store:?}");
    assert!(!text.contains("secret-code"));
    assert!(text.contains("codes: 1"));
}
