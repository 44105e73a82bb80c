//! Thread-per-core serving, as nginx's worker processes do it: the public listener is
//! served by `server.workers` OS threads, each running its own single-threaded tokio
//! runtime and its own accept loop. A connection lives and dies on the worker that
//! accepted it, and each worker has its own upstream connection pool
//! ([`crate::proxy::Upstream`]), so a proxied request never crosses threads: no work
//! stealing, no cross-thread wake-ups. Measured against one multi-threaded runtime, this
//! costs about 15% less CPU per proxied request (bench/README.md).
//!
//! All workers accept from one listening socket (each registers its own duplicate of the
//! descriptor with its runtime) rather than from one `SO_REUSEPORT` socket each: there is
//! one bind, so a taken port is reported as before and `demo` can hand over a listener it
//! bound itself; closing the socket at shutdown refuses new connections on every worker
//! at once; and a new connection goes to whichever worker calls `accept` first — an idle
//! one — instead of being hashed into the queue of a busy one. The price, every worker
//! waking for each new connection, is paid per connection, not per request.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

thread_local! {
    static CURRENT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The index of the worker whose thread calls this; `None` on any other thread. Code on
/// the request path uses it to pick the worker's own connection pool: what matters to a
/// pool is the runtime its connections' tasks run on, and that is the calling thread's.
pub fn current() -> Option<usize> {
    CURRENT.with(Cell::get)
}

/// A worker's `serve` future ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub index: usize,
    /// It ended by a panic (the panic message is already on stderr).
    pub panicked: bool,
}

/// The running workers. Each keeps its runtime — and with it the tasks still on it, such
/// as WebSocket tunnels and pooled upstream connections — until [`Workers::join`].
pub struct Workers {
    threads: Vec<JoinHandle<()>>,
    exits: mpsc::UnboundedReceiver<Exit>,
    finished: mpsc::UnboundedReceiver<usize>,
    serving: usize,
    release: CancellationToken,
}

impl Workers {
    /// Starts `count` workers named `cs-worker-<index>`. Each registers a duplicate of
    /// `listener` with its own runtime and runs `serve(index, listener)` on it. The
    /// listener itself is closed on return, so the socket closes once every worker has
    /// dropped its duplicate. Fails before any worker starts if a runtime or a duplicate
    /// cannot be made. If the OS refuses a thread after some started (out of resources),
    /// those run `serve` until the caller stops it by its own means.
    pub fn start<F, Fut>(
        count: usize,
        listener: std::net::TcpListener,
        serve: F,
    ) -> io::Result<Self>
    where
        F: Fn(usize, TcpListener) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        listener.set_nonblocking(true)?;
        let mut prepared = Vec::with_capacity(count);
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name(format!("cs-blocking-{index}"))
                .build()?;
            prepared.push((runtime, listener.try_clone()?));
        }
        drop(listener);
        let (exit_tx, exits) = mpsc::unbounded_channel();
        let (finished_tx, finished) = mpsc::unbounded_channel();
        let release = CancellationToken::new();
        let mut threads = Vec::with_capacity(count);
        for (index, (runtime, listener)) in prepared.into_iter().enumerate() {
            let serve = serve.clone();
            let exit_tx = exit_tx.clone();
            let finished_tx = finished_tx.clone();
            let release = release.clone();
            let thread = std::thread::Builder::new()
                .name(format!("cs-worker-{index}"))
                .spawn(move || {
                    // Declared first, dropped last: after the runtime and its tasks are gone.
                    let _finished = OnDrop(Some(move || {
                        let _ = finished_tx.send(index);
                    }));
                    CURRENT.with(|c| c.set(Some(index)));
                    // A local, so that it is dropped before `_finished` (captures outlive locals).
                    let runtime = runtime;
                    {
                        // Sent when `serve` returns and while a panic in it unwinds.
                        let _exit = OnDrop(Some(move || {
                            let panicked = std::thread::panicking();
                            let _ = exit_tx.send(Exit { index, panicked });
                        }));
                        runtime.block_on(async move {
                            match TcpListener::from_std(listener) {
                                Ok(listener) => serve(index, listener).await,
                                Err(e) => tracing::error!(
                                    worker = index,
                                    error = %e,
                                    "cannot register the listener with the worker's runtime"
                                ),
                            }
                        });
                    }
                    runtime.block_on(release.cancelled());
                })?;
            threads.push(thread);
        }
        Ok(Self {
            threads,
            exits,
            finished,
            serving: count,
            release,
        })
    }

    pub fn count(&self) -> usize {
        self.threads.len()
    }

    /// The next worker whose `serve` ends; `None` once every one has.
    pub async fn next_exit(&mut self) -> Option<Exit> {
        if self.serving == 0 {
            return None;
        }
        let exit = self.exits.recv().await?;
        self.serving -= 1;
        if exit.panicked {
            tracing::error!(worker = exit.index, "worker thread panicked");
        }
        Some(exit)
    }

    /// Waits until every worker's `serve` has ended; the first that panicked, if any.
    pub async fn all_exited(&mut self) -> Option<Exit> {
        let mut panicked = None;
        while let Some(exit) = self.next_exit().await {
            if exit.panicked && panicked.is_none() {
                panicked = Some(exit);
            }
        }
        panicked
    }

    /// Lets every worker's runtime stop — which drops whatever still runs on it — and
    /// waits up to `limit` for the threads to end. One that does not (a blocking task
    /// that never returns) is left to end with the process.
    pub async fn join(mut self, limit: Duration) {
        self.release.cancel();
        let mut ended = vec![false; self.threads.len()];
        let _ = tokio::time::timeout(limit, async {
            while let Some(index) = self.finished.recv().await {
                if let Some(flag) = ended.get_mut(index) {
                    *flag = true;
                }
            }
        })
        .await;
        for (index, thread) in self.threads.into_iter().enumerate() {
            if ended.get(index) == Some(&true) {
                // Past its last statement: joining waits only for the thread's exit.
                let _ = thread.join();
            } else {
                tracing::warn!(worker = index, "worker thread did not stop in time");
            }
        }
    }
}

/// Runs its closure when dropped, also while a panic unwinds.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

#[cfg(test)]
mod tests;
