//! Cognito identity pools end to end through the real binaries: the emulator serves the
//! `cognito-identity` API, the sidecar turns sessions (and guests) into temporary AWS
//! credentials at `/oauth2/aws-credentials` and, when asked, forwards them upstream.

mod common;

use std::time::Duration;

use common::idp::{sidecar_config, user_tokens, Browser, Emulator, CLIENT, SECRET};
use common::upstream::{self, echoed_headers, header};
use common::{free_port, Sidecar};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Allows guests.
const OPEN_POOL: &str = "us-east-1:aaaaaaaa-0000-4000-8000-000000000001";
/// Signed-in users only.
const USERS_POOL: &str = "us-east-1:bbbbbbbb-0000-4000-8000-000000000002";
/// Accepts ID tokens of `other-client` only, so the sidecar's are refused.
const OTHER_CLIENT_POOL: &str = "us-east-1:cccccccc-0000-4000-8000-000000000003";

const POOLS: &str = r#"identity_pools:
  - id: us-east-1:aaaaaaaa-0000-4000-8000-000000000001
    allow_unauthenticated: true
  - id: us-east-1:bbbbbbbb-0000-4000-8000-000000000002
  - id: us-east-1:cccccccc-0000-4000-8000-000000000003
    client_ids: [other-client]
"#;

struct Stack {
    idp: Emulator,
    sidecar: Sidecar,
    upstream: upstream::Upstream,
    port: u16,
}

/// An emulator with [`POOLS`], and a sidecar using `pool` with `pool_extra` keys.
async fn stack(pool: &str, pool_extra: &str, sidecar_extra: &str) -> Stack {
    let upstream = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start_with(port, "", POOLS);
    let sidecar = start_sidecar(port, &upstream, &idp, pool, pool_extra, sidecar_extra).await;
    Stack {
        idp,
        sidecar,
        upstream,
        port,
    }
}

async fn start_sidecar(
    port: u16,
    upstream: &upstream::Upstream,
    idp: &Emulator,
    pool: &str,
    pool_extra: &str,
    sidecar_extra: &str,
) -> Sidecar {
    let extra = format!(
        "access:\n  public_paths: [/public/*]\nidentity_pool:\n  id: {pool}\n  endpoint: {}\n{pool_extra}{sidecar_extra}",
        idp.url()
    );
    let sidecar = Sidecar::start(&sidecar_config(port, &upstream.url(), idp, &extra), port);
    common::wait_ready(port).await;
    sidecar
}

async fn stat(idp: &Emulator, name: &str) -> u64 {
    idp.stats().await[name].as_u64().unwrap_or(0)
}

/// `GET /oauth2/aws-credentials` on the sidecar at `origin`.
async fn credentials(http: &reqwest::Client, origin: &str) -> reqwest::Response {
    http.get(format!("{origin}/oauth2/aws-credentials"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

fn sets_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// Checks the JSON shape and returns it.
async fn well_formed(resp: reqwest::Response, authenticated: bool) -> Value {
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["authenticated"], authenticated, "{body}");
    assert!(body["identity_id"]
        .as_str()
        .unwrap()
        .starts_with("us-east-1:"));
    let key = body["access_key_id"].as_str().unwrap();
    assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    assert_eq!(body["secret_access_key"].as_str().unwrap().len(), 40);
    assert!(body["session_token"].as_str().unwrap().len() > 100);
    let expiration = body["expiration"].as_str().unwrap();
    let expires = humantime::parse_rfc3339(expiration).unwrap();
    let left = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(left > Duration::from_secs(3000), "{expiration}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_users_get_their_own_credentials_from_one_fetch_then_the_cache() {
    let s = stack(USERS_POOL, "", "").await;
    let alice = Browser::new(s.port);
    assert_eq!(alice.sign_in("/", "alice").await.status(), 200);
    let tokens_before = s.idp.token_requests().await;

    // First call: the session keeps no ID token, so the sidecar refreshes for one
    // (re-issuing the session cookie) and calls GetId + GetCredentialsForIdentity.
    let first = credentials(&alice.http, &alice.app("")).await;
    assert!(sets_cookie(&first, "_cognito_sidecar").is_some());
    let first = well_formed(first, true).await;
    assert_eq!(stat(&s.idp, "identity_requests").await, 2);
    assert_eq!(s.idp.token_requests().await, tokens_before + 1);

    // Again: the same credentials from the cache, no call to Cognito at all.
    let again = well_formed(credentials(&alice.http, &alice.app("")).await, true).await;
    assert_eq!(again, first);
    assert_eq!(stat(&s.idp, "identity_requests").await, 2);
    assert_eq!(s.idp.token_requests().await, tokens_before + 1);

    // Concurrent first calls of another user share one refresh and one fetch.
    let bob = Browser::new(s.port);
    assert_eq!(bob.sign_in("/", "bob").await.status(), 200);
    let tokens_before = s.idp.token_requests().await;
    let calls = (0..6).map(|_| {
        let (http, origin) = (bob.http.clone(), bob.app(""));
        async move {
            credentials(&http, &origin)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_ne!(answers[0]["identity_id"], first["identity_id"]);
    assert_eq!(stat(&s.idp, "identity_requests").await, 4);
    assert_eq!(s.idp.token_requests().await, tokens_before + 1);

    // A page on another site may not ask for them.
    let cross = alice
        .http
        .get(alice.app("/oauth2/aws-credentials"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    // Secrets never reach the logs.
    let logs = s.sidecar.proc.logs();
    for secret in ["secret_access_key", "session_token"] {
        let value = first[secret].as_str().unwrap();
        assert!(!logs.contains(value), "{secret} leaked into the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeping_its_id_token_needs_no_refresh() {
    let s = stack(USERS_POOL, "", "headers:\n  authorization: id\n").await;
    let alice = Browser::new(s.port);
    assert_eq!(alice.sign_in("/", "alice").await.status(), 200);
    let tokens_before = s.idp.token_requests().await;
    well_formed(credentials(&alice.http, &alice.app("")).await, true).await;
    assert_eq!(s.idp.token_requests().await, tokens_before);
    assert_eq!(stat(&s.idp, "identity_requests").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_id_token_expired_refreshes_once_and_gets_credentials() {
    let s = stack(USERS_POOL, "", "").await;
    s.idp
        .hook(
            "token-lifetimes",
            json!({"client_id": CLIENT, "access_token_validity": "2s", "id_token_validity": "2s"}),
        )
        .await;
    let alice = Browser::new(s.port);
    assert_eq!(alice.sign_in("/", "alice").await.status(), 200);
    let tokens_before = s.idp.token_requests().await;
    tokio::time::sleep(Duration::from_millis(2600)).await;

    // The expired session is refreshed while authenticating; the credentials call
    // takes the ID token from that same refresh instead of spending the token twice.
    let resp = credentials(&alice.http, &alice.app("")).await;
    assert!(sets_cookie(&resp, "_cognito_sidecar").is_some());
    well_formed(resp, true).await;
    assert_eq!(s.idp.token_requests().await, tokens_before + 1);
    let page = alice
        .http
        .get(alice.app("/after"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_get_stable_guest_credentials_when_allowed() {
    let s = stack(OPEN_POOL, "  allow_unauthenticated: true\n", "").await;
    let guest = Browser::new(s.port);
    let first = credentials(&guest.http, &guest.app("")).await;
    let cookie = sets_cookie(&first, "_cognito_sidecar_guest").expect("guest cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let first = well_formed(first, false).await;
    assert!(
        !cookie.contains(first["identity_id"].as_str().unwrap()),
        "sealed: {cookie}"
    );
    assert_eq!(stat(&s.idp, "identity_requests").await, 2);

    // The guest cookie keeps the identity; the cache serves the credentials.
    let again = credentials(&guest.http, &guest.app("")).await;
    assert!(sets_cookie(&again, "_cognito_sidecar_guest").is_none());
    assert_eq!(well_formed(again, false).await, first);
    assert_eq!(stat(&s.idp, "identity_requests").await, 2);

    // Another visitor is another guest.
    let other = well_formed(
        credentials(&Browser::new(s.port).http, &guest.app("")).await,
        false,
    )
    .await;
    assert_ne!(other["identity_id"], first["identity_id"]);

    // The guest cookie is the sidecar's own: never forwarded upstream.
    let echoed: Value = guest
        .http
        .get(guest.app("/public/page"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cookies = header(&echoed_headers(&echoed), "cookie")
        .unwrap_or("")
        .to_string();
    assert!(!cookies.contains("_cognito_sidecar_guest"), "{cookies}");

    // Signing in switches to the user's own identity.
    assert_eq!(guest.sign_in("/", "alice").await.status(), 200);
    let user = well_formed(credentials(&guest.http, &guest.app("")).await, true).await;
    assert_ne!(user["identity_id"], first["identity_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_get_401_when_not_allowed_here_or_at_the_pool() {
    let s = stack(USERS_POOL, "", "").await;
    let resp = credentials(&common::client(), &s.sidecar.url("")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_eq!(stat(&s.idp, "identity_requests").await, 0);

    // Allowed by the sidecar but not by the pool: the pool's refusal is a 401 too.
    let port = free_port();
    let _second = start_sidecar(
        port,
        &s.upstream,
        &s.idp,
        USERS_POOL,
        "  allow_unauthenticated: true\n",
        "",
    )
    .await;
    let resp = credentials(&common::client(), &format!("http://127.0.0.1:{port}")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "not_authorized");
    assert!(
        !body.to_string().contains("Unauthenticated access"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_the_pool_refuses_become_401() {
    let s = stack(OTHER_CLIENT_POOL, "", "").await;
    let alice = Browser::new(s.port);
    assert_eq!(alice.sign_in("/", "alice").await.status(), 200);
    let resp = credentials(&alice.http, &alice.app("")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "not_authorized");
    assert!(
        !body.to_string().contains("audience"),
        "no internals: {body}"
    );
    // The user is still signed in; only AWS refused.
    let page = alice
        .http
        .get(alice.app("/page"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // A forged bearer ID token never gets as far as the pool.
    let before = stat(&s.idp, "identity_requests").await;
    let forged = common::client()
        .get(format!(
            "http://127.0.0.1:{}/oauth2/aws-credentials",
            s.port
        ))
        .bearer_auth("eyJraWQiOiJ4IiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJ4In0.c2ln")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stat(&s.idp, "identity_requests").await, before);
}

/// One raw call of the emulator's `cognito-identity` API.
async fn identity_call(idp: &Emulator, operation: &str, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/", idp.url()))
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("AWSCognitoIdentityService.{operation}"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_refuses_forged_expired_and_access_tokens() {
    let port = free_port();
    let idp = Emulator::start_with(port, "", POOLS);
    let provider = format!("127.0.0.1:{}/us-east-1_LOCAL", idp.port);
    let redirect = format!("http://localhost:{port}/oauth2/callback");
    let tokens = user_tokens(&idp, CLIENT, SECRET, &redirect, "alice").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let get_id =
        |token: &str| json!({"IdentityPoolId": USERS_POOL, "Logins": {provider.as_str(): token}});

    let (status, ok) = identity_call(&idp, "GetId", get_id(id_token)).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    let identity = ok["IdentityId"].as_str().unwrap();
    let (status, creds) = identity_call(
        &idp,
        "GetCredentialsForIdentity",
        json!({"IdentityId": identity, "Logins": {provider.as_str(): id_token}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{creds}");
    assert!(creds["Credentials"]["SecretKey"].is_string());
    assert!(creds["Credentials"]["Expiration"].is_u64());

    // Forged: the payload changed under the signature.
    let mut parts: Vec<String> = id_token.split('.').map(String::from).collect();
    parts[1] = parts[1].chars().rev().collect();
    let forged = parts.join(".");
    let access = tokens["access_token"].as_str().unwrap();
    for (token, why) in [
        (forged.as_str(), "Couldn't verify"),
        (access, "Not a valid OpenId Connect identity token"),
    ] {
        let (status, err) = identity_call(&idp, "GetId", get_id(token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["__type"], "NotAuthorizedException", "{err}");
        assert!(err["message"].as_str().unwrap().contains(why), "{err}");
    }
    // Without a login, a users-only pool refuses; a user's identity needs its login.
    let (_, err) = identity_call(&idp, "GetId", json!({"IdentityPoolId": USERS_POOL})).await;
    assert_eq!(err["__type"], "NotAuthorizedException");
    let (_, err) = identity_call(
        &idp,
        "GetCredentialsForIdentity",
        json!({"IdentityId": identity}),
    )
    .await;
    assert_eq!(err["__type"], "NotAuthorizedException");
    let (_, err) = identity_call(
        &idp,
        "GetId",
        json!({"IdentityPoolId": "us-east-1:00000000-0000-4000-8000-000000000000"}),
    )
    .await;
    assert_eq!(err["__type"], "ResourceNotFoundException");
    let (_, err) = identity_call(
        &idp,
        "GetCredentialsForIdentity",
        json!({"IdentityId": "us-east-1:00000000-0000-4000-8000-000000000000"}),
    )
    .await;
    assert_eq!(err["__type"], "ResourceNotFoundException");
    let (_, err) = identity_call(&idp, "GetOpenIdToken", json!({})).await;
    assert_eq!(err["__type"], "UnknownOperationException");

    // Guests of a pool that allows them: an identity, then credentials without Logins.
    let (status, guest) = identity_call(&idp, "GetId", json!({"IdentityPoolId": OPEN_POOL})).await;
    assert_eq!(status, StatusCode::OK, "{guest}");
    let (status, creds) = identity_call(
        &idp,
        "GetCredentialsForIdentity",
        json!({"IdentityId": guest["IdentityId"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{creds}");
    assert!(creds["Credentials"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("ASIA"));

    // Plain JSON is not the JSON 1.1 protocol.
    let wrong_type = reqwest::Client::new()
        .post(format!("{}/", idp.url()))
        .header("content-type", "application/json")
        .header("x-amz-target", "AWSCognitoIdentityService.GetId")
        .body(json!({"IdentityPoolId": OPEN_POOL}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong_type.json::<Value>().await.unwrap()["__type"],
        "SerializationException"
    );

    // Expired: tokens that lived one second, a moment later.
    idp.hook(
        "token-lifetimes",
        json!({"client_id": CLIENT, "id_token_validity": "1s"}),
    )
    .await;
    let short = user_tokens(&idp, CLIENT, SECRET, &redirect, "bob").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, err) =
        identity_call(&idp, "GetId", get_id(short["id_token"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["__type"], "NotAuthorizedException");
    assert!(
        err["message"].as_str().unwrap().contains("Token expired"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_credentials_reach_the_upstream_and_spoofed_ones_never_do() {
    let s = stack(USERS_POOL, "  forward_credentials: true\n", "").await;
    let alice = Browser::new(s.port);
    assert_eq!(alice.sign_in("/", "alice").await.status(), 200);
    let spoofed = [
        ("x-aws-access-key-id", "ASIASPOOFEDSPOOFED00"),
        ("X_Aws_Secret_Access_Key", "spoofed"),
        ("x-aws-session-token", "spoofed"),
        ("X-AWS-IDENTITY-ID", "us-east-1:spoofed"),
        ("x_aws_credentials_expiration", "2099-01-01T00:00:00Z"),
    ];
    let send = |path: &str| {
        let mut req = alice
            .http
            .get(alice.app(path))
            .header("accept", "application/json");
        for (name, value) in spoofed {
            req = req.header(name, value);
        }
        req.send()
    };

    let body: Value = send("/app").await.unwrap().json().await.unwrap();
    let seen = echoed_headers(&body);
    let mine = well_formed(credentials(&alice.http, &alice.app("")).await, true).await;
    assert_eq!(
        header(&seen, "x-aws-access-key-id"),
        mine["access_key_id"].as_str()
    );
    assert_eq!(
        header(&seen, "x-aws-secret-access-key"),
        mine["secret_access_key"].as_str()
    );
    assert_eq!(
        header(&seen, "x-aws-session-token"),
        mine["session_token"].as_str()
    );
    assert_eq!(
        header(&seen, "x-aws-identity-id"),
        mine["identity_id"].as_str()
    );
    assert_eq!(
        header(&seen, "x-aws-credentials-expiration"),
        mine["expiration"].as_str()
    );
    for (name, _) in &seen {
        let normal = name.to_ascii_lowercase().replace('_', "-");
        assert!(
            !normal.starts_with("x-aws-") || name.as_str() == normal,
            "a spoofed spelling reached the upstream: {name}"
        );
    }

    // Public paths carry no identity: every x-aws-* header is gone.
    let body: Value = send("/public/x").await.unwrap().json().await.unwrap();
    for (name, value) in echoed_headers(&body) {
        let normal = name.to_ascii_lowercase().replace('_', "-");
        assert!(!normal.starts_with("x-aws-"), "{name}: {value}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_identity_pool_the_endpoint_is_absent() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let _sidecar = Sidecar::start(&sidecar_config(port, &up.url(), &idp, ""), port);
    common::wait_ready(port).await;
    let resp = credentials(&common::client(), &format!("http://127.0.0.1:{port}")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(stat(&idp, "identity_requests").await, 0);
}
