//! `Upgrade` (WebSocket) tunnelling: once the upstream answers `101 Switching Protocols`,
//! bytes are pumped both ways until either side closes or shutdown's grace period ends.
//! Tunnels outlive hyper's connection tracking, so they are tracked here (deps.md §1).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
