//! `Upgrade` (WebSocket) tunnelling: once the upstream answers `101 Switching Protocols`,
//! bytes are pumped both ways until either side closes or shutdown's grace period ends.
//! Tunnels outlive hyper's connection tracking, so they are tracked here (deps.md §1).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use http::HeaderValue;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Whether an `Upgrade` request may be tunnelled to the upstream. Never `h2c`: an
/// upstream that accepts it would turn the tunnel into an HTTP/2 connection on which the
/// client sends further requests the sidecar never sees, unauthenticated and with any
/// identity headers it likes (h2c smuggling). RFC 9113 §3.1 deprecates the `h2c` upgrade
/// token anyway (and `h2` is never valid in `Upgrade`, RFC 7540 §3.3). Such a request is
/// forwarded as a plain request without the upgrade.
pub fn tunnel_allowed(upgrade: &HeaderValue) -> bool {
    let Ok(text) = upgrade.to_str() else {
        return false;
    };
    !text.split(',').any(|protocol| {
        let name = protocol.split('/').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("h2c") || name.eq_ignore_ascii_case("h2")
    })
}

/// Owns every open tunnel task.
#[derive(Clone, Default)]
pub struct Tunnels {
    tracker: TaskTracker,
    cancel: CancellationToken,
    open: Arc<AtomicI64>,
}

impl Tunnels {
    pub fn open_count(&self) -> i64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Joins the two upgraded halves once both upgrades complete.
    pub fn spawn(&self, downstream: OnUpgrade, upstream: OnUpgrade) {
        let cancel = self.cancel.child_token();
        let open = self.open.clone();
        self.tracker.spawn(async move {
            let (down, up) = match tokio::try_join!(downstream, upstream) {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::debug!(error = %e, "upgrade did not complete");
                    return;
                }
            };
            open.fetch_add(1, Ordering::Relaxed);
            let mut down = TokioIo::new(down);
            let mut up = TokioIo::new(up);
            tokio::select! {
                result = tokio::io::copy_bidirectional(&mut down, &mut up) => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "tunnel closed with an error");
                    }
                }
                _ = cancel.cancelled() => {}
            }
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }

    /// Waits for tunnels to end by themselves within `grace`, then cuts the rest.
    pub async fn shutdown(&self, grace: std::time::Duration) {
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            self.cancel.cancel();
            self.tracker.wait().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_upgrades_pass_and_http2_upgrades_never_do() {
        for ok in ["websocket", "WebSocket", "foo/1.0"] {
            assert!(tunnel_allowed(&HeaderValue::from_static(ok)), "{ok}");
        }
        for refused in ["h2c", "H2C", " h2c ", "websocket, h2c", "h2c/1.0", "h2"] {
            assert!(
                !tunnel_allowed(&HeaderValue::from_static(refused)),
                "{refused}"
            );
        }
        let opaque = HeaderValue::from_bytes(b"websocket\xff").expect("obs-text is a valid value");
        assert!(!tunnel_allowed(&opaque));
    }
}
