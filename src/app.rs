//! The shared state of a running sidecar, built once at startup and passed to every
//! request as `Arc<App>` (no globals).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::net::Cidr;
use crate::proxy::{ClientBuildError, Upstream};

pub struct App {
    pub config: Config,
    pub upstream: Upstream,
    pub trusted_proxies: Vec<Cidr>,
    pub readiness: Readiness,
}

impl App {
    pub fn new(config: Config) -> Result<Self, ClientBuildError> {
        let upstream = Upstream::new(&config.upstream, &config.proxy)?;
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .collect();
        Ok(Self {
            config,
            upstream,
            trusted_proxies,
            readiness: Readiness::default(),
        })
    }
}

/// `/readyz`: ready once every startup dependency is loaded, not ready while draining.
#[derive(Debug, Default)]
pub struct Readiness {
    loaded: AtomicBool,
    draining: AtomicBool,
}

impl Readiness {
    pub fn set_loaded(&self) {
        self.loaded.store(true, Ordering::Release);
    }
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }
    pub fn is_ready(&self) -> bool {
        self.loaded.load(Ordering::Acquire) && !self.draining.load(Ordering::Acquire)
    }
}
