//! The emulator's one clock: system time plus an offset that only moves forward, set by
//! the `advance-clock` test hook so time-dependent behaviour (temporary passwords that
//! expire after days, 24-hour codes, token and session lifetimes) can be tested without
//! waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The most the clock may be moved ahead in total: ten years.
pub const MAX_OFFSET: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicU64,
}

impl Clock {
    /// Time since the Unix epoch, as the emulator sees it.
    pub fn now(&self) -> Duration {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        system + self.offset()
    }

    pub fn offset(&self) -> Duration {
        Duration::from_secs(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves the clock `by` ahead (capped at [`MAX_OFFSET`] in total); returns the new
    /// total offset.
    pub fn advance(&self, by: Duration) -> Duration {
        let max = MAX_OFFSET.as_secs();
        let step = by.as_secs().min(max);
        let previous = self
            .offset_secs
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(step).min(max))
            })
            .unwrap_or_default();
        Duration::from_secs(previous.saturating_add(step).min(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_and_is_capped() {
        let clock = Clock::default();
        let before = clock.now();
        assert_eq!(
            clock.advance(Duration::from_secs(3600)),
            Duration::from_secs(3600)
        );
        assert!(clock.now() >= before + Duration::from_secs(3600));
        assert_eq!(clock.advance(Duration::MAX), MAX_OFFSET);
        assert_eq!(clock.offset(), MAX_OFFSET);
    }
}
