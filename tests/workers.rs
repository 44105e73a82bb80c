//! Thread-per-core serving (`server.workers`, `src/workers.rs`) through the real binary:
//! the process runs one `cs-worker-<n>` thread per worker, many concurrent keep-alive
//! clients are all served, `server.max_connections` caps all workers together, and
//! SIGTERM drains every worker and exits 0 (SPEC §5.7).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::upstream;
use common::{client, free_port, proxy_config, Sidecar};

/// The names of the process's worker threads, sorted, once `expected` of them exist
/// (a thread names itself just after it starts).
fn worker_threads(pid: u32, expected: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .expect("/proc/PID/task")
            .filter_map(|task| {
                let path = task.ok()?.path().join("comm");
                std::fs::read_to_string(path).ok()
            })
            .map(|name| name.trim().to_string())
            .filter(|name| name.starts_with("cs-worker-"))
            .collect();
        names.sort();
        if names.len() == expected || start.elapsed() > Duration::from_secs(5) {
            return names;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn numbered(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("cs-worker-{i}")).collect()
}

fn workers_config(port: u16, upstream: &str, server: &str) -> String {
    proxy_config(
        port,
        upstream,
        "http://127.0.0.1:9",
        &format!("server:\n{server}"),
    )
}

/// `clients` concurrent clients, each on its own keep-alive connection, send `each`
/// requests one after another; every answer must be the upstream's 200.
async fn keep_alive_load(sc: &Sidecar, clients: usize, each: usize) {
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let base = sc.url("");
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .http1_only()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                for r in 0..each {
                    let resp = http
                        .get(format!("{base}/load/{c}/{r}"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 200);
                    let body: serde_json::Value = resp.json().await.unwrap();
                    assert_eq!(body["uri"], format!("/load/{c}/{r}"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_serve_many_concurrent_keep_alive_clients() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(&workers_config(port, &up.url(), "  workers: 2\n"), port);
    assert_eq!(worker_threads(sc.proc.child.id(), 2), numbered(2));

    keep_alive_load(&sc, 32, 20).await;
    assert_eq!(up.hits(), 32 * 20);
    assert_eq!(worker_threads(sc.proc.child.id(), 2), numbered(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_serves_everything_on_one_thread() {
    let up = upstream::start().await;
    let port = free_port();
    let sc = Sidecar::start(&workers_config(port, &up.url(), "  workers: 1\n"), port);
    assert_eq!(worker_threads(sc.proc.child.id(), 1), numbered(1));

    keep_alive_load(&sc, 16, 10).await;
    assert_eq!(up.hits(), 16 * 10);
    assert!(sc.proc.logs().contains("workers=1"), "{}", sc.proc.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_one_worker_per_usable_cpu_and_the_environment_overrides_it() {
    let up = upstream::start().await;
    // The child inherits this process's CPU affinity, so it sees the same count.
    let cpus = std::thread::available_parallelism().unwrap().get();
    let port = free_port();
    let yaml = proxy_config(port, &up.url(), "http://127.0.0.1:9", "");
    let sc = Sidecar::start(&yaml, port);
    assert_eq!(worker_threads(sc.proc.child.id(), cpus), numbered(cpus));
    drop(sc);

    let port = free_port();
    let yaml = proxy_config(port, &up.url(), "http://127.0.0.1:9", "");
    let sc = Sidecar::start_with_env(&yaml, port, &[("COGNITO_SIDECAR_SERVER__WORKERS", "3")]);
    assert_eq!(worker_threads(sc.proc.child.id(), 3), numbered(3));
    keep_alive_load(&sc, 6, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_every_worker_and_exits_zero() {
    let up = upstream::start().await;
    let port = free_port();
    let mut sc = Sidecar::start(&workers_config(port, &up.url(), "  workers: 2\n"), port);
    assert_eq!(worker_threads(sc.proc.child.id(), 2), numbered(2));
    // Several connections, so that both workers are likely to hold a slow request.
    let in_flight: Vec<_> = (0..6)
        .map(|_| {
            let url = sc.url("/slow?ms=1500");
            tokio::spawn(async move { client().get(url).send().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    sc.proc.sigterm();

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the listener closes at once on every worker"
    );
    for request in in_flight {
        let resp = request.await.unwrap().expect("in-flight request completes");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "slow done");
    }
    let (code, sc) = tokio::task::spawn_blocking(move || {
        let code = sc.proc.wait_exit(Duration::from_secs(10));
        (code, sc)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "exit code; logs:\n{}", sc.proc.logs());
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert!(sc.proc.logs().contains("stopped"), "{}", sc.proc.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnels_on_any_worker_keep_working_through_the_drain_until_the_grace_ends() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let up = upstream::start().await;
    let port = free_port();
    let server = "  workers: 2\n  shutdown_grace: 2s\n";
    let mut sc = Sidecar::start(&workers_config(port, &up.url(), server), port);
    let mut sockets = Vec::new();
    for _ in 0..4 {
        let (ws, resp) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
            .await
            .expect("websocket handshake through the sidecar");
        assert_eq!(resp.status(), 101);
        sockets.push(ws);
    }
    let signalled = Instant::now();
    sc.proc.sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for ws in &mut sockets {
        ws.send(Message::text("still here")).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), "still here");
    }
    // Left open, the tunnels are cut when the grace period ends, and the process exits 0.
    let (code, sc) = tokio::task::spawn_blocking(move || {
        let code = sc.proc.wait_exit(Duration::from_secs(10));
        (code, sc)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "exit code; logs:\n{}", sc.proc.logs());
    let took = signalled.elapsed();
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    for ws in &mut sockets {
        assert!(!matches!(ws.next().await, Some(Ok(Message::Text(_)))));
    }
}

/// Sends a keep-alive `GET` on `stream` and reads the answer; its status code.
fn get(stream: &mut BufReader<TcpStream>, port: u16) -> u16 {
    let request = format!("GET /held HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.get_mut().write_all(request.as_bytes()).unwrap();
    let mut status = String::new();
    stream.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    status.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn open(port: u16) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(("127.0.0.1", port)).unwrap())
}

async fn active_connections(metrics_port: u16) -> i64 {
    let text = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("cognito_sidecar_active_connections "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connections gauge in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_caps_all_workers_together() {
    let up = upstream::start().await;
    let port = free_port();
    let metrics_port = free_port();
    let yaml = format!(
        "{}metrics_listen: 127.0.0.1:{metrics_port}\n",
        workers_config(port, &up.url(), "  workers: 2\n  max_connections: 2\n")
    );
    let sc = Sidecar::start(&yaml, port);
    assert_eq!(worker_threads(sc.proc.child.id(), 2), numbered(2));

    let mut first = open(port);
    let mut second = open(port);
    assert_eq!(get(&mut first, port), 200);
    assert_eq!(get(&mut second, port), 200);
    assert_eq!(active_connections(metrics_port).await, 2);

    // A third connection completes its handshake in the kernel's backlog, but no worker
    // accepts it while two are open, whichever workers hold them.
    let third = std::thread::spawn(move || {
        let mut third = open(port);
        let started = Instant::now();
        let status = get(&mut third, port);
        (status, started.elapsed(), third)
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!third.is_finished(), "a third connection was served");
    drop(first);
    let (status, waited, third) = tokio::task::spawn_blocking(move || third.join().unwrap())
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(waited >= Duration::from_millis(700), "{waited:?}");
    assert_eq!(active_connections(metrics_port).await, 2);
    drop((second, third));
    let start = Instant::now();
    while active_connections(metrics_port).await != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the gauge stays up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
