//! The IdP failing: down, hanging, a failing token endpoint, rotated signing keys.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::common::gate::{Gate, Mode, PathFault};
use crate::common::idp::{
    location, sidecar_config, user_tokens, Browser, Emulator, CLIENT, PASSWORD, SECRET,
};
use crate::common::upstream::{self, echoed_headers, header};
use crate::common::{self, client, free_port, Sidecar};

/// Emulator behind a gate, a sidecar that only knows the gate, an echo upstream.
struct Gated {
    gate: Gate,
    idp: Emulator,
    sidecar: Sidecar,
    _up: upstream::Upstream,
    port: u16,
}

async fn gated(cognito_extra: &str) -> Gated {
    let up = upstream::start().await;
    let port = free_port();
    let gate_port = free_port();
    let idp = Emulator::start_behind(&format!("http://127.0.0.1:{gate_port}"), port);
    let gate = Gate::start(gate_port, &idp.url()).await;
    let yaml = sidecar_config(port, &up.url(), &idp, "")
        .replace(&idp.url(), &gate.url())
        .replace(
            &format!("  client_secret: {SECRET}\n"),
            &format!("  client_secret: {SECRET}\n{cognito_extra}"),
        );
    let sidecar = Sidecar::start(&yaml, port);
    common::wait_ready(port).await;
    Gated {
        gate,
        idp,
        sidecar,
        _up: up,
        port,
    }
}

/// Signs in at the hosted UI up to the point where the browser would open the callback,
/// and returns that callback URL (a fresh code and state).
async fn pending_callback(browser: &Browser, path: &str) -> String {
    let first = browser.navigate(&browser.app(path)).await;
    let login = browser.follow(first).await;
    let login_url = login.url().clone();
    let html = login.text().await.unwrap();
    let csrf = common::form_value(&html, "_csrf").unwrap();
    let posted = browser
        .http
        .post(login_url.as_str())
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "bob"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::FOUND);
    location(&posted, login_url.as_str())
}

async fn get_json(browser: &Browser, path: &str) -> reqwest::Response {
    browser
        .http
        .get(browser.app(path))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

fn clears_session(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("_cognito_sidecar=") && c.contains("Max-Age=0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_down_sessions_continue_sign_in_fails_readably_then_recovers() {
    let mut s = gated("  timeout: 2s\n").await;
    let signed_in = Browser::new(s.port);
    assert_eq!(
        signed_in.sign_in("/", "alice").await.status(),
        StatusCode::OK
    );
    let redirect_uri = format!("http://localhost:{}/oauth2/callback", s.port);
    let bearer = user_tokens(&s.idp, CLIENT, SECRET, &redirect_uri, "alice").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let stranded = Browser::new(s.port);
    let callback = pending_callback(&stranded, "/after-outage").await;

    s.gate.set_mode(Mode::Down).await;
    // Existing sessions and new bearer tokens keep working on the cached keys.
    for _ in 0..20 {
        let t = Instant::now();
        let resp = get_json(&signed_in, "/during-outage").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
    }
    let api = client()
        .get(format!("http://127.0.0.1:{}/api", s.port))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    let ready = reqwest::get(format!("http://127.0.0.1:{}/readyz", s.port))
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        StatusCode::OK,
        "cached keys keep the sidecar ready"
    );

    // Finishing a sign-in needs Cognito: a readable page, quickly.
    let t = Instant::now();
    let failed = stranded.navigate(&callback).await;
    assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let page = failed.text().await.unwrap();
    assert!(
        page.contains("<html") && page.contains("not reachable"),
        "{page}"
    );
    assert!(!page.contains("127.0.0.1"), "leaks the IdP address: {page}");
    assert!(stranded.cookie("_cognito_sidecar").is_none());

    // Back up: the same sidecar signs people in again, no restart.
    s.gate.set_mode(Mode::Pass).await;
    // The hosted UI still has this browser's session: the sign-in completes silently.
    let restart = stranded.navigate(&stranded.app("/after-outage")).await;
    let landed = stranded.follow(restart).await;
    assert_eq!(landed.status(), StatusCode::OK);
    assert_eq!(landed.url().path(), "/after-outage");
    let h = echoed_headers(&landed.json().await.unwrap());
    assert_eq!(header(&h, "x-forwarded-user"), Some("bob"));
    assert!(s.sidecar.proc.child.try_wait().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_hanging_is_bounded_and_requests_do_not_pile_up() {
    let mut s = gated("  timeout: 1s\n").await;
    let signed_in = Browser::new(s.port);
    assert_eq!(
        signed_in.sign_in("/", "alice").await.status(),
        StatusCode::OK
    );
    let mut stranded = Vec::new();
    for i in 0..6 {
        let b = Browser::new(s.port);
        let cb = pending_callback(&b, &format!("/p/{i}")).await;
        stranded.push((b, cb));
    }

    s.gate.set_mode(Mode::Hang).await;
    let burst = Instant::now();
    let callbacks = stranded.iter().map(|(b, cb)| async move {
        let t = Instant::now();
        let resp = b.navigate(cb).await;
        (resp.status(), t.elapsed())
    });
    let sessions = (0..20).map(|_| {
        let b = signed_in.clone();
        async move {
            let t = Instant::now();
            let resp = get_json(&b, "/while-hanging").await;
            (resp.status(), t.elapsed())
        }
    });
    let (callbacks, sessions) = tokio::join!(
        futures_util::future::join_all(callbacks),
        futures_util::future::join_all(sessions)
    );
    let total = burst.elapsed();
    for (status, took) in &sessions {
        assert_eq!(*status, StatusCode::OK);
        assert!(
            *took < Duration::from_millis(800),
            "a session request waited {took:?}"
        );
    }
    for (status, took) in &callbacks {
        assert_eq!(*status, StatusCode::BAD_GATEWAY);
        assert!(
            *took < Duration::from_millis(3000),
            "a callback waited {took:?}"
        );
    }
    assert!(total < Duration::from_secs(4), "the burst took {total:?}");
    // Every connection the sidecar opened to the hung IdP was given up, none left open.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (accepted, open) = s.gate.hung();
    assert!(accepted >= 1, "the sidecar never reached the hung IdP");
    assert_eq!(
        open, 0,
        "{open} of {accepted} connections to the hung IdP still open"
    );
    eprintln!(
        "hung IdP: 6 callbacks → 502 in at most {:?}, 20 session requests in at most {:?}, {accepted} IdP connections, all closed",
        callbacks.iter().map(|c| c.1).max().unwrap(),
        sessions.iter().map(|c| c.1).max().unwrap()
    );

    s.gate.set_mode(Mode::Pass).await;
    let (b, _) = &stranded[0];
    let again = b.follow(b.navigate(&b.app("/back")).await).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.url().path(), "/back");
    assert!(s.sidecar.proc.child.try_wait().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_refresh_endpoint_waits_or_ends_the_session_without_loops() {
    let s = gated("  timeout: 1s\n").await;
    let short = serde_json::json!({"client_id": CLIENT, "access_token_validity": "2s", "id_token_validity": "2s"});
    s.idp.hook("token-lifetimes", short).await;
    let browser = Browser::new(s.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2600)).await;

    // Token endpoint hangs: every request of the session gets a 503 within the IdP
    // timeout, the cookie is kept, and eight concurrent requests cost one refresh.
    s.gate.fail_path("/oauth2/token", PathFault::Hang);
    let before = s.gate.hits("/oauth2/token");
    let t = Instant::now();
    let burst = (0..8).map(|_| {
        let b = browser.clone();
        async move { get_json(&b, "/needs-refresh").await }
    });
    for resp in futures_util::future::join_all(burst).await {
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!clears_session(&resp));
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "idp_unavailable");
    }
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        s.gate.hits("/oauth2/token"),
        before + 1,
        "one refresh for eight requests"
    );

    // Token endpoint answers 500: 503 again, exactly one attempt per request.
    s.gate.clear_faults();
    s.gate.fail_path("/oauth2/token", PathFault::Status(500));
    let before = s.gate.hits("/oauth2/token");
    for _ in 0..3 {
        let resp = get_json(&browser, "/needs-refresh").await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(s.gate.hits("/oauth2/token"), before + 3);

    // Recovered: the same cookie is refreshed and the session carries on.
    s.gate.clear_faults();
    let resp = get_json(&browser, "/refreshed").await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Cognito refuses the refresh token: the session ends at once, cleanly: one 401 that
    // clears the cookie, then a single redirect to sign in (no callback loop).
    tokio::time::sleep(Duration::from_millis(2600)).await;
    s.gate.fail_path("/oauth2/token", PathFault::Status(400));
    let ended = get_json(&browser, "/refused").await;
    assert_eq!(ended.status(), StatusCode::UNAUTHORIZED);
    assert!(clears_session(&ended));
    assert!(browser.cookie("_cognito_sidecar").is_none());
    let before = s.gate.hits("/oauth2/token");
    let nav = browser.navigate(&browser.app("/page")).await;
    assert_eq!(nav.status(), StatusCode::FOUND);
    assert!(location(&nav, nav.url().as_str()).contains("/oauth2/authorize"));
    assert_eq!(
        s.gate.hits("/oauth2/token"),
        before,
        "no refresh attempt without a session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_rotation_new_kids_accepted_old_tokens_valid_while_published() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let yaml = sidecar_config(port, &up.url(), &idp, "").replace(
        &format!("  client_secret: {SECRET}\n"),
        &format!("  client_secret: {SECRET}\n  jwks_refresh: 1s\n"),
    );
    let _sc = Sidecar::start(&yaml, port);
    common::wait_ready(port).await;
    let redirect_uri = format!("http://localhost:{port}/oauth2/callback");
    let token = |user: &'static str| {
        let (idp, redirect_uri) = (&idp, redirect_uri.clone());
        async move {
            user_tokens(idp, CLIENT, SECRET, &redirect_uri, user).await["access_token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let bearer = |t: String| async move {
        client()
            .get(format!("http://127.0.0.1:{port}/api"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap()
            .status()
    };
    let first = token("alice").await;
    assert_eq!(bearer(first.clone()).await, StatusCode::OK);

    idp.hook("rotate-keys", serde_json::json!({})).await;
    let second = token("bob").await;
    assert_eq!(
        bearer(second.clone()).await,
        StatusCode::OK,
        "a new kid is fetched on sight"
    );
    assert_eq!(
        bearer(first.clone()).await,
        StatusCode::OK,
        "its key is still published"
    );

    // The next rotation drops the first generation from the JWKS.
    idp.hook("rotate-keys", serde_json::json!({})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        bearer(first.clone()).await,
        StatusCode::UNAUTHORIZED,
        "a token whose key left the JWKS (even one verified and cached before)"
    );
    assert_eq!(bearer(second).await, StatusCode::OK);
    assert_eq!(bearer(token("alice").await).await, StatusCode::OK);
}
