//! The upstream failing (breaking off mid-body, never answering), a client leaving
//! mid-stream, and SIGTERM while requests are in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::raw::{open_fds, BlackHole, BreakingUpstream};
use crate::common::{client, free_port, proxy_config, upstream, Sidecar};
use crate::DEAD_IDP;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_breaking_off_mid_body_aborts_the_download_cleanly() {
    for promised in [Some(1_000_000), None] {
        let up = BreakingUpstream::start(promised, 100_000).await;
        let port = free_port();
        let sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
        let pid = sc.proc.child.id();
        // Warm up the listener and the pool before counting descriptors.
        let _ = client()
            .get(sc.url("/warm"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let fds_before = open_fds(pid);
        for _ in 0..30 {
            let resp = client().get(sc.url("/file")).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let body = resp.bytes().await;
            assert!(
                body.is_err(),
                "a cut-off body must not look complete ({promised:?}): got {} bytes",
                body.map(|b| b.len()).unwrap_or(0)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let fds_after = open_fds(pid);
        assert!(
            fds_after <= fds_before + 2,
            "descriptors grew from {fds_before} to {fds_after} ({promised:?})"
        );
        assert!(up.served.load(Ordering::SeqCst) >= 30);
        let next = client().get(sc.url("/again")).send().await.unwrap();
        assert_eq!(next.status(), StatusCode::OK, "the sidecar keeps serving");
    }
}

/// An upstream that streams a huge body slowly and counts connections whose peer went
/// away mid-stream.
async fn endless_upstream() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let aborted = Arc::new(AtomicUsize::new(0));
    let count = aborted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let head = b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n";
                if stream.write_all(head).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 16 * 1024];
                loop {
                    if stream.write_all(&chunk).await.is_err() {
                        count.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
    });
    (url, aborted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_leaving_mid_stream_releases_the_upstream_connection() {
    let (up, aborted) = endless_upstream().await;
    let port = free_port();
    let sc = Sidecar::start(&proxy_config(port, &up, DEAD_IDP, ""), port);
    let pid = sc.proc.child.id();
    let fds_before = open_fds(pid);
    for _ in 0..10 {
        let mut resp = client().get(sc.url("/stream")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let first = resp.chunk().await.unwrap().unwrap();
        assert!(!first.is_empty());
        drop(resp);
    }
    let t = Instant::now();
    while aborted.load(Ordering::SeqCst) < 10 && t.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        aborted.load(Ordering::SeqCst),
        10,
        "the sidecar kept streaming from the upstream after the client left"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds_after = open_fds(pid);
    assert!(
        fds_after <= fds_before + 2,
        "descriptors grew from {fds_before} to {fds_after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_that_never_answers_gives_504_without_pile_up() {
    let hole = BlackHole::start().await;
    let port = free_port();
    let sc = Sidecar::start(
        &proxy_config(
            port,
            &hole.url(),
            DEAD_IDP,
            "proxy:\n  response_timeout: 1s\n",
        ),
        port,
    );
    let t = Instant::now();
    let requests = (0..20).map(|_| {
        let url = sc.url("/hangs");
        async move {
            let t = Instant::now();
            let resp = client()
                .get(url)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            (resp.status(), t.elapsed())
        }
    });
    for (status, took) in futures_util::future::join_all(requests).await {
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert!(took < Duration::from_millis(4000), "{took:?}");
    }
    assert!(t.elapsed() < Duration::from_secs(6));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        hole.accepted() <= 20,
        "{} connections for 20 requests",
        hole.accepted()
    );
    assert_eq!(hole.open(), 0, "connections to the hung upstream left open");
}

/// One request's fate during the SIGTERM test.
struct Fate {
    sent_at: Duration,
    result: Result<(u16, usize), String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_in_flight_requests() {
    let up = upstream::start().await;
    let port = free_port();
    let mut sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
    // A fresh connection per request, so every request's fate is its own.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let zero = Instant::now();
    let signal_at = Duration::from_millis(1200);
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..12 {
        let (http, url) = (http.clone(), format!("http://127.0.0.1:{port}"));
        workers.spawn(async move {
            let mut fates = Vec::new();
            let mut n = 0u32;
            while zero.elapsed() < Duration::from_millis(2500) {
                n += 1;
                let path = if (w + n).is_multiple_of(3) {
                    "/slow?ms=400"
                } else {
                    "/echo"
                };
                let sent_at = zero.elapsed();
                let result = match http.get(format!("{url}{path}")).send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.bytes().await {
                            Ok(body) => Ok((status, body.len())),
                            Err(e) => Err(format!("body cut after the head: {e}")),
                        }
                    }
                    Err(e) if e.is_connect() => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Err("connect".into())
                    }
                    Err(e) => Err(format!("{e:?}")),
                };
                fates.push(Fate { sent_at, result });
            }
            fates
        });
    }
    // Long requests that are surely in flight when the signal comes.
    let long: Vec<_> = (0..4)
        .map(|_| {
            let http = http.clone();
            let url = sc.url("/slow?ms=1500");
            tokio::spawn(async move { http.get(url).send().await?.text().await })
        })
        .collect();
    tokio::time::sleep(signal_at).await;
    sc.proc.sigterm();
    for handle in long {
        assert_eq!(
            handle.await.unwrap().expect("in-flight request completes"),
            "slow done"
        );
    }
    let mut ok = 0;
    let mut refused_after = 0;
    while let Some(fates) = workers.join_next().await {
        for fate in fates.unwrap() {
            match &fate.result {
                Ok((status, _)) => {
                    assert_eq!(*status, 200, "sent at {:?}", fate.sent_at);
                    ok += 1;
                }
                Err(e) => {
                    assert!(
                        fate.sent_at + Duration::from_millis(100) >= signal_at,
                        "a request sent at {:?}, before SIGTERM at {signal_at:?}, failed: {e}",
                        fate.sent_at
                    );
                    assert!(!e.starts_with("body cut"), "a response was cut: {e}");
                    refused_after += 1;
                }
            }
        }
    }
    let code = tokio::task::spawn_blocking(move || {
        let code = sc.proc.wait_exit(Duration::from_secs(10));
        (code, sc)
    })
    .await
    .unwrap();
    assert_eq!(code.0, Some(0), "logs:\n{}", code.1.proc.logs());
    eprintln!("SIGTERM under load: {ok} requests answered 200, {refused_after} refused after the signal, 4 long requests completed");
    assert!(ok > 20);
}
