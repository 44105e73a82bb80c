//! Access control and integration modes through the real binary: one canonical path for
//! rules and upstream (no path differentials), method rules, forward-auth behind a real
//! nginx, and ALB-compatible headers checked by an independent verifier.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::idp::{sidecar_config, Browser, Emulator};
use common::upstream::{self, echoed_headers, header};
use common::{free_port, path_str, Proc, Sidecar};
use reqwest::StatusCode;

fn raw(port: u16, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_path_differential_lets_an_anonymous_request_past_a_public_rule() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let _sc = Sidecar::start(
        &sidecar_config(
            port,
            &up.url(),
            &idp,
            "access:\n  public_paths: [/public/*]\n",
        ),
        port,
    );
    common::wait_ready(port).await;
    let attacks = [
        "/public/../admin",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/public/.%2e/admin",
        "/public/..%2fadmin",
        "/public/..%2Fadmin",
        "/public/%2fadmin",
        "/public/..%5cadmin",
        "/public/..\\admin",
        "//public/../admin",
        "/public//../admin",
        "/public/./../admin",
        "/public;x/../admin",
        "/public/..;/admin",
        "/public/.;/../admin",
        "/PUBLIC/x",
        "/Public/x",
        "/admin?/public/x",
        "/admin?x=/public/",
        "/admin%3f/public/x",
        "/admin%23/public/x",
        "/public%2f..%2fadmin",
        "/public/%00/../admin",
        "/public/%c0%ae%c0%ae/admin",
        "/./public/../admin",
        "/admin/public/x",
        "/public",
    ];
    for target in attacks {
        let before = up.hits();
        let (status, text) = raw(port, target);
        assert!(status < 500, "{target} → {status}");
        if up.hits() > before {
            // Anything that reached the upstream must be for a public path, exactly.
            let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
            let echoed: serde_json::Value = serde_json::from_str(body).unwrap();
            let uri = echoed["uri"].as_str().unwrap();
            assert!(
                uri.starts_with("/public/"),
                "{target} reached the upstream as {uri}"
            );
            assert!(!uri.contains(".."), "{target} → {uri}");
        } else {
            assert!(matches!(status, 400 | 401), "{target} → {status}");
        }
    }
    // The legitimate forms still work, and the upstream sees the canonical path.
    let (status, text) = raw(port, "/public/%7Euser/./a//b?q=%2F..");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("\"uri\":\"/public/~user/a/b?q=%2F..\""),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_match_methods_and_deny_with_403() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let extra = "access:\n  rules:\n    - {path: /admin/*, groups: [admins]}\n    - {path: /reports/*, groups: [admins], methods: [POST, DELETE]}\n";
    let _sc = Sidecar::start(&sidecar_config(port, &up.url(), &idp, extra), port);
    common::wait_ready(port).await;
    let bob = Browser::new(port);
    assert_eq!(bob.sign_in("/", "bob").await.status(), 200);
    let denied = bob.navigate(&bob.app("/admin/")).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert!(denied.text().await.unwrap().contains("not allowed"));
    let api = bob
        .http
        .get(bob.app("/admin/x"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        api.json::<serde_json::Value>().await.unwrap()["error"],
        "forbidden"
    );
    assert_eq!(
        bob.http
            .get(bob.app("/reports/1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        bob.http
            .post(bob.app("/reports/1"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let alice = Browser::new(port);
    assert_eq!(alice.sign_in("/admin/", "alice").await.status(), 200);
    assert_eq!(
        alice
            .http
            .delete(alice.app("/reports/1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_trusts_forwarded_uri_only_from_trusted_proxies() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let rules = "access:\n  rules:\n    - {path: /admin/*, groups: [admins]}\n";
    let _sc = Sidecar::start(&sidecar_config(port, &up.url(), &idp, rules), port);
    common::wait_ready(port).await;
    let bob = Browser::new(port);
    assert_eq!(bob.sign_in("/", "bob").await.status(), 200);
    let check = |uri: &'static str| {
        let bob = bob.clone();
        async move {
            bob.http
                .get(bob.app("/oauth2/auth"))
                .header("x-forwarded-uri", uri)
                .send()
                .await
                .unwrap()
        }
    };
    // 127.0.0.1 is not in trusted_proxies: the forwarded URI is ignored.
    assert_eq!(check("/admin/x").await.status(), StatusCode::ACCEPTED);
    let anon = Browser::new(port)
        .http
        .get(bob.app("/oauth2/auth"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let resp = check("/app").await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.headers()["x-forwarded-user"], "bob");
    assert_eq!(
        resp.headers()["x-forwarded-sub"],
        "22222222-2222-4222-8222-222222222222"
    );
}

/// A running nginx; stopped (and its temp prefix removed) on drop.
struct Nginx {
    _proc: Proc,
    _dir: tempfile::TempDir,
}

/// nginx in front of `upstream`, asking the sidecar on `sidecar` with `auth_request`:
/// the snippet documented in `deploy/nginx/`.
fn nginx(listen: u16, sidecar: u16, upstream: &str) -> Nginx {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect(
            "nginx is required for this test; ./test.sh installs it (apt-get install nginx-light)",
        );
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path();
    let conf = format!(
        r#"daemon off;
worker_processes 1;
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{listen};
    location /oauth2/ {{
      proxy_pass http://127.0.0.1:{sidecar};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
    location = /oauth2/auth {{
      internal;
      proxy_pass http://127.0.0.1:{sidecar};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
    }}
    location @signin {{
      return 302 /oauth2/start?rd=$request_uri;
    }}
    location /api/ {{
      auth_request /oauth2/auth;
      auth_request_set $user $upstream_http_x_forwarded_user;
      proxy_set_header X-Forwarded-User $user;
      proxy_pass {upstream};
    }}
    location / {{
      auth_request /oauth2/auth;
      auth_request_set $user $upstream_http_x_forwarded_user;
      auth_request_set $email $upstream_http_x_forwarded_email;
      auth_request_set $groups $upstream_http_x_forwarded_groups;
      auth_request_set $sub $upstream_http_x_forwarded_sub;
      auth_request_set $session_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $session_cookie;
      proxy_set_header X-Forwarded-User $user;
      proxy_set_header X-Forwarded-Email $email;
      proxy_set_header X-Forwarded-Groups $groups;
      proxy_set_header X-Forwarded-Sub $sub;
      error_page 401 = @signin;
      proxy_pass {upstream};
    }}
  }}
}}
"#,
        prefix = prefix.display()
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut proc =
        Proc::spawn_program(nginx, &["-c", path_str(&conf_path), "-p", path_str(prefix)]);
    proc.wait_listening(listen);
    Nginx {
        _proc: proc,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_round_trip() {
    let up = upstream::start().await;
    let nginx_port = free_port();
    let sidecar_port = free_port();
    // The emulator's callback URLs point at nginx: users only ever see nginx's origin.
    let idp = Emulator::start(nginx_port, "");
    let config = sidecar_config(sidecar_port, &up.url(), &idp, "trusted_proxies: [127.0.0.1/32]\naccess:\n  rules:\n    - {path: /admin/*, groups: [admins]}\n")
        .replace(&format!("public_url: http://localhost:{sidecar_port}"), &format!("public_url: http://localhost:{nginx_port}"));
    let _sc = Sidecar::start(&config, sidecar_port);
    common::wait_ready(sidecar_port).await;
    let _nginx = nginx(nginx_port, sidecar_port, &up.url());

    let browser = Browser::new(nginx_port);
    // Spoofed identity headers sent to nginx are replaced by the sidecar's answer.
    let landed = browser.sign_in("/app/page?x=1", "alice").await;
    assert_eq!(landed.status(), StatusCode::OK);
    assert_eq!(landed.url().as_str(), browser.app("/app/page?x=1"));
    let h = echoed_headers(&landed.json().await.unwrap());
    assert_eq!(header(&h, "x-forwarded-user"), Some("alice"));
    assert_eq!(header(&h, "x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(header(&h, "x-forwarded-groups"), Some("admins"));
    let spoof = browser
        .http
        .get(browser.app("/app"))
        .header("x-forwarded-user", "mallory")
        .send()
        .await
        .unwrap();
    let h = echoed_headers(&spoof.json().await.unwrap());
    assert_eq!(header(&h, "x-forwarded-user"), Some("alice"));

    // 401 (no session) and 403 (not allowed) through nginx.
    let anonymous = Browser::new(nginx_port)
        .http
        .get(browser.app("/api/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let bob = Browser::new(nginx_port);
    assert_eq!(bob.sign_in("/", "bob").await.status(), StatusCode::OK);
    assert_eq!(
        bob.navigate(&bob.app("/admin/secret")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        browser
            .navigate(&browser.app("/admin/secret"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_headers_pass_an_independent_verifier() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let signer = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/test/0123456789abcdef";
    let extra = format!("headers:\n  alb:\n    enabled: true\n    signer: {signer}\n");
    let _sc = Sidecar::start(&sidecar_config(port, &up.url(), &idp, &extra), port);
    common::wait_ready(port).await;
    let browser = Browser::new(port);
    let landed = browser.sign_in("/", "alice").await;
    let h = echoed_headers(&landed.json().await.unwrap());
    assert_eq!(
        header(&h, "x-amzn-oidc-identity"),
        Some("11111111-1111-4111-8111-111111111111")
    );
    assert!(header(&h, "x-amzn-oidc-accesstoken")
        .unwrap()
        .starts_with("eyJ"));
    let data = header(&h, "x-amzn-oidc-data").unwrap().to_string();
    assert!(
        data.split('.').any(|seg| seg.ends_with('=')),
        "segments are padded like the ALB's: {data}"
    );

    let verify = |token: &str| {
        Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/alb/verify.py"))
            .args([
                token,
                &format!("http://127.0.0.1:{port}/oauth2/alb-public-keys"),
                signer,
                "local-client",
            ])
            .output()
            .expect("python3 (./test.sh installs pyjwt and cryptography)")
    };
    let ok = verify(&data);
    assert!(
        ok.status.success(),
        "verifier: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let payload: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(payload["username"], "alice");
    assert_eq!(payload["email"], "alice@example.com");

    // A tampered payload (same signature) fails the verifier.
    let parts: Vec<&str> = data.split('.').collect();
    use base64::Engine;
    let mut claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    claims["username"] = serde_json::json!("admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE.encode(claims.to_string()),
        parts[2]
    );
    assert!(!verify(&forged).status.success());
    // Another signer ARN pinned by the app fails too.
    let wrong = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/alb/verify.py"))
        .args([
            &data,
            &format!("http://127.0.0.1:{port}/oauth2/alb-public-keys"),
            "arn:aws:other",
            "local-client",
        ])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_ext_authz_style_checks_the_path_suffix() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let extra = "trusted_proxies: [127.0.0.1/32]\naccess:\n  rules:\n    - {path: /admin/*, groups: [admins]}\n";
    let _sc = Sidecar::start(&sidecar_config(port, &up.url(), &idp, extra), port);
    common::wait_ready(port).await;
    let bob = Browser::new(port);
    assert_eq!(bob.sign_in("/", "bob").await.status(), 200);
    // Envoy sends the original method to /oauth2/auth/<original path> and wants 200.
    let ok = bob
        .http
        .post(bob.app("/oauth2/auth/app/orders?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-forwarded-user"], "bob");
    let denied = bob
        .http
        .delete(bob.app("/oauth2/auth/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let sneaky = bob
        .http
        .get(bob.app("/oauth2/auth/app/../admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(sneaky.status(), StatusCode::FORBIDDEN);
    // Header style from the same trusted peer still answers 202.
    let header_style = bob
        .http
        .get(bob.app("/oauth2/auth"))
        .header("x-forwarded-uri", "/admin/users")
        .send()
        .await
        .unwrap();
    assert_eq!(header_style.status(), StatusCode::FORBIDDEN);
    let anon = Browser::new(port)
        .http
        .get(bob.app("/oauth2/auth/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_can_deny_instead_of_redirecting_unauthenticated_navigations() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let extra = "access:\n  rules:\n    - {path: /api/*, unauthenticated: deny}\n";
    let _sc = Sidecar::start(&sidecar_config(port, &up.url(), &idp, extra), port);
    common::wait_ready(port).await;
    let browser = Browser::new(port);
    // Like the ALB's `on_unauthenticated_request: deny`: a 401, even for a browser.
    let api = browser.navigate(&browser.app("/api/orders")).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        browser.navigate(&browser.app("/app")).await.status(),
        StatusCode::FOUND
    );
    // /oauth2/userinfo is the SPA's way to ask; no CORS headers are offered by default.
    let info = browser
        .http
        .get(browser.app("/oauth2/userinfo"))
        .header("origin", "https://other.example")
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::UNAUTHORIZED);
    assert!(info.headers().get("access-control-allow-origin").is_none());
}
