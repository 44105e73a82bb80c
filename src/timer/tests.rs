use std::time::{Duration, Instant};

use super::*;

impl CoarseTimer {
    fn pending(&self) -> usize {
        self.shared.lock().pending.len()
    }

    fn ticking(&self) -> bool {
        self.shared.lock().ticking
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn a_sleep_ends_no_earlier_than_its_deadline_and_within_a_tick_or_two() {
    runtime().block_on(async {
        let timer = CoarseTimer::new();
        let start = Instant::now();
        let deadline = start + Duration::from_millis(250);
        timer.sleep_until(deadline).await;
        let ended = Instant::now();
        assert!(ended >= deadline, "ended {:?} early", deadline - ended);
        // One tick of lateness by design, another for a loaded machine's scheduling.
        assert!(
            ended - deadline < 2 * TICK + Duration::from_millis(200),
            "ended {:?} late",
            ended - deadline
        );
    });
}

#[test]
fn a_dropped_sleep_leaves_nothing_pending_and_the_ticker_stops() {
    runtime().block_on(async {
        let timer = CoarseTimer::new();
        let far = Instant::now() + Duration::from_secs(60);
        let outcome = timer
            .timeout(Duration::from_millis(50), timer.sleep_until(far))
            .await;
        assert_eq!(outcome, Err(Elapsed), "the inner sleep is 60 s away");
        assert_eq!(timer.pending(), 0, "both sleeps are gone");
        tokio::time::sleep(3 * TICK).await;
        assert!(!timer.ticking(), "nothing pending: the ticker stopped");
    });
}

#[test]
fn timeout_passes_the_output_through_when_the_future_is_first() {
    runtime().block_on(async {
        let timer = CoarseTimer::new();
        let fast = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            7
        };
        assert_eq!(timer.timeout(Duration::from_secs(5), fast).await, Ok(7));
        assert_eq!(timer.pending(), 0);
    });
}

#[test]
fn a_ticker_lost_with_its_runtime_is_restarted_by_the_next_registration() {
    let timer = CoarseTimer::new();
    runtime().block_on(async {
        let mut sleep = Box::pin(timer.sleep_until(Instant::now() + Duration::from_secs(60)));
        // Registered (and the ticker started) by one poll; then the runtime goes away.
        assert!(futures_poll_once(sleep.as_mut()).await.is_pending());
        assert!(timer.ticking());
    });
    assert!(!timer.ticking(), "the ticker ended with its runtime");
    runtime().block_on(async {
        let start = Instant::now();
        timer.sleep_until(start + Duration::from_millis(150)).await;
        assert!(start.elapsed() >= Duration::from_millis(150));
    });
}

#[test]
fn many_sleeps_each_wake_their_own_task() {
    runtime().block_on(async {
        let timer = CoarseTimer::new();
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..50u64 {
            let timer = timer.clone();
            let deadline = start + Duration::from_millis(50 + 5 * i);
            tasks.spawn(async move {
                timer.sleep_until(deadline).await;
                Instant::now() >= deadline
            });
        }
        while let Some(on_time) = tasks.join_next().await {
            assert!(on_time.expect("task"), "a sleep ended before its deadline");
        }
        assert_eq!(timer.pending(), 0);
    });
}

#[test]
fn each_thread_has_its_own_current_timer() {
    let here = CoarseTimer::current();
    assert!(Arc::ptr_eq(&here.shared, &CoarseTimer::current().shared));
    let there = std::thread::spawn(|| CoarseTimer::current().shared.clone())
        .join()
        .expect("thread");
    assert!(!Arc::ptr_eq(&here.shared, &there));
}

/// Polls `fut` once and reports what it answered.
async fn futures_poll_once<F: Future + Unpin>(mut fut: F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut fut).poll(cx))).await
}
