//! Browser sign-in through the hosted UI against the local emulator, end to end through
//! the real binaries: deep links, identity headers, userinfo, sign-out, several tabs,
//! callback abuse, and what the logs never contain.

mod common;

use common::idp::{location, sidecar_config, Browser, Emulator, CLIENT, SECRET};
use common::upstream::{self, echoed_headers, header};
use common::{free_port, Sidecar};
use reqwest::StatusCode;

struct Stack {
    idp: Emulator,
    sidecar: Sidecar,
    _upstream: upstream::Upstream,
    port: u16,
}

async fn stack(sidecar_extra: &str, client_extra: &str) -> Stack {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, client_extra);
    let sidecar = Sidecar::start(&sidecar_config(port, &up.url(), &idp, sidecar_extra), port);
    common::wait_ready(port).await;
    Stack {
        idp,
        sidecar,
        _upstream: up,
        port,
    }
}

/// The JSON body of the answer to `request`.
async fn json(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_link_survives_sign_in_and_identity_reaches_upstream() {
    let s = stack("", "").await;
    let browser = Browser::new(s.port);
    let landed = browser
        .sign_in("/deep/page?x=1&y=two%20words", "alice")
        .await;
    assert_eq!(landed.status(), StatusCode::OK);
    assert_eq!(
        landed.url().as_str(),
        browser.app("/deep/page?x=1&y=two%20words")
    );
    let body: serde_json::Value = landed.json().await.unwrap();
    assert_eq!(body["uri"], "/deep/page?x=1&y=two%20words");
    let h = echoed_headers(&body);
    assert_eq!(header(&h, "x-forwarded-user"), Some("alice"));
    assert_eq!(header(&h, "x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(header(&h, "x-forwarded-groups"), Some("admins"));
    assert_eq!(
        header(&h, "x-forwarded-sub"),
        Some("11111111-1111-4111-8111-111111111111")
    );
    // The sidecar's own cookies never reach the app.
    let cookie = header(&h, "cookie").unwrap_or("");
    assert!(!cookie.contains("_cognito_sidecar"), "{cookie}");
    // Nor on the next request, where the session comes from the opened-session cache.
    let h = echoed_headers(&json(browser.http.get(browser.app("/deep/page"))).await);
    assert_eq!(header(&h, "x-forwarded-user"), Some("alice"));
    let cookie = header(&h, "cookie").unwrap_or("");
    assert!(!cookie.contains("_cognito_sidecar"), "{cookie}");
    // The app's own cookies next to it pass, in either order.
    let session = browser.cookie("_cognito_sidecar").expect("session cookie");
    for sent in [
        format!("theme=dark; _cognito_sidecar={session}"),
        format!("_cognito_sidecar={session}; theme=dark"),
    ] {
        let request = reqwest::Client::new().get(browser.app("/deep/page"));
        let h = echoed_headers(&json(request.header("cookie", sent)).await);
        assert_eq!(header(&h, "x-forwarded-user"), Some("alice"));
        assert_eq!(header(&h, "cookie"), Some("theme=dark"));
    }

    let info = json(browser.http.get(browser.app("/oauth2/userinfo"))).await;
    assert_eq!(info["user"], "alice");
    assert_eq!(info["sub"], "11111111-1111-4111-8111-111111111111");
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["groups"], serde_json::json!(["admins"]));
    assert!(info["expires_at"].as_u64().unwrap() > 0);
    let text = info.to_string();
    assert!(
        !text.contains("eyJ"),
        "userinfo must not expose tokens: {text}"
    );
    drop(s.sidecar);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_ends_the_session_here_and_at_cognito() {
    let s = stack("", "").await;
    let browser = Browser::new(s.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), StatusCode::OK);
    let revokes_before = s.idp.stats().await["revoke_requests"].as_u64().unwrap();

    let out = browser.navigate(&browser.app("/oauth2/sign_out")).await;
    assert_eq!(out.status(), StatusCode::FOUND);
    let to_cognito = location(&out, out.url().as_str());
    assert!(
        to_cognito.starts_with(&format!(
            "{}/logout?client_id={CLIENT}&logout_uri=",
            s.idp.url()
        )),
        "{to_cognito}"
    );
    assert_eq!(
        s.idp.stats().await["revoke_requests"].as_u64().unwrap(),
        revokes_before + 1
    );
    // Cognito ends its hosted-UI session and returns to the registered logout URL.
    let back = browser.navigate(&to_cognito).await;
    assert_eq!(back.status(), StatusCode::FOUND);
    assert_eq!(location(&back, &to_cognito), browser.app("/"));
    assert!(browser.cookie("_cognito_sidecar").is_none());

    // Signed out: the app sends us to sign in again, and the hosted UI asks for a
    // password instead of signing us in silently.
    let again = browser.navigate(&browser.app("/")).await;
    assert_eq!(again.status(), StatusCode::FOUND);
    let page = browser.follow(again).await;
    assert_eq!(page.url().path(), "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_clients_get_401_json_not_redirects() {
    let s = stack("", "").await;
    let http = common::client();
    let url = format!("http://127.0.0.1:{}/api/data", s.port);
    for (name, value) in [
        ("accept", "application/json"),
        ("x-requested-with", "XMLHttpRequest"),
        ("sec-fetch-mode", "cors"),
    ] {
        let mut req = http.get(&url).header(name, value);
        if name != "accept" {
            req = req.header("accept", "text/html");
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"error": "unauthenticated"}));
    }
    let post = http
        .post(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn navigation_redirects_to_the_hosted_ui_with_pkce_state_and_nonce() {
    let s = stack("", "").await;
    let browser = Browser::new(s.port);
    let resp = browser.navigate(&browser.app("/somewhere")).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let target = url::Url::parse(&location(&resp, resp.url().as_str())).unwrap();
    assert_eq!(target.path(), "/oauth2/authorize");
    let q: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT);
    assert_eq!(q["redirect_uri"], browser.app("/oauth2/callback"));
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["code_challenge"].len() >= 43);
    assert!(q["state"].len() >= 22 && q["nonce"].len() >= 22);
    assert_ne!(q["state"], q["nonce"]);
    let set_cookie: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    let csrf = set_cookie
        .iter()
        .find(|c| c.to_str().unwrap().starts_with("_cognito_sidecar_csrf_"))
        .expect("sign-in state cookie");
    let csrf = csrf.to_str().unwrap();
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Lax") && csrf.contains("Max-Age=600"),
        "{csrf}"
    );
    assert!(
        !csrf.contains(q["state"].as_str()),
        "state must be sealed, not in clear"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_tabs_sign_in_at_once_and_pending_sign_ins_are_capped() {
    let s = stack("", "").await;
    let browser = Browser::new(s.port);
    // Two tabs start signing in before either finishes; each keeps its own state.
    let tab1 = browser.navigate(&browser.app("/tab/one")).await;
    let tab2 = browser.navigate(&browser.app("/tab/two")).await;
    let login2 = browser.follow(tab2).await;
    let done2 = browser
        .submit_login(login2, "alice", common::idp::PASSWORD)
        .await;
    assert_eq!(done2.status(), StatusCode::OK);
    assert_eq!(done2.url().path(), "/tab/two");
    // The first tab finishes through the hosted UI's session (silently).
    let done1 = browser.follow(tab1).await;
    assert_eq!(done1.status(), StatusCode::OK);
    assert_eq!(done1.url().path(), "/tab/one");

    // Twenty abandoned sign-ins leave at most five pending sign-in cookies.
    let fresh = Browser::new(s.port);
    for i in 0..20 {
        fresh.navigate(&fresh.app(&format!("/p/{i}"))).await;
    }
    use reqwest::cookie::CookieStore;
    let header = fresh
        .jar
        .cookies(&url::Url::parse(&fresh.app("/")).unwrap())
        .unwrap();
    let pending = header
        .to_str()
        .unwrap()
        .split("; ")
        .filter(|c| c.starts_with("_cognito_sidecar_csrf_"))
        .count();
    assert!(pending <= 5, "{pending} pending sign-in cookies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_abuse_never_creates_a_session() {
    let s = stack("", "").await;
    let browser = Browser::new(s.port);
    let cb = |q: &str| browser.app(&format!("/oauth2/callback{q}"));

    // No state, unknown state, duplicated parameters, an error from Cognito.
    for (query, status) in [
        ("", StatusCode::BAD_REQUEST),
        ("?code=abc", StatusCode::BAD_REQUEST),
        ("?code=abc&state=forged", StatusCode::BAD_REQUEST),
        ("?code=a&code=b&state=s", StatusCode::BAD_REQUEST),
        ("?state=a&state=b&code=c", StatusCode::BAD_REQUEST),
        (
            "?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=x",
            StatusCode::FORBIDDEN,
        ),
        (
            &format!("?code={}&state={}", "c".repeat(30_000), "s".repeat(5_000)),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let resp = browser.navigate(&cb(query)).await;
        assert_eq!(resp.status(), status, "{query:.80}");
        assert!(resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("_cognito_sidecar=")));
        let page = resp.text().await.unwrap();
        assert!(!page.contains("<script>"), "reflected markup: {page}");
    }

    // A real code, replayed: the first use signs in, the second is refused.
    let start = browser.navigate(&browser.app("/replay")).await;
    let login = browser.follow(start).await;
    let login_url = login.url().clone();
    let html = login.text().await.unwrap();
    let csrf = common::form_value(&html, "_csrf").unwrap();
    let posted = browser
        .http
        .post(login_url.as_str())
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "alice"),
            ("password", common::idp::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let callback_url = location(&posted, login_url.as_str());
    let first = browser.navigate(&callback_url).await;
    assert_eq!(first.status(), StatusCode::FOUND);
    let attacker = Browser::new(s.port);
    let replay = attacker.navigate(&callback_url).await;
    assert_eq!(
        replay.status(),
        StatusCode::BAD_REQUEST,
        "a code replayed in another browser"
    );
    assert!(attacker.cookie("_cognito_sidecar").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_redirects_in_rd_land_on_the_app() {
    let s = stack("", "").await;
    for rd in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let browser = Browser::new(s.port);
        let start = browser
            .navigate(&browser.app(&format!("/oauth2/start?rd={}", common::idp::urlencode(rd))))
            .await;
        let login = browser.follow(start).await;
        let landed = browser
            .submit_login(login, "alice", common::idp::PASSWORD)
            .await;
        assert_eq!(landed.url().as_str(), browser.app("/"), "rd={rd}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typical_session_fits_one_cookie_under_4kb() {
    let s = stack("", "").await;
    let browser = Browser::new(s.port);
    let start = browser.navigate(&browser.app("/")).await;
    let login = browser.follow(start).await;
    let login_url = login.url().clone();
    let html = login.text().await.unwrap();
    let csrf = common::form_value(&html, "_csrf").unwrap();
    let posted = browser
        .http
        .post(login_url.as_str())
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "alice"),
            ("password", common::idp::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let callback = browser
        .navigate(&location(&posted, login_url.as_str()))
        .await;
    let session_cookies: Vec<String> = callback
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .filter(|c| c.starts_with("_cognito_sidecar=") || c.starts_with("_cognito_sidecar_0="))
        .collect();
    assert_eq!(session_cookies.len(), 1, "{session_cookies:?}");
    let line = &session_cookies[0];
    assert!(line.starts_with("_cognito_sidecar="));
    eprintln!("session Set-Cookie line: {} bytes", line.len());
    assert!(line.len() < 4000, "{} bytes", line.len());
    // The refresh token travels as the bytes its base64url stands for (session
    // encoding); kept as text, the same session made a ~2.6 KB line.
    assert!(line.len() < 2200, "{} bytes", line.len());
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(line.contains(attr), "{line}");
    }
    assert!(
        !line.contains("Secure"),
        "http public_url: no Secure attribute"
    );
    let _ = (&s.idp, SECRET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_a_full_sign_in_hold_no_secret() {
    let s = stack("", "").await;
    let browser = Browser::new(s.port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), StatusCode::OK);
    let session = browser.cookie("_cognito_sidecar").expect("session cookie");
    browser.navigate(&browser.app("/oauth2/sign_out")).await;
    let logs = s.sidecar.proc.logs();
    assert!(logs.contains("signed in"), "{logs}");
    for secret in [
        session.as_str(),
        SECRET,
        "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "eyJ",
        "code=",
        "Passw0rd",
    ] {
        assert!(
            !logs.contains(secret),
            "logs contain {secret:.20}…:\n{logs}"
        );
    }
}
