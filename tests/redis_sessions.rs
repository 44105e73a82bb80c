//! Server-side sessions end to end (issue 10), through the real binaries: two sidecar
//! replicas sharing one `redis-server` serve one browser session alternately (refresh
//! included, redeemed once), sign-out on one replica kills the replayed cookie on the
//! other, Redis frozen or stopped means 503 and not-ready (never signed in or out by
//! default) and recovery without restarting the sidecar, the database holds nothing
//! readable, and `sessions revoke --sub` ends every session of a user.
#![cfg(feature = "redis-store")]

mod common;

use std::time::Duration;

use common::idp::{sidecar_config, Browser, Emulator, CLIENT};
use common::redis::RedisServer;
use common::upstream::{self, echoed_headers, header};
use common::{free_port, path_str, Proc, Sidecar};
use reqwest::StatusCode;

const ALICE_SUB: &str = "11111111-1111-4111-8111-111111111111";

struct Stack {
    idp: Emulator,
    redis: RedisServer,
    a: Sidecar,
    b: Sidecar,
    _up: upstream::Upstream,
}

fn redis_extra(redis: &RedisServer) -> String {
    format!(
        "  store: redis\n  redis:\n    url: {}\n    key_prefix: \"e2e:\"\n    command_timeout: 500ms\n    connect_timeout: 500ms\n    lock_timeout: 5s\n",
        redis.url()
    )
}

/// Replica A serves the public URL; replica B has the same config on another port,
/// as two pods behind one load balancer would.
async fn stack() -> Stack {
    let up = upstream::start().await;
    let redis = RedisServer::start();
    let port_a = free_port();
    let port_b = free_port();
    let idp = Emulator::start(port_a, "");
    let config = sidecar_config(port_a, &up.url(), &idp, &redis_extra(&redis));
    let a = Sidecar::start(&config, port_a);
    let b = Sidecar::start(
        &config.replace(
            &format!("listen: 127.0.0.1:{port_a}"),
            &format!("listen: 127.0.0.1:{port_b}"),
        ),
        port_b,
    );
    common::wait_ready(port_a).await;
    common::wait_ready(port_b).await;
    Stack {
        idp,
        redis,
        a,
        b,
        _up: up,
    }
}

/// An API request through `sidecar` with the browser's cookies.
async fn api(browser: &Browser, sidecar: &Sidecar, path: &str) -> reqwest::Response {
    browser
        .http
        .get(format!("http://localhost:{}{path}", sidecar.port))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

/// A request with exactly this `Cookie` header (a replayed cookie, no jar).
async fn replay(sidecar: &Sidecar, cookie: &str) -> reqwest::Response {
    common::client()
        .get(sidecar.url("/replayed"))
        .header("cookie", cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

fn sets_session_cookie(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("_cognito_sidecar"))
}

async fn user_of(resp: reqwest::Response) -> Option<String> {
    let body: serde_json::Value = resp.json().await.unwrap();
    header(&echoed_headers(&body), "x-forwarded-user").map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_serve_one_session_alternately_and_refresh_it_once() {
    let s = stack().await;
    s.idp
        .hook(
            "token-lifetimes",
            serde_json::json!({"client_id": CLIENT, "access_token_validity": "2s", "id_token_validity": "2s"}),
        )
        .await;
    let browser = Browser::new(s.a.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), 200);
    for sidecar in [&s.b, &s.a, &s.b] {
        let resp = api(&browser, sidecar, "/alternate").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(user_of(resp).await.as_deref(), Some("alice"));
    }

    // Tokens expire; requests on both replicas at once: one refresh in all.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let before = s.idp.token_requests().await;
    let requests = (0..8).map(|i| {
        let browser = browser.clone();
        let sidecar = if i % 2 == 0 { &s.a } else { &s.b };
        async move { api(&browser, sidecar, "/after-expiry").await }
    });
    for resp in futures_util::future::join_all(requests).await {
        assert_eq!(resp.status(), StatusCode::OK);
        // The cookie is a ticket that does not change on refresh.
        assert!(!sets_session_cookie(&resp));
    }
    assert_eq!(
        s.idp.token_requests().await,
        before + 1,
        "one refresh token redemption across both replicas"
    );
    // Both replicas now read the refreshed session without redeeming again.
    for sidecar in [&s.a, &s.b] {
        let resp = api(&browser, sidecar, "/later").await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
    assert_eq!(s.idp.token_requests().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_on_one_replica_kills_the_session_on_the_other() {
    let s = stack().await;
    let browser = Browser::new(s.a.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), 200);
    let cookie = format!(
        "_cognito_sidecar={}",
        browser.cookie("_cognito_sidecar").unwrap()
    );
    assert_eq!(replay(&s.a, &cookie).await.status(), StatusCode::OK);
    let revokes = s.idp.stats().await["revoke_requests"].as_u64().unwrap();

    let out = browser
        .http
        .get(format!("http://localhost:{}/oauth2/sign_out", s.b.port))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::FOUND);
    assert_eq!(
        s.idp.stats().await["revoke_requests"].as_u64().unwrap(),
        revokes + 1
    );
    // The copy of the cookie an attacker kept is dead on every replica at once.
    for sidecar in [&s.a, &s.b] {
        let resp = replay(sidecar, &cookie).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(!s.redis.dump().contains(":s:"), "{}", s.redis.dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_closed_and_recovers_without_restart() {
    let mut s = stack().await;
    let browser = Browser::new(s.a.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), 200);

    // Frozen: commands time out. 503, cookie kept, not ready; public paths unaffected.
    s.redis.pause();
    let resp = api(&browser, &s.a, "/during").await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!sets_session_cookie(&resp));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "store_unavailable");
    let page = browser.navigate(&browser.app("/page")).await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!sets_session_cookie(&page));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ready = reqwest::get(s.a.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["session_store"], false);
    let out = api(&browser, &s.b, "/oauth2/sign_out").await;
    assert_eq!(out.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Thawed: the same session carries on, on both replicas.
    s.redis.resume();
    for sidecar in [&s.a, &s.b] {
        let resp = api(&browser, sidecar, "/after").await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    // Stopped: connection refused. Same answers.
    s.redis.stop();
    assert_eq!(
        api(&browser, &s.a, "/down").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        reqwest::get(s.b.url("/readyz")).await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Restarted empty (memory only): ready again without restarting either sidecar;
    // the lost session means a new sign-in, which works.
    s.redis.restart();
    common::wait_ready(s.a.port).await;
    common::wait_ready(s.b.port).await;
    assert_eq!(
        api(&browser, &s.a, "/lost").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = Browser::new(s.a.port);
    assert_eq!(again.sign_in("/", "alice").await.status(), 200);
    assert_eq!(api(&again, &s.b, "/back").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_and_the_cookie_hold_nothing_readable() {
    let s = stack().await;
    let browser = Browser::new(s.a.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), 200);
    let cookie = browser.cookie("_cognito_sidecar").unwrap();
    let dump = s.redis.dump();
    assert!(dump.contains("e2e:s:") && dump.contains("e2e:u:"), "{dump}");
    for readable in [
        "alice",
        "example.com",
        ALICE_SUB,
        "admins",
        "eyJ",
        cookie.as_str(),
    ] {
        assert!(!dump.contains(readable), "`{readable}` in:\n{dump}");
    }
    // The cookie is a sealed ticket, far smaller than a cookie-store session.
    assert!(cookie.len() < 200, "{} bytes", cookie.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_revoke_ends_every_session_of_a_user() {
    let s = stack().await;
    let alice_1 = Browser::new(s.a.port);
    let alice_2 = Browser::new(s.a.port);
    let bob = Browser::new(s.a.port);
    for (browser, user) in [(&alice_1, "alice"), (&alice_2, "alice"), (&bob, "bob")] {
        assert_eq!(browser.sign_in("/", user).await.status(), 200);
    }
    let mut cli = Proc::spawn(
        &[
            "sessions",
            "revoke",
            "--sub",
            ALICE_SUB,
            "-c",
            path_str(&s.a.config),
        ],
        &[],
    );
    assert_eq!(
        cli.wait_exit(Duration::from_secs(20)),
        Some(0),
        "{}",
        cli.logs()
    );
    assert!(
        cli.stdout()
            .contains(&format!("ended 2 session(s) of {ALICE_SUB}")),
        "{}",
        cli.stdout()
    );
    for browser in [&alice_1, &alice_2] {
        for sidecar in [&s.a, &s.b] {
            assert_eq!(
                api(browser, sidecar, "/x").await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
    }
    assert_eq!(api(&bob, &s.b, "/x").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn sessions_revoke_refuses_cookie_store_configs() {
    let config = common::proxy_config(free_port(), "http://127.0.0.1:9", "http://127.0.0.1:9", "");
    let (_dir, path) = common::write_temp("config.yaml", &config);
    let mut cli = Proc::spawn(
        &[
            "sessions",
            "revoke",
            "--sub",
            ALICE_SUB,
            "-c",
            path_str(&path),
        ],
        &[],
    );
    assert_eq!(cli.wait_exit(Duration::from_secs(20)), Some(2));
    assert!(
        cli.logs().contains("needs a server-side store"),
        "{}",
        cli.logs()
    );
}
