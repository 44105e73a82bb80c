//! How the sidecar reads upstream responses to bodiless GET/HEAD requests (read on the
//! serving task, `src/proxy/exchange`), through the real binary against an upstream
//! that answers with exact bytes: every body framing of RFC 9112 §6.3 (chunked with
//! extensions and trailers), interim answers, and the malformed or ambiguous answers that must end in a 502 or
//! in a connection that is not reused.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{client, free_port, proxy_config, raw, Sidecar};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const DEAD_IDP: &str = "http://127.0.0.1:9";

/// The answer to a request for `path` on upstream connection `n`, and whether the
/// upstream closes the connection after it.
fn answer(path: &str, n: usize) -> (Vec<u8>, bool) {
    let text = |s: &str| s.as_bytes().to_vec();
    match path {
        "/chunked" => (
            text("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n7\r\n, world\r\n0\r\nx-sum: 1\r\n\r\n"),
            false,
        ),
        "/until-close" => (text("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"), true),
        "/continue" => (
            text("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"),
            false,
        ),
        "/head" => (text("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), false),
        "/no-content" => (text("HTTP/1.1 204 No Content\r\n\r\n"), false),
        "/switch" => (
            text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
            false,
        ),
        "/two-lengths" => (
            text("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
            false,
        ),
        "/te-http10" => (text("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), false),
        "/bad-chunk" => (
            text("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
            false,
        ),
        "/garbage" => (text("<html>hello</html>\r\n\r\n"), true),
        "/huge-head" => {
            let mut head = text("HTTP/1.1 200 OK\r\nx-big: ");
            head.extend(std::iter::repeat_n(b'a', 500 * 1024));
            head.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
            (head, false)
        }
        "/truncated" => (text("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"), true),
        "/extra" => (text("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"), false),
        "/both-lengths" => (
            text("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
            false,
        ),
        "/reason" => (text("HTTP/1.1 200 Totally Fine\r\nContent-Length: 2\r\n\r\nok"), false),
        _ => {
            let body = format!("connection {n}");
            (
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes(),
                false,
            )
        }
    }
}

/// An upstream that answers each request head with [`answer`] for its path, counting
/// connections.
async fn scripted() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(head) = raw::next_request_head(&mut stream, &mut buf).await {
                    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                    let (bytes, close) = answer(&path, n);
                    if stream.write_all(&bytes).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    (port, connections)
}

/// One worker, so one pool: the connection counts below are about that pool.
fn start_sidecar(upstream_port: u16) -> Sidecar {
    let port = free_port();
    let yaml = proxy_config(
        port,
        &format!("http://127.0.0.1:{upstream_port}"),
        DEAD_IDP,
        "server:\n  workers: 1\n",
    );
    Sidecar::start(&yaml, port)
}

async fn get(sc: &Sidecar, http: &reqwest::Client, path: &str) -> (u16, String) {
    let resp = http.get(sc.url(path)).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_framing_reads_whole_and_keeps_the_connection_when_it_may() {
    let (up, connections) = scripted().await;
    let sc = start_sidecar(up);
    let http = client();
    assert_eq!(get(&sc, &http, "/").await, (200, "connection 1".into()));
    assert_eq!(
        get(&sc, &http, "/chunked").await,
        (200, "hello, world".into())
    );
    assert_eq!(get(&sc, &http, "/continue").await, (200, "final".into()));
    assert_eq!(get(&sc, &http, "/no-content").await, (204, String::new()));
    let head = http.head(sc.url("/head")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "10");
    assert_eq!(
        get(&sc, &http, "/").await,
        (200, "connection 1".into()),
        "chunked, 100 Continue, 204 and HEAD answers leave the connection reusable"
    );
    assert_eq!(
        get(&sc, &http, "/until-close").await,
        (200, "all of it".into())
    );
    assert_eq!(get(&sc, &http, "/").await, (200, "connection 2".into()));
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_answers_are_read_safely_and_their_connection_is_dropped() {
    let (up, _) = scripted().await;
    let sc = start_sidecar(up);
    let http = client();
    assert_eq!(get(&sc, &http, "/").await, (200, "connection 1".into()));
    // Bytes beyond Content-Length would be read as the next response: never reused.
    assert_eq!(get(&sc, &http, "/extra").await, (200, "ok".into()));
    assert_eq!(get(&sc, &http, "/").await, (200, "connection 2".into()));
    // Transfer-Encoding with Content-Length (RFC 9112 §6.3 ¶3): chunked wins, then close.
    assert_eq!(get(&sc, &http, "/both-lengths").await, (200, "ok".into()));
    assert_eq!(get(&sc, &http, "/").await, (200, "connection 3".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_are_a_502_and_never_reach_the_client() {
    let (up, _) = scripted().await;
    let sc = start_sidecar(up);
    let http = client();
    for path in [
        "/switch",
        "/two-lengths",
        "/te-http10",
        "/garbage",
        "/huge-head",
    ] {
        let (status, body) = get(&sc, &http, path).await;
        assert_eq!(status, 502, "{path}");
        assert!(!body.contains("hello"), "{path}: {body}");
    }
    // The sidecar still serves after all of them.
    assert_eq!(get(&sc, &http, "/").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_broken_mid_way_is_cut_off_not_completed() {
    let (up, _) = scripted().await;
    let sc = start_sidecar(up);
    let http = client();
    for path in ["/truncated", "/bad-chunk"] {
        // The head was good and may already be on its way; the body must then fail.
        if let Ok(resp) = http.get(sc.url(path)).send().await {
            assert_eq!(resp.status(), 200, "{path}");
            assert!(
                resp.bytes().await.is_err(),
                "{path}: the client must see the body fail"
            );
        }
    }
    assert_eq!(get(&sc, &http, "/").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_reason_phrase_passes_through() {
    let (up, _) = scripted().await;
    let sc = start_sidecar(up);
    let port = sc.port;
    let reason = tokio::task::spawn_blocking(move || {
        raw::exchange(
            port,
            b"GET /reason HTTP/1.1\r\nHost: app\r\n\r\n",
            Duration::from_millis(500),
        )
    })
    .await
    .unwrap();
    assert!(
        reason.text().starts_with("HTTP/1.1 200 Totally Fine\r\n"),
        "{}",
        reason.text()
    );
}
