//! Invalid UTF-8, control characters, encoded CR/LF and oversized values in paths,
//! queries, cookies and headers, on every endpoint.

use crate::common::idp::{sidecar_config, Emulator};
use crate::common::{self, free_port, upstream, Sidecar};
use crate::{alive, send};
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bytes_and_control_characters_never_5xx_nor_sign_in() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let mut sc = Sidecar::start(
        &sidecar_config(
            port,
            &up.url(),
            &idp,
            "access:\n  public_paths: [/public/*]\n",
        ),
        port,
    );
    common::wait_ready(port).await;
    let big = "c".repeat(60_000);
    let targets: Vec<Vec<u8>> = [
        "/app/%00",
        "/app/%0d%0aSet-Cookie:%20pwned=1",
        "/app/%ff%fe",
        "/app/%c0%af",
        "/app/%e0%80%af",
        "/app/%2e%2e/%2e%2e/etc/passwd",
        "/app/..%2f..%2f",
        "/app/%252e%252e/",
        "/public/%2e%2e/app",
        "/public/..%5capp",
        "/public/%2e%2e%2fapp",
        "/app/%7f",
        "/app/%09",
        "/%00",
        "//",
        "/app//..//",
        "/app/%",
        "/app/%zz",
        "/app;x=1",
        "/app/\\..\\",
        "/app?%00=%ff",
        "/app?x=%0d%0aLocation:%20http://evil",
        "/oauth2/start?rd=%0d%0aSet-Cookie:%20pwned=1",
        "/oauth2/start?rd=%ff%fe%00",
        "/oauth2/start?rd=/%0d%0aX-Injected:%201",
        "/oauth2/start?rd=%E2%80%AE//evil.example",
        "/oauth2/callback?code=%00&state=%ff",
        "/oauth2/callback?error=%3Cscript%3E&error_description=%ff%fe%00%0d%0a",
        "/oauth2/callback?code=a&state=%E2%80%AE",
        "/oauth2/callback?code=%zz&state=%",
        "/oauth2/callback?code&state",
        "/oauth2/callback?&&&=&=",
        "/oauth2/userinfo?%ff",
        "/oauth2/auth?%00",
        "/oauth2/sign_out?rd=//evil.example",
        "/oauth2/%2e%2e/app",
        "/OAUTH2/callback",
        "/oauth2/callback/",
        "/oauth2//callback",
    ]
    .iter()
    .map(|t| t.as_bytes().to_vec())
    .chain([
        format!("/oauth2/callback?code={big}&state=s").into_bytes(),
        format!("/oauth2/callback?state={big}&code=c").into_bytes(),
        format!("/app?{big}").into_bytes(),
        b"/app?x=\xff\xfe".to_vec(),
        b"/oauth2/start?rd=\xff\xfe".to_vec(),
        b"/app/\x80\xff".to_vec(),
        b"/app/\x7f".to_vec(),
    ])
    .collect();
    let header_cases: Vec<(&str, Vec<u8>)> = vec![
        ("/app/x", b"Cookie: _cognito_sidecar=\xff\xfe\x80".to_vec()),
        ("/app/x", b"Cookie: _cognito_sidecar=%00%0d%0a".to_vec()),
        (
            "/app/x",
            format!("Cookie: _cognito_sidecar=v1.{}", "A".repeat(50_000)).into_bytes(),
        ),
        (
            "/app/x",
            b"Cookie: _cognito_sidecar_0=\x7f; _cognito_sidecar_1=\xc0\xaf".to_vec(),
        ),
        ("/app/x", b"Cookie: =; ;;; ==; _cognito_sidecar".to_vec()),
        (
            "/app/x",
            b"Cookie: _cognito_sidecar=\"quoted\"; _cognito_sidecar=\"".to_vec(),
        ),
        (
            "/oauth2/callback?code=a&state=b",
            b"Cookie: _cognito_sidecar_csrf_b=\xff\xfe".to_vec(),
        ),
        (
            "/oauth2/userinfo",
            b"Cookie: _cognito_sidecar=\xff".to_vec(),
        ),
        ("/app/x", b"Authorization: Bearer \xff\xfe".to_vec()),
        (
            "/app/x",
            format!("Authorization: Bearer {}", "a".repeat(60_000)).into_bytes(),
        ),
        ("/app/x", b"Authorization: Bearer a.b.c".to_vec()),
        ("/app/x", b"Authorization: Bearer ..".to_vec()),
        (
            "/app/x",
            b"Authorization: Bearer eyJhbGciOiJub25lIn0.e30.".to_vec(),
        ),
        (
            "/app/x",
            b"Authorization: Bearer \xc3\xa9.\xc3\xa9.\xc3\xa9".to_vec(),
        ),
        ("/app/x", b"Authorization: Basic \xff".to_vec()),
        ("/app/x", b"Authorization: \xff".to_vec()),
        ("/public/x", b"X-Request-Id: \xff\xfe".to_vec()),
        (
            "/public/x",
            format!("X-Request-Id: {}", "a".repeat(10_000)).into_bytes(),
        ),
        ("/oauth2/auth", b"X-Forwarded-Uri: \xff\xfe".to_vec()),
        (
            "/oauth2/auth",
            b"X-Forwarded-Uri: /%00/../..//evil".to_vec(),
        ),
        (
            "/oauth2/auth",
            format!("X-Forwarded-Uri: /{}", "a".repeat(60_000)).into_bytes(),
        ),
        ("/oauth2/auth", b"X-Forwarded-Method: \xff".to_vec()),
        ("/app/x", b"Origin: \xff".to_vec()),
        ("/app/x", b"Accept: \xff\xfe".to_vec()),
        ("/app/x", b"Sec-Fetch-Mode: \xff".to_vec()),
        (
            "/app/x",
            b"X-Forwarded-For: \xff, 1.2.3.4, ::::, 999.1.1.1".to_vec(),
        ),
        (
            "/ws",
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \xff".to_vec(),
        ),
    ];
    let mut requests: Vec<Vec<u8>> = Vec::new();
    for target in &targets {
        for accept in ["text/html", "application/json"] {
            let mut r = b"GET ".to_vec();
            r.extend_from_slice(target);
            r.extend_from_slice(format!(" HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n").as_bytes());
            requests.push(r);
        }
    }
    for (target, header) in &header_cases {
        let mut r = format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: text/html\r\nConnection: close\r\n").into_bytes();
        r.extend_from_slice(header);
        r.extend_from_slice(b"\r\n\r\n");
        requests.push(r);
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for request in requests {
        let shown = String::from_utf8_lossy(&request)
            .chars()
            .take(120)
            .collect::<String>();
        let got = send(port, request).await;
        let status = got.statuses().first().copied().unwrap_or(0);
        *statuses.entry(status).or_default() += 1;
        assert!(
            (200..500).contains(&status),
            "{shown}: {}",
            got.text().chars().take(400).collect::<String>()
        );
        let head = got.head();
        for line in head.lines() {
            let sets_session = line
                .strip_prefix("set-cookie: _cognito_sidecar=")
                .is_some_and(|value| !value.starts_with(';'));
            assert!(!sets_session, "{shown}: a session cookie was set: {line}");
            assert!(
                !line.starts_with("x-injected") && !line.contains("pwned"),
                "{shown}: header injection: {line}"
            );
        }
        if let Some(loc) = head.lines().find_map(|l| l.strip_prefix("location: ")) {
            assert!(
                loc.starts_with(&idp.url()) || loc.starts_with('/') && !loc.starts_with("//"),
                "{shown}: redirect to {loc}"
            );
        }
    }
    eprintln!("invalid-byte requests by status: {statuses:?}");
    alive(&mut sc);
}
