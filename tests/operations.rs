//! Operations through the real binary: Prometheus metrics on their own listener, and
//! hot reload on SIGHUP (rules, secrets) without dropping connections.

mod common;

use std::time::Duration;

use common::idp::{sidecar_config, Browser, Emulator};
use common::upstream;
use common::{free_port, Sidecar};
use reqwest::StatusCode;

fn counter(text: &str, series: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(0)
}

/// One request on an existing keep-alive connection; returns the status.
fn keep_alive_get(stream: &mut std::net::TcpStream, path: &str, cookie: &str) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nCookie: {cookie}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

async fn scrape(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_outcomes_on_their_own_listener() {
    let up = upstream::start().await;
    let port = free_port();
    let metrics_port = free_port();
    let idp = Emulator::start(port, "");
    let extra = format!(
        "metrics_listen: 127.0.0.1:{metrics_port}\naccess:\n  public_paths: [/public/*]\n  rules:\n    - {{path: /admin/*, groups: [admins]}}\n"
    );
    let _sc = Sidecar::start(&sidecar_config(port, &up.url(), &idp, &extra), port);
    common::wait_ready(port).await;

    let before = scrape(metrics_port).await;
    let bob = Browser::new(port);
    assert_eq!(bob.sign_in("/", "bob").await.status(), 200);
    assert_eq!(
        bob.navigate(&bob.app("/admin/")).await.status(),
        StatusCode::FORBIDDEN
    );
    let anon = common::client()
        .get(format!("http://127.0.0.1:{port}/api"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bob.navigate(&bob.app("/public/x")).await.status(), 200);
    let after = scrape(metrics_port).await;

    let delta = |series: &str| counter(&after, series) - counter(&before, series);
    assert_eq!(
        delta("cognito_sidecar_signins_total{result=\"ok\",reason=\"ok\"}"),
        1,
        "{after}"
    );
    assert_eq!(
        delta("cognito_sidecar_requests_total{outcome=\"forbidden\"}"),
        1
    );
    assert_eq!(
        delta("cognito_sidecar_requests_total{outcome=\"unauthenticated\"}"),
        1
    );
    // The page after sign-in, and the public page.
    assert_eq!(
        delta("cognito_sidecar_requests_total{outcome=\"proxied\"}"),
        2
    );
    assert_eq!(
        delta("cognito_sidecar_requests_total{outcome=\"redirect_signin\"}"),
        1
    );
    assert!(counter(&after, "cognito_sidecar_jwks_fetches_total{result=\"ok\"}") >= 1);
    assert!(after.contains("cognito_sidecar_request_duration_seconds_bucket"));
    assert!(after.contains("cognito_sidecar_upstream_duration_seconds_count"));
    assert!(after.contains("cognito_sidecar_active_connections"));
    assert!(after.contains("cognito_sidecar_build_info{version=\""));
    // Never on the public listener: /metrics there is just another protected path.
    let public = common::client()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_new_rules_and_rejects_invalid_configs() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let open = sidecar_config(port, &up.url(), &idp, "access:\n  rules: []\n");
    let sc = Sidecar::start(&open, port);
    common::wait_ready(port).await;
    // One browser: reqwest keeps its keep-alive connection across the reload.
    let bob = Browser::new(port);
    assert_eq!(bob.sign_in("/", "bob").await.status(), 200);
    assert_eq!(
        bob.navigate(&bob.app("/admin/")).await.status(),
        StatusCode::OK
    );

    // A raw keep-alive connection opened before the reload must survive it.
    let cookie = format!(
        "_cognito_sidecar={}",
        bob.cookie("_cognito_sidecar").unwrap()
    );
    let mut held = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(keep_alive_get(&mut held, "/admin/", &cookie), 200);

    let locked = open.replace(
        "  rules: []\n",
        "  rules:\n    - {path: /admin/*, groups: [admins]}\n",
    );
    std::fs::write(&sc.config, locked).unwrap();
    sc.proc.sighup();
    let started = std::time::Instant::now();
    loop {
        if bob.navigate(&bob.app("/admin/")).await.status() == StatusCode::FORBIDDEN {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "reload never applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sc.proc.logs().contains("configuration reloaded"));
    assert_eq!(
        keep_alive_get(&mut held, "/admin/", &cookie),
        403,
        "same connection, new rules"
    );

    // An invalid file is rejected; the running rules stay.
    std::fs::write(&sc.config, "listen: [not valid\n").unwrap();
    sc.proc.sighup();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        bob.navigate(&bob.app("/admin/")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(bob.navigate(&bob.app("/")).await.status(), StatusCode::OK);
    assert!(sc.proc.logs().contains("config reload rejected"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_session_key_rotation_reseals_old_cookies() {
    const OLD: &str = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const NEW: &str = "bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ=";
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let base = sidecar_config(port, &up.url(), &idp, "");
    let sc = Sidecar::start(&base, port);
    common::wait_ready(port).await;
    let alice = Browser::new(port);
    assert_eq!(alice.sign_in("/", "alice").await.status(), 200);
    let old_cookie = alice.cookie("_cognito_sidecar").unwrap();

    std::fs::write(
        &sc.config,
        base.replace(
            &format!("  secret: {OLD}\n"),
            &format!("  secrets: [{NEW}, {OLD}]\n"),
        ),
    )
    .unwrap();
    sc.proc.sighup();
    let started = std::time::Instant::now();
    loop {
        let resp = alice.navigate(&alice.app("/")).await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "old cookies keep working during rotation"
        );
        if alice.cookie("_cognito_sidecar").unwrap() != old_cookie {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "cookie never re-sealed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Finally drop the old secret: the re-sealed cookie still opens.
    std::fs::write(&sc.config, base.replace(OLD, NEW)).unwrap();
    sc.proc.sighup();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        alice.navigate(&alice.app("/")).await.status(),
        StatusCode::OK
    );
}
