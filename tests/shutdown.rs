//! SIGTERM drains: an in-flight request completes, new connections are refused, the
//! process exits 0 (SPEC §5.7).

mod common;

use std::time::{Duration, Instant};

use common::upstream;
use common::{client, free_port, proxy_config, Sidecar};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_slow_request_finish_then_exits_zero() {
    let up = upstream::start().await;
    let port = free_port();
    let mut sc = Sidecar::start(
        &proxy_config(port, &up.url(), "http://127.0.0.1:9", ""),
        port,
    );
    let url = sc.url("/slow?ms=1500");
    let in_flight = tokio::spawn(async move { client().get(url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    sc.proc.sigterm();

    let resp = in_flight
        .await
        .unwrap()
        .expect("in-flight request completes");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "slow done");

    let code = tokio::task::spawn_blocking(move || {
        let code = sc.proc.wait_exit(Duration::from_secs(10));
        (code, sc)
    })
    .await
    .unwrap();
    assert_eq!(code.0, Some(0), "exit code; logs:\n{}", code.1.proc.logs());
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_closes_at_sigterm_while_requests_drain() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(
        &proxy_config(port, &up.url(), "http://127.0.0.1:9", ""),
        port,
    );
    let url = sc.url("/slow?ms=1500");
    let _in_flight = tokio::spawn(async move { client().get(url).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = client().get(sc.url("/healthz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    sc.proc.sigterm();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The listener is closed while the slow request drains.
    assert!(client().get(sc.url("/readyz")).send().await.is_err());
}
