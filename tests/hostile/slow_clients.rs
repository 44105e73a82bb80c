//! Slowloris at scale: hundreds of connections that send their head or body a byte at a
//! time, or nothing, while a normal client is served.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{self, free_port, proxy_config, upstream, Sidecar};
use crate::{alive, DEAD_IDP};
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_at_scale_while_a_normal_client_is_served() {
    let up = upstream::start().await;
    let port = free_port();
    let mut sc = Sidecar::start(
        &proxy_config(
            port,
            &up.url(),
            DEAD_IDP,
            "server:\n  header_read_timeout: 2s\nproxy:\n  response_timeout: 3s\n",
        ),
        port,
    );
    const TRICKLE: usize = 200;
    const SILENT: usize = 100;
    const SLOW_BODY: usize = 50;
    let started = Instant::now();
    let mut attackers = tokio::task::JoinSet::new();
    for i in 0..TRICKLE + SILENT + SLOW_BODY {
        attackers.spawn(async move {
            let opened = Instant::now();
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let (first, trickle): (Vec<u8>, bool) = if i < TRICKLE {
                (b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow: ".to_vec(), true)
            } else if i < TRICKLE + SILENT {
                (Vec::new(), false)
            } else {
                (
                    b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n".to_vec(),
                    true,
                )
            };
            let _ = stream.write_all(&first).await;
            let mut answer = Vec::new();
            let mut buf = [0u8; 1024];
            loop {
                tokio::select! {
                    read = stream.read(&mut buf) => match read {
                        Ok(n) if n > 0 => answer.extend_from_slice(&buf[..n]),
                        _ => break,
                    },
                    () = tokio::time::sleep(Duration::from_millis(400)) => {
                        if trickle && stream.write_all(b"a").await.is_err() {
                            break;
                        }
                    }
                }
                if opened.elapsed() > Duration::from_secs(15) {
                    break;
                }
            }
            (
                i,
                opened.elapsed(),
                String::from_utf8_lossy(&answer).into_owned(),
            )
        });
    }
    // A normal client meanwhile: every request answered promptly.
    let http = common::client();
    let mut worst = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(5) {
        let t = Instant::now();
        let resp = http.get(sc.url("/echo")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        worst = worst.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        worst < Duration::from_millis(1500),
        "normal client waited {worst:?}"
    );
    let mut cut = Vec::new();
    while let Some(done) = attackers.join_next().await {
        let (i, held, answer) = done.unwrap();
        let status = answer.get(9..12).unwrap_or("");
        assert!(!status.starts_with('5'), "connection {i} got {answer}");
        if i >= TRICKLE + SILENT {
            assert_eq!(status, "408", "slow body {i}: {answer}");
        }
        cut.push(held);
    }
    let longest = cut.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} slow connections, all cut within {longest:?}; normal client's worst latency {worst:?}",
        cut.len()
    );
    assert!(
        longest < Duration::from_secs(7),
        "a slow client was held for {longest:?}"
    );
    alive(&mut sc);
}
