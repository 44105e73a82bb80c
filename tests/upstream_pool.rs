//! The upstream keep-alive pool through the real binary, against a scripted HTTP/1.1
//! upstream that counts its connections: connections are reused, never past
//! `proxy.pool_idle_timeout`, never after `Connection: close`, and a connection the
//! upstream closed while idle costs the client nothing.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{client, free_port, proxy_config, raw, Sidecar};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const DEAD_IDP: &str = "http://127.0.0.1:9";

/// How the scripted upstream ends each exchange.
#[derive(Clone, Copy)]
enum After {
    /// Keeps the connection open for the next request.
    KeepAlive,
    /// Like `KeepAlive`, answering after a pause (so that concurrent requests need
    /// connections of their own).
    SlowKeepAlive(Duration),
    /// Answers with `Connection: close` and closes.
    ConnectionClose,
    /// Answers as keep-alive, then closes silently after `Duration` (an app server's
    /// keep-alive timeout firing while the connection sits in the sidecar's pool).
    SilentClose(Duration),
}

struct Scripted {
    port: u16,
    connections: Arc<AtomicUsize>,
    /// Connections the sidecar closed.
    closed: Arc<AtomicUsize>,
}

async fn scripted(after: After) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let closed = Arc::new(AtomicUsize::new(0));
    let closed_counter = closed.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let closed = closed_counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // One request head per exchange (GETs without bodies).
                    if raw::next_request_head(&mut stream, &mut buf)
                        .await
                        .is_none()
                    {
                        closed.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    if let After::SlowKeepAlive(pause) = after {
                        tokio::time::sleep(pause).await;
                    }
                    let body = format!("connection {n}");
                    let close = matches!(after, After::ConnectionClose);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{}\r\n",
                        body.len(),
                        if close { "Connection: close\r\n" } else { "" }
                    );
                    if stream.write_all(head.as_bytes()).await.is_err()
                        || stream.write_all(body.as_bytes()).await.is_err()
                    {
                        return;
                    }
                    match after {
                        After::KeepAlive | After::SlowKeepAlive(_) => {}
                        After::ConnectionClose => return,
                        After::SilentClose(delay) => {
                            tokio::time::sleep(delay).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    Scripted {
        port,
        connections,
        closed,
    }
}

/// One worker, so one pool: the test client may open a second connection to the
/// sidecar (its own pool returns connections asynchronously), and another worker would
/// answer it from a pool of its own.
fn start_sidecar(upstream_port: u16, extra: &str) -> Sidecar {
    let port = free_port();
    let yaml = proxy_config(
        port,
        &format!("http://127.0.0.1:{upstream_port}"),
        DEAD_IDP,
        &format!("server:\n  workers: 1\n{extra}"),
    );
    Sidecar::start(&yaml, port)
}

async fn get_ok(sc: &Sidecar, http: &reqwest::Client) -> String {
    let resp = http.get(sc.url("/x")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_share_one_upstream_connection() {
    let up = scripted(After::KeepAlive).await;
    let sc = start_sidecar(up.port, "");
    let http = client();
    for _ in 0..25 {
        assert_eq!(get_ok(&sc, &http).await, "connection 1");
    }
    assert_eq!(up.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_open_connections_that_are_then_reused() {
    let up = scripted(After::KeepAlive).await;
    let sc = start_sidecar(up.port, "");
    let http = client();
    for _round in 0..5 {
        let all = (0..8).map(|_| get_ok(&sc, &http));
        futures_util::future::join_all(all).await;
    }
    let opened = up.connections.load(Ordering::SeqCst);
    assert!(
        (1..=8).contains(&opened),
        "40 requests, at most 8 at a time, opened {opened} upstream connections"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_is_honoured() {
    let up = scripted(After::ConnectionClose).await;
    let sc = start_sidecar(up.port, "");
    let http = client();
    for i in 1..=3 {
        assert_eq!(get_ok(&sc, &http).await, format!("connection {i}"));
    }
    assert_eq!(up.connections.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_idle_past_the_pool_timeout_is_not_reused() {
    let up = scripted(After::KeepAlive).await;
    let sc = start_sidecar(up.port, "proxy:\n  pool_idle_timeout: 500ms\n");
    let http = client();
    assert_eq!(get_ok(&sc, &http).await, "connection 1");
    assert_eq!(get_ok(&sc, &http).await, "connection 1");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(get_ok(&sc, &http).await, "connection 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_closing_idle_connections_never_fails_a_request() {
    // The upstream drops every connection 100 ms after answering, while the sidecar
    // still holds it as idle (its pool timeout is the default 4 s).
    let up = scripted(After::SilentClose(Duration::from_millis(100))).await;
    let sc = start_sidecar(up.port, "");
    let http = client();
    for i in 1..=5 {
        assert_eq!(get_ok(&sc, &http).await, format!("connection {i}"));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(up.connections.load(Ordering::SeqCst), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_closing_right_after_each_answer_never_fails_a_request() {
    // The close races the next request: it is either seen at checkout or the unsent
    // request is retried on a new connection — never a 502.
    let up = scripted(After::SilentClose(Duration::ZERO)).await;
    let sc = start_sidecar(up.port, "");
    let http = client();
    for _ in 0..40 {
        get_ok(&sc, &http).await;
    }
    assert!(up.connections.load(Ordering::SeqCst) >= 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_left_idle_past_the_timeout_are_closed_while_others_are_busy() {
    let up = scripted(After::SlowKeepAlive(Duration::from_millis(200))).await;
    let sc = start_sidecar(up.port, "proxy:\n  pool_idle_timeout: 500ms\n");
    let http = client();
    // Four at once: four upstream connections, then idle in the pool.
    futures_util::future::join_all((0..4).map(|_| get_ok(&sc, &http))).await;
    assert_eq!(up.connections.load(Ordering::SeqCst), 4);
    // Traffic continues on one connection at a time for well past the timeout: the
    // other three are never checked out again and must still be closed.
    for _ in 0..6 {
        get_ok(&sc, &http).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        up.closed.load(Ordering::SeqCst) >= 3,
        "closed {} of the idle connections",
        up.closed.load(Ordering::SeqCst)
    );
}
