//! Keys and caching: rotation through the unknown-`kid` refetch, single-flight under
//! concurrency, the bearer cache, and verification while the IdP is down.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::idp_stub::{jwks_json, test_key, Reply, StubServer};

#[tokio::test]
async fn a_rotated_key_is_picked_up_through_the_unknown_kid_refetch() {
    let f = Fixture::start().await;
    let rotated = test_key(2).token(&id_claims());
    f.serve_keys(&[id_key(), access_key(), test_key(2)]);
    assert!(f.id(&rotated).await.is_ok());
    assert_eq!(f.server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_unknown_kids_cause_one_fetch_and_none_a_second_later() {
    let f = Arc::new(Fixture::start().await);
    *f.jwks_reply.lock().unwrap() =
        Reply::json(200, &jwks_json(&[id_key(), access_key()])).delayed(Duration::from_millis(200));
    let token = Arc::new(test_key(3).token(&access_claims()));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let f = Arc::clone(&f);
            let token = Arc::clone(&token);
            tokio::spawn(async move { f.verifier.verify_bearer(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(TokenError::UnknownKey));
    }
    assert_eq!(f.server.hits(), 2, "initial load + one shared refetch");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let other = test_key(2).token(&access_claims());
    assert_eq!(
        f.verifier.verify_bearer(&other).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(f.server.hits(), 2, "no refetch within 30 s");
}

#[tokio::test]
async fn the_bearer_cache_skips_the_signature_check_and_survives_an_idp_outage() {
    let f = Fixture::start().await;
    let token = access_key().token(&access_claims());
    let first = f.verifier.verify_bearer(&token).await.unwrap();
    assert_eq!(f.verifier.signature_checks(), 1);
    assert_eq!(first.identity.user, "jdoe");
    assert_eq!(first.scopes, ["openid", "email", "profile"]);
    f.server.stop().await;
    for _ in 0..10 {
        let again = f.verifier.verify_bearer(&token).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
    }
    assert_eq!(f.verifier.signature_checks(), 1);

    // A token not seen before still verifies on the cached keys.
    let fresh = id_key().token(&with(id_claims(), |c| {
        c.insert("jti".into(), json!("another"));
    }));
    assert!(f.verifier.verify_bearer(&fresh).await.is_ok());
    assert_eq!(f.verifier.signature_checks(), 2);
    assert_eq!(f.jwks.fetch_failed(), 0);
}

#[tokio::test]
async fn failures_are_not_cached() {
    let f = Fixture::start().await;
    let impostor = test_key(3).sign(
        &json!({"alg": "RS256", "kid": access_key().kid}),
        &access_claims(),
    );
    for _ in 0..3 {
        assert_eq!(
            f.verifier.verify_bearer(&impostor).await,
            Err(TokenError::BadSignature)
        );
    }
    assert_eq!(f.verifier.signature_checks(), 3);
}

#[tokio::test]
async fn nothing_verifies_before_the_keys_are_loaded() {
    crate::install_crypto_provider();
    let http = idp_http::client(Duration::from_secs(1)).unwrap();
    let closed = StubServer::start(|_| Reply::text(503, "down")).await;
    let jwks = Jwks::new(closed.url("/jwks.json"), http, Duration::from_secs(3600));
    let settings = VerifierSettings {
        issuer: ISSUER.into(),
        client_id: CLIENT.into(),
        bearer_client_ids: vec![CLIENT.into()],
        bearer_token_uses: vec![TokenUse::Access],
        leeway: DEFAULT_LEEWAY,
    };
    let verifier = Verifier::new(settings, jwks);
    let token = access_key().token(&access_claims());
    let error = verifier.verify_bearer(&token).await.unwrap_err();
    assert_eq!(error, TokenError::KeysUnavailable);
    assert!(error.is_idp_unavailable());
}

#[tokio::test]
async fn a_cached_bearer_is_dropped_at_its_exp() {
    let f = Fixture::start().await;
    // Past `exp` but inside the leeway: accepted, and its cache entry is already expired.
    let token = access_key().token(&with(access_claims(), |c| {
        c.insert("exp".into(), json!(now() - 5));
    }));
    assert!(f.verifier.verify_bearer(&token).await.is_ok());
    assert!(f.verifier.verify_bearer(&token).await.is_ok());
    assert_eq!(f.verifier.signature_checks(), 2, "no cache hit after exp");
}

#[tokio::test]
async fn a_cached_bearer_ends_when_its_key_leaves_the_jwks() {
    let f = Fixture::start().await;
    let token = access_key().token(&access_claims());
    assert!(f.verifier.verify_bearer(&token).await.is_ok());
    assert!(f.verifier.verify_bearer(&token).await.is_ok());
    // A hit within the key set its key was last seen published in.
    assert!(f.verifier.cached_bearer(token.as_bytes(), now()).is_some());
    assert_eq!(
        f.verifier.signature_checks(),
        1,
        "the later answers are cache hits"
    );
    // The IdP drops the access key; a token with a new kid makes the sidecar re-read it.
    f.serve_keys(&[id_key(), test_key(2)]);
    let rotated = test_key(2).token(&access_claims());
    assert!(f.verifier.verify_bearer(&rotated).await.is_ok());
    assert!(
        f.verifier.cached_bearer(token.as_bytes(), now()).is_none(),
        "the new key set is looked at"
    );
    assert_eq!(
        f.verifier.verify_bearer(&token).await,
        Err(TokenError::UnknownKey),
        "the cached result went with its key"
    );
}
