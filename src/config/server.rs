//! `server` (the public listener: limits, draining, worker threads) and `proxy` (the
//! connections to the upstream app).

use std::num::NonZeroUsize;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use super::types::{number_or_string, HumanDuration};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Slowloris guard: the whole request head must arrive within this time.
    #[serde(default = "defaults::header_read_timeout")]
    pub header_read_timeout: HumanDuration,
    /// Open client connections, all worker threads together.
    #[serde(
        default = "defaults::max_connections",
        deserialize_with = "number_or_string"
    )]
    pub max_connections: usize,
    /// Cap on the request head (HTTP/1 read buffer, HTTP/2 header list).
    #[serde(
        default = "defaults::max_header_bytes",
        deserialize_with = "number_or_string"
    )]
    pub max_header_bytes: usize,
    /// How long in-flight requests and tunnels may run after SIGTERM.
    #[serde(default = "defaults::shutdown_grace")]
    pub shutdown_grace: HumanDuration,
    /// Threads serving the public listener, each with its own single-threaded runtime
    /// and upstream connection pool (`crate::workers`). Absent: one per CPU this process
    /// may run on ([`ServerConfig::worker_count`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number_or_string"
    )]
    pub workers: Option<usize>,
}

/// The most `server.workers` accepts: far above any core count that one sidecar's
/// upstream could use, low enough to catch a typo before it starts thousands of threads.
pub const MAX_WORKERS: usize = 1024;

impl ServerConfig {
    /// `server.workers`, or the number of CPUs this process may use: the affinity mask
    /// (`taskset`, `cpuset`) and the cgroup CPU quota (a Kubernetes CPU limit), as
    /// [`std::thread::available_parallelism`] reads them; 1 if they cannot be read.
    pub fn worker_count(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
    }
}

fn opt_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    number_or_string(d).map(Some)
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: defaults::header_read_timeout(),
            max_connections: defaults::max_connections(),
            max_header_bytes: defaults::max_header_bytes(),
            shutdown_grace: defaults::shutdown_grace(),
            workers: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    #[serde(default = "defaults::connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Time allowed for the upstream to start its response (not a cap on streaming).
    #[serde(default = "defaults::response_timeout")]
    pub response_timeout: HumanDuration,
    /// An upstream connection idle this long is never reused and is closed; keep it below the app's keep-alive.
    #[serde(default = "defaults::pool_idle_timeout")]
    pub pool_idle_timeout: HumanDuration,
    /// Extra CA bundle (PEM) trusted for an `https://` upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            connect_timeout: defaults::connect_timeout(),
            response_timeout: defaults::response_timeout(),
            pool_idle_timeout: defaults::pool_idle_timeout(),
            ca_file: None,
        }
    }
}

mod defaults {
    use super::HumanDuration;

    pub fn header_read_timeout() -> HumanDuration {
        HumanDuration::secs(10)
    }
    pub fn max_connections() -> usize {
        10_000
    }
    pub fn max_header_bytes() -> usize {
        64 * 1024
    }
    pub fn shutdown_grace() -> HumanDuration {
        HumanDuration::secs(25)
    }
    pub fn connect_timeout() -> HumanDuration {
        HumanDuration::secs(5)
    }
    pub fn response_timeout() -> HumanDuration {
        HumanDuration::secs(60)
    }
    pub fn pool_idle_timeout() -> HumanDuration {
        HumanDuration::secs(4)
    }
}
