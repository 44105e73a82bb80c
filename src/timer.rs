//! A coarse timer for the timeouts every request arms and almost never hits: hyper's
//! request-head read timeout (slowloris, `server.header_read_timeout`) and the upstream
//! response timeout (`proxy.response_timeout`).
//!
//! tokio's timer is exact to the millisecond, and pays for it on every request: an entry
//! put into and taken out of its hierarchical wheel, behind the driver's lock, plus a
//! clock read per timeout — about 1 300 instructions per proxied request, ~5 % of the
//! whole path (bench/README.md). These timeouts are seconds long and only need to fire
//! *eventually*, so here a pending timeout is one slab entry under an uncontended mutex,
//! and one ticker task per thread wakes the expired ones every [`TICK`]. A timeout fires
//! no earlier than asked and at most one tick (plus scheduling) later.
//!
//! The ticker runs only while some timeout is pending and is restarted by the next
//! registration after it stops, or after its runtime went away.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

/// How often pending timeouts are checked: the most a timeout fires late.
pub const TICK: Duration = Duration::from_millis(100);

thread_local! {
    static CURRENT: CoarseTimer = CoarseTimer::new();
}

/// A handle to one timer; clones share it. Each thread has its own ([`CoarseTimer::current`]),
/// so the tasks of a worker's single-threaded runtime share one ticker.
#[derive(Clone, Debug)]
pub struct CoarseTimer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The time of the last tick: what deadlines are compared with. It lags the clock by
    /// at most one tick while the ticker runs, which only ever makes a timeout later.
    now: Instant,
    pending: Slab<Entry>,
    ticking: bool,
}

#[derive(Debug)]
struct Entry {
    deadline: Instant,
    waker: Waker,
    woken: bool,
}

impl Default for CoarseTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl CoarseTimer {
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    now: Instant::now(),
                    pending: Slab::new(),
                    ticking: false,
                }),
            }),
        }
    }

    /// The calling thread's timer.
    pub fn current() -> Self {
        CURRENT.with(Clone::clone)
    }

    /// A future that completes at `deadline` or up to one tick after it.
    pub fn sleep_until(&self, deadline: Instant) -> CoarseSleep {
        CoarseSleep {
            shared: self.shared.clone(),
            deadline,
            key: None,
        }
    }

    /// Runs `future` for at most `limit` (plus up to one tick).
    pub fn timeout<F: Future>(&self, limit: Duration, future: F) -> Timeout<F> {
        Timeout {
            future,
            sleep: Instant::now()
                .checked_add(limit)
                .map(|deadline| self.sleep_until(deadline)),
        }
    }
}

pin_project_lite::pin_project! {
    /// [`CoarseTimer::timeout`]'s future. A struct rather than an `async fn` with
    /// `select!`, which would move the (large) inner future once more per request.
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        // `None`: a limit too far out to represent, so no limit.
        sleep: Option<CoarseSleep>,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.future.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match this.sleep {
            Some(sleep) => Pin::new(sleep).poll(cx).map(|()| Err(Elapsed)),
            None => Poll::Pending,
        }
    }
}

/// A [`CoarseTimer::timeout`] ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the slab is still
        // consistent, so carry on rather than take every request down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks the ticker stopped however its task ends — returning, or dropped with its
/// runtime, polled or not (it is an argument of [`tick`], so it is dropped with the
/// task's future either way) — so that the next registration starts a new one.
struct Ticking {
    shared: std::sync::Weak<Shared>,
    /// Cleared when the ticker stops of its own accord: it has already said so, under
    /// the same lock that saw nothing pending, and a successor may be running by now.
    armed: bool,
}

impl Drop for Ticking {
    fn drop(&mut self) {
        if let (true, Some(shared)) = (self.armed, self.shared.upgrade()) {
            shared.lock().ticking = false;
        }
    }
}

/// Wakes the expired timeouts every tick until none is pending.
async fn tick(mut ticking: Ticking) {
    let mut expired = Vec::new();
    loop {
        tokio::time::sleep(TICK).await;
        let Some(shared) = ticking.shared.upgrade() else {
            return;
        };
        {
            let mut state = shared.lock();
            let now = Instant::now();
            state.now = now;
            if state.pending.is_empty() {
                state.ticking = false;
                ticking.armed = false;
                return;
            }
            for (_, entry) in state.pending.iter_mut() {
                if !entry.woken && entry.deadline <= now {
                    entry.woken = true;
                    expired.push(entry.waker.clone());
                }
            }
        }
        // Woken outside the lock: a waker may run its task's poll inline.
        expired.drain(..).for_each(Waker::wake);
    }
}

/// One pending timeout of a [`CoarseTimer`]; registered when first polled, removed when
/// dropped.
#[derive(Debug)]
pub struct CoarseSleep {
    shared: Arc<Shared>,
    deadline: Instant,
    key: Option<usize>,
}

impl Future for CoarseSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = this.shared.lock();
        if state.now >= this.deadline {
            return Poll::Ready(());
        }
        match this.key {
            Some(key) => {
                if let Some(entry) = state.pending.get_mut(key) {
                    if !entry.waker.will_wake(cx.waker()) {
                        entry.waker = cx.waker().clone();
                    }
                }
            }
            None => {
                this.key = Some(state.pending.insert(Entry {
                    deadline: this.deadline,
                    waker: cx.waker().clone(),
                    woken: false,
                }));
                if !state.ticking {
                    // Outside a runtime nothing could ever wake the entry; hyper and
                    // the proxy only poll this under tokio.
                    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                        state.ticking = true;
                        drop(state);
                        runtime.spawn(tick(Ticking {
                            shared: Arc::downgrade(&this.shared),
                            armed: true,
                        }));
                    }
                }
            }
        }
        Poll::Pending
    }
}

impl Drop for CoarseSleep {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.shared.lock().pending.try_remove(key);
        }
    }
}

impl hyper::rt::Sleep for CoarseSleep {}

impl hyper::rt::Timer for CoarseTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = Instant::now()
            .checked_add(duration)
            .unwrap_or_else(far_future);
        Box::pin(self.sleep_until(deadline))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(CoarseTimer::sleep_until(self, deadline))
    }
}

/// A deadline nobody waits for: about 30 years out.
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests;
