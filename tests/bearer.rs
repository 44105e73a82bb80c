//! API clients with `Authorization: Bearer <Cognito JWT>` (SPEC §7; RFC 8725): access
//! tokens of allowed clients and, when enabled, ID tokens are accepted; every forgery is
//! a 401 JSON answer, never a redirect.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::idp::{sidecar_config, user_tokens, Emulator, CLIENT, SECRET};
use common::upstream::{self, echoed_headers, header};
use common::{client, free_port, Sidecar};
use reqwest::StatusCode;

struct Stack {
    idp: Emulator,
    _sidecar: Sidecar,
    _upstream: upstream::Upstream,
    port: u16,
}

async fn stack(extra: &str) -> Stack {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let sidecar = Sidecar::start(&sidecar_config(port, &up.url(), &idp, extra), port);
    common::wait_ready(port).await;
    Stack {
        idp,
        _sidecar: sidecar,
        _upstream: up,
        port,
    }
}

async fn tokens(s: &Stack) -> serde_json::Value {
    let redirect = format!("http://localhost:{}/oauth2/callback", s.port);
    user_tokens(&s.idp, CLIENT, SECRET, &redirect, "alice").await
}

async fn call(port: u16, token: &str, accept: &str) -> reqwest::Response {
    client()
        .get(format!("http://127.0.0.1:{port}/api/orders"))
        .bearer_auth(token)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

async fn assert_rejected(port: u16, token: &str, why: &str) {
    // Even a browser-looking request gets a 401, never a sign-in redirect.
    let resp = call(port, token, "text/html").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{why}");
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
        "{why}"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated", "{why}");
}

fn segments(token: &str) -> (serde_json::Value, serde_json::Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    let decode = |s: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
    (decode(parts[0]), decode(parts[1]), parts[2].to_string())
}

fn encode(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_and_id_tokens_reach_the_upstream_with_identity() {
    let s = stack("").await;
    let t = tokens(&s).await;
    for (kind, token) in [("access", &t["access_token"]), ("id", &t["id_token"])] {
        let resp = call(s.port, token.as_str().unwrap(), "text/html").await;
        assert_eq!(resp.status(), StatusCode::OK, "{kind} token");
        let h = echoed_headers(&resp.json().await.unwrap());
        assert_eq!(header(&h, "x-forwarded-user"), Some("alice"), "{kind}");
        assert_eq!(header(&h, "x-forwarded-groups"), Some("admins"), "{kind}");
        assert_eq!(
            header(&h, "x-forwarded-sub"),
            Some("11111111-1111-4111-8111-111111111111")
        );
    }
    // Repeated calls are served from the verified-token cache; the IdP is not asked.
    let jwks_before = s.idp.stats().await["jwks_requests"].as_u64().unwrap();
    for _ in 0..20 {
        let resp = call(
            s.port,
            t["access_token"].as_str().unwrap(),
            "application/json",
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
    assert_eq!(
        s.idp.stats().await["jwks_requests"].as_u64().unwrap(),
        jwks_before
    );
}

/// The headers the upstream saw for a GET of `path` with `Authorization: authorization`.
async fn seen_with(port: u16, path: &str, authorization: &str) -> Vec<(String, String)> {
    let resp = client()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("authorization", authorization)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path} {authorization}");
    echoed_headers(&resp.json().await.unwrap())
}

/// SPEC §6: tokens go upstream only in a header configured to carry them. The token a
/// bearer client authenticated with is the sidecar's credential, like the session
/// cookie; with `headers.authorization` set, `Authorization` is an identity header and
/// no client copy reaches the app on any path (SPEC §5.1), public ones included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_reach_the_upstream_only_through_a_configured_header() {
    let public = "access:\n  public_paths: [\"/public/*\"]\n";
    let s = stack(public).await;
    let t = tokens(&s).await;
    let access = t["access_token"].as_str().unwrap();
    let bearer = format!("Bearer {access}");
    let h = seen_with(s.port, "/api/orders", &bearer).await;
    assert_eq!(header(&h, "x-forwarded-user"), Some("alice"));
    assert_eq!(
        header(&h, "authorization"),
        None,
        "consumed token not forwarded"
    );
    assert_eq!(header(&h, "x-forwarded-access-token"), None);
    // A request with a body goes through the other upstream client: the same.
    let resp = client()
        .post(format!("http://127.0.0.1:{}/api/orders", s.port))
        .header("authorization", &bearer)
        .header("accept", "application/json")
        .body("{\"order\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = echoed_headers(&resp.json().await.unwrap());
    assert_eq!(header(&h, "x-forwarded-user"), Some("alice"));
    assert_eq!(header(&h, "authorization"), None, "not with a body either");
    // The app's own scheme on a public path is the app's business.
    let h = seen_with(s.port, "/public/x", "Basic YXBwOmtleQ==").await;
    assert_eq!(header(&h, "authorization"), Some("Basic YXBwOmtleQ=="));
    drop(s);

    let s = stack(&format!(
        "{public}headers:\n  authorization: access\n  access_token: true\n"
    ))
    .await;
    let t = tokens(&s).await;
    let access = t["access_token"].as_str().unwrap();
    let h = seen_with(s.port, "/api/orders", &format!("Bearer {access}")).await;
    let forwarded = format!("Bearer {access}");
    assert_eq!(header(&h, "authorization"), Some(forwarded.as_str()));
    assert_eq!(header(&h, "x-forwarded-access-token"), Some(access));
    let count = h.iter().filter(|(n, _)| n == "authorization").count();
    assert_eq!(count, 1, "one Authorization, the sidecar's");
    // A forged token on a public path never poses as one the sidecar verified.
    let h = seen_with(s.port, "/public/x", "Bearer forged.by.client").await;
    assert_eq!(header(&h, "authorization"), None);
    assert_eq!(header(&h, "x-forwarded-user"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_use_and_client_lists_are_enforced() {
    let s = stack("bearer:\n  token_use: [access]\n").await;
    let t = tokens(&s).await;
    assert_eq!(
        call(s.port, t["access_token"].as_str().unwrap(), "*/*")
            .await
            .status(),
        200
    );
    assert_rejected(
        s.port,
        t["id_token"].as_str().unwrap(),
        "ID token where only access tokens are allowed",
    )
    .await;

    // A token of another app client of the same pool.
    let other = user_tokens(
        &s.idp,
        "other-client",
        "other-secret",
        "http://localhost:9/cb",
        "alice",
    )
    .await;
    assert_rejected(
        s.port,
        other["access_token"].as_str().unwrap(),
        "other client's access token",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_client_ids_include_machine_clients() {
    let s = stack("bearer:\n  client_ids: [local-client, other-client]\n").await;
    let cc: serde_json::Value = client()
        .post(format!("{}/oauth2/token", s.idp.url()))
        .basic_auth("other-client", Some("other-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "orders-api/read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = call(
        s.port,
        cc["access_token"].as_str().unwrap(),
        "application/json",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = echoed_headers(&resp.json().await.unwrap());
    assert_eq!(header(&h, "x-forwarded-sub"), Some("other-client"));
    assert_eq!(header(&h, "x-forwarded-user"), Some("other-client"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_are_rejected() {
    let s = stack("").await;
    let t = tokens(&s).await;
    let access = t["access_token"].as_str().unwrap();
    let (header_json, payload, signature) = segments(access);

    // alg: none, with and without a signature.
    let none = serde_json::json!({"alg": "none", "kid": header_json["kid"]});
    assert_rejected(
        s.port,
        &format!("{}.{}.", encode(&none), encode(&payload)),
        "alg none",
    )
    .await;
    assert_rejected(
        s.port,
        &format!("{}.{}.{signature}", encode(&none), encode(&payload)),
        "alg none + sig",
    )
    .await;

    // HS256 "signed" with the public key material (algorithm confusion).
    let jwks: serde_json::Value = reqwest::get(format!(
        "{}/us-east-1_LOCAL/.well-known/jwks.json",
        s.idp.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap();
    let hs = serde_json::json!({"alg": "HS256", "kid": header_json["kid"]});
    let input = format!("{}.{}", encode(&hs), encode(&payload));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, n.as_bytes());
    let mac = URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&key, input.as_bytes()).as_ref());
    assert_rejected(
        s.port,
        &format!("{input}.{mac}"),
        "HS256 with the public key",
    )
    .await;

    // Tampered claims keep the original signature.
    for (claim, value) in [
        ("username", serde_json::json!("admin")),
        ("cognito:groups", serde_json::json!(["admins", "root"])),
        ("exp", serde_json::json!(4_000_000_000u64)),
        (
            "iss",
            serde_json::json!("https://evil.example/us-east-1_LOCAL"),
        ),
        ("client_id", serde_json::json!("other-client")),
        ("token_use", serde_json::json!("id")),
    ] {
        let mut forged = payload.clone();
        forged[claim] = value;
        let token = format!("{}.{}.{signature}", encode(&header_json), encode(&forged));
        assert_rejected(s.port, &token, claim).await;
    }

    // Unknown kid, truncated token, junk.
    let mut unknown = header_json.clone();
    unknown["kid"] = serde_json::json!("bm90LWEta2lk");
    assert_rejected(
        s.port,
        &format!("{}.{}.{signature}", encode(&unknown), encode(&payload)),
        "unknown kid",
    )
    .await;
    assert_rejected(s.port, &access[..access.len() - 10], "truncated").await;
    for junk in ["x", "a.b", "a.b.c.d", "....", &"A".repeat(20_000)] {
        assert_rejected(s.port, junk, "junk").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_another_issuer_and_expired_tokens_are_rejected() {
    let s = stack("").await;
    // Another emulator: same pool id and client id, different issuer URL and keys.
    let stranger = Emulator::start(s.port, "");
    let foreign = user_tokens(
        &stranger,
        CLIENT,
        SECRET,
        &format!("http://localhost:{}/oauth2/callback", s.port),
        "alice",
    )
    .await;
    assert_rejected(
        s.port,
        foreign["access_token"].as_str().unwrap(),
        "other issuer",
    )
    .await;

    s.idp
        .hook(
            "token-lifetimes",
            serde_json::json!({"client_id": CLIENT, "access_token_validity": "1s", "id_token_validity": "1s"}),
        )
        .await;
    let t = tokens(&s).await;
    // Leeway is 30 s at most; wait past it.
    let (_, payload, _) = segments(t["access_token"].as_str().unwrap());
    let exp = payload["exp"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(exp <= now + 1);
    let wait = (exp + 31).saturating_sub(now);
    tokio::time::sleep(std::time::Duration::from_secs(wait + 1)).await;
    assert_rejected(s.port, t["access_token"].as_str().unwrap(), "expired").await;
}
