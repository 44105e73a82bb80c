//! The reverse proxy through the real binary: forwarding headers, hop-by-hop removal,
//! spoofed identity headers, WebSockets, HTTP/2, upstream failures and slow clients.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::upstream::{self, echoed_headers, header};
use common::{client, free_port, proxy_config, Sidecar};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const DEAD_IDP: &str = "http://127.0.0.1:9";

fn raw_request(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn json_body(raw: &str) -> serde_json::Value {
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {raw}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_host_forwarding_headers_and_request_id() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
    let raw = raw_request(
        port,
        "GET /echo?x=1 HTTP/1.1\r\nHost: app.example.com\r\nX-Forwarded-For: 203.0.113.9\r\n\
         X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nX-Request-Id: req-42\r\n\
         Connection: close\r\n\r\n",
    );
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        raw.to_ascii_lowercase().contains("x-request-id: req-42"),
        "{raw}"
    );
    let body = json_body(&raw);
    assert_eq!(body["uri"], "/echo?x=1");
    let h = echoed_headers(&body);
    assert_eq!(header(&h, "host"), Some("app.example.com"));
    assert_eq!(
        header(&h, "x-forwarded-for"),
        Some("203.0.113.9, 127.0.0.1")
    );
    // The peer is not a trusted proxy, so its claims about proto/host are replaced.
    assert_eq!(header(&h, "x-forwarded-proto"), Some("http"));
    assert_eq!(header(&h, "x-forwarded-host"), Some("app.example.com"));
    assert_eq!(header(&h, "x-request-id"), Some("req-42"));
    drop(sc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generates_a_request_id_when_none_is_sent() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
    let resp = client().get(sc.url("/echo")).send().await.unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        header(&echoed_headers(&body), "x-request-id"),
        Some(id.as_str())
    );
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_and_connection_listed_headers_never_cross() {
    let up = upstream::start().await;
    let port = free_port();
    let _sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
    let raw = raw_request(
        port,
        "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close, X-Private-Hop\r\nX-Private-Hop: secret\r\n\
         Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n\
         Proxy-Connection: keep-alive\r\nTrailer: X-T\r\nUpgrade: h2c\r\nX-Normal: kept\r\n\r\n",
    );
    let lower = raw.to_ascii_lowercase();
    // Response side: the upstream's Connection-listed header and Keep-Alive are removed.
    assert!(!lower.contains("x-upstream-hop"), "{raw}");
    assert!(!lower.contains("keep-alive: timeout"), "{raw}");
    let h = echoed_headers(&json_body(&raw));
    for name in [
        "x-private-hop",
        "keep-alive",
        "te",
        "proxy-authorization",
        "proxy-connection",
        "trailer",
        "upgrade",
    ] {
        assert_eq!(header(&h, name), None, "{name} reached the upstream");
    }
    assert_eq!(header(&h, "x-normal"), Some("kept"));

    // A request with a body goes upstream through the other client; its answer is
    // cleaned the same way.
    let raw = raw_request(
        port,
        "POST /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
    );
    let lower = raw.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{raw}");
    assert!(!lower.contains("x-upstream-hop"), "{raw}");
    assert!(!lower.contains("keep-alive: timeout"), "{raw}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_identity_headers_are_stripped_on_public_paths() {
    let up = upstream::start().await;
    let port = free_port();
    let _sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
    let raw = raw_request(
        port,
        "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Forwarded-User: admin\r\n\
         x_forwarded_email: boss@example.com\r\nX-FORWARDED-GROUPS: admins\r\nX-Forwarded-Sub: 1\r\n\
         X-Amzn-Oidc-Data: forged\r\nx-amzn-oidc-identity: forged\r\nX-Forwarded-Access-Token: t\r\n\r\n",
    );
    let h = echoed_headers(&json_body(&raw));
    for (name, _) in &h {
        let n = name.replace('_', "-").to_ascii_lowercase();
        assert!(
            !matches!(
                n.as_str(),
                "x-forwarded-user"
                    | "x-forwarded-email"
                    | "x-forwarded-groups"
                    | "x-forwarded-sub"
                    | "x-forwarded-access-token"
                    | "x-amzn-oidc-data"
                    | "x-amzn-oidc-identity"
            ),
            "{name} reached the upstream"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_echo_through_the_sidecar() {
    let up = upstream::start().await;
    let port = free_port();
    let _sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
        .await
        .expect("websocket handshake through the sidecar");
    assert_eq!(resp.status(), 101);
    for text in ["hello", "second message", &"x".repeat(100_000)] {
        ws.send(Message::text(text)).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_is_served_and_forwarded() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let resp = h2.get(sc.url("/echo")).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let body: serde_json::Value = resp.json().await.unwrap();
    // The upstream is spoken to over HTTP/1.1 with the authority as Host.
    assert_eq!(body["version"], "HTTP/1.1");
    let h = echoed_headers(&body);
    assert_eq!(
        header(&h, "host"),
        Some(format!("127.0.0.1:{port}").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_gives_502_quickly() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let port = free_port();
    let sc = Sidecar::start(&proxy_config(port, &dead, DEAD_IDP, ""), port);
    let started = Instant::now();
    let resp = client()
        .get(sc.url("/anything"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "upstream_unavailable");
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "leaks internals: {body}"
    );
    let page = client()
        .get(sc.url("/anything"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 502);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<html") && !html.contains("127.0.0.1"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstream_gives_504() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(
        &proxy_config(
            port,
            &up.url(),
            DEAD_IDP,
            "proxy:\n  response_timeout: 1s\n",
        ),
        port,
    );
    let started = Instant::now();
    let resp = client().get(sc.url("/slow?ms=3000")).send().await.unwrap();
    assert_eq!(resp.status(), 504);
    assert!(started.elapsed() < Duration::from_millis(2500));
    let fast = client().get(sc.url("/slow?ms=10")).send().await.unwrap();
    assert_eq!(fast.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_by_byte_headers_are_cut_off_while_others_are_served() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(
        &proxy_config(
            port,
            &up.url(),
            DEAD_IDP,
            "server:\n  header_read_timeout: 1s\n",
        ),
        port,
    );
    let slow = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let started = Instant::now();
        let head = b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow: ";
        for byte in head.iter().chain(std::iter::repeat_n(&b'a', 200)) {
            if stream.write_all(&[*byte]).is_err() {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
            if started.elapsed() > Duration::from_secs(8) {
                break;
            }
        }
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf);
        started.elapsed()
    });
    // Meanwhile a normal client is served promptly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let resp = client().get(sc.url("/echo")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(500));
    let cut_after = tokio::task::spawn_blocking(move || slow.join().unwrap())
        .await
        .unwrap();
    assert!(
        cut_after < Duration::from_secs(4),
        "slow client held the connection for {cut_after:?}"
    );

    // A connection that sends nothing at all is closed too.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = idle.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(started.elapsed() < Duration::from_secs(3));
}
