//! Hostile input against the real binary (issue 7 item 2): request smuggling and
//! malformed heads, header floods, an HTTP/2 CONTINUATION flood, slowloris at scale,
//! invalid bytes in every part of a request, and two open-redirect corpora through a
//! real sign-in. None may give a 5xx, a panic, or a session.

mod common;

#[path = "hostile/framing.rs"]
mod framing;
#[path = "hostile/invalid_bytes.rs"]
mod invalid_bytes;
#[path = "hostile/redirects.rs"]
mod redirects;
#[path = "hostile/slow_clients.rs"]
mod slow_clients;

use std::time::Duration;

use common::raw::{self, Exchange};
use common::Sidecar;

const DEAD_IDP: &str = "http://127.0.0.1:9";

/// One raw exchange, off the async workers (the in-test upstream shares them).
async fn send(port: u16, request: Vec<u8>) -> Exchange {
    tokio::task::spawn_blocking(move || raw::exchange(port, &request, Duration::from_millis(1500)))
        .await
        .unwrap()
}

/// The sidecar is still running and never panicked.
fn alive(sc: &mut Sidecar) {
    assert!(
        sc.proc.child.try_wait().unwrap().is_none(),
        "the sidecar exited:\n{}",
        sc.proc.logs()
    );
    assert!(!sc.proc.logs().contains("panicked"), "{}", sc.proc.logs());
}
