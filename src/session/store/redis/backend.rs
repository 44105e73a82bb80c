//! The connection to Redis, whatever its topology (issue 10): one server through a
//! reconnecting multiplexed connection (`ConnectionManager`), a Sentinel-managed master
//! (resolved through the Sentinels again after a connection error or a `READONLY`
//! reply, so a failover is followed), or a Cluster (slot routing and reconnection by
//! redis-rs). Every connection is made lazily and every command is bounded by
//! `command_timeout`, so the sidecar starts and serves while Redis is down, fails
//! closed meanwhile, and recovers without a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClientBuilder, SentinelServerType};
use redis::{
    Client, Cmd, ConnectionAddr, ConnectionInfo, FromRedisValue, IntoConnectionInfo, RedisError,
    TlsCertificates,
};
use tokio::time::Instant;

use crate::config::{RedisConfig, Topology};
use crate::session::store::StoreError;

/// How long a readiness answer is reused, so frequent probes cost at most one PING a
/// second.
const HEALTH_TTL: Duration = Duration::from_secs(1);

/// Why the Redis client could not be set up from the configuration (config errors).
#[derive(Debug, thiserror::Error)]
pub enum RedisSetupError {
    #[error("session.redis: {0}")]
    Config(String),
    #[error("session.redis.ca_file: cannot read `{path}`: {source}")]
    CaFile {
        path: String,
        source: std::io::Error,
    },
}

enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(Box<SentinelConnection>),
}

/// A shared Redis, ready to run commands. Cheap to share behind `Arc`.
pub struct RedisBackend {
    connection: Connection,
    pub(crate) prefix: String,
    command_timeout: Duration,
    pub(crate) lock_timeout: Duration,
    health: Mutex<Option<(Instant, Result<(), StoreError>)>>,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let topology = match self.connection {
            Connection::Single(_) => "standalone",
            Connection::Cluster(_) => "cluster",
            Connection::Sentinel(_) => "sentinel",
        };
        f.debug_struct("RedisBackend")
            .field("topology", &topology)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Builds the client from `session.redis` without connecting: the first command
    /// connects, and a Redis that is down only fails the requests that need it.
    pub fn new(config: &RedisConfig) -> Result<Self, RedisSetupError> {
        let certs = tls_certificates(config)?;
        let connect = config.connect_timeout.get();
        let command = config.command_timeout.get();
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect))
            .set_response_timeout(Some(command))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let setup = |e: RedisError| RedisSetupError::Config(e.to_string());
        let connection = match config.topology() {
            Topology::Standalone => {
                let url = config
                    .url
                    .as_ref()
                    .ok_or_else(|| RedisSetupError::Config("url: missing".into()))?;
                let info = with_credentials(
                    url.0.as_str().into_connection_info().map_err(setup)?,
                    config,
                );
                let client = match certs {
                    Some(certs) => Client::build_with_tls(info, certs),
                    None => Client::open(info),
                }
                .map_err(setup)?;
                Connection::Single(
                    ConnectionManager::new_lazy_with_config(client, manager_config)
                        .map_err(setup)?,
                )
            }
            Topology::Cluster => {
                let nodes: Vec<ConnectionInfo> = config
                    .addresses()
                    .iter()
                    .map(|u| u.0.as_str().into_connection_info())
                    .collect::<Result<_, _>>()
                    .map_err(setup)?;
                let mut builder = ClusterClientBuilder::new(nodes)
                    .connection_timeout(connect)
                    .response_timeout(command)
                    .retries(2);
                if let Some(password) = &config.password {
                    builder = builder.password(password.expose());
                }
                if let Some(username) = &config.username {
                    builder = builder.username(username);
                }
                if let Some(certs) = certs {
                    builder = builder.certs(certs);
                }
                let client = builder.build().map_err(setup)?;
                Connection::Cluster(
                    client.get_pending_async_connection_with_config(
                        ClusterConfig::new()
                            .set_connection_timeout(connect)
                            .set_response_timeout(command),
                    ),
                )
            }
            Topology::Sentinel => Connection::Sentinel(Box::new(SentinelConnection::new(
                config,
                certs,
                manager_config,
            )?)),
        };
        Ok(Self {
            connection,
            prefix: config.key_prefix.clone(),
            command_timeout: command,
            lock_timeout: config.lock_timeout.get(),
            health: Mutex::new(None),
        })
    }

    /// Runs one command within `command_timeout`. Any failure — refused, dropped,
    /// timed out, an error reply — is [`StoreError::Unavailable`].
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let run = async {
            match &self.connection {
                Connection::Single(conn) => cmd.query_async(&mut conn.clone()).await,
                Connection::Cluster(conn) => cmd.query_async(&mut conn.clone()).await,
                Connection::Sentinel(sentinel) => {
                    let mut conn = sentinel.master().await?;
                    let result = cmd.query_async(&mut conn).await;
                    if let Err(e) = &result {
                        sentinel.observe(e);
                    }
                    result
                }
            }
        };
        match tokio::time::timeout(self.command_timeout, run).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(StoreError::Unavailable(describe(&e))),
            Err(_) => {
                if let Connection::Sentinel(sentinel) = &self.connection {
                    sentinel.forget();
                }
                Err(StoreError::Unavailable(format!(
                    "no answer within {:?}",
                    self.command_timeout
                )))
            }
        }
    }

    /// PING, answered from a one-second cache so readiness probes do not hammer Redis.
    pub async fn health(&self) -> Result<(), StoreError> {
        if let Ok(cached) = self.health.lock() {
            if let Some((at, result)) = cached.as_ref() {
                if at.elapsed() < HEALTH_TTL {
                    return result.clone();
                }
            }
        }
        let result = self.query::<String>(&redis::cmd("PING")).await.map(|_| ());
        if let Ok(mut cached) = self.health.lock() {
            *cached = Some((Instant::now(), result.clone()));
        }
        result
    }
}

/// Error text without anything a command carried (values are ciphertexts anyway, but
/// redis-rs errors name only the kind and the server's message).
fn describe(e: &RedisError) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connection_refusal() {
        "connection refused".into()
    } else if e.is_io_error() || e.is_connection_dropped() {
        "connection lost".into()
    } else {
        e.category().to_string()
    }
}

/// `username`/`password` from the config win over the URL's.
fn with_credentials(info: ConnectionInfo, config: &RedisConfig) -> ConnectionInfo {
    let mut redis = info.redis_settings().clone();
    if let Some(username) = &config.username {
        redis = redis.set_username(username);
    }
    if let Some(password) = &config.password {
        redis = redis.set_password(password.expose());
    }
    info.set_redis_settings(redis)
}

/// The extra CA for `rediss://` when `ca_file` is set; `None` uses the system roots.
fn tls_certificates(config: &RedisConfig) -> Result<Option<TlsCertificates>, RedisSetupError> {
    let Some(path) = &config.ca_file else {
        return Ok(None);
    };
    let pem = std::fs::read(path).map_err(|source| RedisSetupError::CaFile {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Some(TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    }))
}

/// A master found through Sentinels. The connection is dropped after a connection error,
/// a timeout or a `READONLY` reply (the old master, demoted by a failover), and the next
/// command asks the Sentinels again.
struct SentinelConnection {
    client: tokio::sync::Mutex<redis::sentinel::SentinelClient>,
    current: ArcSwapOption<ConnectionManager>,
    config: ConnectionManagerConfig,
}

impl SentinelConnection {
    fn new(
        config: &RedisConfig,
        certs: Option<TlsCertificates>,
        manager_config: ConnectionManagerConfig,
    ) -> Result<Self, RedisSetupError> {
        let setup = |e: RedisError| RedisSetupError::Config(e.to_string());
        let master = config
            .sentinel_master
            .clone()
            .ok_or_else(|| RedisSetupError::Config("sentinel_master: missing".into()))?;
        let mut addresses = Vec::new();
        let mut sentinel_password = None;
        for url in config.addresses() {
            let info = url.0.as_str().into_connection_info().map_err(setup)?;
            if let Some(p) = info.redis_settings().password() {
                sentinel_password = Some(p.to_string());
            }
            addresses.push(info.addr().clone());
        }
        let tls = addresses
            .iter()
            .any(|a| matches!(a, ConnectionAddr::TcpTls { .. }));
        let mut builder = SentinelClientBuilder::new(addresses, master, SentinelServerType::Master)
            .map_err(setup)?;
        if let Some(password) = sentinel_password {
            builder = builder.set_client_to_sentinel_password(password);
        }
        if let Some(password) = &config.password {
            builder = builder.set_client_to_redis_password(password.expose());
        }
        if let Some(username) = &config.username {
            builder = builder.set_client_to_redis_username(username);
        }
        if tls {
            builder = builder
                .set_client_to_redis_tls_mode(redis::TlsMode::Secure)
                .set_client_to_sentinel_tls_mode(redis::TlsMode::Secure);
            if let Some(certs) = certs {
                builder = builder
                    .set_client_to_redis_certificates(certs.clone())
                    .set_client_to_sentinel_certificates(certs);
            }
        }
        Ok(Self {
            client: tokio::sync::Mutex::new(builder.build().map_err(setup)?),
            current: ArcSwapOption::empty(),
            config: manager_config,
        })
    }

    async fn master(&self) -> Result<ConnectionManager, RedisError> {
        if let Some(conn) = self.current.load_full() {
            return Ok((*conn).clone());
        }
        let mut client = self.client.lock().await;
        // Another request may have resolved the master while this one waited.
        if let Some(conn) = self.current.load_full() {
            return Ok((*conn).clone());
        }
        let master = client.async_get_client().await?;
        let conn = ConnectionManager::new_lazy_with_config(master, self.config.clone())?;
        self.current.store(Some(Arc::new(conn.clone())));
        Ok(conn)
    }

    fn observe(&self, e: &RedisError) {
        let demoted = matches!(
            e.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
        );
        if demoted || e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
            self.forget();
        }
    }

    fn forget(&self) {
        self.current.store(None);
    }
}
