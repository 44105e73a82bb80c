//! The session-store conformance suite (issue 10): one set of generic checks — save,
//! load, refresh, delete, expiry, concurrent refresh from two replicas, ending a user's
//! sessions — run against the cookie store and the Redis store alike (oauth2-proxy's
//! shared store tests), plus what only the Redis store promises: no plaintext in the
//! database, TTL following the session lifetime, failing closed while Redis is down and
//! recovering without a restart. Redis is a real `redis-server` on loopback ports:
//! standalone, a three-master Cluster, a Sentinel-managed master, and TLS (`rediss://`)
//! with a private CA.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cognito_sidecar::auth::{coordinate, RefreshError};
use cognito_sidecar::session::seal::KeyRing;
use cognito_sidecar::session::store::cookie::CookieStore;
use cognito_sidecar::session::store::opened::OpenedSessions;
use cognito_sidecar::session::store::{CookieSpec, Loaded, Lookup, SessionStore, StoreError};
use cognito_sidecar::session::Session;
use http::HeaderValue;

const NAME: &str = "_cognito_sidecar";
const EMAIL: &str = "alice.conformance@example.com";
const REFRESH: &str = "refresh-token-PLAINTEXT-0001";
const ACCESS: &str = "access-token-PLAINTEXT-0002";

fn now() -> u64 {
    cognito_sidecar::app::unix_now()
}

fn keys() -> KeyRing {
    KeyRing::new(&[[7u8; 32]]).unwrap()
}

fn spec(keys: &KeyRing, lifetime_secs: u64) -> CookieSpec<'_> {
    CookieSpec {
        keys,
        name: NAME,
        secure: false,
        lifetime_secs,
        opened: None,
    }
}

fn session(sub: &str, tokens_expire_at: u64) -> Session {
    Session {
        sub: sub.into(),
        user: "alice".into(),
        email: Some(EMAIL.into()),
        groups: vec!["admins".into()],
        created_at: now(),
        tokens_expire_at,
        refresh_token: Some(REFRESH.into()),
        access_token: Some(ACCESS.into()),
        id_token: None,
    }
}

/// A browser's cookie jar for our cookies: applies `Set-Cookie` values (removals
/// included) to the pairs a next request would send.
fn apply(jar: &mut Vec<(String, String)>, set_cookies: &[HeaderValue]) {
    for value in set_cookies {
        let line = value.to_str().unwrap();
        let pair = line.split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        jar.retain(|(n, _)| n != name);
        if !line.contains("Max-Age=0") {
            jar.push((name.to_string(), value.to_string()));
        }
    }
}

async fn created<S: SessionStore>(store: &S, s: &Session) -> Vec<(String, String)> {
    let mut jar = Vec::new();
    apply(&mut jar, &store.create(s, &[], now()).await.unwrap());
    assert!(!jar.is_empty(), "create must set the session cookie");
    jar
}

async fn found<S: SessionStore>(store: &S, jar: &[(String, String)]) -> Box<Loaded> {
    match store.load(jar, now()).await.unwrap() {
        Lookup::Found(loaded) => loaded,
        other => panic!("expected a session, got {other:?}"),
    }
}

// ---- the generic suite ----

async fn save_and_load<S: SessionStore>(store: &S) {
    let s = session("sub-save", now() + 3600);
    let jar = created(store, &s).await;
    let loaded = found(store, &jar).await;
    assert_eq!(loaded.session, s);
    assert!(loaded.reseal.is_empty());
    assert!(matches!(
        store.load(&[], now()).await.unwrap(),
        Lookup::NoCookie
    ));
    let mut tampered = jar.clone();
    let mid = tampered[0].1.len() / 2;
    let flipped = if &tampered[0].1[mid..=mid] == "A" {
        "B"
    } else {
        "A"
    };
    tampered[0].1.replace_range(mid..=mid, flipped);
    assert!(matches!(
        store.load(&tampered, now()).await.unwrap(),
        Lookup::Invalid
    ));
    let garbage = vec![(NAME.to_string(), "v1.garbage".to_string())];
    assert!(matches!(
        store.load(&garbage, now()).await.unwrap(),
        Lookup::Invalid
    ));
    // Every sign-in gets a new cookie value, never a reused one (no fixation).
    let again = created(store, &s).await;
    assert_ne!(again, jar);
}

async fn refresh_replaces_the_session<S: SessionStore>(store: &S) {
    let s = session("sub-refresh", now() + 3600);
    let mut jar = created(store, &s).await;
    let loaded = found(store, &jar).await;
    let mut fresh = s.clone();
    fresh.tokens_expire_at = now() + 7200;
    fresh.refresh_token = Some("rotated".into());
    let set = store.update(&loaded, &fresh, now()).await.unwrap().unwrap();
    apply(&mut jar, &set);
    assert_eq!(found(store, &jar).await.session, fresh);
}

async fn delete_ends_the_session<S: SessionStore>(store: &S) {
    let s = session("sub-delete", now() + 3600);
    let jar = created(store, &s).await;
    let loaded = found(store, &jar).await;
    store.delete(&loaded).await.unwrap();
    let after = store.load(&jar, now()).await.unwrap();
    if store.server_side() {
        // A replayed cookie is dead at once.
        assert!(matches!(after, Lookup::Invalid), "{after:?}");
        // And a refresh that finishes later does not bring it back.
        let mut fresh = s.clone();
        fresh.tokens_expire_at += 60;
        assert_eq!(store.update(&loaded, &fresh, now()).await.unwrap(), None);
        assert!(matches!(
            store.load(&jar, now()).await.unwrap(),
            Lookup::Invalid
        ));
    } else {
        // Cookie sessions live in the browser: the caller clears the cookie, and a
        // copy of it stays valid until it expires (the reason for server-side stores).
        assert!(matches!(after, Lookup::Found(_)));
    }
}

async fn expiry<S: SessionStore>(store: &S) {
    let s = session("sub-expiry", now() + 3600);
    let jar = created(store, &s).await;
    found(store, &jar).await;
    // The store's lifetime is 2 s: past it, the session is gone.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(matches!(
        store.load(&jar, now()).await.unwrap(),
        Lookup::Invalid
    ));
}

/// Two replicas (`a`, `b`) refresh one expired session at the same moment.
async fn concurrent_refresh<S: SessionStore>(a: &S, b: &S) -> usize {
    let stale = session("sub-concurrent", now().saturating_sub(1));
    let mut jar = created(a, &stale).await;
    let (la, lb) = (found(a, &jar).await, found(b, &jar).await);
    let redemptions = Arc::new(AtomicUsize::new(0));
    let redeem = |counter: Arc<AtomicUsize>| {
        move |old: Session| async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut fresh = old;
            fresh.tokens_expire_at = now() + 3600;
            fresh.refresh_token = Some("rotated-once".into());
            Ok::<_, RefreshError>((fresh, None))
        }
    };
    let wait = Duration::from_secs(5);
    let (ra, rb) = tokio::join!(
        coordinate(a, &la, wait, redeem(redemptions.clone())),
        coordinate(b, &lb, wait, redeem(redemptions.clone())),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    for r in [&ra, &rb] {
        assert!(r.session.tokens_expire_at > now());
        assert_eq!(r.session.refresh_token.as_deref(), Some("rotated-once"));
    }
    apply(&mut jar, &ra.set_cookies);
    let after = found(a, &jar).await;
    assert!(after.session.tokens_expire_at > now());
    redemptions.load(Ordering::SeqCst)
}

async fn revoke_user<S: SessionStore>(store: &S) {
    let mine = [
        created(store, &session("sub-revoke", now() + 3600)).await,
        created(store, &session("sub-revoke", now() + 3600)).await,
    ];
    let other = created(store, &session("sub-keep", now() + 3600)).await;
    match store.revoke_user("sub-revoke").await {
        Ok(ended) => {
            assert!(store.server_side());
            assert_eq!(ended, 2);
            for jar in &mine {
                assert!(matches!(
                    store.load(jar, now()).await.unwrap(),
                    Lookup::Invalid
                ));
            }
            found(store, &other).await;
            assert_eq!(store.revoke_user("sub-revoke").await.unwrap(), 0);
        }
        Err(e) => {
            assert!(!store.server_side());
            assert_eq!(e, StoreError::Unsupported);
        }
    }
}

// ---- the cookie store ----

#[tokio::test]
async fn cookie_store_conforms() {
    let keys = keys();
    let store = CookieStore::new(spec(&keys, 3600));
    save_and_load(&store).await;
    refresh_replaces_the_session(&store).await;
    delete_ends_the_session(&store).await;
    revoke_user(&store).await;
    assert!(store.ping().await.is_ok());
    expiry(&CookieStore::new(spec(&keys, 2))).await;
}

/// The same suite with the opened-session cache the running sidecar uses: caching must
/// not change what any load answers (expiry, replaced and deleted sessions included).
#[tokio::test]
async fn cookie_store_with_the_opened_cache_conforms() {
    let keys = keys();
    let cache = OpenedSessions::default();
    let cached = |lifetime_secs| CookieSpec {
        opened: Some(&cache),
        ..spec(&keys, lifetime_secs)
    };
    let store = CookieStore::new(cached(3600));
    save_and_load(&store).await;
    save_and_load(&store).await;
    refresh_replaces_the_session(&store).await;
    delete_ends_the_session(&store).await;
    revoke_user(&store).await;
    expiry(&CookieStore::new(cached(2))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_replicas_cannot_coordinate_a_refresh() {
    let keys = keys();
    let (a, b) = (
        CookieStore::new(spec(&keys, 3600)),
        CookieStore::new(spec(&keys, 3600)),
    );
    // The session lives in the browser, so each replica redeems on its own (within
    // one replica, concurrent requests are joined in memory by `auth`).
    assert_eq!(concurrent_refresh(&a, &b).await, 2);
}

// ---- the Redis store: the same suite, then what only it promises ----

#[cfg(feature = "redis-store")]
mod redis_store {
    use super::*;
    use cognito_sidecar::config::RedisConfig;
    use cognito_sidecar::session::store::redis::{RedisBackend, RedisStore};
    use common::redis::{RedisCluster, RedisSentinel, RedisServer};
    use std::time::Instant;

    struct RedisFixture {
        server: RedisServer,
    }

    fn redis_config(url: &str, prefix: &str) -> RedisConfig {
        serde_saphyr::from_str(&format!(
            "url: {url}\nkey_prefix: \"{prefix}\"\ncommand_timeout: 500ms\nconnect_timeout: 500ms\nlock_timeout: 3s"
        ))
        .unwrap()
    }

    impl RedisFixture {
        fn start() -> Self {
            cognito_sidecar::install_crypto_provider();
            RedisFixture {
                server: RedisServer::start(),
            }
        }
        fn backend(&self) -> RedisBackend {
            RedisBackend::new(&redis_config(&self.server.url(), "conformance:")).unwrap()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_store_conforms() {
        let redis = RedisFixture::start();
        let keys = keys();
        let backend = redis.backend();
        let store = RedisStore::new(&backend, spec(&keys, 3600));
        save_and_load(&store).await;
        refresh_replaces_the_session(&store).await;
        delete_ends_the_session(&store).await;
        revoke_user(&store).await;
        assert!(store.ping().await.is_ok());
        expiry(&RedisStore::new(&backend, spec(&keys, 2))).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_replicas_redeem_a_refresh_token_once() {
        let redis = RedisFixture::start();
        let keys = keys();
        // Two replicas: two clients, one Redis.
        let (ba, bb) = (redis.backend(), redis.backend());
        let (a, b) = (
            RedisStore::new(&ba, spec(&keys, 3600)),
            RedisStore::new(&bb, spec(&keys, 3600)),
        );
        for _ in 0..3 {
            assert_eq!(concurrent_refresh(&a, &b).await, 1);
        }
    }

    /// The same suite, for a store on a Redis Cluster or behind a Sentinel.
    async fn conforms_on(yaml: &str) {
        cognito_sidecar::install_crypto_provider();
        let config: RedisConfig = serde_saphyr::from_str(yaml).unwrap();
        let keys = keys();
        let (ba, bb) = (
            RedisBackend::new(&config).unwrap(),
            RedisBackend::new(&config).unwrap(),
        );
        let store = RedisStore::new(&ba, spec(&keys, 3600));
        save_and_load(&store).await;
        refresh_replaces_the_session(&store).await;
        delete_ends_the_session(&store).await;
        revoke_user(&store).await;
        assert!(store.ping().await.is_ok());
        let other = RedisStore::new(&bb, spec(&keys, 3600));
        assert_eq!(concurrent_refresh(&store, &other).await, 1);
        expiry(&RedisStore::new(&ba, spec(&keys, 2))).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_cluster_store_conforms() {
        let cluster = RedisCluster::start();
        conforms_on(&format!(
            "urls: [{}]\ncluster: true\ncommand_timeout: 2s\nlock_timeout: 3s",
            cluster.urls().join(", ")
        ))
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_sentinel_store_conforms() {
        let master = RedisServer::start();
        let sentinel = RedisSentinel::start(&master);
        conforms_on(&format!(
            "urls: [{}]\nsentinel_master: mymaster\ncommand_timeout: 2s\nlock_timeout: 3s",
            sentinel.url()
        ))
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rediss_with_a_private_ca_conforms() {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let (_dir, cert) = common::write_temp("redis.crt", &ck.cert.pem());
        let key = cert.with_file_name("redis.key");
        std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
        let port = common::free_port();
        let port_s = port.to_string();
        let mut server = common::Proc::spawn_program(
            "redis-server",
            &[
                "--port",
                "0",
                "--tls-port",
                &port_s,
                "--bind",
                "127.0.0.1",
                "--tls-cert-file",
                common::path_str(&cert),
                "--tls-key-file",
                common::path_str(&key),
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        );
        server.wait_listening(port);
        let yaml = format!(
            "url: rediss://127.0.0.1:{port}/0\nca_file: {}\ncommand_timeout: 2s\nlock_timeout: 3s",
            common::path_str(&cert)
        );
        conforms_on(&yaml).await;
        // A server whose certificate is not trusted is unavailable, never used.
        let untrusted: RedisConfig = serde_saphyr::from_str(&format!(
            "url: rediss://127.0.0.1:{port}/0\ncommand_timeout: 2s"
        ))
        .unwrap();
        let backend = RedisBackend::new(&untrusted).unwrap();
        let keys = keys();
        let store = RedisStore::new(&backend, spec(&keys, 3600));
        assert!(matches!(
            store
                .create(&session("sub-tls", now() + 60), &[], now())
                .await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_database_holds_no_plaintext_and_ttl_follows_the_lifetime() {
        let redis = RedisFixture::start();
        let keys = keys();
        let backend = redis.backend();
        let store = RedisStore::new(&backend, spec(&keys, 600));
        let jar = created(&store, &session("sub-dump-1234", now() + 3600)).await;
        let dump = redis.server.dump();
        assert!(dump.contains("conformance:s:"), "{dump}");
        for secret in [
            EMAIL,
            REFRESH,
            ACCESS,
            "alice",
            "admins",
            "sub-dump-1234",
            &jar[0].1,
        ] {
            assert!(!dump.contains(secret), "`{secret}` is readable in:\n{dump}");
        }
        // The cookie is an opaque sealed ticket, not the session.
        assert!(jar[0].1.len() < 200, "{}", jar[0].1);
        let key = dump
            .lines()
            .find_map(|l| l.split(" => ").next().filter(|k| k.contains(":s:")))
            .unwrap()
            .to_string();
        let ttl: u64 = redis.server.cli(&["TTL", &key]).trim().parse().unwrap();
        assert!((590..=600).contains(&ttl), "TTL {ttl}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_down_fails_closed_and_recovers_without_a_new_client() {
        let mut redis = RedisFixture::start();
        let keys = keys();
        let backend = redis.backend();
        let store = RedisStore::new(&backend, spec(&keys, 3600));
        let s = session("sub-outage", now() + 3600);
        let jar = created(&store, &s).await;

        redis.server.stop();
        let started = Instant::now();
        let err = store.load(&jar, now()).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "must fail fast");
        assert!(store.create(&s, &[], now()).await.is_err());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(store.ping().await.is_err());

        // Back, empty (memory only): the same client reconnects by itself.
        redis.server.restart();
        let start = Instant::now();
        let jar = loop {
            if let Ok(set) = store.create(&s, &[], now()).await {
                let mut jar = Vec::new();
                apply(&mut jar, &set);
                break jar;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "no recovery");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(found(&store, &jar).await.session, s);
    }
}
