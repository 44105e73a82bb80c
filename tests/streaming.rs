//! Bodies stream through the sidecar in both directions without being buffered: 512 MiB
//! up and 512 MiB down while the sidecar's peak RSS (VmHWM) stays under 64 MiB.

mod common;

use bytes::Bytes;
use common::upstream;
use common::{client, free_port, proxy_config, Sidecar};
use futures_util::StreamExt;

const TOTAL: u64 = 512 * 1024 * 1024;
const RSS_LIMIT_KIB: u64 = 64 * 1024;

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_gigabyte_each_way_streams_in_bounded_memory() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(
        &proxy_config(
            port,
            &up.url(),
            "http://127.0.0.1:9",
            "log:\n  level: warn\n",
        ),
        port,
    );
    let pid = sc.proc.child.id();

    // Download: count bytes as they arrive.
    let resp = client()
        .get(sc.url(&format!("/download?bytes={TOTAL}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    let mut received: u64 = 0;
    while let Some(chunk) = stream.next().await {
        received += chunk.unwrap().len() as u64;
    }
    assert_eq!(received, TOTAL);

    // Upload: a generated stream the upstream counts.
    let chunk = Bytes::from(vec![b'u'; 256 * 1024]);
    let chunks = (TOTAL / chunk.len() as u64) as usize;
    let body = futures_util::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let resp = client()
        .post(sc.url("/upload"))
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), TOTAL.to_string());

    let peak = peak_rss_kib(pid);
    assert!(
        peak < RSS_LIMIT_KIB,
        "sidecar peak RSS {peak} KiB exceeds {RSS_LIMIT_KIB} KiB"
    );
    eprintln!("sidecar peak RSS after 2 x 512 MiB: {peak} KiB");
}
