//! The stack of idle keep-alive connections a pool keeps for one upstream: the most
//! recently used is reused first, and none is reused once it has been idle for
//! `idle_timeout` — the upstream may be about to close it (RFC 9112 §9.3.1; the default
//! 4 s is below common app-server keep-alives, deps.md §1).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub(super) struct IdleStack<C> {
    /// Most recently used at the back; the oldest, first to expire, at the front.
    idle: Mutex<VecDeque<Idle<C>>>,
    idle_timeout: Duration,
    max_idle: usize,
}

struct Idle<C> {
    conn: C,
    since: Instant,
}

impl<C> IdleStack<C> {
    pub(super) fn new(idle_timeout: Duration, max_idle: usize) -> Self {
        Self {
            idle: Mutex::new(VecDeque::new()),
            idle_timeout,
            max_idle,
        }
    }

    /// The most recently used connection that has been idle for less than the timeout.
    /// Expired ones on the way are dropped (which closes them).
    pub(super) fn pop(&self) -> Option<C> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(entry) = idle.pop_back() {
            if entry.since.elapsed() < self.idle_timeout {
                return Some(entry.conn);
            }
        }
        None
    }

    /// Keeps `conn` for reuse, unless the stack is full.
    pub(super) fn push(&self, conn: C) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        // The least recently used connections expire first: dropping them here closes
        // them even when checkouts (which take the most recent) never reach them.
        while idle
            .front()
            .is_some_and(|oldest| now.duration_since(oldest.since) >= self.idle_timeout)
        {
            idle.pop_front();
        }
        if idle.len() < self.max_idle {
            idle.push_back(Idle { conn, since: now });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_recent_first_and_bounded() {
        let stack = IdleStack::new(Duration::from_secs(60), 2);
        stack.push(1);
        stack.push(2);
        stack.push(3);
        assert_eq!(stack.pop(), Some(2));
        assert_eq!(stack.pop(), Some(1));
        assert_eq!(stack.pop(), None);
    }

    #[test]
    fn expired_connections_are_never_handed_out() {
        let stack = IdleStack::new(Duration::from_millis(20), 8);
        stack.push("old");
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(stack.pop(), None);
        stack.push("stale");
        std::thread::sleep(Duration::from_millis(30));
        stack.push("fresh");
        assert_eq!(stack.pop(), Some("fresh"));
        assert_eq!(stack.pop(), None, "the stale one was dropped by the push");
    }
}
