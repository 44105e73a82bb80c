//! The verifier end to end against a loopback JWKS: real RSA keys and signatures.
//! [`attacks`] covers the token-validation attack classes of peers.md §4; [`keys`]
//! covers key rotation, the rate-limited refetch, the bearer cache and IdP outages.

mod attacks;
mod keys;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::idp_http;
use crate::idp_stub::{jwks_json, test_key, Reply, StubServer};

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
