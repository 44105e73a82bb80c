//! `session.store` and `session.redis` (issue 10): where sessions live, and how to reach
//! a shared Redis — standalone (`url`), Sentinel (`sentinel_master` with sentinel
//! addresses) or Cluster (`cluster: true` with seed nodes). The types parse in every
//! build; only a build with the `redis-store` feature can use them.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use super::types::{HumanDuration, Secret};

/// Where sessions are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The whole session, sealed, in the browser's cookie (SPEC §7). Nothing to run.
    #[default]
    Cookie,
    /// The session, encrypted with a per-session key, on a shared Redis; the cookie
    /// carries only an opaque ticket.
    Redis,
}

/// A `redis://` or `rediss://` URL. `Debug` and `Serialize` hide a password in it, so
/// `check-config` never prints one.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(pub Url);

impl RedisUrl {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `rediss://`: TLS (rustls) to the server.
    pub fn is_tls(&self) -> bool {
        self.0.scheme() == "rediss"
    }

    /// The URL with any password replaced, for logs and `check-config`.
    pub fn redacted(&self) -> String {
        let mut url = self.0.clone();
        if url.password().is_some() {
            // Only fails for URLs that cannot have credentials, which then had none.
            let _ = url.set_password(Some("redacted"));
        }
        url.to_string()
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for RedisUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Url::parse(&raw).map(RedisUrl).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{raw}` is not a URL; write it like redis://redis.internal:6379/0 or rediss://…"
            ))
        })
    }
}

/// `session.redis`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// One server: `redis://host:6379/0`, or `rediss://` for TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<RedisUrl>,
    /// Several addresses: Cluster seed nodes (`cluster: true`) or Sentinel nodes
    /// (`sentinel_master`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<RedisUrl>,
    /// The Sentinel master name: the addresses are Sentinels, which name the master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_master: Option<String>,
    /// The addresses are Redis Cluster nodes.
    #[serde(default)]
    pub cluster: bool,
    /// ACL user of the data nodes (Redis 6+); default: the URL's, else `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password of the data nodes (also `password_file`). A password in the URL works
    /// too; this one wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Extra CA bundle (PEM) trusted for `rediss://`, for a private CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Prefix of every key the sidecar writes, so one Redis can serve several apps.
    #[serde(default = "defaults::key_prefix")]
    pub key_prefix: String,
    #[serde(default = "defaults::connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Longest wait for one Redis command before the request fails closed (503).
    #[serde(default = "defaults::command_timeout")]
    pub command_timeout: HumanDuration,
    /// How long one replica may hold a session's refresh lock; others wait up to this
    /// long for its result. Keep it above `cognito.timeout`.
    #[serde(default = "defaults::lock_timeout")]
    pub lock_timeout: HumanDuration,
}

mod defaults {
    use super::HumanDuration;
    use std::time::Duration;

    pub fn key_prefix() -> String {
        "cognito-sidecar:".into()
    }
    pub fn connect_timeout() -> HumanDuration {
        HumanDuration::secs(2)
    }
    pub fn command_timeout() -> HumanDuration {
        HumanDuration(Duration::from_millis(1000))
    }
    pub fn lock_timeout() -> HumanDuration {
        HumanDuration::secs(10)
    }
}

/// How the addresses in [`RedisConfig`] are to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Standalone,
    Sentinel,
    Cluster,
}

impl RedisConfig {
    pub fn topology(&self) -> Topology {
        if self.cluster {
            Topology::Cluster
        } else if self.sentinel_master.is_some() {
            Topology::Sentinel
        } else {
            Topology::Standalone
        }
    }

    /// Every configured address, `url` first.
    pub fn addresses(&self) -> Vec<&RedisUrl> {
        self.url.iter().chain(self.urls.iter()).collect()
    }
}

/// Checks `session.store` against `session.redis` and this build's features; every
/// problem as `key.path: what is wrong`.
pub fn validate(store: StoreKind, redis: Option<&RedisConfig>) -> Vec<String> {
    let mut problems = Vec::new();
    match (store, redis) {
        (StoreKind::Cookie, _) => {}
        (StoreKind::Redis, None) => problems.push(
            "session.redis: missing; `session.store: redis` needs session.redis.url (or urls)"
                .into(),
        ),
        (StoreKind::Redis, Some(redis)) => {
            if !cfg!(feature = "redis-store") {
                problems.push(
                    "session.store: this build has no Redis support (built without the `redis-store` feature); use `cookie` or a default build"
                        .into(),
                );
            }
            redis_into(redis, &mut problems);
        }
    }
    problems
}

fn redis_into(r: &RedisConfig, problems: &mut Vec<String>) {
    match (&r.url, r.urls.is_empty()) {
        (None, true) => problems.push(
            "session.redis.url: missing; set url (one server) or urls (Cluster or Sentinel nodes)"
                .into(),
        ),
        (Some(_), false) => problems.push(
            "session.redis.urls: set either session.redis.url or session.redis.urls, not both"
                .into(),
        ),
        _ => {}
    }
    if r.cluster && r.sentinel_master.is_some() {
        problems.push(
            "session.redis.cluster: Cluster and Sentinel exclude each other; remove cluster or sentinel_master"
                .into(),
        );
    }
    if !r.urls.is_empty() && r.topology() == Topology::Standalone {
        problems.push(
            "session.redis.urls: several addresses need `cluster: true` or `sentinel_master`; for one server use url"
                .into(),
        );
    }
    if r.sentinel_master.as_deref().is_some_and(str::is_empty) {
        problems.push("session.redis.sentinel_master: must not be empty".into());
    }
    let key: fn(usize) -> String = if r.url.is_some() {
        |_: usize| "session.redis.url".to_string()
    } else {
        |i: usize| format!("session.redis.urls[{i}]")
    };
    let addresses = r.addresses();
    for (i, url) in addresses.iter().enumerate() {
        if !matches!(url.0.scheme(), "redis" | "rediss") || url.0.host_str().is_none() {
            problems.push(format!(
                "{}: `{}` must be a redis:// or rediss:// URL with a host",
                key(i),
                url.redacted()
            ));
        }
    }
    let tls: Vec<bool> = addresses.iter().map(|u| u.is_tls()).collect();
    if tls.iter().any(|t| *t) && !tls.iter().all(|t| *t) {
        problems.push(
            "session.redis.urls: mix of redis:// and rediss://; use one scheme for all nodes"
                .into(),
        );
    }
    if let Some(ca) = &r.ca_file {
        if !ca.is_file() {
            problems.push(format!(
                "session.redis.ca_file: `{}` does not exist or is not a file",
                ca.display()
            ));
        }
    }
    if r.key_prefix.len() > 128 {
        problems.push("session.redis.key_prefix: at most 128 characters".into());
    }
    for (name, value) in [
        ("connect_timeout", r.connect_timeout),
        ("command_timeout", r.command_timeout),
        ("lock_timeout", r.lock_timeout),
    ] {
        if value.get().is_zero() {
            problems.push(format!("session.redis.{name}: must be more than 0s"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> RedisConfig {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn standalone_url_is_enough() {
        let r = parse("url: redis://127.0.0.1:6379/0");
        assert_eq!(r.topology(), Topology::Standalone);
        assert_eq!(r.key_prefix, "cognito-sidecar:");
        let problems = validate(StoreKind::Redis, Some(&r));
        assert_eq!(
            problems.is_empty(),
            cfg!(feature = "redis-store"),
            "{problems:?}"
        );
    }

    #[test]
    fn topologies_are_exclusive_and_need_the_right_addresses() {
        let r = parse("urls: [redis://a:1, redis://b:2]");
        let problems = validate(StoreKind::Redis, Some(&r));
        assert!(problems.iter().any(|p| p.contains("need `cluster: true`")));
        let r = parse("urls: [redis://a:1]\ncluster: true\nsentinel_master: m");
        let problems = validate(StoreKind::Redis, Some(&r));
        assert!(problems.iter().any(|p| p.contains("exclude each other")));
        let r = parse("url: redis://a:1\nurls: [redis://b:2]\ncluster: true");
        assert!(validate(StoreKind::Redis, Some(&r))
            .iter()
            .any(|p| p.contains("not both")));
        let r = parse("urls: [redis://a:1, rediss://b:2]\nsentinel_master: m");
        assert_eq!(r.topology(), Topology::Sentinel);
        assert!(validate(StoreKind::Redis, Some(&r))
            .iter()
            .any(|p| p.contains("mix of")));
    }

    #[test]
    fn bad_urls_and_timeouts_are_reported() {
        let r = parse("url: http://a:1\ncommand_timeout: 0s");
        let problems = validate(StoreKind::Redis, Some(&r));
        assert!(problems
            .iter()
            .any(|p| p.starts_with("session.redis.url: `http://a:1")));
        assert!(problems
            .iter()
            .any(|p| p == "session.redis.command_timeout: must be more than 0s"));
        assert!(validate(StoreKind::Redis, None)
            .iter()
            .any(|p| p.starts_with("session.redis: missing")));
        assert!(validate(StoreKind::Cookie, None).is_empty());
    }

    #[test]
    fn passwords_in_urls_are_never_printed() {
        let r = parse("url: redis://user:hunter2@cache:6379/0");
        let shown = serde_json::to_string(&r).unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!format!("{r:?}").contains("hunter2"));
        let r = parse("url: redis://cache:6379\npassword: hunter2");
        assert!(!serde_json::to_string(&r).unwrap().contains("hunter2"));
    }
}

#[cfg(test)]
mod load_tests {
    use crate::config::{load_from_str, StoreKind};

    const BASE: &str = "upstream: http://127.0.0.1:8080\npublic_url: https://app.example.com\ncognito:\n  region: us-east-1\n  user_pool_id: us-east-1_Ab12Cd34E\n  client_id: c\n  domain: https://auth.example.com\nsession:\n  secret: 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    #[test]
    fn the_redis_password_can_come_from_a_file_and_env_overrides_apply() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("redis-password");
        std::fs::write(&file, "from-a-file\n").unwrap();
        let yaml = format!(
            "{BASE}  store: redis\n  redis:\n    url: redis://cache:6379\n    password_file: {}\n",
            file.display()
        );
        let env = [(
            "COGNITO_SIDECAR_SESSION__REDIS__KEY_PREFIX".to_string(),
            "app1:".to_string(),
        )];
        let config = load_from_str(&yaml, env).unwrap();
        assert_eq!(config.session.store, StoreKind::Redis);
        let redis = config.session.redis.unwrap();
        assert_eq!(
            redis.password.as_ref().map(|p| p.expose()),
            Some("from-a-file")
        );
        assert_eq!(redis.key_prefix, "app1:");
    }

    #[test]
    fn a_redis_store_without_redis_settings_is_reported() {
        let problems = load_from_str(&format!("{BASE}  store: redis\n"), []).unwrap_err();
        assert!(
            problems
                .0
                .iter()
                .any(|p| p.starts_with("session.redis: missing")),
            "{problems}"
        );
        let problems = load_from_str(&format!("{BASE}  store: memcached\n"), []).unwrap_err();
        assert!(
            problems.0.iter().any(|p| p.starts_with("session.store")),
            "{problems}"
        );
    }
}
