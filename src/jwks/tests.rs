//! JWKS behaviour against a loopback stub: first load with retries, lock-free hits,
//! single-flight and rate-limited refetches, keep-last-good on bad answers and outages.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::idp_stub::{jwks_json, test_key, Reply, StubServer};

/// A stub JWKS endpoint whose answer the test can change.
struct Endpoint {
    server: StubServer,
    reply: Arc<Mutex<Reply>>,
}

impl Endpoint {
    async fn start(initial: Reply) -> Self {
        let reply = Arc::new(Mutex::new(initial));
        let shared = Arc::clone(&reply);
        let server = StubServer::start(move |_| shared.lock().unwrap().clone()).await;
        Self { server, reply }
    }

    fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    fn jwks(&self, refresh_every: Duration) -> Arc<Jwks> {
        crate::install_crypto_provider();
        let http = idp_http::client(Duration::from_secs(2)).unwrap();
        Jwks::new(
            self.server.url("/pool/.well-known/jwks.json"),
            http,
            refresh_every,
        )
    }
}

fn keys(indexes: &[usize]) -> Reply {
    let keys: Vec<_> = indexes.iter().map(|i| test_key(*i)).collect();
    Reply::json(200, &jwks_json(&keys))
}

async fn loaded(endpoint: &Endpoint) -> Arc<Jwks> {
    let jwks = endpoint.jwks(Duration::from_secs(3600));
    jwks.load_until_ready(&CancellationToken::new()).await;
    assert!(jwks.is_ready());
    jwks
}

#[tokio::test]
async fn first_load_retries_until_the_idp_answers() {
    let endpoint = Endpoint::start(Reply::text(503, "down")).await;
    let jwks = endpoint.jwks(Duration::from_secs(3600));
    assert!(!jwks.is_ready());
    let waiter = {
        let jwks = Arc::clone(&jwks);
        tokio::spawn(async move { jwks.load_until_ready(&CancellationToken::new()).await })
    };
    while endpoint.server.hits() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    endpoint.set(keys(&[0]));
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(jwks.is_ready());
    assert_eq!(jwks.fetch_ok(), 1);
    assert!(jwks.fetch_failed() >= 2);
    assert_eq!(jwks.key_count(), 1);
}

#[tokio::test]
async fn first_load_stops_when_cancelled() {
    let endpoint = Endpoint::start(Reply::text(500, "down")).await;
    let jwks = endpoint.jwks(Duration::from_secs(3600));
    let cancel = CancellationToken::new();
    let waiter = {
        let jwks = Arc::clone(&jwks);
        let cancel = cancel.clone();
        tokio::spawn(async move { jwks.load_until_ready(&cancel).await })
    };
    while endpoint.server.hits() < 1 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(!jwks.is_ready());
}

#[tokio::test]
async fn a_known_kid_is_served_without_any_request() {
    let endpoint = Endpoint::start(keys(&[0, 1])).await;
    let jwks = loaded(&endpoint).await;
    endpoint.server.stop().await;
    for _ in 0..100 {
        assert!(jwks.key(&test_key(0).kid).await.is_some());
        assert!(jwks.key(&test_key(1).kid).await.is_some());
    }
    assert_eq!(endpoint.server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_fetch_and_later_misses_fetch_nothing() {
    let endpoint = Endpoint::start(keys(&[0])).await;
    let jwks = loaded(&endpoint).await;
    // Slow the endpoint down so the 50 misses really overlap with the one fetch.
    endpoint.set(keys(&[0]).delayed(Duration::from_millis(200)));
    let misses: Vec<_> = (0..50)
        .map(|_| {
            let jwks = Arc::clone(&jwks);
            tokio::spawn(async move { jwks.key("no-such-kid").await.is_none() })
        })
        .collect();
    for miss in misses {
        assert!(miss.await.unwrap());
    }
    assert_eq!(
        endpoint.server.hits(),
        2,
        "initial load + exactly one refetch"
    );

    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = std::time::Instant::now();
    assert!(jwks.key("another-unknown-kid").await.is_none());
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "no I/O within 30 s"
    );
    assert_eq!(endpoint.server.hits(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_found_by_the_unknown_kid_refetch() {
    let endpoint = Endpoint::start(keys(&[0])).await;
    let jwks = loaded(&endpoint).await;
    endpoint.set(keys(&[0, 2]));
    assert!(jwks.key(&test_key(2).kid).await.is_some());
    assert_eq!(endpoint.server.hits(), 2);
    assert_eq!(jwks.key_count(), 2);
}

#[tokio::test]
async fn a_set_without_usable_keys_keeps_the_previous_one() {
    let endpoint = Endpoint::start(keys(&[0])).await;
    let jwks = loaded(&endpoint).await;
    endpoint.set(Reply::json(
        200,
        &json!({"keys": [{"kty": "EC", "kid": "x"}]}),
    ));
    assert!(jwks.key("x").await.is_none());
    assert_eq!(jwks.fetch_failed(), 1);
    assert!(jwks.key(&test_key(0).kid).await.is_some());
}

#[tokio::test]
async fn oversized_and_non_json_answers_are_refused() {
    let endpoint = Endpoint::start(keys(&[0])).await;
    let jwks = loaded(&endpoint).await;
    let huge = "x".repeat(MAX_JWKS_BYTES + 1);
    endpoint.set(Reply::text(200, &huge));
    assert!(matches!(
        jwks.download().await,
        Err(JwksError::Body(BodyError::TooLarge { .. }))
    ));
    endpoint.set(Reply::text(200, "<html>"));
    assert!(matches!(
        jwks.download().await,
        Err(JwksError::KeySet(KeySetError::NotAJwks))
    ));
    endpoint.set(Reply::text(302, ""));
    assert!(matches!(jwks.download().await, Err(JwksError::Status(302))));
    assert!(jwks.key(&test_key(0).kid).await.is_some());
}

#[tokio::test]
async fn an_idp_outage_keeps_the_cached_keys() {
    let endpoint = Endpoint::start(keys(&[0])).await;
    let jwks = loaded(&endpoint).await;
    endpoint.server.stop().await;
    assert!(jwks.key("unknown").await.is_none());
    assert_eq!(jwks.fetch_failed(), 1);
    assert!(jwks.key(&test_key(0).kid).await.is_some());
    assert!(jwks.is_ready());
}

#[tokio::test]
async fn the_refresher_picks_up_new_keys_and_stops_on_cancel() {
    let endpoint = Endpoint::start(keys(&[0])).await;
    let jwks = endpoint.jwks(Duration::from_millis(100));
    jwks.load_until_ready(&CancellationToken::new()).await;
    endpoint.set(keys(&[1]));
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    jwks.spawn_refresher(&tracker, cancel.clone());
    tokio::time::timeout(Duration::from_secs(5), async {
        while jwks.lookup(&test_key(1).kid).is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert!(
        jwks.lookup(&test_key(0).kid).is_none(),
        "the new set replaces the old"
    );
    cancel.cancel();
    tracker.close();
    tokio::time::timeout(Duration::from_secs(2), tracker.wait())
        .await
        .unwrap();
}

#[test]
fn refetch_is_allowed_every_30_seconds() {
    let now = Instant::now();
    assert!(refetch_allowed(None, now));
    assert!(!refetch_allowed(Some(now), now));
    assert!(!refetch_allowed(Some(now), now + Duration::from_secs(29)));
    assert!(refetch_allowed(Some(now), now + REFETCH_MIN_INTERVAL));
}

proptest! {
    #[test]
    fn backoff_grows_and_is_capped(attempt in 0u32..10_000) {
        let wait = backoff(attempt);
        prop_assert!(wait >= Duration::from_millis(250));
        prop_assert!(wait <= Duration::from_secs(15));
        prop_assert!(backoff(attempt.saturating_add(1)) >= wait);
    }

    #[test]
    fn jitter_stays_within_ten_percent(secs in 1u64..100_000, random in any::<u32>()) {
        let base = Duration::from_secs(secs);
        let wait = jittered(base, random);
        prop_assert!(wait >= base.mul_f64(0.9) - Duration::from_micros(1));
        prop_assert!(wait <= base.mul_f64(1.1) + Duration::from_micros(1));
    }
}
