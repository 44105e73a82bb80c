//! The verifier end to end against a loopback JWKS: real RSA keys, real signatures,
//! and the attack classes of peers.md §4 (algorithm confusion, missing `exp`, wrong
//! audience or client, token-use swaps, foreign issuers, tampering).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::idp_http;
use crate::idp_stub::{
    b64url, hs256_token, jwks_json, test_key, unsigned_token, Reply, StubServer,
};

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E";
const CLIENT: &str = "4q0example1client2id3abc45";

/// Like Cognito: key 0 signs ID tokens, key 1 access tokens.
fn id_key() -> &'static crate::idp_stub::TestKey {
    test_key(0)
}
fn access_key() -> &'static crate::idp_stub::TestKey {
    test_key(1)
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn id_claims() -> Value {
    json!({
        "at_hash": "3KIhjUiWvVLZDFnLjBXhew",
        "sub": "5c3e0b7a-1f2d-4e6a-9b8c-0d1e2f3a4b5c",
        "cognito:groups": ["admins"],
        "email_verified": true,
        "iss": ISSUER,
        "cognito:username": "jdoe",
        "nonce": "Tq1Lm0pZx",
        "origin_jti": "0b4e6f2a-93c1-4d6e-8f7a-112233445566",
        "aud": CLIENT,
        "token_use": "id",
        "auth_time": now() - 60,
        "exp": now() + 3600,
        "iat": now() - 60,
        "jti": "a9918bf6-5d52-4339-81da-ea73d687c1cc",
        "email": "jdoe@acme.example",
    })
}

fn access_claims() -> Value {
    json!({
        "sub": "5c3e0b7a-1f2d-4e6a-9b8c-0d1e2f3a4b5c",
        "cognito:groups": ["admins"],
        "iss": ISSUER,
        "version": 2,
        "client_id": CLIENT,
        "origin_jti": "0b4e6f2a-93c1-4d6e-8f7a-112233445566",
        "token_use": "access",
        "scope": "openid email profile",
        "auth_time": now() - 60,
        "exp": now() + 3600,
        "iat": now() - 60,
        "jti": "1ca70dfa-cb97-4531-b9c6-ef984ff1f7fd",
        "username": "jdoe",
    })
}

fn with(mut claims: Value, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    change(claims.as_object_mut().unwrap());
    claims
}

struct Fixture {
    server: StubServer,
    jwks_reply: Arc<Mutex<Reply>>,
    jwks: Arc<Jwks>,
    verifier: Verifier,
}

impl Fixture {
    async fn start() -> Self {
        Self::with_bearer(vec![TokenUse::Access, TokenUse::Id], vec![CLIENT.into()]).await
    }

    async fn with_bearer(uses: Vec<TokenUse>, client_ids: Vec<String>) -> Self {
        crate::install_crypto_provider();
        let jwks_reply = Arc::new(Mutex::new(Reply::json(
            200,
            &jwks_json(&[id_key(), access_key()]),
        )));
        let shared = Arc::clone(&jwks_reply);
        let server = StubServer::start(move |_| shared.lock().unwrap().clone()).await;
        let http = idp_http::client(Duration::from_secs(2)).unwrap();
        let jwks = Jwks::new(server.url("/jwks.json"), http, Duration::from_secs(3600));
        jwks.load_until_ready(&CancellationToken::new()).await;
        let settings = VerifierSettings {
            issuer: ISSUER.into(),
            client_id: CLIENT.into(),
            bearer_client_ids: client_ids,
            bearer_token_uses: uses,
            leeway: DEFAULT_LEEWAY,
        };
        let verifier = Verifier::new(settings, Arc::clone(&jwks));
        Self {
            server,
            jwks_reply,
            jwks,
            verifier,
        }
    }

    fn serve_keys(&self, keys: &[&crate::idp_stub::TestKey]) {
        *self.jwks_reply.lock().unwrap() = Reply::json(200, &jwks_json(keys));
    }

    async fn id(&self, token: &str) -> Result<IdClaims, TokenError> {
        self.verifier.verify_id_token(token, None).await
    }

    async fn access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.verifier.verify_access_token(token).await
    }
}

#[tokio::test]
async fn a_cognito_id_token_verifies() {
    let f = Fixture::start().await;
    let claims = f.id(&id_key().token(&id_claims())).await.unwrap();
    assert_eq!(claims.username.as_deref(), Some("jdoe"));
    assert_eq!(claims.email_verified, Some(true));
    let who = claims.identity();
    assert_eq!(who.user, "jdoe");
    assert_eq!(who.email.as_deref(), Some("jdoe@acme.example"));
    assert_eq!(who.groups, ["admins"]);
    assert_eq!(who.sub, "5c3e0b7a-1f2d-4e6a-9b8c-0d1e2f3a4b5c");
}

#[tokio::test]
async fn a_cognito_access_token_verifies() {
    let f = Fixture::start().await;
    let claims = f
        .access(&access_key().token(&access_claims()))
        .await
        .unwrap();
    assert_eq!(claims.scopes(), ["openid", "email", "profile"]);
    assert_eq!(claims.identity().user, "jdoe");
    assert_eq!(claims.client_id, CLIENT);
}

#[tokio::test]
async fn alg_none_is_refused_before_any_key_lookup() {
    let f = Fixture::start().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = unsigned_token(&json!({"alg": alg, "kid": id_key().kid}), &id_claims(), b"");
        // An empty signature is not even a valid compact JWS for us...
        assert!(f.id(&token).await.is_err());
        let with_sig = unsigned_token(
            &json!({"alg": alg, "kid": id_key().kid}),
            &id_claims(),
            b"x",
        );
        assert_eq!(
            f.id(&with_sig).await,
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
        let unknown_kid = unsigned_token(&json!({"alg": alg, "kid": "nope"}), &id_claims(), b"x");
        assert_eq!(
            f.id(&unknown_kid).await,
            Err(TokenError::UnsupportedAlgorithm)
        );
    }
    assert_eq!(
        f.server.hits(),
        1,
        "no JWKS refetch for a refused algorithm"
    );
    assert_eq!(f.verifier.signature_checks(), 0);
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let f = Fixture::start().await;
    let header = json!({"alg": "HS256", "kid": id_key().kid, "typ": "JWT"});
    for secret in [
        id_key().public_der(),
        id_key().jwk().to_string().into_bytes(),
    ] {
        let token = hs256_token(&secret, &header, &id_claims());
        assert_eq!(f.id(&token).await, Err(TokenError::UnsupportedAlgorithm));
        assert_eq!(
            f.verifier.verify_bearer(&token).await,
            Err(TokenError::UnsupportedAlgorithm)
        );
    }
}

#[tokio::test]
async fn other_algorithms_are_refused_even_with_a_valid_rsa_signature() {
    let f = Fixture::start().await;
    for alg in ["RS384", "RS512", "PS256", "ES256", "EdDSA"] {
        let token = id_key().sign(&json!({"alg": alg, "kid": id_key().kid}), &id_claims());
        assert_eq!(
            f.id(&token).await,
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn foreign_issuers_are_refused() {
    let f = Fixture::start().await;
    for iss in [
        json!(format!("{ISSUER}/")),
        json!(ISSUER.to_lowercase()),
        json!(ISSUER.to_uppercase()),
        json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
        json!("https://acme-dev.auth.us-east-1.amazoncognito.com"),
    ] {
        let token = id_key().token(&with(id_claims(), |c| {
            c.insert("iss".into(), iss.clone());
        }));
        assert_eq!(f.id(&token).await, Err(TokenError::WrongIssuer), "{iss}");
    }
    let array = id_key().token(&with(id_claims(), |c| {
        c.insert("iss".into(), json!([ISSUER]));
    }));
    assert!(matches!(f.id(&array).await, Err(TokenError::Malformed(_))));
}

#[tokio::test]
async fn id_tokens_for_another_audience_are_refused() {
    let f = Fixture::start().await;
    let other = id_key().token(&with(id_claims(), |c| {
        c.insert("aud".into(), json!("another-client"));
    }));
    assert_eq!(f.id(&other).await, Err(TokenError::WrongAudience));
    let array = id_key().token(&with(id_claims(), |c| {
        c.insert("aud".into(), json!([CLIENT]));
    }));
    assert_eq!(f.id(&array).await, Err(TokenError::WrongAudience));
    let missing = id_key().token(&with(id_claims(), |c| {
        c.remove("aud");
    }));
    assert_eq!(f.id(&missing).await, Err(TokenError::MissingClaim("aud")));
}

#[tokio::test]
async fn access_tokens_from_other_clients_are_refused_unless_listed() {
    let f = Fixture::start().await;
    let token = access_key().token(&with(access_claims(), |c| {
        c.insert("client_id".into(), json!("partner-client"));
    }));
    assert_eq!(f.access(&token).await, Err(TokenError::WrongClient));
    assert_eq!(
        f.verifier.verify_bearer(&token).await,
        Err(TokenError::WrongClient)
    );

    let listed = Fixture::with_bearer(
        vec![TokenUse::Access],
        vec![CLIENT.into(), "partner-client".into()],
    )
    .await;
    let who = listed.verifier.verify_bearer(&token).await.unwrap();
    assert_eq!(who.client_id, "partner-client");
}

#[tokio::test]
async fn token_uses_cannot_be_swapped() {
    let f = Fixture::start().await;
    let id = id_key().token(&id_claims());
    let access = access_key().token(&access_claims());
    assert_eq!(f.access(&id).await.unwrap_err(), TokenError::WrongTokenUse);
    assert_eq!(f.id(&access).await.unwrap_err(), TokenError::WrongTokenUse);

    let access_only = Fixture::with_bearer(vec![TokenUse::Access], vec![CLIENT.into()]).await;
    assert_eq!(
        access_only.verifier.verify_bearer(&id).await,
        Err(TokenError::WrongTokenUse)
    );
    assert!(access_only.verifier.verify_bearer(&access).await.is_ok());

    let id_only = Fixture::with_bearer(vec![TokenUse::Id], vec![CLIENT.into()]).await;
    assert_eq!(
        id_only.verifier.verify_bearer(&access).await,
        Err(TokenError::WrongTokenUse)
    );
    let who = id_only.verifier.verify_bearer(&id).await.unwrap();
    assert_eq!(
        (who.token_use, who.client_id.as_str()),
        (TokenUse::Id, CLIENT)
    );

    // A refresh-style or absent token_use never picks a preset.
    let odd = access_key().token(&with(access_claims(), |c| {
        c.insert("token_use".into(), json!("refresh"));
    }));
    assert_eq!(
        f.verifier.verify_bearer(&odd).await,
        Err(TokenError::WrongTokenUse)
    );
}

#[tokio::test]
async fn expiry_is_enforced_with_a_small_leeway() {
    let f = Fixture::start().await;
    let expired = id_key().token(&with(id_claims(), |c| {
        c.insert("exp".into(), json!(now() - 120));
    }));
    assert_eq!(f.id(&expired).await, Err(TokenError::Expired));
    let within_leeway = id_key().token(&with(id_claims(), |c| {
        c.insert("exp".into(), json!(now() - 5));
    }));
    assert!(f.id(&within_leeway).await.is_ok());
    let no_exp = id_key().token(&with(id_claims(), |c| {
        c.remove("exp");
    }));
    assert_eq!(f.id(&no_exp).await, Err(TokenError::MissingClaim("exp")));
    let string_exp = id_key().token(&with(id_claims(), |c| {
        c.insert("exp".into(), json!("9999999999"));
    }));
    assert!(matches!(
        f.id(&string_exp).await,
        Err(TokenError::Malformed(_))
    ));
    let future = id_key().token(&with(id_claims(), |c| {
        c.insert("nbf".into(), json!(now() + 600));
    }));
    assert_eq!(f.id(&future).await, Err(TokenError::NotYetValid));
    let no_sub = access_key().token(&with(access_claims(), |c| {
        c.remove("sub");
    }));
    assert_eq!(
        f.access(&no_sub).await,
        Err(TokenError::MissingClaim("sub"))
    );
}

#[tokio::test]
async fn unknown_keys_and_tampering_are_refused() {
    let f = Fixture::start().await;
    let foreign = test_key(3).token(&id_claims());
    assert_eq!(f.id(&foreign).await, Err(TokenError::UnknownKey));

    // Key 3's signature under key 0's kid.
    let impostor = test_key(3).sign(&json!({"alg": "RS256", "kid": id_key().kid}), &id_claims());
    assert_eq!(f.id(&impostor).await, Err(TokenError::BadSignature));

    let genuine = id_key().token(&id_claims());
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let forged = b64url(
        with(id_claims(), |c| {
            c.insert("cognito:groups".into(), json!(["admins", "root"]));
        })
        .to_string()
        .as_bytes(),
    );
    parts[1] = &forged;
    assert_eq!(f.id(&parts.join(".")).await, Err(TokenError::BadSignature));

    let mut flipped = genuine.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(f.id(&flipped).await, Err(TokenError::BadSignature));
}

#[tokio::test]
async fn tokens_without_exactly_three_parts_are_malformed() {
    let f = Fixture::start().await;
    let genuine = id_key().token(&id_claims());
    let parts: Vec<&str> = genuine.split('.').collect();
    for token in [
        format!("{genuine}.{}", parts[2]),
        format!("{}.{}", parts[0], parts[1]),
        format!("{genuine}."),
        format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], parts[2], parts[1], parts[2]
        ),
        format!("{genuine}="),
        format!("Bearer {genuine}"),
        String::new(),
    ] {
        assert!(
            matches!(f.id(&token).await, Err(TokenError::Malformed(_))),
            "{token:.20}"
        );
        assert!(matches!(
            f.verifier.verify_bearer(&token).await,
            Err(TokenError::Malformed(_))
        ));
    }
    assert_eq!(f.verifier.signature_checks(), 0);
}

#[tokio::test]
async fn signed_claims_must_be_a_json_object() {
    let f = Fixture::start().await;
    let array = id_key().token(&json!([ISSUER, "sub", now() + 60, null, "id", CLIENT]));
    assert!(matches!(f.id(&array).await, Err(TokenError::Malformed(_))));
    let string = id_key().token(&json!("claims"));
    assert!(matches!(f.id(&string).await, Err(TokenError::Malformed(_))));
}

#[tokio::test]
async fn the_callback_nonce_must_match() {
    let f = Fixture::start().await;
    let token = id_key().token(&id_claims());
    assert!(f
        .verifier
        .verify_id_token(&token, Some("Tq1Lm0pZx"))
        .await
        .is_ok());
    assert_eq!(
        f.verifier.verify_id_token(&token, Some("other")).await,
        Err(TokenError::NonceMismatch)
    );
    let without = id_key().token(&with(id_claims(), |c| {
        c.remove("nonce");
    }));
    assert_eq!(
        f.verifier
            .verify_id_token(&without, Some("Tq1Lm0pZx"))
            .await,
        Err(TokenError::NonceMismatch)
    );
}

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
async fn error_messages_never_contain_the_token() {
    let f = Fixture::start().await;
    let cases = [
        id_key().token(&with(id_claims(), |c| {
            c.insert("exp".into(), json!(1));
        })),
        id_key().token(&with(id_claims(), |c| {
            c.insert("aud".into(), json!("x"));
        })),
        test_key(3).token(&id_claims()),
        hs256_token(b"k", &json!({"alg": "HS256", "kid": "k"}), &id_claims()),
    ];
    for token in cases {
        let error = f.id(&token).await.unwrap_err();
        let text = format!("{error} {error:?}");
        for part in token.split('.') {
            assert!(!text.contains(part), "{text}");
        }
    }
}

#[test]
fn settings_default_the_bearer_clients_to_the_app_client() {
    let yaml = r#"
upstream: http://127.0.0.1:8080
public_url: https://app.example.com
cognito:
  region: us-east-1
  user_pool_id: us-east-1_Ab12Cd34E
  client_id: app-client
  domain: https://acme.auth.us-east-1.amazoncognito.com
session:
  secret: c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=
"#;
    let config = crate::config::load_from_str(yaml, std::iter::empty()).unwrap();
    let settings = VerifierSettings::from_config(&config.cognito, &config.bearer);
    assert_eq!(settings.issuer, ISSUER);
    assert_eq!(settings.bearer_client_ids, ["app-client"]);
    assert_eq!(settings.bearer_token_uses, [TokenUse::Access, TokenUse::Id]);
    assert_eq!(settings.leeway, Duration::from_secs(30));
}

#[test]
fn cache_entries_live_until_exp() {
    assert_eq!(remaining_lifetime(100, 40), Duration::from_secs(60));
    assert_eq!(remaining_lifetime(100, 100), Duration::ZERO);
    assert_eq!(remaining_lifetime(100, 500), Duration::ZERO);
}
