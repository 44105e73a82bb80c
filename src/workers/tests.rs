use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;

use super::*;

fn loopback() -> (std::net::TcpListener, std::net::SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

/// A `serve` that answers every connection with `index thread-name current()` until `stop`.
fn answer_who(
    stop: CancellationToken,
    started: Arc<AtomicUsize>,
) -> impl Fn(usize, TcpListener) -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Clone + Send {
    move |index, listener| {
        let stop = stop.clone();
        started.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            loop {
                let mut stream = tokio::select! {
                    _ = stop.cancelled() => break,
                    accepted = listener.accept() => accepted.expect("accept").0,
                };
                let name = std::thread::current().name().unwrap_or("").to_string();
                let line = format!("{index} {name} {:?}", current());
                stream.write_all(line.as_bytes()).await.expect("write");
            }
        })
    }
}

fn ask(addr: std::net::SocketAddr) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[tokio::test]
async fn each_worker_serves_on_its_own_named_thread_until_stopped() {
    let (listener, addr) = loopback();
    let stop = CancellationToken::new();
    let started = Arc::new(AtomicUsize::new(0));
    let mut workers =
        Workers::start(3, listener, answer_who(stop.clone(), started.clone())).expect("start");
    assert_eq!(workers.count(), 3);
    for _ in 0..30 {
        let answer = tokio::task::spawn_blocking(move || ask(addr))
            .await
            .unwrap();
        let parts: Vec<&str> = answer.split(' ').collect();
        let [index, name, current] = parts[..] else {
            panic!("unexpected answer {answer:?}");
        };
        assert!(["0", "1", "2"].contains(&index), "{answer}");
        assert_eq!(name, format!("cs-worker-{index}"));
        assert_eq!(current, format!("Some({index})"));
    }
    assert_eq!(started.load(Ordering::SeqCst), 3);
    assert_eq!(current(), None, "the test's own thread is no worker");

    stop.cancel();
    workers.all_exited().await;
    // Every duplicate of the socket is closed with its worker's loop: nothing listens.
    assert!(std::net::TcpStream::connect(addr).is_err());
    workers.join(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_panicking_worker_is_reported_and_the_others_keep_serving() {
    let (listener, addr) = loopback();
    let stop = CancellationToken::new();
    let who = answer_who(stop.clone(), Arc::new(AtomicUsize::new(0)));
    let mut workers = Workers::start(2, listener, move |index, listener| {
        let serve = who(index, listener);
        async move {
            if index == 1 {
                panic!("worker 1 fails on purpose");
            }
            serve.await;
        }
    })
    .expect("start");

    let exit = tokio::time::timeout(Duration::from_secs(5), workers.next_exit())
        .await
        .expect("the panic is reported at once");
    assert_eq!(
        exit,
        Some(Exit {
            index: 1,
            panicked: true
        })
    );
    let answer = tokio::task::spawn_blocking(move || ask(addr))
        .await
        .unwrap();
    assert!(answer.starts_with("0 cs-worker-0"), "{answer}");

    stop.cancel();
    let last = workers.next_exit().await;
    assert_eq!(
        last,
        Some(Exit {
            index: 0,
            panicked: false
        })
    );
    assert_eq!(workers.next_exit().await, None);
    workers.join(Duration::from_secs(5)).await;
}
