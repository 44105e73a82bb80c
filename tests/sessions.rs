//! Session cookies through the real binary: tampering and chunk abuse, refresh (shared by
//! concurrent requests), refresh failure, group changes, IdP key rotation, session-key
//! rotation, readiness waiting for the signing keys, WebSockets with a session.

mod common;

use std::time::Duration;

use common::idp::{sidecar_config, Browser, Emulator, CLIENT};
use common::upstream::{self, echoed_headers, header};
use common::{free_port, Sidecar};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

struct Stack {
    idp: Emulator,
    sidecar: Sidecar,
    up: upstream::Upstream,
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
        sidecar,
        up,
        port,
    }
}

/// A request with exactly this `Cookie` header (no jar).
async fn with_cookie(port: u16, cookie: &str, accept: &str) -> reqwest::Response {
    common::client()
        .get(format!("http://127.0.0.1:{port}/page"))
        .header("cookie", cookie)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

fn clears_session(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("_cognito_sidecar") && c.contains("Max-Age=0"))
}

async fn short_tokens(idp: &Emulator) {
    idp.hook(
        "token-lifetimes",
        serde_json::json!({"client_id": CLIENT, "access_token_validity": "2s", "id_token_validity": "2s"}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_truncated_and_abusive_cookies_mean_no_session() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), 200);
    let good = browser.cookie("_cognito_sidecar").unwrap();
    assert_eq!(
        with_cookie(
            s.port,
            &format!("_cognito_sidecar={good}"),
            "application/json"
        )
        .await
        .status(),
        200
    );

    let mid = good.len() / 2;
    let mut flipped = good.clone().into_bytes();
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let cases = vec![
        format!("_cognito_sidecar={flipped}"),
        format!("_cognito_sidecar={}", &good[..good.len() - 5]),
        format!("_cognito_sidecar={}", &good[..20]),
        "_cognito_sidecar=".to_string(),
        "_cognito_sidecar=v1.".to_string(),
        format!("_cognito_sidecar=v9.{}", &good[3..]),
        format!("_cognito_sidecar={}", "A".repeat(7000)),
        format!("_cognito_sidecar_0={good}; _cognito_sidecar_1=garbage"),
        format!("_cognito_sidecar_1={good}"),
        format!("_cognito_sidecar_99999999999999999999={good}"),
        format!("_cognito_sidecar_-1={good}"),
        format!("_cognito_sidecar=x; _cognito_sidecar={good}"),
        format!("_cognito_sidecar={good}; _cognito_sidecar_0={good}"),
        format!("_cognito_sidecar_csrf_abc={good}"),
        "_cognito_sidecar=%00%01%02; =; ;;; x".to_string(),
    ];
    for cookie in &cases {
        let api = with_cookie(s.port, cookie, "application/json").await;
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED, "{cookie:.60}");
        let nav = with_cookie(s.port, cookie, "text/html").await;
        assert_eq!(nav.status(), StatusCode::FOUND, "{cookie:.60}");
    }
    // A broken session cookie is cleared, not left to fail again on every request.
    assert!(clears_session(
        &with_cookie(s.port, &format!("_cognito_sidecar={flipped}"), "text/html").await
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_refresh_once_for_concurrent_requests() {
    let s = stack("").await;
    short_tokens(&s.idp).await;
    let browser = Browser::new(s.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), 200);
    let before = s.idp.token_requests().await;
    tokio::time::sleep(Duration::from_millis(2600)).await;

    let requests = (0..8).map(|_| {
        let b = browser.clone();
        async move {
            b.http
                .get(b.app("/after-expiry"))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
        }
    });
    let responses = futures_util::future::join_all(requests).await;
    for resp in &responses {
        assert_eq!(resp.status(), StatusCode::OK);
    }
    assert_eq!(
        s.idp.token_requests().await,
        before + 1,
        "one refresh for eight requests"
    );
    assert!(responses.iter().any(|r| r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("_cognito_sidecar="))));

    // The refreshed cookie carries on without a new sign-in.
    let later = browser.navigate(&browser.app("/still-in")).await;
    assert_eq!(later.status(), StatusCode::OK);
    let h = echoed_headers(&later.json().await.unwrap());
    assert_eq!(header(&h, "x-forwarded-user"), Some("alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_failure_ends_the_session_cleanly() {
    let s = stack("").await;
    short_tokens(&s.idp).await;
    let browser = Browser::new(s.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), 200);
    s.idp
        .hook("revoke-user", serde_json::json!({"username": "alice"}))
        .await;
    tokio::time::sleep(Duration::from_millis(2600)).await;

    let api = browser
        .http
        .get(browser.app("/api"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(clears_session(&api));
    // The browser is sent to sign in again, once: no loop through the callback.
    let nav = browser.navigate(&browser.app("/page")).await;
    assert_eq!(nav.status(), StatusCode::FOUND);
    let target = common::idp::location(&nav, nav.url().as_str());
    assert!(target.contains("/oauth2/authorize"), "{target}");
    let login = browser.follow(nav).await;
    assert_eq!(
        login.url().path(),
        "/login",
        "the revoked user must type a password again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_changes_apply_after_refresh() {
    let s = stack("access:\n  rules:\n    - {path: /admin/*, groups: [admins]}\n").await;
    short_tokens(&s.idp).await;
    let browser = Browser::new(s.port);
    assert_eq!(browser.sign_in("/", "bob").await.status(), 200);
    assert_eq!(
        browser
            .navigate(&browser.app("/admin/panel"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    s.idp
        .hook(
            "set-groups",
            serde_json::json!({"username": "bob", "groups": ["admins"]}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let admin = browser.navigate(&browser.app("/admin/panel")).await;
    assert_eq!(admin.status(), StatusCode::OK);
    let h = echoed_headers(&admin.json().await.unwrap());
    assert_eq!(header(&h, "x-forwarded-groups"), Some("admins"));

    s.idp
        .hook(
            "set-groups",
            serde_json::json!({"username": "bob", "groups": []}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(
        browser
            .navigate(&browser.app("/admin/panel"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_key_rotation_is_picked_up() {
    let s = stack("").await;
    let first = Browser::new(s.port);
    assert_eq!(first.sign_in("/", "alice").await.status(), 200);
    s.idp.hook("rotate-keys", serde_json::json!({})).await;
    // Tokens signed with the new kid verify after one JWKS refetch.
    let second = Browser::new(s.port);
    assert_eq!(second.sign_in("/", "bob").await.status(), 200);
    let user_tokens = common::idp::user_tokens(
        &s.idp,
        CLIENT,
        common::idp::SECRET,
        &format!("http://localhost:{}/oauth2/callback", s.port),
        "alice",
    )
    .await;
    let bearer = common::client()
        .get(format!("http://127.0.0.1:{}/x", s.port))
        .bearer_auth(user_tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    // The earlier session keeps working.
    assert_eq!(
        first.navigate(&first.app("/")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_secret_rotation_keeps_old_cookies_and_reseals_them() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    const OLD: &str = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const NEW: &str = "bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ=";
    let browser = Browser::new(port);
    {
        let _old = Sidecar::start(&sidecar_config(port, &up.url(), &idp, ""), port);
        common::wait_ready(port).await;
        assert_eq!(browser.sign_in("/", "alice").await.status(), 200);
    }
    let old_cookie = browser.cookie("_cognito_sidecar").unwrap();

    let rotated = sidecar_config(port, &up.url(), &idp, "").replace(
        &format!("  secret: {OLD}\n"),
        &format!("  secrets: [{NEW}, {OLD}]\n"),
    );
    {
        let _both = Sidecar::start(&rotated, port);
        common::wait_ready(port).await;
        let resp = browser.navigate(&browser.app("/")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resealed = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("_cognito_sidecar="));
        assert!(resealed, "an old-key cookie is re-sealed with the new key");
    }
    let new_cookie = browser.cookie("_cognito_sidecar").unwrap();
    assert_ne!(old_cookie, new_cookie);

    let only_new = sidecar_config(port, &up.url(), &idp, "")
        .replace(&format!("  secret: {OLD}\n"), &format!("  secret: {NEW}\n"));
    let _new = Sidecar::start(&only_new, port);
    common::wait_ready(port).await;
    assert_eq!(
        browser.navigate(&browser.app("/")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        with_cookie(
            port,
            &format!("_cognito_sidecar={old_cookie}"),
            "application/json"
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED,
        "once the old secret is removed, cookies sealed with it stop working"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_waits_for_the_signing_keys() {
    let up = upstream::start().await;
    let port = free_port();
    // The IdP is not running yet: its address is reserved but closed.
    let idp_port = free_port();
    let yaml = common::proxy_config(port, &up.url(), &format!("http://127.0.0.1:{idp_port}"), "")
        .replace("public_paths: [\"/*\"]", "public_paths: [/public/*]");
    let sidecar = Sidecar::start(&yaml, port);
    let ready = |p: u16| async move {
        reqwest::get(format!("http://127.0.0.1:{p}/readyz"))
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready(port).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Public paths are served meanwhile.
    assert_eq!(
        reqwest::get(format!("http://127.0.0.1:{port}/public/x"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let idp = Emulator::start_on(idp_port, port, "");
    common::wait_ready(port).await;
    drop((idp, sidecar));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_with_a_session_and_cross_site_origins_refused() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), 200);
    let cookie = format!(
        "_cognito_sidecar={}",
        browser.cookie("_cognito_sidecar").unwrap()
    );
    let url = format!("ws://127.0.0.1:{}/ws", s.port);

    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut().insert(
        "origin",
        format!("http://localhost:{}", s.port).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("same-origin websocket");
    ws.send(Message::text("ping")).await.unwrap();
    assert_eq!(
        ws.next()
            .await
            .unwrap()
            .unwrap()
            .into_text()
            .unwrap()
            .as_str(),
        "ping"
    );

    let mut evil = url.as_str().into_client_request().unwrap();
    evil.headers_mut().insert("cookie", cookie.parse().unwrap());
    evil.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(
        tokio_tungstenite::connect_async(evil).await.is_err(),
        "cross-site websocket"
    );

    let anonymous = url.as_str().into_client_request().unwrap();
    assert!(
        tokio_tungstenite::connect_async(anonymous).await.is_err(),
        "no session"
    );
    assert!(s.up.hits() > 0);
    drop(s.sidecar);
}
