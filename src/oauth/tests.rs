//! The OAuth client against a loopback stub of Cognito's token and revoke endpoints that
//! checks what it receives: client authentication, PKCE and redirect parameters, and how
//! each kind of answer is classified.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use serde_json::json;

use super::*;
use crate::idp_stub::{Recorded, Reply, StubServer};

const SECRET: &str = "s3cr+t/=&:x y";
const REDIRECT: &str = "https://app.example.com/oauth2/callback";

fn config(domain: &str, secret: Option<&str>) -> CognitoConfig {
    let mut value = json!({
        "region": "us-east-1",
        "user_pool_id": "us-east-1_Ab12Cd34E",
        "client_id": "app-client",
        "domain": domain,
        "scopes": ["openid", "email", "orders-api/read"],
    });
    if let Some(secret) = secret {
        value["client_secret"] = json!(secret);
    }
    serde_json::from_value(value).unwrap()
}

fn client(domain: &str, secret: Option<&str>, timeout: Duration) -> CognitoClient {
    crate::install_crypto_provider();
    let http = idp_http::client(timeout).unwrap();
    CognitoClient::new(&config(domain, secret), REDIRECT, http)
}

async fn stub(reply: Reply) -> StubServer {
    StubServer::start(move |_| reply.clone()).await
}

fn tokens(refresh: Option<&str>) -> Reply {
    let mut body = json!({"id_token": "id.jwt.x", "access_token": "access.jwt.x", "expires_in": 3600, "token_type": "Bearer"});
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    Reply::json(200, &body)
}

fn only_request(server: &StubServer) -> Recorded {
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    requests.into_iter().next().unwrap()
}

fn form(request: &Recorded) -> HashMap<String, String> {
    request.form().into_iter().collect()
}

fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn a_confidential_client_authenticates_with_basic() {
    let server = stub(tokens(Some("refresh-1"))).await;
    let cognito = client(&server.base(), Some(SECRET), Duration::from_secs(2));
    let set = cognito.exchange_code("code-1", "verifier-1").await.unwrap();
    assert_eq!(set.id_token.as_deref(), Some("id.jwt.x"));
    assert_eq!(set.access_token, "access.jwt.x");
    assert_eq!(set.refresh_token.as_deref(), Some("refresh-1"));
    assert_eq!(set.expires_in, 3600);

    let request = only_request(&server);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/oauth2/token")
    );
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let basic = request.header("authorization").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.strip_prefix("Basic ").unwrap())
        .unwrap();
    // RFC 6749 §2.3.1: each part form-urlencoded before base64.
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "app-client:s3cr%2Bt%2F%3D%26%3Ax+y"
    );
    let body = form(&request);
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["code"], "code-1");
    assert_eq!(body["code_verifier"], "verifier-1");
    assert_eq!(body["redirect_uri"], REDIRECT);
    assert!(!body.contains_key("client_id") && !body.contains_key("client_secret"));
}

#[tokio::test]
async fn a_public_client_sends_its_id_in_the_body() {
    let server = stub(tokens(Some("r"))).await;
    let cognito = client(&server.base(), None, Duration::from_secs(2));
    cognito.exchange_code("code-2", "verifier-2").await.unwrap();
    let request = only_request(&server);
    assert!(request.header("authorization").is_none());
    let body = form(&request);
    assert_eq!(body["client_id"], "app-client");
    assert_eq!(body["code_verifier"], "verifier-2");
    assert_eq!(body["redirect_uri"], REDIRECT);
}

#[tokio::test]
async fn refresh_with_and_without_rotation() {
    let server = stub(tokens(None)).await;
    let cognito = client(&server.base(), Some(SECRET), Duration::from_secs(2));
    let kept = cognito.refresh("refresh-old").await.unwrap();
    assert_eq!(
        kept.refresh_token, None,
        "no rotation: keep the old refresh token"
    );
    let body = form(&only_request(&server));
    assert_eq!(body["grant_type"], "refresh_token");
    assert_eq!(body["refresh_token"], "refresh-old");

    let rotating = stub(tokens(Some("refresh-new"))).await;
    let cognito = client(&rotating.base(), None, Duration::from_secs(2));
    let rotated = cognito.refresh("refresh-old").await.unwrap();
    assert_eq!(rotated.refresh_token.as_deref(), Some("refresh-new"));
    assert_eq!(form(&only_request(&rotating))["client_id"], "app-client");
}

#[tokio::test]
async fn invalid_grant_is_a_rejection() {
    let server = stub(Reply::json(400, &json!({"error": "invalid_grant"}))).await;
    let cognito = client(&server.base(), Some(SECRET), Duration::from_secs(2));
    assert_eq!(
        cognito.refresh("revoked").await,
        Err(OAuthError::Rejected {
            error: "invalid_grant".into()
        })
    );
    assert_eq!(
        cognito.exchange_code("used", "v").await,
        Err(OAuthError::Rejected {
            error: "invalid_grant".into()
        })
    );
}

#[tokio::test]
async fn server_errors_closed_ports_and_slow_servers_are_unavailability() {
    let failing = stub(Reply::text(500, "boom")).await;
    let cognito = client(&failing.base(), Some(SECRET), Duration::from_secs(2));
    assert!(matches!(
        cognito.exchange_code("c", "v").await,
        Err(OAuthError::Unavailable { .. })
    ));

    let closed = stub(Reply::text(200, "")).await;
    let base = closed.base();
    closed.stop().await;
    let cognito = client(&base, Some(SECRET), Duration::from_secs(2));
    assert!(matches!(
        cognito.refresh("r").await,
        Err(OAuthError::Unavailable { .. })
    ));

    let slow = stub(tokens(None).delayed(Duration::from_secs(3))).await;
    let cognito = client(&slow.base(), Some(SECRET), Duration::from_millis(300));
    let started = std::time::Instant::now();
    let error = cognito.refresh("r").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        error,
        OAuthError::Unavailable {
            reason: "the request timed out".into()
        }
    );

    let redirecting = stub(Reply::text(302, "")).await;
    let cognito = client(&redirecting.base(), Some(SECRET), Duration::from_secs(2));
    assert!(matches!(
        cognito.revoke("r").await,
        Err(OAuthError::Unavailable { .. })
    ));

    let huge = stub(Reply::text(200, &"x".repeat(MAX_RESPONSE_BYTES + 1))).await;
    let cognito = client(&huge.base(), Some(SECRET), Duration::from_secs(2));
    assert!(matches!(
        cognito.refresh("r").await,
        Err(OAuthError::Unavailable { .. })
    ));
}

#[tokio::test]
async fn revoke_posts_the_token_with_client_auth() {
    let server = stub(Reply::text(200, "")).await;
    let cognito = client(&server.base(), Some(SECRET), Duration::from_secs(2));
    cognito.revoke("refresh-1").await.unwrap();
    let request = only_request(&server);
    assert_eq!(request.path, "/oauth2/revoke");
    assert!(request
        .header("authorization")
        .unwrap()
        .starts_with("Basic "));
    let body = form(&request);
    assert_eq!(body.get("token").map(String::as_str), Some("refresh-1"));
    assert_eq!(body.len(), 1);

    let public = stub(Reply::json(
        400,
        &json!({"error": "unsupported_token_type"}),
    ))
    .await;
    let cognito = client(&public.base(), None, Duration::from_secs(2));
    assert_eq!(
        cognito.revoke("access-token").await,
        Err(OAuthError::Rejected {
            error: "unsupported_token_type".into()
        })
    );
    assert_eq!(form(&only_request(&public))["client_id"], "app-client");
}

#[test]
fn the_authorize_url_carries_every_parameter() {
    let cognito = client(
        "https://acme.auth.us-east-1.amazoncognito.com",
        None,
        Duration::from_secs(2),
    );
    let secrets = new_sign_in();
    let url = cognito.authorize_url(&secrets.state, &secrets.nonce, &secrets.pkce_challenge);
    assert!(url.starts_with("https://acme.auth.us-east-1.amazoncognito.com/oauth2/authorize?"));
    let params = query(&url);
    assert_eq!(params.len(), 8);
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "app-client");
    assert_eq!(params["redirect_uri"], REDIRECT);
    assert_eq!(params["scope"], "openid email orders-api/read");
    assert_eq!(params["state"], secrets.state);
    assert_eq!(params["nonce"], secrets.nonce);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(
        params["code_challenge"],
        pkce_challenge(&secrets.pkce_verifier)
    );
    assert!(
        !url.contains(&secrets.pkce_verifier),
        "the verifier never leaves the sidecar"
    );
}

#[test]
fn parameters_are_percent_encoded() {
    let cognito = client("http://127.0.0.1:4181/", None, Duration::from_secs(2));
    let url = cognito.authorize_url("a&b=c", "n #?", "ch");
    assert!(url.starts_with("http://127.0.0.1:4181/oauth2/authorize?"));
    let params = query(&url);
    assert_eq!(
        (params["state"].as_str(), params["nonce"].as_str()),
        ("a&b=c", "n #?")
    );
    assert!(!url.contains(' ') && !url.contains('#'));
}

#[test]
fn the_logout_url_is_cognitos_own_shape() {
    let cognito = client("https://auth.acme.example", None, Duration::from_secs(2));
    let url = cognito.logout_url("https://app.example.com/signed-out?x=1");
    assert!(url.starts_with("https://auth.acme.example/logout?"));
    let params = query(&url);
    assert_eq!(params.len(), 2);
    assert_eq!(params["client_id"], "app-client");
    assert_eq!(
        params["logout_uri"],
        "https://app.example.com/signed-out?x=1"
    );
}

#[test]
fn endpoints_keep_a_base_path_and_drop_a_query() {
    let base = Url::parse("https://idp.example/cognito/?x=1#f").unwrap();
    assert_eq!(
        endpoint(&base, &["oauth2", "token"]).as_str(),
        "https://idp.example/cognito/oauth2/token"
    );
    let bare = Url::parse("https://idp.example").unwrap();
    assert_eq!(
        endpoint(&bare, &["logout"]).as_str(),
        "https://idp.example/logout"
    );
}

#[test]
fn debug_never_shows_the_client_secret() {
    let cognito = client("https://idp.example", Some(SECRET), Duration::from_secs(2));
    let shown = format!("{cognito:?}");
    assert!(
        !shown.contains("s3cr") && !shown.contains("Basic"),
        "{shown}"
    );
}
